"""Reading a CSV table the one way the ``csv`` source and ``nnzoo predict`` both use.

Rows are read line by line (so ``predict`` can stream a large file), decoded as UTF-8 (a byte
that is not is named by its line), features parsed as numbers and checked finite, labels mapped
to the class ids of the names a run was trained with. Every refusal is a :class:`ConfigError`
naming the file, the line and the column.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from nnzoo.data._prepare import check_finite
from nnzoo.errors import ConfigError

__all__ = [
    "check_delimiter",
    "csv_rows",
    "feature_rows",
    "guess_delimiter",
    "has_header",
    "is_number",
    "label_ids",
]


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def has_header(first: Sequence[str], second: Sequence[str] | None) -> bool:
    """Like ``csv.Sniffer.has_header``: the first row has a non-number in a column whose
    second row is a number (with one row: any non-number)."""
    if second is None:
        return not all(is_number(c) for c in first)
    return any(not is_number(a) and is_number(b) for a, b in zip(first, second, strict=False))


def check_delimiter(delimiter: object, *, key: str | None = "data.params.delimiter") -> str:
    """``delimiter`` if it is one character (what the ``csv`` module takes), else an error."""
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '\r\n"':
        raise ConfigError(
            f"must be one character (not a quote or a line break). Received: "
            f"delimiter={delimiter!r}",
            key=key,
            fix="set it to the character between the fields, e.g. ',' or ';' or '\\t'",
        )
    return delimiter


def _lines(path: Path, key: str | None) -> Iterator[str]:
    """The lines of ``path`` decoded as UTF-8 (a byte-order mark is skipped)."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as err:
                raise ConfigError(
                    f"{path} line {number}: not UTF-8 text (byte {raw[err.start]:#04x} at "
                    f"character {err.start + 1})",
                    key=key,
                    fix="save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8 in > out)",
                ) from None


def csv_rows(
    path: Path, delimiter: str, *, key: str | None = "data.params.path"
) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of each non-blank row of ``path``, read lazily."""
    reader = csv.reader(_lines(path, key), delimiter=delimiter)
    for row in reader:
        if any(field.strip() for field in row):
            yield reader.line_num, row


def guess_delimiter(row: Sequence[str]) -> str | None:
    """The delimiter a one-field row was probably split on (``;``, tab, ``|``), else None."""
    text = row[0] if len(row) == 1 else ""
    counts = {d: text.count(d) for d in (";", "\t", "|", ",")}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else None


def feature_rows(
    rows: Sequence[tuple[int, list[str]]],
    feature_index: Sequence[int],
    *,
    path: Path,
    columns: Sequence[str] | None,
    key: str | None = "data.params.path",
) -> np.ndarray:
    """The features (float32, one row per row) in ``feature_index`` of ``rows``; a cell that
    is not a number, NaN or infinite is refused naming its line and column."""
    try:
        x = np.asarray([[row[i] for i in feature_index] for _, row in rows], dtype="float64")
    except ValueError:
        x = None
    if x is None:  # find the cell that is not a number, to name it
        for number, row in rows:
            for i in feature_index:
                if not is_number(row[i]):
                    raise ConfigError(
                        f"{path} line {number}: feature {_name(i, columns)} is {row[i]!r}, not "
                        "a number",
                        key=key,
                        fix="features must be numeric (only the label column may hold text)",
                    )
    x = x.reshape(len(rows), len(feature_index))
    names = [_name(i, columns) for i in feature_index]
    lines = [number for number, _ in rows]
    check_finite(x, str(path), key=key, rows=lines, columns=names, column_word="feature")
    return x.astype("float32")


def _name(index: int, columns: Sequence[str] | None) -> str:
    """A column as a message shows it: its quoted header name, else its index."""
    return repr(columns[index]) if columns else str(index)


def label_ids(
    values: Sequence[tuple[int, str]],
    class_names: Sequence[str],
    *,
    path: Path,
    key: str | None = None,
) -> np.ndarray:
    """Class ids of the labels ``(line number, text)``: a label is a class name, or (where no
    name reads so) a class id ``0 .. len(class_names) - 1``; anything else is refused."""
    index = {name: i for i, name in enumerate(class_names)}
    ids = np.empty(len(values), dtype="int32")
    for r, (number, text) in enumerate(values):
        label = text.strip()
        if label not in index and is_number(label) and float(label).is_integer():
            as_int = str(int(float(label)))
            label = as_int if as_int in index else label
            if label not in index and 0 <= int(as_int) < len(class_names):
                label = class_names[int(as_int)]
        if label not in index:
            shown = ", ".join(class_names[:10]) + (", ..." if len(class_names) > 10 else "")
            raise ConfigError(
                f"{path} line {number}: label {text.strip()!r} is not a class of the run "
                f"({shown})",
                key=key,
                fix="use the run's class names (or ids), or leave the label column out",
            )
        ids[r] = index[label]
    return ids
