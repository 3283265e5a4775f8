"""Hyperparameter tuning with Optuna from the same YAML: ``nnzoo tune CONFIG``.

>>> from nnzoo.tuning import tune                         # doctest: +SKIP
>>> result = tune(load_config("configs/tune/mlp_digits.yaml"), trials=20)  # doctest: +SKIP
>>> result.best_config                                    # doctest: +SKIP
PosixPath('runs/mlp_digits/tune/best.yaml')

Lazy: importing ``nnzoo.tuning`` (as the CLI does for ``nnzoo tune --help``) does not import
Optuna; ``tune`` and ``TuneResult`` load it on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TuneResult", "tune"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from nnzoo.tuning import _study

        return getattr(_study, name)
    raise AttributeError(f"module 'nnzoo.tuning' has no attribute {name!r}")
