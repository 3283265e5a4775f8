"""The data-source registry and the split logic shared by all sources."""

from __future__ import annotations

import difflib
import importlib
import inspect
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from nnzoo.errors import ConfigError

#: Modules that register data sources.
SOURCE_MODULES = (
    "nnzoo.data.tabular",
    "nnzoo.data.images",
    "nnzoo.data.keras_datasets",
    "nnzoo.data.text",
    "nnzoo.data.files",
    "nnzoo.data.synthetic",
)


@dataclass
class DataSpec:
    """What a data source yields; the trainer fills the model's parameters from it.

    Attributes:
        input_kind: ``features`` | ``image`` | ``tokens`` | ``tokens_segments``.
        input_shape: shape of one example (without the batch axis); for tokens, ``(length,)``.
        num_classes: number of classes of a classification task, else ``None``.
        class_names: names of the classes, in label order.
        vocabulary_size: size of the token vocabulary (text sources).
        sequence_length: the longest sequence the source yields (text sources).
        task: ``classification`` | ``regression`` | ``language_modeling`` | ``masked_lm``.
        feature_scaling: how a features model scales its inputs, inside the model (a
            ``Normalization`` layer, so ``predict`` takes raw features): ``"standardize"``
            (mean and variance of the training split), ``[low, high]`` (a known range mapped
            to [0, 1]) or ``None`` (taken as they are).
        table: how a tabular source read its file, so ``predict`` reads raw rows the same way:
            ``{"columns": [names] or None, "label_column": index, "delimiter": ","}``.
        target: a regression source's targets, ``{"mean", "std", "min", "max"}`` over every
            example it returned (:func:`target_statistics`), else ``None``. (The model's own
            target scale comes from the training split alone.)
    """

    input_kind: str
    input_shape: tuple[int, ...]
    num_classes: int | None = None
    class_names: list[str] | None = None
    vocabulary_size: int | None = None
    sequence_length: int | None = None
    task: str = "classification"
    feature_scaling: str | list[float] | None = None
    table: dict[str, Any] | None = None
    target: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_kind": self.input_kind,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "class_names": self.class_names,
            "vocabulary_size": self.vocabulary_size,
            "sequence_length": self.sequence_length,
            "task": self.task,
            "feature_scaling": self.feature_scaling,
            "table": self.table,
            **({"target": self.target} if self.target is not None else {}),
        }

    def describe(self) -> str:
        """One line of what the run assumes of its data: the label column, the task, the
        classes (or the target's mean and spread), each feature's type and the missing cells
        (``train`` prints it when it starts)."""
        table = self.table or {}
        parts = []
        if table.get("label") is not None:
            parts.append(f"label {table['label']!r}")
        if self.task == "classification" and self.class_names:
            names = ", ".join(self.class_names[:8]) + (
                ", ..." if len(self.class_names) > 8 else ""
            )
            parts.append(f"classification, {len(self.class_names)} classes ({names})")
        elif self.task == "regression" and self.target:
            t = self.target
            parts.append(
                f"regression, target mean {t['mean']:.4g}, std {t['std']:.4g}, "
                f"range {t['min']:.4g} to {t['max']:.4g}"
            )
        else:
            parts.append(self.task)
        features = table.get("features")
        if features:
            shown = []
            for f in features:
                if f["type"] == "numeric":
                    shown.append(f"{f['name']} numeric")
                else:
                    shown.append(f"{f['name']} {f['type']} ({len(f.get('vocabulary') or [])})")
            parts.append("features: " + ", ".join(shown))
        else:
            shape = "x".join(str(d) for d in self.input_shape)
            parts.append(f"{self.input_kind} {shape}")
        missing = table.get("missing") or {}
        cells = missing.get("cells") or {}
        if cells and missing.get("policy") == "drop_rows":
            parts.append(f"{missing.get('dropped_rows', 0)} rows with missing cells dropped")
        elif cells:
            listed = ", ".join(f"{k} {v}" for k, v in cells.items())
            parts.append(f"{sum(cells.values())} missing cells imputed ({listed})")
        if missing.get("dropped_rows") and missing.get("policy") != "drop_rows":
            parts.append(f"{missing['dropped_rows']} rows without a label dropped")
        return "; ".join(parts)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataSpec:
        data = dict(data)
        data["input_shape"] = tuple(data["input_shape"])
        data.setdefault("target", None)  # written before regression existed
        return cls(**data)


