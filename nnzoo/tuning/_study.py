"""The study and its trials: open or create it, the objective, the trial loop.

What one process (the ``tune()`` caller or a worker) runs; ``_tune`` and ``_workers`` use it.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import logging
import math
import shutil
import time
import warnings
from datetime import datetime
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from nnzoo import pretrained
from nnzoo.config import Config
from nnzoo.data import Splits
from nnzoo.errors import ConfigError, NnzooError
from nnzoo.run.bind import prepare
from nnzoo.training.history import best_value
from nnzoo.training.trainer import TrainingDivergedError, train_trial
from nnzoo.training.trial import TrialOptions
from nnzoo.tuning import _space, _storage
from nnzoo.tuning._pool import ModelPool
from nnzoo.tuning._pruning import PruningCallback, make_pruner
from nnzoo.tuning._report import TrialReporter
from nnzoo.tuning._settings import (
    ATTR_ARTIFACTS,
    ATTR_BASELINE,
    ATTR_EPOCHS,
    ATTR_FAIL_REASON,
    ATTR_RUN_DIR,
    ATTR_SURPLUS,
    STUDY_ATTR_CONFIG,
    STUDY_ATTR_METRIC,
    STUDY_ATTR_SPACE,
    Settings,
)

log = logging.getLogger(__name__)

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
POLL_SECONDS = 1.0
#: Loaded data kept per process: a space with data.* keys that change the splits (e.g.
#: data.params.sequence_length) loads each of its values' data again after this many others.
DATA_CACHE_SIZE = 2


def storage_spec(settings: Settings) -> _storage.StorageSpec:
    return _storage.resolve(
        settings.storage, tune_dir=Path(settings.tune_dir), workers=settings.workers
    )


def make_sampler(config: Config, *, seed: int) -> optuna.samplers.BaseSampler:
    name = config.tune.sampler
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        grid = _space.grid(config.tune.space, file=config.source_file)
        return optuna.samplers.GridSampler(grid, seed=seed)
    if name == "cmaes":
        if importlib.util.find_spec("cmaes") is None:
            raise ConfigError(
                "the cmaes sampler needs the 'cmaes' package",
                file=config.source_file,
                key="tune.sampler",
                fix="pip install cmaes, or use tpe",
            )
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    return optuna.samplers.TPESampler(seed=seed)


def grid_size(config: Config) -> int | None:
    if config.tune.sampler != "grid":
        return None
    return math.prod(len(v) for v in _space.grid(config.tune.space).values())


def open_study(
    config: Config, settings: Settings, *, worker: int = 0, create: bool = False
) -> tuple[optuna.Study, bool]:
    """Load (or with ``create``, create) the study; returns it and whether it is new.

    A new study gets the config's own values as its first (enqueued) trial.
    """
    spec = storage_spec(settings)
    storage = _storage.open_storage(spec, heartbeat=settings.heartbeat)
    pruner = make_pruner(config.tune.pruner, epochs=config.train.epochs)
    new = False
    sampler_args = {"storage": storage, "study_name": settings.study, "pruner": pruner}
    if create:
        try:
            study = optuna.create_study(
                direction=settings.direction,
                sampler=make_sampler(config, seed=config.seed),
                **sampler_args,
            )
            new = True
        except optuna.exceptions.DuplicatedStudyError:
            pass
    if not new:
        try:
            study = optuna.load_study(
                sampler=make_sampler(config, seed=config.seed), **sampler_args
            )
        except KeyError:
            raise NnzooError(
                f"no study '{settings.study}' in {spec.display}. Fix: check --study"
            ) from None
        stored = study.direction.name.lower()
        if stored != settings.direction:
            raise ConfigError(
                f"the study '{settings.study}' in {spec.display} was created to {stored} "
                f"its metric; received {settings.direction}",
                file=config.source_file,
                key="tune.direction",
                fix="use the same direction, or start another study with --study NAME",
            )
        _check_space(study, config, settings, spec)
    # Reseed per worker and per resumption, so no two workers (and no rerun) draw alike.
    seed = config.seed + 1000 * worker + len(study.get_trials(deepcopy=False))
    study.sampler = make_sampler(config, seed=seed)
    if new:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([settings.metric])
        study.set_user_attr(STUDY_ATTR_CONFIG, config.name)
        study.set_user_attr(STUDY_ATTR_METRIC, settings.metric)
        study.set_user_attr(STUDY_ATTR_SPACE, _space.as_written(config.tune.space))
        values = _space.baseline(config)
        if values:
            study.enqueue_trial(values, user_attrs={ATTR_BASELINE: True})
    return study, new


def _check_space(
    study: optuna.Study, config: Config, settings: Settings, spec: _storage.StorageSpec
) -> None:
    """Refuse to go on with a study whose ``tune.space`` changed: its sampler would mix the
    trials of two spaces. (A study created before nnzoo stored its space is not checked.)"""
    stored = study.user_attrs.get(STUDY_ATTR_SPACE)
    if stored is None:
        return
    changed = _space.changed_keys(stored, _space.as_written(config.tune.space))
    if changed:
        raise ConfigError(
            f"the study '{settings.study}' in {spec.display} was created with another search "
            f"space; changed: {', '.join(changed)}",
            file=config.source_file,
            key="tune.space",
            fix=f"start a new study with --study NEW_NAME (e.g. --study {settings.study}_2), "
            "or restore the space the study was created with",
        )


# --------------------------------------------------------------------------- the objective


def _trial_dir(settings: Settings, number: int) -> Path:
    base = settings.path / "trials"
    path = base / f"{number:04d}"
    i = 1
    while path.exists():
        path = base / f"{number:04d}-{i}"
        i += 1
    return path


def data_key(config: Config) -> str | None:
    """What the loaded and split data of ``config`` depends on, as a string: two configs with
    the same key load the same splits. ``None`` for a model started from a KerasHub preset
    (whose tokenizer reads the data): not cached."""
    if pretrained.is_preset(config.model.init_from):
        return None
    # batch_size, shuffle, cache and augment act on the batches, not on the splits.
    batches = {"batch_size", "shuffle", "cache", "augment"}
    data = config.data.model_dump(mode="json", exclude=batches)
    depends = {
        "data": data,
        "seed": config.seed,
        "model": config.model.name,
        "task": config.model.params.get("task"),
        "init_from": config.model.init_from,
    }
    return json.dumps(depends, sort_keys=True, default=str)


def leads(
    trial: FrozenTrial | optuna.Trial, value: float, others: list[FrozenTrial], *, direction: str
) -> bool:
    """Whether ``trial`` with ``value`` is the best of itself and the complete ``others``: no
    other has a better value, nor the same value and a smaller number. The study's best trial
    (:func:`best_trial`) is the one that led when it finished."""
    for other in others:
        if other.number == trial.number or other.value is None:
            continue
        if other.value == value:
            if other.number < trial.number:
                return False
        elif (other.value > value) == (direction == "maximize"):
            return False
    return True


def best_trial(study: optuna.Study, direction: str) -> FrozenTrial | None:
    """The complete trial with the best value, the first by number among equals (on ties,
    storages differ in which one ``study.best_trial`` gives)."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    for trial in sorted(complete, key=lambda t: t.number):
        if trial.value is not None and leads(trial, trial.value, complete, direction=direction):
            return trial
    return None


