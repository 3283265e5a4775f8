"""What ``validate`` can check of the data without reading all of it (issue 27, item 8).

Everything ``train`` refuses for a data-shape or split-size reason, ``validate`` should refuse
first where it can cheaply: :func:`check_data_shape` does so for the sources whose size is
known without loading them (scikit-learn's sets: their labels; an ``.npz``: its arrays'
headers and its labels). Tables are checked by :func:`nnzoo.data.files.check_table`; other
sources are left to ``train``. NumPy only, no TensorFlow.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from nnzoo.data._sizes import check_training_split, planned_class_counts, planned_sizes
from nnzoo.data.files import RANK_FIX, rank_message
from nnzoo.errors import ConfigError

__all__ = ["check_data_shape"]

SKLEARN_SETS = ("digits", "iris", "wine", "breast_cancer")


def check_data_shape(config: Any) -> None:
    """Refuse, as ``train`` would, data whose shape a model cannot take or whose split leaves
    too little to train on, where that is known cheaply (see the module)."""
    data = config.data
    if data.validation_source:
        return
    try:
        if data.source in SKLEARN_SETS:
            labels, test_labels = _sklearn_labels(data.source), None
        elif data.source == "npz":
            labels, test_labels = _npz_labels(data.params)
        else:
            return
    except ConfigError as err:
        raise ConfigError(
            err.message, file=config.source_file, key=err.key, line=err.line, fix=err.fix
        ) from None
    if labels is None:
        return
    own_test = test_labels is not None
    sizes = planned_sizes(
        len(labels),
        data.validation_split,
        data.test_split,
        n_test=len(test_labels) if own_test else None,
    )
    counts = names = None
    if labels.ndim == 1 and labels.dtype.kind in "iuUSb":
        values, total = np.unique(labels, return_counts=True)
        enough = total >= 3  # as train: classes the data holds at least 3 of
        counts = planned_class_counts(
            total[enough], data.validation_split, data.test_split, own_test=own_test
        )
        names = [str(v) for v in values[enough]]
    check_training_split(
        sizes,
        batch_size=data.batch_size,
        validation_split=data.validation_split,
        test_split=data.test_split,
        class_counts=counts,
        class_names=names,
        file=config.source_file,
    )


def _sklearn_labels(name: str) -> np.ndarray:
    import sklearn.datasets

    return np.asarray(getattr(sklearn.datasets, f"load_{name}")().target)


def _header_shape(archive: zipfile.ZipFile, member: str) -> tuple[int, ...] | None:
    """The shape in an ``.npy`` member's header, read without its data."""
    with archive.open(member) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, _ = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, _, _ = np.lib.format.read_array_header_2_0(f)
        else:
            return None
    return tuple(shape)


def _npz_labels(params: dict[str, Any]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The labels of an ``.npz`` source (and of its own test split), after checking the rank
    of its examples from their header; ``(None, None)`` when the file is left to ``train``."""
    path = params.get("path")
    if not path or not Path(str(path)).expanduser().is_file():
        return None, None  # the source's own parameter check says so
    file = Path(str(path)).expanduser()
    try:
        archive = zipfile.ZipFile(file)
        members = {name.removesuffix(".npy"): name for name in archive.namelist()}
        x_key = params.get("x_key", "x")
        y_key = params.get("y_key", "y")
        if x_key == "x" and "x" not in members and "x_train" in members:
            x_key = "x_train"
        if y_key == "y" and "y" not in members and "y_train" in members:
            y_key = "y_train"
        if x_key not in members or y_key not in members:
            return None, None  # the loader names the missing array
        shape = _header_shape(archive, members[x_key])
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None, None  # the loader says what is wrong with the file
    if shape is None:
        return None, None
    input_kind = params.get("input_kind", "auto")
    where = f"{file} array {x_key!r}"
    if len(shape) not in (2, 3, 4):
        raise ConfigError(rank_message(where, shape), key="data.params.x_key", fix=RANK_FIX)
    if input_kind == "auto" and len(shape) not in (2, 3, 4):
        raise ConfigError(
            f"cannot tell the input kind of {where}, an array of shape {shape}",
            key="data.params.input_kind",
            fix="give x as (N, features) or images (N, H, W[, C]), or set input_kind",
        )
    if input_kind == "image" and len(shape) not in (3, 4):
        raise ConfigError(
            f"images must be (N, H, W[, C]). Received: {where} of shape {shape}",
            key="data.params.input_kind",
        )
    if input_kind == "tokens" and len(shape) != 2:
        raise ConfigError(
            f"tokens must be integer ids (N, T). Received: {where} of shape {shape}",
            key="data.params.input_kind",
        )
    try:
        with np.load(file, allow_pickle=False) as arrays:
            y = np.asarray(arrays[y_key])
            x_test_key = params.get("x_test_key", "x_test")
            y_test_key = params.get("y_test_key", "y_test")
            has_test = x_test_key in arrays.files and y_test_key in arrays.files
            y_test = np.asarray(arrays[y_test_key]) if has_test else None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None, None
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot, as the loader reads it
        y = y.argmax(axis=1)
    if y_test is not None and y_test.ndim == 2 and y_test.shape[1] > 1:
        y_test = y_test.argmax(axis=1)
    if len(y) != shape[0]:
        return None, None  # the loader names the mismatch
    return y.reshape(len(y)), y_test
