"""The run directory: its schema version, its status on failure, its atomic files."""

from __future__ import annotations

import json

import keras
import pytest

from nnzoo.errors import RunDirError
from nnzoo.inference.load import load_run
from nnzoo.run import directory as files
from nnzoo.run.bind import load_config
from nnzoo.training import train


def tiny(*overrides):
    return load_config(
        "configs/quickstart.yaml",
        ["train.epochs=1", "model.params.hidden_units=[8]", *overrides],
    )


def test_status_records_the_schema_version(tmp_path):
    files.write_status(tmp_path, "running")
    status = json.loads((tmp_path / "status.json").read_text())
    assert (status["state"], status["schema_version"]) == ("running", files.SCHEMA_VERSION)
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]  # no temporary file left


def test_a_run_without_a_schema_version_reads_as_version_1(tmp_path):
    """Runs written before the version was recorded have the version-1 layout."""
    (tmp_path / "status.json").write_text('{"state": "finished"}')
    assert files.read_status(tmp_path) == {"state": "finished"}


def test_a_newer_layout_is_refused_in_one_line(tmp_path):
    (tmp_path / "config.yaml").write_text("name: x\n")
    newer = files.SCHEMA_VERSION + 1
    (tmp_path / "status.json").write_text(
        json.dumps({"state": "finished", "schema_version": newer})
    )
    with pytest.raises(RunDirError) as err:
        files.check_run_dir(tmp_path)
    assert str(err.value) == (
        f"{tmp_path}: written by a newer nnzoo (run schema {newer}; this one reads up to "
        f"{files.SCHEMA_VERSION}). Fix: upgrade nnzoo (pip install -U nnzoo)"
    )


class _Boom(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise RuntimeError("disk full")


def test_a_failure_records_its_reason_and_restores_the_dtype_policy(tmp_path):
    before = keras.mixed_precision.global_policy().name
    with pytest.raises(RuntimeError, match="disk full"):
        train(
            tiny("train.mixed_precision=mixed_bfloat16"),
            runs_dir=tmp_path,
            quiet=True,
            callbacks=[_Boom()],
        )
    assert keras.mixed_precision.global_policy().name == before == "float32"
    (run_dir,) = (tmp_path / "quickstart").iterdir()
    status = json.loads((run_dir / "status.json").read_text())
    assert (status["state"], status["reason"]) == ("failed", "RuntimeError: disk full")
    assert not (run_dir / "model.keras").exists()


def test_a_finished_run_records_version_and_state(tmp_path):
    run = train(tiny(), runs_dir=tmp_path, quiet=True)
    status = json.loads((run.run_dir / "status.json").read_text())
    assert (status["state"], status["schema_version"]) == ("finished", files.SCHEMA_VERSION)
    assert not list(run.run_dir.glob(".*.tmp"))
    assert load_run(run.run_dir).spec.num_classes == 10
