"""The ``keras.datasets`` sets: ``mnist``, ``fashion_mnist``, ``cifar10``, ``cifar100``, ``imdb``.

Each file is downloaded with ``keras.utils.get_file`` with the same file name, origin and hash
as ``keras.datasets`` uses, so it shares Keras's cache (``$KERAS_HOME/datasets``, else
``~/.keras/datasets``). A missing file is downloaded by default (nnzoo says which file, how big
and where first); ``data.params.download: false`` forbids it for one config and
``nnzoo --offline`` / ``NNZOO_OFFLINE=1`` for everything (:mod:`nnzoo._offline`). Then a missing
file is :class:`~nnzoo.errors.DataNotAvailableError`: one line saying which file to put where,
and the offline source to use instead (``--set data.source=shapes``). The files are parsed
here (NumPy, ``gzip``, ``tarfile`` and a restricted unpickler), with the same logic as
``keras.datasets`` but without TensorFlow, and without extracting the CIFAR tarballs: their
pickled batches are read straight from the archive.

Each set is one entry of :data:`DATASETS`: its files, its loader, its summary and the offline
source to suggest. The four image sets share one loader, :func:`load_keras_images`, and differ
only in the reader that turns their files into arrays.

Images are float32 in [0, 1], channels last: ``(28, 28, 1)`` for MNIST / Fashion-MNIST,
``(32, 32, 3)`` for CIFAR. The official test split is ``SourceData.test``. ``imdb`` yields
``token_ids`` / ``padding_mask`` (post-padded with 0) with Keras's word ids, or, with a
``tokenizer`` (a preset's), its reviews as text read by that tokenizer.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import os
import pickle
import tarfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnzoo._cache import Need, RemoteFile, register_needs
from nnzoo.data._sources import (
    DataSpec,
    SourceData,
    check_choice,
    check_int,
    classification_data,
    register_source,
)
from nnzoo.errors import ConfigError

__all__ = [
    "CIFAR10_CLASSES",
    "DATASETS",
    "FASHION_MNIST_CLASSES",
    "KerasDataset",
    "RemoteFile",
    "fetch",
    "imdb_inputs",
    "imdb_texts",
    "imdb_words",
    "load_keras_images",
    "load_npz",
    "need",
    "parse_cifar_tarball",
    "parse_idx",
    "parse_mnist_npz",
]

CIFAR10_CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]
FASHION_MNIST_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
MNIST_CLASSES = [str(i) for i in range(10)]


# --------------------------------------------------------------------------- the Keras cache


def need(name: str, *, download: bool = True) -> Need:
    """What set ``name`` needs from the Keras cache; ``download=False`` forbids downloading."""
    dataset = DATASETS[name]
    return Need(
        what=name,
        files=dataset.files,
        alternative=f"use an offline source: --set data.source={dataset.offline_alternative}",
        forbidden=None if download else "data.params.download is false",
    )


def fetch(name: str, *, download: bool = True) -> list[str]:
    """The local paths of the files of set ``name``, in the order of its ``files``.

    Cached files are used after a hash check; missing ones are downloaded through
    ``keras.utils.get_file`` into the Keras cache, unless ``download`` is false or nnzoo is
    offline (:mod:`nnzoo._offline`): then :class:`DataNotAvailableError` says in one line
    which file to put where, and the offline source to use instead.
    """
    return need(name, download=download).fetch()


def _needs(name: str) -> Callable[[Mapping[str, Any]], list[Need]]:
    def needs(params: Mapping[str, Any]) -> list[Need]:
        download = params.get("download", True) is not False
        found = [need(name, download=download)]
        if name == "imdb" and params.get("tokenizer") is not None:
            found.append(_imdb_word_index_need(download=download))
        return found

    return needs


def _imdb_word_index_need(*, download: bool = True) -> Need:
    """IMDB's word index (``keras.datasets.imdb.get_word_index``'s file): reviews as text."""
    return Need(
        what="imdb word index",
        files=(IMDB_WORD_INDEX,),
        alternative="use an offline source: --set data.source=stdlib_topics",
        forbidden=None if download else "data.params.download is false",
    )


# --------------------------------------------------------------------------- parsing


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays and plain Python values only (as ``keras.datasets`` does)."""

    _ALLOWED = frozenset(
        {
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("numpy.core.numeric", "_frombuffer"),
            ("numpy._core.numeric", "_frombuffer"),
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to unpickle {module}.{name} from a data file (corrupt or malicious?)"
        )


def _unpickle(data: bytes) -> Any:
    return _RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def load_npz(path: str) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file; object arrays (IMDB's ragged lists) are read with a
    restricted unpickler instead of ``allow_pickle=True``."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if not member.endswith(".npy"):
                continue
            buffer = io.BytesIO(archive.read(member))
            try:
                array = np.lib.format.read_array(buffer, allow_pickle=False)
            except ValueError:
                buffer.seek(0)
                version = np.lib.format.read_magic(buffer)
                if version[0] == 1:
                    np.lib.format.read_array_header_1_0(buffer)
                else:
                    np.lib.format.read_array_header_2_0(buffer)
                array = _RestrictedUnpickler(buffer, encoding="latin1").load()
            arrays[member[: -len(".npy")]] = array
    return arrays


def parse_mnist_npz(path: str) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, ...]]:
    """``(x_train, y_train), (x_test, y_test)`` of ``mnist.npz`` (uint8, ``(N, 28, 28)``)."""
    with np.load(path, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def parse_idx(labels_path: str, images_path: str) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 28, 28)`` and labels ``(N,)`` (uint8) from gzipped IDX files."""
    with gzip.open(labels_path, "rb") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    with gzip.open(images_path, "rb") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(len(labels), 28, 28)
    return images, labels


def _cifar_batch(batch: dict, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    batch = {_text(k): v for k, v in batch.items()}
    data = np.asarray(batch["data"], dtype=np.uint8)
    images = data.reshape(len(data), 3, 32, 32).transpose(0, 2, 3, 1)  # -> channels last
    return images, np.asarray(batch[label_key], dtype=np.int64)


def parse_cifar_tarball(
    path: str, *, kind: str = "cifar10", label_mode: str = "fine"
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], list[str]]:
    """``(x_train, y_train), (x_test, y_test), class_names`` from a CIFAR python tarball.

    The pickled batches are read from the archive without extracting it: CIFAR-10's
    ``cifar-10-batches-py/data_batch_1..5``, ``test_batch`` and ``batches.meta``; CIFAR-100's
    ``cifar-100-python/train``, ``test`` and ``meta`` (``fine`` or ``coarse`` labels).
    Images are uint8 ``(N, 32, 32, 3)``.
    """
    with tarfile.open(path, "r:*") as archive:

        def read(member: str) -> dict:
            handle = archive.extractfile(member)
            if handle is None:
                raise KeyError(member)
            return _unpickle(handle.read())

        if kind == "cifar10":
            folder = "cifar-10-batches-py"
            parts = [read(f"{folder}/data_batch_{i}") for i in range(1, 6)]
            train = [_cifar_batch(p, "labels") for p in parts]
            x_train = np.concatenate([x for x, _ in train])
            y_train = np.concatenate([y for _, y in train])
            x_test, y_test = _cifar_batch(read(f"{folder}/test_batch"), "labels")
            try:
                meta = {_text(k): v for k, v in read(f"{folder}/batches.meta").items()}
                names = [_text(n) for n in meta["label_names"]]
            except KeyError:
                names = list(CIFAR10_CLASSES)
        else:
            folder = "cifar-100-python"
            key = f"{label_mode}_labels"
            x_train, y_train = _cifar_batch(read(f"{folder}/train"), key)
            x_test, y_test = _cifar_batch(read(f"{folder}/test"), key)
            try:
                meta = {_text(k): v for k, v in read(f"{folder}/meta").items()}
                names = [_text(n) for n in meta[f"{label_mode}_label_names"]]
            except KeyError:
                names = [str(i) for i in range(100 if label_mode == "fine" else 20)]
    return (x_train, y_train), (x_test, y_test), names


def imdb_inputs(sequences: Sequence[Sequence[int]], sequence_length: int) -> dict[str, np.ndarray]:
    """``token_ids`` (the first ``sequence_length`` ids, post-padded with 0) and
    ``padding_mask`` (1 = real token), both int32 ``(N, sequence_length)``."""
    token_ids = np.zeros((len(sequences), sequence_length), dtype="int32")
    lengths = np.zeros(len(sequences), dtype="int64")
    for row, seq in enumerate(sequences):
        ids = list(seq)[:sequence_length]
        token_ids[row, : len(ids)] = ids
        lengths[row] = len(ids)
    padding_mask = (np.arange(sequence_length)[None, :] < lengths[:, None]).astype("int32")
    return {"token_ids": token_ids, "padding_mask": padding_mask}


def _imdb_sequences(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    num_words: int | None,
    *,
    seed: int = 113,
    start_char: int = 1,
    oov_char: int = 2,
    index_from: int = 3,
) -> tuple[tuple[list, np.ndarray], tuple[list, np.ndarray]]:
    """``keras.datasets.imdb.load_data``'s processing (defaults, ``skip_top=0``, no maxlen):
    shuffle with ``seed``, prepend ``start_char``, shift ids by ``index_from``, ids at or
    above ``num_words`` become ``oov_char``."""
    rng = np.random.RandomState(seed)
    index = np.arange(len(x_train))
    rng.shuffle(index)
    x_train, y_train = x_train[index], y_train[index]
    index = np.arange(len(x_test))
    rng.shuffle(index)
    x_test, y_test = x_test[index], y_test[index]
    xs = [[start_char] + [int(w) + index_from for w in x] for x in (*x_train, *x_test)]
    if not num_words:
        num_words = max(max(x) for x in xs)
    xs = [[w if w < num_words else oov_char for w in x] for x in xs]
    n = len(x_train)
    return (xs[:n], np.asarray(y_train)), (xs[n:], np.asarray(y_test))


# --------------------------------------------------------------------------- loaders


def _subset(n: int, cap: int | None, seed: int) -> np.ndarray | None:
    """A seeded random subset (in the original order) of ``cap`` of ``n`` rows, or ``None``."""
    if cap is None or cap >= n:
        return None
    return np.sort(np.random.default_rng(seed).permutation(n)[:cap])


def _check_caps(num_examples: Any, num_test_examples: Any) -> None:
    check_int("num_examples", num_examples, optional=True)
    check_int("num_test_examples", num_test_examples, optional=True)


def load_keras_images(
    name: str,
    *,
    seed: int,
    num_examples: int | None = None,
    num_test_examples: int | None = None,
    download: bool = True,
    **read_options: Any,
) -> SourceData:
    """The image set ``name`` of :data:`DATASETS`: float32 in [0, 1], channels last, int32
    labels, with its official test split as ``SourceData.test``.

    ``num_examples`` / ``num_test_examples`` keep a seeded random subset of the training /
    test images (quick runs). ``download`` (default) lets Keras download a file missing from
    its cache; ``False`` forbids it (a missing file is then one-line
    :class:`~nnzoo.errors.DataNotAvailableError`).
    ``read_options`` go to the set's reader (CIFAR-100's ``label_mode``).
    """
    _check_caps(num_examples, num_test_examples)
    read = DATASETS[name].read_images
    train, test, class_names = read(fetch(name, download=download), **read_options)

    def prepare(x: np.ndarray, y: np.ndarray, cap: int | None, salt: int):
        rows = _subset(len(x), cap, seed + salt)
        if rows is not None:
            x, y = x[rows], y[rows]
        if x.ndim == 3:
            x = x[..., None]
        return (x.astype("float32") / 255.0), np.asarray(y).reshape(-1).astype("int32")

    x, y = prepare(*train, num_examples, 0)
    test = prepare(*test, num_test_examples, 1)
    return classification_data(x, y, class_names, input_kind="image", test=test)


def load_cifar100(
    *,
    seed: int,
    label_mode: str = "fine",
    num_examples: int | None = None,
    num_test_examples: int | None = None,
    download: bool = True,
) -> SourceData:
    """CIFAR-100 as :func:`load_keras_images` reads it; ``label_mode`` ``fine`` (100 classes)
    or ``coarse`` (20 superclasses), named from the archive's ``meta``."""
    check_choice("label_mode", label_mode, ("fine", "coarse"))
    return load_keras_images(
        "cifar100",
        seed=seed,
        num_examples=num_examples,
        num_test_examples=num_test_examples,
        download=download,
        label_mode=label_mode,
    )


