"""Reading tables (CSV and Parquet) the one way the ``csv`` and ``parquet`` sources and
``nnzoo predict`` all use.

A CSV is read by pyarrow's streaming reader (``pyarrow.csv.open_csv``), a record batch at a
time (:data:`BLOCK_SIZE` bytes of text): numeric feature columns as float64 (the missing values
of :mod:`nnzoo.data._columns` read as null), every other column as text (checked to be UTF-8),
and no cell becomes a Python object (but the texts of a text column, which the tokenizer
takes). Each batch becomes the model's block through :class:`~nnzoo.data._columns.Columns`. A
batch holding anything to refuse (a cell that is not a number, infinity, a row of another
width, bytes that are not UTF-8, a missing label, a label the run does not know) is read again
from its first row by the ``csv`` module (:func:`csv_rows`), which names the line and column of
the first bad cell: line numbers are worked out only then, by re-reading up to that batch.
Should the ``csv`` module find nothing to refuse there (a file the two readers split
differently), it reads the rest of the file itself, so such a file reads as it always did.

A Parquet file is read with ``pyarrow.parquet.ParquetFile.iter_batches``; its cells are named by
row (0-based, as NumPy indexes) and column. Labels are read as text and mapped to class ids
through the distinct values only. New rows for a run (``predict``, ``evaluate --data``) are
read by :class:`NamedTable`, columns matched by name. Every refusal is a :class:`ConfigError`
naming the file, the line or row, and the column.
"""

from __future__ import annotations

import csv
import itertools
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from nnzoo.data._columns import Columns, closest, is_number
from nnzoo.data._prepare import check_finite
from nnzoo.errors import ConfigError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "BLOCK_SIZE",
    "CsvReader",
    "CsvTexts",
    "LabelCodes",
    "check_delimiter",
    "check_widths",
    "csv_rows",
    "feature_rows",
    "guess_delimiter",
    "is_number",
    "label_ids",
    "open_parquet",
    "read_text_file",
    "sniff_header",
    "text_lines",
]

logger = logging.getLogger(__name__)

#: Bytes of CSV text pyarrow parses into one record batch (measured by
#: ``scripts/bench_tables.py``: larger blocks read no faster and hold more text at a time).
BLOCK_SIZE = 1 << 20

#: Rows of a CSV read at a time by the ``csv`` module, where it reads instead of pyarrow.
PYTHON_ROWS = 65_536

#: The fix of a cell that is not a number.
NUMERIC_FIX = "features must be numeric (only the label column may hold text)"

R = TypeVar("R")


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


