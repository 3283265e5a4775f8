"""Runs side by side: overlaid curves, a metric table and the config differences.

:func:`compare` reads only the runs' files (``config.yaml``, ``metrics.json``,
``history.csv``), never a model, and writes into a folder of its own: ``compare.md`` (the
metric table and the differing config keys, in markdown) and one ``curves_<metric>.png`` per
column of ``history.csv`` that every run has. Nothing is ever written into a run. Works for a
study's trials (``runs/<name>/tune/trials/<number>``) as for runs of any configs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from nnzoo import _atomic
from nnzoo.errors import NnzooError
from nnzoo.run.directory import (
    CONFIG_FILE,
    METRICS_FILE,
    check_run_dir,
    flatten,
    read_history,
    read_json,
)
from nnzoo.run.listing import is_run_dir, read_yaml, summarize

COMPARE_FILE = "compare.md"
#: What a config value that one run lacks shows as in the differences.
MISSING = "(absent)"


def config_differences(configs: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """The dotted keys whose values differ between ``configs`` (or that some lack: shown as
    :data:`MISSING`), sorted, each with its value in every config."""
    flat = [flatten(c) for c in configs]
    differences = {}
    for key in sorted(set().union(*flat)):
        values = [f.get(key, MISSING) for f in flat]
        if len({repr(v) for v in values}) > 1:
            differences[key] = values
    return differences


def check_output(output: Path, runs: Sequence[Path], *, force: bool) -> None:
    """Refuse an ``output`` folder inside a run (any run, not only the compared ones) or one
    that exists and is not empty, unless ``force``."""
    for directory in (output.resolve(), *output.resolve().parents):
        if is_run_dir(directory):
            raise NnzooError(
                f"{output}: inside the run directory {directory}; compare never writes into a "
                "run. Fix: write it elsewhere, e.g. --output compare"
            )
    if output.exists() and not output.is_dir():
        raise NnzooError(f"{output}: is a file. Fix: give a folder with --output")
    if output.is_dir() and any(output.iterdir()) and not force:
        raise NnzooError(
            f"{output}: exists and is not empty. Fix: choose another --output, or pass --force "
            f"to replace the files compare writes there ({COMPARE_FILE}, curves_*.png)"
        )


def default_output() -> Path:
    """A new ``compare-<timestamp>`` folder name in the current folder (``-1``, ``-2``, ... if
    taken)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path(f"compare-{stamp}")
    i = 1
    while path.exists():
        path = Path(f"compare-{stamp}-{i}")
        i += 1
    return path


def _labels(summaries: Sequence[Mapping[str, Any]]) -> list[str]:
    labels = [f"{s['name']}/{s['run_id']}" for s in summaries]
    if len(set(labels)) < len(labels):  # the same run id under two roots: the paths
        labels = [str(s["path"]) for s in summaries]
    return labels


