"""The trainer: config -> bind -> build -> fit -> a self-contained run directory.

Each step has its own module: :mod:`~nnzoo.run.bind` binds the data to the model,
:mod:`~nnzoo.training.compile` compiles it, :mod:`~nnzoo.training.callbacks` builds the
callbacks and :mod:`~nnzoo.run.directory` owns the files. This module runs them in order
(:func:`_fit`: prepare, open the run, build, fit, finish) for its three entries: :func:`train`
and :func:`resume` for a user, :func:`train_trial` for a tuning trial.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from nnzoo import _atomic
from nnzoo.cards import ModelCard, plain_value
from nnzoo.config import Config, dump_config
from nnzoo.data import Splits, adapt_preprocessing, is_listing, num_examples
from nnzoo.errors import ConfigError, NnzooError, RunDirError, Terminated
from nnzoo.memory import optimizer_slots
from nnzoo.models.resnet import onednn_abort_reason
from nnzoo.registry import build_unchecked, check_buildable, get_card
from nnzoo.run import directory as files
from nnzoo.run.bind import effective_task, fill_model_params, prepare, source_params
from nnzoo.run.split import check_data, read_split, record_split
from nnzoo.training.distribute import input_shard, is_chief
from nnzoo.training.history import best_epoch
from nnzoo.training.plots import write_curves
from nnzoo.training.trial import TrialModels, TrialOptions

if TYPE_CHECKING:
    from nnzoo.training.callbacks import BestWeightsInMemory


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
        (unless ``curves=False``: :func:`~nnzoo.training.plots.write_curves` draws it later
        from the run's files).

        Does nothing for a full run, or when called again.
        """
        if self._write_artifacts is not None:
            self._write_artifacts(curves)
            self._write_artifacts = None


def train(
    config: Config,
    *,
    runs_dir: str | Path = "runs",
    quiet: bool = False,
    callbacks: Iterable[Any] = (),
    run_dir: str | Path | None = None,
    on_run_dir: Callable[[Path], None] | None = None,
) -> RunResult:
    """Train ``config`` and write a run directory.

    Args:
        config: a validated :class:`~nnzoo.config.Config` (see :func:`nnzoo.load_config`).
        runs_dir: where ``<name>/<run-id>/`` is created. Defaults to ``runs``.
        quiet: no progress (see :mod:`nnzoo.training.progress`: a live bar on a terminal,
            one line per epoch otherwise). Defaults to ``False``.
        callbacks: extra Keras callbacks (e.g. a pruning callback). Defaults to ``()``.
        run_dir: write into this (new, empty) directory instead of a fresh run id. Defaults
            to ``None``.
        on_run_dir: called with the run directory as soon as it exists, before training
            (the CLI prints it, so an interrupted run can say what to resume). Defaults to
            ``None``.

    Returns:
        The run directory, its metrics and history, and the trained model (the best epoch's
        weights by ``train.monitor``).
    """
    if run_dir is not None:
        make_run_dir = functools.partial(_existing_dir, Path(run_dir))
    else:
        if not is_chief(config.distribute.strategy):
            # Other workers of a multi-worker run write to a scratch directory: the chief
            # (worker 0) owns the run directory.
            runs_dir = tempfile.mkdtemp(prefix="nnzoo-worker-")
        make_run_dir = functools.partial(files.new_run_dir, runs_dir, config.name)
    return _fit(
        config, make_run_dir, quiet=quiet, callbacks=tuple(callbacks), on_run_dir=on_run_dir
    )


def train_trial(config: Config, options: TrialOptions) -> RunResult:
    """Train a tuning trial's ``config``, quietly (the entry of :mod:`nnzoo.tuning`).

    Args:
        config: the trial's config (the study's, with the trial's values).
        options: its run directory, callbacks, and what trials share (see
            :class:`~nnzoo.training.trial.TrialOptions`).

    Returns:
        As :func:`train`; a ``lean`` trial's :meth:`RunResult.write_artifacts` writes what it
        skipped.
    """
    make_run_dir = functools.partial(_existing_dir, Path(options.run_dir))
    return _fit(config, make_run_dir, quiet=True, callbacks=options.callbacks, trial=options)


