"""Sources that read the user's own files: ``image_folder``, ``text_folder``, ``npz``, ``csv``
and ``parquet``.

All return NumPy arrays (no TensorFlow needed), except ``image_folder``, which lists its
files (:class:`~nnzoo.data._listed.ImageFiles`) for the pipeline to read while training. A
path that does not exist is a :class:`~nnzoo.errors.ConfigError` on ``data.params.path``.

- ``image_folder``: one sub-folder per class, as ``keras.utils.image_dataset_from_directory``
  reads it (classes are the sorted sub-folder names; images in nested folders count; ``.bmp``,
  ``.gif``, ``.jpeg``, ``.jpg``, ``.png``), read as they are needed and resized to
  ``image_size`` with bilinear interpolation by ``keras.utils.load_img``, float32 in [0, 1].
- ``text_folder``: one sub-folder per class of ``.txt`` files, one example a file, as
  ``keras.utils.text_dataset_from_directory`` reads it; a tokenizer learned on the training split.
- ``npz``: arrays ``x`` / ``y`` (keys configurable; ``x_train`` / ``y_train`` are found too)
  and, where present, ``x_test`` / ``y_test`` as the test split.
- ``csv``: numeric feature columns and a label column (last by default); string labels become
  class ids in sorted order. With ``text_column`` that column is a text input instead (other
  columns are not used), tokenized as ``text_folder`` does. Read by pyarrow's streaming CSV
  reader, a record batch at a time.
- ``parquet``: the same table in a Parquet file (features and label column as for ``csv``),
  read a record batch at a time.

The folder sources skip hidden entries at any depth (``.ipynb_checkpoints``, ``.DS_Store``,
``__MACOSX``, ``Thumbs.db``, ...; see :mod:`nnzoo.data._listing`): never a class nor an example.
"""

from __future__ import annotations

import itertools
import logging
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nnzoo.data._columns import (
    COLUMN_TYPES,
    MISSING_POLICIES,
    MISSING_VALUES,
    SAMPLE_ROWS,
    Columns,
    closest,
    decide_task,
)
from nnzoo.data._listed import ImageFiles
from nnzoo.data._listing import FolderListing
from nnzoo.data._prepare import (
    IMAGE_EXTENSIONS,
    STANDARDIZE,
    check_finite,
    image_array,
)
from nnzoo.data._sources import (
    DataSpec,
    Encoding,
    SourceData,
    check_choice,
    check_int,
    classification_data,
    existing_path,
    register_source,
    regression_data,
)
from nnzoo.data._table import (
    CsvReader,
    LabelCodes,
    check_delimiter,
    csv_rows,
    first_label_is_unique,
    guess_delimiter,
    is_number,
    open_parquet,
    read_features,
    read_parquet,
    read_text_file,
    read_texts,
    sniff_header,
)
from nnzoo.data.text import text_classification
from nnzoo.errors import ConfigError

__all__ = ["load_csv", "load_image_folder", "load_npz_file", "load_parquet", "load_text_folder"]

logger = logging.getLogger(__name__)


def _labels(values: Sequence[Any], class_names: Sequence[str] | None = None):
    """Class ids (int32) and names for ``values``: given names, or the sorted distinct values
    (numbers sorted as numbers; integers ``0 .. k-1`` keep their ids)."""
    values = np.asarray(values)
    if class_names is not None:
        names = [str(n) for n in class_names]
        if values.dtype.kind in "iu":
            ids = values.astype("int64")
            if ids.size and (ids.min() < 0 or ids.max() >= len(names)):
                raise ConfigError(
                    f"labels run from {ids.min()} to {ids.max()} but {len(names)} class names "
                    "are given",
                    key="data.params.class_names",
                    fix="give one name per class, in label order",
                )
            return ids.astype("int32"), names
        index = {n: i for i, n in enumerate(names)}
        unknown = sorted({str(v) for v in values} - set(index))
        if unknown:
            raise ConfigError(
                f"labels {unknown[:5]} are not in class_names",
                key="data.params.class_names",
                fix="list every label",
            )
        return np.asarray([index[str(v)] for v in values], dtype="int32"), names
    distinct, ids = np.unique(values, return_inverse=True)
    if values.dtype.kind in "iu" and np.array_equal(distinct, np.arange(len(distinct))):
        return values.astype("int32"), [str(v) for v in distinct]
    if values.dtype.kind == "f" and np.all(distinct == np.round(distinct)):
        distinct = distinct.astype("int64")
    return ids.reshape(-1).astype("int32"), [str(v) for v in distinct]


# --------------------------------------------------------------------------- image_folder


def _image_size(image_size: Any) -> tuple[int, int]:
    if isinstance(image_size, int) and not isinstance(image_size, bool) and image_size > 0:
        return int(image_size), int(image_size)
    if (
        isinstance(image_size, list | tuple)
        and len(image_size) == 2
        and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in image_size)
    ):
        return int(image_size[0]), int(image_size[1])
    raise ConfigError(
        f"must be a positive integer or [height, width]. Received: image_size={image_size!r}",
        key="data.params.image_size",
    )


