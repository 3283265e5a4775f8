"""What the command groups share: the ``--set`` and ``--runs-dir`` options and the console.

Imports nothing heavy (rich loads when a command first renders).
"""

from __future__ import annotations

from typing import Any

import click


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


def console(stderr: bool = False) -> Any:
    """A rich console that colours only what nnzoo marks up (no number highlighting)."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)
