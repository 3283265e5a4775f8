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
from typing import Any

import numpy as np

from nnzoo.data._prepare import check_finite
from nnzoo.errors import ConfigError

__all__ = [
    "CsvTable",
    "CsvTexts",
    "check_delimiter",
    "csv_rows",
    "feature_rows",
    "guess_delimiter",
    "has_header",
    "is_number",
    "label_ids",
    "read_text_file",
    "text_lines",
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


def text_lines(path: Path, *, key: str | None = "data.params.path") -> Iterator[str]:
    """The lines of ``path`` decoded as UTF-8, read lazily (a byte-order mark is skipped); a
    line that is not UTF-8 is refused naming it."""
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


def read_text_file(path: Path, *, key: str | None = "data.params.path") -> str:
    """The whole UTF-8 text of ``path`` (a byte-order mark skipped), refused as
    :func:`text_lines` refuses a line that is not UTF-8."""
    return "".join(text_lines(path, key=key))


def csv_rows(
    path: Path, delimiter: str, *, key: str | None = "data.params.path"
) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of each non-blank row of ``path``, read lazily."""
    reader = csv.reader(text_lines(path, key=key), delimiter=delimiter)
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
    path: Path | str,
    key: str | None = None,
    row_word: str = "line",
) -> np.ndarray:
    """Class ids of the labels ``(line number, text)``: a label is a class name, or (where no
    name reads so) a class id ``0 .. len(class_names) - 1``; anything else is refused."""
    index = {name: i for i, name in enumerate(class_names)}
    ids = np.empty(len(values), dtype="int32")
    for r, (number, text) in enumerate(values):
        label = text.strip()
        if label not in index and is_number(label) and float(label).is_integer():
            as_int = str(int(float(label)))
            if as_int in index:
                label = as_int
            elif 0 <= int(as_int) < len(class_names):
                label = class_names[int(as_int)]
        if label not in index:
            shown = ", ".join(class_names[:10]) + (", ..." if len(class_names) > 10 else "")
            raise ConfigError(
                f"{path} {row_word} {number}: label {text.strip()!r} is not a class of the run "
                f"({shown})",
                key=key,
                fix="use the run's class names (or ids), or leave the label column out",
            )
        ids[r] = index[label]
    return ids


class CsvTable:
    """A CSV file of raw rows for a run, read the way the run's data was read.

    The format comes from the run's :class:`~nnzoo.data.DataSpec` (``table``: delimiter,
    column names, label column; else ``,``, no names, the label last). A header is recognised as
    in training. With the training file's column names, the features are taken by name (in any
    order); otherwise a row holds the features, or the features and the label column. Rows are
    read lazily by :meth:`chunks`; the first one is checked when the table is opened.
    """

    def __init__(self, path: Path, spec: Any, *, key: str | None = None) -> None:
        table = spec.table or {}
        self.path, self.key = path, key
        self.class_names = list(spec.class_names or [])
        self.delimiter = table.get("delimiter", ",")
        self.num_features = int(np.prod(spec.input_shape))
        self._rows = csv_rows(path, self.delimiter, key=key)
        first = next(self._rows, None)
        if first is None:
            raise ConfigError(f"{path}: no rows (the file is empty)", key=key, fix=self._fix())
        second = next(self._rows, None)
        header = has_header(first[1], second[1] if second else None)
        self._pending = [second] if header else [first, second]
        self._pending = [row for row in self._pending if row is not None]
        if not self._pending:
            raise ConfigError(f"{path}: a header but no rows", key=key, fix=self._fix())
        names = [c.strip() for c in first[1]] if header else None
        self.names = names
        self.width = len(self._pending[0][1])
        self.feature_index, self.label_index = self._columns(names, table)

    def _fix(self) -> str:
        return f"give one example per row: {self.num_features} features, and the label or not"

    def _columns(self, names: list[str] | None, table: dict[str, Any]) -> tuple[list[int], int]:
        trained = table.get("columns")
        label_at = table.get("label_column", -1)
        if names and trained:
            label_name = trained[label_at]
            features = [c for i, c in enumerate(trained) if i != label_at % len(trained)]
            if all(c in names for c in features):
                label = names.index(label_name) if label_name in names else -1
                return [names.index(c) for c in features], label
        if self.width == self.num_features:
            return list(range(self.width)), -1
        if self.width == self.num_features + 1:
            label = label_at % self.width
            return [i for i in range(self.width) if i != label], label
        guess = guess_delimiter(self._pending[0][1]) if self.width == 1 else None
        raise ConfigError(
            f"{self.path}: rows have {self.width} column{'s' if self.width > 1 else ''} with "
            f"delimiter {self.delimiter!r} but "
            f"the model takes {self.num_features} features (or those and the label column)",
            key=self.key,
            fix=f"the run's files are {self.delimiter!r}-separated; the file looks "
            f"{guess!r}-separated"
            if guess and guess != self.delimiter
            else self._fix(),
        )

    def chunks(self, size: int) -> Iterator[tuple[range, np.ndarray, np.ndarray | None]]:
        """``(row indexes, features, class ids or None)`` of up to ``size`` rows at a time."""
        start = 0
        rows = _chain(self._pending, self._rows)
        while True:
            chunk = [row for _, row in zip(range(size), rows, strict=False)]
            if not chunk:
                return
            for number, row in chunk:
                if len(row) != self.width:
                    raise ConfigError(
                        f"{self.path} line {number} has {len(row)} fields, expected {self.width}",
                        key=self.key,
                        fix="give every row the same number of fields",
                    )
            x = feature_rows(
                chunk, self.feature_index, path=self.path, columns=self.names, key=self.key
            )
            labels = None
            if self.label_index >= 0:
                values = [(number, row[self.label_index]) for number, row in chunk]
                labels = label_ids(values, self.class_names, path=self.path, key=self.key)
            yield range(start, start + len(chunk)), x, labels
            start += len(chunk)


def _chain(first: list[Any], rest: Iterator[Any]) -> Iterator[Any]:
    yield from first
    yield from rest


class CsvTexts:
    """A CSV file of raw texts for a run trained on a ``csv`` text column.

    The text column is found by the training header's name (in any position; the file needs a
    header when the training file had one), or by its index when the training file had no
    header; the label column likewise, where present (it gives the accuracy). Other columns are
    not read. A blank text is refused naming its line.
    """

    def __init__(self, path: Path, spec: Any, *, key: str | None = None) -> None:
        table = spec.table or {}
        self.path, self.key = path, key
        self.class_names = list(spec.class_names or [])
        delimiter = table.get("delimiter", ",")
        trained = table.get("columns")
        text_at, label_at = int(table["text_column"]), int(table.get("label_column", -1))
        self._rows = csv_rows(path, delimiter, key=key)
        first = next(self._rows, None)
        if first is None:
            raise ConfigError(
                f"{path}: no rows (the file is empty)", key=key, fix="give one text per row"
            )
        if trained:
            names = [c.strip() for c in first[1]]
            text_name, label_name = trained[text_at], trained[label_at]
            if text_name not in names:
                raise ConfigError(
                    f"{path}: no column {text_name!r} (columns: {', '.join(names)})",
                    key=key,
                    fix=f"give a {delimiter!r}-separated CSV whose header names the text column "
                    f"{text_name!r}, as the training file's did",
                )
            self.text_index = names.index(text_name)
            self.label_index = names.index(label_name) if label_name in names else -1
            self._pending: list[tuple[int, list[str]]] = []
        else:
            width, trained_width = len(first[1]), int(table.get("width", 0))
            if width == trained_width:
                self.text_index, self.label_index = text_at, label_at
            elif width == 1:
                self.text_index, self.label_index = 0, -1
            else:
                raise ConfigError(
                    f"{path}: rows have {width} columns with delimiter {delimiter!r} but the "
                    f"training file had {trained_width} (the text in column {text_at})",
                    key=key,
                    fix="give rows of the training file's format, or one text per row",
                )
            self._pending = [first]
        self.width = max(self.text_index, self.label_index) + 1

    def chunks(self, size: int) -> Iterator[tuple[range, list[str], np.ndarray | None]]:
        """``(row indexes, texts, class ids or None)`` of up to ``size`` rows at a time."""
        start = 0
        rows = _chain(self._pending, self._rows)
        while chunk := [row for _, row in zip(range(size), rows, strict=False)]:
            texts = []
            for number, row in chunk:
                if len(row) < self.width:
                    raise ConfigError(
                        f"{self.path} line {number} has {len(row)} fields, expected "
                        f"{self.width} or more",
                        key=self.key,
                        fix="give every row the same number of fields",
                    )
                text = row[self.text_index]
                if not text.strip():
                    raise ConfigError(
                        f"{self.path} line {number}: the text is empty",
                        key=self.key,
                        fix="give every row a text, or remove the rows without one",
                    )
                texts.append(text)
            labels = None
            if self.label_index >= 0:
                values = [(number, row[self.label_index]) for number, row in chunk]
                labels = label_ids(values, self.class_names, path=self.path, key=self.key)
            yield range(start, start + len(chunk)), texts, labels
            start += len(chunk)
