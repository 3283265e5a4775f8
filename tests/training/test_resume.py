"""Resume, NaN handling and which weights become model.keras."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from nnzoo.data import load_data
from nnzoo.run.bind import load_config
from nnzoo.training import TrainingDivergedError, resume, train


class Interrupt(Exception):
    pass


class StopAfter(keras.callbacks.Callback):
    """Simulates an interruption after `epochs` completed epochs (state already saved)."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            raise Interrupt


def history_epochs(run_dir):
    with (run_dir / "history.csv").open() as f:
        return [int(r["epoch"]) for r in csv.DictReader(f)]


def flat_config(*extra):
    # A learning rate so small that val_loss never improves by min_delta after epoch 1:
    # early stopping then stops after exactly 1 + patience epochs.
    return load_config(
        "configs/quickstart.yaml",
        [
            "model.params.hidden_units=[8]",
            "train.optimizer.learning_rate=1.0e-12",
            "train.schedule.name=constant",
            "train.epochs=20",
            "train.callbacks.early_stopping={patience: 3, min_delta: 0.01}",
            "train.checkpoint_every_seconds=0",  # a resume state after every epoch
            *extra,
        ],
    )


def test_resume_restores_early_stopping_state(tmp_path):
    straight = train(flat_config(), runs_dir=tmp_path / "a", quiet=True)
    assert straight.metrics["epochs"] == 4  # best at epoch 1, patience 3

    with pytest.raises(Interrupt):
        train(flat_config(), runs_dir=tmp_path / "b", quiet=True, callbacks=[StopAfter(2)])
    run_dir = next((tmp_path / "b" / "quickstart").iterdir())
    state = json.loads((run_dir / "checkpoints" / "state.json").read_text())
    assert state["epochs_completed"] == 2
    assert state["early_stopping"]["wait"] == 1

    resumed = resume(run_dir, quiet=True)
    # Without the patience count restored it would run 2 + 4 = 6 epochs.
    assert resumed.metrics["epochs"] == 4
    assert history_epochs(run_dir) == [1, 2, 3, 4]
    assert resumed.metrics["best"]["epoch"] == 1


def test_resume_a_finished_run_does_nothing(tmp_path):
    run = train(flat_config("train.epochs=1"), runs_dir=tmp_path, quiet=True)
    mtime = (run.run_dir / "model.keras").stat().st_mtime
    again = resume(run.run_dir, quiet=True)
    assert again.already_finished
    assert (run.run_dir / "model.keras").stat().st_mtime == mtime