def text_lines(
    path: Path, *, key: str | None = "data.params.path", offset: int = 0, line: int = 1
) -> Iterator[str]:
    """The lines of ``path`` decoded as UTF-8, read lazily (a byte-order mark is skipped); a
    line that is not UTF-8 is refused naming it. ``offset``: the byte to start at, the start of
    line number ``line``."""
    with open(path, "rb") as f:
        f.seek(offset)
        for number, raw in enumerate(f, start=line):
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
    path: Path,
    delimiter: str,
    *,
    key: str | None = "data.params.path",
    offset: int = 0,
    line: int = 1,
) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of each non-blank row of ``path`` (from byte ``offset``, the
    start of line ``line``), read lazily by the ``csv`` module; a row that spans lines is
    numbered by its last line."""
    reader = csv.reader(text_lines(path, key=key, offset=offset, line=line), delimiter=delimiter)
    for row in reader:
        if any(field.strip() for field in row):
            yield line - 1 + reader.line_num, row


def guess_delimiter(row: Sequence[str]) -> str | None:
    """The delimiter a one-field row was probably split on (``;``, tab, ``|``), else None."""
    text = row[0] if len(row) == 1 else ""
    counts = {d: text.count(d) for d in (";", "\t", "|", ",")}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else None


def check_widths(
    rows: Sequence[tuple[int, list[str]]], width: int, *, path: Path, key: str | None
) -> None:
    """Refuse the first of ``rows`` that has not ``width`` fields, naming its line."""
    for number, row in rows:
        if len(row) != width:
            raise ConfigError(
                f"{path} line {number} has {len(row)} fields, expected {width}",
                key=key,
                fix="give every row the same number of fields",
            )


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
                        fix=NUMERIC_FIX,
                    )
    x = x.reshape(len(rows), len(feature_index))
    names = [_name(i, columns) for i in feature_index]
    lines = [number for number, _ in rows]
    check_finite(x, str(path), key=key, rows=lines, columns=names, column_word="feature")
    return x.astype("float32")


def _name(index: int, columns: Sequence[str] | None) -> str:
    """A column as a message shows it: its quoted header name, else its index."""
    return repr(columns[index]) if columns else str(index)


def _class_id(text: str, index: dict[str, int], class_names: Sequence[str]) -> int | None:
    """The class id of label ``text``: a class name, or (where no name reads so) a class id
    ``0 .. len(class_names) - 1``; ``None`` for anything else."""
    label = text.strip()
    if label not in index and is_number(label) and float(label).is_integer():
        as_int = str(int(float(label)))
        if as_int in index:
            label = as_int
        elif 0 <= int(as_int) < len(class_names):
            label = class_names[int(as_int)]
    return index.get(label)


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
        class_id = _class_id(text, index, class_names)
        if class_id is None:
            shown = ", ".join(class_names[:10]) + (", ..." if len(class_names) > 10 else "")
            raise ConfigError(
                f"{path} {row_word} {number}: label {text.strip()!r} is not a class of the run "
                f"({shown})",
                key=key,
                fix="use the run's class names (or ids), or leave the label column out",
            )
        ids[r] = class_id
    return ids


class _ClassIds:
    """Class ids of a column of labels, through its distinct values (see :func:`label_ids`)."""

    def __init__(self, class_names: Sequence[str]) -> None:
        self.class_names = list(class_names)
        self._index = {name: i for i, name in enumerate(self.class_names)}
        self._known: dict[str, int | None] = {}

    def __call__(self, labels: pa.Array) -> np.ndarray | None:
        """The ids of ``labels`` (strings), or ``None`` when one is not a class of the run."""
        import pyarrow.compute as pc

        encoded = pc.dictionary_encode(labels)
        ids = []
        for text in encoded.dictionary.to_pylist():
            if text not in self._known:
                self._known[text] = _class_id(text, self._index, self.class_names)
            ids.append(self._known[text])
        if None in ids:
            return None
        return np.asarray(ids, dtype="int32")[encoded.indices.to_numpy()]


class LabelCodes:
    """The labels of a table as they are read: each distinct label (stripped) once, and an
    int32 code per row, so a column of labels is never held as text or Python strings."""

    def __init__(self, capacity: int = 1024) -> None:
        self.distinct: dict[str, int] = {}
        self._codes = _Growing(np.dtype("int32"), capacity=capacity)
        #: Rows dropped for a missing label (``missing_label: drop``).
        self.dropped = 0

    def add(self, labels: pa.Array | Sequence[str]) -> None:
        """Labels of the next rows: an Arrow string array, or texts (the ``csv`` module's)."""
        codes = self.distinct.setdefault
        if isinstance(labels, list | tuple):
            found = (codes(text.strip(), len(self.distinct)) for text in labels)
            self._codes.append(np.fromiter(found, dtype="int32", count=len(labels)))
            return
        import pyarrow.compute as pc

        encoded = pc.dictionary_encode(pc.utf8_trim_whitespace(labels))
        values = encoded.dictionary.to_pylist()
        local = np.fromiter((codes(v, len(self.distinct)) for v in values), "int32", len(values))
        self._codes.append(local[encoded.indices.to_numpy()])

    def codes(self) -> np.ndarray:
        """Each row's code: an index into :attr:`distinct` (in order of first appearance)."""
        return self._codes.array()


class _Growing:
    """Rows appended block by block into one array, so they are never held twice (as a list of
    blocks and their concatenation would be). Room for ``capacity`` rows is taken at once
    (memory the rows do not fill is never touched, so it costs no resident memory); beyond it
    the array grows in place (``realloc``)."""

    def __init__(self, dtype: np.dtype, width: int | None = None, *, capacity: int = 1024) -> None:
        self._tail = () if width is None else (width,)
        self._rows = np.empty((max(capacity, 1), *self._tail), dtype=dtype)
        self.count = 0

    def append(self, block: np.ndarray) -> None:
        end = self.count + len(block)
        if end > len(self._rows):
            grown = max(end, len(self._rows) * 3 // 2)
            self._rows.resize((grown, *self._tail), refcheck=False)
        self._rows[self.count : end] = block
        self.count = end

    def array(self) -> np.ndarray:
        """The rows appended, as one array (the spare room given back)."""
        self._rows.resize((self.count, *self._tail), refcheck=False)
        return self._rows


class CsvReader:
    """The data rows of a CSV file (those after its header, where it has one), read by pyarrow
    a record batch at a time, and by the ``csv`` module from the batch where pyarrow finds
    something to check closer (see the module docstring).

    Args:
        path: the file.
        delimiter: the character between fields.
        width: the number of fields of a row.
        header_line: the line the header ends on (the ``csv`` module's line number), or
            ``None`` when the file has no header.
        floats: indexes of the columns read as numbers (float64); the others are read as
            text (so every cell is checked to be UTF-8, as the ``csv`` module reads it).
        key: the config key an error names (``None`` for ``predict``).
    """

    def __init__(
        self,
        path: Path,
        delimiter: str,
        *,
        width: int,
        header_line: int | None,
        floats: Sequence[int] = (),
        null_values: Sequence[str] = (),
        key: str | None = "data.params.path",
    ) -> None:
        self.path, self.delimiter, self.width, self.key = path, delimiter, width, key
        self.header_line = header_line
        self.floats = list(floats)
        self.null_values = list(null_values)

    @staticmethod
    def column(index: int) -> str:
        """The name of column ``index`` in the record batches."""
        return str(index)

    def _batches(self) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa
        import pyarrow.csv as pv

        names = [self.column(i) for i in range(self.width)]
        types = {name: pa.string() for name in names}
        types.update({self.column(i): pa.float64() for i in self.floats})
        read = pv.ReadOptions(
            column_names=names, skip_rows=self.header_line or 0, block_size=BLOCK_SIZE
        )
        # A quoted value may hold a line break (as the csv module reads it).
        parse = pv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True)
        convert = pv.ConvertOptions(
            column_types=types,
            null_values=self.null_values,  # missing numbers (strings stay text: checked later)
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        with pv.open_csv(
            self.path, read_options=read, parse_options=parse, convert_options=convert
        ) as reader:
            yield from reader

    def expected_rows(self) -> int:
        """About how many rows the file has, from the lines of its first block (a little more,
        so a file of even rows fits)."""
        with open(self.path, "rb") as f:
            head = f.read(BLOCK_SIZE)
        lines = head.count(b"\n") + 1
        if len(head) < BLOCK_SIZE:
            return lines
        return int(self.path.stat().st_size / len(head) * lines * 1.05)

    def python_rows(self, start: int = 0) -> Iterator[tuple[int, list[str]]]:
        """``(line number, fields)`` of the data rows from row ``start`` on, read by the
        ``csv`` module. The rows before (pyarrow read them, so each is a row of ``width``
        fields or an empty line) are skipped as lines of bytes up to the first line with a
        quote character (which may open a value over several lines); the ``csv`` module skips
        the rest of them."""
        offset, line, rows = 0, 1, 0
        with open(self.path, "rb") as f:
            for raw in itertools.islice(f, self.header_line or 0):
                offset, line = offset + len(raw), line + 1
            for raw in f:
                if rows == start or b'"' in raw:
                    break
                offset, line = offset + len(raw), line + 1
                rows += bool(raw.strip(b"\r\n"))
        return itertools.islice(
            csv_rows(self.path, self.delimiter, key=self.key, offset=offset, line=line),
            start - rows,
            None,
        )

    def scan(
        self,
        fast: Callable[[pa.RecordBatch], R | None],
        slow: Callable[[list[tuple[int, list[str]]]], R],
        *,
        size: int | None = None,
    ) -> Iterator[tuple[int, R]]:
        """``(first row index, result)`` of the rows in parts of at most ``size`` rows (a
        record batch each by default): ``fast(batch)`` of the rows pyarrow reads, until it
        returns ``None`` (something to check closer) or pyarrow cannot read a batch; from
        there, ``slow(rows)`` of the ``csv`` module's rows, which names what it refuses."""
        import pyarrow as pa

        start = 0
        batches = self._batches()
        try:
            while True:
                try:
                    batch = next(batches, None)
                except pa.ArrowInvalid as err:  # a row pyarrow cannot read: the csv module will
                    logger.debug("%s: pyarrow stops at row %d (%s)", self.path, start, err)
                    break
                if batch is None:
                    return
                for first in range(0, batch.num_rows, size or max(batch.num_rows, 1)):
                    part = batch.slice(first, size) if size else batch
                    result = fast(part)
                    if result is None:
                        break
                    yield start, result
                    start += part.num_rows
                else:
                    continue
                break
        finally:
            batches.close()
        rows = self.python_rows(start)
        while chunk := list(itertools.islice(rows, size or PYTHON_ROWS)):
            yield start, slow(chunk)
            start += len(chunk)


def _check_text(texts: pa.Array, missing: Sequence[str] = ()) -> bool:
    """Whether every text of ``texts`` has something besides spaces (and is not ``missing``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    stripped = pc.utf8_trim_whitespace(texts)
    bad = pc.equal(pc.binary_length(stripped), 0)
    if missing:
        bad = pc.or_(bad, pc.is_in(stripped, value_set=pa.array(list(missing))))
    return not pc.any(bad).as_py()


#: Cells of a text column that mean "no text" (besides blank ones).
MISSING_TEXT = ("nan", "NaN", "NAN")


def _label_missing(
    labels: pa.Array, missing: Sequence[str]
) -> np.ndarray:  # which labels (stripped) are blank or a missing value
    import pyarrow as pa
    import pyarrow.compute as pc

    stripped = pc.utf8_trim_whitespace(labels)
    bad = pc.or_(pc.equal(pc.binary_length(stripped), 0), pc.is_in(stripped, pa.array(missing)))
    return bad.to_numpy(zero_copy_only=False).astype(bool)


def read_features(
    reader: CsvReader,
    cols: Columns,
    label_index: int,
    *,
    columns: Sequence[str] | None,
    missing_label: str = "refuse",
) -> tuple[np.ndarray, LabelCodes]:
    """Every data row of ``reader``'s CSV as features (``cols``' float32 block, one row per
    row) and labels; a row of another width, a bad cell or a missing label (unless
    ``missing_label`` is ``drop``) is refused naming its line and column."""
    label = CsvReader.column(label_index)
    missing = list(cols.missing_values)
    label_name = _name(label_index, columns)

    def fast(batch: pa.RecordBatch) -> tuple[np.ndarray, pa.Array] | None:
        values = batch.column(label)
        gone = _label_missing(values, missing)
        if gone.any() and missing_label == "refuse":
            return None
        x = cols.block(batch, column=CsvReader.column, keep=~gone)
        if x is None:
            return None
        if cols.kept is not None:
            values = values.filter(cols.kept)
            labels.dropped += int(gone.sum())
        return x, values

    def slow(chunk: list[tuple[int, list[str]]]) -> tuple[np.ndarray, list[str]]:
        check_widths(chunk, reader.width, path=reader.path, key=reader.key)
        kept = []
        for number, row in chunk:
            text = row[label_index].strip()
            if not text or text in missing:
                if missing_label == "refuse":
                    raise ConfigError(
                        f"{reader.path} line {number}: the label (column {label_name}) is "
                        f"{'empty' if not text else repr(text)}",
                        key=reader.key,
                        fix="give every row a label, or set data.params.missing_label: drop "
                        "(rows without one are dropped)",
                    )
                labels.dropped += 1
                continue
            kept.append((number, row))
        x = cols.rows(kept)
        keep = cols.kept
        values = [row[label_index] for _, row in kept]
        if keep is not None:
            values = [v for v, k in zip(values, keep, strict=True) if k]
        return x, values

    rows = reader.expected_rows()
    x = _Growing(np.dtype("float32"), len(cols.features), capacity=rows)
    labels = LabelCodes(capacity=rows)
    for _, (block, values) in reader.scan(fast, slow):
        x.append(block)
        labels.add(values)
    return x.array(), labels


def sniff_header(
    first: Sequence[str],
    rows: Sequence[Sequence[str]],
    label_column: Any,
    missing: Sequence[str] = (),
) -> bool:
    """Whether ``first`` is a header above the data ``rows`` (a sample): text above a column of
    numbers (as ``csv.Sniffer`` votes), integers above a column of fractions (years above
    measurements), or a label that no other row has above labels that repeat."""
    if not rows:
        return not all(is_number(c) for c in first)
    skip = set(missing)
    for j, cell in enumerate(first):
        column = [row[j].strip() for row in rows if j < len(row) and row[j].strip() not in skip]
        if not column:
            continue
        numbers = all(is_number(v) for v in column)
        head = cell.strip()
        if numbers and not is_number(head) and head not in skip:
            return True
        integer = is_number(head) and float(head).is_integer() and "." not in head
        if numbers and integer and all(not float(v).is_integer() for v in column):
            return True
    if isinstance(label_column, int) and -len(first) <= label_column < len(first):
        labels = [
            row[label_column].strip() for row in rows if -len(row) <= label_column < len(row)
        ]
        head = first[label_column].strip()
        if len(labels) >= 4 and head not in labels and len(set(labels)) * 2 <= len(labels):
            return not (is_number(head) and all(is_number(v) for v in labels))
    return False


def read_texts(
    reader: CsvReader, text_index: int, label_index: int, *, columns: Sequence[str] | None
) -> tuple[list[str], LabelCodes]:
    """Every data row's text and label of ``reader``'s CSV; a row of another width, or a blank
    (or ``nan``) text or a blank label, is refused naming its line and column."""
    text, label = CsvReader.column(text_index), CsvReader.column(label_index)

    def fast(batch: pa.RecordBatch) -> tuple[list[str], pa.Array] | None:
        texts, labels = batch.column(text), batch.column(label)
        if not (_check_text(texts, MISSING_TEXT) and _check_text(labels)):
            return None
        return texts.to_pylist(), labels

    def slow(chunk: list[tuple[int, list[str]]]) -> tuple[list[str], list[str]]:
        check_widths(chunk, reader.width, path=reader.path, key=reader.key)
        for number, row in chunk:
            for index, what in ((text_index, "text"), (label_index, "label")):
                cell = row[index].strip()
                if not cell or (what == "text" and cell in MISSING_TEXT):
                    raise ConfigError(
                        f"{reader.path} line {number}: the {what} (column "
                        f"{_name(index, columns)}) is {'empty' if not cell else repr(cell)}",
                        key=reader.key,
                        fix=f"give every row a {what}, or remove the rows without one",
                    )
        return [row[text_index] for _, row in chunk], [row[label_index] for _, row in chunk]

    texts: list[str] = []
    labels = LabelCodes()
    for _, (part, values) in reader.scan(fast, slow):
        texts += part
        labels.add(values)
    return texts, labels


def first_label_is_unique(reader: CsvReader, label_index: int, first: Sequence[str]) -> bool:
    """Whether the first row of ``reader``'s CSV (``first``, read without a header) has a label
    no other row has, and two rows or more follow it: then it is a header (text and string
    labels have no numbers to tell one by)."""
    import pyarrow.compute as pc

    if not -len(first) <= label_index < len(first):
        return False
    label = first[label_index].strip()
    column = CsvReader.column(label_index % reader.width)

    def fast(batch: pa.RecordBatch) -> tuple[int, int]:
        same = pc.equal(pc.utf8_trim_whitespace(batch.column(column)), label)
        return batch.num_rows, pc.sum(same).as_py() or 0

    def slow(chunk: list[tuple[int, list[str]]]) -> tuple[int, int]:
        rows = [row for _, row in chunk]
        inside = [row for row in rows if -len(row) <= label_index < len(row)]
        return len(rows), sum(row[label_index].strip() == label for row in inside)

    counts = [result for _, result in reader.scan(fast, slow)]
    rows, same = sum(n for n, _ in counts), sum(n for _, n in counts)
    return rows > 2 and same == 1  # the one row with its label is the first


class CsvTexts:
    """A CSV file of raw texts for a run trained on a ``csv`` text column.

    The text column is found by the training header's name (in any position; the file needs a
    header when the training file had one), or by its index when the training file had no
    header; the label column likewise, where present (it gives the accuracy). Other columns are
    not converted. A blank text is refused naming its line.
    """

    def __init__(self, path: Path, spec: Any, *, key: str | None = None) -> None:
        table = spec.table or {}
        self.path, self.key = path, key
        self.class_names = list(spec.class_names or [])
        delimiter = table.get("delimiter", ",")
        trained = table.get("columns")
        text_at, label_at = int(table["text_column"]), int(table.get("label_column", -1))
        first = next(csv_rows(path, delimiter, key=key), None)
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
            header_line: int | None = first[0]
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
            header_line = None
        self.width = max(self.text_index, self.label_index) + 1
        self._reader = CsvReader(
            path, delimiter, width=len(first[1]), header_line=header_line, key=key
        )

    def chunks(self, size: int) -> Iterator[tuple[range, list[str], np.ndarray | None]]:
        """``(row indexes, texts, class ids or None)`` of up to ``size`` rows at a time."""
        class_ids = _ClassIds(self.class_names)
        text_name, label_name = CsvReader.column(self.text_index), None
        if self.label_index >= 0:
            label_name = CsvReader.column(self.label_index)

        def fast(batch: pa.RecordBatch) -> tuple[list[str], np.ndarray | None] | None:
            texts = batch.column(text_name)
            if not _check_text(texts):
                return None
            ids = None if label_name is None else class_ids(batch.column(label_name))
            if label_name is not None and ids is None:
                return None
            return texts.to_pylist(), ids

        def slow(chunk: list[tuple[int, list[str]]]) -> tuple[list[str], np.ndarray | None]:
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
            return texts, labels

        for start, (texts, labels) in self._reader.scan(fast, slow, size=size):
            yield range(start, start + len(texts)), texts, labels


# --------------------------------------------------------------------------- Parquet


#: Rows of a Parquet file read at a time.
PARQUET_ROWS = 65_536


def open_parquet(path: Path, *, key: str | None = "data.params.path") -> Any:
    """``path`` opened as a ``pyarrow.parquet.ParquetFile`` (its footer read, no rows); a file
    that is not Parquet is refused naming it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:  # column chunks read through a buffer, not whole (a row group is still decoded whole)
        return pq.ParquetFile(path, pre_buffer=False, buffer_size=BLOCK_SIZE)
    except (pa.ArrowInvalid, OSError) as err:
        raise ConfigError(
            f"{path}: not a Parquet file ({' '.join(str(err).split())})",
            key=key,
            fix="write the table with pyarrow.parquet.write_table or pandas' DataFrame.to_parquet",
        ) from None


