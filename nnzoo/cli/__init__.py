"""The ``nnzoo`` command line: thin over the library, rendered with rich.

The root group and its global options live here; the commands, by group, in ``catalog``
(``list-models``, ``list-sources``, ``describe``, ``init``, ``validate``), ``runs`` (``train``,
``evaluate``, ``predict``, ``generate``, ``export``, ``benchmark``, ``runs``, ``compare``) and
``tuning`` (``tune``).
``_errors`` is the one place where an error becomes a line on stderr and an exit code.

Heavy imports (Keras, TensorFlow, Optuna) happen inside the commands that need them, so
``nnzoo --help``, ``list-models``, ``validate``, ``runs`` and ``compare`` start fast. User mistakes
(:class:`~nnzoo.errors.NnzooError`) end with one line on stderr and exit code 2;
``--debug`` shows the traceback.
"""

from __future__ import annotations

import os
from typing import Any

import click

from nnzoo._cli_options import STATE, import_keras_quietly
from nnzoo.cli import catalog, runs, tuning
from nnzoo.cli._errors import reported_errors
from nnzoo.errors import EnvironmentSettingError

__all__ = ["cli", "main"]

BACKENDS = ("tensorflow", "jax", "torch")


def _set_backend(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    # Eager: set process-wide state before anything imports Keras.
    if value:
        import importlib.util

        if importlib.util.find_spec(value) is None:
            raise click.BadParameter(
                f"the {value} backend is not installed. Fix: pip install {value}, or choose "
                f"another backend ({', '.join(b for b in BACKENDS if b != value)})"
            )
        os.environ["KERAS_BACKEND"] = value
    return value


def _set_offline(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    # Eager, and exported as NNZOO_OFFLINE=1 so that tuning workers are offline too.
    if value:
        from nnzoo._offline import set_offline

        set_offline(True)
    return value


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    STATE["debug"] = value
    if not value:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return value


#: Commands that load Keras (and with it TensorFlow or JAX). `train` loads it itself, after
#: checking that its config's downloads are possible (an offline CIFAR run fails at once).
# `tune` imports Keras itself, after checking what its config needs from the cache.
_FRAMEWORK_COMMANDS = {"evaluate", "predict", "describe", "generate", "export", "benchmark"}


class _Group(click.Group):
    """Loads Keras quietly for the commands that need it, and turns library errors into one
    line and exit code 2 (``--debug``: the traceback)."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        if name in _FRAMEWORK_COMMANDS and not {"--help", "-h"} & set(rest):
            import_keras_quietly()
        return name, command, rest

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        # The root's own options (``--backend bogus``) are parsed here, before invoke. An eager
        # option's error comes before --debug's callback runs: read the flag from the words,
        # so a process that ran commands before (tests, CliRunner) does not keep its value.
        words = args[1] if len(args) > 1 else kwargs.get("args", [])
        STATE["debug"] = "--debug" in list(words or [])
        with reported_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with reported_errors():
            _check_keras_backend_variable()
            return super().invoke(ctx)


#: What Keras accepts as KERAS_BACKEND (nnzoo trains on the first three).
_KERAS_BACKENDS = (*BACKENDS, "numpy", "openvino")


def _check_keras_backend_variable() -> None:
    """A misspelt ``KERAS_BACKEND`` is the environment's mistake: say so before Keras loads."""
    value = os.environ.get("KERAS_BACKEND")
    if value is not None and value not in _KERAS_BACKENDS:
        raise EnvironmentSettingError(
            f"KERAS_BACKEND={value!r} is not a Keras backend. Fix: set KERAS_BACKEND to one of "
            f"{', '.join(BACKENDS)} (or unset it), or pass --backend"
        )


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    callback=_set_backend,
    is_eager=True,
    expose_value=False,
    help="Keras backend (default: $KERAS_BACKEND or tensorflow).",
)
@click.option(
    "--debug",
    is_flag=True,
    callback=_set_debug,
    is_eager=True,
    expose_value=False,
    help="Show tracebacks and framework logs.",
)
@click.option(
    "--offline",
    is_flag=True,
    callback=_set_offline,
    is_eager=True,
    expose_value=False,
    help="Never download (data sets, ImageNet weights, KerasHub presets): use only files "
    "already in the Keras / KerasHub caches. Same as NNZOO_OFFLINE=1 (or HF_HUB_OFFLINE=1).",
)
@click.version_option(package_name="nnzoo")
def cli() -> None:
    """nnzoo: the deep-learning canon as a catalog of Keras 3 models, trained from YAML.

    \b
    nnzoo list-models                 the catalog ('resnet', 'vit_*', --family, --task)
    nnzoo list-models --pretrained    entries with published weights (KerasHub presets)
    nnzoo describe resnet18           card, defaults, parameter count, summary
    nnzoo init mlp > my.yaml          a complete, commented config
    nnzoo init mlp --data csv --set data.params.path=my.csv > my.yaml
    nnzoo validate my.yaml            check a config without building anything
    nnzoo train my.yaml --set train.epochs=5
    nnzoo train configs/bert_finetune.yaml   from a preset (model.init_from: keras_hub:...)
    nnzoo train --resume RUN_DIR      continue an interrupted run
    nnzoo evaluate RUN_DIR            test metrics of a run's best model
    nnzoo predict RUN_DIR INPUT       class predictions for new inputs
    nnzoo runs --sort accuracy        every run: model, data, status, test metric
    nnzoo compare RUN_DIR RUN_DIR     overlaid curves, metric table, config differences
    nnzoo tune configs/tune/mlp_digits.yaml --trials 20
    nnzoo generate RUN_DIR --prompt "def "
    """


for _command in (*catalog.COMMANDS, *runs.COMMANDS, *tuning.COMMANDS):
    cli.add_command(_command)


def main() -> None:
    """The ``nnzoo`` console script (and ``python -m nnzoo.cli``)."""
    cli(prog_name="nnzoo")
