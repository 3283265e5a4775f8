"""``curves.png``: loss and metrics per epoch, train and validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_history(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not rows:
        return
    names = [
        k for k in rows[0] if k not in ("epoch", "learning_rate") and not k.startswith("val_")
    ]
    fig, axes = plt.subplots(1, len(names) + 1, figsize=(4.5 * (len(names) + 1), 3.5))
    epochs = [int(r["epoch"]) + 1 for r in rows]
    for ax, name in zip(axes, names):
        ax.plot(epochs, [float(r[name]) for r in rows], marker="o", label="train")
        if f"val_{name}" in rows[0]:
            ax.plot(
                epochs, [float(r[f"val_{name}"]) for r in rows], marker="o", label="validation"
            )
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    ax = axes[-1]
    if "learning_rate" in rows[0]:
        ax.plot(epochs, [float(r["learning_rate"]) for r in rows], marker="o")
    ax.set_title("learning rate")
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