def parquet_batches(file: Any, size: int | None = None) -> Iterator[tuple[int, pa.RecordBatch]]:
    """``(first row index, record batch)`` of every row of Parquet ``file``, ``size`` rows
    (:data:`PARQUET_ROWS` by default) at a time."""
    start = 0
    for batch in file.iter_batches(batch_size=size or PARQUET_ROWS):
        yield start, batch
        start += batch.num_rows


def read_parquet(
    file: Any,
    cols: Columns,
    label_index: int,
    *,
    path: Path,
    key: str | None = "data.params.path",
    missing_label: str = "refuse",
) -> tuple[np.ndarray, LabelCodes]:
    """Every row of Parquet ``file`` as features (``cols``' float32 block) and labels, a record
    batch at a time; a bad cell or a missing label (unless ``missing_label`` is ``drop``) is
    refused naming its row (0-based) and column."""
    rows = file.metadata.num_rows
    x = _Growing(np.dtype("float32"), len(cols.features), capacity=rows)
    labels = LabelCodes(capacity=rows)
    missing = list(cols.missing_values)
    name = file.schema_arrow.names[label_index]
    for start, batch in parquet_batches(file):
        values = _as_text(batch.column(label_index))
        gone = _label_missing(values, missing) | values.is_null().to_numpy(zero_copy_only=False)
        if gone.any() and missing_label == "refuse":
            row = start + int(np.flatnonzero(gone)[0])
            raise ConfigError(
                f"{path} row {row}: the label (column {name!r}) is missing",
                key=key,
                fix="give every row a label, or set data.params.missing_label: drop (rows "
                "without one are dropped)",
            )
        block = cols.block(batch, keep=~gone)
        if block is None:  # name the cell: the batch's rows as Python values
            cells = list(zip(*(batch.column(i).to_pylist() for i in range(batch.num_columns))))
            block = cols.rows([(start + r, row) for r, row in enumerate(cells) if not gone[r]])
            values = values.filter(~gone) if gone.any() else values
        labels.dropped += int(gone.sum())
        if cols.kept is not None:
            values = values.filter(cols.kept)
        x.append(block)
        labels.add(values)
    return x.array(), labels


