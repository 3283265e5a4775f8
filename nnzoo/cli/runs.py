"""The ``nnzoo`` command line: thin over the library, rendered with rich.

Heavy imports (Keras, TensorFlow, Optuna) happen inside the commands that need them, so
``nnzoo --help``, ``list-models`` and ``validate`` start fast. User mistakes
(:class:`~nnzoo.errors.NnzooError`) end with one line on stderr and exit code 2;
``--debug`` shows the traceback.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from nnzoo._cli_options import STATE as _STATE
from nnzoo._cli_options import import_keras_quietly as _import_keras_quietly
from nnzoo._cli_options import runs_dir_option, set_option
from nnzoo.errors import ConfigError, NnzooError

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
    _STATE["debug"] = value
    if not value:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return value


#: Commands that load Keras (and with it TensorFlow or JAX). `train` loads it itself, after
#: checking that its config's downloads are possible (an offline CIFAR run fails at once).
# `tune` imports Keras itself, after checking what its config needs from the cache.
_FRAMEWORK_COMMANDS = {"evaluate", "predict", "describe", "generate", "export", "benchmark"}


class _Group(click.Group):
    """Turns library errors into one line and exit code 2 (``--debug``: the traceback)."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        if name in _FRAMEWORK_COMMANDS and not {"--help", "-h"} & set(rest):
            _import_keras_quietly()
        return name, command, rest

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise  # Click's own usage errors: its one line and exit code
        except NnzooError as err:
            if _STATE["debug"]:
                raise
            click.echo(f"nnzoo: error: {err.one_line()}", err=True)
            sys.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo(
                "nnzoo: interrupted (a run can continue with `nnzoo train --resume`)", err=True
            )
            sys.exit(130)
        except BrokenPipeError:
            # The reader of our output went away (`nnzoo init mlp | head`): stop quietly, as
            # Python's documentation advises, instead of a traceback at interpreter exit.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(1)
        except OSError as err:
            if _STATE["debug"]:
                raise
            if err.errno not in _ENVIRONMENT_ERRORS:
                raise _internal_error(err) from None
            where = f"{err.filename}: " if err.filename else ""
            click.echo(
                f"nnzoo: error: {where}{err.strerror}. Fix: {_ENVIRONMENT_ERRORS[err.errno]}",
                err=True,
            )
            sys.exit(1)
        except Exception as err:
            if _STATE["debug"]:
                raise
            raise _internal_error(err) from None


#: Errors of the machine rather than of the user's input (exit code 1), with what to do.
_ENVIRONMENT_ERRORS = {
    errno.ENOSPC: "free some space, or write elsewhere with --runs-dir / --output",
    errno.EDQUOT: "free some space, or write elsewhere with --runs-dir / --output",
    errno.EROFS: "write to a folder you can write to (--runs-dir / --output)",
    errno.EACCES: "write to a folder you can write to (--runs-dir / --output)",
    errno.EPERM: "write to a folder you can write to (--runs-dir / --output)",
    errno.EMFILE: "raise the open-files limit (ulimit -n) and resume",
    errno.ENOMEM: "use a smaller batch size or model",
}


