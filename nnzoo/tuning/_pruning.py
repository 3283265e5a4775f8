"""Pruners from ``tune.pruner`` and the Keras callback that reports to them each epoch."""

from __future__ import annotations

import math
from typing import Any

import keras
import optuna

from nnzoo.errors import ConfigError

#: Each rung of successive halving and Hyperband keeps the best third of the trials.
REDUCTION_FACTOR = 3


def first_rung(epochs: int) -> int:
    """The epoch of the first rung of successive halving / Hyperband for ``train.epochs``:
    a tenth of them, at least 1 (for 20 epochs the rungs are at 2, 6 and 18)."""
    return max(1, epochs // 10)


def make_pruner(name: str, *, epochs: int) -> optuna.pruners.BasePruner:
    """``median`` | ``successive_halving`` | ``hyperband`` | ``none``; resources are epochs.

    ``median`` prunes a trial below the median of earlier trials at the same epoch, after 5
    start-up trials. ``successive_halving`` keeps a trial past a rung (at :func:`first_rung`
    epochs, then 3x, 9x as many) only if it is in the best third of the trials that reached
    it; ``hyperband`` runs such brackets with first rungs from there up to ``epochs``.
    """
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
    if name == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=first_rung(epochs), reduction_factor=REDUCTION_FACTOR
        )
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=first_rung(epochs),
            max_resource=max(epochs, 1),
            reduction_factor=REDUCTION_FACTOR,
        )
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ConfigError(
        f"unknown pruner; received {name!r}",
        key="tune.pruner",
        fix="use median, successive_halving, hyperband or none",
    )


class PruningCallback(keras.callbacks.Callback):
    """Report ``metric`` to an Optuna trial after each epoch and stop a trial it prunes.

    Unlike optuna-integration's ``KerasPruningCallback``, a metric missing from the logs is
    an error (naming the metric and the ones logged), not a warning: a study that silently
    never prunes wastes all of its budget.

    Args:
        trial: the :class:`optuna.Trial` being run.
        metric: the logged name, e.g. ``val_accuracy``.
        file: the config file, for the error message.
        duplicates_dropped: validation examples dropped as duplicates of training ones; when
            they emptied the split, the message says so. Defaults to `0`.
    """

    def __init__(
        self,
        trial: optuna.Trial,
        metric: str,
        *,
        file: str | None = None,
        duplicates_dropped: int = 0,
    ) -> None:
        super().__init__()
        self.trial = trial
        self.metric = metric
        self.file = file
        self.duplicates_dropped = duplicates_dropped

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self.metric not in logs:
            available = ", ".join(sorted(logs)) or "none"
            fix = f"set tune.metric to one of: {available}"
            why = ""
            if self.metric.startswith("val_") and self.metric[4:] in logs:
                if self.duplicates_dropped:
                    why = (
                        f"; the validation split is empty, its {self.duplicates_dropped} "
                        "example(s) were dropped as duplicates of training examples"
                    )
                    fix = "give more distinct examples, or " + fix
                else:
                    fix = "set data.validation_split > 0 (tuning needs validation data), or " + fix
            raise ConfigError(
                f"the metric '{self.metric}' is not in the training logs (logged: {available})"
                + why,
                file=self.file,
                key="tune.metric",
                fix=fix,
            )
        value = float(logs[self.metric])
        if not math.isfinite(value):
            return  # the trainer stops on NaN and the trial is recorded as failed
        self.trial.report(value, step=epoch + 1)  # steps are epochs counted from 1
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {epoch + 1} ({self.metric}={value:.4g})")