def _folder_images(
    listing: FolderListing, root: Path, class_names: Sequence[str]
) -> tuple[list[Path], list[int]]:
    files: list[Path] = []
    labels: list[int] = []
    for label, name in enumerate(class_names):
        found = listing.files(root / name, IMAGE_EXTENSIONS)
        files += found
        labels += [label] * len(found)
    return files, labels


def _image_folder_files(params: dict[str, Any]) -> dict[str, list[Path]]:
    """The images ``image_folder`` reads with ``params``: in ``path``, and in ``test_path``."""
    listing = FolderListing()
    root = existing_path(params.get("path"), kind="folder")
    class_names = listing.sub_folders(root)
    files = {"path": _folder_images(listing, root, class_names)[0]}
    if params.get("test_path") is not None:
        test_root = existing_path(params["test_path"], kind="folder", key="test_path")
        files["test_path"] = _folder_images(listing, test_root, class_names)[0]
    return files


def load_image_folder(
    *,
    seed: int,
    path: str | None = None,
    image_size: int | list[int] = 32,
    color_mode: str = "rgb",
    test_path: str | None = None,
) -> SourceData:
    """Images in ``path/<class>/...``, one class per sub-folder (sorted names = class ids).

    The files are listed here and decoded by the input pipeline while training (an unreadable
    one is refused when it is read). ``image_size``: ``32`` or ``[height, width]``; images
    are resized (bilinear) to it.
    ``color_mode``: ``rgb`` (3 channels) or ``grayscale`` (1). ``test_path``: another folder
    with the same class sub-folders, used as the test split.
    """
    root = existing_path(path, kind="folder")
    size = _image_size(image_size)
    check_choice("color_mode", color_mode, ("rgb", "grayscale"))
    listing = FolderListing()
    class_names = listing.sub_folders(root)
    files, labels = _folder_images(listing, root, class_names)
    listing.log_hidden("image_folder", root)
    if not files:
        raise ConfigError(
            f"no images ({', '.join(IMAGE_EXTENSIONS)}) in class sub-folders of {str(path)!r}",
            key="data.params.path",
            fix="put the images of each class in its own sub-folder: path/<class>/<image>",
        )
    test = None
    if test_path is not None:
        test_root = existing_path(test_path, kind="folder", key="test_path")
        test_listing = FolderListing()
        extra = [n for n in test_listing.sub_folders(test_root) if n not in class_names]
        if extra:
            raise ConfigError(
                f"classes {extra} are not in data.params.path",
                key="data.params.test_path",
                fix="use the same class sub-folders in both folders",
            )
        test_files, test_labels = _folder_images(test_listing, test_root, class_names)
        test_listing.log_hidden("image_folder", test_root)
        listed = ImageFiles(test_files, size, color_mode, key="data.params.test_path")
        test = (listed, np.asarray(test_labels, "int32"))
    x = ImageFiles(files, size, color_mode)  # read while training, not here
    y = np.asarray(labels, dtype="int32")
    return classification_data(x, y, class_names, input_kind="image", test=test)


# --------------------------------------------------------------------------- text_folder


def _read_text(file: Path) -> str:
    """The UTF-8 text of ``file`` (a byte-order mark skipped); not UTF-8, or empty: refused."""
    text = read_text_file(file)
    if not text.strip():
        raise ConfigError(
            f"{file} is empty (no text)",
            key="data.params.path",
            fix="give each .txt file the text of one example, or remove the file",
        )
    return text


def _text_class_names(
    listing: FolderListing, root: Path, class_names: Sequence[str] | None
) -> list[str]:
    folders = listing.sub_folders(root)
    if class_names is None:
        return folders
    names = [str(n) for n in class_names]
    missing = [n for n in names if n not in folders]
    extra = [n for n in folders if n not in names]
    if missing or extra or len(set(names)) != len(names):
        what = (
            f"no sub-folder for {missing}"
            if missing
            else (f"sub-folders {extra} are not in it" if extra else "a name is repeated")
        )
        raise ConfigError(
            f"class_names must name the sub-folders of {str(root)!r} once each: {what}",
            key="data.params.class_names",
            fix=f"list the sub-folders in the order of their class ids: {folders}",
        )
    return names


def _folder_texts(
    listing: FolderListing, root: Path, names: Sequence[str]
) -> tuple[list[Path], list[int], list[int]]:
    """The visible ``.txt`` files of each class sub-folder (at any depth, in listing order),
    their class ids, and how many each class has."""
    files: list[Path] = []
    labels: list[int] = []
    counts = []
    for label, name in enumerate(names):
        found = listing.files(root / name, (".txt",))
        files += found
        labels += [label] * len(found)
        counts.append(len(found))
    return files, labels, counts


def _text_folder_files(params: dict[str, Any]) -> dict[str, list[Path]]:
    """The ``.txt`` files ``text_folder`` reads with ``params``."""
    listing = FolderListing()
    root = existing_path(params.get("path"), kind="folder")
    names = _text_class_names(listing, root, params.get("class_names"))
    return {"path": _folder_texts(listing, root, names)[0]}