class Objective:
    """Train one trial's config through the trainer; its value is the best epoch's metric.

    The data is loaded once per process (per :func:`data_key`) and the Keras session cleared
    before each trial. On TensorFlow a trial whose model has the structure, compile settings
    and data of a recent one trains that model, loaded with its own starting state, rather
    than tracing new steps (:class:`~nnzoo.tuning._pool.ModelPool`). A trial trains
    ``lean`` (no checkpoints, model file, test evaluation or plot): only a trial that leads
    the study when it finishes writes them, unless ``settings.keep_artifacts``.

    ``fatal`` holds a user mistake (bad config, missing metric) that must stop the study
    rather than fail every trial the same way.
    """

    def __init__(self, config: Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.fatal: NnzooError | None = None
        self._data: dict[str, Splits] = {}
        self.models = ModelPool()

    def _splits(self, config: Config) -> Splits | None:
        """The loaded data of ``config``, loaded on first use; ``None``: let the trainer."""
        key = data_key(config)
        if key is None:
            return None
        splits = self._data.pop(key, None)
        if splits is None:
            _, _, splits = prepare(config)
        self._data[key] = splits  # the most recent last
        while len(self._data) > DATA_CACHE_SIZE:
            self._data.pop(next(iter(self._data)))
        return splits

    def _leads(self, trial: optuna.Trial, value: float) -> bool:
        complete = trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        return leads(trial, value, complete, direction=self.settings.direction)

    def _surplus(self, trial: optuna.Trial) -> bool:
        """Whether enough trials are finished or already running before this one."""
        ahead = 0
        for t in trial.study.get_trials(deepcopy=False):
            if t.state in FINISHED or (t.state == TrialState.RUNNING and t.number < trial.number):
                ahead += 1
        return ahead >= self.settings.trials

    def __call__(self, trial: optuna.Trial) -> float:
        _storage.mark_owner(trial)
        if self._surplus(trial):
            trial.storage.set_trial_system_attr(trial._trial_id, ATTR_SURPLUS, True)
            raise _Surplus()
        values = _space.suggest(trial, self.config.tune.space)
        file = self.config.source_file
        run_dir = _trial_dir(self.settings, trial.number)
        trial.set_user_attr(ATTR_RUN_DIR, str(run_dir))
        self.models.clear_session()  # no layers, names or graphs of earlier trials
        try:
            trial_config = _space.apply(self.config, values)
            splits = self._splits(trial_config)
            dropped = splits.dropped.get("validation", 0) if splits is not None else 0
            pruning = PruningCallback(
                trial, self.settings.metric, file=file, duplicates_dropped=dropped
            )
            options = TrialOptions(
                run_dir,
                callbacks=(pruning,),
                lean=not self.settings.keep_artifacts,
                splits=splits,
                models=self.models,
            )
            result = train_trial(trial_config, options)
        except optuna.TrialPruned:
            raise
        except TrainingDivergedError as err:
            trial.set_user_attr(ATTR_FAIL_REASON, "loss became NaN")
            raise _Failed(str(err)) from None
        except NnzooError as err:
            trial.set_user_attr(ATTR_FAIL_REASON, err.one_line()[:300])
            self.fatal = err
            raise
        except Exception as err:
            first = (str(err).strip().splitlines() or [""])[0][:200]
            trial.set_user_attr(ATTR_FAIL_REASON, f"{type(err).__name__}: {first}")
            raise
        finally:
            shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)  # keep trials small
        value = best_value(result.history, self.settings.metric, self.settings.direction)
        trial.set_user_attr(ATTR_EPOCHS, len(result.history))
        if value is None:
            trial.set_user_attr(ATTR_FAIL_REASON, f"no finite {self.settings.metric}")
            raise _Failed(f"no finite {self.settings.metric} in the history")
        if result.lean and self._leads(trial, value):
            # curves.png: drawn for the best trial alone when the study ends (write_outputs).
            result.write_artifacts(curves=False)
            trial.storage.set_trial_system_attr(trial._trial_id, ATTR_ARTIFACTS, True)
        return value


