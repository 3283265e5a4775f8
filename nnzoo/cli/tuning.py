"""The tuning command: ``nnzoo tune``.

Only click, the standard library and the lazy ``nnzoo.tuning`` package at import time: Optuna
and Keras load inside the command, on the first use of ``tuning.tune``, so ``nnzoo tune --help``
imports neither.
"""

from __future__ import annotations

import sys

import click

from nnzoo import tuning
from nnzoo._cli_options import import_keras_quietly
from nnzoo.cli._common import AtLeast, avoid_native_aborts, runs_dir_option, set_option
from nnzoo.cli._errors import interrupt_exit_code, interrupted


@click.command("tune")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--trials", type=int, help="Finished trials to reach in total (tune.trials).")
@click.option(
    "--storage",
    metavar="URL",
    help="SQLAlchemy URL (postgresql://user@host:5432/db), journal:PATH, or env:VAR to read "
    "the URL from the environment variable VAR (default: SQLite, or a journal file with "
    "--workers > 1, under runs/<name>/tune/). Keep a password out of the URL: set PGPASSWORD or "
    "~/.pgpass, or use env:VAR. It is never printed or written to a file.",
)
@click.option(
    "--study",
    "study_name",
    metavar="NAME",
    help="Study name, a folder name under runs/<name>/tune/ (default: the config's name). A "
    "changed tune.space needs a new study.",
)
@click.option(
    "--workers",
    type=int,
    help="Worker processes on this machine (tune.workers); at most the cores this process "
    "may use. They stop when tune stops.",
)
@click.option("--timeout", type=float, help="Start no new trial after this many seconds.")
@click.option(
    "--max-failures", type=int, help="Stop after this many failed trials (default: --trials)."
)
@set_option()
@runs_dir_option("Where runs/<name>/tune/ is written.")
@click.option(
    "--heartbeat",
    type=AtLeast(1, number=float),
    default=60.0,
    show_default=True,
    help="Seconds between heartbeats of running trials (RDB storages); a trial silent for "
    "two heartbeats is failed and retried.",
)
@click.option(
    "--keep-artifacts",
    is_flag=True,
    help="Every trial writes a full run (model.keras, test metrics, curves.png) and traces "
    "its own model; by default only the best trial's run has them.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the best config's path.")
def tune(
    config: str,
    trials: int | None,
    storage: str | None,
    study_name: str | None,
    workers: int | None,
    timeout: float | None,
    max_failures: int | None,
    overrides: tuple[str, ...],
    runs_dir: str,
    heartbeat: float,
    keep_artifacts: bool,
    quiet: bool,
) -> None:
    """Tune CONFIG's `tune.space` with Optuna; rerun the same command to resume.

    Each trial trains a copy of the config with sampled values and reports tune.metric on
    validation data each epoch, so poor trials are pruned early. Each finished trial is one
    line: its number, trials done of --trials, state (COMPLETE or PRUNED), value, best value so
    far, time and parameters. At the end the best config is written to
    runs/<name>/tune/best.yaml (train it with `nnzoo train`), with trials.csv and plots, and its
    path is printed once. Each trial's run records its config, history and metrics; only the
    best trial's also has model.keras, test metrics and curves.png (--keep-artifacts: every
    trial's). On TensorFlow, trials of one architecture train one model whose steps are traced
    once: each loads its own initial weights, learning rate and dropout rates into it and
    learns exactly what `nnzoo train` of its config learns. Flags override the file's `tune:`
    section; --set overrides both.

    \b
    \b
    nnzoo tune configs/tune/mlp_digits.yaml --trials 30
    nnzoo tune configs/tune/mlp_digits.yaml --workers 2
    PGPASSWORD=... nnzoo tune my.yaml --storage postgresql://user@db/optuna   (many machines)
    nnzoo tune my.yaml --storage env:NNZOO_STORAGE   (the URL, password and all, in $NNZOO_STORAGE)
    """
    from nnzoo.run.bind import load_config

    flags = {
        "tune.trials": trials,
        "tune.storage": storage,
        "tune.study": study_name,
        "tune.workers": workers,
        "tune.timeout": timeout,
        "tune.max_failures": max_failures,
    }
    cfg = load_config(config, overrides, flags=flags)
    from nnzoo.run.bind import check_downloads

    check_downloads(cfg)  # offline and not cached: one line, before a worker imports Keras
    avoid_native_aborts(cfg)  # the base config's model (a space may widen it: not checked)
    import_keras_quietly()
    try:
        result = tuning.tune(
            cfg, runs_dir=runs_dir, quiet=quiet, heartbeat=heartbeat, keep_artifacts=keep_artifacts
        )
    except KeyboardInterrupt as err:
        click.echo(
            f"nnzoo: {interrupted(err)}; the running trial was recorded as failed. Rerun the "
            "same command to resume the study",
            err=True,
        )
        sys.exit(interrupt_exit_code(err))
    if result.best_config is not None:  # the one line that names it (stdout, also with -q)
        hint = "" if quiet else f"  (train it: nnzoo train {result.best_config})"
        click.echo(f"best config: {result.best_config}{hint}")


#: The commands this module adds to the ``nnzoo`` group.
COMMANDS = (tune,)
