"""A table's columns as the model takes them: which are features, of what type, what is
missing, and what the label column means (issue 26).

One :class:`Columns` is decided when a table source opens its file, from the header and a
sample of the first :data:`SAMPLE_ROWS` rows (or declared by ``data.params``), and then turns
every record batch (pyarrow, the fast path) or every row (the ``csv`` module, which names what
it refuses) into one float32 block the model's input takes:

- a **numeric** feature is its number; a missing cell is NaN (the model's
  :class:`~nnzoo.layers.table.TableEncoder` imputes it with the training mean and adds a
  missing-indicator input). Infinity and numbers beyond float32 are refused naming the cell.
- a **category** feature (text, a yes/no column, or integers declared so) is a code: the index
  of its value among the values read so far, in order of first appearance; after the split the
  codes are renumbered into the vocabulary of the training split (:meth:`Columns.fit`), values
  the training split never had become -1 (the encoder's out-of-vocabulary slot), a missing
  cell stays NaN (the encoder's "missing" slot).

Cells that mean "missing" are :data:`MISSING_VALUES` (``data.params.missing_values``), matched
after stripping spaces. ``data.params.missing``: ``impute`` (the default), ``refuse`` (the first
missing cell is named) or ``drop_rows``. A label is never imputed: a missing label is refused
naming its line, or its row dropped with ``missing_label: drop``.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnzoo.errors import ConfigError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "COLUMN_TYPES",
    "MISSING_POLICIES",
    "MISSING_VALUES",
    "SAMPLE_ROWS",
    "Columns",
    "closest",
    "decide_task",
    "is_number",
]

logger = logging.getLogger(__name__)

#: Cells that mean "no value" (compared after stripping spaces).
MISSING_VALUES = ("", "NA", "N/A", "n/a", "NaN", "nan", "NAN", "null", "NULL", "None", "?")
#: What a feature column may be declared as (``data.params.column_types``).
COLUMN_TYPES = ("numeric", "category", "binary")
#: ``data.params.missing``.
MISSING_POLICIES = ("impute", "refuse", "drop_rows")
#: Rows read to decide the header and each column's type.
SAMPLE_ROWS = 2000
#: Integer labels with more distinct values than this need an explicit task.
MAX_INTEGER_CLASSES = 20
#: A text column with more distinct values than this (and than half its cells) is an
#: identifier or free text, not a category.
MAX_CATEGORIES = 100
#: Yes/no words a binary column may hold (lower-cased), as pairs.
BINARY_PAIRS = (("false", "true"), ("no", "yes"), ("f", "t"), ("n", "y"))
FLOAT32_MAX = float(np.finfo(np.float32).max)


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def closest(name: str, names: Sequence[str]) -> str:
    """`` (closest: 'x')`` for the name of ``names`` most like ``name``, else ``''``."""
    found = difflib.get_close_matches(name, list(names), n=1, cutoff=0.5)
    return f" (closest: {found[0]!r})" if found else ""


@dataclass
class Feature:
    """One feature column: its name (header name, else its index as text), its position in the
    file, its type, and (category) the values read so far or (after the split) its
    vocabulary."""

    name: str
    index: int
    type: str
    values: dict[str, int] = field(default_factory=dict)
    vocabulary: list[str] | None = None
    missing: int = 0
    imputed: bool = False

    @property
    def category(self) -> bool:
        return self.type != "numeric"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "index": self.index, "type": self.type}
        if self.category:
            out["vocabulary"] = list(self.vocabulary or [])
        if self.type == "numeric":
            out["missing_indicator"] = bool(self.imputed)
        return out


def decide_task(
    distinct: Sequence[str], *, task: str, column: str, where: str
) -> tuple[str, list[str] | None]:
    """``(task, class names or None)`` of a label column of ``distinct`` values (stripped).

    Text labels are classes. Numbers: any that is not an integer means regression; integers
    with more than :data:`MAX_INTEGER_CLASSES` distinct values need ``task`` said, and are
    refused naming both choices. ``task`` is ``auto``, ``classification`` or ``regression``.
    Class names sort as numbers where every label is an integer (kept exactly, never through
    float64), else as text.
    """
    numbers = all(is_number(v) for v in distinct)
    if task == "regression":
        if not numbers:
            text = next(v for v in distinct if not is_number(v))
            raise ConfigError(
                f"{where}: the label column {column!r} holds {text!r}, not a number, so it "
                "cannot be a regression target",
                key="model.params.task",
                fix="set model.params.task: classification, or choose a numeric label_column",
            )
        return "regression", None
    integers = numbers and all(_integer(v) is not None for v in distinct)
    if numbers and not integers and task == "auto":
        return "regression", None
    if integers and task == "auto" and len(distinct) > MAX_INTEGER_CLASSES:
        raise ConfigError(
            f"{where}: the label column {column!r} holds {len(distinct)} distinct integers "
            f"(a number to predict, or {len(distinct)} classes)",
            key="model.params.task",
            fix=f"set model.params.task: regression (predict the number) or classification "
            f"({len(distinct)} classes)",
        )
    if integers:
        return "classification", [str(n) for n in sorted({_integer(v) for v in distinct})]
    if numbers:  # classification of non-integer numbers, as asked
        return "classification", sorted(set(distinct), key=float)
    return "classification", sorted(set(distinct))


def _integer(text: str) -> int | None:
    """The integer ``text`` writes (``3``, ``-2``, ``4.0``, ``1e3``), exactly, else None."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() and abs(number) < 2**53 else None


