"""Parallel workers: a SIGKILLed worker's trial is failed and retried; PostgreSQL storage
writes no password."""

import os
import signal
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path

import optuna
import pytest
import yaml
from click.testing import CliRunner
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from nnzoo.cli import cli
from nnzoo.tuning._settings import ATTR_PID

ROOT = Path(__file__).resolve().parents[2]
TUNE_CONFIG = ROOT / "configs" / "tune" / "mlp_digits.yaml"
TINY = ["--set", "model.params.hidden_units=[16]", "--set", "tune.pruner=none"]


def _journal_study(path: Path):
    from optuna.storages.journal import JournalFileBackend

    storage = optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    return optuna.load_study(study_name="mlp_digits", storage=storage)


@pytest.mark.slow
def test_a_worker_killed_mid_trial_leaves_no_running_trial(tmp_path):
    journal = tmp_path / "mlp_digits" / "tune" / "journal.log"
    cmd = [sys.executable, "-c", "from nnzoo.tuning.cli import tune; tune()", str(TUNE_CONFIG)]
    cmd += ["--workers", "2", "--trials", "4", "--runs-dir", str(tmp_path), "--quiet"]
    cmd += [*TINY, "--set", "train.epochs=6"]
    parent = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    killed = None
    deadline = time.monotonic() + 240
    while killed is None and time.monotonic() < deadline and parent.poll() is None:
        time.sleep(0.5)
        if not journal.exists():
            continue
        for trial in _journal_study(journal).get_trials(states=(TrialState.RUNNING,)):
            if ATTR_PID in trial.system_attrs:
                os.kill(trial.system_attrs[ATTR_PID], signal.SIGKILL)
                killed = trial.number
                break
    assert killed is not None, "no trial was seen running"
    out, _ = parent.communicate(timeout=300)
    assert parent.returncode == 0, out.decode()
    trials = _journal_study(journal).trials
    assert TrialState.RUNNING not in [t.state for t in trials]
    assert sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials) == 4
    assert trials[killed].state == TrialState.FAIL
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retried = [
            t for t in trials if RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == killed
        ]
    assert len(retried) == 1 and retried[0].state == TrialState.COMPLETE
    assert retried[0].params == trials[killed].params


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _contents(path: Path) -> bytes:
    """A file's bytes, and for a zip (``model.keras``) its members' bytes, uncompressed."""
    data = path.read_bytes()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            data += b"".join(z.read(name) for name in z.namelist())
    return data


@pytest.mark.slow
@pytest.mark.postgres
def test_two_workers_on_postgresql_finish_n_trials_and_write_no_password(tmp_path, postgres):
    args = ["tune", str(TUNE_CONFIG), "--workers", "2", "--trials", "5", "--storage", postgres.url]
    args += ["--runs-dir", str(tmp_path), "--heartbeat", "1", *TINY, "--set", "train.epochs=2"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    study = optuna.load_study(
        study_name="mlp_digits", storage=postgres.url.replace("postgresql", "postgresql+psycopg")
    )
    states = [t.state for t in study.trials]
    assert sum(s in (TrialState.COMPLETE, TrialState.PRUNED) for s in states) == 5
    assert TrialState.RUNNING not in states
    assert len({t.system_attrs[ATTR_PID] for t in study.trials}) == 2  # both workers ran trials

    # The password is in no file the study wrote (configs, logs, plots) and nowhere on screen.
    password = postgres.password.encode()
    files = _files(tmp_path)
    out = tmp_path / "mlp_digits" / "tune"
    for wrote in ("best.yaml", "trials.csv", "trials/0000/config.yaml", "workers/worker-1.log"):
        assert out / wrote in files
    assert [f for f in files if password in _contents(f)] == []
    assert password.decode() not in result.output
    assert f"postgresql+psycopg://nnzoo:***@127.0.0.1:{postgres.port}/postgres" in result.output
    assert yaml.safe_load((out / "best.yaml").read_text())["tune"]["storage"] is None
