"""Hyperparameter tuning with Optuna from the same YAML: ``nnzoo tune CONFIG``.

>>> from nnzoo.tuning import tune                         # doctest: +SKIP
>>> result = tune(load_config("configs/tune/mlp_digits.yaml"), trials=20)  # doctest: +SKIP
>>> result.best_config                                    # doctest: +SKIP
PosixPath('runs/mlp_digits/tune/best.yaml')
"""

from __future__ import annotations

from nnzoo.tuning._study import TuneResult, tune

__all__ = ["TuneResult", "tune"]