class Columns:
    """The features of a table and how each cell becomes a model input (module docstring).

    Args:
        features: the feature columns (in model input order).
        path: the file (messages name it).
        missing: ``impute`` | ``refuse`` | ``drop_rows``.
        missing_values: the cells that mean missing.
        key: the config key messages name (``None`` for ``predict``).
        row_word: ``line`` (CSV) or ``row`` (Parquet, 0-based).
    """

    def __init__(
        self,
        features: Sequence[Feature],
        *,
        path: Path,
        missing: str = "impute",
        missing_values: Sequence[str] = MISSING_VALUES,
        key: str | None = "data.params.path",
        row_word: str = "line",
        numeric_fix: str | None = None,
    ) -> None:
        self.features = list(features)
        self.path, self.missing, self.key, self.row_word = path, missing, key, row_word
        self.missing_values = tuple(missing_values)
        self._missing_set = frozenset(self.missing_values)
        self.numeric_fix = numeric_fix
        #: Rows dropped (``missing: drop_rows``) and unseen category values (``predict``).
        self.dropped = 0
        self.unseen = 0
        #: The rows of the last block kept (a boolean mask), or None where all were.
        self.kept: np.ndarray | None = None
        self.frozen = False  # a run's vocabulary: unseen values become -1, never new codes

    # ----------------------------------------------------------------- deciding the columns

    @classmethod
    def infer(
        cls,
        names: Sequence[str],
        positions: Sequence[int],
        sample: Sequence[Sequence[str]],
        *,
        declared: Mapping[str, str] | None = None,
        path: Path,
        missing: str = "impute",
        missing_values: Sequence[str] = MISSING_VALUES,
        start_line: int = 2,
        key: str | None = "data.params.path",
        row_word: str = "line",
    ) -> Columns:
        """The features at ``positions`` (called ``names``), their types decided from the
        ``sample`` rows (``start_line``: the first one's line) unless ``declared``."""
        missing_set = frozenset(missing_values)
        declared = dict(declared or {})
        features = []
        for name, position in zip(names, positions, strict=True):
            cells = [row[position].strip() for row in sample if position < len(row)]
            kind = declared.get(name) or _infer_type(
                name, cells, missing_set, path=path, start=start_line, key=key, row_word=row_word
            )
            features.append(Feature(name=name, index=position, type=kind))
        return cls(
            features,
            path=path,
            missing=missing,
            missing_values=missing_values,
            key=key,
            row_word=row_word,
        )

    @classmethod
    def from_spec(
        cls, table: Mapping[str, Any], *, path: Path, key: str | None = None, row_word: str
    ) -> Columns:
        """The columns of a run (its ``data_spec.json`` table), reading new rows the same way:
        categories through the run's vocabulary (unseen values counted), missing cells as the
        run's model takes them."""
        features = []
        for entry in table["features"]:
            feature = Feature(
                name=str(entry["name"]), index=int(entry["index"]), type=entry["type"]
            )
            if feature.category:
                feature.vocabulary = list(entry.get("vocabulary") or [])
                feature.values = {v: i for i, v in enumerate(feature.vocabulary)}
            feature.imputed = bool(entry.get("missing_indicator", False))
            features.append(feature)
        columns = cls(
            features,
            path=path,
            missing="impute" if table.get("imputes") else "refuse",
            missing_values=table.get("missing_values", MISSING_VALUES),
            key=key,
            row_word=row_word,
        )
        columns.frozen = True
        return columns

    @property
    def numeric_positions(self) -> list[int]:
        return [f.index for f in self.features if not f.category]

    @property
    def plain(self) -> bool:
        """Whether every feature is a number with no missing cell: the model takes them as the
        numeric tables always were (a ``Normalization`` layer, no encoder)."""
        return all(not f.category and not f.missing for f in self.features)

    # ----------------------------------------------------------------- reading cells

    def _code(self, feature: Feature, text: str) -> float:
        """The code of category ``text`` (stripped, not missing)."""
        code = feature.values.get(text)
        if code is None:
            if self.frozen:
                return -1.0
            code = feature.values[text] = len(feature.values)
        return float(code)

    def _missing_cell(self, feature: Feature, number: int, text: str | None) -> None:
        """A missing cell at ``number`` (``text``; ``None``: a null): counted, or refused
        (``missing: refuse``)."""
        if self.missing == "refuse":
            shown = "null" if text is None else "empty" if not text else f"{text!r}"
            fix = (
                "fill it in, or set data.params.missing: impute (the model fills it with the "
                "training mean, or a 'missing' category) or drop_rows"
                if not self.frozen
                else "fill it in (the run was trained with no missing cell in this column, so "
                "its model has nothing to fill it with)"
            )
            raise ConfigError(
                f"{self.path} {self.row_word} {number}: feature {feature.name!r} is missing "
                f"({shown})",
                key=self.key,
                fix=fix,
            )
        feature.missing += 1

    def _refuse_number(self, feature: Feature, number: int, value: float) -> None:
        what = "not a finite number" if not np.isfinite(value) else "beyond float32 (±3.4e38)"
        imputed = " (leave it empty if it is unknown: empty cells are imputed)"
        raise ConfigError(
            f"{self.path} {self.row_word} {number}: feature {feature.name!r} is {value}, {what}",
            key=self.key,
            fix="correct the cell" + (imputed if self.missing == "impute" else ""),
        )

    def rows(self, rows: Sequence[tuple[int, Sequence[str]]]) -> np.ndarray:
        """The block of ``rows`` (``(line or row number, cells)``, read by the ``csv`` module or
        as Python values), refusing the first bad cell by its line and column."""
        x = np.empty((len(rows), len(self.features)), dtype="float32")
        keep = np.ones(len(rows), dtype=bool)
        for r, (number, cells) in enumerate(rows):
            for j, feature in enumerate(self.features):
                raw = cells[feature.index]
                text = "" if raw is None else str(raw).strip()
                if isinstance(raw, float) and np.isnan(raw):
                    text = "nan"
                if raw is None or text in self._missing_set:
                    self._missing_cell(feature, number, None if raw is None else text)
                    x[r, j] = np.nan
                    keep[r] = keep[r] and self.missing != "drop_rows"
                elif feature.category:
                    x[r, j] = self._code(feature, text)
                else:
                    try:
                        value = float(text)
                    except ValueError:
                        raise ConfigError(
                            f"{self.path} {self.row_word} {number}: feature {feature.name!r} is "
                            f"{text!r}, not a number",
                            key=self.key,
                            fix=self.numeric_fix or _numeric_fix(feature.name, self.frozen),
                        ) from None
                    if not abs(value) <= FLOAT32_MAX:
                        self._refuse_number(feature, number, value)
                    x[r, j] = value
        self.dropped += int((~keep).sum())
        return self._dropped(x, keep)

    def _dropped(self, x: np.ndarray, keep: np.ndarray) -> np.ndarray:
        if self.frozen:
            categories = [j for j, f in enumerate(self.features) if f.category]
            if categories:
                self.unseen += int((x[keep][:, categories] == -1).any(axis=1).sum())
        if keep.all():
            self.kept = None
            return x
        self.kept = keep
        return x[keep]

    def block(
        self, batch: pa.RecordBatch, *, column: Any = None, keep: np.ndarray | None = None
    ) -> np.ndarray | None:
        """The block of a record batch, or ``None`` where it holds something to refuse (the
        caller reads those rows again through :meth:`rows`, which names it). Nothing is
        counted unless the block is returned. ``column(index)``: the batch's column name of
        file column ``index`` (by default the position itself); ``keep``: the rows to read
        (the others are dropped for their missing label). :attr:`kept` says which rows the
        block holds."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.types as pt

        x = np.empty((batch.num_rows, len(self.features)), dtype="float32")
        missing = np.zeros((batch.num_rows, len(self.features)), dtype=bool)
        codes: list[tuple[int, Feature, Any, np.ndarray]] = []
        for j, feature in enumerate(self.features):
            values = batch.column(feature.index if column is None else column(feature.index))
            if pt.is_dictionary(values.type):
                values = values.dictionary_decode()
            text = None
            if pt.is_string(values.type) or pt.is_large_string(values.type):
                text = pc.utf8_trim_whitespace(values)
                is_missing = pc.or_kleene(
                    pc.is_null(text), pc.is_in(text, value_set=pa.array(self.missing_values))
                )
            else:
                is_missing = pc.is_null(values)
            mask = is_missing.to_numpy(zero_copy_only=False).astype(bool)
            if feature.category:
                if text is None:
                    text = pc.cast(values, pa.string())
                encoded = pc.dictionary_encode(text)
                codes.append((j, feature, encoded, mask))
                continue
            if text is not None:
                try:
                    values = pc.cast(pc.if_else(is_missing, None, text), pa.float64())
                except pa.ArrowInvalid:
                    return None
            else:
                values = pc.cast(values, pa.float64())
            column_values = values.to_numpy(zero_copy_only=False).astype("float64", copy=False)
            mask |= np.isnan(column_values)
            finite = column_values[~mask]
            if not (np.abs(finite) <= FLOAT32_MAX).all():
                return None
            x[:, j] = column_values
            missing[:, j] = mask
        rows = np.ones(batch.num_rows, dtype=bool) if keep is None else keep
        if (missing[rows]).any() and self.missing == "refuse":
            return None
        for j, feature, encoded, mask in codes:
            words = encoded.dictionary.to_pylist()
            local = np.fromiter(
                (
                    np.nan if w in self._missing_set or w is None else self._code(feature, w)
                    for w in words
                ),
                dtype="float64",
                count=len(words),
            )
            indices = encoded.indices.to_numpy(zero_copy_only=False)
            column_codes = (
                local[np.nan_to_num(indices, nan=0).astype("int64")]
                if len(words)
                else (np.full(batch.num_rows, np.nan))
            )
            column_codes[mask] = np.nan
            x[:, j] = column_codes
            missing[:, j] = mask
        for j, feature in enumerate(self.features):
            feature.missing += int(missing[rows, j].sum())
        if self.missing == "drop_rows":
            self.dropped += int((rows & missing.any(axis=1)).sum())
            rows = rows & ~missing.any(axis=1)
        return self._dropped(x, rows)

    # ----------------------------------------------------------------- after the split

    def fit(self, train: np.ndarray) -> dict[int, np.ndarray]:
        """Each category's vocabulary, from the training rows ``train`` alone: its values
        there, sorted (as numbers where all are numbers). Returns ``{feature position in x:
        old code -> new code}`` (-1: not in the training split)."""
        remaps = {}
        for j, feature in enumerate(self.features):
            if not feature.category:
                feature.imputed = bool(np.isnan(train[:, j]).any()) if len(train) else False
                continue
            by_code = list(feature.values)
            seen = np.unique(train[:, j][~np.isnan(train[:, j])]).astype("int64")
            words = [by_code[c] for c in seen if c >= 0]
            numeric = all(is_number(w) for w in words)
            vocabulary = sorted(words, key=float) if numeric and words else sorted(words)
            feature.vocabulary = vocabulary
            position = {w: i for i, w in enumerate(vocabulary)}
            remaps[j] = np.asarray([position.get(w, -1) for w in by_code], dtype="float32")
            feature.values = dict(position)
        self.frozen = True
        return remaps

    @staticmethod
    def encode(x: np.ndarray, remaps: Mapping[int, np.ndarray]) -> np.ndarray:
        """``x`` with its category codes renumbered by :meth:`fit`'s ``remaps``."""
        if not remaps:
            return x
        x = np.array(x, dtype="float32", copy=True)
        for j, remap in remaps.items():
            column = x[:, j]
            known = ~np.isnan(column) & (column >= 0)
            column[known] = remap[column[known].astype("int64")] if len(remap) else -1
        return x

    def model_columns(self) -> list[str]:
        """The encoder's description of each feature (``model.params.table_columns``):
        ``numeric``, ``numeric+missing`` (a missing-indicator input too) or ``category:V``
        (V values in the training vocabulary)."""
        out = []
        for f in self.features:
            if f.category:
                out.append(f"category:{len(f.vocabulary or [])}")
            else:
                out.append("numeric+missing" if f.imputed else "numeric")
        return out

    def describe(self) -> str:
        """Each feature and its type, for the line ``validate`` prints (``train`` prints the
        run's :meth:`~nnzoo.data.DataSpec.describe`)."""
        parts = []
        for f in self.features:
            if f.category and f.vocabulary is not None:
                parts.append(f"{f.name} ({f.type}, {len(f.vocabulary)} values)")
            elif f.category:
                parts.append(f"{f.name} ({f.type})")
            else:
                parts.append(f"{f.name} (numeric)")
        return ", ".join(parts)


