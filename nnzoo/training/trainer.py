"""The trainer: config -> resolve -> build -> fit -> a self-contained run directory.

Each step has its own module: :mod:`~nnzoo.run.bind` binds the data to the model,
:mod:`~nnzoo.training.compile` compiles it, :mod:`~nnzoo.training.callbacks` builds the
callbacks and :mod:`~nnzoo.run.directory` owns the files. This module runs them in order.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnzoo.cards import ModelCard, plain_value
from nnzoo.config import Config, dump_config
from nnzoo.data import Splits, adapt_preprocessing, num_examples
from nnzoo.errors import ConfigError, NnzooError
from nnzoo.memory import optimizer_slots
from nnzoo.registry import build_unchecked, check_buildable, get_card
from nnzoo.run import directory as files
from nnzoo.run.bind import effective_task, fill_model_params, prepare, source_params
from nnzoo.training.distribute import is_chief
from nnzoo.training.history import best_epoch
from nnzoo.training.warm import ModelPool


class TrainingDivergedError(NnzooError):
    """The loss became NaN or infinite."""


@dataclass
class RunResult:
    """What :func:`train` returns."""

    run_dir: Path
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    model: Any = field(repr=False, default=None)
    already_finished: bool = False
    _write_artifacts: Callable[[bool], None] | None = field(repr=False, default=None)

    @property
    def lean(self) -> bool:
        """Whether this is a ``lean`` run whose artifacts are not written (yet)."""
        return self._write_artifacts is not None

    def write_artifacts(self, *, curves: bool = True) -> None:
        """Write what a ``lean`` run skipped: ``model.keras`` (the best epoch's weights), the
        test split's metrics (into ``metrics.json`` and :attr:`metrics`) and ``curves.png``
        (unless ``curves=False``: :func:`write_curves` draws it later from the run's files).

        Does nothing for a full run, or when called again.
        """
        if self._write_artifacts is not None:
            self._write_artifacts(curves)
            self._write_artifacts = None


def write_curves(run_dir: str | Path) -> Path:
    """Draw a finished run's ``curves.png`` from its ``history.csv`` and ``metrics.json``."""
    from nnzoo.training.plots import plot_history

    run_dir = Path(run_dir)
    metrics = json.loads((run_dir / files.METRICS_FILE).read_text())
    rows = files.read_history(run_dir)
    path = run_dir / "curves.png"
    with files.atomic_path(path) as tmp:
        best, monitor = metrics["best"]["epoch"], metrics["monitor"]["metric"]
        plot_history(rows, tmp, best=best, monitor=monitor)
    return path


def train(
    config: Config,
    *,
    runs_dir: str | Path = "runs",
    quiet: bool = False,
    callbacks: Iterable[Any] = (),
    run_dir: str | Path | None = None,
    on_run_dir: Callable[[Path], None] | None = None,
    lean: bool = False,
    splits: Splits | None = None,
    models: ModelPool | None = None,
) -> RunResult:
    """Train ``config`` and write a run directory.

    Args:
        config: a validated :class:`~nnzoo.config.Config` (see :func:`nnzoo.load_config`).
        runs_dir: where ``<name>/<run-id>/`` is created. Defaults to ``runs``.
        quiet: no progress (see :mod:`nnzoo.training.progress`: a live bar on a terminal,
            one line per epoch otherwise).
        callbacks: extra Keras callbacks (e.g. a pruning callback).
        run_dir: write into this (new, empty) directory instead of a fresh run id.
        on_run_dir: called with the run directory as soon as it exists, before training
            (the CLI prints it, so an interrupted run can say what to resume).
        lean: a tuning trial's run: its config, data spec, ``history.csv``, ``status.json``
            and ``metrics.json`` (without test metrics) only. No resume checkpoints (the
            run cannot be resumed), no ``model.keras``, no test evaluation, no
            ``curves.png``; the best epoch's weights (by ``train.monitor``) are kept in
            memory and loaded into the returned model, and
            :meth:`RunResult.write_artifacts` writes what was skipped. Defaults to
            ``False``.
        splits: the data this config loads, already loaded (the :class:`~nnzoo.data.Splits`
            that :func:`~nnzoo.run.bind.prepare` returned for a config with the same
            ``seed``, ``model.name`` and ``data`` but for ``data.batch_size``, ``shuffle``,
            ``cache`` and ``augment``), reused instead of loading it again. Not for a model
            started from a KerasHub preset. Defaults to ``None``: load it.
        models: a :class:`~nnzoo.training.warm.ModelPool` (with ``splits``): train a model
            it kept from an earlier run of the same structure and data, loaded with this
            run's starting state, instead of tracing a new one's steps (tuning trials).
            The returned model may then be the pool's, which a later run of the pool loads
            with its own weights. For a ``lean`` run only, ignored otherwise: a kept
            model's optimizer reads its schedule from variables, which no resume checkpoint
            could restore. Defaults to ``None``: the run's own model.
    """
    if run_dir is None:
        if not is_chief(config.distribute.strategy):
            # Other workers of a multi-worker run write to a scratch directory: the chief
            # (worker 0) owns the run directory.
            import tempfile

            runs_dir = tempfile.mkdtemp(prefix="nnzoo-worker-")

        def make_run_dir() -> Path:
            return files.new_run_dir(runs_dir, config.name)
    else:

        def make_run_dir() -> Path:
            Path(run_dir).mkdir(parents=True, exist_ok=True)
            return Path(run_dir)

    # The run directory is created once the data is loaded and checked against the model, so a
    # config or data mistake leaves no empty run behind.
    return _fit(
        config,
        make_run_dir,
        quiet=quiet,
        extra_callbacks=list(callbacks),
        on_run_dir=on_run_dir,
        lean=lean,
        splits=splits,
        models=models,
    )


def resume(
    run_dir: str | Path,
    *,
    quiet: bool = False,
    callbacks: Iterable[Any] = (),
    on_run_dir: Callable[[Path], None] | None = None,
) -> RunResult:
    """Continue an interrupted run from its last completed epoch (``train --resume``).

    Only ``train.epochs`` may change in the run's ``config.yaml`` before a resume (see
    :data:`~nnzoo.run.directory.RESUMABLE_KEYS`); any other change is refused, naming the
    key. A finished run is not resumed: extend it into a new run with ``model.init_from``.
    """
    run_dir = files.check_run_dir(run_dir)
    if files.read_status(run_dir).get("state") == "finished":
        metrics = json.loads((run_dir / files.METRICS_FILE).read_text())
        return RunResult(run_dir, metrics, files.read_history(run_dir), already_finished=True)
    config = files.load_run_config(run_dir)
    files.check_fingerprint(run_dir, config)
    return _fit(
        config,
        lambda: run_dir,
        quiet=quiet,
        extra_callbacks=list(callbacks),
        resuming=True,
        on_run_dir=on_run_dir,
    )


def _fit(
    config: Config,
    make_run_dir: Callable[[], Path],
    *,
    quiet: bool,
    extra_callbacks: list[Any],
    resuming: bool = False,
    on_run_dir: Callable[[Path], None] | None = None,
    lean: bool = False,
    splits: Splits | None = None,
    models: ModelPool | None = None,
) -> RunResult:
    import keras

    from nnzoo.run.saving import save_inference_model
    from nnzoo.training.callbacks import build_callbacks, read_state, remove_resume_state
    from nnzoo.training.compile import build_training_state, check_monitor
    from nnzoo.training.distribute import (
        patch_keras_for_multi_worker,
        released_gradient_registrations,
        strategy_scope,
    )
    from nnzoo.training.plots import plot_history
    from nnzoo.training.precise_bn import precise_bn_callbacks
    from nnzoo.training.progress import progress_callback

    started = time.perf_counter()
    # The strategy first: MultiWorkerMirroredStrategy must exist before other TF ops.
    scope, replicas = strategy_scope(config.distribute.strategy, file=config.source_file)
    (keras.utils if models is None else models).set_random_seed(config.seed)
    _check_environment(config)
    if splits is None:
        card, params, splits = prepare(config)
    else:
        card, params = _resolve_with(config, splits)
    task = effective_task(card, params)
    slots = optimizer_slots(config.train.optimizer.name, momentum=config.train.optimizer.momentum)
    # Before the run directory exists: a model that cannot be built leaves nothing behind.
    check_buildable(card, params, file=config.source_file, optimizer_slots=slots)
    run_dir = Path(make_run_dir())
    with files.locked(run_dir), _status_on_failure(run_dir), _dtype_policy(config):
        if on_run_dir is not None:
            on_run_dir(run_dir)
        if not resuming:
            _write_inputs(run_dir, config, card, task, params, splits)
        files.write_status(run_dir, "running")
        state = read_state(run_dir / files.CHECKPOINTS) if resuming else None
        initial_epoch = _start_history(run_dir, state, resuming)
        train_ds, val_ds, test_ds, steps_per_epoch = _datasets(config, splits, initial_epoch)
        with scope:
            model, metric_names, init_report = _build_or_restore(
                config, card, params, task, run_dir, state, steps_per_epoch
            )
        if state is None:  # feature scaling from the training split (a restored model has it)
            adapt_preprocessing(model, splits)
        fresh = model
        if models is not None and lean:  # no resume checkpoint holds a kept model's optimizer
            steps = steps_per_epoch * (config.train.epochs - initial_epoch)
            model = models.take(fresh, splits, steps=steps)
        check_monitor(config, metric_names, has_validation=val_ds is not None)
        if (
            config.distribute.strategy == "multi_worker"
            and keras.backend.backend() == "tensorflow"
        ):
            patch_keras_for_multi_worker(model, train_ds)
        if model is fresh:  # a kept model has its state
            build_training_state(model, train_ds)  # outside a strategy's scope: it needs none

        keeper = _best_weights_keeper(config) if lean else None
        if initial_epoch < config.train.epochs:
            progress = progress_callback(
                quiet=quiet,
                epochs=config.train.epochs,
                steps=steps_per_epoch,
                batch_size=config.data.batch_size,
                monitor=config.train.monitor.metric,
            )
            standard = build_callbacks(config, run_dir, state, checkpoints=keeper is None)
            if keeper is not None:
                standard.append(keeper)
            callbacks = [
                # First: early stopping and the checkpoints keep the statistics it recomputes.
                *precise_bn_callbacks(config, model, splits.train[0], int(replicas)),
                *standard,
                *extra_callbacks,
            ]
            # Keras/TF keep each traced train step alive otherwise (see the helper).
            with released_gradient_registrations():
                history = model.fit(
                    train_ds,
                    validation_data=val_ds,
                    epochs=config.train.epochs,
                    initial_epoch=initial_epoch,
                    steps_per_epoch=steps_per_epoch,  # the training set is an endless stream
                    # Progress last: its epoch line sees the logs every other callback added.
                    callbacks=[*callbacks, *([progress] if progress else [])],
                    shuffle=False,  # the pipeline shuffles, seeded
                    verbose=0,
                )
            _check_finite(history.history.get("loss", []), initial_epoch, run_dir)
        rows = files.read_history(run_dir)

        if keeper is not None:
            keeper.restore(model)
        else:
            _keep_best_weights(model, config, run_dir)
            with files.atomic_path(run_dir / files.MODEL_FILE) as tmp:
                save_inference_model(model, tmp)  # the inference artifact: no optimizer state
        wall = time.perf_counter() - started + float((state or {}).get("wall_seconds", 0.0))
        test = {} if lean else _test_metrics(model, test_ds, task)
        metrics = _final_metrics(model, config, test, rows, wall, int(replicas))
        monitor = config.train.monitor
        if init_report is not None:
            metrics["init_from"] = (
                init_report
                if "tensors" in init_report
                else {k: len(v) for k, v in init_report.items()}
            )
        files.write_json_atomic(run_dir / files.METRICS_FILE, metrics)

        def draw_curves() -> None:
            with files.atomic_path(run_dir / "curves.png") as tmp:
                plot_history(rows, tmp, best=metrics["best"]["epoch"], monitor=monitor.metric)

        if lean:
            files.write_status(run_dir, "finished")

            def write_artifacts(curves: bool) -> None:
                with files.locked(run_dir), _dtype_policy(config):
                    with files.atomic_path(run_dir / files.MODEL_FILE) as tmp:
                        save_inference_model(model, tmp)
                    metrics["test"] = _test_metrics(model, test_ds, task)
                    files.write_json_atomic(run_dir / files.METRICS_FILE, metrics)
                    if curves:
                        draw_curves()

            return RunResult(run_dir, metrics, rows, model, _write_artifacts=write_artifacts)
        draw_curves()
        files.write_status(run_dir, "finished")
        # Finished: extended through model.init_from, never resumed, so what only a resume
        # needs goes (the optimizer state is most of a run's size).
        remove_resume_state(run_dir / files.CHECKPOINTS)
        return RunResult(run_dir, metrics, rows, model)


# --------------------------------------------------------------------------- the steps of _fit


@contextlib.contextmanager
def _status_on_failure(run_dir: Path) -> Iterator[None]:
    """Record why a run stopped: ``interrupted`` (Ctrl-C, resumable) or ``failed``."""
    try:
        yield
    except KeyboardInterrupt:
        files.write_status(run_dir, "interrupted", reason="interrupted (Ctrl-C)")
        raise
    except BaseException as err:
        # Keep a diverged loss's own reason; a full disk may not let us record anything.
        with contextlib.suppress(OSError, ValueError):
            if files.read_status(run_dir).get("state") != "failed":
                files.write_status(run_dir, "failed", reason=_one_line(err))
        raise


@contextlib.contextmanager
def _dtype_policy(config: Config) -> Iterator[None]:
    """Keras's process-wide dtype policy as the config asks, restored afterwards."""
    import keras

    before = keras.mixed_precision.global_policy()
    precision = config.train.mixed_precision
    keras.mixed_precision.set_global_policy("float32" if precision == "none" else precision)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)


def _resolve_with(config: Config, splits: Splits) -> tuple[ModelCard, dict[str, Any]]:
    """What :func:`prepare` returns besides the splits, for splits already loaded."""
    card = get_card(config.model.name, file=config.source_file)
    params = fill_model_params(
        card,
        config.model.params,
        splits.spec,
        source=config.data.source,
        file=config.source_file,
    )
    return card, params


def _best_weights_keeper(config: Config) -> Any:
    """A callback keeping a copy of the weights of the best epoch by ``train.monitor`` (as
    the best checkpoint would, in memory); ``restore(model)`` loads them."""
    import keras

    monitor = config.train.monitor
    better = np.greater if monitor.resolved_mode == "max" else np.less

    class BestWeights(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.best: float | None = None
            self.weights: list[Any] | None = None

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            value = (logs or {}).get(monitor.metric)
            if value is None or not math.isfinite(float(value)):
                return
            if self.best is None or better(float(value), self.best):
                self.best = float(value)
                self.weights = self.model.get_weights()

        def restore(self, model: Any) -> None:
            if self.weights is not None and config.train.callbacks.checkpoint:
                model.set_weights(self.weights)

    return BestWeights()


def _check_environment(config: Config) -> None:
    """Packages a config asks for, checked before anything is written."""
    import importlib.util

    if config.train.callbacks.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise ConfigError(
            "TensorBoard logging needs the tensorboard package",
            file=config.source_file,
            key="train.callbacks.tensorboard",
            fix="pip install 'nnzoo[tensorboard]', or set it to false",
        )


def _write_inputs(
    run_dir: Path,
    config: Config,
    card: ModelCard,
    task: str,
    params: dict[str, Any],
    splits: Splits,
) -> None:
    """The resolved config (every model and data parameter) and its fingerprint for resume, the
    data spec and data artifacts."""
    resolved = config.model_copy(deep=True)
    resolved.model.params = plain_value(params)
    resolved.data.params = source_params(config, card, task)
    files.write_text_atomic(run_dir / files.CONFIG_FILE, dump_config(resolved))
    files.write_fingerprint(run_dir, resolved)
    files.write_json_atomic(run_dir / files.SPEC_FILE, splits.spec.to_dict())
    for name, text in splits.artifacts.items():
        files.write_text_atomic(run_dir / name, text)


def _datasets(config: Config, splits: Splits, initial_epoch: int) -> tuple[Any, Any, Any, int]:
    """``(train, validation or None, test, steps per epoch)`` pipelines of the splits.

    The training batches are one stream that starts where epoch ``initial_epoch`` starts, in the
    order the run's seed gives that epoch whatever ran before (so a resumed run is exact).
    """
    import keras

    from nnzoo.data.pipeline import make_dataset

    batch = config.data.batch_size
    steps = config.train.steps_per_epoch or math.ceil(num_examples(splits.train[0]) / batch)
    # The pipelines are a function of the splits and these settings alone, so trials of a
    # study (one Splits, one process) share them: building one traces its tf.data functions
    # (0.07 s a trial on the quick-start MLP). Not with augmentation: its layers hold a seed
    # state that a pipeline advances as it is used.
    key = (batch, config.seed, config.data.cache, config.data.shuffle, initial_epoch, steps)
    reusable = not config.data.augment.active and keras.backend.backend() == "tensorflow"
    if reusable and key in splits.pipelines:
        return splits.pipelines[key]
    train_ds = make_dataset(
        *splits.train,
        batch_size=batch,
        training=True,
        seed=config.seed,
        cache=config.data.cache,
        augment=config.data.augment,
        shuffle=config.data.shuffle,
        start_step=initial_epoch * steps,
    )
    val_ds = None
    if splits.validation is not None and num_examples(splits.validation[0]) > 0:
        val_ds = make_dataset(*splits.validation, batch_size=batch, training=False)
    test_ds = make_dataset(*splits.test, batch_size=batch, training=False)
    if reusable:
        splits.pipelines[key] = (train_ds, val_ds, test_ds, steps)
    return train_ds, val_ds, test_ds, steps


def _build_or_restore(
    config: Config,
    card: ModelCard,
    params: dict[str, Any],
    task: str,
    run_dir: Path,
    state: dict[str, Any] | None,
    steps_per_epoch: int,
) -> tuple[Any, list[str], dict[str, Any] | None]:
    """``(compiled model, its metric names, the init_from report or None)``."""
    from nnzoo.run.saving import load_model
    from nnzoo.training.compile import compile_model, compiled_metric_names

    if state is not None:
        # Weights, optimizer state and compile settings as at the end of the last epoch.
        model = load_model(run_dir / files.CHECKPOINTS / state["model_file"])
        return model, compiled_metric_names(model), None
    model = build_unchecked(card, params, file=config.source_file)  # _fit checked them
    report = None
    if config.model.init_from:
        from nnzoo import pretrained
        from nnzoo.training.transfer import load_matching_weights

        if pretrained.is_preset(config.model.init_from):
            report = pretrained.load_weights(model, config.model.init_from, card=card)
        else:
            report = load_matching_weights(model, config.model.init_from)
    return model, compile_model(model, config, card, task, steps_per_epoch), report


def _start_history(run_dir: Path, state: dict[str, Any] | None, resuming: bool) -> int:
    """The epoch training starts from; ``history.csv`` keeps exactly the epochs before it."""
    if state is not None:
        epoch = int(state["epochs_completed"])
        files.truncate_history(run_dir, epoch, state.get("last_row"))
        return epoch
    if resuming:  # killed before its first epoch ended: start over
        (run_dir / files.HISTORY_FILE).unlink(missing_ok=True)
    return 0


def _check_finite(losses: list[float], initial_epoch: int, run_dir: Path) -> None:
    if losses and not np.isfinite(losses[-1]):
        epoch = initial_epoch + len(losses)
        files.write_status(run_dir, "failed", reason=f"loss became NaN at epoch {epoch}")
        raise TrainingDivergedError(
            f"{run_dir}: the loss became NaN at epoch {epoch}; training stopped and the last "
            f"good state is in {run_dir / files.CHECKPOINTS}. Fix: lower "
            "train.optimizer.learning_rate or set train.optimizer.clipnorm"
        )


def _keep_best_weights(model: Any, config: Config, run_dir: Path) -> None:
    """Load the best checkpoint's weights (by ``train.monitor``) into ``model``."""
    from nnzoo.run.saving import load_weights
    from nnzoo.training.callbacks import BEST_WEIGHTS

    best = run_dir / files.CHECKPOINTS / BEST_WEIGHTS
    if config.train.callbacks.checkpoint and best.exists():
        load_weights(model, best)


def _test_metrics(model: Any, test_ds: Any, task: str) -> dict[str, float]:
    """The kept model's metrics on the test split."""
    from nnzoo.run.losses import with_perplexity

    test = model.evaluate(test_ds, return_dict=True, verbose=0)
    return with_perplexity({k: float(v) for k, v in test.items()}, task)


def _final_metrics(
    model: Any,
    config: Config,
    test: dict[str, float],
    rows: list[dict[str, Any]],
    wall: float,
    replicas: int,
) -> dict[str, Any]:
    """``metrics.json``: test metrics of the kept model, its epoch, counts and timing."""
    import keras

    monitor = config.train.monitor
    epoch = best_epoch(rows, monitor.metric, monitor.resolved_mode)
    return {
        "test": test,
        "best": {**(rows[epoch - 1] if epoch else {}), "epoch": epoch},
        "monitor": {"metric": monitor.metric, "mode": monitor.resolved_mode},
        "params": int(model.count_params()),
        "trainable_params": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "epochs": len(rows),
        "stopped_early": bool(len(rows) < config.train.epochs),
        "wall_seconds": round(wall, 3),
        "backend": keras.backend.backend(),
        "replicas": replicas,
    }


def _one_line(err: BaseException) -> str:
    text = err.one_line() if isinstance(err, NnzooError) else f"{type(err).__name__}: {err}"
    return " ".join(text.split())[:500]