def _internal_error(err: BaseException) -> SystemExit:
    """An exception nnzoo did not expect is a bug: say so in one line, point to --debug."""
    text = " ".join(f"{type(err).__name__}: {err}".split())[:300]
    click.echo(
        f"nnzoo: internal error: {text}. This is a bug in nnzoo: rerun with --debug for the "
        "traceback and report it",
        err=True,
    )
    return SystemExit(1)


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


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
    nnzoo tune configs/tune/mlp_digits.yaml --trials 20
    nnzoo generate RUN_DIR --prompt "def "
    """


# --------------------------------------------------------------------------- catalog


@cli.command("list-models")
@click.argument("pattern", required=False)
@click.option("--family", help="Only this family (e.g. resnet).")
@click.option("--task", help="Only this task (classification, language_modeling, masked_lm).")
@click.option(
    "--pretrained",
    is_flag=True,
    help="Only entries with published weights (KerasHub presets), and list the presets.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the cards as JSON.")
def list_models_cmd(
    pattern: str | None, family: str | None, task: str | None, pretrained: bool, as_json: bool
):
    """List the catalog; PATTERN is a word in the name ('resnet') or a wildcard ('vit_*').

    With --pretrained: the entries that start from published weights, with their KerasHub
    presets (use one as model.init_from: keras_hub:<preset>).
    """
    from nnzoo.registry import close_models, get_card, list_models

    names = list_models(pattern, family=family, task=task)
    if pretrained:
        names = [n for n in names if get_card(n).presets]
    if not names:
        # An empty table with exit 0 reads as "the catalog has nothing": say why instead.
        given = {"pattern": pattern, "family": family, "task": task}
        asked = ", ".join(f"{k} '{v}'" for k, v in given.items() if v)
        elsewhere = list_models(pattern) if pattern and (family or task) else []
        if elsewhere:
            hint = f"'{pattern}' matches {', '.join(elsewhere[:4])} without --family/--task; "
        else:
            close = close_models(pattern) if pattern else []
            hint = f"did you mean {', '.join(close)}? " if close else ""
        if pretrained:
            asked = (asked + ", " if asked else "") + "--pretrained"
        raise NnzooError(
            f"no model matches {asked}. Fix: {hint}run `nnzoo list-models` for the catalog"
        )
    cards = [get_card(n) for n in names]
    if as_json:
        click.echo(json.dumps([c.to_dict() for c in cards], indent=2))
        return
    from rich.table import Table

    if pretrained:
        from nnzoo.pretrained import licence_of

        table = Table(title=f"nnzoo entries with published weights ({len(cards)} models)")
        for col in ("name", "params", "KerasHub presets (model.init_from: keras_hub:...)"):
            table.add_column(col, overflow="fold", justify="right" if col == "params" else "left")
        table.add_column("licence", overflow="fold")
        for c in cards:
            table.add_row(
                c.name, _count(c.num_params), "\n".join(c.presets), licence_of(c.family) or ""
            )
        _console().print(table)
        return
    table = Table(title=f"nnzoo catalog ({len(cards)} models)")
    for col in ("name", "family", "tasks", "input", "params", "summary"):
        table.add_column(col, overflow="fold", justify="right" if col == "params" else "left")
    for c in cards:
        tasks = "\n".join(c.tasks)
        name = c.name + (" *" if c.presets else "")
        table.add_row(name, c.family, tasks, c.input_kind, _count(c.num_params), c.summary)
    _console().print(table)
    if any(c.presets for c in cards):
        _console().print("* has published weights: nnzoo list-models --pretrained")


def _count(n: int) -> str:
    """A parameter count for a table column: ``17``, ``17.2K``, ``11.7M``."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    return f"{n / 1_000:.1f}K" if n >= 1_000 else str(n)


