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
        trial.report(value, step=1)  # the first epoch
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


@pytest.mark.parametrize(("epochs", "first"), [(1, 1), (9, 1), (20, 2), (100, 10)])
def test_successive_halving_rungs_scale_with_the_epochs(epochs, first):
    pruner = make_pruner("successive_halving", epochs=epochs)
    assert (pruner._min_resource, pruner._reduction_factor) == (first, 3)
    hyperband = make_pruner("hyperband", epochs=epochs)
    assert (hyperband._min_resource, hyperband._max_resource) == (first, epochs)


def test_successive_halving_stops_a_trial_outside_the_best_third_at_its_rung():
    study = optuna.create_study(
        direction="maximize", pruner=make_pruner("successive_halving", epochs=20)
    )
    # At the first rung (epoch 2) a trial goes on if it is in the best third of the trials
    # there, or (fewer than 3 of them) the best: 0.65 is not, with 0.7 there.
    for value in (0.5, 0.6, 0.7, 0.65, 0.8):
        trial = study.ask()
        callback = PruningCallback(trial, "val_accuracy")
        callback.on_epoch_end(0, {"val_accuracy": value})  # epoch 1: before the rung
        try:
            callback.on_epoch_end(1, {"val_accuracy": value})
        except optuna.TrialPruned as pruned:
            assert str(pruned) == f"pruned at epoch 2 (val_accuracy={value})"
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, value)
    states = [t.state.name for t in study.trials]
    assert states == ["COMPLETE", "COMPLETE", "COMPLETE", "PRUNED", "COMPLETE"]
