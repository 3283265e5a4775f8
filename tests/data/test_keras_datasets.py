"""``keras.datasets`` sources, parsed from tiny fixtures in the real file formats.

The fixtures sit in a temporary Keras cache, where nnzoo finds them and checks their sha256
as ``keras.utils.get_file`` would; the suite runs offline (``NNZOO_OFFLINE=1``) and downloads
are made to fail. Downloading itself is tested in ``test_downloads.py``.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest
from fixtures import (
    imdb_review,
    write_cifar10,
    write_cifar100,
    write_idx,
    write_imdb,
    write_mnist,
)

from nnzoo.data import get_source, keras_datasets, list_sources, load_data
from nnzoo.errors import ConfigError, DataNotAvailableError


def _check_cifar_pixels(x: np.ndarray, y: np.ndarray) -> None:
    """The conftest encoding: red 10 * label (255 at row 0, column 1), green 100 + label,
    blue 200 + label."""
    assert x.dtype == np.float32 and y.dtype == np.int32
    assert x.min() >= 0.0 and x.max() <= 1.0
    pixels = np.rint(x * 255).astype(int)
    np.testing.assert_array_equal(pixels[:, 5, 7, 0], 10 * y)
    np.testing.assert_array_equal(pixels[:, 0, 1, 0], 255)
    np.testing.assert_array_equal(pixels[:, 1, 0, 0], 10 * y)
    np.testing.assert_array_equal(pixels[:, 9, 3, 1], 100 + y)
    np.testing.assert_array_equal(pixels[:, 31, 31, 2], 200 + y)


def test_cifar10_images_labels_and_class_names(put):
    put("cifar10", write_cifar10)
    data = get_source("cifar10").loader(seed=0)
    assert data.x.shape == (20, 32, 32, 3)
    np.testing.assert_array_equal(data.y, np.arange(20) % 10)
    _check_cifar_pixels(data.x, data.y)
    x_test, y_test = data.test
    assert x_test.shape == (6, 32, 32, 3)
    np.testing.assert_array_equal(y_test, 9 - np.arange(6) % 10)
    _check_cifar_pixels(x_test, y_test)
    assert data.spec.input_kind == "image"
    assert data.spec.input_shape == (32, 32, 3)
    assert data.spec.num_classes == 10
    assert data.spec.class_names[:3] == ["airplane", "automobile", "bird"]
    assert data.spec.class_names[-1] == "truck"


def test_cifar10_from_kerass_own_cache_name(put):
    """``keras.datasets.cifar10`` keeps the tarball as ``cifar-10-batches-py-target_archive``."""
    put("cifar10", write_cifar10, fname="cifar-10-batches-py-target_archive")
    assert get_source("cifar10").loader(seed=0).x.shape == (20, 32, 32, 3)


def test_cifar100_fine_and_coarse_labels(put):
    put("cifar100", write_cifar100)
    fine = get_source("cifar100").loader(seed=0)
    coarse = get_source("cifar100").loader(seed=0, label_mode="coarse")
    expected = np.arange(12) * 7 % 100
    np.testing.assert_array_equal(fine.y, expected)
    np.testing.assert_array_equal(coarse.y, expected % 20)
    _check_cifar_pixels(coarse.x, coarse.y)  # the fixture paints the coarse label
    assert fine.spec.num_classes == 100 and fine.spec.class_names[7] == "fine7"
    assert coarse.spec.num_classes == 20 and coarse.spec.class_names[3] == "coarse3"
    assert fine.test[0].shape == (5, 32, 32, 3)
    with pytest.raises(ConfigError, match="data.params.label_mode"):
        get_source("cifar100").loader(seed=0, label_mode="medium")


def test_mnist_images_in_unit_range_with_channel_axis(put):
    put("mnist", write_mnist)
    data = get_source("mnist").loader(seed=0)
    assert data.x.shape == (30, 28, 28, 1) and data.x.dtype == np.float32
    assert data.y.dtype == np.int32
    np.testing.assert_array_equal(data.y, np.arange(30) % 10)
    pixels = np.rint(data.x[..., 0] * 255).astype(int)
    np.testing.assert_array_equal(pixels[:, 10, 3], 25 * data.y)
    np.testing.assert_array_equal(pixels[:, 0, 1], 255)
    np.testing.assert_array_equal(data.test[1], np.arange(10)[::-1] % 10)
    assert data.spec.class_names == [str(i) for i in range(10)]
    assert data.spec.input_shape == (28, 28, 1)


def test_num_examples_keeps_a_seeded_subset_with_aligned_labels(put):
    put("mnist", write_mnist)
    loader = get_source("mnist").loader
    a = loader(seed=1, num_examples=7, num_test_examples=4)
    b = loader(seed=1, num_examples=7)
    assert a.x.shape == (7, 28, 28, 1) and a.test[0].shape == (4, 28, 28, 1)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(np.rint(a.x[:, 5, 5, 0] * 255), 25 * a.y)
    assert b.test[0].shape == (10, 28, 28, 1)
    with pytest.raises(ConfigError, match="data.params.num_examples"):
        loader(seed=1, num_examples=0)


def test_fashion_mnist_from_gzipped_idx_files(keras_home):
    folder = keras_home / "datasets" / "fashion-mnist"
    write_idx(folder, "train", np.arange(12) % 10)
    write_idx(folder, "t10k", np.array([3, 1, 4]))
    data = get_source("fashion_mnist").loader(seed=0)
    assert data.x.shape == (12, 28, 28, 1)
    np.testing.assert_array_equal(data.y, np.arange(12) % 10)
    np.testing.assert_array_equal(np.rint(data.x[:, 4, 4, 0] * 255), 25 * data.y)
    np.testing.assert_array_equal(data.test[1], [3, 1, 4])
    assert data.spec.class_names[0] == "T-shirt/top"
    assert data.spec.class_names[9] == "Ankle boot"


def test_imdb_token_ids_padding_mask_and_labels(put):
    put("imdb", write_imdb)
    data = get_source("imdb").loader(seed=0, vocabulary_size=100, sequence_length=16)
    x, y = data.x, data.y
    assert set(x) == {"token_ids", "padding_mask"}
    assert x["token_ids"].shape == (20, 16) and x["token_ids"].dtype == np.int32
    assert x["padding_mask"].dtype == np.int32 and y.dtype == np.int32
    assert sorted(np.unique(y).tolist()) == [0, 1]
    ids, mask = x["token_ids"], x["padding_mask"]
    # Keras's conventions: 1 starts a review, words are shifted by index_from=3, ids beyond
    # num_words become 2 (OOV); padding is 0 and masked out.
    np.testing.assert_array_equal(ids[:, 0], 1)
    np.testing.assert_array_equal(mask, (ids != 0).astype(np.int32))
    assert ids.max() < 100
    for row in range(len(y)):
        length = int(mask[row].sum())
        expected = [1] + [w + 3 if w < 97 else 2 for w in imdb_review(int(y[row]), 99)]
        np.testing.assert_array_equal(ids[row, :length], expected[:length])
    lengths = mask.sum(axis=1)
    assert lengths.max() == 16 and lengths.min() == 4  # truncated, and padded at the end
    assert data.test[0]["token_ids"].shape == (8, 16)
    assert data.spec.input_kind == "tokens"
    assert data.spec.input_shape == (16,)
    assert data.spec.vocabulary_size == 100 and data.spec.sequence_length == 16
    assert data.spec.num_classes == 2
    assert data.spec.class_names == ["negative", "positive"]


def test_imdb_shuffles_as_keras_does(put):
    """Reviews come in the order of Keras's own IMDB loader (shuffled with seed 113)."""
    path = put("imdb", write_imdb)
    data = get_source("imdb").loader(seed=0, sequence_length=200)
    raw = keras_datasets.load_npz(str(path))
    order = np.arange(20)
    np.random.RandomState(113).shuffle(order)
    np.testing.assert_array_equal(data.y, raw["y_train"][order])
    np.testing.assert_array_equal(data.x["padding_mask"].sum(axis=1), [4 + 5 * i for i in order])


