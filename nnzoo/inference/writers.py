"""The output of ``nnzoo predict``: a ``.csv`` or ``.json`` file written a batch at a time
(atomically: a temporary file beside it, renamed into place when complete), or printed lines.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from nnzoo._atomic import atomic_open
from nnzoo.inference.readers import InputError

__all__ = ["check_output", "prediction_lines", "write_predictions"]


def check_output(
    path: Path,
    *,
    force: bool = False,
    suffixes: tuple[str, ...] = (".csv", ".json"),
    command: str = "predict",
) -> Path:
    """``path`` if ``command``'s output may be written there: a file ending in one of
    ``suffixes`` in an existing folder, not in a run directory (nor below one), not an
    existing file unless ``force``. Checked before any work, so a mistake costs nothing.

    Args:
        path: the ``--output`` file.
        force: replace an existing file. Defaults to ``False``.
        suffixes: the endings the file may have. Defaults to ``(".csv", ".json")``.
        command: the command writing it, as messages name it. Defaults to ``"predict"``.
    """
    if path.suffix not in suffixes:
        endings = " or ".join(suffixes)
        raise InputError(f"{path}: --output must end in {endings}. Fix: rename it")
    folder = path.parent
    # A run directory first: a folder that is not there inside a run (a finished run has no
    # checkpoints/) must not be suggested to mkdir.
    example = {"predict": "predictions.csv", "generate": "generations.jsonl"}.get(
        command, f"out{suffixes[0]}"
    )
    for directory in (folder.resolve(), *folder.resolve().parents):
        if (directory / "config.yaml").is_file() and (directory / "status.json").is_file():
            raise InputError(
                f"{path}: inside the run directory {directory}; {command} never writes into a "
                f"run. Fix: write it elsewhere, e.g. --output {example}"
            )
    if not folder.is_dir():
        raise InputError(
            f"{path}: the folder {folder} does not exist. Fix: create it first (mkdir -p "
            f"{folder}) or write elsewhere"
        )
    if path.is_dir():
        raise InputError(f"{path}: is a folder. Fix: give a file name ending in {suffixes[0]}")
    if path.exists() and not force:
        raise InputError(
            f"{path}: exists. Fix: pass --force to replace it, or choose another file name"
        )
    return path


def write_predictions(rows: Iterable[dict[str, Any]], path: Path) -> int:
    """Write ``rows`` (as :func:`~nnzoo.inference.predict.iter_predictions` yields them) to a
    ``.csv`` or ``.json`` file as they come, atomically: a temporary file beside it, moved
    into place durably when every row is written (a failure leaves the old file, or none; see
    :func:`nnzoo._atomic.atomic_open`). Returns the count.

    Given the :class:`~nnzoo.inference.predict.PredictionStream` itself, the file is written a
    batch at a time from its arrays (the same bytes, without a Python object per row).
    """
    count = 0
    with atomic_open(path, "w", newline="", encoding="utf-8") as f:
        batches = getattr(rows, "batches", None)
        if path.suffix == ".json":
            # A stream's batches a list of rows at a time; other rows one by one.
            chunks = (
                map(_json_rows, batches())
                if batches is not None
                else ([json.dumps(row)] for row in rows)
            )
            count = _write_json_chunks(chunks, f)
        elif batches is not None:
            count = _write_csv_batches(batches(), f)
        else:
            write = _csv_writer(f)
            for row in rows:
                write(row)
                count += 1
            write(None)
    return count


def _regression_csv(batches: Iterable[Any], f: IO[str]) -> int:
    """Write a regression run's :class:`~nnzoo.inference.predict.RegressedBatch` es:
    ``input,prediction`` (and ``label`` where the input has the target), ``%.6g``."""
    count, row_format = 0, ""
    for batch in batches:
        labelled = batch.labels is not None
        if not row_format:
            f.write("input,prediction,label\r\n" if labelled else "input,prediction\r\n")
            row_format = "%s,%.6g,%.6g\r\n" if labelled else "%s,%.6g\r\n"
        columns = [
            [_csv_cell(name) for name in batch.names],
            batch.values.tolist(),
            *([batch.labels.tolist()] if labelled else []),
        ]
        f.write("".join(map(row_format.__mod__, zip(*columns))))
        count += len(batch.names)
    if not row_format:
        f.write("input,prediction\r\n")
    return count


def _regression_row(row: dict[str, Any]) -> bool:
    return "prediction" in row


def _csv_header(names: list[str], labelled: bool) -> list[str]:
    label = ["label"] if labelled else []
    return ["input", "class", "probability", *label, *[f"p_{n}" for n in names]]


def _csv_writer(f: IO[str]) -> Any:
    import csv

    writer = csv.writer(f)
    names: list[str] = []

    regression: list[bool] = []

    def write(row: dict[str, Any] | None) -> None:
        if row is None:
            if not names and not regression:
                writer.writerow(["input", "class", "probability"])
            return
        if _regression_row(row):
            if not regression:
                regression.append(True)
                writer.writerow(["input", "prediction", *(["label"] if "label" in row else [])])
            label = [f"{row['label']:.6g}"] if "label" in row else []
            writer.writerow([row["input"], f"{row['prediction']:.6g}", *label])
            return
        if not names:
            names.extend(row["probabilities"])
            writer.writerow(_csv_header(names, "label" in row))
        probabilities = [f"{row['probabilities'][n]:.6f}" for n in names]
        label = [row["label"]] if "label" in row else []
        writer.writerow(
            [row["input"], row["class"], f"{row['probability']:.6f}", *label, *probabilities]
        )

    return write


#: Characters that make :mod:`csv` quote a cell (the default dialect, minimal quoting).
_CSV_SPECIAL = frozenset(',"\r\n')


def _csv_cell(text: str) -> str:
    """``text`` as :func:`csv.writer` writes it in a row of several cells."""
    if _CSV_SPECIAL.isdisjoint(text):
        return text
    return '"' + text.replace('"', '""') + '"'


def _write_csv_batches(batches: Iterable[Any], f: IO[str]) -> int:
    """Write :class:`~nnzoo.inference.predict.PredictedBatch` es as :func:`_csv_writer` writes
    their rows (the same bytes): a ``%`` format per row from the batch's columns, no dict per
    row."""
    batches = iter(batches)
    first = next(batches, None)
    if first is None:
        f.write("input,class,probability\r\n")
        return 0
    if not hasattr(first, "probabilities"):  # a regression run's
        return _regression_csv(itertools.chain([first], batches), f)
    count = 0
    row_format = ""
    for batch in itertools.chain([first], batches):
        n, k = batch.probabilities.shape
        classes = [_csv_cell(c) for c in batch.class_names]
        labelled = batch.labels is not None
        if not row_format:
            f.write(",".join(_csv_cell(c) for c in _csv_header(batch.class_names, labelled)))
            f.write("\r\n")
            row_format = "%s,%s,%.6f," + ("%s," if labelled else "") + ",".join(["%.6f"] * k)
            row_format += "\r\n"
        columns = [
            [_csv_cell(name) for name in batch.names],
            [classes[b] for b in batch.best.tolist()],
            batch.best_probability,
            *([[classes[t] for t in batch.labels.tolist()]] if labelled else []),
            *batch.probabilities.T.tolist(),
        ]
        f.write("".join(map(row_format.__mod__, zip(*columns))))
        count += n
    if not row_format:
        f.write("input,class,probability\r\n")
    return count


def _write_json_chunks(chunks: Iterable[list[str]], f: IO[str]) -> int:
    """Write a JSON array of rows already encoded, a list of them at a time: one row a line
    between ``[`` and ``]`` (``[]`` for none)."""
    count = 0
    for rows in chunks:
        if rows:
            f.write(("[\n  " if count == 0 else ",\n  ") + ",\n  ".join(rows))
            count += len(rows)
    f.write("[]\n" if count == 0 else "\n]\n")
    return count


def _json_rows(batch: Any) -> list[str]:
    """The rows of :class:`~nnzoo.inference.predict.PredictedBatch` ``batch`` as
    :func:`json.dumps` writes their dicts: a ``%`` format per row from the batch's columns, no
    dict per row. A batch the format cannot write as ``json.dumps`` would (a non-finite
    probability: ``repr`` writes ``nan`` where JSON has ``NaN``; class names that are not
    distinct strings) goes through ``json.dumps`` row by row."""
    if not hasattr(batch, "probabilities"):  # a regression run's
        return [json.dumps(row) for row in batch.rows()]
    names = batch.class_names
    plain = all(isinstance(c, str) for c in names) and len(set(names)) == len(names)
    if not plain or not np.isfinite(batch.probabilities).all():
        return [json.dumps(row) for row in batch.rows()]
    labelled = batch.labels is not None
    quoted = [json.dumps(c) for c in names]
    row_format = (
        '{"input": %s, "class": %s, "index": %d, "probability": %r, "probabilities": {'
        + ", ".join(f"{q.replace('%', '%%')}: %r" for q in quoted)
        + "}"
        + (', "label": %s' if labelled else "")
        + "}"
    )
    best = batch.best.tolist()
    columns = [
        [json.dumps(name) for name in batch.names],
        [quoted[b] for b in best],
        best,
        batch.best_probability,
        *batch.probabilities.T.tolist(),
        *([[quoted[t] for t in batch.labels.tolist()]] if labelled else []),
    ]
    return list(map(row_format.__mod__, zip(*columns)))


def prediction_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """``input<TAB>class<TAB>probability`` lines, ``input<TAB>prediction`` for a regression
    run (what ``nnzoo predict`` prints without ``--output``), several lines a string; a batch
    at a time from a :class:`~nnzoo.inference.predict.PredictionStream`."""
    line = "%s\t%s\t%.4f\n"
    batches = getattr(rows, "batches", None)
    if batches is None:
        for r in rows:
            if _regression_row(r):
                yield f"{r['input']}\t{r['prediction']:.6g}\n"
            else:
                yield line % (r["input"], r["class"], r["probability"])
        return
    for batch in batches():
        if not hasattr(batch, "probabilities"):  # a regression run's: input<TAB>prediction
            yield "".join(map("%s\t%.6g\n".__mod__, zip(batch.names, batch.values.tolist())))
            continue
        classes = [batch.class_names[b] for b in batch.best.tolist()]
        yield "".join(map(line.__mod__, zip(batch.names, classes, batch.best_probability)))
