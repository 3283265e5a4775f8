"""Shared helpers of the benchmark scripts (timing, per-epoch clocks)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def time_command(cmd: list[str], repeat: int) -> float:
    """Median wall time of ``cmd`` over ``repeat`` runs (after one warm-up run)."""
    subprocess.run(cmd, capture_output=True, check=True)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def epoch_clock():
    """A Keras callback recording each epoch's wall time in ``.times``."""
    import keras

    class EpochClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self._t)

    return EpochClock()


def steady(times: list[float]) -> float:
    """Median epoch time without the first epoch (tracing / compilation)."""
    return statistics.median(times[1:] if len(times) > 1 else times)


PY = sys.executable