def test_load_data_uses_the_official_test_split(put):
    put("cifar10", write_cifar10)
    splits = load_data("cifar10", validation_split=0.25, seed=3)
    assert len(splits.test[0]) == 6
    assert len(splits.train[0]) + len(splits.validation[0]) == 20
    assert splits.spec.class_names == keras_datasets.CIFAR10_CLASSES


@pytest.mark.parametrize(
    ("name", "fname", "size", "origin"),
    [
        (
            "cifar10",
            "cifar-10-python.tar.gz",
            "170 MB",
            "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        ),
        (
            "mnist",
            "mnist.npz",
            "11 MB",
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
        ),
        (
            "imdb",
            "imdb.npz",
            "17 MB",
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz",
        ),
    ],
)
def test_missing_file_says_which_file_to_put_where(keras_home, name, fname, size, origin):
    offline = {"cifar10": "shapes", "mnist": "digits_images", "imdb": "stdlib_topics"}[name]
    with pytest.raises(DataNotAvailableError) as info:
        get_source(name).loader(seed=0)
    assert str(info.value) == (
        f"{name} is not available offline (NNZOO_OFFLINE=1 is set): put {fname} ({size}, from "
        f"{origin}) in {keras_home}/datasets/, or use an offline source: "
        f"--set data.source={offline}"
    )
    assert "\n" not in info.value.one_line()
    assert list((keras_home / "datasets").iterdir()) == []  # nothing downloaded or created


def test_missing_fashion_files_are_listed(keras_home):
    write_idx(keras_home / "datasets" / "fashion-mnist", "train", np.arange(3))
    with pytest.raises(DataNotAvailableError) as info:
        get_source("fashion_mnist").loader(seed=0)
    assert str(info.value) == (
        "fashion_mnist is not available offline (NNZOO_OFFLINE=1 is set): put "
        "t10k-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz (4.4 MB, from "
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/) in "
        f"{keras_home}/datasets/fashion-mnist/, or use an offline source: "
        "--set data.source=digits_images"
    )


