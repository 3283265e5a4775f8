"""SIGTERM (kill, timeout, Docker, SLURM) is handled as Ctrl-C is, and a resume applies the
flags it is given or refuses them: never ignores one."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner

from nnzoo.cli import cli
from nnzoo.cli._errors import sigterm_as_interrupt
from nnzoo.errors import Terminated

TINY = {
    "name": "tiny",
    "seed": 1,
    "model": {"name": "mlp", "params": {"hidden_units": [8]}},
    "data": {"source": "iris", "batch_size": 16, "validation_split": 0.2, "test_split": 0.2},
    "train": {
        # Many epochs: the test stops it after the first (each takes milliseconds).
        "epochs": 1000,
        "optimizer": {"name": "adam", "learning_rate": 0.01},
        "schedule": {"name": "cosine"},
        "checkpoint_every_seconds": 0,  # a resume state after every epoch
    },
}
KEPT = ("config.yaml", "data_spec.json", "split.npz", "checkpoints/fingerprint.json")


def digests(run_dir, names=KEPT):
    return {n: hashlib.sha256((run_dir / n).read_bytes()).hexdigest() for n in names}


def status(run_dir):
    return json.loads((run_dir / "status.json").read_text())


@pytest.fixture(scope="module")
def terminated_run(tmp_path_factory):
    """A run of TINY that got SIGTERM after its first epoch line: (process, stderr, run dir)."""
    root = tmp_path_factory.mktemp("signals")
    config = root / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    env = dict(os.environ, PYTHONPATH=os.getcwd(), NNZOO_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="3")
    cmd = [sys.executable, "-m", "nnzoo.cli", "train", str(config), "--runs-dir", str(root)]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=root
    )
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("epoch "):
            proc.send_signal(signal.SIGTERM)
            break
    _, err = proc.communicate(timeout=120)
    run_dir = next((root / "tiny").iterdir())
    return proc, err, run_dir, lines


def test_sigterm_leaves_the_run_interrupted_with_exit_143(terminated_run):
    proc, err, run_dir, lines = terminated_run
    assert proc.returncode == 143, err
    assert err == f"nnzoo: terminated (SIGTERM) — resume with: nnzoo train --resume {run_dir}\n"
    assert status(run_dir)["state"] == "interrupted"
    assert status(run_dir)["reason"] == "interrupted (SIGTERM)"
    assert lines[0] == f"run: {run_dir}\n"
    state = json.loads((run_dir / "checkpoints" / "state.json").read_text())
    assert 1 <= state["epochs_completed"] < 1000
    assert not (run_dir / "model.keras").exists()


def test_a_resume_refuses_what_it_cannot_change_and_changes_nothing(terminated_run):
    _, _, run_dir, _ = terminated_run
    before = digests(run_dir, (*KEPT, "status.json", "checkpoints/state.json"))
    run = str(run_dir)
    cases = {
        ("--batch-size", "4"): "nnzoo: error: --batch-size cannot change when resuming: the "
        "run continues with the batches and seeds it started with. Fix: drop --batch-size, or "
        f"start a new run from this one: nnzoo train {run}/config.yaml --set "
        f"model.init_from={run} --batch-size 4",
        ("--seed", "7"): "nnzoo: error: --seed cannot change when resuming: the run continues "
        "with the batches and seeds it started with. Fix: drop --seed, or start a new run from "
        f"this one: nnzoo train {run}/config.yaml --set model.init_from={run} --seed 7",
        ("--set", "data.batch_size=4"): "nnzoo: error: --set: data.batch_size: cannot change "
        "when resuming: a resume continues the same run and may change only train.epochs, "
        "train.checkpoint_every_seconds. Fix: drop it, or start a new run from this one with "
        f"--set model.init_from={run}",
        ("--runs-dir", "elsewhere"): f"nnzoo: error: --runs-dir does not apply with --resume: "
        f"the run continues in {run}. Fix: drop --runs-dir (to train elsewhere, copy the whole "
        "run directory there and resume the copy)",
        ("--epochs", "0"): "nnzoo: error: --set: train.epochs: input should be greater than "
        "or equal to 1; received 0. Fix: change the value to fit that bound",
    }
    for args, line in cases.items():
        result = CliRunner().invoke(cli, ["train", "--resume", run, *args])
        assert result.exit_code == 2, result.output
        assert result.stderr == line + "\n"
    result = CliRunner().invoke(cli, ["train", "x.yaml", "--resume", run])
    assert result.exit_code == 2
    assert result.stderr == (
        "nnzoo: error: --resume continues a run with its own config, so CONFIG (x.yaml) cannot "
        "be given. Fix: drop CONFIG (change train.epochs with --epochs), or start a new run "
        "without --resume\n"
    )
    assert digests(run_dir, (*KEPT, "status.json", "checkpoints/state.json")) == before
    assert status(run_dir)["state"] == "interrupted"


def test_resume_applies_epochs_and_says_the_schedule_keeps_its_length(terminated_run):
    _, _, run_dir, _ = terminated_run
    kept = digests(run_dir, ("data_spec.json", "split.npz"))
    done = json.loads((run_dir / "checkpoints" / "state.json").read_text())["epochs_completed"]
    result = CliRunner().invoke(
        cli, ["train", "--resume", str(run_dir), "--epochs", str(done + 1), "-q"]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"note: training to {done + 1} epochs (was 1000); the cosine learning-rate schedule "
        "keeps the length it was compiled with (1000 epochs), then stays at its final rate\n"
    )
    assert status(run_dir)["state"] == "finished"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == done + 1
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["train"]["epochs"] == done + 1
    assert digests(run_dir, tuple(kept)) == kept
    assert not (run_dir / "checkpoints").exists()  # finished: no resume state, no fingerprint

    # Finished: a flag cannot apply, and is not ignored.
    result = CliRunner().invoke(cli, ["train", "--resume", str(run_dir), "--epochs", "9"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"nnzoo: error: {run_dir}: this run already finished, so train.epochs=9 cannot apply "
        f"to it. Fix: start a new run from it: nnzoo train {run_dir}/config.yaml --set "
        f"model.init_from={run_dir} --set train.epochs=N\n"
    )


def test_the_cli_handler_is_restored_for_library_users():
    """Only the CLI turns SIGTERM into an interrupt, and only while a command runs."""

    def mine(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        with pytest.raises(Terminated), sigterm_as_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)
        assert signal.getsignal(signal.SIGTERM) is mine
        CliRunner().invoke(cli, ["list-models"])
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_sigterm_to_tune_fails_its_running_trial_with_exit_143(tmp_path):
    """The study is left without a trial RUNNING for ever; its run is left interrupted."""
    import time

    import optuna
    from optuna.trial import TrialState

    env = dict(os.environ, PYTHONPATH=os.getcwd(), NNZOO_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="3")
    cmd = [sys.executable, "-m", "nnzoo.cli", "tune", "configs/tune/mlp_digits.yaml"]
    cmd += ["--trials", "3", "--runs-dir", str(tmp_path), "--quiet", "--workers", "1"]
    cmd += ["--set", "model.params.hidden_units=[8]", "--set", "tune.pruner=none"]
    cmd += ["--set", "train.epochs=5000", "--set", "train.callbacks.early_stopping.enabled=false"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            history = list(tmp_path.rglob("history.csv"))
            if history and len(history[0].read_text().splitlines()) >= 2:  # an epoch done
                proc.send_signal(signal.SIGTERM)
                break
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert err.splitlines()[-1] == (
        "nnzoo: terminated (SIGTERM); the running trial was recorded as failed. Rerun the same "
        "command to resume the study"
    )
    study = optuna.load_study(
        study_name="mlp_digits", storage=f"sqlite:///{tmp_path}/mlp_digits/tune/study.db"
    )
    assert [t.state for t in study.trials] == [TrialState.FAIL]
    run_dir = history[0].parent
    assert status(run_dir)["state"] == "interrupted"
    assert status(run_dir)["reason"] == "interrupted (SIGTERM)"
