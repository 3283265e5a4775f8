"""``curves.png``: loss and metrics per epoch, train and validation, the best epoch marked."""

from __future__ import annotations

import json
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
        run_dir: the run directory.
        rows: its history. Defaults to ``None``: read from ``history.csv``.
        metrics: its metrics (the best epoch and the monitored metric are marked). Defaults
            to ``None``: read from ``metrics.json``.

    Returns:
        The path of ``curves.png``.
    """
    run_dir = Path(run_dir)
    if metrics is None:
        metrics = json.loads((run_dir / files.METRICS_FILE).read_text())
    if rows is None:
        rows = files.read_history(run_dir)
    path = run_dir / "curves.png"
    with _atomic.atomic_path(path) as tmp:
        best, monitor = metrics["best"]["epoch"], metrics["monitor"]["metric"]
        plot_history(rows, tmp, best=best, monitor=monitor)
    return path


#: Panel titles that say more than the metric's name (a regression's metrics).
_TITLES = {
    "mae": "mae (target units)",
    "rmse": "rmse (target units)",
    "r2": "r2 (1 is perfect; clipped at -1)",
}


def plot_history(
    rows: list[dict[str, Any]],
    path: Path,
    *,
    best: int | None = None,
    monitor: str | None = None,
) -> None:
    """Plot ``rows`` (``history.csv``, epochs from 1) to ``path``.

    ``best`` is the epoch kept as ``model.keras`` (by ``monitor``): a dashed vertical line on
    every panel, and a star on the monitored curve.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if not rows:
        return
    names = [
        k for k in rows[0] if k not in ("epoch", "learning_rate") and not k.startswith("val_")
    ]
    fig, axes = plt.subplots(1, len(names) + 1, figsize=(4.5 * (len(names) + 1), 3.5))
    epochs = [int(r["epoch"]) for r in rows]
    for ax, name in zip(axes, names):
        ax.plot(epochs, [float(r[name]) for r in rows], marker="o", label="train")
        if f"val_{name}" in rows[0]:
            ax.plot(
                epochs, [float(r[f"val_{name}"]) for r in rows], marker="o", label="validation"
            )
        ax.set_title(_TITLES.get(name, name))
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if name == "r2":  # early epochs can be far below 0: keep the useful range in view
            values = [float(r[k]) for r in rows for k in (name, f"val_{name}") if k in r]
            ax.set_ylim(max(min(values), -1.0) - 0.05, 1.02)
    ax = axes[-1]
    if "learning_rate" in rows[0]:
        ax.plot(epochs, [float(r["learning_rate"]) for r in rows], marker="o")
    ax.set_title("learning rate")
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if best is not None:
        for ax in axes:
            ax.axvline(best, color="tab:green", linestyle="--", linewidth=1)
        row = rows[best - 1] if 0 < best <= len(rows) else {}
        name = (monitor or "").removeprefix("val_")
        if monitor in row and name in names:
            ax = axes[names.index(name)]
            ax.plot([best], [float(row[monitor])], marker="*", markersize=14, color="tab:green")
        axes[0].plot([], [], color="tab:green", linestyle="--", label=f"best epoch ({best})")
    for ax in axes[:-1]:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