def resume(
    run_dir: str | Path,
    *,
    overrides: Iterable[str] = (),
    quiet: bool = False,
    callbacks: Iterable[Any] = (),
    on_run_dir: Callable[[Path], None] | None = None,
) -> RunResult:
    """Continue an interrupted run from its last completed epoch (``train --resume``).

    Only ``train.epochs`` and ``train.checkpoint_every_seconds`` may change, in the run's
    ``config.yaml`` before a resume or as ``overrides`` (see
    :data:`~nnzoo.run.directory.RESUMABLE_KEYS`); any other change is refused, naming the
    key. Overrides are written into the run's ``config.yaml``. More epochs do not stretch the
    learning-rate schedule: it keeps the length it was compiled with (a cosine schedule then
    stays at its final rate). The run trains on the split it recorded (``split.npz``), and
    data changed since is refused, saying what changed. A finished run is not resumed:
    extend it into a new run with ``model.init_from``.

    Args:
        run_dir: the interrupted run.
        overrides: ``--set``-style strings, e.g. ``("train.epochs=8",)``. Defaults to ``()``.
        quiet: as :func:`train`. Defaults to ``False``.
        callbacks: as :func:`train`. Defaults to ``()``.
        on_run_dir: as :func:`train`. Defaults to ``None``.
    """
    run_dir = files.check_run_dir(run_dir)
    overrides = tuple(overrides)
    if files.read_status(run_dir).get("state") == "finished":
        if overrides:
            raise RunDirError(
                f"{run_dir}: this run already finished, so {', '.join(overrides)} cannot "
                "apply to it. Fix: start a new run from it: nnzoo train "
                f"{run_dir}/{files.CONFIG_FILE} --set model.init_from={run_dir} "
                "--set train.epochs=N"
            )
        metrics = json.loads((run_dir / files.METRICS_FILE).read_text())
        return RunResult(run_dir, metrics, files.read_history(run_dir), already_finished=True)
    config = files.load_run_config(run_dir, overrides)
    files.check_fingerprint(run_dir, config)
    done = files.epochs_completed(run_dir)
    if config.train.epochs < done:
        raise ConfigError(
            f"the run already completed {done} epochs, more than the {config.train.epochs} "
            "asked for",
            key="train.epochs",
            fix=f"ask for {done} or more (--epochs {done})",
        )
    recorded = read_split(run_dir)  # None: a run from before splits were recorded
    if recorded is not None:
        check_data(
            run_dir,
            config,
            recorded,
            fix="restore it: a resume continues the run on the data it started with",
        )
    return _fit(
        config,
        functools.partial(_existing_dir, run_dir),
        quiet=quiet,
        callbacks=tuple(callbacks),
        on_run_dir=on_run_dir,
        resuming=True,
        rewrite_config=bool(overrides),
        split=None if recorded is None else recorded.indices,
    )


def _existing_dir(path: Path) -> Path:
    """``path``, created if it does not exist."""
    path.mkdir(parents=True, exist_ok=True)
    return path


