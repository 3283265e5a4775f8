"""The data-source registry and the split logic shared by all sources."""

from __future__ import annotations

import difflib
import importlib
import inspect
import math
import os
from collections.abc import Callable, Sequence
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
        task: ``classification`` | ``language_modeling`` | ``masked_lm``.
        feature_scaling: how a features model scales its inputs, inside the model (a
            ``Normalization`` layer, so ``predict`` takes raw features): ``"standardize"``
            (mean and variance of the training split), ``[low, high]`` (a known range mapped
            to [0, 1]) or ``None`` (taken as they are).
        table: how a tabular source read its file, so ``predict`` reads raw rows the same way:
            ``{"columns": [names] or None, "label_column": index, "delimiter": ","}``.
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
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataSpec:
        data = dict(data)
        data["input_shape"] = tuple(data["input_shape"])
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


@dataclass
class Splits:
    train: tuple[Any, Any]
    validation: tuple[Any, Any] | None
    test: tuple[Any, Any]
    spec: DataSpec
    artifacts: dict[str, str] = field(default_factory=dict)
    #: Input pipelines made from these splits, by what made them (the trainer's; a study's
    #: trials train on the same splits with the same pipelines). Not part of the data.
    pipelines: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)


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

    def yields(self, params: dict[str, Any]) -> str:
        """The input kind this source yields with ``params``."""
        return self.input_kind_for(params) if self.input_kind_for else self.input_kind

    @property
    def parameters(self) -> dict[str, Any]:
        params = {}
        for p in inspect.signature(self.loader).parameters.values():
            if p.name == "seed" or p.kind not in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
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
) -> None:
    """Register a data source. ``loader(*, seed, **params) -> SourceData``; ``path_kind``
    (``file`` / ``folder``) when it reads a required ``path`` parameter; ``input_kind_for``
    when the parameters decide the input kind."""
    if name in _SOURCES:
        raise ValueError(f"Data source {name!r} is registered twice.")
    _SOURCES[name] = Source(name, loader, input_kind, summary, offline, path_kind, input_kind_for)


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


def existing_path(path: Any, *, kind: str, key: str = "path") -> Path:
    """``path`` as a :class:`Path` that exists (a ``kind`` = ``file`` or ``folder``); the same
    check for ``validate`` and for the loader, so the two agree."""
    if path is None or str(path) == "":
        raise ConfigError(
            "is required",
            key=f"data.params.{key}",
            fix=f"set data.params.{key} to the {kind} to read",
        )
    resolved = Path(str(path)).expanduser()
    ok = resolved.is_dir() if kind == "folder" else resolved.is_file()
    if not ok:
        what = "not a folder" if kind == "folder" and resolved.exists() else f"{kind} not found"
        raise ConfigError(
            f"{what}. Received: {key}={str(path)!r}",
            key=f"data.params.{key}",
            fix=f"give the path of an existing {kind} (relative paths start at {os.getcwd()})",
        )
    return resolved


def check_required_params(
    source: Source, params: dict[str, Any], *, file: str | None = None, line: int | None = None
) -> None:
    """What the loader would refuse before reading anything: a missing or wrong ``path``."""
    if source.path_kind is None:
        return
    try:
        existing_path(params.get("path"), kind=source.path_kind)
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
    :class:`~nnzoo.data._listing.ImageFiles`.
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


def _split(
    x: Any, y: Any, fraction: float, seed: int, stratify: bool, where: str, key: str
) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """Split off ``fraction`` of the examples (stratified by label for classification); both
    parts must keep an example (``where`` and ``data.<key>`` name the refusal)."""
    from sklearn.model_selection import train_test_split

    n = num_examples(x)
    n_held = math.ceil(fraction * n)
    if n_held < 1 or n - n_held < 1:
        raise ConfigError(
            f"{where}: {n} example{'s' if n != 1 else ''} left, too few to hold out "
            f"{key}={fraction} and keep one to train on",
            key=f"data.{key}",
            fix="give more examples (a few per class at least), or change the split",
        )
    index = np.arange(n)
    labels = np.asarray(y) if stratify and y is not None else None
    if labels is not None and labels.ndim == 1:
        counts = np.bincount(labels.astype(np.int64))
        n_held = int(round(fraction * n))
        if counts[counts > 0].min() < 2 or n_held < np.count_nonzero(counts):
            labels = None
    else:
        labels = None
    keep, held = train_test_split(index, test_size=fraction, random_state=seed, stratify=labels)
    keep, held = np.sort(keep), np.sort(held)
    y_keep = None if y is None else y[keep]
    y_held = None if y is None else y[held]
    return (take(x, keep), y_keep), (take(x, held), y_held)


def load_data(
    source: str,
    *,
    params: dict[str, Any] | None = None,
    validation_split: float = 0.1,
    test_split: float = 0.2,
    seed: int = 42,
    file: str | None = None,
) -> Splits:
    """Load ``source`` and split it into train / validation / test.

    The source's own test (and validation) split is used where it has one; otherwise
    ``test_split`` and then ``validation_split`` of the remaining examples are held out.
    """
    src = get_source(source, file=file)
    params = dict(params or {})
    check_source_params(src, params, file=file)
    try:
        return _load(src, params, validation_split, test_split, seed)
    except ConfigError as err:
        if file is None or err.file is not None:
            raise
        # The source names the data file and the key; name the config that set them too.
        raise ConfigError(
            err.message, file=file, key=err.key, line=err.line, fix=err.fix
        ) from None


def _load(
    src: Source, params: dict[str, Any], validation_split: float, test_split: float, seed: int
) -> Splits:
    data = src.loader(seed=seed, **params)
    where = str(params.get("path") or f"data source '{src.name}'")
    _check_examples(data, where)
    stratify = data.spec.task == "classification"
    if data.full_batch:
        whole = (data.x, data.y)
        return Splits(whole, whole, whole, data.spec, data.artifacts)
    train: tuple[Any, Any] = (data.x, data.y)
    test = data.test
    if test is None:
        train, test = _split(data.x, data.y, test_split, seed, stratify, where, "test_split")
    validation = data.validation
    if validation is None and validation_split > 0:
        train, validation = _split(
            train[0], train[1], validation_split, seed + 1, stratify, where, "validation_split"
        )
    splits = Splits(train, validation, test, data.spec, data.artifacts)
    return _encoded(splits, data.fit) if data.fit is not None else splits


def _encoded(splits: Splits, fit: Callable[[Any], Encoding]) -> Splits:
    """``splits`` encoded with what ``fit`` learns from the training examples alone.

    Held-out examples that encode to a training example (or to one before them in their own
    split) are dropped: an unknown word read as ``[UNK]`` can make two texts one.
    """
    encoding = fit(splits.train[0])
    seen: set[bytes] = set()

    def encode(part: tuple[Any, Any]) -> tuple[Any, Any]:
        x = encoding.encode(part[0])
        ids = x["token_ids"] if isinstance(x, dict) else x
        keep = []
        for i, row in enumerate(np.asarray(ids)):
            key = row.tobytes()
            if key not in seen:
                seen.add(key)
                keep.append(i)
        index = np.asarray(keep, dtype="int64")
        return take(x, index), None if part[1] is None else np.asarray(part[1])[index]

    train = encode(splits.train)
    validation = encode(splits.validation) if splits.validation is not None else None
    spec = replace(splits.spec, vocabulary_size=encoding.vocabulary_size)
    artifacts = {**splits.artifacts, **encoding.artifacts}
    return Splits(train, validation, encode(splits.test), spec, artifacts)


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