def _numeric_fix(name: str, frozen: bool) -> str:
    if frozen:
        return "give a number (the run's model takes this column as numbers)"
    return (
        f"correct the cell, or set data.params.column_types: {{{name}: category}} if the "
        "column holds categories"
    )


def _infer_type(
    name: str,
    cells: Sequence[str],
    missing: Iterable[str],
    *,
    path: Path,
    start: int,
    key: str | None,
    row_word: str,
) -> str:
    """A feature column's type from its sample ``cells`` (stripped): numbers are numeric;
    yes/no words binary; text a category. A column mostly of numbers with some text is
    refused naming the first text cell (a typo read as a category would be silent); a text
    column of mostly distinct values is an identifier or free text, refused."""
    missing = frozenset(missing)
    present = [(i, c) for i, c in enumerate(cells) if c not in missing]
    if not present:
        return "numeric"
    texts = [(i, c) for i, c in present if not is_number(c)]
    if not texts:
        return "numeric"
    lowered = {c.lower() for _, c in present}
    if len(texts) == len(present) and any(lowered <= set(pair) for pair in BINARY_PAIRS):
        return "binary"
    if len(texts) * 2 < len(present):
        i, text = texts[0]
        raise ConfigError(
            f"{path} {row_word} {start + i}: feature {name!r} is {text!r}, not a number "
            f"({len(present) - len(texts)} of the first {len(present)} cells are numbers)",
            key=key,
            fix=_numeric_fix(name, frozen=False),
        )
    distinct = len({c for _, c in present})
    if distinct > MAX_CATEGORIES and distinct * 2 > len(present):
        raise ConfigError(
            f"{path}: feature {name!r} has {distinct} distinct values in its first "
            f"{len(present)} cells: an identifier or free text, not a category",
            key=key,
            fix=f"leave it out (data.params.features: the columns to use), or set "
            f"data.params.column_types: {{{name}: category}} to keep it",
        )
    return "category"