def _fit(
    config: Config,
    make_run_dir: Callable[[], Path],
    *,
    quiet: bool,
    callbacks: tuple[Any, ...],
    on_run_dir: Callable[[Path], None] | None = None,
    resuming: bool = False,
    rewrite_config: bool = False,
    trial: TrialOptions | None = None,
    split: dict[str, np.ndarray] | None = None,
) -> RunResult:
    """Train ``config`` into the directory ``make_run_dir`` makes: prepare, open the run,
    build, fit, finish. ``split``: the indices a resumed run recorded; ``rewrite_config``: a
    resume changed its config (:data:`~nnzoo.run.directory.RESUMABLE_KEYS` only), which the
    run's ``config.yaml`` then records."""
    from nnzoo.training.callbacks import BestWeightsInMemory

    started = time.perf_counter()
    prepared = _prepare(config, trial, split)
    # The run directory is made once the data is loaded and checked against the model, so a
    # config or data mistake leaves no empty run behind.
    run_dir = Path(make_run_dir())
    with files.locked(run_dir), _status_on_failure(run_dir), _dtype_policy(config):
        if rewrite_config:
            _atomic.write_text(run_dir / files.CONFIG_FILE, dump_config(config))
        run = _open_run(prepared, run_dir, resuming=resuming)
        if on_run_dir is not None:  # its data_spec.json written: the CLI says what it assumes
            on_run_dir(run_dir)
        model, init_report = _build(run)
        keeper = BestWeightsInMemory(config) if run.lean else None
        rows = _fit_epochs(run, model, quiet=quiet, callbacks=callbacks, keeper=keeper)
        return _finish(run, model, rows, keeper=keeper, init_report=init_report, started=started)


# --------------------------------------------------------------------------- the steps of _fit


class _Pipelines(NamedTuple):
    """The input pipelines of a run's splits (see :func:`_datasets`)."""

    train: Any  # an endless stream of training batches
    validation: Any  # None without a validation split
    test: Any
    steps_per_epoch: int


@dataclass(frozen=True)
class _Prepared:
    """What :func:`_prepare` settles before anything is written."""

    config: Config
    card: ModelCard
    params: dict[str, Any]  # the model's, filled from the data
    task: str
    splits: Splits
    scope: Any  # the distribution strategy's scope
    replicas: int
    lean: bool  # a tuning trial's lean run (see TrialOptions)
    pool: TrialModels | None  # a lean trial's kept models, to take its model from


@dataclass(frozen=True)
class _Run(_Prepared):
    """A prepared run whose directory is open (:func:`_open_run`)."""

    run_dir: Path
    state: dict[str, Any] | None  # an interrupted run's resume state
    initial_epoch: int
    data: _Pipelines


def _prepare(
    config: Config, trial: TrialOptions | None, split: dict[str, np.ndarray] | None = None
) -> _Prepared:
    """The distribution strategy, the seed, the data bound to the model (the recorded
    ``split`` of a resumed run, else drawn), checked buildable."""
    import keras

    from nnzoo.training.distribute import strategy_scope

    # The strategy first: MultiWorkerMirroredStrategy must exist before other TF ops.
    scope, replicas = strategy_scope(config.distribute.strategy, file=config.source_file)
    models = None if trial is None else trial.models
    (keras.utils if models is None else models).set_random_seed(config.seed)
    _check_environment(config)
    if split is not None:
        card, params, splits = prepare(config, split=split)
    elif trial is None or trial.splits is None:
        card, params, splits = prepare(config)
    else:
        splits = trial.splits
        card, params = _resolve_with(config, splits)
    task = effective_task(card, params)
    slots = optimizer_slots(config.train.optimizer.name, momentum=config.train.optimizer.momentum)
    # Before the run directory exists: a model that cannot be built leaves nothing behind.
    check_buildable(card, params, file=config.source_file, optimizer_slots=slots)
    lean = trial is not None and trial.lean
    # Lean runs only: no resume checkpoint holds a kept model's optimizer.
    pool = models if lean else None
    return _Prepared(config, card, params, task, splits, scope, int(replicas), lean, pool)


def _open_run(prepared: _Prepared, run_dir: Path, *, resuming: bool) -> _Run:
    """In the locked run directory: a new run's inputs, the status ``running``, where training
    starts (from an interrupted run's resume state) and the pipelines from there."""
    from nnzoo.training.callbacks import read_state

    if not resuming:
        _write_inputs(run_dir, prepared)
    files.write_status(run_dir, "running")
    state = read_state(run_dir / files.CHECKPOINTS) if resuming else None
    initial_epoch = _start_history(run_dir, state, resuming)
    data = _datasets(prepared.config, prepared.splits, initial_epoch)
    return _Run(
        **vars(prepared), run_dir=run_dir, state=state, initial_epoch=initial_epoch, data=data
    )


