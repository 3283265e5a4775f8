"""Exact resume: a run killed with SIGKILL (at an epoch boundary, mid-epoch, or while it writes a
checkpoint) and resumed ends with the uninterrupted run's history, to <= 1e-6 on CPU with
TensorFlow, and its test accuracy; also when its images stream from a folder."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from nnzoo.data.pipeline import make_dataset
from nnzoo.run.bind import load_config
from nnzoo.training import resume, train

# The quick start (dropout 0.2, cosine schedule with a warm-up, early stopping with
# restore_best_weights, best checkpoint), smaller: every source of state and randomness matters.
OVERRIDES = [
    "model.params.hidden_units=[32]",
    "train.epochs=5",
    "train.checkpoint_every_seconds=0",  # a resume state after every epoch
]

KILL_SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys
    from pathlib import Path

    import keras

    from nnzoo.run.bind import load_config
    from nnzoo.training import resume, train

    where, kill, overrides = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
    config_file = sys.argv[4]


    def die():
        os.kill(os.getpid(), signal.SIGKILL)


    class KillAt(keras.callbacks.Callback):
        # In epoch `epoch`: before its first batch (batch None), or after batch `batch`.
        def __init__(self, epoch, batch):
            super().__init__()
            self.at, self.batch, self.epoch = epoch, batch, None

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            if epoch == self.at and self.batch is None:
                die()

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == self.at and batch == self.batch:
                die()


    callbacks = []
    if "epoch" in kill:
        callbacks.append(KillAt(kill["epoch"], kill.get("batch")))
    if "write" in kill:
        # Killed at the n-th checkpoint this process renames into place: before the rename,
        # with its temporary file torn in half, or just after it.
        real_replace, writes = os.replace, []

        def replace(src, dst):
            if Path(dst).parent.name == "checkpoints" and Path(dst).name != "fingerprint.json":
                writes.append(dst)
                if len(writes) == kill["write"] and not kill["after"]:
                    os.truncate(src, os.path.getsize(src) // 2)
                    die()
            real_replace(src, dst)
            if len(writes) == kill["write"] and kill["after"]:
                die()

        os.replace = replace
    if kill.get("resume"):
        resume(where, quiet=True, callbacks=callbacks)
    else:
        config = load_config(config_file, overrides)
        train(config, runs_dir=where, quiet=True, callbacks=callbacks)
    """
)


def killed(where, *, config="configs/quickstart.yaml", overrides=OVERRIDES, env=None, **kill):
    """Run (``resume=True``: resume) in a subprocess that SIGKILLs itself as ``kill`` says."""
    args = [str(where), json.dumps(kill), json.dumps(overrides), config]
    proc = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]