class _Surplus(Exception):
    """N trials are finished or running elsewhere: this one is not needed."""


class _Failed(Exception):
    """A trial failed in a way the study goes on from (NaN loss)."""


# --------------------------------------------------------------------------- the loop


def count_trials(study: optuna.Study, settings: Settings) -> tuple[int, int, int]:
    """(finished, running, failures counted towards --max-failures) across all processes."""
    start = datetime.fromisoformat(settings.session_start)
    finished = running = failed = 0
    for t in study.get_trials(deepcopy=False):
        if t.state in FINISHED:
            finished += 1
        elif t.state == TrialState.RUNNING:
            running += 1
        elif (
            t.state == TrialState.FAIL
            and ATTR_FAIL_REASON in t.user_attrs
            and t.datetime_start is not None
            and t.datetime_start >= start
        ):
            failed += 1
    return finished, running, failed


def max_failures_error(settings: Settings, failed: int) -> NnzooError:
    return NnzooError(
        f"study '{settings.study}': {failed} trials failed (--max-failures "
        f"{settings.max_failures}); stopped. Fix: see the failures in "
        f"{settings.path / 'trials.csv'} and the trial run directories, then rerun to resume"
    )


def run_trials(
    study: optuna.Study,
    config: Config,
    settings: Settings,
    *,
    reporter: TrialReporter | None = None,
) -> str:
    """Run trials until ``settings.trials`` are finished in the whole study.

    Returns ``"done"`` or ``"timeout"``; raises :class:`NnzooError` after too many failures
    or on a user mistake.
    """
    objective = Objective(config, settings)
    # What exists now (Keras, TensorFlow, Optuna: most of the process's objects) is left out
    # of the collections between trials, which then cost little.
    gc.collect()
    gc.freeze()
    try:
        return _trial_loop(study, objective, settings, reporter)
    finally:
        gc.unfreeze()


def _trial_loop(
    study: optuna.Study,
    objective: Objective,
    settings: Settings,
    reporter: TrialReporter | None,
) -> str:
    deadline = time.monotonic() + settings.timeout if settings.timeout else None
    waiting_noted = False
    while True:
        _storage.fail_stale(study)
        finished, running, failed = count_trials(study, settings)
        if finished >= settings.trials:
            return "done"
        if failed >= settings.max_failures:
            raise max_failures_error(settings, failed)
        if deadline is not None and time.monotonic() >= deadline:
            return "timeout"
        if finished + running >= settings.trials:
            # The last trials run elsewhere; one may still fail and need redoing.
            if not waiting_noted:
                log.info("waiting for %d running trial(s) of other workers", running)
                waiting_noted = True
            time.sleep(POLL_SECONDS)
            continue
        waiting_noted = False
        optuna_log = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.ERROR)  # the reporter prints trials
        try:
            # No gc_after_trial: the objective clears the Keras session (and collects).
            study.optimize(objective, n_trials=1, catch=(Exception,))
        finally:
            optuna.logging.set_verbosity(optuna_log)
        if reporter is not None:
            reporter.update(study)
        if objective.fatal is not None:
            raise objective.fatal
