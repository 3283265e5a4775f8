"""Training: resolve data -> model params, the run directory, fit, callbacks, optimizers.

What other packages use is exported here (``from nnzoo.training import train``).
"""

from nnzoo.training.trainer import RunResult, TrainingDivergedError, resume, train

__all__ = ["RunResult", "TrainingDivergedError", "resume", "train"]
