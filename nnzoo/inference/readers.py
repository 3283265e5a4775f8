"""The inputs of ``nnzoo predict``, read in batches.

Inputs are prepared exactly as the run's data was (one path: :mod:`nnzoo.data`'s CSV reader,
:func:`~nnzoo.data.image_array`, :func:`~nnzoo.data.read_images`, the run's tokenizer), and the
model does the rest itself (feature scaling, image normalisation), so raw rows go in:

- ``.csv``: rows in the training file's own format (delimiter, header or none), with or without
  the label column; when it is there it is dropped from the inputs and gives the accuracy.
  ``.parquet``: the same rows in a Parquet table (columns by name where the run has names),
  for a run trained on a CSV or Parquet table.
- ``.npy`` / ``.npz`` (array ``x``, and ``y`` for labels where present): read row by row from
  the file, never whole; 8-bit images are divided by 255 as in training.
- an image or a folder of images: resized with bilinear interpolation as in training.
- ``.txt``: one text per line, for text classifiers; a folder of ``.txt`` files: one text per
  file; a ``.csv`` with the text column, for a run trained on a ``csv`` text column.

A folder's files in sub-folders named as the run's classes are labelled by them, as the
``image_folder`` and ``text_folder`` sources label theirs. ``evaluate`` reads other data with
these readers too, asking for labels (``labelled=True``): input without them, or a class
sub-folder the run was not trained on, is then refused in one line.

Folders are listed as the training sources list them (:class:`~nnzoo.data.FolderListing`):
hidden entries (``.ipynb_checkpoints``, ``.DS_Store``, ``__MACOSX``, ...) are never inputs.

Nothing is held whole: each :class:`Batch` is read when the one before has been predicted,
(:mod:`nnzoo.inference.writers` writes each prediction batch as it comes).
"""

from __future__ import annotations

import itertools
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from nnzoo.data import (
    IMAGE_EXTENSIONS,
    CsvTexts,
    DataSpec,
    FolderListing,
    NamedTable,
    check_finite,
    image_array,
    label_ids,
    read_images,
    read_text_file,
    text_lines,
)
from nnzoo.errors import NnzooError

__all__ = ["Batch", "InputError", "read_batches"]

#: Examples read and predicted at a time.
BATCH_SIZE = 1024


class InputError(NnzooError):
    """The input of ``nnzoo predict`` cannot be read, or its output cannot be written there."""


@dataclass
class Batch:
    """Model inputs for some examples, what each is called, and their class ids where the
    input carries labels."""

    x: Any
    names: list[str]
    labels: np.ndarray | None = None
    #: What the reader noticed (unused columns, unseen categories): shared by a file's batches,
    #: complete once the last batch was read.
    notes: list[str] = field(default_factory=list)


def read_batches(
    path: Path,
    spec: DataSpec,
    run_dir: Path,
    *,
    batch_size: int = BATCH_SIZE,
    labelled: bool = False,
) -> Iterator[Batch]:
    """The examples at ``path`` as batches of model inputs for a run whose data was ``spec``.

    What can be checked before the first batch (the file exists, is not empty, has the right
    kind and shape) is checked when this is called, not when the batches are read.
    ``labelled``: every example must carry a label of the run's classes (``evaluate``).
    """
    if not path.exists():
        raise InputError(f"{path}: no such file or folder. Fix: check the path")
    suffix = path.suffix.lower()
    texts = spec.input_kind in ("tokens", "tokens_segments")
    if texts and (path.is_dir() or suffix in (".txt", ".csv")):
        return _text(path, spec, run_dir, batch_size, labelled)
    if path.is_dir() or suffix in IMAGE_EXTENSIONS:
        return _images(path, spec, batch_size, labelled)
    if suffix in (".npy", ".npz"):
        return _arrays(path, spec, batch_size, labelled)
    if suffix in (".csv", ".parquet"):
        return _table(path, spec, batch_size, labelled)
    if suffix == ".txt":
        return _text(path, spec, run_dir, batch_size, labelled)
    raise InputError(
        f"{path}: cannot read '{suffix}' files. Fix: give a .npy, .npz, .csv or .parquet file, "
        "an image or a folder of images, or a .txt file (one text per line) for text models"
    )


def _needs(spec: DataSpec, path: Path, *kinds: str) -> None:
    if spec.input_kind not in kinds:
        what = (
            _text_kinds(spec)
            if spec.input_kind.startswith("tokens")
            else (
                "images" if spec.input_kind == "image" else "a .csv, .parquet, .npy or .npz file"
            )
        )
        raise InputError(f"{path}: this run's model takes {spec.input_kind}. Fix: give {what}")


