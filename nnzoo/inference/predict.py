"""``nnzoo predict``: a run's (or an export's) predictions for raw inputs, a batch at a time.

The inputs are read as the run's data was (:mod:`nnzoo.inference.readers`); the rows are
written by :mod:`nnzoo.inference.writers`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnzoo.inference.load import LoadedExport, LoadedRun, is_export_folder, load_export, load_run

__all__ = [
    "PredictedBatch",
    "PredictionStream",
    "Predictions",
    "RegressedBatch",
    "iter_predictions",
    "predict",
]


class Predictions(list):
    """The rows :func:`predict` returns (a list of dicts: ``input``, ``class``, ``index``,
    ``probability``, ``probabilities`` and, where the input has labels, ``label``; for a
    regression run ``input``, ``prediction`` and ``label``), with ``accuracy`` over the
    labelled rows of a classifier and ``metrics`` (``mae``, ``rmse``, ``r2``) over those of a
    regression (``None`` when the input has no label column)."""

    def __init__(
        self,
        rows: Iterable[dict[str, Any]] = (),
        *,
        accuracy: float | None = None,
        metrics: dict[str, float] | None = None,
    ) -> None:
        super().__init__(rows)
        self.accuracy = accuracy
        self.metrics = metrics


@dataclass
class PredictedBatch:
    """The predictions for one batch of inputs, as arrays (what :class:`PredictionStream`
    makes its rows from; :func:`~nnzoo.inference.writers.write_predictions` writes them whole).

    Attributes:
        names: what each input is called.
        probabilities: ``(N, K)`` float64 class probabilities.
        best: ``(N,)`` the index of each input's predicted class.
        labels: ``(N,)`` class ids where the input carries labels, else ``None``.
        class_names: the ``K`` class names.
    """

    names: list[str]
    probabilities: np.ndarray
    best: np.ndarray
    labels: np.ndarray | None
    class_names: list[str]

    @property
    def best_probability(self) -> list[float]:
        """Each input's probability of its predicted class."""
        return self.probabilities[np.arange(len(self.best)), self.best].tolist()

    def rows(self) -> Iterator[dict[str, Any]]:
        """One dict per input (see :class:`Predictions`)."""
        names, labels = self.class_names, self.labels
        for i, (name, row) in enumerate(zip(self.names, self.probabilities.tolist())):
            k = int(self.best[i])
            out = {
                "input": name,
                "class": names[k],
                "index": k,
                "probability": row[k],
                "probabilities": dict(zip(names, row)),
            }
            if labels is not None:
                out["label"] = names[int(labels[i])]
            yield out


@dataclass
class RegressedBatch:
    """A regression run's predictions for one batch of inputs, in the target's units.

    Attributes:
        names: what each input is called.
        values: ``(N,)`` float64 predictions.
        labels: ``(N,)`` float64 targets where the input carries them, else ``None``.
    """

    names: list[str]
    values: np.ndarray
    labels: np.ndarray | None

    def rows(self) -> Iterator[dict[str, Any]]:
        """One dict per input: ``input``, ``prediction`` and, where labelled, ``label``."""
        labels = None if self.labels is None else self.labels.tolist()
        for i, (name, value) in enumerate(zip(self.names, self.values.tolist(), strict=True)):
            out = {"input": name, "prediction": value}
            if labels is not None:
                out["label"] = labels[i]
            yield out


class _RegressionScore:
    """MAE, RMSE and R² over labelled batches, accumulated in float64 (R² as Keras's
    ``R2Score``: 1 - SSE / total sum of squares about the labels' mean)."""

    def __init__(self) -> None:
        self.count = 0
        self.abs_error = self.sq_error = self.total = self.total_sq = 0.0

    def update(self, values: np.ndarray, labels: np.ndarray) -> None:
        error = values - labels
        self.count += len(labels)
        self.abs_error += float(np.abs(error).sum())
        self.sq_error += float((error**2).sum())
        self.total += float(labels.sum())
        self.total_sq += float((labels**2).sum())

    def metrics(self) -> dict[str, float] | None:
        if not self.count:
            return None
        n = self.count
        spread = self.total_sq - self.total**2 / n
        r2 = 1.0 - self.sq_error / spread if spread > 0 else float("nan")
        return {
            "mae": self.abs_error / n,
            "rmse": float(np.sqrt(self.sq_error / n)),
            "r2": float(r2),
        }


