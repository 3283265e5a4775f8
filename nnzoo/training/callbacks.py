"""Callbacks the trainer adds on top of Keras's own (EarlyStopping, ModelCheckpoint,
CSVLogger, TerminateOnNaN, TensorBoard)."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import keras


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that a reader (or a kill -9) never sees half a file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


class LearningRateLogger(keras.callbacks.Callback):
    """Adds ``learning_rate`` (the rate at the end of the epoch) to the epoch logs."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is None:
            return
        from nnzoo.training.optimizers import learning_rate_at

        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        logs["learning_rate"] = learning_rate_at(self.model.optimizer, step)


class ResumeState(keras.callbacks.Callback):
    """Saves everything a resumed run needs at the end of every epoch, crash-safe.

    ``checkpoints/last.keras`` holds the weights and the optimizer state (Keras's
    BackupAndRestore keeps no optimizer state and no callback state); ``state.json`` holds
    the number of completed epochs and the state of early stopping and of the best
    checkpoint (best value, best epoch, patience count). It is written after the model file,
    with an atomic rename, so it never points at a model file that was not finished.
    """

    def __init__(
        self,
        directory: Path,
        *,
        early_stopping: keras.callbacks.EarlyStopping | None,
        checkpoint: keras.callbacks.ModelCheckpoint | None,
        restore: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.directory = Path(directory)
        self.early_stopping = early_stopping
        self.checkpoint = checkpoint
        self.restore = restore
        self.best_epoch: int | None = (restore or {}).get("best_epoch")
        self._offset = float((restore or {}).get("wall_seconds", 0.0))
        self._started = time.perf_counter()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        # Runs after EarlyStopping / ModelCheckpoint have reset themselves.
        state = self.restore
        if not state:
            return
        es = state.get("early_stopping")
        if self.early_stopping is not None and es:
            self.early_stopping.wait = es["wait"]
            self.early_stopping.best = _from_json_float(es["best"])
            self.early_stopping.best_epoch = es["best_epoch"]
            self.early_stopping.stopped_epoch = 0
        ck = state.get("checkpoint")
        if self.checkpoint is not None and ck:
            self.checkpoint.best = _from_json_float(ck["best"])

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if any(isinstance(v, float) and math.isnan(v) for v in logs.values()):
            return  # TerminateOnNaN stops the run; keep the last good state
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"last-{epoch + 1}.keras"
        self.model.save(self.directory / name)
        if (
            self.checkpoint is not None
            and self.checkpoint.best is not None
            and (self.best_epoch is None or _improved(self.checkpoint, logs))
        ):
            self.best_epoch = epoch + 1
        state = {
            "epochs_completed": epoch + 1,
            "model_file": name,
            "best_epoch": self.best_epoch,
            "wall_seconds": self._offset + time.perf_counter() - self._started,
            "early_stopping": None
            if self.early_stopping is None
            else {
                "wait": int(self.early_stopping.wait),
                "best": _to_json_float(self.early_stopping.best),
                "best_epoch": int(self.early_stopping.best_epoch),
            },
            "checkpoint": None
            if self.checkpoint is None
            else {"best": _to_json_float(self.checkpoint.best)},
        }
        write_json_atomic(self.directory / "state.json", state)
        for old in self.directory.glob("last-*.keras"):
            if old.name != name:
                old.unlink(missing_ok=True)


def _improved(checkpoint: keras.callbacks.ModelCheckpoint, logs: dict[str, Any]) -> bool:
    value = logs.get(checkpoint.monitor)
    return value is not None and float(value) == float(checkpoint.best)


def _to_json_float(value: Any) -> Any:
    if value is None:
        return None
    value = float(value)
    return str(value) if math.isinf(value) or math.isnan(value) else value


def _from_json_float(value: Any) -> Any:
    return float(value) if value is not None else None


def read_state(directory: Path) -> dict[str, Any] | None:
    path = Path(directory) / "state.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())