def load_text_folder(
    *,
    seed: int,
    path: str | None = None,
    class_names: list[str] | None = None,
    tokenizer: str = "word",
    vocabulary_size: int | None = None,
    sequence_length: int = 128,
    segments: bool = False,
) -> SourceData:
    r"""Texts in ``path/<class>/*.txt``, one class per sub-folder, one example per file.

    The layout of ``keras.utils.text_dataset_from_directory``: class ids follow the sorted
    sub-folder names, or ``class_names`` (the same names, in the order you want); ``.txt``
    files in nested folders count. Files are read as UTF-8; one that is not, or is empty, is
    refused naming it. ``tokenizer``: ``word`` (default; ``\w+`` words, spaces and punctuation
    as tokens), ``wordpiece`` (BERT's lower-cased sub-words), ``byte``, or a run's
    ``tokenizer.json``; learned on the training split only. ``vocabulary_size`` (learned
    tokenizers; default 5000) and ``sequence_length`` (tokens per text, the rest cut off;
    default 128) as for ``stdlib_topics``. ``segments`` is set from the model (BERT).
    """
    root = existing_path(path, kind="folder")
    listing = FolderListing()
    names = _text_class_names(listing, root, class_names)
    files, labels, counts = _folder_texts(listing, root, names)
    listing.log_hidden("text_folder", root)
    if not files:
        raise ConfigError(
            f"no .txt files in class sub-folders of {str(path)!r}",
            key="data.params.path",
            fix="put the texts of each class in its own sub-folder: path/<class>/<name>.txt",
        )
    empty = [n for n, c in zip(names, counts, strict=True) if c == 0]
    if empty:
        raise ConfigError(
            f"class sub-folder {empty[0]!r} of {str(path)!r} has no .txt files",
            key="data.params.path",
            fix="give every class some .txt files, or remove its sub-folder",
        )
    texts = [_read_text(f) for f in files]
    logger.info("text_folder: %d texts in %d classes from %s", len(texts), len(names), root)
    return text_classification(
        texts,
        np.asarray(labels, dtype="int32"),
        names,
        tokenizer=tokenizer,
        vocabulary_size=vocabulary_size,
        sequence_length=sequence_length,
        segments=segments,
    )


# --------------------------------------------------------------------------- npz


#: An ``.npz`` array of examples must be (N, features) or images (N, H, W[, C]).
RANK_FIX = "save x as (N, features) or images (N, H, W[, C]) (one feature: x.reshape(-1, 1))"


def rank_message(where: str, shape: tuple[int, ...]) -> str:
    """Why an array of examples of rank 1 or above 4 is refused (``validate`` says it too)."""
    return (
        f"{where} is an array of shape {tuple(shape)}: a model takes no examples of rank "
        f"{len(shape) - 1}"
    )


def _npz_inputs(x: np.ndarray, input_kind: str, where: str, key: str) -> tuple[Any, str]:
    """Model inputs for array ``x`` and their kind (``auto``: by rank and dtype)."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise ConfigError(
            f"{where} holds {x.dtype} values, not numbers",
            key=f"data.params.{key}",
            fix="save the examples as a numeric array (e.g. x.astype('float32'))",
        )
    if x.ndim not in (2, 3, 4):
        raise ConfigError(rank_message(where, x.shape), key=f"data.params.{key}", fix=RANK_FIX)
    if input_kind == "auto":
        if x.ndim in (3, 4):
            input_kind = "image"
        elif x.ndim == 2:
            input_kind = "features"
        else:
            raise ConfigError(
                f"cannot tell the input kind of {where}, an array of shape {x.shape}",
                key="data.params.input_kind",
                fix="give x as (N, features) or images (N, H, W[, C]), or set input_kind",
            )
    if len(x) == 0:
        raise ConfigError(
            f"{where} has no rows", key="data.params.path", fix="give examples to train on"
        )
    check_finite(x, where)
    if input_kind == "tokens":
        if x.ndim != 2 or x.dtype.kind not in "iu":
            raise ConfigError(
                f"tokens must be integer ids (N, T). Received: shape {x.shape}, dtype {x.dtype}",
                key="data.params.input_kind",
            )
        ids = x.astype("int32")
        return {"token_ids": ids, "padding_mask": (ids != 0).astype("int32")}, input_kind
    if input_kind == "image":
        if x.ndim not in (3, 4):
            raise ConfigError(
                f"images must be (N, H, W[, C]). Received: {where} of shape {x.shape}",
                key="data.params.input_kind",
            )
        return image_array(x), input_kind
    return x.reshape(len(x), -1).astype("float32"), input_kind


def _npz_labels(y: np.ndarray, where: str, key: str) -> np.ndarray:
    y = np.asarray(y)
    if y.dtype.kind == "f" and not np.isfinite(y).all():  # would become a class named "nan"
        row = int(np.argwhere(~np.isfinite(y))[0][0])
        raise ConfigError(
            f"{where} has a missing label (NaN or infinity) in row {row}",
            key=f"data.params.{key}",
            fix="give every example a label, or drop the unlabelled rows",
        )
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot
        return y.argmax(axis=1)
    return y.reshape(len(y))


def _npz_arrays(file: Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, read without pickle; an object array is refused."""
    fix = "save the arrays with numpy.savez (numeric or string arrays, no Python objects)"
    try:
        archive = np.load(file, allow_pickle=False)
    except zipfile.BadZipFile:  # a truncated .npz (its zip directory is at the end)
        raise ConfigError(
            f"cannot read {file}: it is truncated or not an .npz (not a zip archive)",
            key="data.params.path",
            fix="write the file again with numpy.savez",
        ) from None
    except (OSError, ValueError, EOFError) as err:
        raise ConfigError(
            f"cannot read {file} as a NumPy .npz file ({' '.join(str(err).split())})",
            key="data.params.path",
            fix=fix,
        ) from None
    if not hasattr(archive, "files"):  # a .npy file
        raise ConfigError(f"{file} is a .npy array, not an .npz", key="data.params.path", fix=fix)
    arrays = {}
    with archive:
        for name in archive.files:
            try:
                arrays[name] = archive[name]
            except ValueError:
                raise ConfigError(
                    f"{file} array {name!r} holds Python objects (dtype object)",
                    key="data.params.path",
                    fix=fix,
                ) from None
            except (OSError, EOFError, zipfile.BadZipFile) as err:
                raise ConfigError(
                    f"{file} array {name!r} cannot be read ({' '.join(str(err).split())})",
                    key="data.params.path",
                    fix="write the file again (it looks truncated)",
                ) from None
    return arrays


