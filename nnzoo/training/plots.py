"""``curves.png``: loss and metrics per epoch, train and validation, the best epoch marked.

The title names the run and its test score; a language model's loss gets a perplexity panel
(``exp(loss)``); a constant learning rate is said in the title instead of drawn as a flat line;
epochs are integers, each marked, so a run of one or a few epochs reads as points at 1, 2, 3.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from nnzoo import _atomic
from nnzoo.run import directory as files


def write_curves(
    run_dir: str | Path,
    rows: list[dict[str, Any]] | None = None,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Draw a finished run's ``curves.png``, atomically.

    Args:
        run_dir: the run directory (``<runs>/<name>/<run-id>``: its name titles the figure).
        rows: its history. Defaults to ``None``: read from ``history.csv``.
        metrics: its metrics (the best epoch and the monitored metric are marked, the test
            score is in the title; a ``perplexity`` among the test metrics adds a perplexity
            panel). Defaults to ``None``: read from ``metrics.json``.

    Returns:
        The path of ``curves.png``.
    """
    run_dir = Path(run_dir)
    if metrics is None:
        metrics = json.loads((run_dir / files.METRICS_FILE).read_text())
    if rows is None:
        rows = files.read_history(run_dir)
    path = run_dir / "curves.png"
    test = metrics.get("test") or {}
    with _atomic.atomic_path(path) as tmp:
        best, monitor = metrics["best"]["epoch"], metrics["monitor"]["metric"]
        plot_history(
            rows,
            tmp,
            best=best,
            monitor=monitor,
            title=f"{run_dir.parent.name} / {run_dir.name}",
            test=test,
            perplexity="perplexity" in test,
        )
    return path


#: Panel titles that say more than the metric's name (a regression's metrics).
_TITLES = {
    "mae": "mae (target units)",
    "rmse": "rmse (target units)",
    "r2": "r2 (1 is perfect; clipped at -1)",
    "perplexity": "perplexity (exp of loss)",
}

#: The test metric the title shows, the first a run has (a language model: perplexity).
_SCORES = ("perplexity", "accuracy", "mae", "r2", "loss")


def score_line(test: dict[str, Any]) -> str:
    """``test accuracy 0.9639`` (the first of :data:`_SCORES` in ``test``), or ``''``."""
    for name in _SCORES:
        if name in test:
            return f"test {name} {float(test[name]):.4g}"
    return ""


def plot_history(
    rows: list[dict[str, Any]],
    path: Path,
    *,
    best: int | None = None,
    monitor: str | None = None,
    title: str | None = None,
    test: dict[str, Any] | None = None,
    perplexity: bool = False,
) -> None:
    """Plot ``rows`` (``history.csv``, epochs from 1) to ``path``.

    ``best`` is the epoch kept as ``model.keras`` (by ``monitor``): a dashed vertical line on
    every panel, and a star on the monitored curve. ``title`` (the run's name) and the test
    score from ``test`` head the figure. ``perplexity`` adds ``exp(loss)`` (train and
    validation) as a panel of its own. The learning rate has a panel only where it changes.
    """
    import matplotlib.pyplot as plt

    if not rows:
        return
    fig = history_figure(
        rows, best=best, monitor=monitor, title=title, test=test, perplexity=perplexity
    )
    fig.savefig(path, dpi=90)
    plt.close(fig)


def history_figure(
    rows: list[dict[str, Any]],
    *,
    best: int | None = None,
    monitor: str | None = None,
    title: str | None = None,
    test: dict[str, Any] | None = None,
    perplexity: bool = False,
) -> Any:
    """The figure :func:`plot_history` saves (``rows`` not empty), left open for the caller."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [dict(r) for r in rows]
    if perplexity and "perplexity" not in rows[0]:
        for r in rows:
            for key in ("loss", "val_loss"):
                if key in r and r[key] not in ("", None):
                    name = key.replace("loss", "perplexity")
                    r[name] = math.exp(min(float(r[key]), 50.0))
    names = [
        k for k in rows[0] if k not in ("epoch", "learning_rate") and not k.startswith("val_")
    ]
    rates = [float(r["learning_rate"]) for r in rows if r.get("learning_rate") not in ("", None)]
    varying = len(set(rates)) > 1
    panels = len(names) + int(varying)
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 3.5), squeeze=False)
    axes = list(axes[0])
    epochs = [int(r["epoch"]) for r in rows]
    for ax, name in zip(axes, names):
        ax.plot(epochs, [float(r[name]) for r in rows], marker="o", label="train")
        if f"val_{name}" in rows[0]:
            ax.plot(
                epochs, [float(r[f"val_{name}"]) for r in rows], marker="o", label="validation"
            )
        ax.set_title(_TITLES.get(name, name))
        if name == "r2":  # early epochs can be far below 0: keep the useful range in view
            values = [float(r[k]) for r in rows for k in (name, f"val_{name}") if k in r]
            ax.set_ylim(max(min(values), -1.0) - 0.05, 1.02)
    if varying:
        ax = axes[-1]
        ax.plot(epochs, [float(r["learning_rate"]) for r in rows], marker="o")
        ax.set_title("learning rate")
    for ax in axes:
        _epoch_axis(ax, epochs)
    if best is not None:
        for ax in axes:
            ax.axvline(best, color="tab:green", linestyle="--", linewidth=1)
        row = rows[best - 1] if 0 < best <= len(rows) else {}
        name = (monitor or "").removeprefix("val_")
        if monitor in row and name in names:
            ax = axes[names.index(name)]
            ax.plot([best], [float(row[monitor])], marker="*", markersize=14, color="tab:green")
        axes[0].plot([], [], color="tab:green", linestyle="--", label=f"best epoch ({best})")
    for ax in axes[: len(names)]:
        ax.legend(fontsize="small")
    heading = [title or "", score_line(test or {})]
    if rates and not varying:
        heading.append(f"learning rate {rates[0]:.3g} (constant)")
    fig.suptitle(" · ".join(h for h in heading if h))
    fig.tight_layout()
    return fig


def _epoch_axis(ax: Any, epochs: list[int]) -> None:
    """Epochs as integers: every epoch ticked (up to 10), half an epoch of room either side."""
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
    first, last = min(epochs), max(epochs)
    ax.set_xlim(first - 0.5, last + 0.5)
    if last - first < 10:
        ax.set_xticks(range(first, last + 1))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
