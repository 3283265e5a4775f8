"""What a tuning trial asks of the trainer beyond its config: :class:`TrialOptions`.

:func:`~nnzoo.training.trainer.train_trial` takes them and :mod:`nnzoo.tuning` makes them. The
trainer never imports the tuner: the models a study keeps across its trials come as any object
with the methods of :class:`TrialModels` (the tuner's ``nnzoo.tuning._pool.ModelPool``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from nnzoo.data import Splits


class TrialModels(Protocol):
    """Models kept across a study's trials: the trainer seeds through them and, for a ``lean``
    trial, trains the model :meth:`take` hands back."""

    def set_random_seed(self, seed: int) -> None:
        """Seed Python, NumPy and the backend as ``keras.utils.set_random_seed`` does.

        Args:
            seed: the run's ``seed``.
        """

    def take(self, fresh: Any, splits: Splits, *, steps: int) -> Any:
        """The model to train in place of ``fresh``.

        Args:
            fresh: the run's own model: built, compiled, its feature statistics set, its
                training state not built yet.
            splits: the data the run trains on.
            steps: the optimizer steps the run takes at most.

        Returns:
            ``fresh``, or a kept model (compiled, its steps traced) loaded with the starting
            state of ``fresh``, which then trains exactly as ``fresh`` would.
        """


@dataclass(frozen=True)
class TrialOptions:
    """How a tuning trial trains, beyond its config.

    Args:
        run_dir: the trial's run directory (new, or empty), written into instead of a fresh
            run id.
        callbacks: extra Keras callbacks (the pruning callback). Defaults to ``()``.
        lean: its config, data spec, ``history.csv``, ``status.json`` and ``metrics.json``
            (without test metrics) only. No resume checkpoints (the run cannot be resumed),
            no ``model.keras``, no test evaluation, no ``curves.png``; the best epoch's
            weights (by ``train.monitor``) are kept in memory and loaded into the returned
            model, and :meth:`~nnzoo.training.trainer.RunResult.write_artifacts` writes what
            was skipped. Defaults to ``True``.
        splits: the data the config loads, already loaded (the :class:`~nnzoo.data.Splits`
            that :func:`~nnzoo.run.bind.prepare` returned for a config with the same ``seed``,
            ``model.name`` and ``data`` but for ``data.batch_size``, ``shuffle``, ``cache``
            and ``augment``), reused instead of loading it again. Not for a model started
            from a KerasHub preset. Defaults to ``None``: load it.
        models: the models kept across trials (with ``splits``). The run is seeded through
            them; a ``lean`` run trains the model they hand back, which may be a kept one
            that a later run loads with its own weights (a full run trains its own: a kept
            model's optimizer reads its schedule from variables, which no resume checkpoint
            could restore). Defaults to ``None``: the run's own model, seeded by Keras.
    """

    run_dir: Path
    callbacks: tuple[Any, ...] = ()
    lean: bool = True
    splits: Splits | None = None
    models: TrialModels | None = None