def _check_pair(x: np.ndarray, y: np.ndarray, keys: tuple[str, str], where: Path) -> None:
    if len(x) != len(y):
        raise ConfigError(
            f"{where}: {keys[0]!r} has {len(x)} rows but {keys[1]!r} has {len(y)} labels",
            key="data.params.path",
            fix="give one label per example",
        )


def load_npz_file(
    *,
    seed: int,
    path: str | None = None,
    x_key: str = "x",
    y_key: str = "y",
    x_test_key: str = "x_test",
    y_test_key: str = "y_test",
    class_names: list[str] | None = None,
    input_kind: str = "auto",
) -> SourceData:
    """Arrays from a NumPy ``.npz`` file (read without pickle).

    ``x_key`` / ``y_key`` name the examples and labels (``x_train`` / ``y_train`` are used
    when ``x`` / ``y`` are absent); ``x_test_key`` / ``y_test_key``, where the file has them,
    are the test split. ``input_kind`` ``auto`` reads (N, H, W[, C]) arrays as images (uint8
    scaled to [0, 1]) and (N, D) arrays as features; ``tokens`` reads integer ids (N, T), 0
    being padding. Labels: integers, strings or one-hot rows; ``class_names`` names them.
    NaN or infinity in an array is refused, naming the array, row and column.
    """
    file = existing_path(path, kind="file")
    check_choice("input_kind", input_kind, ("auto", "features", "image", "tokens"))
    arrays = _npz_arrays(file)
    if x_key == "x" and "x" not in arrays and "x_train" in arrays:
        x_key = "x_train"
    if y_key == "y" and "y" not in arrays and "y_train" in arrays:
        y_key = "y_train"
    for name, key in (("x_key", x_key), ("y_key", y_key)):
        if key not in arrays:
            raise ConfigError(
                f"{file} has no array {key!r} (it has: {', '.join(sorted(arrays))})",
                key=f"data.params.{name}",
                fix=f"set data.params.{name} to one of its arrays",
            )
    _check_pair(arrays[x_key], arrays[y_key], (x_key, y_key), file)
    x, kind = _npz_inputs(arrays[x_key], input_kind, f"{file} array {x_key!r}", "x_key")
    y_raw = _npz_labels(arrays[y_key], f"{file} array {y_key!r}", "y_key")
    has_test = x_test_key in arrays and y_test_key in arrays
    if has_test:
        x_test_raw = arrays[x_test_key]
        _check_pair(x_test_raw, arrays[y_test_key], (x_test_key, y_test_key), file)
        if np.shape(x_test_raw)[1:] != np.shape(arrays[x_key])[1:]:
            raise ConfigError(
                f"{file}: {x_test_key!r} has examples of shape {np.shape(x_test_raw)[1:]} but "
                f"{x_key!r} has {np.shape(arrays[x_key])[1:]}",
                key="data.params.x_test_key",
                fix="give test examples shaped as the training ones",
            )
        y_test_raw = _npz_labels(arrays[y_test_key], f"{file} array {y_test_key!r}", "y_test_key")
        ids, names = _labels(np.concatenate([y_raw, y_test_raw]), class_names)
        y, y_test = ids[: len(y_raw)], ids[len(y_raw) :]
        where = f"{file} array {x_test_key!r}"
        test = (_npz_inputs(x_test_raw, kind, where, "x_test_key")[0], y_test)
    else:
        y, names = _labels(y_raw, class_names)
        test = None
    if kind == "tokens":
        ids = x["token_ids"]
        vocabulary = int(max(ids.max(), test[0]["token_ids"].max() if test else 0)) + 1
        shape: tuple[int, ...] = (ids.shape[1],)
        spec = DataSpec(
            input_kind="tokens",
            input_shape=shape,
            num_classes=len(names),
            class_names=names,
            vocabulary_size=vocabulary,
            sequence_length=ids.shape[1],
        )
        return SourceData(x=x, y=y, spec=spec, test=test)
    return classification_data(x, y, names, input_kind=kind, test=test)


# --------------------------------------------------------------------------- csv


