"""What tune prints: one line per finished trial (n/N finished, state, value, best so far)
and its best config once."""

from __future__ import annotations

from pathlib import Path

import optuna
from click.testing import CliRunner
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from nnzoo.training import RunResult
from nnzoo.tuning._report import TrialReporter
from nnzoo.tuning._settings import ATTR_FAIL_REASON

TUNE_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "tune" / "mlp_digits.yaml"
LR = {"train.optimizer.learning_rate": FloatDistribution(1e-4, 1e-1, log=True)}


def _trial(state, value=None, lr=0.01, **attrs):
    return create_trial(
        state=state,
        value=value,
        params={"train.optimizer.learning_rate": lr},
        distributions=LR,
        user_attrs=attrs,
        intermediate_values={0: 0.1} if state == TrialState.PRUNED else {},
    )


def test_each_finished_trial_is_one_line_with_n_of_n_and_the_best_so_far(capsys):
    study = optuna.create_study(direction="maximize")
    study.add_trial(_trial(TrialState.COMPLETE, 0.5))
    reporter = TrialReporter("val_accuracy", trials=4, direction="maximize")
    reporter.skip_existing(study)  # a resumed study: trial 0 finished before
    study.add_trial(_trial(TrialState.COMPLETE, 0.75, lr=0.002))
    study.add_trial(_trial(TrialState.PRUNED, lr=0.05))
    study.add_trial(_trial(TrialState.FAIL, lr=0.09, **{ATTR_FAIL_REASON: "loss became NaN"}))
    study.add_trial(_trial(TrialState.COMPLETE, 0.6))
    reporter.update(study)
    lines = [line.rstrip() for line in capsys.readouterr().err.splitlines()]
    assert lines == [
        "trial     done  state     val_accuracy      best     time  params",
        "    1      2/4  COMPLETE        0.7500    0.7500     0.0s  learning_rate=0.002",
        "    2      3/4  PRUNED               -    0.7500     0.0s  learning_rate=0.05",
        "    3      3/4  FAIL                 -    0.7500     0.0s  learning_rate=0.09  "
        "(loss became NaN)",
        "    4      4/4  COMPLETE        0.6000    0.7500     0.0s  learning_rate=0.01",
    ]


def test_tune_prints_its_best_config_once(tmp_path, monkeypatch):
    from nnzoo.cli import cli

    def fake_train(config, options):
        lr = config.train.optimizer.learning_rate
        return RunResult(options.run_dir, {}, [{"epoch": 1, "val_accuracy": min(lr * 10, 1.0)}])

    monkeypatch.setattr("nnzoo.tuning._study.train_trial", fake_train)
    args = ["tune", str(TUNE_CONFIG), "--trials", "2", "--runs-dir", str(tmp_path)]
    result = CliRunner().invoke(cli, [*args, "--set", "train.epochs=2"])
    assert result.exit_code == 0, result.output
    best = tmp_path / "mlp_digits" / "tune" / "best.yaml"
    assert [line for line in result.output.splitlines() if str(best) in line] == [
        f"best config: {best}  (train it: nnzoo train {best})"
    ]
    quiet = CliRunner().invoke(cli, [*args, "--trials", "3", "-q"])
    assert quiet.output == f"best config: {best}\n"


def test_the_importance_plot_is_the_same_on_every_run_and_ranks_the_parameter_that_matters(
    tmp_path,
):
    """The fANOVA behind param_importances.png is seeded: two draws give the same file."""
    from nnzoo.tuning._outputs import IMPORTANCE_TREES, write_plots

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(
        lambda t: 10 * t.suggest_float("matters", 0, 1) + 0.01 * t.suggest_float("noise", 0, 1),
        n_trials=20,
    )
    import matplotlib

    style = dict(matplotlib.rcParams)
    drawn = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        written = write_plots(study, tmp_path / name)
        # Optuna's plots set ggplot for the process: the style is theirs alone
        assert matplotlib.rcParams["axes.prop_cycle"] == style["axes.prop_cycle"]
        assert sorted(p.name for p in written) == [
            "intermediate_values.png",
            "optimization_history.png",
            "param_importances.png",
        ]
        drawn.append((tmp_path / name / "param_importances.png").read_bytes())
    assert drawn[0] == drawn[1]
    evaluator = optuna.importance.FanovaImportanceEvaluator(n_trees=IMPORTANCE_TREES, seed=0)
    importances = optuna.importance.get_param_importances(study, evaluator=evaluator)
    assert list(importances) == ["matters", "noise"] and importances["matters"] > 0.9
