"""The catalog commands: ``list-models``, ``list-sources``, ``describe``, ``init``, ``validate``.

All but ``describe`` (which builds the model) run without Keras: the catalog, the data sources
and a config are read from nnzoo's own modules.
"""

from __future__ import annotations

import json
import math
from typing import Any

import click

from nnzoo.cli._common import console, set_option
from nnzoo.errors import ConfigError, NnzooError


@click.command("list-models")
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
) -> None:
    """List the catalog; PATTERN is a word in the name ('resnet') or a wildcard ('vit_*').

    With --pretrained: the entries that start from published weights, with their KerasHub
    presets (use one as model.init_from: keras_hub:<preset>).
    """
    from nnzoo.registry import get_card, list_models

    names = list_models(pattern, family=family, task=task)
    if pretrained:
        names = [n for n in names if get_card(n).presets]
    if not names:
        raise _no_match(pattern, family, task, pretrained)
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
        console().print(table)
        return
    table = Table(title=f"nnzoo catalog ({len(cards)} models)")
    for col in ("name", "family", "tasks", "input", "params", "summary"):
        table.add_column(col, overflow="fold", justify="right" if col == "params" else "left")
    for c in cards:
        tasks = "\n".join(c.tasks)
        name = c.name + (" *" if c.presets else "")
        table.add_row(name, c.family, tasks, c.input_kind, _count(c.num_params), c.summary)
    console().print(table)
    if any(c.presets for c in cards):
        console().print("* has published weights: nnzoo list-models --pretrained")


def _no_match(
    pattern: str | None, family: str | None, task: str | None, pretrained: bool
) -> NnzooError:
    """Why nothing matched, with a way out: an empty table with exit 0 would read as "the
    catalog has nothing"."""
    from nnzoo.registry import close_models, list_models

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
    return NnzooError(
        f"no model matches {asked}. Fix: {hint}run `nnzoo list-models` for the catalog"
    )


def _count(n: int) -> str:
    """A parameter count for a table column: ``17``, ``17.2K``, ``11.7M``."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    return f"{n / 1_000:.1f}K" if n >= 1_000 else str(n)


@click.command("list-sources")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_sources_cmd(as_json: bool) -> None:
    """List the data sources (offline ones need no download)."""
    from nnzoo.data import get_source, list_sources

    rows = [get_source(n).to_dict() for n in list_sources()]
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
    console().print(table)


@click.command()
@click.argument("name")
@set_option("Override a hyperparameter, e.g. --set num_classes=10.", metavar="PARAM=VALUE")
@click.option("--summary/--no-summary", default=True, help="Print the Keras summary.")
def describe(name: str, overrides: tuple[str, ...], summary: bool) -> None:
    """Card, defaults, parameter count, input shape and Keras summary of NAME."""
    from nnzoo.cards import export_formats_line
    from nnzoo.config.loader import parse_set
    from nnzoo.registry import build_checked, get_card

    card = get_card(name, key="NAME")
    params = dict(parse_set(o) for o in overrides)
    # Checked (names, values, rules, memory) before anything is printed or built.
    model = build_checked(card, params, key="--set")
    out = console()
    out.print(f"[bold]{card.name}[/bold] — {card.summary}")
    out.print(f"family: {card.family}   task: {card.task}   input: {card.input_kind}")
    if len(card.tasks) > 1:
        out.print(f"tasks: {', '.join(card.tasks)} (choose with --set task=...)")
    out.print(f"paper: {card.paper}")
    if card.presets:
        from nnzoo.pretrained import licence_of

        out.print(
            f"presets (KerasHub, licence {licence_of(card.family)}): {', '.join(card.presets)}"
            f" — start from one with model.init_from: keras_hub:{card.presets[0]}"
        )
    out.print(f"export: {export_formats_line(card)}")
    out.print(f"num_params: {card.num_params:,} at the defaults (every weight, trainable or not)")
    out.print("defaults:")
    for k, v in {**card.defaults, **params}.items():
        out.print(f"  {k}: {v}")
    trainable = sum(math.prod(int(d) for d in w.shape) for w in model.trainable_weights)
    out.print(f"parameters: {model.count_params():,} ({trainable:,} trainable)")
    shapes = [tuple(t.shape) for t in model.inputs]
    out.print(f"input shape: {shapes[0] if len(shapes) == 1 else shapes}")
    out.print(f"output shape: {tuple(model.output.shape)}")
    if summary:
        model.summary(print_fn=lambda line, **_: out.print(line, markup=False))


@click.command()
@click.argument("name")
@click.option("--data", "source", help="Data source (default: an offline one that fits).")
@set_option(
    "A data source parameter, e.g. --set data.params.path=my.csv.", metavar="data.params.K=V"
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file.")
def init(name: str, source: str | None, overrides: tuple[str, ...], output: str | None) -> None:
    """Print a complete, commented config for NAME that `nnzoo train` accepts as-is.

    The config is checked as `nnzoo validate` checks one; a source that cannot feed NAME, or a
    file source without its file (`--set data.params.path=...`), is refused.
    """
    from nnzoo.config.loader import parse_set
    from nnzoo.run.templates import config_template, write_config

    data_params: dict[str, Any] = {}
    for item in overrides:
        key, value = parse_set(item)
        if not key.startswith("data.params.") or key.count(".") != 2:
            raise ConfigError(
                f"init sets only data source parameters. Received: --set {item}",
                key="--set",
                fix="use --set data.params.NAME=VALUE here; edit the written file for the rest",
            )
        data_params[key.removeprefix("data.params.")] = value
    notes: list[str] = []
    text = config_template(name, source=source, data_params=data_params, notes=notes)
    if output:
        click.echo(f"wrote {write_config(output, text)}", err=True)
    else:
        click.echo(text, nl=False)
    for note in notes:  # on standard error: `nnzoo init NAME > my.yaml` stays a config
        click.echo(f"nnzoo: note: {note}", err=True)


@click.command()
@click.argument("config", type=click.Path(dir_okay=False))
@set_option("Override any dotted key (a YAML value).")
def validate(config: str, overrides: tuple[str, ...]) -> None:
    """Check CONFIG (keys, types, model and data names) without building anything.

    Also says which files CONFIG needs from the Keras cache (data sets, ImageNet weights),
    their size and origin, and whether each is cached or will be downloaded (where to).
    With --offline / NNZOO_OFFLINE=1, a file that is not cached is an error (exit 2).
    """
    from nnzoo.run.bind import check_downloads, load_config

    cfg = load_config(config, overrides)
    needs = check_downloads(cfg)
    from nnzoo.data.files import check_table

    params = dict(cfg.data.params)
    params.setdefault("task", cfg.model.params.get("task", "auto"))
    table = check_table(cfg.data.source, params, file=cfg.source_file)
    from nnzoo.data import check_data_shape

    check_data_shape(cfg)  # what train refuses of the data's shape and split, refused first
    click.echo(f"{config}: ok ({cfg.model.name} on {cfg.data.source}, {cfg.train.epochs} epochs)")
    if table:
        click.echo(f"  {table}")
    for need in needs:
        click.echo(f"  {need.report()}")


#: The commands this module adds to the ``nnzoo`` group.
COMMANDS = (list_models_cmd, list_sources_cmd, describe, init, validate)
