"""Parallel workers: a SIGKILLed worker's trial is failed and retried; PostgreSQL storage."""

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import optuna
import pytest
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from nnzoo.config import load_config
from nnzoo.tuning import tune
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres_url():
    """A throwaway PostgreSQL cluster on 127.0.0.1 (initdb refuses root: run as postgres)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or (
        [shutil.which("initdb")] if shutil.which("initdb") else []
    )
    if not found:
        pytest.skip("no PostgreSQL server binaries (initdb); `apt-get install postgresql`")
    bindir = Path(found[-1]).parent
    # Directly under /tmp: pytest's tmp dirs are private to root, postgres cannot enter them.
    base = Path(tempfile.mkdtemp(prefix="nnzoo-pg-"))
    data, pwfile = base / "data", base / "pw"
    password = "s3cret-pw"
    pwfile.write_text(password + "\n")
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
        shutil.chown(pwfile, "postgres", "postgres")
        os.chmod(base, 0o700)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip() or done.stdout}")

    run(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        "nnzoo",
        f"--pwfile={pwfile}",
        "--auth=scram-sha-256",
        "-E",
        "UTF8",
    )
    run(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(base / "log"),
        "-w",
        "-o",
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1",
        "start",
    )
    try:
        yield f"postgresql://nnzoo:{password}@127.0.0.1:{port}/postgres"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.postgres
def test_two_workers_on_postgresql_finish_exactly_n_trials(tmp_path, postgres_url, capsys):
    config = load_config(
        TUNE_CONFIG, ["train.epochs=2", "model.params.hidden_units=[16]", "tune.pruner=none"]
    )
    result = tune(
        config, trials=5, workers=2, storage=postgres_url, runs_dir=tmp_path, heartbeat=1
    )
    study = optuna.load_study(
        study_name="mlp_digits", storage=postgres_url.replace("postgresql", "postgresql+psycopg")
    )
    states = [t.state for t in study.trials]
    assert result.finished == 5
    assert sum(s in (TrialState.COMPLETE, TrialState.PRUNED) for s in states) == 5
    assert TrialState.RUNNING not in states
    assert len({t.system_attrs[ATTR_PID] for t in study.trials}) == 2  # both workers ran trials
    printed = capsys.readouterr()
    assert "s3cret-pw" not in printed.out + printed.err
    assert "nnzoo:***@127.0.0.1" in printed.err