@dataclass
class SourceData:
    """What a source loader returns: examples and labels, optionally pre-split.

    ``x`` is an array or a dict of arrays (text: ``token_ids``, ``padding_mask``). A source
    that has an official test split returns it in ``test``; ``validation`` likewise.
    ``artifacts`` are files the run directory keeps (e.g. ``{"tokenizer.json": text}``).
    """

    x: Any
    y: Any
    spec: DataSpec
    test: tuple[Any, Any] | None = None
    validation: tuple[Any, Any] | None = None
    artifacts: dict[str, str] = field(default_factory=dict)
    #: Tiny sources (logic gates) evaluate on their whole truth table.
    full_batch: bool = False
    #: A source whose encoding is learned from data (a word vocabulary) returns raw examples
    #: (texts) in ``x`` and this: called with the training split's examples only, after the
    #: split, it returns the :class:`Encoding` that every split is encoded with.
    fit: Callable[[Any], Encoding] | None = None


@dataclass
class Encoding:
    """What :attr:`SourceData.fit` learned from the training examples: ``encode(x)`` turns raw
    examples into model inputs; ``vocabulary_size`` and ``artifacts`` (``tokenizer.json``) go
    to the spec and the run directory."""

    encode: Callable[[Any], Any]
    vocabulary_size: int | None = None
    artifacts: dict[str, str] = field(default_factory=dict)
    #: Fields of the :class:`DataSpec` learned from the training split (a table's vocabularies).
    spec: dict[str, Any] = field(default_factory=dict)
    #: Whether held-out examples that encode to a training example are dropped (texts).
    dedupe: bool = True


def classification_data(
    x: np.ndarray,
    y: np.ndarray,
    class_names: Sequence[str],
    *,
    input_kind: str,
    feature_scaling: str | list[float] | None = None,
    table: dict[str, Any] | None = None,
    **fields: Any,
) -> SourceData:
    """The :class:`SourceData` of examples ``x`` (an array, one example per row) labelled ``y``
    with class ids ``0 .. len(class_names) - 1``: the spec's ``input_shape`` is one row's shape.
    ``feature_scaling`` and ``table`` go to the :class:`DataSpec`; ``fields`` are the other
    fields of :class:`SourceData` (``test``, ``full_batch``, ...)."""
    spec = DataSpec(
        input_kind=input_kind,
        input_shape=tuple(int(d) for d in x.shape[1:]),
        num_classes=len(class_names),
        class_names=list(class_names),
        feature_scaling=feature_scaling,
        table=table,
    )
    return SourceData(x=x, y=y, spec=spec, **fields)


def target_statistics(y: Any) -> dict[str, float]:
    """``{"mean", "std", "min", "max"}`` of regression targets ``y``, in float64; ``std`` is the
    population standard deviation, 1 for a constant target (as ``feature_moments``)."""
    y = np.asarray(y, dtype="float64").reshape(-1)
    if y.size == 0:
        raise ValueError("`y` has no targets. Received: 0 rows")
    low, high = float(y.min()), float(y.max())
    std = float(y.std()) if high > low else 1.0
    return {"mean": float(y.mean()), "std": std, "min": low, "max": high}