def _build(run: _Run) -> tuple[Any, dict[str, Any] | None]:
    """``(the model to train, the init_from report or None)``: built, its feature scaling (and
    target scale) adapted and compiled (or restored from the resume state), its training state
    built.

    A lean trial may train a model its pool kept instead, loaded with the fresh one's starting
    state (:meth:`~nnzoo.training.trial.TrialModels.take`).
    """
    import keras

    from nnzoo.training.compile import build_training_state, check_monitor
    from nnzoo.training.distribute import patch_keras_for_multi_worker

    config = run.config
    with run.scope:
        model, metric_names, init_report = _build_or_restore(run)
    fresh = model
    if run.pool is not None:
        steps = run.data.steps_per_epoch * (config.train.epochs - run.initial_epoch)
        model = run.pool.take(fresh, run.splits, steps=steps)
    check_monitor(
        config,
        metric_names,
        has_validation=run.data.validation is not None,
        duplicates_dropped=run.splits.dropped.get("validation", 0),
    )
    if config.distribute.strategy == "multi_worker" and keras.backend.backend() == "tensorflow":
        patch_keras_for_multi_worker(model, run.data.train)
    if model is fresh:  # a kept model has its state
        build_training_state(model, run.data.train)  # outside a strategy's scope: it needs none
    return model, init_report


def _fit_epochs(
    run: _Run,
    model: Any,
    *,
    quiet: bool,
    callbacks: tuple[Any, ...],
    keeper: BestWeightsInMemory | None,
) -> list[dict[str, Any]]:
    """Train ``model`` from the run's initial epoch to ``train.epochs``; the history's rows.

    ``keeper``: a lean run's :class:`~nnzoo.training.callbacks.BestWeightsInMemory`, which
    replaces the checkpoints; ``None`` for a full run.
    """
    from nnzoo.data.pipeline import read_errors
    from nnzoo.training.callbacks import build_callbacks
    from nnzoo.training.distribute import released_gradient_registrations
    from nnzoo.training.precise_bn import precise_bn_callbacks
    from nnzoo.training.progress import progress_callback

    config = run.config
    if run.initial_epoch < config.train.epochs:
        progress = progress_callback(
            quiet=quiet,
            epochs=config.train.epochs,
            steps=run.data.steps_per_epoch,
            batch_size=config.data.batch_size,
            monitor=config.train.monitor.metric,
        )
        standard = build_callbacks(config, run.run_dir, run.state, checkpoints=keeper is None)
        if keeper is not None:
            standard.append(keeper)
        every = [
            # First: early stopping and the checkpoints keep the statistics it recomputes.
            *precise_bn_callbacks(config, model, run.splits.train[0], run.replicas),
            *standard,
            *callbacks,
            # Last: its epoch line sees the logs every other callback added.
            *([progress] if progress else []),
        ]
        # Keras/TF keep each traced train step alive otherwise (see the helper).
        with released_gradient_registrations(), read_errors(config.source_file):
            history = model.fit(
                run.data.train,
                validation_data=run.data.validation,
                epochs=config.train.epochs,
                initial_epoch=run.initial_epoch,
                steps_per_epoch=run.data.steps_per_epoch,  # the training set is an endless stream
                callbacks=every,
                shuffle=False,  # the pipeline shuffles, seeded
                verbose=0,
            )
        _check_finite(history.history.get("loss", []), run.initial_epoch, run.run_dir)
    return files.read_history(run.run_dir)