def load_imdb(
    *,
    seed: int,
    vocabulary_size: int = 10000,
    sequence_length: int = 200,
    num_examples: int | None = None,
    num_test_examples: int | None = None,
    download: bool = True,
    tokenizer: str | None = None,
    segments: bool = False,
) -> SourceData:
    """IMDB review sentiment (25,000 / 25,000), as Keras's word ids or as text.

    Without ``tokenizer``, as ``keras.datasets.imdb.load_data(num_words=vocabulary_size)``:
    0 is padding, 1 starts every review, 2 is out-of-vocabulary, words are ``3 + frequency
    rank``. Each review keeps its first
    ``sequence_length`` ids and is padded at the end with 0; ``padding_mask`` is 1 on real
    tokens. Labels: 0 negative, 1 positive.

    With ``tokenizer`` (``byte``, ``word``, ``wordpiece`` or the path of a ``tokenizer.json``,
    e.g. a KerasHub preset's), each review is first turned back into its text with IMDB's word
    index (``imdb_word_index.json``, a second Keras download: lower-case words without
    punctuation, as Keras stored them) and read as any text source reads text
    (:func:`~nnzoo.data.text.text_classification`; ``segments`` frames it for BERT;
    ``vocabulary_size`` is then a learned tokenizer's).
    """
    check_int("vocabulary_size", vocabulary_size, minimum=4)
    check_int("sequence_length", sequence_length, minimum=2)
    _check_caps(num_examples, num_test_examples)
    if segments and tokenizer is None:
        raise ConfigError(
            "segments frames texts as [CLS] ... [SEP], and imdb's Keras word ids are no text. "
            "Received: segments=True",
            key="data.params.segments",
            fix="set data.params.tokenizer (e.g. wordpiece) to read imdb as text",
        )
    (path,) = fetch("imdb", download=download)
    f = load_npz(path)
    # As text, every word is kept (the index has them all); as ids, the top vocabulary_size.
    num_words = vocabulary_size if tokenizer is None else 2**31
    (x_train, y_train), (x_test, y_test) = _imdb_sequences(
        f["x_train"], f["y_train"], f["x_test"], f["y_test"], num_words
    )

    def subset(xs: list, y: np.ndarray, cap: int | None, salt: int) -> tuple[list, np.ndarray]:
        rows = _subset(len(xs), cap, seed + salt)
        if rows is not None:
            xs, y = [xs[i] for i in rows], y[rows]
        return xs, np.asarray(y).astype("int32")

    train = subset(x_train, y_train, num_examples, 0)
    test = subset(x_test, y_test, num_test_examples, 1)
    class_names = ["negative", "positive"]
    if tokenizer is not None:
        from nnzoo.data.text import text_classification

        (index_path,) = _imdb_word_index_need(download=download).fetch()
        words = imdb_words(index_path)
        data = text_classification(
            imdb_texts(train[0], words),
            train[1],
            class_names,
            tokenizer=tokenizer,
            vocabulary_size=vocabulary_size,
            sequence_length=sequence_length,
            segments=segments,
        )
        texts = np.empty(len(test[0]), dtype=object)
        texts[:] = imdb_texts(test[0], words)
        data.test = (texts, test[1])
        return data
    spec = DataSpec(
        input_kind="tokens",
        input_shape=(sequence_length,),
        num_classes=2,
        class_names=class_names,
        vocabulary_size=vocabulary_size,
        sequence_length=sequence_length,
    )
    x = imdb_inputs(train[0], sequence_length)
    return SourceData(
        x=x, y=train[1], spec=spec, test=(imdb_inputs(test[0], sequence_length), test[1])
    )