def regression_data(
    x: np.ndarray,
    y: np.ndarray,
    *,
    input_kind: str,
    feature_scaling: str | list[float] | None = None,
    table: dict[str, Any] | None = None,
    where: str = "the data",
    **fields: Any,
) -> SourceData:
    """The :class:`SourceData` of examples ``x`` (an array, one example per row) with real
    targets ``y`` (one per row, stored as float32): a ``regression`` spec, no classes, the
    targets' statistics in ``target``. A NaN or infinite target is a :class:`ConfigError`
    naming its row (``where`` names the data). ``feature_scaling`` and ``table`` go to the
    :class:`DataSpec`; ``fields`` are the other fields of :class:`SourceData` (``test``, ...).
    """
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != num_examples(x):
        raise ValueError(
            f"`y` must hold one target per example of `x`. Received: y.shape={y.shape}, "
            f"{num_examples(x)} examples"
        )
    if y.dtype.kind not in "biuf":
        raise ConfigError(
            f"{where}: regression targets must be numbers. Received: dtype {y.dtype}",
            key="data.source",
        )
    targets = [y]
    if fields.get("test") is not None:
        targets.append(np.asarray(fields["test"][1]))
    if fields.get("validation") is not None:
        targets.append(np.asarray(fields["validation"][1]))
    for part, values in zip(("", " (test)", " (validation)"), targets, strict=False):
        bad = ~np.isfinite(values.astype("float64"))
        if bad.any():
            row = int(np.argmax(bad))
            raise ConfigError(
                f"{where}{part}: the target of row {row} is {values[row]}, not a finite number",
                key="data.source",
                fix="fill in or drop the rows without a target (nnzoo does not impute)",
            )
    for name in ("test", "validation"):
        if fields.get(name) is not None:
            part_x, part_y = fields[name]
            fields[name] = (part_x, np.asarray(part_y, dtype="float32"))
    spec = DataSpec(
        input_kind=input_kind,
        input_shape=tuple(int(d) for d in x.shape[1:]),
        task="regression",
        feature_scaling=feature_scaling,
        table=table,
        target=target_statistics(np.concatenate([t.astype("float64") for t in targets])),
    )
    return SourceData(x=x, y=y.astype("float32"), spec=spec, **fields)


@dataclass
class Splits:
    """The train / validation / test examples of a source, and where each came from.

    ``indices`` (``train``, ``validation``, ``test``: uint32 arrays, sorted) say which examples
    of the source each split holds, as positions in its example list: the examples the loader
    returns, then its own test examples, then its own validation examples (a source with an
    official test split), before texts are de-duplicated. A run records them
    (``split.npz``); :func:`load_data` with ``split=`` takes exactly those examples again.
    """

    train: tuple[Any, Any]
    validation: tuple[Any, Any] | None
    test: tuple[Any, Any]
    spec: DataSpec
    artifacts: dict[str, str] = field(default_factory=dict)
    indices: dict[str, np.ndarray] | None = field(default=None, repr=False, compare=False)
    #: The data's fingerprint (:func:`~nnzoo.data.data_fingerprint`), once a run computed it:
    #: the trials of a study share their splits and hash the data files once.
    fingerprint: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    #: Input pipelines made from these splits, by what made them (the trainer's; a study's
    #: trials train on the same splits with the same pipelines). Not part of the data.
    pipelines: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)
    #: Held-out examples dropped as duplicates of earlier ones, by split (``validation``,
    #: ``test``), so that an emptied split can say why it is empty.
    dropped: dict[str, int] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Source:
    """A registered data source. ``path_kind`` (``file`` / ``folder``): it reads the user's
    ``data.params.path``, which is then required and must exist (``validate`` checks it)."""

    name: str
    loader: Callable[..., SourceData]
    input_kind: str
    summary: str
    offline: bool
    path_kind: str | None = None
    #: The input kind for given ``data.params``, where they decide it (csv: ``text_column``).
    input_kind_for: Callable[[dict[str, Any]], str] | None = None
    #: The files a folder source reads with given ``data.params``, by the parameter naming
    #: their folder (``{"path": [...], "test_path": [...]}``); a file source reads ``path``.
    list_files: Callable[[dict[str, Any]], dict[str, list[Path]]] | None = None

    def files(self, params: dict[str, Any]) -> dict[str, list[Path]]:
        """The files this source reads with ``params`` (``{}`` for a source of no files)."""
        if self.list_files is not None:
            return self.list_files(params)
        if self.path_kind == "file":
            return {"path": [existing_path(params.get("path"), kind="file")]}
        return {}

    def yields(self, params: dict[str, Any]) -> str:
        """The input kind this source yields with ``params``."""
        return self.input_kind_for(params) if self.input_kind_for else self.input_kind

    @property
    def parameters(self) -> dict[str, Any]:
        params = {}
        for p in inspect.signature(self.loader).parameters.values():
            if p.name == "seed" or p.kind not in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
                continue
            if p.name.startswith("_"):  # the loader's own options (e.g. validate's sample)
                continue
            params[p.name] = None if p.default is inspect.Parameter.empty else p.default
        return params

    def to_dict(self) -> dict[str, Any]:
        """The source as ``nnzoo list-sources --json`` lists it: its parameters with their
        defaults (``None``: required), and whether it reads without a download."""
        return {
            "name": self.name,
            "input_kind": self.input_kind,
            "offline": self.offline,
            "params": self.parameters,
            "summary": self.summary,
        }


