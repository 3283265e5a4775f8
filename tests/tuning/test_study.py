"""tune(): baseline first, failures, resume to exactly N, best.yaml, the CLI command."""

import csv
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import optuna
import pytest
from click.testing import CliRunner
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from nnzoo.errors import ConfigError, NnzooError
from nnzoo.run.bind import load_config
from nnzoo.training import train
from nnzoo.tuning import tune
from nnzoo.tuning._settings import ATTR_BASELINE, ATTR_FAIL_REASON, ATTR_HOST, ATTR_PID

TUNE_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "tune" / "mlp_digits.yaml"


def _study(tmp_path, name="mlp_digits"):
    url = f"sqlite:///{tmp_path}/{name}/tune/study.db"
    return optuna.load_study(study_name=name, storage=url)


def _retried_from(trial):
    """The number of the failed trial that ``trial`` retries (Optuna's own system attr)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return RetryHeartbeatStaleTrialCallback.retried_trial_number(trial)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.slow
def test_study_starts_from_the_baseline_and_writes_best_yaml_that_trains(tmp_path, tiny_config):
    result = tune(tiny_config(), trials=3, runs_dir=tmp_path, quiet=True)
    study = _study(tmp_path)
    first = study.trials[0]
    assert first.params == {
        "train.optimizer.learning_rate": 0.002,
        "data.batch_size": 32,
        "model.params.dropout": 0.2,
    }
    assert first.user_attrs[ATTR_BASELINE] is True
    assert result.finished == 3 and result.study_name == "mlp_digits"
    assert result.best_value == pytest.approx(study.best_value)
    out = tmp_path / "mlp_digits" / "tune"
    with (out / "trials.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["number"] for r in rows] == ["0", "1", "2"]
    assert (out / "optimization_history.png").stat().st_size > 0
    assert not (out / "trials" / "0000" / "checkpoints").exists()

    best = load_config(result.best_config)
    assert best.data.batch_size == result.best_params["data.batch_size"]
    assert best.train.optimizer.learning_rate == pytest.approx(
        result.best_params["train.optimizer.learning_rate"]
    )
    run = train(load_config(result.best_config, ["train.epochs=1"]), runs_dir=tmp_path, quiet=True)
    assert 0.0 <= run.metrics["test"]["accuracy"] <= 1.0


@pytest.mark.slow
def test_resume_after_a_killed_run_reaches_exactly_n_finished_trials(tmp_path, tiny_config):
    tune(tiny_config(), trials=2, runs_dir=tmp_path, quiet=True)
    # A run killed mid-trial leaves that trial RUNNING with the pid of a dead process.
    study = _study(tmp_path)
    killed = study.ask()
    study._storage.set_trial_system_attr(killed._trial_id, ATTR_HOST, socket.gethostname())
    study._storage.set_trial_system_attr(killed._trial_id, ATTR_PID, _dead_pid())

    result = tune(tiny_config(), trials=4, runs_dir=tmp_path, quiet=True)
    trials = _study(tmp_path).trials
    states = [t.state for t in trials]
    assert result.finished == 4
    assert sum(s in (TrialState.COMPLETE, TrialState.PRUNED) for s in states) == 4
    assert TrialState.RUNNING not in states
    assert trials[killed.number].state == TrialState.FAIL
    retried = [t for t in trials if _retried_from(t) == killed.number]
    assert len(retried) == 1 and retried[0].state != TrialState.FAIL

    # Rerunning a finished study runs nothing more.
    again = tune(tiny_config(), trials=4, runs_dir=tmp_path, quiet=True)
    assert (again.finished, len(_study(tmp_path).trials)) == (4, len(trials))


def test_failed_trials_do_not_count_and_max_failures_stops_the_study(
    tmp_path, tiny_config, monkeypatch
):
    def broken(config, options):
        raise RuntimeError("out of memory")

    monkeypatch.setattr("nnzoo.tuning._study.train_trial", broken)  # as the objective imports it
    with pytest.raises(NnzooError) as err:
        tune(tiny_config(), trials=5, max_failures=2, runs_dir=tmp_path, quiet=True)
    assert str(err.value).startswith(
        "study 'mlp_digits': 2 trials failed (--max-failures 2); stopped."
    )
    trials = _study(tmp_path).trials
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.FAIL]
    assert trials[0].user_attrs[ATTR_FAIL_REASON] == "RuntimeError: out of memory"


@pytest.mark.slow
def test_a_missing_metric_stops_the_study_with_a_clear_error(tmp_path, tiny_config):
    with pytest.raises(ConfigError) as err:
        tune(tiny_config("tune.metric=val_auc"), trials=3, runs_dir=tmp_path, quiet=True)
    assert "tune.metric: the metric 'val_auc' is not in the training logs (logged: " in str(
        err.value
    )
    assert "val_accuracy" in str(err.value)
    assert len(_study(tmp_path).trials) == 1  # stopped, not looping over every trial


def test_a_training_metric_is_refused(tiny_config):
    with pytest.raises(ConfigError, match="trials are compared on validation data"):
        tune(tiny_config("tune.metric=accuracy"), trials=1, quiet=True)


def _cli():
    from nnzoo.cli import cli

    return cli


def test_cli_unknown_space_key_exits_2_with_a_hint(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"extends: {TUNE_CONFIG}\ntune:\n  space:\n    train.optimizer.learning_rat: "
        "{float: [0.001, 0.1]}\n"
    )
    result = CliRunner().invoke(_cli(), ["tune", str(bad)])
    assert result.exit_code == 2
    assert "tune.space.train.optimizer.learning_rat" in result.output
    assert "did you mean 'train.optimizer.learning_rate'?" in result.output


@pytest.mark.parametrize("name", ["../../x", "/tmp/nnzoo-study-x", "a/b", ".hidden"])
def test_a_study_name_that_is_a_path_is_refused(tmp_path, name):
    runs = tmp_path / "runs"
    result = CliRunner().invoke(
        _cli(), ["tune", str(TUNE_CONFIG), "--study", name, "--runs-dir", str(runs)]
    )
    assert result.exit_code == 2
    assert result.output == (
        "nnzoo: error: --study: a study name is a folder name under --runs-dir (letters, "
        f"digits, '_', '.', '-', starting with a letter or digit); received {name!r}. Fix: e.g. "
        "--study mlp_digits_2\n"
    )
    assert list(tmp_path.iterdir()) == [] and not Path("/tmp/nnzoo-study-x").exists()


def _failing_trials(monkeypatch):
    """Trials that fail at once (no training), for tests of what happens around them."""

    def broken(config, options):
        raise RuntimeError("out of memory")

    monkeypatch.setattr("nnzoo.tuning._study.train_trial", broken)


def test_a_changed_space_is_refused_naming_the_keys(tmp_path, tiny_config, monkeypatch):
    _failing_trials(monkeypatch)
    with pytest.raises(NnzooError, match="1 trials failed"):  # the study exists now
        tune(tiny_config(), trials=2, max_failures=1, runs_dir=tmp_path, quiet=True)
    changed = tmp_path / "changed.yaml"
    changed.write_text(
        f"extends: {TUNE_CONFIG}\ntune:\n  space:\n"
        "    model.params.dropout: {float: [0.0, 0.3]}\n    train.epochs: {int: [1, 2]}\n"
    )
    args = ["tune", str(changed), "--runs-dir", str(tmp_path), "--max-failures", "1"]
    result = CliRunner().invoke(_cli(), args)
    assert result.exit_code == 2
    assert result.output == (
        f"nnzoo: error: {changed}: tune.space: the study 'mlp_digits' in "
        f"sqlite:///{tmp_path}/mlp_digits/tune/study.db was created with another search "
        "space; changed: model.params.dropout, train.epochs. Fix: start a new study with "
        "--study NEW_NAME (e.g. --study mlp_digits_2), or restore the space the study was "
        "created with\n"
    )
    assert len(_study(tmp_path).trials) == 1  # nothing ran
    # The fix works: a new study (in the same database), its outputs in a folder of its own.
    result = CliRunner().invoke(_cli(), [*args, "--study", "mlp_digits_2"])
    assert "study 'mlp_digits_2': 1 trials failed" in result.output
    assert (tmp_path / "mlp_digits" / "tune" / "mlp_digits_2").is_dir()
    url = f"sqlite:///{tmp_path}/mlp_digits/tune/study.db"
    assert len(optuna.load_study(study_name="mlp_digits_2", storage=url).trials) == 1


def test_workers_are_capped_at_the_cores_with_a_note(tmp_path, monkeypatch):
    _failing_trials(monkeypatch)
    monkeypatch.setattr("nnzoo.tuning._tune.env_threads", lambda: 1)
    args = ["tune", str(TUNE_CONFIG), "--workers", "64", "--max-failures", "1"]
    result = CliRunner().invoke(_cli(), [*args, "--runs-dir", str(tmp_path)])
    assert "--workers 64: this process may use 1 core(s); running 1 worker(s)\n" in result.output
    # It ran here (the failing trainer is this process's), on the journal that 64 workers use.
    assert "study 'mlp_digits': 1 trials failed (--max-failures 1)" in result.output
    out = tmp_path / "mlp_digits" / "tune"
    assert (out / "journal.log").is_file() and not (out / "workers").exists()
