"""Parallel workers: a SIGKILLed worker's trial is failed and retried; they die with their
parent; every worker dying is an error; PostgreSQL storage writes no password."""

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
from nnzoo.tuning._storage import fail_dead_trials

pytestmark = pytest.mark.skipif(
    len(os.sched_getaffinity(0)) < 2, reason="two workers need two cores (--workers is capped)"
)
ROOT = Path(__file__).resolve().parents[2]
TUNE_CONFIG = ROOT / "configs" / "tune" / "mlp_digits.yaml"
TINY = ["--set", "model.params.hidden_units=[16]", "--set", "tune.pruner=none"]


def _journal_study(path: Path):
    from optuna.storages.journal import JournalFileBackend

    storage = optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    return optuna.load_study(study_name="mlp_digits", storage=storage)


def _tune_two_workers(runs: Path, *, trials: int, epochs: int, **popen) -> subprocess.Popen:
    """``nnzoo tune --workers 2`` in a process of its own (for the tests that kill one)."""
    cmd = [sys.executable, "-c", "from nnzoo.cli.tuning import tune; tune()", str(TUNE_CONFIG)]
    cmd += ["--workers", "2", "--trials", str(trials), "--runs-dir", str(runs), "--quiet"]
    cmd += [*TINY, "--set", f"train.epochs={epochs}"]
    return subprocess.Popen(cmd, cwd=ROOT, **popen)


def _running_pids(journal: Path, *, training: bool = False) -> dict[int, int]:
    """The pid of each trial RUNNING in the study of ``journal`` (by trial number); with
    ``training``, only of those that reported an epoch (their parameters are recorded)."""
    if not journal.exists():
        return {}
    running = _journal_study(journal).get_trials(states=(TrialState.RUNNING,))
    return {
        t.number: t.system_attrs[ATTR_PID]
        for t in running
        if ATTR_PID in t.system_attrs and (t.intermediate_values or not training)
    }


@pytest.mark.slow
def test_a_worker_killed_mid_trial_leaves_no_running_trial(tmp_path):
    journal = tmp_path / "mlp_digits" / "tune" / "journal.log"
    parent = _tune_two_workers(
        tmp_path, trials=4, epochs=6, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    killed = None
    deadline = time.monotonic() + 240
    while killed is None and time.monotonic() < deadline and parent.poll() is None:
        time.sleep(0.5)
        # Mid-trial: it has trained an epoch (killed before it drew its parameters, the retry
        # would rightly draw them anew, and there would be nothing to compare).
        for number, pid in _running_pids(journal, training=True).items():
            os.kill(pid, signal.SIGKILL)
            killed = number
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


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie no parent has reaped yet counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
def test_workers_die_with_a_killed_parent(tmp_path, monkeypatch):
    journal = tmp_path / "mlp_digits" / "tune" / "journal.log"
    parent = _tune_two_workers(
        tmp_path, trials=6, epochs=40, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    pids: set[int] = set()
    deadline = time.monotonic() + 240
    while len(pids) < 2 and time.monotonic() < deadline and parent.poll() is None:
        time.sleep(0.5)
        pids = set(_running_pids(journal).values())
    assert len(pids) == 2, "the two workers were not seen training"
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [pid for pid in pids if _alive(pid)] == []
    # A trial the way out did not record FAIL (it has 3 s) is one a rerun fails and retries,
    # also one whose worker died before recording itself its owner (every worker is dead here,
    # so no grace is needed for an owner still to be written).
    monkeypatch.setattr("nnzoo.tuning._storage.ORPHAN_AFTER_SECONDS", 0.0)
    study = _journal_study(journal)
    fail_dead_trials(study)
    assert study.get_trials(states=(TrialState.RUNNING,)) == []


# A worker that finishes one trial and is killed (as by the OOM killer) as its second starts.
DYING_WORKER = """
import os, runpy, signal
from nnzoo.tuning import _study

real_train, started = _study.train_trial, []

def train(config, options):
    started.append(1)
    if len(started) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return real_train(config, options)

_study.train_trial = train
runpy.run_module("nnzoo.tuning._workers", run_name="__main__")
"""


@pytest.mark.slow
def test_when_every_worker_dies_tune_fails_in_one_line(tmp_path, monkeypatch):
    script = tmp_path / "dying_worker.py"
    script.write_text(DYING_WORKER)
    monkeypatch.setattr("nnzoo.tuning._workers.WORKER_COMMAND", [sys.executable, str(script)])
    runs = tmp_path / "runs"
    args = ["tune", str(TUNE_CONFIG), "--workers", "2", "--trials", "6", "--runs-dir", str(runs)]
    result = CliRunner().invoke(cli, [*args, *TINY, "--set", "train.epochs=1"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output.splitlines()[-1] == (
        "nnzoo: error: study 'mlp_digits': every worker stopped (signal 9, signal 9) with 2 of "
        f"6 trials finished. Fix: see the workers' logs in {runs}/mlp_digits/tune/workers, then "
        "rerun the same command to resume the study"
    )
    trials = _journal_study(runs / "mlp_digits" / "tune" / "journal.log").trials
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 2
    assert TrialState.RUNNING not in [t.state for t in trials]


def test_a_trial_orphaned_before_its_owner_was_recorded_is_failed_after_the_grace(monkeypatch):
    study = optuna.create_study()
    orphan = study.ask()  # RUNNING, and its worker died before mark_owner
    assert fail_dead_trials(study) == []  # younger than the grace: an owner may still come
    assert study.trials[orphan.number].state == TrialState.RUNNING
    monkeypatch.setattr("nnzoo.tuning._storage.ORPHAN_AFTER_SECONDS", 0.0)
    assert fail_dead_trials(study) == [orphan.number]
    assert study.trials[orphan.number].state == TrialState.FAIL
    assert [t.state for t in study.trials[1:]] == [TrialState.WAITING]  # queued again