_SOURCES: dict[str, Source] = {}
_LOADED = False


def register_source(
    name: str,
    loader: Callable[..., SourceData],
    *,
    input_kind: str,
    summary: str,
    offline: bool,
    path_kind: str | None = None,
    input_kind_for: Callable[[dict[str, Any]], str] | None = None,
    list_files: Callable[[dict[str, Any]], dict[str, list[Path]]] | None = None,
) -> None:
    """Register a data source. ``loader(*, seed, **params) -> SourceData``; ``path_kind``
    (``file`` / ``folder``) when it reads a required ``path`` parameter; ``input_kind_for``
    when the parameters decide the input kind; ``list_files`` for a folder source: the files
    it reads (its data fingerprint)."""
    if name in _SOURCES:
        raise ValueError(f"Data source {name!r} is registered twice.")
    _SOURCES[name] = Source(
        name, loader, input_kind, summary, offline, path_kind, input_kind_for, list_files
    )


def _load_modules() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for module in SOURCE_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise


def list_sources() -> list[str]:
    _load_modules()
    return list(_SOURCES)


def get_source(
    name: str, *, file: str | None = None, key: str = "data.source", line: int | None = None
) -> Source:
    _load_modules()
    if name in _SOURCES:
        return _SOURCES[name]
    close = difflib.get_close_matches(str(name), list(_SOURCES), n=1)
    fix = f"did you mean '{close[0]}'?" if close else "one of: " + ", ".join(_SOURCES)
    raise ConfigError(f"unknown data source '{name}'", file=file, key=key, line=line, fix=fix)


def check_source_params(
    source: Source, params: dict[str, Any], *, file: str | None = None, line: int | None = None
) -> None:
    allowed = list(source.parameters)
    for name in params:
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = (
                f"did you mean '{close[0]}'?"
                if close
                else (
                    "allowed: " + ", ".join(allowed) if allowed else "this source takes no params"
                )
            )
            raise ConfigError(
                f"data source '{source.name}' takes no parameter '{name}'",
                file=file,
                key=f"data.params.{name}",
                line=line,
                fix=hint,
            )


#: The ``kind`` of :func:`existing_path` that takes either.
FILE_OR_FOLDER = "file or folder"


def existing_path(path: Any, *, kind: str, key: str = "path") -> Path:
    """``path`` as a :class:`Path` that exists (a ``kind`` = ``file``, ``folder`` or
    :data:`FILE_OR_FOLDER`); the same check for ``validate`` and for the loader, so the two
    agree."""
    if path is None or str(path) == "":
        raise ConfigError(
            "is required",
            key=f"data.params.{key}",
            fix=f"set data.params.{key} to the {kind} to read",
        )
    resolved = Path(str(path)).expanduser()
    if kind == FILE_OR_FOLDER:
        ok = resolved.is_dir() or resolved.is_file()
    else:
        ok = resolved.is_dir() if kind == "folder" else resolved.is_file()
    if not ok:
        what = "not a folder" if kind == "folder" and resolved.exists() else f"{kind} not found"
        wanted = kind
        if kind != "folder" and resolved.exists() and not resolved.is_dir():
            # A FIFO, a device (/dev/zero), a socket: reading it would block or never end.
            what = "not a regular file (a pipe, device or socket)"
            wanted = kind.replace("file", "regular file")
        elif kind == "file" and resolved.is_dir():
            what = "a folder, not a file"
        raise ConfigError(
            f"{what}. Received: {key}={str(path)!r}",
            key=f"data.params.{key}",
            fix=f"give the path of an existing {wanted} (relative paths start at {os.getcwd()})",
        )
    return resolved