@cli.command("list-sources")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_sources_cmd(as_json: bool):
    """List the data sources (offline ones need no download)."""
    from nnzoo.data import get_source, list_sources

    sources = [get_source(n) for n in list_sources()]
    rows = [
        {
            "name": s.name,
            "input_kind": s.input_kind,
            "offline": s.offline,
            "params": {k: v for k, v in s.parameters.items()},
            "summary": s.summary,
        }
        for s in sources
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    from rich.table import Table

    table = Table(title="nnzoo data sources")
    for col in ("name", "input", "offline", "params", "summary"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            r["name"],
            r["input_kind"],
            "yes" if r["offline"] else "download",
            ", ".join(r["params"]),
            r["summary"],
        )
    _console().print(table)


@cli.command()
@click.argument("name")
@set_option("Override a hyperparameter, e.g. --set num_classes=10.", metavar="PARAM=VALUE")
@click.option("--summary/--no-summary", default=True, help="Print the Keras summary.")
def describe(name: str, overrides: tuple[str, ...], summary: bool):
    """Card, defaults, parameter count, input shape and Keras summary of NAME."""
    from nnzoo.cards import export_formats_line
    from nnzoo.config.loader import parse_set
    from nnzoo.registry import build_checked, get_card

    card = get_card(name, key="NAME")
    params = dict(parse_set(o) for o in overrides)
    # Checked (names, values, rules, memory) before anything is printed or built.
    model = build_checked(card, params, key="--set")
    console = _console()
    console.print(f"[bold]{card.name}[/bold] — {card.summary}")
    console.print(f"family: {card.family}   task: {card.task}   input: {card.input_kind}")
    if len(card.tasks) > 1:
        console.print(f"tasks: {', '.join(card.tasks)} (choose with --set task=...)")
    console.print(f"paper: {card.paper}")
    if card.presets:
        from nnzoo.pretrained import licence_of

        console.print(
            f"presets (KerasHub, licence {licence_of(card.family)}): {', '.join(card.presets)}"
            f" — start from one with model.init_from: keras_hub:{card.presets[0]}"
        )
    console.print(f"export: {export_formats_line(card)}")
    console.print(
        f"num_params: {card.num_params:,} at the defaults (every weight, trainable or not)"
    )
    console.print("defaults:")
    for k, v in {**card.defaults, **params}.items():
        console.print(f"  {k}: {v}")
    trainable = sum(int(_prod(w.shape)) for w in model.trainable_weights)
    console.print(f"parameters: {model.count_params():,} ({trainable:,} trainable)")
    shapes = [tuple(t.shape) for t in model.inputs]
    console.print(f"input shape: {shapes[0] if len(shapes) == 1 else shapes}")
    console.print(f"output shape: {tuple(model.output.shape)}")
    if summary:
        model.summary(print_fn=lambda line, **_: console.print(line, markup=False))


def _prod(shape: Any) -> int:
    out = 1
    for d in shape:
        out *= int(d)
    return out


@cli.command()
@click.argument("name")
@click.option("--data", "source", help="Data source (default: an offline one that fits).")
@set_option(
    "A data source parameter, e.g. --set data.params.path=my.csv.", metavar="data.params.K=V"
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file.")
def init(name: str, source: str | None, overrides: tuple[str, ...], output: str | None):
    """Print a complete, commented config for NAME that `nnzoo train` accepts as-is.

    The config is checked as `nnzoo validate` checks one; a source that cannot feed NAME, or a
    file source without its file (`--set data.params.path=...`), is refused.
    """
    from nnzoo.config.loader import parse_set
    from nnzoo.run.templates import config_template

    data_params = {}
    for item in overrides:
        key, value = parse_set(item)
        if not key.startswith("data.params.") or key.count(".") != 2:
            raise ConfigError(
                f"init sets only data source parameters. Received: --set {item}",
                key="--set",
                fix="use --set data.params.NAME=VALUE here; edit the written file for the rest",
            )
        data_params[key.removeprefix("data.params.")] = value
    text = config_template(name, source=source, data_params=data_params)
    if output:
        path = Path(output)
        if path.exists():
            raise NnzooError(
                f"{path}: already exists; nothing was written. Fix: choose a new file name"
            )
        path.write_text(text)
        click.echo(f"wrote {path}", err=True)
    else:
        click.echo(text, nl=False)


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False))
@set_option("Override any dotted key (a YAML value).")
def validate(config: str, overrides: tuple[str, ...]):
    """Check CONFIG (keys, types, model and data names) without building anything.

    Also says which files CONFIG needs from the Keras cache (data sets, ImageNet weights),
    their size and origin, and whether each is cached or will be downloaded (where to).
    With --offline / NNZOO_OFFLINE=1, a file that is not cached is an error (exit 2).
    """
    from nnzoo.run.bind import check_downloads, load_config

    cfg = load_config(config, overrides)
    needs = check_downloads(cfg)
    click.echo(f"{config}: ok ({cfg.model.name} on {cfg.data.source}, {cfg.train.epochs} epochs)")
    for need in needs:
        click.echo(f"  {need.report()}")


# --------------------------------------------------------------------------- training


def _train_flags(epochs: int | None, batch_size: int | None, seed: int | None) -> dict[str, Any]:
    return {"train.epochs": epochs, "data.batch_size": batch_size, "seed": seed}