def _column(
    name: str, value: Any, columns: list[str] | None, width: int
) -> int:  # the index of column ``value`` (a header name or an index, negative from the end)
    if isinstance(value, str) and not isinstance(value, bool):
        if columns is None or value not in columns:
            known = f"columns: {', '.join(columns)}" if columns else "the file has no header"
            raise ConfigError(
                f"no column {value!r} ({known})",
                key=f"data.params.{name}",
                fix="name a column of the header, or give its index",
            )
        return columns.index(value)
    check_int(name, value, minimum=-width)
    if value >= width:
        raise ConfigError(
            f"the file has {width} columns. Received: {name}={value}",
            key=f"data.params.{name}",
        )
    return value % width


def load_csv(
    *,
    seed: int,
    path: str | None = None,
    label_column: str | int = -1,
    header: bool | str = "auto",
    standardize: bool = True,
    delimiter: str = ",",
    features: Sequence[str | int] | None = None,
    column_types: dict[str, str] | None = None,
    missing: str = "impute",
    missing_values: Sequence[str] | None = None,
    missing_label: str = "refuse",
    task: str = "auto",
    text_column: str | int | None = None,
    tokenizer: str = "word",
    vocabulary_size: int | None = None,
    sequence_length: int = 128,
    segments: bool = False,
    _sample_only: bool = False,
) -> Any:
    """A table of feature columns and one label column, read as UTF-8 by pyarrow's streaming
    CSV reader (a record batch at a time; see :mod:`nnzoo.data._table`).

    ``label_column``: the column's name (needs a header) or index (negative from the end; the
    last column by default). ``header``: ``true``, ``false`` or ``auto`` (a header is a first
    row with text above numbers, integers above fractions, or a label no other row has; any
    row when a column is given by name). Duplicate header names are refused.

    ``features``: the feature columns (names or indexes; every column but the label by
    default). Each is numeric, a category (text) or binary (yes/no words), decided from the
    first rows unless ``column_types`` says (``{name: numeric|category|binary}``; integers
    declared ``category`` are categories). Categories are coded inside the model on the
    training split's vocabulary (see :mod:`nnzoo.data._columns`). ``missing``: ``impute``
    (missing cells, any of ``missing_values``, reach the model as NaN and are filled inside
    it), ``refuse`` or ``drop_rows``; a missing label is refused (``missing_label: drop``
    drops its row). ``task``: ``auto`` (text labels and few integers are classes, other
    numbers a regression target), ``classification`` or ``regression``. ``standardize``: the
    model scales numeric features with the training split's mean and variance.

    ``text_column`` (a name or an index) makes that column the model's only input, a text: the
    other columns but the label are not used; a blank or ``nan`` text is refused naming its
    line. ``tokenizer``, ``vocabulary_size``, ``sequence_length`` and ``segments`` are as for
    ``text_folder`` (learned on the training split only).
    """
    file = existing_path(path, kind="file")
    check_choice("header", header, (True, False, "auto"))
    check_choice("missing", missing, MISSING_POLICIES)
    check_choice("missing_label", missing_label, ("refuse", "drop"))
    check_choice("task", task, ("auto", "classification", "regression"))
    check_delimiter(delimiter)
    missing_values = _missing_values(missing_values)
    if text_column is None and (tokenizer != "word" or vocabulary_size is not None):
        given = "tokenizer" if tokenizer != "word" else "vocabulary_size"
        raise ConfigError(
            f"applies to a text column, and data.params.text_column is not set. Received: "
            f"{given}={tokenizer if given == 'tokenizer' else vocabulary_size!r}",
            key=f"data.params.{given}",
            fix="set data.params.text_column to the column that holds the text",
        )
    peek = list(itertools.islice(csv_rows(file, delimiter), SAMPLE_ROWS + 1))
    if not peek:
        raise ConfigError(f"{file} is empty", key="data.params.path", fix="give a CSV with rows")
    (first_line, first), width = peek[0], len(peek[0][1])
    if header == "auto":
        named = (
            isinstance(label_column, str)
            or isinstance(text_column, str)
            or any(isinstance(f, str) for f in features or ())
        )
        header = named or sniff_header(
            first, [row for _, row in peek[1:]], label_column, missing_values
        )
        if not header and text_column is not None and isinstance(label_column, int):
            # Text and string labels have no numbers to tell a header by: a first row whose
            # "label" no other row has is one ("text,label" above "great film,pos").
            whole = CsvReader(file, delimiter, width=width, header_line=None)
            header = first_label_is_unique(whole, label_column, first)
    columns = [c.strip() for c in first] if header else None
    if columns:
        _unique_names(columns, file)
    if width < 2:
        guess = guess_delimiter(columns or first)
        what = "text" if text_column is not None else "feature"
        raise ConfigError(
            f"{file} has {width} column with delimiter {delimiter!r}: no {what} columns "
            "beside the label",
            key="data.params.delimiter",
            fix=f"set data.params.delimiter to {guess!r} (the file looks {guess!r}-separated)"
            if guess
            else f"give a {what} column and a label column",
        )
    label_index = _column("label_column", label_column, columns, width)
    if header and len(peek) < 2:
        raise ConfigError(f"{file} has a header but no rows", key="data.params.path")
    header_line = first_line if header else None
    if text_column is not None:
        return _csv_texts(
            file,
            columns,
            width,
            label_index,
            text_column,
            delimiter=delimiter,
            header_line=header_line,
            tokenizer=tokenizer,
            vocabulary_size=vocabulary_size,
            sequence_length=sequence_length,
            segments=segments,
        )
    feature_index = _feature_columns(features, columns, width, label_index)
    names = [columns[i] if columns else str(i) for i in feature_index]
    sample = [row for _, row in (peek[1:] if header else peek)]
    cols = Columns.infer(
        names,
        feature_index,
        [row for row in sample if len(row) == width],
        declared=_declared(column_types, names),
        path=file,
        missing=missing,
        missing_values=missing_values,
        start_line=(peek[1][0] if header else peek[0][0]) if len(peek) > int(header) else 2,
    )
    if _sample_only:
        label_name = columns[label_index] if columns else str(label_index)
        return _sample_summary(cols, [row[label_index] for row in sample], task, file, label_name)
    reader = CsvReader(
        file,
        delimiter,
        width=width,
        header_line=header_line,
        floats=cols.numeric_positions,
        null_values=missing_values,
    )
    x, labels = read_features(
        reader, cols, label_index, columns=columns, missing_label=missing_label
    )
    table = {"columns": columns, "label_column": label_index, "delimiter": delimiter}
    return _table_data(
        x,
        labels,
        cols,
        table,
        file=file,
        label_name=columns[label_index] if columns else str(label_index),
        task=task,
        standardize=standardize,
    )


