"""A run's ``report/``: what its model gets right and wrong on the test split, in numbers and
pictures, gathered in one self-contained ``report.html``.

From one predict pass over the test split (:func:`predict_batches`), by task:

- ``classification``: ``per_class.csv`` and ``per_class.json`` (precision, recall, F1 and
  support per class, scikit-learn's ``classification_report``), ``confusion_matrix.png``
  (counts, and each row normalised to the true class's share), and for two classes
  ``roc.png`` and ``precision_recall.png`` with their areas.
- ``regression``: ``predicted_vs_true.png`` and ``residuals.png``, with MAE, RMSE and R²
  (scikit-learn's metrics).
- ``language_modeling`` and ``masked_lm``: the test loss and its perplexity (``exp(loss)``);
  no predict pass.

``report.json`` holds every number; ``report.html`` embeds every picture as a base64 PNG (and
the run's ``curves.png``), the resolved config, the model and the data summary: no network,
no CDN. It lives in the run room so that the trainer (at the end of a run) and
:mod:`nnzoo.inference.evaluate` (on demand) write the same report; it imports matplotlib and
scikit-learn only when it writes.
"""

from __future__ import annotations

import base64
import csv
import html
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from nnzoo import _atomic

__all__ = [
    "REPORT_DIR",
    "about_run",
    "embed_curves",
    "per_class_lines",
    "predict_batches",
    "summarise",
    "write_report",
]

#: The report's folder in a run directory.
REPORT_DIR = "report"
#: Tasks scored from predictions (the others from the test loss alone).
PREDICTED_TASKS = ("classification", "regression")


def predict_batches(model: Any, batches: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, outputs)`` of ``model`` over ``(x, y, ...)`` batches: one pass."""
    labels, outputs = [], []
    for batch in batches:
        x, y = batch[0], batch[1]
        outputs.append(np.asarray(model.predict_on_batch(x)))
        labels.append(np.asarray(y))
    if not outputs:
        return np.zeros((0,)), np.zeros((0,))
    return np.concatenate(labels), np.concatenate(outputs)


def _class_predictions(outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Class ids from logits, and a score for class 1 where there are two classes (one logit,
    or two: ``l1 - l0`` orders examples as the softmax's probability of class 1 does)."""
    outputs = np.asarray(outputs, dtype="float64")
    if outputs.ndim == 1 or outputs.shape[-1] == 1:
        score = outputs.reshape(-1)
        return (score > 0).astype("int64"), score
    pred = np.argmax(outputs, axis=-1)
    score = outputs[:, 1] - outputs[:, 0] if outputs.shape[-1] == 2 else None
    return pred, score