def _as_text(values: Any) -> Any:
    """An Arrow column as text (numbers written as text), nulls kept."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as pt

    if pt.is_dictionary(values.type):
        values = values.dictionary_decode()
    return pc.cast(values, pa.string())


def numeric_table(spec: Any) -> dict[str, Any]:
    """The table of ``spec`` with its column list: a run saved before tables had one (every
    feature numeric, no missing cell) gets it from its column names (or positions) and label
    column, so its new rows are read as a table run's are."""
    table = dict(spec.table or {})
    if table.get("features"):
        return table
    columns = table.get("columns")
    width = len(columns) if columns else int(np.prod(spec.input_shape)) + 1
    label = int(table.get("label_column", -1)) % width
    names = columns or [str(i) for i in range(width)]
    table["features"] = [
        {"name": str(names[i]), "index": i, "type": "numeric"} for i in range(width) if i != label
    ]
    table.setdefault("label", str(names[label]))
    table["label_column"] = label
    return table


class NamedTable:
    """A CSV or Parquet file of raw rows for a run trained on a table with a column list
    (``data_spec.json`` ``table.features``): the features are matched **by name** where the
    training file had a header (a missing column is refused naming it and the closest name,
    extra columns are ignored and listed in :attr:`notes`), by position where it had none;
    categories are read through the run's vocabulary (a value it never saw is counted in
    :attr:`unseen` and takes the model's unseen slot), missing cells as the run's model
    takes them (imputed where it learned to, else refused naming the cell).
    """

    def __init__(self, path: Path, spec: Any, *, key: str | None = None) -> None:
        table = numeric_table(spec)
        self.path, self.key = path, key
        self.task = spec.task
        self.class_names = list(spec.class_names or [])
        self.parquet = path.suffix.lower() == ".parquet"
        self.cols = Columns.from_spec(
            table, path=path, key=key, row_word="row" if self.parquet else "line"
        )
        self.notes: list[str] = []
        trained = table.get("columns")
        label_name = table.get("label")
        self.delimiter = table.get("delimiter", ",")
        header_line: int | None = None
        fix = self._fix()
        if self.parquet:
            self._file = open_parquet(path, key=key)
            names = list(self._file.schema_arrow.names)
            if self._file.metadata.num_rows == 0:
                raise ConfigError(
                    f"{path}: no rows (the table is empty)", key=key, fix=self._fix()
                )
            self.width = len(names)
        else:
            peek = list(itertools.islice(csv_rows(path, self.delimiter, key=key), 2))
            if not peek:
                raise ConfigError(f"{path}: no rows (the file is empty)", key=key, fix=fix)
            names = [c.strip() for c in peek[0][1]]
            self.width = len(peek[0][1])
            header_line = peek[0][0]
        named = self.parquet or any(f.name in names for f in self.cols.features)
        if trained and not named:
            # No header (none of the run's names in the first row): the training file's order.
            header_line = None
            self.label_index = self._by_position(table)
            self.notes.append(
                "no header: columns taken in the training file's order ("
                + ", ".join(f.name for f in sorted(self.cols.features, key=lambda f: f.index))
                + ")"
            )
        elif trained:
            self.label_index = self._by_name(names, label_name)
            if not self.parquet and len(peek) < 2:
                raise ConfigError(f"{path}: a header but no rows", key=key, fix=self._fix())
        else:
            if not self.parquet:
                header_line = None
            self.label_index = self._by_position(table)
        self._header_line = header_line

    def _by_name(self, names: list[str], label_name: str | None) -> int:
        """Point each feature at its column of header ``names``; the label's column or -1."""
        wanted = [f.name for f in self.cols.features]
        absent = [n for n in wanted if n not in names]
        if absent:
            others = [n for n in names if n not in wanted and n != label_name]
            if len(absent) == len(wanted):
                raise ConfigError(
                    f"{self.path}: no header naming the run's columns (the first row is "
                    f"{', '.join(names[:6])})",
                    key=self.key,
                    fix=f"give a first row that names the columns: {', '.join(wanted)}",
                )
            raise ConfigError(
                f"{self.path}: no column {absent[0]!r}{closest(absent[0], others)} (the run "
                f"takes {', '.join(wanted)})",
                key=self.key,
                fix=f"give the column {absent[0]!r} (missing cells may be left empty)",
            )
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise ConfigError(
                f"{self.path}: the header names two columns {dup!r}",
                key=self.key,
                fix="give every column its own name",
            )
        for feature in self.cols.features:
            feature.index = names.index(feature.name)
        extra = [n for n in names if n not in wanted and n != label_name]
        if extra:
            self.notes.append(f"columns not used by the model: {', '.join(extra)}")
        return names.index(label_name) if label_name in names else -1

    def _by_position(self, table: dict[str, Any]) -> int:
        """A file without a header: rows as the training file's (features and label) or
        the features alone."""
        features = self.cols.features
        trained_width = len(features) + 1
        if self.width == trained_width:
            return int(table.get("label_column", -1)) % trained_width
        if self.width == len(features):
            order = sorted(features, key=lambda f: f.index)
            for position, feature in enumerate(order):
                feature.index = position
            return -1
        guess = None
        if self.width == 1 and not self.parquet:
            guess = guess_delimiter(next(csv_rows(self.path, self.delimiter, key=self.key))[1])
        s = "s" if self.width > 1 else ""
        raise ConfigError(
            f"{self.path}: rows have {self.width} column{s} with delimiter {self.delimiter!r} "
            f"but the model takes {len(features)} features (or those and the label column)",
            key=self.key,
            fix=f"the run's files are {self.delimiter!r}-separated; the file looks "
            f"{guess!r}-separated"
            if guess and guess != self.delimiter
            else self._fix(),
        )

    def _fix(self) -> str:
        return (
            f"give one example per row: {len(self.cols.features)} features, and the label or not"
        )

    def _labels(self, values: pa.Array, start: int) -> np.ndarray:
        """Class ids or float targets of labels (text), refusing a bad one by its row."""
        import pyarrow.compute as pc

        texts = pc.utf8_trim_whitespace(_as_text(values))
        if self.task == "regression":
            try:
                y = np.asarray(pc.cast(texts, "float64").to_numpy(zero_copy_only=False))
            except Exception:  # noqa: BLE001 - name the cell below
                y = None
            if y is None or np.isnan(y).any():
                cells = texts.to_pylist()
                row = next(
                    i
                    for i, t in enumerate(cells)
                    if t is None or not is_number(t) or not np.isfinite(float(t))
                )
                raise ConfigError(
                    f"{self.path} {self.cols.row_word} {start + row}: the label is "
                    f"{cells[row]!r}, not a number",
                    key=self.key,
                    fix="give numbers in the label column, or leave the column out",
                )
            return y.astype("float32")
        ids = _ClassIds(self.class_names)(texts)
        if ids is None:
            label_ids(
                list(enumerate(texts.to_pylist(), start=start)),
                self.class_names,
                path=self.path,
                key=self.key,
                row_word=self.cols.row_word,
            )
        return ids

    def chunks(self, size: int) -> Iterator[tuple[range, np.ndarray, np.ndarray | None]]:
        """``(row indexes, features, labels or None)`` of up to ``size`` rows at a time."""
        if self.parquet:
            yield from self._parquet_chunks(size)
            return
        reader = CsvReader(
            self.path,
            self.delimiter,
            width=self.width,
            header_line=self._header_line,
            floats=[f.index for f in self.cols.features if not f.category],
            null_values=self.cols.missing_values,
            key=self.key,
        )
        label = CsvReader.column(self.label_index) if self.label_index >= 0 else None

        def fast(batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray | None] | None:
            x = self.cols.block(batch, column=CsvReader.column)
            if x is None:
                return None
            if label is None:
                return x, None
            try:
                return x, self._labels(batch.column(label), 0)
            except ConfigError:
                return None  # the csv module names the line

        def slow(chunk: list[tuple[int, list[str]]]) -> tuple[np.ndarray, np.ndarray | None]:
            check_widths(chunk, self.width, path=self.path, key=self.key)
            x = self.cols.rows(chunk)
            if self.label_index < 0:
                return x, None
            if self.task == "regression":
                for number, row in chunk:
                    text = row[self.label_index].strip()
                    if not is_number(text) or not np.isfinite(float(text)):
                        raise ConfigError(
                            f"{self.path} line {number}: the label is {text!r}, not a number",
                            key=self.key,
                            fix="give numbers in the label column, or leave the column out",
                        )
                return x, np.asarray(
                    [float(row[self.label_index]) for _, row in chunk], dtype="float32"
                )
            values = [(number, row[self.label_index]) for number, row in chunk]
            return x, label_ids(values, self.class_names, path=self.path, key=self.key)

        for start, (x, labels) in reader.scan(fast, slow, size=size):
            yield range(start, start + len(x)), x, labels
        self._note_unseen()

    def _parquet_chunks(self, size: int) -> Iterator[tuple[range, np.ndarray, np.ndarray | None]]:
        for start, batch in parquet_batches(self._file, size):
            x = self.cols.block(batch)
            if x is None:
                cells = list(zip(*(c.to_pylist() for c in batch.columns)))
                x = self.cols.rows([(start + r, row) for r, row in enumerate(cells)])
            labels = None
            if self.label_index >= 0:
                labels = self._labels(batch.column(self.label_index), start)
            yield range(start, start + batch.num_rows), x, labels
        self._note_unseen()

    def _note_unseen(self) -> None:
        if self.cols.unseen:
            self.notes.append(
                f"{self.cols.unseen} row{'s' * (self.cols.unseen > 1)} had a category value "
                "the run never saw in training (read as 'unseen')"
            )