def _unlabelled(path: Path, what: str) -> InputError:
    """The refusal of input without labels where they are asked for."""
    return InputError(
        f"{path}: no labels ({what}), so there is nothing to score the model against. Fix: "
        "give labelled examples, or get predictions with nnzoo predict"
    )


def _folder_labels(
    path: Path, files: list[Path], spec: DataSpec, *, labelled: bool
) -> list[int] | None:
    """The class ids of ``files`` in folder ``path`` when each lies in a sub-folder named as a
    class of the run, else ``None``; with ``labelled``, a file that does not is refused."""
    if not path.is_dir():
        if labelled:
            raise _unlabelled(path, "one file, not a folder of class sub-folders")
        return None
    classes = {name: i for i, name in enumerate(spec.class_names or [])}
    folders = [f.relative_to(path).parts[0] if f.parent != path else None for f in files]
    if all(folder in classes for folder in folders):
        return [classes[folder] for folder in folders]
    if labelled:
        shown = ", ".join(list(classes)[:10]) + (", ..." if len(classes) > 10 else "")
        at = next(i for i, folder in enumerate(folders) if folder not in classes)
        if folders[at] is None:
            raise InputError(
                f"{files[at]}: not in a class sub-folder, so it has no label. Fix: put each "
                f"example in the sub-folder of its class ({shown})"
            )
        raise InputError(
            f"{path / str(folders[at])}: {folders[at]!r} is not a class this run was trained "
            f"on ({shown}). Fix: evaluate examples of the run's classes, or get predictions "
            "with nnzoo predict"
        )
    return None


def _text_kinds(spec: DataSpec) -> str:
    """What ``predict`` reads for a text run, as a fix says it."""
    csv = (spec.table or {}).get("text_column") is not None
    return "a .txt file (one text per line), a folder of .txt files" + (
        ", or a .csv with the text column" if csv else ""
    )


# --------------------------------------------------------------------------- images


def _images(path: Path, spec: DataSpec, batch_size: int, labelled: bool) -> Iterator[Batch]:
    _needs(spec, path, "image")
    if path.is_dir():
        listing = FolderListing()
        files = sorted(listing.files(path, IMAGE_EXTENSIONS))
        listing.log_hidden("predict", path)
    else:
        files = [path]
    if not files:
        raise InputError(
            f"{path}: no image files ({', '.join(IMAGE_EXTENSIONS)}) in the folder. Fix: give a "
            "folder of images"
        )
    ids = _folder_labels(path, files, spec, labelled=labelled)
    labels = None if ids is None else np.asarray(ids, dtype="int32")
    h, w, c = spec.input_shape
    mode = "grayscale" if c == 1 else "rgb"

    def batches() -> Iterator[Batch]:
        for start in range(0, len(files), batch_size):
            chunk = files[start : start + batch_size]
            x = read_images(chunk, (h, w), mode, key=None)
            names = [str(f) for f in chunk]
            yield Batch(x, names, None if labels is None else labels[start : start + len(chunk)])

    return batches()


# --------------------------------------------------------------------------- .npy / .npz


class _ArrayFile:
    """The rows of a ``.npy`` array (a file, or a member of an ``.npz``), read in order without
    reading the whole array."""

    def __init__(self, path: Path, member: str | None = None) -> None:
        self.path, self.member = path, member
        self.where = f"{path} array {member!r}" if member else str(path)
        # Open while the batches are read; close() ends them (the batch generator calls it).
        self._zip = zipfile.ZipFile(path) if member else None
        self._file: IO[bytes] = (
            self._zip.open(f"{member}.npy") if self._zip else open(path, "rb")  # noqa: SIM115
        )
        try:
            version = np.lib.format.read_magic(self._file)
            read = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            self.shape, fortran, self.dtype = read(self._file)
        except (ValueError, EOFError, OSError) as err:
            self.close()
            raise InputError(
                f"{self.where}: not a NumPy array file ({' '.join(str(err).split())}). Fix: "
                "save it with numpy.save / numpy.savez"
            ) from None
        if self.dtype.hasobject:
            self.close()
            raise InputError(
                f"{self.where}: holds Python objects (dtype object), which nnzoo does not load "
                "(no pickle). Fix: save a numeric array (x.astype('float32'))"
            )
        if fortran and len(self.shape) > 1:
            self.close()
            raise InputError(
                f"{self.where}: stored in Fortran order. Fix: save np.ascontiguousarray(x)"
            )
        self.row_shape = tuple(self.shape[1:])
        self._row_bytes = int(self.dtype.itemsize * int(np.prod(self.row_shape)))

    def __len__(self) -> int:
        return int(self.shape[0]) if self.shape else 1

    def read(self, count: int) -> np.ndarray:
        data = self._file.read(count * self._row_bytes)
        if len(data) < count * self._row_bytes:
            raise InputError(
                f"{self.where}: ends early (the file is truncated). Fix: write it again"
            )
        return np.frombuffer(data, dtype=self.dtype).reshape((count, *self.row_shape))

    def close(self) -> None:
        self._file.close()
        if self._zip is not None:
            self._zip.close()