def check_table(source: str, params: dict[str, Any], *, file: str | None = None) -> str | None:
    """What ``nnzoo validate`` checks of a ``csv`` or ``parquet`` source without reading the
    whole table: the header, the columns asked for, each feature's type and the label column
    (the task its labels imply) from the first rows; a refusal is the :class:`ConfigError`
    ``train`` would give. Returns a one-line summary, or ``None`` for other sources."""
    if source not in ("csv", "parquet") or params.get("text_column") is not None:
        return None
    try:
        if source == "csv":
            return load_csv(_sample_only=True, seed=0, **params)
        return load_parquet(_sample_only=True, seed=0, **params)
    except ConfigError as err:
        if file is None or err.file is not None:
            raise
        raise ConfigError(err.message, file=file, key=err.key, fix=err.fix) from None


def _sample_summary(cols: Columns, labels: list[str], task: str, file: Path, name: str) -> str:
    """The line ``validate`` prints of a table's first rows (their labels checked as training
    checks them: the task they imply)."""
    present = [v.strip() for v in labels if v.strip() and v.strip() not in cols.missing_values]
    if present:
        task, _ = decide_task(sorted(set(present)), task=task, column=name, where=str(file))
    if task == "classification":
        what = f"{len(set(present))} classes in the first rows"
    else:
        what = "a number to predict"
    return f"label {name!r} ({task}: {what}); features: {cols.describe()}"


def _missing_values(values: Sequence[str] | None) -> tuple[str, ...]:
    """``data.params.missing_values``: a list of texts (the default: :data:`MISSING_VALUES`)."""
    if values is None:
        return MISSING_VALUES
    if isinstance(values, str) or not all(isinstance(v, str) for v in values):
        raise ConfigError(
            f"must be a list of texts. Received: missing_values={values!r}",
            key="data.params.missing_values",
            fix="e.g. missing_values: ['', 'NA', '?']",
        )
    return tuple(v.strip() for v in values)


def _unique_names(columns: Sequence[str], file: Path) -> None:
    """Refuse a header that names two columns alike (both would read as one)."""
    seen: dict[str, int] = {}
    for i, name in enumerate(columns):
        if name in seen:
            raise ConfigError(
                f"{file}: the header names two columns {name!r} (columns {seen[name]} and {i})",
                key="data.params.path",
                fix="give every column its own name",
            )
        seen[name] = i


def _feature_columns(
    features: Sequence[str | int] | None, columns: list[str] | None, width: int, label: int
) -> list[int]:
    """The positions of ``data.params.features`` (names or indexes), every column but the label
    by default; the label column is refused among them."""
    if features is None:
        return [i for i in range(width) if i != label]
    if isinstance(features, str | int) or not len(features):
        raise ConfigError(
            f"must be a non-empty list of column names or indexes. Received: {features!r}",
            key="data.params.features",
            fix="e.g. features: [bill_length_mm, island]",
        )
    out = []
    for value in features:
        if isinstance(value, str) and columns is not None and value not in columns:
            raise ConfigError(
                f"no column {value!r}{closest(value, columns)} (columns: {', '.join(columns)})",
                key="data.params.features",
                fix="name columns of the header",
            )
        index = _column("features", value, columns, width)
        if index == label:
            raise ConfigError(
                f"lists the label column {columns[label] if columns else label!r}",
                key="data.params.features",
                fix="leave the label out of the features",
            )
        if index in out:
            raise ConfigError(
                f"lists column {value!r} twice", key="data.params.features", fix="list it once"
            )
        out.append(index)
    return out