def test_corrupt_cached_file_and_failed_download_give_one_line(put, monkeypatch):
    path = put("mnist", write_mnist)
    dataset = keras_datasets.DATASETS["mnist"]
    (remote,) = dataset.files
    wrong = dataclasses.replace(remote, file_hash=hashlib.sha256(b"other").hexdigest())
    monkeypatch.setitem(
        keras_datasets.DATASETS, "mnist", dataclasses.replace(dataset, files=(wrong,))
    )
    # Offline, a cached file with the wrong hash is refused, not downloaded again.
    with pytest.raises(DataNotAvailableError) as info:
        get_source("mnist").loader(seed=0)
    assert str(info.value).startswith(
        "mnist is not available offline (the cached mnist.npz failed its hash check and "
        f"NNZOO_OFFLINE=1 is set): put mnist.npz (11 MB, from {remote.origin})"
    )
    # Online, get_file downloads it again; its failure is the same line with the reason.
    monkeypatch.delenv("NNZOO_OFFLINE")
    with pytest.raises(DataNotAvailableError) as info:
        get_source("mnist").loader(seed=0)
    message = str(info.value)
    assert message.startswith("mnist is not available offline (download failed: ")
    assert "no network in tests" in message
    assert f"put mnist.npz (11 MB, from {remote.origin})" in message
    assert "\n" not in message
    assert path.exists()  # the cached file is left for the user to look at


#: Per set: its files in the Keras cache, the shape of one example, classes, offline stand-in.
TABLE = {
    "mnist": (["datasets/mnist.npz"], (28, 28, 1), 10, "digits_images"),
    "fashion_mnist": (
        [
            "datasets/fashion-mnist/train-labels-idx1-ubyte.gz",
            "datasets/fashion-mnist/train-images-idx3-ubyte.gz",
            "datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz",
            "datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
        ],
        (28, 28, 1),
        10,
        "digits_images",
    ),
    "cifar10": (["datasets/cifar-10-python.tar.gz"], (32, 32, 3), 10, "shapes"),
    "cifar100": (["datasets/cifar-100-python.tar.gz"], (32, 32, 3), 100, "shapes"),
    "imdb": (["datasets/imdb.npz"], (200,), 2, "stdlib_topics"),
}
WRITERS = {
    "mnist": write_mnist,
    "cifar10": write_cifar10,
    "cifar100": write_cifar100,
    "imdb": write_imdb,
}


def test_the_table_registers_every_set_in_order():
    assert list(keras_datasets.DATASETS) == list(TABLE)
    names = list_sources()
    assert [n for n in names if n in TABLE] == list(TABLE)
    assert names.index("cifar100") == names.index("cifar10") + 1


@pytest.mark.parametrize("name", list(TABLE))
def test_each_table_entry_reads_its_keras_files_into_its_shapes(name, keras_home, put):
    """Each entry names Keras's own cache files and loads them (fixtures, no download)."""
    paths, shape, num_classes, offline = TABLE[name]
    dataset = keras_datasets.DATASETS[name]
    assert [f"{f.cache_subdir}/{f.fname}" for f in dataset.files] == paths
    assert dataset.offline_alternative == offline
    if name == "fashion_mnist":
        folder = keras_home / "datasets" / "fashion-mnist"
        write_idx(folder, "train", np.arange(4))
        write_idx(folder, "t10k", np.arange(2))
    else:
        put(name, WRITERS[name])
    data = get_source(name).loader(seed=0)
    x = data.x["token_ids"] if name == "imdb" else data.x
    assert x.shape[1:] == shape and data.spec.input_shape == shape
    assert data.spec.num_classes == num_classes == len(data.spec.class_names)
    assert data.spec.input_kind == dataset.input_kind == ("tokens" if name == "imdb" else "image")


def test_sources_are_registered_as_online():
    for name, kind in [
        ("mnist", "image"),
        ("fashion_mnist", "image"),
        ("cifar10", "image"),
        ("cifar100", "image"),
        ("imdb", "tokens"),
    ]:
        source = get_source(name)
        assert source.input_kind == kind and not source.offline
        assert source.parameters["num_examples"] is None
    assert get_source("imdb").parameters["vocabulary_size"] == 10000
    assert get_source("imdb").parameters["sequence_length"] == 200
    assert get_source("cifar100").parameters["label_mode"] == "fine"


def test_restricted_unpickler_refuses_code(tmp_path):
    import io
    import pickle
    import tarfile

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.tar.gz"
    data = pickle.dumps({b"data": Evil()}, protocol=3)
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    with pytest.raises(pickle.UnpicklingError, match="builtins.print"):
        keras_datasets.parse_cifar_tarball(str(path))