def _open_arrays(path: Path) -> tuple[_ArrayFile, _ArrayFile | None]:
    """The examples (and labels, where an ``.npz`` has ``y``) of an array file."""
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes). Fix: save the array again")
    if path.suffix.lower() == ".npy":
        return _ArrayFile(path), None
    try:
        with zipfile.ZipFile(path) as archive:
            members = [n[: -len(".npy")] for n in archive.namelist() if n.endswith(".npy")]
    except zipfile.BadZipFile:
        raise InputError(
            f"{path}: not an .npz archive. Fix: save the arrays with numpy.savez"
        ) from None
    if not members:
        raise InputError(f"{path}: holds no arrays. Fix: save the examples as array 'x'")
    key = "x" if "x" in members else ("x_test" if "x_test" in members else members[0])
    label_key = {"x": "y", "x_test": "y_test"}.get(key)
    x = _ArrayFile(path, key)
    y = _ArrayFile(path, label_key) if label_key in members else None
    if y is not None and len(y) != len(x):
        raise InputError(
            f"{path}: array {key!r} has {len(x)} rows but {label_key!r} has {len(y)} labels. "
            "Fix: give one label per example, or leave the labels out"
        )
    return x, y


def _arrays(path: Path, spec: DataSpec, batch_size: int, labelled: bool) -> Iterator[Batch]:
    _needs(spec, path, "features", "image")
    x, y = _open_arrays(path)
    if labelled and y is None:
        x.close()
        raise _unlabelled(path, "no array y of the examples' labels")
    if x.dtype.kind not in "biuf":
        x.close()
        raise InputError(
            f"{x.where}: holds {x.dtype} values, not numbers. Fix: give a numeric array"
        )
    want = tuple(spec.input_shape)
    shape = x.row_shape
    if spec.input_kind == "image" and len(shape) == 2 and want[-1] == 1:
        shape = (*shape, 1)  # (N, H, W) grey images
    if x.shape == want:  # one example without the batch axis
        count, shape = 1, want
    else:
        count = len(x)
    if int(np.prod(shape)) != int(np.prod(want)) or (len(x.shape) < 2 and x.shape != want):
        x.close()
        raise InputError(
            f"{x.where}: examples have shape {x.row_shape} but the model takes {want}. Fix: "
            "give one example per row with the training data's features"
        )
    if count == 0:
        x.close()
        raise InputError(f"{x.where}: has no rows. Fix: give one example per row")
    names = spec.class_names or []

    def batches() -> Iterator[Batch]:
        try:
            for start in range(0, count, batch_size):
                n = min(batch_size, count - start)
                chunk = x.read(n).reshape((n, *want))
                rows = range(start, start + n)
                check_finite(chunk, x.where, key=None, rows=rows, row_word="row")
                if spec.input_kind == "image":
                    inputs = image_array(chunk)
                else:
                    inputs = chunk.astype("float32")
                labels = None
                if y is not None and spec.task == "regression":
                    labels = _array_targets(y.read(n).reshape(n), y.where, start)
                elif y is not None:
                    labels = _array_labels(y.read(n).reshape(n), names, y.where, start)
                yield Batch(inputs, [f"{path.name}[{i}]" for i in range(start, start + n)], labels)
        finally:
            x.close()
            if y is not None:
                y.close()

    return batches()


def _array_targets(values: np.ndarray, where: str, start: int) -> np.ndarray:
    """A regression run's targets ``values`` (rows ``start ..``) as float64, each a finite
    number (a bad one is refused naming its row)."""
    if values.dtype.kind not in "biuf":
        raise InputError(
            f"{where}: holds {values.dtype} targets, not numbers. Fix: give a numeric array y"
        )
    values = values.astype("float64")
    check_finite(values, where, key=None, rows=range(start, start + len(values)), row_word="row")
    return values


def _array_labels(values: np.ndarray, names: list[str], where: str, start: int) -> np.ndarray:
    rows = [(start + i, str(v)) for i, v in enumerate(values.tolist())]
    return label_ids(rows, names, path=where, row_word="row")


# --------------------------------------------------------------------------- .csv / .parquet


