"""Lean run directories: model.keras is the inference artifact (no optimizer state); the resume
state lives only while a run can be resumed; history and curves count epochs from 1."""

from __future__ import annotations

import h5py
import keras
import numpy as np
import pytest
from test_resume import Interrupt, StopAfter  # the interruption the resume tests simulate

import nnzoo
from nnzoo.data import load_data
from nnzoo.run.bind import load_config
from nnzoo.training import resume, train

# An MLP of 0.3M parameters: its weights (1.2 MB) dwarf the run's small files.
BIG = [
    "model.params.hidden_units=[512, 512]",
    "train.epochs=2",
    "train.checkpoint_every_seconds=0",
]


def _size(path):
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _has_optimizer_variables(path):
    with h5py.File(path) as f:
        return "optimizer" in f


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    config = load_config("configs/quickstart.yaml", BIG)
    return train(config, runs_dir=tmp_path_factory.mktemp("runs"), quiet=True)


def test_a_finished_run_keeps_no_resume_state_and_is_at_most_1_5x_its_model(finished):
    assert not (finished.run_dir / "checkpoints").exists()
    model_size = (finished.run_dir / "model.keras").stat().st_size
    weights = sum(int(np.prod(w.shape)) * 4 for w in finished.model.weights)
    assert model_size < 1.1 * weights  # no optimizer state (Adam's would triple it)
    assert _size(finished.run_dir) <= 1.5 * model_size


def test_model_keras_loads_without_optimizer_and_predicts_as_trained(finished):
    model = nnzoo.load_model(finished.run_dir / "model.keras")
    assert not model.compiled
    assert getattr(model, "optimizer", None) is None
    x = load_data("digits", seed=42).test[0][:16]
    np.testing.assert_allclose(
        model.predict(x, verbose=0), finished.model.predict(x, verbose=0), atol=1e-6
    )


def test_evaluate_compiles_the_lean_model_from_the_run_config(finished):
    metrics = nnzoo.evaluate(finished.run_dir)
    assert metrics["accuracy"] == pytest.approx(finished.metrics["test"]["accuracy"], abs=1e-6)
    assert metrics["loss"] == pytest.approx(finished.metrics["test"]["loss"], rel=1e-5)


def test_history_counts_epochs_from_1(finished):
    assert [r["epoch"] for r in finished.history] == [1, 2]
    lines = (finished.run_dir / "history.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines] == ["epoch", "1", "2"]
    assert finished.metrics["best"]["epoch"] in (1, 2)


def test_an_interrupted_run_keeps_its_resume_state_until_it_finishes(tmp_path):
    config = load_config("configs/quickstart.yaml", [*BIG, "train.epochs=3"])
    with pytest.raises(Interrupt):
        train(config, runs_dir=tmp_path, quiet=True, callbacks=[StopAfter(2)])
    run_dir = next((tmp_path / "quickstart").iterdir())
    checkpoints = run_dir / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == [
        "best.weights.h5",
        "early_stopping.weights.h5",
        "fingerprint.json",
        "last-2.keras",
        "state.json",
    ]
    # Only the rolling checkpoint carries the optimizer state (it resumes exactly).
    assert not _has_optimizer_variables(checkpoints / "best.weights.h5")
    assert not _has_optimizer_variables(checkpoints / "early_stopping.weights.h5")
    last = keras.saving.load_model(checkpoints / "last-2.keras")
    assert int(last.optimizer.iterations.numpy()) > 0

    result = resume(run_dir, quiet=True)
    assert result.metrics["epochs"] == 3
    assert [r["epoch"] for r in result.history] == [1, 2, 3]
    assert not checkpoints.exists()  # finished: the resume state and fingerprint are gone
    again = resume(run_dir, quiet=True)
    assert again.already_finished


def test_a_run_extends_through_init_from_the_lean_model(finished, tmp_path):
    config = load_config(
        "configs/quickstart.yaml", [*BIG, "train.epochs=1", f"model.init_from={finished.run_dir}"]
    )
    run = train(config, runs_dir=tmp_path, quiet=True)
    assert run.metrics["init_from"] == {"loaded": 4, "skipped": 0}  # 3 Dense + normalisation
