"""Hyperparameter tuning with Optuna from the same YAML: ``nnzoo tune CONFIG``.

>>> from nnzoo.tuning import tune                         # doctest: +SKIP
>>> result = tune(load_config("configs/tune/mlp_digits.yaml"), trials=20)  # doctest: +SKIP
>>> result.best_config                                    # doctest: +SKIP
PosixPath('runs/mlp_digits/tune/best.yaml')

Lazy: importing ``nnzoo.tuning`` (as the CLI does for ``nnzoo tune --help``) does not import
Optuna; ``tune`` loads it on first use.

The modules, each importing only those above it:

- ``_settings``: ``Settings``, ``TuneResult``, the attribute keys of a stored study, the rule
  for a study's name and the error of the environment (exit code 1);
- ``_space``, ``_storage``, ``_report``, ``_pruning``, ``_pool``: the search space, where a
  study lives (its crash safety, passwords never shown, a database that goes away), the trial
  lines printed, the pruners, the models kept across trials (their traced steps reused);
- ``_study``: open a study (refusing a changed space), the objective, the trial loop of one
  process;
- ``_lifeline``, ``_workers``, ``_outputs``: a worker's start (it dies with its parent), worker
  processes (at most one per core); best.yaml, trials.csv and plots;
- ``_tune``: ``tune()``.

The ``nnzoo tune`` command is :mod:`nnzoo.cli.tuning`, over ``tune``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nnzoo.tuning._settings import TuneResult
    from nnzoo.tuning._tune import tune

__all__ = ["TuneResult", "tune"]


def __getattr__(name: str) -> Any:
    # PEP 562: the one function-local import of a tuning module, for start-up speed.
    if name == "tune":
        from nnzoo.tuning._tune import tune

        return tune
    if name == "TuneResult":
        from nnzoo.tuning._settings import TuneResult

        return TuneResult
    raise AttributeError(f"module 'nnzoo.tuning' has no attribute {name!r}")