class PredictionStream:
    """The predictions of a run for some inputs, made batch by batch as they are iterated.

    Iterating gives one dict per input (see :class:`Predictions`); :meth:`batches` gives the
    same predictions a :class:`PredictedBatch` at a time, without a Python object per row.
    After the iteration, ``examples``, ``labelled`` and ``correct`` count the rows and
    ``accuracy`` is ``correct / labelled`` (``None`` when the input had no labels). A
    regression run's batches are :class:`RegressedBatch` es and ``metrics`` holds MAE, RMSE
    and R² of the labelled rows (``accuracy`` is ``None``).
    """

    def __init__(self, run: LoadedRun | LoadedExport, batches: Iterable[Any]) -> None:
        self.run, self._batches = run, batches
        self.examples = self.labelled = self.correct = 0
        #: What the reader noticed (columns not used, unseen categories), once read.
        self.notes: list[str] = []
        self.regression = run.spec.task == "regression"
        self._score = _RegressionScore()

    @property
    def accuracy(self) -> float | None:
        if self.regression:
            return None
        return self.correct / self.labelled if self.labelled else None

    @property
    def metrics(self) -> dict[str, float] | None:
        """MAE, RMSE and R² of a regression run's labelled rows (else ``None``)."""
        return self._score.metrics() if self.regression else None

    def batches(self) -> Iterator[PredictedBatch]:
        """The predictions a batch at a time (``examples`` counts each batch as it comes).

        The next batch is read and predicted in a worker thread while the caller uses this
        one (the model's runtime releases the GIL: writing the output overlaps predicting);
        at most two batches are held.
        """
        from concurrent.futures import ThreadPoolExecutor

        batches = iter(self._batches)
        with ThreadPoolExecutor(1, thread_name_prefix="nnzoo-predict") as worker:
            pending = worker.submit(self._predict_next, batches)
            try:
                while (done := pending.result()) is not None:
                    pending = worker.submit(self._predict_next, batches)
                    yield done
            finally:
                pending.cancel()  # the caller stopped early: a started batch is waited for

    def _predict_next(self, batches: Iterator[Any]) -> PredictedBatch | RegressedBatch | None:
        batch = next(batches, None)
        if batch is None:
            return None
        self.notes = batch.notes
        if self.regression:
            return self._regress(batch)
        logits = np.asarray(self.run.model.predict_on_batch(batch.x), dtype="float64")
        probs = _probabilities(logits)
        names = self.run.spec.class_names or [str(i) for i in range(probs.shape[-1])]
        best = probs.argmax(axis=-1)
        if batch.labels is not None:
            self.labelled += len(batch.labels)
            self.correct += int((best == batch.labels).sum())
        self.examples += len(best)
        return PredictedBatch(batch.names, probs, best, batch.labels, names)

    def _regress(self, batch: Any) -> RegressedBatch:
        values = np.asarray(self.run.model.predict_on_batch(batch.x), dtype="float64")
        values = values.reshape(len(batch.names))  # (N,) in the target's units
        labels = None
        if batch.labels is not None:
            labels = np.asarray(batch.labels, dtype="float64").reshape(-1)
            self.labelled += len(labels)
            self._score.update(values, labels)
        self.examples += len(values)
        return RegressedBatch(batch.names, values, labels)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for batch in self.batches():
            yield from batch.rows()


def _probabilities(logits: np.ndarray) -> np.ndarray:
    """Class probabilities of logits ``(N, K)``; one logit is a binary task (sigmoid)."""
    if logits.shape[-1] == 1:
        p1 = 1.0 / (1.0 + np.exp(-logits[:, 0]))
        return np.stack([1.0 - p1, p1], axis=-1)
    z = logits - logits.max(axis=-1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)


def iter_predictions(
    run_dir: str | Path, inputs: str | Path, *, batch_size: int = 1024
) -> PredictionStream:
    """The predictions of a saved run for ``inputs``, read, predicted and yielded
    ``batch_size`` examples at a time (so a file of any length fits in memory).

    ``run_dir`` is a run directory or a folder ``nnzoo export`` wrote (its artifact then makes
    the predictions, run by its own runtime). ``inputs`` are raw, as the run's data was (see
    :mod:`nnzoo.inference.readers`): a CSV in the training file's format with or without its label
    column, ``.npy`` / ``.npz`` arrays, images, or text lines. What can be checked up front is
    checked before this returns.
    """
    from nnzoo.inference.readers import read_batches

    run = load_export(run_dir) if is_export_folder(run_dir) else load_run(run_dir)
    batches = read_batches(Path(inputs), run.spec, run.run_dir, batch_size=batch_size)
    return PredictionStream(run, batches)


def predict(run_dir: str | Path, inputs: str | Path, *, batch_size: int = 1024) -> Predictions:
    """Class predictions (name and probabilities) of a saved run, or of an exported one, for
    the examples in ``inputs``, and their ``accuracy`` where ``inputs`` carry the label column;
    a regression run's predictions in the target's units, and their ``metrics`` (MAE, RMSE,
    R²) where ``inputs`` carry the target (see :func:`iter_predictions`).
    """
    stream = iter_predictions(run_dir, inputs, batch_size=batch_size)
    rows = list(stream)
    return Predictions(rows, accuracy=stream.accuracy, metrics=stream.metrics)
