"""``tune()``: resolve the settings, open the study, run its trials here or in workers, write
what it leaves behind."""

from __future__ import annotations

from pathlib import Path

import optuna

from nnzoo.config import Config
from nnzoo.tuning import _storage
from nnzoo.tuning._outputs import print_summary, write_outputs
from nnzoo.tuning._report import TrialReporter
from nnzoo.tuning._settings import Settings, TuneResult, resolve_settings
from nnzoo.tuning._study import count_trials, grid_size, open_study, run_trials, storage_spec
from nnzoo.tuning._workers import env_threads, run_parallel


def tune(
    config: Config,
    *,
    trials: int | None = None,
    storage: str | None = None,
    study: str | None = None,
    workers: int | None = None,
    timeout: float | None = None,
    max_failures: int | None = None,
    runs_dir: str | Path = "runs",
    quiet: bool = False,
    heartbeat: float = 60.0,
    keep_artifacts: bool = False,
) -> TuneResult:
    """Tune ``config`` over its ``tune.space`` with Optuna; arguments override ``tune.*``.

    Each trial trains a copy of the config with the sampled values through the trainer and
    reports ``tune.metric`` (default ``train.monitor.metric``) on validation data each epoch
    to the pruner. The study persists (SQLite under ``runs/<name>/tune/`` by default, a
    journal file there for ``workers > 1``, or ``storage``) and running the same call again
    resumes it until ``trials`` trials are finished (complete or pruned) in total.

    Args:
        config: a validated config with a ``tune.space``.
        trials: finished trials to reach (failed ones do not count). Defaults to
            ``tune.trials``.
        storage: an SQLAlchemy URL (``postgresql://user@host/db``) or ``journal:PATH``.
        study: the study name. Defaults to the config's name.
        workers: worker processes on this machine. Defaults to ``tune.workers``.
        timeout: seconds after which no new trial starts.
        max_failures: failed trials after which the study stops. Defaults to ``trials``.
        runs_dir: where ``<name>/tune/`` is written. Defaults to ``runs``.
        quiet: print nothing.
        heartbeat: seconds between heartbeats of running trials (RDB storages); a trial
            silent for two heartbeats is failed and retried.
        keep_artifacts: every trial writes a full run directory (``model.keras``, test
            metrics, ``curves.png``), as ``nnzoo train`` does. Defaults to ``False``: a
            trial records its config, ``history.csv`` and ``metrics.json`` only, and the
            model, test metrics and plot are written for the best trial alone (the trials
            that led the study when they finished write them; those overtaken lose their
            model and plot when the study ends).

    Returns:
        A :class:`TuneResult`; ``best_config`` is ``best.yaml``, trainable as it is.
    """
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the reporter prints the trials
    try:
        settings = resolve_settings(
            config,
            trials=trials,
            storage=storage,
            study=study,
            workers=workers,
            timeout=timeout,
            max_failures=max_failures,
            runs_dir=runs_dir,
            heartbeat=heartbeat,
            keep_artifacts=keep_artifacts,
        )
        return _tune(config, settings, quiet=quiet)
    finally:
        optuna.logging.set_verbosity(verbosity)


def _tune(config: Config, settings: Settings, *, quiet: bool) -> TuneResult:
    # The storage URL (it may hold a password) stays in ``settings``: no config a study
    # writes (best.yaml, each trial's config.yaml) carries it.
    config = config.model_copy(update={"tune": config.tune.model_copy(update={"storage": None})})
    size = grid_size(config)
    if size is not None and size < settings.trials:
        settings.trials = size
        size_note = f"the grid has {size} points: running {size} trials"
    else:
        size_note = None
    reporter = TrialReporter(
        settings.metric, quiet=quiet, trials=settings.trials, direction=settings.direction
    )
    if size_note:
        reporter.note(size_note)
    spec = storage_spec(settings)
    if spec.note:
        reporter.note(spec.note)
    # Fixed now, so that capping the workers below does not move the study elsewhere.
    settings.storage = spec.url
    cores = env_threads()
    if settings.workers > cores:
        reporter.note(
            f"--workers {settings.workers}: this process may use {cores} core(s); "
            f"running {cores} worker(s)"
        )
        settings.workers = cores
    settings.path.mkdir(parents=True, exist_ok=True)
    with _storage.connection_guard(spec):
        the_study, new = open_study(config, settings, create=True)
        finished, _, _ = count_trials(the_study, settings)
        reporter.note(
            f"study '{settings.study}' in {spec.display}: "
            + ("new" if new else f"resuming, {finished} of {settings.trials} trials finished")
            + f"; {settings.direction} {settings.metric}"
        )
        reporter.skip_existing(the_study)
        if settings.workers > 1:
            run_parallel(config, settings, the_study, reporter=reporter)
        else:
            run_trials(the_study, config, settings, reporter=reporter)
        _storage.fail_stale(the_study)
        reporter.update(the_study)
        result = write_outputs(the_study, config, settings, spec)
    if not quiet:
        print_summary(result, spec, reporter)
    return result