def imdb_words(path: str) -> dict[int, str]:
    """IMDB's word index file as ``{frequency rank: word}``."""
    with open(path, encoding="utf-8") as f:
        return {int(rank): word for word, rank in json.load(f).items()}


def imdb_texts(
    sequences: Sequence[Sequence[int]], words: Mapping[int, str], *, index_from: int = 3
) -> list[str]:
    """Reviews as :func:`_imdb_sequences` gives them (a start id, then ``rank + index_from``,
    no out-of-vocabulary id) turned back into text: their words joined by spaces."""
    return [
        " ".join(words.get(int(i) - index_from, "") for i in seq[1:]).strip() for seq in sequences
    ]


# --------------------------------------------------------------------------- the sets

#: What an image reader returns: ``(x_train, y_train), (x_test, y_test), class_names``.
ImageSplits = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], list[str]]


def _read_mnist(paths: Sequence[str]) -> ImageSplits:
    train, test = parse_mnist_npz(paths[0])
    return train, test, MNIST_CLASSES


def _read_fashion_mnist(paths: Sequence[str]) -> ImageSplits:
    train_labels, train_images, test_labels, test_images = paths
    train = parse_idx(train_labels, train_images)
    return train, parse_idx(test_labels, test_images), FASHION_MNIST_CLASSES