@cli.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@set_option()
@click.option("--epochs", type=int, help="Shortcut for --set train.epochs=N.")
@click.option("--batch-size", type=int, help="Shortcut for --set data.batch_size=N.")
@click.option("--seed", type=int, help="Shortcut for --set seed=N.")
@runs_dir_option()
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(file_okay=False),
    help="Continue an interrupted run from its last completed epoch.",
)
@click.option(
    "--quiet", "-q", is_flag=True, help="No progress and no run line: only the final summary."
)
def train(config, overrides, epochs, batch_size, seed, runs_dir, resume_dir, quiet):
    """Train the model of CONFIG and write a run directory.

    Flags override the file; --set overrides both. The run directory is printed first
    (`run: runs/NAME/RUN-ID`); Ctrl-C stops the run, which `--resume` continues. On a terminal
    each epoch shows a live bar (steps, time left, running loss and monitored metric,
    examples/s); otherwise one line per epoch. A finished run keeps model.keras (the best
    weights, no optimizer state) and drops its resume checkpoints.
    """
    from nnzoo.run.bind import load_config

    if resume_dir:
        if config or overrides:
            raise NnzooError(
                "--resume continues a run with its own config. Fix: drop CONFIG "
                "and --set, or start a new run without --resume"
            )
        from nnzoo.run.bind import check_downloads
        from nnzoo.run.directory import check_run_dir, load_run_config, read_status
        from nnzoo.training import resume

        if read_status(check_run_dir(resume_dir)).get("state") != "finished":
            check_downloads(load_run_config(resume_dir))  # before TensorFlow loads
        _import_keras_quietly()
        result = _run_training(resume, resume_dir, quiet=quiet)
        if result.already_finished:
            click.echo(
                f"{resume_dir}: this run already finished "
                f"({result.metrics.get('epochs')} epochs); nothing to do. To train it longer, "
                f"start a new run from it: nnzoo train {resume_dir}/config.yaml --set "
                f"model.init_from={resume_dir} --set train.epochs=N"
            )
            return
    else:
        if not config:
            raise NnzooError(
                "missing CONFIG. Fix: `nnzoo train my.yaml` (see `nnzoo init`) "
                "or `nnzoo train --resume RUN_DIR`"
            )
        cfg = load_config(config, overrides, flags=_train_flags(epochs, batch_size, seed))
        from nnzoo.run.bind import check_downloads

        check_downloads(cfg)  # offline and not cached: one line, before TensorFlow loads
        _import_keras_quietly()
        from nnzoo.training import train as train_fn

        result = _run_training(train_fn, cfg, runs_dir=runs_dir, quiet=quiet)
    _print_result(result)


def _run_training(fit: Any, *args: Any, quiet: bool, **kwargs: Any) -> Any:
    """Call ``train`` or ``resume``: the run directory is printed as soon as it exists (before
    the first epoch), and Ctrl-C then says how to resume it (exit code 130)."""
    started: list[Path] = []

    def on_run_dir(path: Path) -> None:
        started.append(path)
        if not quiet:
            click.echo(f"run: {path}")

    try:
        return fit(*args, quiet=quiet, on_run_dir=on_run_dir, **kwargs)
    except KeyboardInterrupt:
        if not started:
            raise
        click.echo(
            f"nnzoo: interrupted — resume with: nnzoo train --resume {started[0]}", err=True
        )
        sys.exit(130)


def _print_result(result: Any) -> None:
    from rich.table import Table

    m = result.metrics
    table = Table(title="test metrics", show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in m["test"].items():
        table.add_row(k, f"{v:.4f}")
    console = _console()
    console.print(table)
    best = m.get("best", {})
    console.print(
        f"best epoch {best.get('epoch')} of {m['epochs']} by {m['monitor']['metric']} "
        f"({m['monitor']['mode']})   params {m['params']:,}   wall {m['wall_seconds']:.1f} s"
    )
    console.print(f"run: {result.run_dir}")
    if "accuracy" in m["test"]:
        click.echo(f"test accuracy: {m['test']['accuracy']:.4f}")


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--data", "source", help="Evaluate on this data source's test split instead.")
@set_option("Parameters of --data (e.g. --set num_examples=500).", metavar="PARAM=VALUE")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def evaluate(run_dir: str, source: str | None, overrides: tuple[str, ...], as_json: bool):
    """Metrics of RUN_DIR's best model on its test split (or on --data)."""
    from nnzoo.config.loader import parse_set
    from nnzoo.inference.evaluate import evaluate as evaluate_fn

    params = dict(parse_set(o) for o in overrides)
    metrics = evaluate_fn(run_dir, data=source, data_params=params)
    if as_json:
        click.echo(json.dumps(metrics, indent=2))
        return
    for k, v in metrics.items():
        click.echo(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}")


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.argument("inputs", type=click.Path())
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help="Write predictions to a .csv or .json file (not in a run directory).",
)
@click.option("--force", is_flag=True, help="Replace an existing --output file.")
@click.option(
    "--batch-size",
    default=1024,
    show_default=True,
    type=click.IntRange(1),
    help="Examples read and predicted at a time.",
)
def predict(run_dir: str, inputs: str, output: str | None, force: bool, batch_size: int):
    """Class predictions of RUN_DIR's model for INPUTS, read and written in batches.

    RUN_DIR is a run directory, or a folder written by `nnzoo export` (SavedModel, ONNX or
    LiteRT: run with its own runtime, inputs read exactly as the run reads them).

    INPUTS are raw, as the run's data was: a .csv in the training file's format (header,
    delimiter; with the label column, predict also reports the accuracy), a .npy/.npz file
    (one example per row), an image or a folder of images. Text models take a .txt file (one
    text per line), a folder of .txt files (one text per file; class sub-folders give the
    accuracy) or, for a run trained on a CSV text column, a .csv with that column (by its header
    name). The model scales its inputs itself.
    """
    from nnzoo.inference.predict import iter_predictions
    from nnzoo.inference.writers import check_output, write_predictions

    target = check_output(Path(output), force=force) if output else None
    stream = iter_predictions(run_dir, inputs, batch_size=batch_size)
    if target is not None:
        count = write_predictions(stream, target)
        click.echo(f"wrote {count} predictions to {output}", err=True)
    elif not _echo_predictions(stream):
        return  # the reader went away (`nnzoo predict ... | head`): stop quietly
    if stream.accuracy is not None:
        click.echo(
            f"accuracy: {stream.accuracy:.4f} ({stream.correct} of {stream.labelled} labelled "
            "examples)",
            err=True,
        )


