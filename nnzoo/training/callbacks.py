"""The callbacks of a run: Keras's own (EarlyStopping, ModelCheckpoint, CSVLogger,
TerminateOnNaN, TensorBoard) as the config asks, plus the learning-rate log and the resume
state nnzoo adds, and the in-memory best weights of a lean tuning trial.

What they leave in ``checkpoints/``: while a run can be resumed, the best weights (weights
only), one rolling ``last-N.keras`` with the optimizer state, ``state.json`` and early
stopping's best weights; :func:`remove_resume_state` deletes all but the fingerprint when the
run finishes (``model.keras`` then holds the best weights).
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from nnzoo._atomic import (
    FULL_DISK_ERRNOS,
    atomic_path,
    check_free_space,
    remove_temporaries,
    replace_file,
    temporary_path,
    write_json,
)
from nnzoo.config import Config
from nnzoo.data.pipeline import seed_generator_states
from nnzoo.errors import RunDirError
from nnzoo.run.directory import CHECKPOINTS, HISTORY_FILE
from nnzoo.run.saving import load_weights, save_weights, state_bytes
from nnzoo.training.optimizers import learning_rate_at

#: The best weights by ``train.monitor``, inside ``checkpoints/``.
BEST_WEIGHTS = "best.weights.h5"
#: Early stopping's best weights (its ``min_delta`` may make them differ from the checkpoint's).
EARLY_STOPPING_WEIGHTS = "early_stopping.weights.h5"
STATE_FILE = "state.json"


def build_callbacks(
    config: Config, run_dir: Path, state: dict[str, Any] | None, *, checkpoints: bool = True
) -> list[keras.callbacks.Callback]:
    """The callbacks ``config`` asks for, writing into ``run_dir``.

    ``state`` is the resume state of an interrupted run (:func:`read_state`), restored into
    early stopping and the best checkpoint when training begins again. ``checkpoints=False``
    (a lean tuning trial, which keeps its best weights in memory and cannot be resumed)
    writes neither the best weights' file nor the resume state.
    """
    ckdir = Path(run_dir) / CHECKPOINTS
    monitor = config.train.monitor
    callbacks: list[keras.callbacks.Callback] = [
        LearningRateLogger(),
        keras.callbacks.TerminateOnNaN(),
    ]
    checkpoint = None
    if config.train.callbacks.checkpoint and checkpoints:
        checkpoint = AtomicModelCheckpoint(
            str(ckdir / BEST_WEIGHTS),
            monitor=monitor.metric,
            mode=monitor.resolved_mode,
            save_best_only=True,
            save_weights_only=True,
            verbose=0,
        )
        callbacks.append(checkpoint)
    early = None
    es_cfg = config.train.callbacks.early_stopping
    if es_cfg.enabled:
        early = keras.callbacks.EarlyStopping(
            monitor=monitor.metric,
            mode=monitor.resolved_mode,
            patience=es_cfg.patience,
            min_delta=es_cfg.min_delta,
            restore_best_weights=es_cfg.restore_best_weights,
        )
        callbacks.append(early)
    # The resume state before the history row: a checkpointed epoch's row is written after
    # its checkpoint; rows past the last checkpoint are dropped on resume and done again.
    if checkpoints:
        callbacks.append(
            ResumeState(
                ckdir,
                early_stopping=early,
                checkpoint=checkpoint,
                restore=state,
                every_seconds=config.train.checkpoint_every_seconds,
            )
        )
    callbacks.append(HistoryLogger(str(Path(run_dir) / HISTORY_FILE), append=True))
    if config.train.callbacks.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(Path(run_dir) / "tensorboard")))
    return callbacks


class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """Keras's ModelCheckpoint, writing to a temporary file that is then moved into place
    (:func:`nnzoo._atomic.replace_file`), so that a kill or a power cut while it writes never
    leaves a torn checkpoint (the last good one stays).

    With ``save_weights_only`` it saves the layers' weights without the optimizer state
    (which Keras's ``save_weights`` includes): the best weights are for inference.
    """

    def __init__(self, filepath: str, **kwargs: Any) -> None:
        self.final_path = Path(filepath)
        # The temporary name keeps the suffix (.weights.h5 / .keras), which Keras checks.
        super().__init__(str(temporary_path(self.final_path)), **kwargs)

    def set_model(self, model: keras.Model) -> None:
        # Saves go through a view of the model's layers (the same variables) without the
        # optimizer; see nnzoo.run.saving.weights_view.
        super().set_model(_WeightsOnly(model) if self.save_weights_only else model)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        tmp = Path(self.filepath)
        tmp.unlink(missing_ok=True)  # a torn one a failed save left must not be renamed
        needed = _file_size(self.final_path) or state_bytes(self.model, optimizer=False)
        check_free_space(self.final_path, needed + 2**16)
        try:
            super().on_epoch_end(epoch, logs)
            if tmp.exists():  # saved: this epoch improved
                replace_file(tmp, self.final_path)
        except OSError as err:
            tmp.unlink(missing_ok=True)  # the last good one stays
            if err.errno not in FULL_DISK_ERRNOS:
                raise
            raise OSError(err.errno, os.strerror(err.errno), str(self.final_path)) from None


class _WeightsOnly:
    """The model as ModelCheckpoint sees it, whose ``save_weights`` saves the layers' weights
    only. Everything else is the model's own (so on JAX, Keras's ``jax_state_sync`` before a
    callback reads the model still runs)."""

    def __init__(self, model: keras.Model) -> None:
        self._model = model

    def save_weights(self, filepath: str, overwrite: bool = True) -> None:
        save_weights(self._model, filepath)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


class HistoryLogger(keras.callbacks.CSVLogger):
    """Keras's CSVLogger with epochs counted from 1, as the summary and ``metrics.json`` count
    them (Keras passes 0-based epochs)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        super().on_epoch_end(epoch + 1, logs)


