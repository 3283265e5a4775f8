"""Training: fit a model as its config says — the trainer, callbacks, optimizers, distribution.

What other packages use is exported here (``from nnzoo.training import train``), lazily: a
process that only loads a run (``nnzoo.load_model`` registers the learning-rate schedules of
:mod:`nnzoo.training.optimizers`) does not import the trainer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nnzoo.training.trainer import RunResult, TrainingDivergedError, resume, train

__all__ = ["RunResult", "TrainingDivergedError", "resume", "train"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("nnzoo.training.trainer"), name)
    raise AttributeError(f"module 'nnzoo.training' has no attribute {name!r}")
