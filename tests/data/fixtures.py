"""Tiny files in the real ``keras.datasets`` formats (see ``conftest.py`` for the cache).

Every image encodes its label: CIFAR's red plane is ``10 * label`` except pixel (row 0,
column 1), which is 255 (catches a transposed H / W); green is ``100 + label`` and blue
``200 + label``. MNIST images are ``25 * label`` with pixel (0, 1) at 255.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np

from nnzoo.data import keras_datasets


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cifar_rows(labels: np.ndarray) -> np.ndarray:
    """CIFAR ``data`` rows ``(N, 3072)`` uint8 (R, G, B planes of 32x32) encoding ``labels``."""
    n = len(labels)
    planes = np.zeros((n, 3, 32, 32), dtype=np.uint8)
    planes[:, 0] = (10 * labels)[:, None, None]
    planes[:, 0, 0, 1] = 255
    planes[:, 1] = (100 + labels)[:, None, None]
    planes[:, 2] = (200 + labels)[:, None, None]
    return planes.reshape(n, 3072)


def _add_pickle(archive: tarfile.TarFile, name: str, obj: dict) -> None:
    # Bytes keys and strings, as in the original (Python 2) batches; protocol 3 because
    # Python 3 pickles bytes in protocol 2 through ``_codecs.encode``, which the loader
    # (rightly) refuses.
    data = pickle.dumps(obj, protocol=3)
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def write_cifar10(path: Path, per_batch: int = 4, num_test: int = 6) -> None:
    """A ``cifar-10-python.tar.gz`` with 5 x ``per_batch`` training and ``num_test`` test
    images; training image ``i`` has label ``i % 10``, test image ``i`` label ``9 - i % 10``."""
    with tarfile.open(path, "w:gz") as archive:
        for b in range(5):
            labels = (np.arange(b * per_batch, (b + 1) * per_batch) % 10).astype(np.int64)
            batch = {
                b"batch_label": f"training batch {b + 1} of 5".encode(),
                b"labels": labels.tolist(),
                b"data": cifar_rows(labels),
                b"filenames": [f"{i}.png".encode() for i in range(per_batch)],
            }
            _add_pickle(archive, f"cifar-10-batches-py/data_batch_{b + 1}", batch)
        labels = (9 - np.arange(num_test) % 10).astype(np.int64)
        test = {b"labels": labels.tolist(), b"data": cifar_rows(labels)}
        _add_pickle(archive, "cifar-10-batches-py/test_batch", test)
        meta = {
            b"label_names": [n.encode() for n in keras_datasets.CIFAR10_CLASSES],
            b"num_vis": 3072,
            b"num_cases_per_batch": per_batch,
        }
        _add_pickle(archive, "cifar-10-batches-py/batches.meta", meta)


def write_cifar100(path: Path, num_train: int = 12, num_test: int = 5) -> None:
    """A ``cifar-100-python.tar.gz``: image ``i`` has fine label ``i % 100`` (training) and
    coarse label ``fine % 20``."""
    with tarfile.open(path, "w:gz") as archive:
        for name, n in (("train", num_train), ("test", num_test)):
            fine = (np.arange(n) * 7 % 100).astype(np.int64)
            batch = {
                b"fine_labels": fine.tolist(),
                b"coarse_labels": (fine % 20).tolist(),
                b"data": cifar_rows(fine % 20),
            }
            _add_pickle(archive, f"cifar-100-python/{name}", batch)
        meta = {
            b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
            b"coarse_label_names": [f"coarse{i}".encode() for i in range(20)],
        }
        _add_pickle(archive, "cifar-100-python/meta", meta)


def mnist_images(labels: np.ndarray) -> np.ndarray:
    x = np.repeat((25 * labels).astype(np.uint8)[:, None, None], 28, 1).repeat(28, 2)
    x[:, 0, 1] = 255
    return x


def write_mnist(path: Path, num_train: int = 30, num_test: int = 10) -> None:
    y_train = (np.arange(num_train) % 10).astype(np.uint8)
    y_test = (np.arange(num_test)[::-1] % 10).astype(np.uint8)
    np.savez_compressed(
        path,
        x_train=mnist_images(y_train),
        y_train=y_train,
        x_test=mnist_images(y_test),
        y_test=y_test,
    )


def write_idx(folder: Path, prefix: str, labels: np.ndarray) -> None:
    """Gzipped IDX files ``<prefix>-labels-idx1-ubyte.gz`` / ``-images-idx3-ubyte.gz``."""
    folder.mkdir(parents=True, exist_ok=True)
    labels = labels.astype(np.uint8)
    with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 2049, len(labels)) + labels.tobytes())
    images = mnist_images(labels)
    with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 2051, len(labels), 28, 28) + images.tobytes())


def imdb_review(label: int, length: int) -> list[int]:
    """Raw word ids (before Keras's ``index_from``): positive reviews repeat word 5, negative
    word 7; every 4th word is rare (id 50,000, beyond any test vocabulary)."""
    word = 5 if label else 7
    return [50_000 if i % 4 == 3 else word for i in range(length)]


def write_imdb(path: Path, num_train: int = 20, num_test: int = 8) -> None:
    def split(n: int, offset: int):
        y = ((np.arange(n) + offset) % 2).astype(np.int64)
        x = np.empty(n, dtype=object)
        for i in range(n):
            x[i] = imdb_review(int(y[i]), 3 + 5 * i)  # lengths 3 .. beyond sequence_length
        return x, y

    x_train, y_train = split(num_train, 0)
    x_test, y_test = split(num_test, 1)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