def check_required_params(
    source: Source, params: dict[str, Any], *, file: str | None = None, line: int | None = None
) -> None:
    """What the loader would refuse before reading anything: a missing or wrong ``path`` (an
    optional one, ``text_corpus``'s, where it is given)."""
    kind = source.path_kind
    if kind is None and "path" in source.parameters and params.get("path") is not None:
        kind = FILE_OR_FOLDER
    if kind is None:
        return
    try:
        existing_path(params.get("path"), kind=kind)
    except ConfigError as err:
        raise ConfigError(err.message, file=file, key=err.key, line=line, fix=err.fix) from None


def check_choice(name: str, value: Any, allowed: Sequence[Any]) -> None:
    """A :class:`ConfigError` on ``data.params.<name>`` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ConfigError(
            f"must be one of {', '.join(map(str, allowed))}. Received: {name}={value!r}",
            key=f"data.params.{name}",
        )


def check_int(name: str, value: Any, minimum: int = 1, *, optional: bool = False) -> None:
    """A :class:`ConfigError` on ``data.params.<name>`` unless ``value`` is an integer
    ``>= minimum`` (or, when ``optional``, ``None``)."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(
            f"must be an integer >= {minimum}. Received: {name}={value!r}",
            key=f"data.params.{name}",
        )


class Listing:
    """Examples a source lists rather than holds (files): the pipeline reads them as it goes.

    A listing splits as an array does: ``len`` and rows by an index array or a slice (another
    listing of the same kind), so :func:`load_data` draws the same indices over it as over the
    arrays it replaces. :meth:`read` returns rows as the model takes them. Subclasses:
    :class:`~nnzoo.data._listed.ImageFiles`.
    """

    #: One example's shape as :meth:`read` returns it.
    example_shape: tuple[int, ...]

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: Any) -> Listing:
        raise NotImplementedError

    def read(self, rows: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """Rows ``rows`` (default: every row) as arrays."""
        raise NotImplementedError

    @property
    def shape(self) -> tuple[int, ...]:
        """``(examples, *example_shape)``: the shape the examples, read, would have."""
        return (len(self), *self.example_shape)


def is_listing(x: Any) -> bool:
    """Whether ``x`` lists its examples (read while training) rather than holding them."""
    return isinstance(x, Listing)


def take(x: Any, index: np.ndarray) -> Any:
    """Rows ``index`` of an array, of every array in a dict, or of a :class:`Listing`
    (another listing: nothing is read)."""
    if isinstance(x, dict):
        return {k: v[index] for k, v in x.items()}
    return x[index]


def read_rows(x: Any, rows: np.ndarray) -> Any:
    """Rows ``rows`` of ``x`` as arrays: read from a :class:`Listing`, else taken."""
    return x.read(rows) if is_listing(x) else take(x, rows)


def num_examples(x: Any) -> int:
    if isinstance(x, dict):
        return len(next(iter(x.values())))
    return len(x)


#: The splits a run records, in the order of ``split.npz``.
SPLIT_NAMES = ("train", "validation", "test")


def _split(
    y: Any, index: np.ndarray, fraction: float, seed: int, stratify: bool, where: str, key: str
) -> tuple[np.ndarray, np.ndarray]:
    """Split off ``fraction`` of the examples ``index`` (labelled ``y[index]``; stratified by
    label for classification): ``(kept, held)``, each sorted. Both parts must keep an example
    (``where`` and ``data.<key>`` name the refusal)."""
    from sklearn.model_selection import train_test_split

    n = len(index)
    n_held = math.ceil(fraction * n)
    if n_held < 1 or n - n_held < 1:
        raise ConfigError(
            f"{where}: {n} example{'s' if n != 1 else ''} left, too few to hold out "
            f"{key}={fraction} and keep one to train on",
            key=f"data.{key}",
            fix="give more examples (a few per class at least), or change the split",
        )
    labels = np.asarray(y)[index] if stratify and y is not None else None
    if labels is not None and labels.ndim == 1:
        counts = np.bincount(labels.astype(np.int64))
        n_held = int(round(fraction * n))
        if counts[counts > 0].min() < 2 or n_held < np.count_nonzero(counts):
            labels = None
    else:
        labels = None
    keep, held = train_test_split(
        np.arange(n), test_size=fraction, random_state=seed, stratify=labels
    )
    return index[np.sort(keep)], index[np.sort(held)]


class _Examples:
    """A source's example list: the examples its loader returns, then its own test examples,
    then its own validation examples; :meth:`take` gives the ones at some positions."""

    def __init__(self, data: SourceData) -> None:
        self.parts = [(data.x, data.y)]
        self.parts += [part for part in (data.test, data.validation) if part is not None]
        self.starts = np.cumsum([0] + [num_examples(x) for x, _ in self.parts])
        self.total = int(self.starts[-1])

    def range(self, part: tuple[Any, Any] | None) -> np.ndarray:
        """The positions of ``part`` (the loader's test or validation examples)."""
        at = next(i for i, p in enumerate(self.parts) if p is part)
        return np.arange(self.starts[at], self.starts[at + 1])

    def take(self, index: np.ndarray) -> tuple[Any, Any]:
        """The examples (and labels) at positions ``index``; a whole part is that part."""
        pieces = []
        for i, (x, y) in enumerate(self.parts):
            start, stop = int(self.starts[i]), int(self.starts[i + 1])
            local = index[(index >= start) & (index < stop)] - start
            if len(local) == stop - start and np.array_equal(local, np.arange(stop - start)):
                pieces.append((x, y))  # the whole part, in order: no copy
            elif len(local):
                pieces.append((take(x, local), None if y is None else np.asarray(y)[local]))
        if not pieces:  # no example: an empty part of the loader's examples
            x, y = self.parts[0]
            return take(x, index[:0]), None if y is None else np.asarray(y)[:0]
        if len(pieces) == 1:
            return pieces[0]
        xs, ys = [x for x, _ in pieces], [y for _, y in pieces]
        if isinstance(xs[0], dict):
            x = {k: np.concatenate([part[k] for part in xs]) for k in xs[0]}
        else:
            x = np.concatenate(xs)
        return x, None if ys[0] is None else np.concatenate(ys)


def load_data(
    source: str,
    *,
    params: dict[str, Any] | None = None,
    validation_split: float = 0.1,
    test_split: float = 0.2,
    seed: int = 42,
    file: str | None = None,
    split: Mapping[str, np.ndarray] | None = None,
    whole: bool = False,
) -> Splits:
    """Load ``source`` and split it into train / validation / test.

    The source's own test (and validation) split is used where it has one; otherwise
    ``test_split`` and then ``validation_split`` of the remaining examples are held out
    (stratified by label, with scikit-learn, seeded by ``seed``). The examples each split
    holds are in :attr:`Splits.indices`.

    Args:
        split: the indices a run recorded (``train``, ``validation``, ``test``): these
            examples, not a new draw. Defaults to ``None``.
        whole: every example in the test split, none held out and none dropped as a
            duplicate (``evaluate`` on other data). Defaults to ``False``.
    """
    src = get_source(source, file=file)
    params = dict(params or {})
    check_source_params(src, params, file=file)
    try:
        return _load(src, params, validation_split, test_split, seed, split, whole)
    except ConfigError as err:
        if file is None or err.file is not None:
            raise
        # The source names the data file and the key; name the config that set them too.
        raise ConfigError(
            err.message, file=file, key=err.key, line=err.line, fix=err.fix
        ) from None


def _load(
    src: Source,
    params: dict[str, Any],
    validation_split: float,
    test_split: float,
    seed: int,
    split: Mapping[str, np.ndarray] | None,
    whole: bool,
) -> Splits:
    data = src.loader(seed=seed, **params)
    where = str(params.get("path") or f"data source '{src.name}'")
    _check_examples(data, where)
    examples = _Examples(data)
    if whole:
        everything = np.arange(examples.total)
        index = {"train": everything[:0], "validation": everything[:0], "test": everything}
    elif split is not None:
        index = _recorded(split, examples.total, where)
    else:
        index = _draw(data, examples, validation_split, test_split, seed, where)
    indices = {name: index[name].astype("uint32") for name in SPLIT_NAMES}
    if data.full_batch:
        whole_set = (data.x, data.y)
        return Splits(whole_set, whole_set, whole_set, data.spec, data.artifacts, indices)
    validation = examples.take(index["validation"]) if len(index["validation"]) else None
    train, test = examples.take(index["train"]), examples.take(index["test"])
    splits = Splits(train, validation, test, data.spec, data.artifacts, indices)
    if data.fit is None:
        return splits
    return _encoded(splits, data.fit, dedupe=not whole)


def _draw(
    data: SourceData,
    examples: _Examples,
    validation_split: float,
    test_split: float,
    seed: int,
    where: str,
) -> dict[str, np.ndarray]:
    """The positions of each split, drawn: the source's own test and validation examples where
    it has them, else ``test_split`` and then ``validation_split`` of the rest held out."""
    n = num_examples(data.x)
    if data.full_batch:  # tiny sources (logic gates) train and evaluate on every example
        return dict.fromkeys(SPLIT_NAMES, np.arange(n))
    stratify = data.spec.task == "classification"
    train = np.arange(n)
    if data.test is None:
        train, test = _split(data.y, train, test_split, seed, stratify, where, "test_split")
    else:
        test = examples.range(data.test)
    validation = train[:0]
    if data.validation is not None:
        validation = examples.range(data.validation)
    elif validation_split > 0:
        train, validation = _split(
            data.y, train, validation_split, seed + 1, stratify, where, "validation_split"
        )
    return {"train": train, "validation": validation, "test": test}


def _recorded(split: Mapping[str, np.ndarray], total: int, where: str) -> dict[str, np.ndarray]:
    """The recorded positions of each split, checked against the ``total`` examples."""
    index = {name: np.asarray(split[name], dtype="int64") for name in SPLIT_NAMES}
    largest = max((int(v.max()) for v in index.values() if len(v)), default=-1)
    if largest >= total:
        raise ConfigError(
            f"{where} has {total} examples, but the recorded split holds example {largest}",
            key="data.params",
            fix="give the data the run was trained on",
        )
    return index


def _encoded(splits: Splits, fit: Callable[[Any], Encoding], *, dedupe: bool = True) -> Splits:
    """``splits`` encoded with what ``fit`` learns from the training examples alone.

    Held-out examples that encode to a training example (or to one before them in their own
    split) are dropped unless ``dedupe`` is false: an unknown word read as ``[UNK]`` can make
    two texts one.
    """
    encoding = fit(splits.train[0])
    dedupe = dedupe and encoding.dedupe
    seen: set[bytes] = set()

    def encode(part: tuple[Any, Any], name: str) -> tuple[Any, Any]:
        x = encoding.encode(part[0])
        if not dedupe:
            return x, part[1]
        ids = x["token_ids"] if isinstance(x, dict) else x
        keep = []
        for i, row in enumerate(np.asarray(ids)):
            key = row.tobytes()
            if key not in seen:
                seen.add(key)
                keep.append(i)
        index = np.asarray(keep, dtype="int64")
        dropped[name] = len(ids) - len(keep)
        return take(x, index), None if part[1] is None else np.asarray(part[1])[index]

    dropped: dict[str, int] = {}
    train = encode(splits.train, "train")
    validation = encode(splits.validation, "validation") if splits.validation is not None else None
    spec = replace(splits.spec, vocabulary_size=encoding.vocabulary_size, **encoding.spec)
    artifacts = {**splits.artifacts, **encoding.artifacts}
    test = encode(splits.test, "test")
    return Splits(train, validation, test, spec, artifacts, splits.indices, dropped=dropped)


def _check_examples(data: SourceData, where: str) -> None:
    """A source's examples can train a model: some rows, and two classes or more."""
    n = num_examples(data.x)
    if n < 2 and not data.full_batch:
        raise ConfigError(
            f"{where} has {n} example{'' if n == 1 else 's'}: too few to train on and test",
            key="data.source",
            fix="give more examples (a few per class at least)",
        )
    names, count = data.spec.class_names, data.spec.num_classes
    if data.spec.task == "classification" and count is not None and count < 2:
        only = f" (every label is {names[0]!r})" if names else ""
        raise ConfigError(
            f"{where} has {count} class{only}; a classifier needs two or more",
            key="data.source",
            fix="give examples of at least two classes",
        )