def _echo_predictions(rows: Any) -> bool:
    """Print ``input  class  probability`` lines, a batch at a time; ``False`` when stdout was
    closed by its reader (a broken pipe), which ends the command quietly with exit code 0."""
    from nnzoo.inference.writers import prediction_lines

    try:
        for lines in prediction_lines(rows):
            click.echo(lines, nl=False)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python would report the broken pipe again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return False
    return True


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--prompt", default=None, help="Text to continue. Defaults to an empty prompt.")
@click.option(
    "--prompts",
    "prompts_file",
    type=click.Path(dir_okay=True),
    help="A UTF-8 file of prompts, one a line (blank lines skipped): all in one batch.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help='Also write {"prompt", "text"} JSON lines to this file (.jsonl).',
)
@click.option("--max-new-tokens", default=200, show_default=True, type=click.IntRange(1))
@click.option(
    "--temperature",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.0),
    help="0 is greedy (deterministic).",
)
@click.option("--top-k", type=click.IntRange(1), help="Sample from the k most likely tokens.")
@click.option("--seed", type=int, help="Seed of the sampler.")
def generate(run_dir, prompt, prompts_file, output, max_new_tokens, temperature, top_k, seed):
    """Sample text from a trained language model (e.g. gpt_nano).

    \b
    nnzoo generate RUN_DIR --prompt "def "        prints the prompt and its continuation
    nnzoo generate RUN_DIR --prompts prompts.txt  one batch; prints "### prompt N" then each
    nnzoo generate RUN_DIR --prompts prompts.txt --output out.jsonl
    """
    from nnzoo.errors import NnzooError
    from nnzoo.inference.generate import generate_batch, read_prompts, write_generations

    if prompt is not None and prompts_file is not None:
        raise NnzooError(
            "--prompt and --prompts cannot be used together. Fix: give one prompt with "
            "--prompt, or a file of prompts with --prompts"
        )
    prompts = read_prompts(prompts_file) if prompts_file is not None else [prompt or ""]
    texts = generate_batch(
        run_dir,
        prompts,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_k=top_k,
        seed=seed,
    )
    if output:
        rows = [{"prompt": p, "text": t} for p, t in zip(prompts, texts)]
        write_generations(rows, output)
    if prompts_file is None:
        click.echo(prompts[0] + texts[0])
        return
    for i, (p, t) in enumerate(zip(prompts, texts), start=1):
        click.echo(f"### prompt {i}\n{p}{t}")