def _finish(
    run: _Run,
    model: Any,
    rows: list[dict[str, Any]],
    *,
    keeper: BestWeightsInMemory | None,
    init_report: dict[str, Any] | None,
    started: float,
) -> RunResult:
    """The best epoch's weights into ``model``, then the run's files: ``model.keras``, the test
    metrics, ``metrics.json``, ``curves.png``, the status ``finished``. A lean run writes
    ``metrics.json`` without test metrics and leaves the rest to
    :meth:`RunResult.write_artifacts`."""
    from nnzoo.training.callbacks import remove_resume_state

    if keeper is not None:
        keeper.restore(model)
    else:
        _keep_best_weights(model, run.config, run.run_dir)
        _save_model(model, run.run_dir)
    wall = time.perf_counter() - started + float((run.state or {}).get("wall_seconds", 0.0))
    test = {} if run.lean else _test_metrics(model, run.data.test, run.task, run.config)
    metrics = _final_metrics(model, run, test, rows, wall, init_report)
    _atomic.write_json(run.run_dir / files.METRICS_FILE, metrics)
    if run.lean:
        files.write_status(run.run_dir, "finished")
        later = _LeanArtifacts(run, model, metrics, rows)
        return RunResult(run.run_dir, metrics, rows, model, _write_artifacts=later)
    write_curves(run.run_dir, rows, metrics)
    _write_report(run, model, test)
    files.write_status(run.run_dir, "finished")
    # Finished: extended through model.init_from, never resumed, so what only a resume
    # needs goes (the optimizer state is most of a run's size), the fingerprint a resume
    # checks the config against with it (config.yaml says what the run was trained with).
    # The .lock stays: another process may hold or wait on that very file (flock).
    remove_resume_state(run.run_dir / files.CHECKPOINTS)
    _remove_fingerprint(run.run_dir)
    return RunResult(run.run_dir, metrics, rows, model)


def _remove_fingerprint(run_dir: Path) -> None:
    """Delete ``checkpoints/fingerprint.json`` and ``checkpoints/`` once it is empty."""
    (run_dir / files.FINGERPRINT_FILE).unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty (a file the user put there), or gone
        (run_dir / files.CHECKPOINTS).rmdir()


@dataclass
class _LeanArtifacts:
    """What a lean run skipped, written when :meth:`RunResult.write_artifacts` calls it."""

    run: _Run
    model: Any
    metrics: dict[str, Any]  # the RunResult's: the test metrics are added to it
    rows: list[dict[str, Any]]

    def __call__(self, curves: bool) -> None:
        run = self.run
        run_dir = run.run_dir
        with files.locked(run_dir), _dtype_policy(run.config):
            _save_model(self.model, run_dir)
            self.metrics["test"] = _test_metrics(self.model, run.data.test, run.task, run.config)
            _atomic.write_json(run_dir / files.METRICS_FILE, self.metrics)
            if curves:
                write_curves(run_dir, self.rows, self.metrics)
            _write_report(run, self.model, self.metrics["test"])


# --------------------------------------------------------------------------- what the steps use


@contextlib.contextmanager
def _status_on_failure(run_dir: Path) -> Iterator[None]:
    """Record why a run stopped: ``interrupted`` (Ctrl-C or SIGTERM, resumable) or
    ``failed``."""
    try:
        yield
    except KeyboardInterrupt as err:
        how = "SIGTERM" if isinstance(err, Terminated) else "Ctrl-C"
        # A full disk may not let us record it; the run's resume state is intact either way.
        with contextlib.suppress(OSError):
            files.write_status(run_dir, "interrupted", reason=f"interrupted ({how})")
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


def _check_environment(config: Config) -> None:
    """Packages a config asks for, and a model TensorFlow's oneDNN kernels would abort on,
    checked before anything is written."""
    import importlib.util
    import os

    import keras

    card = get_card(config.model.name)
    if (
        card.family == "resnet"
        and keras.backend.backend() == "tensorflow"
        and os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0"
    ):
        reason = onednn_abort_reason({**card.defaults, **config.model.params})
        if reason:  # `nnzoo train` turns oneDNN off before TensorFlow loads; this is too late
            file, line = config.origin("model.params.num_filters")
            raise ConfigError(
                reason,
                file=file,
                key="model.params.num_filters",
                line=line,
                fix="give the stem 16 filters or more, or set TF_ENABLE_ONEDNN_OPTS=0 before "
                "TensorFlow is imported (`nnzoo train` does so itself)",
            )

    if config.train.callbacks.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise ConfigError(
            "TensorBoard logging needs the tensorboard package",
            file=config.source_file,
            key="train.callbacks.tensorboard",
            fix="pip install 'nnzoo[tensorboard]', or set it to false",
        )


