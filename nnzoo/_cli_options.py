"""Click options shared by ``nnzoo`` commands (imports nothing heavy)."""

from __future__ import annotations

import os
from typing import Any

import click

#: Process-wide CLI state: ``--debug`` (tracebacks and framework logs).
STATE: dict[str, Any] = {"debug": False}


def set_option(
    help: str = "Override any dotted key, e.g. --set train.epochs=5 (repeatable).",
    metavar: str = "KEY=VALUE",
) -> Any:
    """``--set KEY=VALUE`` (repeatable), collected in ``overrides``."""
    return click.option("--set", "overrides", multiple=True, metavar=metavar, help=help)


def runs_dir_option(help: str = "Where runs/<name>/<run-id>/ are written.") -> Any:
    """``--runs-dir DIR``, default ``runs``."""
    return click.option(
        "--runs-dir",
        default="runs",
        show_default=True,
        type=click.Path(file_okay=False),
        help=help,
    )


def import_keras_quietly() -> None:
    """Import Keras with the native stderr silenced (unless --debug).

    TensorFlow and XLA write start-up lines from C++ (absl, CUDA probing) that
    TF_CPP_MIN_LOG_LEVEL does not silence; they would bury nnzoo's one-line messages.
    """
    if STATE["debug"]:
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import keras  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