def _fmt(value: Any, *, exact: bool = False) -> str:
    """A table cell: floats to 4 significant digits (``exact``: as written, so that two
    config values that differ never read the same)."""
    if value is None:
        return "null" if exact else "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and not exact:
        return f"{value:.4g}"
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return text if text else '""'


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, exact: bool = False) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v, exact=exact) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def plot_metric(
    histories: Sequence[list[dict[str, Any]]],
    labels: Sequence[str],
    metric: str,
    path: Path,
    *,
    best: Sequence[int | None] = (),
) -> None:
    """One figure: ``metric`` per epoch, a line per run, written atomically to ``path``.

    ``best``: per run, the epoch kept as its ``model.keras`` when ``metric`` is the one its
    ``train.monitor`` watches (else ``None``): a star on that run's line. Defaults to none.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    # Matplotlib's own defaults, whatever style the process set (Optuna's plots set ggplot).
    with plt.style.context("default"):
        fig, ax = plt.subplots(figsize=(7, 4.2))
    try:
        for i, (rows, label) in enumerate(zip(histories, labels)):
            points = [
                (int(r["epoch"]), float(r[metric]))
                for r in rows
                if metric in r and math.isfinite(float(r[metric]))
            ]
            if not points:
                continue
            (line,) = ax.plot(*zip(*points), marker="o", markersize=4, label=label)
            kept = [p for p in points if i < len(best) and p[0] == best[i]]
            if kept:
                ax.plot(*kept[0], marker="*", markersize=14, color=line.get_color(), zorder=3)
        if any(b is not None for b in best):
            ax.plot([], [], "*", markersize=10, color="grey", label="kept epoch (train.monitor)")
        ax.set_title(metric)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        last = max((int(r["epoch"]) for rows in histories for r in rows), default=1)
        ax.set_xlim(0.5, last + 0.5)  # one or two epochs: a sensible axis, not 0.945..1.055
        if last <= 10:
            ax.set_xticks(range(1, last + 1))  # whole epochs only
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
        fig.tight_layout()
        with _atomic.atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=90, format="png")
    finally:
        plt.close(fig)


def compare(
    run_dirs: Sequence[str | Path],
    output: str | Path | None = None,
    *,
    force: bool = False,
) -> Path:
    """Write the comparison of ``run_dirs`` into ``output`` and return that folder.

    Args:
        run_dirs: two or more run directories.
        output: the folder to write. Defaults to ``None``: a new ``compare-<timestamp>`` in
            the current folder. An existing folder must be empty, unless ``force``.
        force: write into an existing, non-empty ``output`` (replacing the files compare
            writes). Defaults to ``False``.

    Returns:
        The output folder, holding ``compare.md`` and ``curves_<metric>.png`` per metric of
        ``history.csv`` that every run has.
    """
    if len(run_dirs) < 2:
        got = f"1 run ({run_dirs[0]})" if run_dirs else "none"
        raise NnzooError(
            f"compare needs at least 2 runs; received {got}. Fix: name two or more run "
            "directories, e.g. nnzoo compare runs/a/<run-id> runs/b/<run-id> (nnzoo runs "
            "lists them)"
        )
    runs = [check_run_dir(path) for path in run_dirs]
    seen: dict[Path, Path] = {}
    for run in runs:
        if run.resolve() in seen:
            raise NnzooError(
                f"{run}: named twice (as {seen[run.resolve()]} before). Fix: name each run once"
            )
        seen[run.resolve()] = run
    out = Path(output) if output is not None else default_output()
    check_output(out, runs, force=force)

    summaries = [summarize(run) for run in runs]
    for run, summary in zip(runs, summaries):
        if summary["status"] == "unreadable":
            raise NnzooError(
                f"{run}: unreadable ({summary['error']}). Fix: copy the whole run directory "
                "again, or leave it out"
            )
    configs = [read_yaml(run / CONFIG_FILE) for run in runs]
    histories = [read_history(run) for run in runs]
    labels = _labels(summaries)

    out.mkdir(parents=True, exist_ok=True)
    columns = [set(k for row in rows for k in row if k != "epoch") for rows in histories]
    common = set.intersection(*columns) if all(columns) else set()
    order = [k for k in (histories[0][0] if histories[0] else {}) if k in common]
    pictures = []
    monitors = [
        (read_json(run, METRICS_FILE, required=False) or {}).get("monitor") for run in runs
    ]
    # A column that holds one value in every epoch of every run (a constant learning rate
    # they share) has nothing to compare: it is named in compare.md, not drawn.
    constants = {}
    for metric in order:
        values = {r[metric] for rows in histories for r in rows if metric in r}
        if len(values) == 1:
            constants[metric] = values.pop()
    for metric in order:
        if metric in constants:
            continue
        path = out / f"curves_{metric}.png"
        best = [
            s["best_epoch"] if (m or {}).get("metric") == metric else None
            for s, m in zip(summaries, monitors)
        ]
        plot_metric(histories, labels, metric, path, best=best)
        pictures.append(path.name)

    tests = sorted({k for s in summaries for k in s["test"]})
    metric_rows = [
        [
            label,
            s["model"],
            s["data"],
            s["status"],
            s["best_epoch"],
            *(s["test"].get(k) for k in tests),
            s["params"],
            f"{s['wall_seconds']:.1f} s" if s["wall_seconds"] is not None else None,
        ]
        for label, s in zip(labels, summaries)
    ]
    header = ["run", "model", "data", "status", "best epoch", *(f"test {k}" for k in tests),
              "params", "wall"]  # fmt: skip
    differences = config_differences(configs)
    parts = [
        "# Comparison of runs",
        "",
        *(f"- `{label}`: `{run}`" for label, run in zip(labels, runs)),
        "",
        "## Metrics",
        "",
        "Test metrics of each run's kept model (`metrics.json`); best epoch by its "
        "`train.monitor`.",
        "",
        _table(header, metric_rows),
        "",
        "## Config differences",
        "",
    ]
    if differences:
        parts += [
            f"The {len(differences)} key{'' if len(differences) == 1 else 's'} of `config.yaml` "
            "whose values differ.",
            "",
            _table(["key", *labels], [[k, *v] for k, v in differences.items()], exact=True),
        ]
    else:
        parts.append("The runs' configs are the same.")
    parts += ["", "## Curves", ""]
    if pictures:
        parts += [f"![{Path(p).stem[len('curves_') :]}]({p})" for p in pictures]
    elif not constants:
        parts.append("The runs' histories share no metric (or one has no epochs yet).")
    if constants:
        same = ", ".join(f"{k} = {v:g}" for k, v in constants.items())
        parts += ["", f"The same in every epoch of every run, so not drawn: {same}."]
    _atomic.write_text(out / COMPARE_FILE, "\n".join(parts) + "\n")
    return out