def _write_inputs(run_dir: Path, prepared: _Prepared) -> None:
    """The resolved config (every model and data parameter) and its fingerprint for resume, the
    split with the data's fingerprint, the data spec and data artifacts."""
    from nnzoo.run.losses import task_metrics

    config = prepared.config
    resolved = config.model_copy(deep=True)
    resolved.model.params = plain_value(prepared.params)
    resolved.data.params = source_params(config, prepared.card, prepared.task)
    resolved.train.metrics = task_metrics(config.train.metrics, prepared.task)
    _atomic.write_text(run_dir / files.CONFIG_FILE, dump_config(resolved))
    files.write_fingerprint(run_dir, resolved)
    record_split(run_dir, prepared.splits, resolved)
    _atomic.write_json(run_dir / files.SPEC_FILE, prepared.splits.spec.to_dict())
    for name, text in prepared.splits.artifacts.items():
        _atomic.write_text(run_dir / name, text)


def _datasets(config: Config, splits: Splits, initial_epoch: int) -> _Pipelines:
    """The pipelines of the splits; the training batches are one stream that starts where
    epoch ``initial_epoch`` starts, in the order the run's seed gives that epoch whatever ran
    before (so a resumed run is exact).
    """
    import keras

    from nnzoo.data.pipeline import make_dataset

    batch = config.data.batch_size
    steps = config.train.steps_per_epoch or math.ceil(num_examples(splits.train[0]) / batch)
    # The pipelines are a function of the splits and these settings alone, so trials of a
    # study (one Splits, one process) share them: building one traces its tf.data functions,
    # a fixed cost of every trial. Not with augmentation: its layers hold a seed
    # state that a pipeline advances as it is used. Nor listed files cached in memory: no
    # trial keeps another's decoded images (a disk cache serves every trial).
    key = (batch, config.seed, config.data.cache, config.data.shuffle, initial_epoch, steps)
    reusable = (
        not config.data.augment.active
        and keras.backend.backend() == "tensorflow"
        and not (is_listing(splits.train[0]) and config.data.cache is True)
    )
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
        shard=input_shard(config.distribute.strategy),
    )
    val_ds = None
    if splits.validation is not None and num_examples(splits.validation[0]) > 0:
        val_ds = make_dataset(
            *splits.validation, batch_size=batch, training=False, cache=config.data.cache
        )
    # Read once, at the end: nothing to keep.
    test_ds = make_dataset(*splits.test, batch_size=batch, training=False, cache=False)
    pipelines = _Pipelines(train_ds, val_ds, test_ds, steps)
    if reusable:
        splits.pipelines[key] = pipelines
    return pipelines


def _build_or_restore(run: _Run) -> tuple[Any, list[str], dict[str, Any] | None]:
    """``(compiled model, its metric names, the init_from report or None)``."""
    from nnzoo.run.saving import load_model
    from nnzoo.training.compile import compile_model, compiled_metric_names

    config = run.config
    if run.state is not None:
        # Weights, optimizer state and compile settings as at the end of the last epoch.
        model = load_model(run.run_dir / files.CHECKPOINTS / run.state["model_file"])
        return model, compiled_metric_names(model), None
    model = build_unchecked(run.card, run.params, file=config.source_file)  # checked: _prepare
    report = None
    if config.model.init_from:
        from nnzoo import pretrained
        from nnzoo.training.transfer import load_matching_weights

        if pretrained.is_preset(config.model.init_from):
            report = pretrained.load_weights(model, config.model.init_from, card=run.card)
        else:
            report = load_matching_weights(model, config.model.init_from)
    # Feature scaling and a regression target's scale from the training split (a restored
    # model has them), before compiling: the regression loss is on the target's std.
    adapt_preprocessing(model, run.splits)
    steps = run.data.steps_per_epoch
    return model, compile_model(model, config, run.card, run.task, steps), report


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