def _declared(types: dict[str, str] | None, names: Sequence[str]) -> dict[str, str]:
    """``data.params.column_types`` checked: feature names, each a :data:`COLUMN_TYPES`."""
    if types is None:
        return {}
    if not isinstance(types, dict):
        raise ConfigError(
            f"must be a mapping of column name to type. Received: {types!r}",
            key="data.params.column_types",
            fix="e.g. column_types: {zip_code: category}",
        )
    out = {}
    for name, kind in types.items():
        name = str(name)
        if name not in names:
            raise ConfigError(
                f"{name!r} is not a feature column{closest(name, names)} (features: "
                f"{', '.join(names)})",
                key=f"data.params.column_types.{name}",
                fix="name a feature column",
            )
        if kind not in COLUMN_TYPES:
            raise ConfigError(
                f"is {kind!r}, not one of {', '.join(COLUMN_TYPES)}",
                key=f"data.params.column_types.{name}",
                fix="use numeric, category or binary",
            )
        out[name] = kind
    return out


def _table_data(
    x: np.ndarray,
    labels: LabelCodes,
    cols: Columns,
    table: dict[str, Any],
    *,
    file: Path,
    label_name: str,
    task: str,
    standardize: bool,
) -> SourceData:
    """The :class:`SourceData` of a table read into features ``x`` (see
    :class:`~nnzoo.data._columns.Columns`) and ``labels``: the task decided, the classes or
    the regression target, and (categories or missing cells) the vocabulary learned on the
    training split by the source's ``fit``."""
    distinct = list(labels.distinct)
    if not distinct:
        raise ConfigError(f"{file} has no rows with a label", key="data.params.path")
    task, _ = decide_task(distinct, task=task, column=label_name, where=str(file))
    table = {
        **table,
        "label": label_name,
        "features": [f.to_dict() for f in cols.features],
        "missing_values": list(cols.missing_values),
        "imputes": False,
        "missing": {
            "policy": cols.missing,
            "cells": {f.name: f.missing for f in cols.features if f.missing},
            "dropped_rows": cols.dropped + labels.dropped,
        },
    }
    scaling = STANDARDIZE if standardize else None
    if task == "regression":
        data = regression_data(
            x,
            _regression_targets(labels, file, label_name),
            input_kind="features",
            feature_scaling=scaling,
            table=table,
            where=str(file),
        )
    else:
        y, names = _coded_labels(labels)
        data = classification_data(
            x, y, names, input_kind="features", feature_scaling=scaling, table=table
        )
    if cols.plain:
        return data

    def fit(train: np.ndarray) -> Encoding:
        remaps = cols.fit(np.asarray(train))
        fitted = {
            **table,
            "features": [f.to_dict() for f in cols.features],
            "imputes": cols.missing == "impute",
            "model_columns": cols.model_columns(),
        }
        return Encoding(
            encode=lambda part: Columns.encode(part, remaps), spec={"table": fitted}, dedupe=False
        )

    data.fit = fit
    return data


def _regression_targets(labels: LabelCodes, file: Path, name: str) -> np.ndarray:
    """The float32 targets of labels read as codes; beyond float32 is refused."""
    values = np.asarray([float(v) for v in labels.distinct], dtype="float64")
    if not (np.abs(values) <= np.finfo(np.float32).max).all():
        bad = values[~(np.abs(values) <= np.finfo(np.float32).max)][0]
        raise ConfigError(
            f"{file}: the label column {name!r} holds {bad}, beyond float32 (±3.4e38) or not "
            "finite",
            key="data.params.path",
            fix="correct the label (a regression target must be a finite number)",
        )
    return values.astype("float32")[labels.codes()]


def _csv_labels(cells: Sequence[str]) -> np.ndarray:
    """Labels as they sort: integers exactly (never through float64, so 16-digit codes stay
    apart), other numbers as floats (integral ones as integers), else the texts."""
    raw = [cell.strip() for cell in cells]
    if all(is_number(v) for v in raw):
        try:
            return np.asarray([int(v) for v in raw], dtype="int64")
        except (ValueError, OverflowError):
            pass
        numbers = np.asarray([float(v) for v in raw])
        return numbers.astype("int64") if np.all(numbers == np.round(numbers)) else numbers
    return np.asarray(raw)


def _coded_labels(labels: LabelCodes) -> tuple[np.ndarray, list[str]]:
    """Class ids (int32) and names of labels read as codes: the ids :func:`_labels` gives
    the labels, worked out on the distinct ones only."""
    codes = labels.codes()
    distinct = list(labels.distinct)
    present = np.unique(codes)
    ids, names = _labels(_csv_labels([distinct[i] for i in present]))
    lookup = np.zeros(len(distinct), dtype="int32")
    lookup[present] = ids
    return lookup[codes], names


def _csv_texts(
    file: Path,
    columns: list[str] | None,
    width: int,
    label_index: int,
    text_column: str | int,
    *,
    delimiter: str,
    header_line: int | None,
    **tokens: Any,
) -> SourceData:
    """The ``csv`` source with a text column: the texts and labels of ``file``."""
    text_index = _column("text_column", text_column, columns, width)

    def shown(i: int) -> str:
        return repr(columns[i]) if columns else str(i)

    if text_index == label_index:
        raise ConfigError(
            f"the text column and the label column are both column {shown(text_index)}",
            key="data.params.text_column",
            fix="set data.params.label_column to the column of the labels (the last by default)",
        )
    unused = [shown(i) for i in range(width) if i not in (text_index, label_index)]
    reader = CsvReader(file, delimiter, width=width, header_line=header_line)
    texts, labels = read_texts(reader, text_index, label_index, columns=columns)
    if unused:
        logger.info("csv: column%s %s not used (text_column)", "s" * (len(unused) > 1), unused)
    y, names = _coded_labels(labels)
    table = {
        "columns": columns,
        "label_column": label_index,
        "delimiter": delimiter,
        "text_column": text_index,
        "width": width,
    }
    return text_classification(texts, y, names, table=table, **tokens)