def _read_cifar10(paths: Sequence[str]) -> ImageSplits:
    return parse_cifar_tarball(paths[0], kind="cifar10")


def _read_cifar100(paths: Sequence[str], *, label_mode: str = "fine") -> ImageSplits:
    return parse_cifar_tarball(paths[0], kind="cifar100", label_mode=label_mode)


@dataclass(frozen=True)
class KerasDataset:
    """One ``keras.datasets`` set, as nnzoo registers it.

    Attributes:
        files: the files Keras downloads for it (names, origins and hashes as in
            ``keras/src/datasets``), in the order :func:`fetch` returns their paths.
        loader: the registered loader, ``loader(*, seed, **params) -> SourceData``.
        input_kind: what it yields (``image`` or ``tokens``).
        summary: its line in ``nnzoo list-sources``.
        offline_alternative: an offline source to suggest when a file is missing.
        read_images: for an image set, ``read_images(paths, **options) -> ImageSplits``.
    """

    files: tuple[RemoteFile, ...]
    loader: Callable[..., SourceData]
    input_kind: str
    summary: str
    offline_alternative: str
    read_images: Callable[..., ImageSplits] | None = None


_TF_KERAS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
#: IMDB's word index (``keras.datasets.imdb.get_word_index``), for reading reviews as text.
IMDB_WORD_INDEX = RemoteFile(
    "imdb_word_index.json",
    f"{_TF_KERAS}imdb_word_index.json",
    "bfafd718b763782e994055a2d397834f",
)
#: Fashion-MNIST's files and their sizes in bytes.
_FASHION = {
    "train-labels-idx1-ubyte.gz": 29_515,
    "train-images-idx3-ubyte.gz": 26_421_880,
    "t10k-labels-idx1-ubyte.gz": 5_148,
    "t10k-images-idx3-ubyte.gz": 4_422_102,
}