@cli.command("export")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(["saved_model", "onnx", "litert"]),
    help="SavedModel (TF Serving), ONNX (ONNX Runtime) or LiteRT (builtin operators only).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False),
    help="The export folder. Defaults to RUN_DIR/export/FORMAT.",
)
@click.option(
    "--verify/--no-verify",
    default=True,
    show_default=True,
    help="Run the artifact in its runtime and compare with model.keras.",
)
@click.option("--force", is_flag=True, help="Replace an existing export folder.")
def export_cmd(run_dir: str, fmt: str, output: str | None, verify: bool, force: bool):
    """Export RUN_DIR's model to SavedModel, ONNX or LiteRT, verified against the original.

    The folder holds the artifact, data_spec.json (inputs by name, class names), the
    tokenizer of a text run, model.md and export_report.json. Unless --no-verify, a separate
    process that imports neither nnzoo nor Keras runs the artifact with its own runtime on the
    run's test examples (or inputs made from its input spec), at batch sizes and sequence
    lengths the run never trained on; outputs further than 1e-4 from model.keras's end with
    exit code 1 (the artifact is kept, its report says it failed). Float32 only: quantisation
    is out of scope for now.
    """
    from nnzoo.inference.export import export_run

    report = export_run(run_dir, fmt, output=output, verify=verify, force=force)
    folder = report["folder"]
    click.echo(f"exported to {folder} ({report['size_bytes']:,} bytes)")
    if not report["verified"]:
        click.echo("not verified (--no-verify)")
        return
    if report.get("max_abs_diff") is None:
        click.echo(
            f"nnzoo: error: {folder}/{report['artifact']} could not be verified: "
            f"{report.get('error')}",
            err=True,
        )
        sys.exit(1)
    lat = report["latency_ms_per_example"]
    agreement = (
        f", top-1 agreement {report['top1_agreement']:.4f}" if "top1_agreement" in report else ""
    )
    click.echo(
        f"max |difference| {report['max_abs_diff']:.3g} (tolerance {report['tolerance']:g}) on "
        f"{report['examples']} examples from the {report['inputs_from']}{agreement}; latency "
        f"per example: keras {lat['keras']:.3f} ms, {report['runtime']['name']} "
        f"{lat['export']:.3f} ms"
    )
    if not report["passed"]:
        click.echo(
            f"nnzoo: error: the export differs from model.keras by up to "
            f"{report['max_abs_diff']:.3g} (tolerance {report['tolerance']:g}); the artifact is "
            f"kept at {folder}/{report['artifact']}, marked failing in export_report.json",
            err=True,
        )
        sys.exit(1)


# --------------------------------------------------------------------------- benchmark


@cli.command()
@click.argument("target", metavar="NAME|CONFIG")
@click.option("--batch-size", type=int, help="Examples per step (default: 32, or the config's).")
@click.option("--mode", default="train", show_default=True, help="train or infer.")
@click.option("--steps", default=20, show_default=True, type=int, help="Timed steps.")
@click.option("--warmup", default=5, show_default=True, type=int, help="Untimed steps first.")
@click.option(
    "--sequence-length",
    type=int,
    help="Tokens per example for token models (default: min(128, max_sequence_length)).",
)
@set_option("Override a hyperparameter of NAME, or a dotted key of CONFIG (repeatable).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Append a row here.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def benchmark(
    target, batch_size, mode, steps, warmup, sequence_length, overrides, csv_path, as_json
):
    """Throughput of NAME (a catalog entry, on a data-free batch) or of CONFIG's model.

    Examples (and tokens) per second and milliseconds per step after --warmup steps, peak
    memory and parameter count. Choose the backend with `nnzoo --backend jax benchmark ...`.
    """
    from nnzoo import benchmark as bench

    if target.endswith((".yaml", ".yml")) or Path(target).is_file():
        if sequence_length is not None:
            raise NnzooError(
                "--sequence-length applies to a catalog NAME. Fix: set the config's "
                "sequence length with --set, or drop --sequence-length"
            )
        result = bench.benchmark_config(
            target, overrides, mode=mode, batch_size=batch_size, steps=steps, warmup=warmup
        )
    else:
        from nnzoo.config.loader import parse_set

        result = bench.benchmark_model(
            target,
            mode=mode,
            batch_size=batch_size,
            steps=steps,
            warmup=warmup,
            params=dict(parse_set(o) for o in overrides),
            sequence_length=sequence_length,
        )
    if csv_path:
        bench.append_csv(csv_path, result)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    from rich.table import Table

    row = result.to_dict()
    table = Table(title=f"nnzoo benchmark: {result.model} ({result.mode}, {result.backend})")
    table.add_column("field")
    table.add_column("value", justify="right")
    for key, value in row.items():
        table.add_row(
            key,
            ""
            if value is None
            else f"{value:,}"
            if isinstance(value, int | float)
            else str(value),
        )
    _console().print(table)


def _register_tune() -> None:
    from nnzoo.cli.tuning import tune

    cli.add_command(tune)


_register_tune()


def main() -> None:
    cli(prog_name="nnzoo")


if __name__ == "__main__":
    main()