def _table(path: Path, spec: DataSpec, batch_size: int, labelled: bool) -> Iterator[Batch]:
    _needs(spec, path, "features", "image")
    table = NamedTable(path, spec, key=None)
    if labelled and table.label_index < 0:
        raise _unlabelled(path, "no label column")
    want = tuple(spec.input_shape)

    regression = spec.task == "regression"

    def batches() -> Iterator[Batch]:
        for index, x, labels in table.chunks(batch_size):
            names = [f"{path.name}[{i}]" for i in index]
            if regression and labels is not None:  # the table's targets, as numbers
                labels = np.asarray(labels, dtype="float64")
            yield Batch(x.reshape((len(x), *want)), names, labels, notes)

    notes = getattr(table, "notes", [])
    return batches()


# --------------------------------------------------------------------------- .txt


def _text(
    path: Path, spec: DataSpec, run_dir: Path, batch_size: int, labelled: bool
) -> Iterator[Batch]:
    from nnzoo.data.text import encode_texts
    from nnzoo.data.tokenizers import tokenizer_from_json

    if spec.task == "language_modeling":
        raise InputError(
            f"{path}: this run is a language model; it continues text rather than classifying "
            f"it. Fix: nnzoo generate {run_dir} --prompt '...'"
        )
    _needs(spec, path, "tokens", "tokens_segments")
    tokenizer_file = run_dir / "tokenizer.json"
    if not tokenizer_file.is_file():
        raise InputError(
            f"{tokenizer_file}: missing, so the run cannot read text. Fix: copy the whole run "
            "directory again"
        )
    tokenizer = tokenizer_from_json(
        tokenizer_file.read_text(encoding="utf-8", errors="replace"), where=str(tokenizer_file)
    )
    if path.is_dir():
        examples = _text_files(path, spec, labelled)
    elif path.suffix.lower() == ".csv":
        examples = _text_csv(path, spec, batch_size, labelled)
    elif labelled:
        raise _unlabelled(path, "one text per line")
    else:
        examples = _text_lines(path)
    length = int(spec.sequence_length or spec.input_shape[0])
    segments = spec.input_kind == "tokens_segments"

    def batches() -> Iterator[Batch]:
        for names, texts, labels in _chunks(examples, batch_size):
            inputs = encode_texts(tokenizer, texts, length, segments=segments)
            yield Batch(inputs, names, labels)

    return batches()


#: One text to predict: what the output calls it, the text, and its class id or None.
_Example = tuple[str, str, int | None]


def _chunks(
    examples: Iterator[_Example], size: int
) -> Iterator[tuple[list[str], list[str], np.ndarray | None]]:
    while chunk := [e for _, e in zip(range(size), examples, strict=False)]:
        labels = [label for _, _, label in chunk]
        ids = None if labels[0] is None else np.asarray(labels, dtype="int32")
        yield [name for name, _, _ in chunk], [text for _, text, _ in chunk], ids


def _text_lines(path: Path) -> Iterator[_Example]:
    lines = (line.rstrip("\r\n") for line in text_lines(path, key=None))
    texts = (t for t in lines if t.strip())
    first = next(texts, None)
    if first is None:
        raise InputError(f"{path}: no text (the file is empty). Fix: give one text per line")

    def examples() -> Iterator[_Example]:
        for text in itertools.chain([first], texts):
            yield text[:40], text, None

    return examples()


def _text_csv(path: Path, spec: DataSpec, batch_size: int, labelled: bool) -> Iterator[_Example]:
    if (spec.table or {}).get("text_column") is None:
        raise InputError(
            f"{path}: this run was not trained on a CSV text column, so a CSV has no column to "
            "read. Fix: give a .txt file (one text per line) or a folder of .txt files"
        )
    table = CsvTexts(path, spec, key=None)
    if labelled and table.label_index < 0:
        raise _unlabelled(path, "no label column")

    def examples() -> Iterator[_Example]:
        for index, texts, labels in table.chunks(batch_size):
            for i, text in zip(index, texts, strict=True):
                label = None if labels is None else int(labels[i - index.start])
                yield f"{path.name}[{i}]", text, label

    return examples()


def _text_files(path: Path, spec: DataSpec, labelled: bool) -> Iterator[_Example]:
    """The ``.txt`` files under ``path``, one text each; when every file lies in a sub-folder
    named as a class of the run, that class is its label."""
    listing = FolderListing()
    files = sorted(p for p in listing.files(path, (".txt",)) if p.is_file())
    listing.log_hidden("predict", path)
    if not files:
        raise InputError(f"{path}: no .txt files in the folder. Fix: give a folder of .txt files")
    labels = _folder_labels(path, files, spec, labelled=labelled) or [None] * len(files)

    def examples() -> Iterator[_Example]:
        for file, label in zip(files, labels, strict=True):
            yield str(file), read_text_file(file, key=None), label

    return examples()