def summarise(
    task: str,
    labels: np.ndarray | None = None,
    outputs: np.ndarray | None = None,
    *,
    class_names: list[str] | None = None,
    test: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The report's numbers (``report.json``): see the module docstring.

    Args:
        task: the run's task.
        labels: the test split's labels (class ids, or targets in their units).
        outputs: the model's outputs for them (logits, or predictions in the target's units).
        class_names: the run's classes. Defaults to ``None``: their ids.
        test: the test metrics (the loss, for perplexity). Defaults to ``None``.
    """
    from sklearn import metrics as skm

    test = dict(test or {})
    if task == "classification":
        y = np.asarray(labels).reshape(-1).astype("int64")
        pred, score = _class_predictions(outputs)
        num = max(len(class_names or []), int(max(y.max(initial=0), pred.max(initial=0))) + 1)
        names = list(class_names or [str(i) for i in range(num)])
        ids = list(range(num))
        per_class = skm.classification_report(
            y, pred, labels=ids, target_names=names, output_dict=True, zero_division=0
        )
        summary = {
            "task": task,
            "examples": int(len(y)),
            "accuracy": float(skm.accuracy_score(y, pred)),
            "class_names": names,
            "confusion_matrix": skm.confusion_matrix(y, pred, labels=ids).tolist(),
            "per_class": per_class,
        }
        if score is not None and len(np.unique(y)) == 2:
            summary["roc_auc"] = float(skm.roc_auc_score(y, score))
            summary["average_precision"] = float(skm.average_precision_score(y, score))
        return summary
    if task == "regression":
        y = np.asarray(labels, dtype="float64").reshape(-1)
        pred = np.asarray(outputs, dtype="float64").reshape(-1)
        return {
            "task": task,
            "examples": int(len(y)),
            "mae": float(skm.mean_absolute_error(y, pred)),
            "rmse": float(math.sqrt(skm.mean_squared_error(y, pred))),
            "r2": float(skm.r2_score(y, pred)),
        }
    summary = {"task": task, **{k: v for k, v in test.items() if k in ("loss", "examples")}}
    if "loss" in test:
        summary["perplexity"] = float(math.exp(min(float(test["loss"]), 50.0)))
    return summary


def per_class_lines(summary: dict[str, Any]) -> list[str]:
    """The per-class table as aligned text lines (``evaluate --per-class`` prints them)."""
    names = summary["class_names"]
    width = max([len("weighted avg"), *(len(n) for n in names)])
    lines = [f"{'class':<{width}}  precision  recall      f1  support"]
    for name in [*names, "macro avg", "weighted avg"]:
        row = summary["per_class"][name]
        lines.append(
            f"{name:<{width}}  {row['precision']:9.4f}  {row['recall']:6.4f}  "
            f"{row['f1-score']:6.4f}  {int(row['support']):7d}"
        )
    lines.append(f"accuracy: {summary['accuracy']:.4f} ({summary['examples']} examples)")
    return lines


def write_report(
    out_dir: str | Path,
    summary: dict[str, Any],
    *,
    labels: np.ndarray | None = None,
    outputs: np.ndarray | None = None,
    title: str = "",
    run_dir: str | Path | None = None,
    about: dict[str, str] | None = None,
) -> Path:
    """Write ``summary`` (:func:`summarise`) and its pictures into ``out_dir``, each file
    aside and renamed into place, then ``report.html``.

    Args:
        out_dir: the report's folder (created).
        summary: the report's numbers.
        labels: the labels :func:`summarise` was given (for the pictures).
        outputs: the outputs it was given.
        title: the page's title (the run's name). Defaults to ``''``.
        run_dir: the run (its ``curves.png`` and ``config.yaml`` go into ``report.html``).
            Defaults to ``None``.
        about: more sections of ``report.html`` as ``{heading: text}`` (the model, the data).
            Defaults to ``None``.

    Returns:
        The path of ``report.html``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _atomic.write_json(out / "report.json", summary)
    pictures: list[str] = []
    task = summary["task"]
    if task == "classification":
        _write_per_class(out, summary)
        pictures.append(_save(out / "confusion_matrix.png", _confusion_figure(summary)))
        _, score = _class_predictions(outputs) if outputs is not None else (None, None)
        if "roc_auc" in summary and score is not None:
            y = np.asarray(labels).reshape(-1).astype("int64")
            roc, pr = _binary_figures(y, score, summary)
            pictures += [_save(out / "roc.png", roc), _save(out / "precision_recall.png", pr)]
    elif task == "regression" and labels is not None and outputs is not None:
        y = np.asarray(labels, dtype="float64").reshape(-1)
        pred = np.asarray(outputs, dtype="float64").reshape(-1)
        scatter, residuals = _regression_figures(y, pred, summary)
        pictures.append(_save(out / "predicted_vs_true.png", scatter))
        pictures.append(_save(out / "residuals.png", residuals))
    path = out / "report.html"
    _atomic.write_text(path, _html(out, summary, pictures, title, run_dir, about or {}))
    return path


# --------------------------------------------------------------------------- files