class LearningRateLogger(keras.callbacks.Callback):
    """Adds ``learning_rate`` (the rate at the end of the epoch) to the epoch logs."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is None:
            return
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        logs["learning_rate"] = learning_rate_at(self.model.optimizer, step)


class BestWeightsInMemory(keras.callbacks.Callback):
    """Keeps a copy of the weights of the best epoch by ``train.monitor``, in memory, as the
    best checkpoint keeps them on disk (a lean tuning trial writes no checkpoints).

    Args:
        config: the run's config: its ``train.monitor`` and ``train.callbacks.checkpoint``.
    """

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.metric = config.train.monitor.metric
        self.better = np.greater if config.train.monitor.resolved_mode == "max" else np.less
        self.checkpoint = bool(config.train.callbacks.checkpoint)
        self.best: float | None = None
        self.weights: list[Any] | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        value = (logs or {}).get(self.metric)
        if value is None or not math.isfinite(float(value)):
            return
        if self.best is None or self.better(float(value), self.best):
            self.best = float(value)
            self.weights = self.model.get_weights()

    def restore(self, model: keras.Model) -> None:
        """Load the best epoch's weights into ``model`` (as the best checkpoint's would be:
        only with ``train.callbacks.checkpoint``, and only once an epoch had a finite value).

        Args:
            model: the trained model.
        """
        if self.weights is not None and self.checkpoint:
            model.set_weights(self.weights)


class ResumeState(keras.callbacks.Callback):
    """Saves everything a resumed run needs at the end of an epoch, crash-safe, and restores
    it when training begins again, so that the resumed run repeats the uninterrupted one.

    It saves at the end of the first epoch that ends ``every_seconds`` or more after the last
    save (or after training began), and at the end of the last epoch (the last of ``epochs``,
    or the one early stopping ends the run at); ``0`` saves after every epoch. A resume starts
    after the last saved epoch: the history rows after it are dropped and their epochs run
    again, exactly as before (the data order and dropout are drawn from seeds, see below).

    ``checkpoints/last-N.keras`` holds the weights and the optimizer state (its iteration count
    drives the learning-rate schedule; Keras's BackupAndRestore keeps no optimizer state and no
    callback state). ``state.json`` holds the number of completed epochs, that epoch's history
    row, the state of early stopping and of the best checkpoint (best value, best epoch,
    patience count; early stopping's best weights are in ``early_stopping.weights.h5``) and the
    state of the model's random seed generators (dropout), which ``model.save`` leaves out. It
    is written last, with an atomic rename: it never points at a file that was not finished.
    The training data's order is not state: the pipeline draws each epoch's from the seed.
    """

    def __init__(
        self,
        directory: Path,
        *,
        early_stopping: keras.callbacks.EarlyStopping | None,
        checkpoint: keras.callbacks.ModelCheckpoint | None,
        restore: dict[str, Any] | None = None,
        every_seconds: float = 0.0,
    ) -> None:
        super().__init__()
        self.directory = Path(directory)
        self.early_stopping = early_stopping
        self.checkpoint = checkpoint
        self.restore = restore
        self.every_seconds = float(every_seconds)
        self._offset = float((restore or {}).get("wall_seconds", 0.0))
        self._started = self._saved_at = time.perf_counter()
        # The (0-based) epoch whose best weights early_stopping.weights.h5 holds.
        es = (restore or {}).get("early_stopping")
        self._early_stopping_saved = int(es["best_epoch"]) if es else -1

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        # Runs after EarlyStopping / ModelCheckpoint have reset themselves. The run is locked:
        # temporary files here are torn ones a killed process left.
        remove_temporaries(self.directory)
        state = self.restore
        if not state:
            return
        es = state.get("early_stopping")
        if self.early_stopping is not None and es:
            self.early_stopping.wait = es["wait"]
            self.early_stopping.best = _from_json_float(es["best"])
            self.early_stopping.best_epoch = es["best_epoch"]
            self.early_stopping.stopped_epoch = 0
            self.early_stopping.best_weights = self._early_stopping_weights()
        ck = state.get("checkpoint")
        if self.checkpoint is not None and ck:
            self.checkpoint.best = _from_json_float(ck["best"])
        seeds = state.get("seed_generators")
        if seeds is not None:
            for variable, value in zip(seed_generator_states(self.model), seeds, strict=True):
                variable.assign(np.asarray(value, dtype=variable.dtype))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if any(isinstance(v, float) and math.isnan(v) for v in logs.values()):
            return  # TerminateOnNaN stops the run; keep the last good state
        last = epoch + 1 >= (self.params or {}).get("epochs", 0) or self.model.stop_training
        if not last and time.perf_counter() - self._saved_at < self.every_seconds:
            return  # not yet: a resume starts after the last saved epoch
        self._save(epoch, logs)
        self._saved_at = time.perf_counter()

    def _save(self, epoch: int, logs: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"last-{epoch + 1}.keras"
        # Space for the new checkpoint beside the last good one, which stays until the new
        # one is complete (and for early stopping's weights): checked before writing.
        last = max((_file_size(p) for p in self.directory.glob("last-*.keras")), default=0)
        needed = last or state_bytes(self.model, optimizer=True)
        check_free_space(self.directory / name, needed)
        with atomic_path(self.directory / name) as tmp:
            self.model.save(tmp)
        es = self.early_stopping
        if (
            es is not None
            and es.restore_best_weights
            and es.best_weights is not None
            and es.best_epoch > self._early_stopping_saved
        ):
            with atomic_path(self.directory / EARLY_STOPPING_WEIGHTS) as tmp:
                self._save_early_stopping_weights(epoch, tmp)
            self._early_stopping_saved = int(es.best_epoch)
        state = {
            "epochs_completed": epoch + 1,
            "model_file": name,
            "wall_seconds": self._offset + time.perf_counter() - self._started,
            "last_row": {k: _to_json_float(v) for k, v in logs.items()},
            "early_stopping": None
            if es is None
            else {
                "wait": int(es.wait),
                "best": _to_json_float(es.best),
                "best_epoch": int(es.best_epoch),
            },
            "checkpoint": None
            if self.checkpoint is None
            else {"best": _to_json_float(self.checkpoint.best)},
            "seed_generators": [
                keras.ops.convert_to_numpy(v.value).tolist()
                for v in seed_generator_states(self.model)
            ],
        }
        write_json(self.directory / STATE_FILE, state)
        for old in self.directory.glob("last-*.keras"):
            if old.name != name:
                old.unlink(missing_ok=True)

    def _save_early_stopping_weights(self, epoch: int, path: Path) -> None:
        """Save the weights early stopping keeps (the model's own when it kept this epoch's;
        else an earlier epoch's, saved through the model and put back exactly)."""
        if self.early_stopping.best_epoch == epoch:
            save_weights(self.model, path)
            return
        current = self.model.get_weights()
        self.model.set_weights(self.early_stopping.best_weights)
        try:
            save_weights(self.model, path)
        finally:
            self.model.set_weights(current)

    def _early_stopping_weights(self) -> list[Any] | None:
        """Early stopping's best weights as saved, read through the model (which keeps its
        own)."""
        path = self.directory / EARLY_STOPPING_WEIGHTS
        if not (self.early_stopping.restore_best_weights and path.exists()):
            return None
        current = self.model.get_weights()
        load_weights(self.model, path)
        best = self.model.get_weights()
        self.model.set_weights(current)
        return best


def _file_size(path: Path) -> int:
    """``path``'s size in bytes, 0 when it does not exist."""
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0


def _to_json_float(value: Any) -> Any:
    if value is None:
        return None
    value = float(value)
    return str(value) if math.isinf(value) or math.isnan(value) else value


def _from_json_float(value: Any) -> Any:
    return float(value) if value is not None else None


def remove_resume_state(directory: Path) -> None:
    """Delete what only a resume needs (the rolling checkpoint with its optimizer state,
    ``state.json``, early stopping's and the best weights, which ``model.keras`` now holds):
    a finished run is extended with ``model.init_from``, not resumed. ``state.json`` goes
    first, so a kill halfway leaves no state pointing at a deleted checkpoint."""
    directory = Path(directory)
    (directory / STATE_FILE).unlink(missing_ok=True)
    remove_temporaries(directory)
    for path in [
        *directory.glob("last-*.keras"),
        directory / EARLY_STOPPING_WEIGHTS,
        directory / BEST_WEIGHTS,
    ]:
        path.unlink(missing_ok=True)


def read_state(directory: Path) -> dict[str, Any] | None:
    """The resume state :class:`ResumeState` wrote in ``directory``, or ``None``."""
    path = Path(directory) / STATE_FILE
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        state = err
    if not isinstance(state, dict):  # torn or edited by hand: the checkpoint cannot resume
        line = f" at line {state.lineno}" if isinstance(state, json.JSONDecodeError) else ""
        raise RunDirError(
            f"{path}: not valid resume state{line}, so this run cannot resume. Fix: copy the "
            "whole run directory again, or start a new run with nnzoo train CONFIG"
        )
    return state
