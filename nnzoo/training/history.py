"""A run's per-epoch history (``history.csv`` rows): reading it and finding its best epoch."""

from __future__ import annotations

import math
from typing import Any, Literal

#: ``min`` / ``max`` as Keras callbacks spell it; ``minimize`` / ``maximize`` as Optuna does.
Mode = Literal["min", "max", "minimize", "maximize"]


def best_epoch(rows: list[dict[str, Any]], metric: str, mode: Mode) -> int | None:
    """The 1-based epoch whose finite ``metric`` is best, or ``None`` when no row has one.

    Ties go to the earliest epoch, as Keras's ``ModelCheckpoint(save_best_only=True)`` keeps it.
    """
    values = [(i + 1, float(r[metric])) for i, r in enumerate(rows) if metric in r]
    values = [(e, v) for e, v in values if math.isfinite(v)]
    if not values:
        return None
    pick = max if mode in ("max", "maximize") else min
    return pick(values, key=lambda ev: ev[1])[0]


def best_value(rows: list[dict[str, Any]], metric: str, mode: Mode) -> float | None:
    """The best finite value of ``metric`` over ``rows``, or ``None`` when there is none."""
    epoch = best_epoch(rows, metric, mode)
    return None if epoch is None else float(rows[epoch - 1][metric])