def _write_per_class(out: Path, summary: dict[str, Any]) -> None:
    per_class = summary["per_class"]
    _atomic.write_json(out / "per_class.json", per_class)
    with _atomic.atomic_open(out / "per_class.csv", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["class", "precision", "recall", "f1", "support"])
        for name in [*summary["class_names"], "macro avg", "weighted avg"]:
            row = per_class[name]
            writer.writerow(
                [name, row["precision"], row["recall"], row["f1-score"], int(row["support"])]
            )


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(path: Path, fig: Any) -> str:
    """Save ``fig`` to ``path`` (aside, then renamed) and close it; its file name."""
    plt = _pyplot()
    with _atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80, format="png")
    plt.close(fig)
    return path.name


def _confusion_figure(summary: dict[str, Any]) -> Any:
    plt = _pyplot()
    counts = np.asarray(summary["confusion_matrix"], dtype="int64")
    names = summary["class_names"]
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
    n = len(names)
    side = min(max(3.2, 0.35 * n + 1.8), 9.0)
    fig, axes = plt.subplots(1, 2, figsize=(2 * side + 0.8, side))
    annotate = n <= 20
    for ax, values, label in ((axes[0], counts, "counts"), (axes[1], share, "row-normalised")):
        image = ax.imshow(values, cmap="Blues", vmin=0)
        ax.set_title(label)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        if n <= 30:
            ax.set_xticks(range(n), names, rotation=90 if n > 6 else 0, fontsize="small")
            ax.set_yticks(range(n), names, fontsize="small")
        if not annotate:  # too many classes to write each cell: a colour scale instead
            fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
            continue
        top = float(values.max()) or 1.0
        for i in range(n):
            for j in range(n):
                if counts[i, j] == 0:  # blank is zero: cheap to draw, easy to read
                    continue
                text = f"{values[i, j]:d}" if label == "counts" else f"{values[i, j]:.2f}"
                colour = "white" if values[i, j] > top / 2 else "black"
                ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=7)
    fig.suptitle(
        f"accuracy {summary['accuracy']:.4f} on {summary['examples']} examples (blank: none)"
    )
    fig.tight_layout()
    return fig


def _binary_figures(y: np.ndarray, score: np.ndarray, summary: dict[str, Any]) -> tuple:
    from sklearn.metrics import precision_recall_curve, roc_curve

    plt = _pyplot()
    positive = summary["class_names"][1]
    fpr, tpr, _ = roc_curve(y, score)
    roc, ax = plt.subplots(figsize=(4, 4))
    ax.plot(fpr, tpr, label=f"AUC {summary['roc_auc']:.4f}")
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="chance")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=f"ROC ({positive})")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    roc.tight_layout()
    precision, recall, _ = precision_recall_curve(y, score)
    pr, ax = plt.subplots(figsize=(4, 4))
    ax.plot(recall, precision, label=f"AP {summary['average_precision']:.4f}")
    ax.axhline(float(np.mean(y == 1)), linestyle=":", color="grey", label="chance")
    ax.set(xlabel="recall", ylabel="precision", title=f"precision-recall ({positive})")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left")
    ax.grid(alpha=0.3)
    pr.tight_layout()
    return roc, pr


def _regression_figures(y: np.ndarray, pred: np.ndarray, summary: dict[str, Any]) -> tuple:
    plt = _pyplot()
    words = f"MAE {summary['mae']:.4g} · RMSE {summary['rmse']:.4g} · R² {summary['r2']:.4f}"
    scatter, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(y, pred, s=10, alpha=0.6)
    low, high = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
    ax.plot([low, high], [low, high], color="grey", linestyle=":", label="perfect")
    ax.set(xlabel="true", ylabel="predicted", title=words)
    ax.title.set_fontsize("small")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    scatter.tight_layout()
    residuals, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(pred, y - pred, s=10, alpha=0.6)
    ax.axhline(0.0, color="grey", linestyle=":")
    ax.set(xlabel="predicted", ylabel="true - predicted", title=words)
    ax.title.set_fontsize("small")
    ax.grid(alpha=0.3)
    residuals.tight_layout()
    return scatter, residuals