#: The registered sets, by source name.
DATASETS: dict[str, KerasDataset] = {
    "mnist": KerasDataset(
        files=(
            RemoteFile(
                "mnist.npz",
                f"{_TF_KERAS}mnist.npz",
                "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
                size=11_490_434,
            ),
        ),
        loader=functools.partial(load_keras_images, "mnist"),
        input_kind="image",
        summary="MNIST digits, 60k/10k 28x28x1, 10 classes (keras.datasets)",
        offline_alternative="digits_images",
        read_images=_read_mnist,
    ),
    "fashion_mnist": KerasDataset(
        files=tuple(
            RemoteFile(f, f"{_TF_KERAS}{f}", None, os.path.join("datasets", "fashion-mnist"), size)
            for f, size in _FASHION.items()
        ),
        loader=functools.partial(load_keras_images, "fashion_mnist"),
        input_kind="image",
        summary="Fashion-MNIST, 60k/10k 28x28x1, 10 clothing classes (keras.datasets)",
        offline_alternative="digits_images",
        read_images=_read_fashion_mnist,
    ),
    "cifar10": KerasDataset(
        files=(
            RemoteFile(
                "cifar-10-python.tar.gz",
                "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
                size=170_498_071,
                aliases=("cifar-10-batches-py-target_archive",),
            ),
        ),
        loader=functools.partial(load_keras_images, "cifar10"),
        input_kind="image",
        summary="CIFAR-10, 50k/10k 32x32x3, 10 classes (keras.datasets)",
        offline_alternative="shapes",
        read_images=_read_cifar10,
    ),
    "cifar100": KerasDataset(
        files=(
            RemoteFile(
                "cifar-100-python.tar.gz",
                "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
                size=169_001_437,
                aliases=("cifar-100-python-target_archive",),
            ),
        ),
        loader=load_cifar100,
        input_kind="image",
        summary="CIFAR-100, 50k/10k 32x32x3, 100 fine / 20 coarse classes (keras.datasets)",
        offline_alternative="shapes",
        read_images=_read_cifar100,
    ),
    "imdb": KerasDataset(
        files=(
            RemoteFile(
                "imdb.npz",
                f"{_TF_KERAS}imdb.npz",
                "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
                size=17_464_789,
            ),
        ),
        loader=load_imdb,
        input_kind="tokens",
        summary="IMDB review sentiment, 25k/25k, word ids or text (keras.datasets)",
        offline_alternative="stdlib_topics",
    ),
}

for _name, _dataset in DATASETS.items():
    register_source(
        _name,
        _dataset.loader,
        input_kind=_dataset.input_kind,
        summary=_dataset.summary,
        offline=False,
    )
    register_needs("data", _name, _needs(_name))