def _save_model(model: Any, run_dir: Path) -> None:
    """``model.keras``: the inference artifact (no optimizer state)."""
    from nnzoo.run.saving import save_inference_model

    with _atomic.atomic_path(run_dir / files.MODEL_FILE) as tmp:
        save_inference_model(model, tmp)


def _write_report(run: _Run, model: Any, test: dict[str, float]) -> None:
    """``report/`` (see :mod:`nnzoo.run.report`): one predict pass over the test split for a
    classifier or a regression, the perplexity alone for a language model. Only the chief of
    a multi-worker run writes it."""
    from nnzoo.data.pipeline import read_errors
    from nnzoo.run import report

    if not is_chief(run.config.distribute.strategy):
        return
    labels = outputs = None
    if run.task in report.PREDICTED_TASKS:
        if run.replicas > 1:
            # predict_on_batch under a multi-replica strategy gathers across replicas (and
            # workers): outputs do not line up with a batch's labels. `nnzoo evaluate RUN
            # --report DIR` writes the report from the saved model, on one device.
            logging.getLogger(__name__).info("report: none under %s replicas", run.replicas)
            return
        with read_errors(run.config.source_file):
            labels, outputs = report.predict_batches(model, run.data.test)
    summary = report.summarise(
        run.task, labels, outputs, class_names=run.splits.spec.class_names, test=test
    )
    report.write_report(
        run.run_dir / report.REPORT_DIR,
        summary,
        labels=labels,
        outputs=outputs,
        title=f"{run.run_dir.parent.name} / {run.run_dir.name}",
        run_dir=run.run_dir,
        about=report.about_run(run.card, run.splits.spec),
    )


def _test_metrics(model: Any, test_ds: Any, task: str, config: Config) -> dict[str, float]:
    """The kept model's metrics on the test split."""
    from nnzoo.data.pipeline import read_errors
    from nnzoo.run.losses import with_perplexity

    with read_errors(config.source_file):
        test = model.evaluate(test_ds, return_dict=True, verbose=0)
    return with_perplexity({k: float(v) for k, v in test.items()}, task)


def _final_metrics(
    model: Any,
    run: _Run,
    test: dict[str, float],
    rows: list[dict[str, Any]],
    wall: float,
    init_report: dict[str, Any] | None,
) -> dict[str, Any]:
    """``metrics.json``: test metrics of the kept model, its epoch, counts and timing, and
    what ``model.init_from`` loaded."""
    import keras

    monitor = run.config.train.monitor
    epoch = best_epoch(rows, monitor.metric, monitor.resolved_mode)
    metrics = {
        "test": test,
        "best": {**(rows[epoch - 1] if epoch else {}), "epoch": epoch},
        "monitor": {"metric": monitor.metric, "mode": monitor.resolved_mode},
        "params": int(model.count_params()),
        "trainable_params": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "epochs": len(rows),
        "stopped_early": bool(len(rows) < run.config.train.epochs),
        "wall_seconds": round(wall, 3),
        "backend": keras.backend.backend(),
        "replicas": run.replicas,
    }
    if init_report is not None:
        tensors = "tensors" in init_report
        metrics["init_from"] = (
            init_report if tensors else {k: len(v) for k, v in init_report.items()}
        )
    return metrics


def _one_line(err: BaseException) -> str:
    if isinstance(err, NnzooError):
        text = err.one_line()
    elif isinstance(err, OSError) and err.filename and err.strerror:
        text = f"{err.filename}: {err.strerror}"  # a full disk: the file it could not write
    else:
        text = f"{type(err).__name__}: {err}"
    return " ".join(text.split())[:500]