# --------------------------------------------------------------------------- report.html


def _inline(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(path.name)}" src="data:image/png;base64,{data}">'


_CURVES_PLACE = "<!-- curves.png -->"


def _curves_section(curves: Path) -> str:
    return "<h2>Training curves</h2>\n" + _inline(curves)


def embed_curves(run_dir: str | Path) -> bool:
    """Put the run's ``curves.png``, drawn after its report (a lean tuning trial's), into its
    ``report/report.html``. Returns whether it did."""
    run_dir = Path(run_dir)
    page, curves = run_dir / REPORT_DIR / "report.html", run_dir / "curves.png"
    if not (page.is_file() and curves.is_file()):
        return False
    text = page.read_text(encoding="utf-8")
    if _CURVES_PLACE not in text:
        return False
    _atomic.write_text(page, text.replace(_CURVES_PLACE, _curves_section(curves), 1))
    return True


def _numbers(summary: dict[str, Any]) -> str:
    keys = ("examples", "accuracy", "roc_auc", "average_precision", "mae", "rmse", "r2")
    keys += ("loss", "perplexity")
    rows = [
        f"<tr><th>{k}</th><td>{summary[k]:.4f}</td></tr>"
        if isinstance(summary[k], float)
        else f"<tr><th>{k}</th><td>{summary[k]}</td></tr>"
        for k in keys
        if k in summary
    ]
    return "<table>" + "".join(rows) + "</table>"


def _per_class_table(summary: dict[str, Any]) -> str:
    head = "<tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>"
    body = []
    for name in [*summary["class_names"], "macro avg", "weighted avg"]:
        r = summary["per_class"][name]
        body.append(
            f"<tr><th>{html.escape(name)}</th><td>{r['precision']:.4f}</td>"
            f"<td>{r['recall']:.4f}</td><td>{r['f1-score']:.4f}</td>"
            f"<td>{int(r['support'])}</td></tr>"
        )
    return "<table>" + head + "".join(body) + "</table>"


_STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
    "table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;"
    "padding:.2em .6em;text-align:right}th{text-align:left}img{max-width:100%;margin:.3em}"
    "pre{background:#f6f6f6;padding:.8em;overflow-x:auto}"
)


def _html(
    out: Path,
    summary: dict[str, Any],
    pictures: list[str],
    title: str,
    run_dir: str | Path | None,
    about: dict[str, str],
) -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title or 'nnzoo report')}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{esc(title or 'nnzoo report')}</h1>",
        f"<h2>Test results ({esc(summary['task'])})</h2>",
        _numbers(summary),
    ]
    if "per_class" in summary:
        parts += ["<h2>Per class</h2>", _per_class_table(summary)]
    if pictures:
        parts.append("<h2>Pictures</h2>")
        parts += [_inline(out / name) for name in pictures]
    curves = Path(run_dir) / "curves.png" if run_dir is not None else None
    if curves is not None and curves.is_file():
        parts += [_curves_section(curves)]
    else:  # a lean trial's curves.png is drawn later: embed_curves puts it here
        parts.append(_CURVES_PLACE)
    for heading, text in about.items():
        parts += [f"<h2>{esc(heading)}</h2>", f"<pre>{esc(text)}</pre>"]
    config = Path(run_dir) / "config.yaml" if run_dir is not None else None
    if config is not None and config.is_file():
        parts += ["<h2>Config</h2>", f"<pre>{esc(config.read_text(encoding='utf-8'))}</pre>"]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def about_run(card: Any, spec: Any) -> dict[str, str]:
    """``report.html``'s model and data sections from a model card and a data spec."""
    model = "\n".join(
        [
            f"{card.name} (family {card.family}, task {spec.task})",
            str(card.summary),
        ]
    )
    return {"Model": model, "Data": spec.describe()}
