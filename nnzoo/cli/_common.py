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


class AtLeast(click.ParamType):
    """A number flag with a lower bound whose error reads ``must be >= 1 (received 0)``.

    Click's ``IntRange`` says "0 is not in the range x>=1"; this states the rule, then the
    value, as the house's messages do. Floats must also be finite (``nan``, ``inf`` refused).
    """

    def __init__(self, minimum: float, *, number: type = int) -> None:
        self.minimum = minimum
        self.number = number
        self.name = "integer" if number is int else "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        import math

        what = "an integer" if self.number is int else "a finite number"
        try:
            number = self.number(value)
        except (TypeError, ValueError):
            self.fail(f"must be {what} >= {self.minimum} (received {value!r})", param, ctx)
        if not (math.isfinite(number) and number >= self.minimum):
            self.fail(f"must be {what} >= {self.minimum} (received {value})", param, ctx)
        return number


def avoid_native_aborts(cfg: Any) -> None:
    """Turn TensorFlow's oneDNN kernels off, before TensorFlow loads, for a config they would
    abort on (:func:`nnzoo.models.resnet.onednn_abort_reason`), and say so on stderr. A
    TF_ENABLE_ONEDNN_OPTS the user set is left alone."""
    import os
    import sys

    if cfg is None or "TF_ENABLE_ONEDNN_OPTS" in os.environ or "tensorflow" in sys.modules:
        return
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return
    from nnzoo.registry import get_card

    card = get_card(cfg.model.name)
    if card.family != "resnet":
        return
    from nnzoo.models.resnet import onednn_abort_reason

    reason = onednn_abort_reason({**card.defaults, **cfg.model.params})
    if reason:
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
        click.echo(
            f"nnzoo: note: {reason}; they are off for this run (TF_ENABLE_ONEDNN_OPTS=0, "
            "slower on CPU)",
            err=True,
        )