def history(run_dir):
    with (run_dir / "history.csv").open(newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def max_difference(rows, expected):
    """The largest absolute difference of any value of ``rows`` from ``expected``."""
    assert [r["epoch"] for r in rows] == [r["epoch"] for r in expected]
    assert [sorted(r) for r in rows] == [sorted(r) for r in expected]
    return max(abs(r[k] - e[k]) for r, e in zip(rows, expected) for k in e)


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The uninterrupted run."""
    config = load_config("configs/quickstart.yaml", OVERRIDES)
    run = train(config, runs_dir=tmp_path_factory.mktemp("straight"), quiet=True)
    assert run.metrics["epochs"] == 5
    return run


def the_run(runs_dir, name="quickstart"):
    (run_dir,) = (runs_dir / name).iterdir()
    return run_dir


def state(run_dir):
    return json.loads((run_dir / "checkpoints" / "state.json").read_text())


@pytest.mark.parametrize(
    ("epoch", "batch", "completed"),
    [(2, None, 2), (3, 17, 3)],
    ids=["epoch-boundary", "mid-epoch"],
)
def test_a_killed_and_resumed_run_repeats_the_uninterrupted_one(
    tmp_path, straight, epoch, batch, completed
):
    killed(tmp_path, epoch=epoch, batch=batch)
    run_dir = the_run(tmp_path)
    assert state(run_dir)["epochs_completed"] == completed
    assert [r["epoch"] for r in history(run_dir)] == list(range(1, completed + 1))

    resumed = resume(run_dir, quiet=True)
    assert max_difference(history(run_dir), history(straight.run_dir)) <= 1e-6
    assert resumed.metrics["test"]["accuracy"] == straight.metrics["test"]["accuracy"]
    assert resumed.metrics["best"]["epoch"] == straight.metrics["best"]["epoch"]


@pytest.mark.slow
def test_kill_9_while_checkpoints_are_written_every_resume_succeeds(tmp_path, straight):
    """Killed at several checkpoint writes in a row (a torn temporary file, a state saved
    without its history row, a kill before the first state), every resume goes on and the
    last one ends the run exactly as the uninterrupted one ended."""
    killed(tmp_path, write=3, after=False)  # epoch 1: a torn file before any state
    run_dir = the_run(tmp_path)
    assert not (run_dir / "checkpoints" / "state.json").exists()
    killed(run_dir, resume=True, write=4, after=True)  # epoch 1's state, not yet its row
    assert state(run_dir)["epochs_completed"] == 1
    assert history(run_dir) == []  # the resume writes its row back
    killed(run_dir, resume=True, write=2, after=False)  # epoch 2: a torn last-2.keras
    killed(run_dir, resume=True, write=5, after=False)
    done = state(run_dir)["epochs_completed"]
    assert 1 <= done < 5
    assert sorted(p.name for p in (run_dir / "checkpoints").glob("*.keras")) == [
        f"last-{done}.keras"
    ]

    result = subprocess.run(
        [sys.executable, "-m", "nnzoo.cli", "train", "--resume", str(run_dir), "-q"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert max_difference(history(run_dir), history(straight.run_dir)) <= 1e-6
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] == straight.metrics["test"]["accuracy"]
    assert not list(run_dir.rglob(".tmp-*"))


def image_overrides(folder):
    """cnn_cifar (with its augmentation), smaller, on an image folder streamed from disk."""
    return [
        "data.source=image_folder",
        f"data.params.path={folder}",
        "data.params.image_size=16",
        "data.batch_size=8",
        "data.cache=disk",
        "model.params.filters=[8, 16]",
        "model.params.convs_per_block=[1, 1]",
        "model.params.padding=same",
        "model.params.dense_units=32",
        "train.epochs=4",
        "train.schedule.hold_epochs=2",
        "train.checkpoint_every_seconds=0",
    ]


def test_a_run_on_a_streamed_image_folder_resumes_exactly(
    tmp_path, make_image_folder, monkeypatch
):
    """Killed mid-epoch while its images stream from the folder (into a disk cache), the run
    resumed (reading that cache) ends with the history of one that ran straight through."""
    folder = make_image_folder({"ants": 20, "bees": 20, "cats": 20})
    overrides = image_overrides(folder)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-straight"))
    config = load_config("configs/cnn_cifar.yaml", overrides)
    straight_run = train(config, runs_dir=tmp_path / "straight", quiet=True)
    assert straight_run.metrics["epochs"] == 4

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    # 6 steps an epoch (43 training images): killed after the third step of epoch 2.
    killed(
        tmp_path / "runs",
        config="configs/cnn_cifar.yaml",
        overrides=overrides,
        env=dict(os.environ),
        epoch=1,
        batch=2,
    )
    run_dir = the_run(tmp_path / "runs", "cnn_cifar")
    assert state(run_dir)["epochs_completed"] == 1
    resumed = resume(run_dir, quiet=True)
    assert max_difference(history(run_dir), history(straight_run.run_dir)) <= 1e-6
    assert resumed.metrics["test"] == straight_run.metrics["test"]


def test_epoch_k_of_the_training_stream_does_not_depend_on_what_ran_before():
    """A stream that starts at step s yields the batches the stream from 0 yields from s on."""
    x = np.arange(20, dtype="float32").reshape(20, 1)
    y = np.arange(20, dtype="int32")

    def labels(start_step, count):
        ds = make_dataset(x, y, batch_size=8, training=True, seed=3, start_step=start_step)
        if hasattr(ds, "take"):  # tf.data
            return [np.asarray(b[1]).tolist() for b in ds.take(count)]
        return [np.asarray(ds[i][1]).tolist() for i in range(count)]

    stream = labels(0, 9)  # 3 passes of 3 batches (8, 8, 4)
    assert [len(b) for b in stream] == [8, 8, 4] * 3
    assert all(sorted(sum(stream[i : i + 3], [])) == list(range(20)) for i in (0, 3, 6))
    assert stream[0:3] != stream[3:6]  # each pass its own order
    assert labels(3, 6) == stream[3:9]  # a resume at epoch 1
    assert labels(4, 5) == stream[4:9]  # a stream may start inside a pass


def test_augmentation_of_a_step_does_not_depend_on_what_ran_before():
    """Random augmentation draws from the layers' seeds and the batch's step alone: the same
    images in every run, and from a resumed stream."""
    from nnzoo.config.schema import AugmentConfig

    x = np.random.default_rng(0).uniform(size=(16, 8, 8, 3)).astype("float32")
    y = np.zeros(16, dtype="int32")
    augment = AugmentConfig(flip="horizontal", rotation=0.2, zoom=0.2)

    def images(start_step, count):
        ds = make_dataset(
            x, y, batch_size=8, training=True, seed=0, augment=augment, start_step=start_step
        )
        if hasattr(ds, "take"):
            return [np.asarray(b[0]) for b in ds.take(count)]
        return [np.asarray(ds[i][0]) for i in range(count)]

    stream = images(0, 6)
    np.testing.assert_array_equal(images(0, 6), stream)
    np.testing.assert_array_equal(images(3, 3), stream[3:])
    assert not np.allclose(stream[0], stream[2])  # pass 1 reorders and redraws
