"""Faults of the environment and of nnzoo itself end in one line, never a traceback.

The environment (disk full, a read-only folder) exits 1 naming the file and a fix, and a run
it stops is marked ``failed`` with the reason; an exception nnzoo did not expect says
"internal error" and points to ``--debug``; a backend that is not installed is a usage error.
"""

from __future__ import annotations

import errno
import json

import pytest
from click.testing import CliRunner

from nnzoo.cli import cli

TRAIN = [
    "train",
    "configs/quickstart.yaml",
    "-q",
    "--epochs",
    "1",
    "--set",
    "model.params.hidden_units=[8]",
]


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def one_line(result):
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_disk_full_while_writing_a_run_is_one_line_and_marks_it_failed(tmp_path, monkeypatch):
    from nnzoo import _atomic

    real = _atomic.write_json

    def full(path, data):
        if path.name == "metrics.json":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(_atomic, "write_json", full)
    result = invoke(*TRAIN, "--runs-dir", str(tmp_path))
    assert result.exit_code == 1
    (run_dir,) = (tmp_path / "quickstart").iterdir()
    # The run is resumable: its resume state is removed only once it finished.
    assert one_line(result) == (
        f"nnzoo: error: {run_dir}/metrics.json: No space left on device; the run {run_dir} "
        "stopped (status failed) and its last good checkpoint (epoch 1) is kept. Fix: free "
        f"some space, then resume it: nnzoo train --resume {run_dir}"
    )
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "failed"
    assert status["reason"] == f"{run_dir}/metrics.json: No space left on device"


def test_a_read_only_runs_dir_is_one_line(tmp_path, monkeypatch):
    """CI runs as root, where permissions do not stop a write: inject the error instead."""
    from nnzoo.run import directory as files

    def read_only(runs_dir, name):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / name))

    monkeypatch.setattr(files, "new_run_dir", read_only)
    result = invoke(*TRAIN, "--runs-dir", str(tmp_path))
    assert result.exit_code == 1
    assert one_line(result) == (
        f"nnzoo: error: {tmp_path}/quickstart: Read-only file system. Fix: write to a folder "
        "you can write to (--runs-dir / --output)"
    )
    assert list(tmp_path.iterdir()) == []


def test_an_unexpected_exception_is_an_internal_error_pointing_to_debug(tmp_path, monkeypatch):
    from nnzoo.run import bind

    def broken(config):
        raise KeyError("spec")

    monkeypatch.setattr("nnzoo.training.trainer.prepare", broken)
    assert bind.prepare is not broken
    result = invoke(*TRAIN, "--runs-dir", str(tmp_path))
    assert result.exit_code == 1
    assert one_line(result) == (
        "nnzoo: internal error: KeyError: 'spec'. This is a bug in nnzoo: rerun with --debug "
        "for the traceback and report it"
    )
    debug = invoke("--debug", *TRAIN, "--runs-dir", str(tmp_path))
    assert isinstance(debug.exception, KeyError)


def test_a_backend_that_is_not_installed_is_a_usage_error(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    result = invoke("--backend", "torch", "list-models")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.stderr == (
        "nnzoo: error: --backend: the torch backend is not installed. Fix: pip install "
        "torch, or choose another backend (tensorflow, jax)\n"
    )


@pytest.mark.parametrize("temperature", ["nan", "inf"])
def test_generate_refuses_a_temperature_that_is_not_finite(temperature, tmp_path):
    result = invoke("generate", str(tmp_path), "--temperature", temperature)
    assert result.exit_code == 2
    assert one_line(result) == (  # refused as the flag is read, before the run is loaded
        f"nnzoo: error: --temperature: must be a finite number >= 0 (received {temperature}). "
        "Fix: see `nnzoo generate --help`"
    )


@pytest.fixture
def copied_run(tmp_path):
    import shutil
    from pathlib import Path

    run_dir = tmp_path / "run"
    shutil.copytree(Path(__file__).parent / "fixtures" / "run_v1_mlp_xor", run_dir)
    return run_dir


@pytest.mark.parametrize(
    "damage, message",
    [
        (
            lambda d: (d / "data_spec.json").unlink(),
            "{d}/data_spec.json: missing, so the run directory is incomplete. Fix: copy the "
            "whole run directory again",
        ),
        (
            lambda d: (d / "data_spec.json").write_text('{"input_kind": '),
            "{d}/data_spec.json: not valid JSON (line 1), so the run directory is damaged. Fix: "
            "copy the whole run directory again",
        ),
        (
            lambda d: (d / "data_spec.json").write_text('{"colour": "blue"}'),
            "{d}/data_spec.json: does not describe the run's data. Fix: copy the whole run "
            "directory again",
        ),
        (
            lambda d: (d / "status.json").write_text("{"),
            "{d}/status.json: not valid JSON (line 1), so the run directory is damaged. Fix: "
            "copy the whole run directory again",
        ),
        (
            lambda d: (d / "config.yaml").write_text("name: [x\n"),
            "{d}/config.yaml:2: YAML syntax error: expected ',' or ']', but got '<stream end>'. "
            "Fix: check indentation, colons and quotes on that line",
        ),
        (
            lambda d: (d / "model.keras").write_bytes(b"PK\x03\x04torn"),
            "{d}/model.keras: not a readable .keras file (torn or not a zip archive). Fix: copy "
            "it again from where it was trained, or retrain",
        ),
    ],
    ids=["no-spec", "torn-spec", "foreign-spec", "torn-status", "torn-config", "torn-model"],
)
def test_a_damaged_run_directory_is_one_line(copied_run, damage, message):
    damage(copied_run)
    before = {p.name: p.read_bytes() for p in copied_run.rglob("*") if p.is_file()}
    result = invoke("evaluate", str(copied_run))
    assert result.exit_code == 2
    assert one_line(result) == "nnzoo: error: " + message.format(d=copied_run)
    assert {p.name: p.read_bytes() for p in copied_run.rglob("*") if p.is_file()} == before