# --------------------------------------------------------------------------- parquet


def load_parquet(
    *,
    seed: int,
    path: str | None = None,
    label_column: str | int = -1,
    standardize: bool = True,
    features: Sequence[str | int] | None = None,
    column_types: dict[str, str] | None = None,
    missing: str = "impute",
    missing_values: Sequence[str] | None = None,
    missing_label: str = "refuse",
    task: str = "auto",
    _sample_only: bool = False,
) -> Any:
    """A Parquet table of feature columns and one label column, read a record batch at a time
    (``pyarrow.parquet.ParquetFile.iter_batches``).

    As the ``csv`` source: ``label_column`` is the column's name or index (negative from the
    end; the last column by default), ``features``, ``column_types``, ``missing``,
    ``missing_values``, ``missing_label`` and ``task`` mean what they mean there; columns of
    numbers (integers, floats, booleans, decimals) are numeric, text columns are decided from
    their first rows as in a CSV, and a null cell is missing. Bad cells are named by their
    row (0-based) and column.
    """
    import pyarrow.types as pt

    file = existing_path(path, kind="file")
    check_choice("missing", missing, MISSING_POLICIES)
    check_choice("missing_label", missing_label, ("refuse", "drop"))
    check_choice("task", task, ("auto", "classification", "regression"))
    missing_values = _missing_values(missing_values)
    parquet = open_parquet(file)
    schema = parquet.schema_arrow
    columns = list(schema.names)
    width = len(columns)
    if width < 2:
        raise ConfigError(
            f"{file} has {width} column{'s' if width != 1 else ''}: no feature columns beside "
            "the label",
            key="data.params.path",
            fix="give feature columns and a label column",
        )
    _unique_names(columns, file)
    label_index = _column("label_column", label_column, columns, width)
    if parquet.metadata.num_rows == 0:
        raise ConfigError(f"{file} has no rows", key="data.params.path", fix="give rows")
    feature_index = _feature_columns(features, columns, width, label_index)
    names = [columns[i] for i in feature_index]
    declared = _declared(column_types, names)
    sample: list[list[str]] = []
    first = next(parquet.iter_batches(batch_size=SAMPLE_ROWS), None)
    if first is not None:
        texts = [[None if v is None else str(v) for v in c.to_pylist()] for c in first.columns]
        sample = [["" if v is None else v for v in row] for row in zip(*texts)]
    for i, name in zip(feature_index, names, strict=True):
        kind = schema.field(i).type
        if pt.is_dictionary(kind):
            kind = kind.value_type
        text = pt.is_string(kind) or pt.is_large_string(kind)
        if not text and name not in declared:
            if not (
                pt.is_integer(kind)
                or pt.is_floating(kind)
                or pt.is_boolean(kind)
                or pt.is_decimal(kind)
            ):
                raise ConfigError(
                    f"{file}: feature {name!r} is a column of {kind}, not numbers or text",
                    key="data.params.path",
                    fix="leave it out (data.params.features: the columns to use)",
                )
            declared[name] = "numeric"
    cols = Columns.infer(
        names,
        feature_index,
        sample,
        declared=declared,
        path=file,
        missing=missing,
        missing_values=missing_values,
        start_line=0,
        row_word="row",
    )
    if _sample_only:
        labels_sample = [row[label_index] for row in sample]
        return _sample_summary(cols, labels_sample, task, file, columns[label_index])
    x, labels = read_parquet(parquet, cols, label_index, path=file, missing_label=missing_label)
    return _table_data(
        x,
        labels,
        cols,
        {"columns": columns, "label_column": label_index},
        file=file,
        label_name=columns[label_index],
        task=task,
        standardize=standardize,
    )


register_source(
    "text_folder",
    load_text_folder,
    path_kind="folder",
    input_kind="tokens",
    summary="Your texts, one sub-folder per class of .txt files (as text_dataset_from_directory)",
    offline=True,
    list_files=_text_folder_files,
)
register_source(
    "image_folder",
    load_image_folder,
    path_kind="folder",
    input_kind="image",
    summary="Your images, one sub-folder per class (as image_dataset_from_directory)",
    offline=True,
    list_files=_image_folder_files,
)
register_source(
    "npz",
    load_npz_file,
    path_kind="file",
    input_kind="any",
    summary="Arrays x / y (and x_test / y_test) from a NumPy .npz file",
    offline=True,
)
register_source(
    "parquet",
    load_parquet,
    path_kind="file",
    input_kind="features",
    summary="A Parquet table: feature columns (numbers, categories, blanks) and a label column",
    offline=True,
)
register_source(
    "csv",
    load_csv,
    path_kind="file",
    input_kind="features",
    input_kind_for=lambda params: "features" if params.get("text_column") is None else "tokens",
    summary="A CSV table: feature columns (numbers, categories, blanks) or a text_column, and a "
    "label column (classes or a number)",
    offline=True,
)
