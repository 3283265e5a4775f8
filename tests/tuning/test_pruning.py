"""The pruners and the Keras pruning callback, driven directly through study.ask()."""

import optuna
import pytest

from nnzoo.errors import ConfigError
from nnzoo.tuning._pruning import PruningCallback, make_pruner


def _study(pruner="median"):
    return optuna.create_study(direction="maximize", pruner=make_pruner(pruner, epochs=10))


def test_a_trial_worse_than_the_median_is_pruned():
    study = _study()
    for value in (0.5, 0.6, 0.7, 0.8, 0.9):  # 5 startup trials, median 0.7 at step 0
        trial = study.ask()
        trial.report(value, step=0)
        study.tell(trial, value)
    worse, better = study.ask(), study.ask()
    worse.report(0.3, step=0)
    better.report(0.85, step=0)
    assert bool(worse.should_prune()) is True
    assert bool(better.should_prune()) is False


def test_the_callback_raises_trial_pruned_for_a_poor_epoch():
    study = _study()
    for value in (0.5, 0.6, 0.7, 0.8, 0.9):
        trial = study.ask()
        trial.report(value, step=0)
        study.tell(trial, value)
    callback = PruningCallback(study.ask(), "val_accuracy")
    with pytest.raises(optuna.TrialPruned, match="pruned at epoch 1"):
        callback.on_epoch_end(0, {"loss": 1.0, "val_accuracy": 0.2})


def test_a_missing_metric_is_an_error_naming_the_available_ones():
    callback = PruningCallback(_study().ask(), "val_auc", file="t.yaml")
    with pytest.raises(ConfigError) as err:
        callback.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.1, "val_accuracy": 0.5})
    assert str(err.value) == (
        "t.yaml: tune.metric: the metric 'val_auc' is not in the training logs (logged: "
        "loss, val_accuracy, val_loss). Fix: set tune.metric to one of: loss, val_accuracy, "
        "val_loss"
    )


@pytest.mark.parametrize("name", ["successive_halving", "hyperband", "none"])
def test_each_pruner_is_built(name):
    expected = {
        "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
        "hyperband": optuna.pruners.HyperbandPruner,
        "none": optuna.pruners.NopPruner,
    }[name]
    assert isinstance(make_pruner(name, epochs=9), expected)
