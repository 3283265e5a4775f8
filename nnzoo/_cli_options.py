"""Click options shared by ``nnzoo`` commands (imports nothing heavy)."""

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