def test_kill_9_then_resume_ends_with_all_epochs(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "nnzoo.cli",
        "train",
        "configs/quickstart.yaml",
        "-q",
        "--runs-dir",
        str(tmp_path),
        "--epochs",
        "4",
        "--set",
        "data.batch_size=2",
        "--set",
        "model.params.hidden_units=[16]",
        "--set",
        "train.callbacks.early_stopping=false",
        "--set",
        "train.checkpoint_every_seconds=0",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    run_dir = None
    while time.time() < deadline:
        runs = (
            list((tmp_path / "quickstart").glob("*")) if (tmp_path / "quickstart").exists() else []
        )
        if runs and (runs[0] / "checkpoints" / "state.json").exists():
            state = json.loads((runs[0] / "checkpoints" / "state.json").read_text())
            if state["epochs_completed"] >= 1:
                run_dir = runs[0]
                break
        time.sleep(0.2)
    assert run_dir is not None, "the run did not complete an epoch in time"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert json.loads((run_dir / "status.json").read_text())["state"] == "running"
    done = json.loads((run_dir / "checkpoints" / "state.json").read_text())["epochs_completed"]
    assert done < 4

    result = subprocess.run(
        [sys.executable, "-m", "nnzoo.cli", "train", "--resume", str(run_dir), "-q"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert history_epochs(run_dir) == [1, 2, 3, 4]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 4
    assert metrics["test"]["accuracy"] > 0.8


class PoisonAt(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            self.model.set_weights(
                [np.full(w.shape, np.nan, "float32") for w in self.model.get_weights()]
            )


def test_nan_stops_cleanly_and_keeps_the_last_good_state(tmp_path):
    cfg = flat_config("train.optimizer.learning_rate=0.001")
    with pytest.raises(TrainingDivergedError) as info:
        train(cfg, runs_dir=tmp_path, quiet=True, callbacks=[PoisonAt(2)])
    run_dir = next((tmp_path / "quickstart").iterdir())
    assert "the loss became NaN at epoch 3" in str(info.value)
    assert "Fix: lower train.optimizer.learning_rate" in str(info.value)
    state = json.loads((run_dir / "checkpoints" / "state.json").read_text())
    assert state["epochs_completed"] == 2
    last = keras.saving.load_model(run_dir / "checkpoints" / state["model_file"])
    assert all(np.isfinite(w).all() for w in last.get_weights())
    assert json.loads((run_dir / "status.json").read_text())["state"] == "failed"


def test_model_keras_is_the_best_epoch_and_metrics_are_its_own(tmp_path):
    cfg = load_config(
        "configs/quickstart.yaml",
        [
            "train.epochs=6",
            "model.params.hidden_units=[16]",
            "train.schedule.name=constant",
            "train.optimizer.learning_rate=0.05",
            "train.monitor={metric: val_accuracy}",
            "train.callbacks.early_stopping=false",
        ],
    )
    run = train(cfg, runs_dir=tmp_path, quiet=True)
    best = run.metrics["best"]
    assert best["val_accuracy"] == max(r["val_accuracy"] for r in run.history)
    model = keras.saving.load_model(run.run_dir / "model.keras")
    assert not model.compiled  # the inference artifact: compiled here to evaluate it
    model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
    )
    splits = load_data("digits", seed=cfg.seed)
    val = model.evaluate(*splits.validation, verbose=0, return_dict=True)
    assert val["accuracy"] == pytest.approx(best["val_accuracy"], abs=1e-6)
    test = model.evaluate(*splits.test, verbose=0, return_dict=True)
    assert test["accuracy"] == pytest.approx(run.metrics["test"]["accuracy"], abs=1e-6)


def _interrupted_run(tmp_path, *extra, after=1):
    with pytest.raises(Interrupt):
        train(flat_config(*extra), runs_dir=tmp_path, quiet=True, callbacks=[StopAfter(after)])
    return next((tmp_path / "quickstart").iterdir())


def _edit_config(run_dir, old, new):
    path = run_dir / "config.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _refused_resume(run_dir):
    """The one line a refused resume of ``run_dir`` raises; it leaves the run untouched."""
    from nnzoo.errors import ConfigError

    history_before = (run_dir / "history.csv").read_text()
    with pytest.raises(ConfigError) as err:
        resume(run_dir, quiet=True)
    assert (run_dir / "history.csv").read_text() == history_before  # nothing touched
    return str(err.value)


def test_resume_refuses_a_changed_architecture_and_allows_more_epochs(tmp_path):
    """What cannot change (model, data, seed) is fingerprinted at start; epochs may change."""
    run_dir = _interrupted_run(tmp_path, "train.epochs=3", "train.callbacks.early_stopping=false")
    _edit_config(run_dir, "hidden_units:\n    - 8", "hidden_units:\n    - 16")
    assert _refused_resume(run_dir) == (
        f"{run_dir}/config.yaml: model.params.hidden_units: changed since the run started "
        "([8] -> [16]); a resume continues the same run and may change only train.epochs, "
        "train.checkpoint_every_seconds. "
        f"Fix: restore it, or start a new run from this one with --set "
        f"model.init_from={run_dir}"
    )

    _edit_config(run_dir, "hidden_units:\n    - 16", "hidden_units:\n    - 8")
    _edit_config(run_dir, "epochs: 3", "epochs: 4")
    resumed = resume(run_dir, quiet=True)
    assert history_epochs(run_dir) == [1, 2, 3, 4]
    trainable = sum(int(np.prod(w.shape)) for w in resumed.model.trainable_weights)
    assert trainable == 64 * 8 + 8 + 8 * 10 + 10  # the architecture it started with


def test_a_run_in_use_is_refused_naming_the_pid(tmp_path):
    from nnzoo.errors import RunDirError
    from nnzoo.run.directory import locked

    run_dir = _interrupted_run(tmp_path)
    status_before = (run_dir / "status.json").read_text()
    with locked(run_dir), pytest.raises(RunDirError) as err:
        resume(run_dir, quiet=True)
    assert str(err.value) == (
        f"{run_dir}: in use by another nnzoo process (pid {os.getpid()}). Fix: wait for it to "
        f"finish, or stop it (kill {os.getpid()}) and resume"
    )
    assert (run_dir / "status.json").read_text() == status_before
    # Released with its holder: the resume now runs to the end.
    assert resume(run_dir, quiet=True).metrics["epochs"] >= 2


def test_checkpoints_are_renamed_into_place(tmp_path):
    run_dir = _interrupted_run(tmp_path, after=2)
    names = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert names == [
        "best.weights.h5",
        "early_stopping.weights.h5",
        "fingerprint.json",
        "last-2.keras",
        "state.json",
    ]


def test_resume_restores_early_stopping_best_weights(tmp_path):
    """Without a checkpoint, the weights early stopping restores at the end are its best
    epoch's: a resumed run restores them too (Keras keeps them only in memory)."""
    overrides = [
        "model.params.hidden_units=[16]",
        "train.epochs=8",
        "train.callbacks.checkpoint=false",
        # Nothing after epoch 1 improves by 1.5: the best epoch is 1, the run stops after 4.
        "train.callbacks.early_stopping={patience: 3, min_delta: 1.5}",
        "train.checkpoint_every_seconds=0",
    ]
    config = load_config("configs/quickstart.yaml", overrides)
    straight = train(config, runs_dir=tmp_path / "a", quiet=True)
    assert straight.metrics["epochs"] == 4

    with pytest.raises(Interrupt):
        train(config, runs_dir=tmp_path / "b", quiet=True, callbacks=[StopAfter(2)])
    resumed = resume(next((tmp_path / "b" / "quickstart").iterdir()), quiet=True)
    assert resumed.metrics["epochs"] == 4
    # Without its best weights restored, early stopping keeps epoch 3's.
    assert resumed.metrics["test"]["accuracy"] == straight.metrics["test"]["accuracy"]


def test_a_torn_temporary_checkpoint_is_never_renamed_into_place(tmp_path):
    """A save that failed halfway leaves a torn file under the checkpoint's temporary name; an
    epoch that does not improve must not rename it over the good checkpoint."""
    from nnzoo.training.callbacks import AtomicModelCheckpoint

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    best = tmp_path / "best.weights.h5"
    checkpoint = AtomicModelCheckpoint(
        str(best), monitor="loss", save_best_only=True, save_weights_only=True
    )
    checkpoint.set_model(model)
    checkpoint.on_train_begin()
    checkpoint.on_epoch_end(0, {"loss": 1.0})
    good = best.read_bytes()
    with open(checkpoint.filepath, "wb") as torn:  # a save that failed halfway
        torn.write(good[: len(good) // 2])
    checkpoint.on_epoch_end(1, {"loss": 2.0})  # no improvement: nothing is saved
    assert best.read_bytes() == good


def test_history_keeps_the_saved_epochs_without_a_torn_row(tmp_path):
    """history.csv after a kill: rows past the resume state and a torn last row are dropped;
    the row of the last saved epoch, written after its state, is written back from it."""
    from nnzoo.run.directory import read_history, truncate_history

    (tmp_path / "history.csv").write_text("epoch,loss,val_loss\n1,1.5,1.25\n2")
    truncate_history(tmp_path, 2, {"loss": 0.75, "val_loss": 0.5})
    assert read_history(tmp_path) == [
        {"epoch": 1, "loss": 1.5, "val_loss": 1.25},
        {"epoch": 2, "loss": 0.75, "val_loss": 0.5},
    ]
    (tmp_path / "history.csv").write_text("epoch,loss,val_loss\n1,1.5,1.25\n2,0.75,0.5\n3,0.6,0.")
    truncate_history(tmp_path, 2, {"loss": 0.75, "val_loss": 0.5})
    assert (tmp_path / "history.csv").read_text().splitlines() == [
        "epoch,loss,val_loss",
        "1,1.5,1.25",
        "2,0.75,0.5",
    ]


def test_a_history_counted_from_0_is_read_and_resumed_from_1(tmp_path):
    """Runs before epochs were counted from 1 wrote 0-based rows: read as 1-based, and a
    resume renumbers the file before it appends."""
    from nnzoo.run.directory import read_history, truncate_history

    (tmp_path / "history.csv").write_text("epoch,loss\n0,1.5\n1,0.75\n2,0.6\n")
    assert [r["epoch"] for r in read_history(tmp_path)] == [1, 2, 3]
    truncate_history(tmp_path, 2, {"loss": 0.75})
    assert (tmp_path / "history.csv").read_text().splitlines() == ["epoch,loss", "1,1.5", "2,0.75"]


class EpochClock(keras.callbacks.Callback):
    """A clock for the resume checkpoint's interval on which every epoch takes 10 s."""

    def __init__(self):
        super().__init__()
        self.now = 0.0

    def perf_counter(self):
        return self.now

    def on_epoch_begin(self, epoch, logs=None):
        self.now = 10.0 * epoch


def test_with_an_interval_history_rows_past_the_checkpoint_are_done_again_exactly(
    tmp_path, monkeypatch
):
    """train.checkpoint_every_seconds=15 with 10 s epochs: the resume state is saved after
    epochs 3 and 5 (the last). Interrupted after epoch 4, the run has 4 history rows but the
    state of epoch 3; the resume drops row 4, trains epochs 4 and 5 again, and ends with the
    uninterrupted run's weights, bit for bit."""
    from nnzoo.training import callbacks

    overrides = [
        "model.params.hidden_units=[16]",
        "train.epochs=5",
        "train.checkpoint_every_seconds=15",
    ]
    config = load_config("configs/quickstart.yaml", overrides)
    straight = train(config, runs_dir=tmp_path / "a", quiet=True)

    clock = EpochClock()
    monkeypatch.setattr(callbacks, "time", clock)
    with pytest.raises(Interrupt):
        train(config, runs_dir=tmp_path / "b", quiet=True, callbacks=[clock, StopAfter(4)])
    run_dir = next((tmp_path / "b" / "quickstart").iterdir())
    state = json.loads((run_dir / "checkpoints" / "state.json").read_text())
    assert state["epochs_completed"] == 3
    assert history_epochs(run_dir) == [1, 2, 3, 4]  # row 4 ran ahead of the checkpoint
    assert sorted(p.name for p in (run_dir / "checkpoints").glob("last-*")) == ["last-3.keras"]

    resumed = resume(run_dir, quiet=True, callbacks=[clock])
    assert history_epochs(run_dir) == [1, 2, 3, 4, 5]
    assert resumed.history == straight.history
    for got, want in zip(resumed.model.get_weights(), straight.model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    assert resumed.metrics["test"] == straight.metrics["test"]


def test_a_checkpoint_saves_the_best_weights_of_an_earlier_epoch_and_keeps_the_models(tmp_path):
    """Saved 2 epochs after early stopping's best epoch (the checkpoint in between skipped),
    early_stopping.weights.h5 holds that epoch's weights; the model's own are put back."""
    from nnzoo.run.saving import load_weights
    from nnzoo.training.callbacks import EARLY_STOPPING_WEIGHTS, ResumeState

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    model.compile("adam", "mse")
    early = keras.callbacks.EarlyStopping(restore_best_weights=True)
    early.best_epoch, early.best_weights = 0, [np.full((2, 3), 0.5), np.full(3, 0.25)]
    current = model.get_weights()
    state = ResumeState(tmp_path, early_stopping=early, checkpoint=None)
    state.set_model(model)
    state.set_params({"epochs": 5})
    state.on_epoch_end(2, {"loss": 1.0})
    for got, want in zip(model.get_weights(), current, strict=True):
        np.testing.assert_array_equal(got, want)
    load_weights(model, tmp_path / EARLY_STOPPING_WEIGHTS)
    for got, want in zip(model.get_weights(), early.best_weights, strict=True):
        np.testing.assert_array_equal(got, want)
    assert json.loads((tmp_path / "state.json").read_text())["epochs_completed"] == 3


def test_resume_trains_on_the_recorded_split_and_refuses_changed_data(tmp_path, monkeypatch):
    """Issue 25, item 3: a resumed run loads the split it recorded (``split.npz``) rather than
    drawing one, and ends as the uninterrupted run; its data file changed since is refused in
    one line, before anything is touched."""
    from nnzoo.run import bind
    from nnzoo.run.split import read_split

    rng = np.random.default_rng(0)
    table = tmp_path / "t.csv"
    rows = [f"{a:.4f},{b:.4f},{int(a + b > 0)}" for a, b in rng.normal(size=(90, 2))]
    table.write_text("a,b,label\n" + "\n".join(rows) + "\n")
    extra = [
        "data.source=csv",
        f"data.params={{path: {table}}}",
        "train.epochs=3",
        "train.callbacks.early_stopping=false",
        "train.optimizer.learning_rate=0.01",
    ]
    straight = train(flat_config(*extra), runs_dir=tmp_path / "a", quiet=True)
    run_dir = _interrupted_run(tmp_path / "b", *extra)
    recorded = read_split(run_dir)
    assert [len(v) for v in recorded.indices.values()] == [64, 8, 18]

    table.write_text("a,b,label\n" + "\n".join(rows[::-1]) + "\n")
    assert _refused_resume(run_dir) == (
        f"{run_dir}/config.yaml: data.params.path: {table} changed since this run was trained "
        "on it (the same size, other content: re-ordered or edited): its recorded split would "
        "now pick other examples, some of them trained on. Fix: restore it: a resume "
        "continues the run on the data it started with"
    )

    table.write_text("a,b,label\n" + "\n".join(rows) + "\n")
    given = []
    load = bind.load_data
    monkeypatch.setattr(
        bind, "load_data", lambda *a, **k: given.append(k["split"]) or load(*a, **k)
    )
    resume(run_dir, quiet=True)
    assert len(given) == 1
    assert {k: v.tolist() for k, v in given[0].items()} == {
        k: v.tolist() for k, v in recorded.indices.items()
    }
    assert history_epochs(run_dir) == [1, 2, 3]
    assert (run_dir / "history.csv").read_text() == (straight.run_dir / "history.csv").read_text()
