"""``image_folder``, ``npz`` and ``csv`` sources on tiny generated files."""

from __future__ import annotations

import numpy as np
import pytest

from nnzoo.data import ImageFiles, get_source, load_data
from nnzoo.errors import ConfigError

#: One solid colour per class, so every pixel says which folder an image came from.
COLOURS = {"cats": (255, 0, 0), "dogs": (0, 0, 255), "owls": (0, 255, 0)}


def _write_images(root, counts, size=(12, 10)):
    from PIL import Image

    for name, count in counts.items():
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(count):
            target = folder / "nested" if i == 0 else folder  # nested folders count too
            target.mkdir(exist_ok=True)
            ext = "png" if i % 2 else "jpg"
            Image.new("RGB", size, COLOURS[name]).save(target / f"{i}.{ext}")
        (folder / "notes.txt").write_text("not an image")
    return root


def test_image_folder_classes_from_sorted_subfolders(tmp_path):
    root = _write_images(tmp_path / "train", {"owls": 2, "cats": 3, "dogs": 1})
    data = get_source("image_folder").loader(seed=0, path=str(root), image_size=[8, 6])
    assert data.spec.class_names == ["cats", "dogs", "owls"]
    assert data.spec.input_kind == "image" and data.spec.input_shape == (8, 6, 3)
    assert data.spec.num_classes == 3
    assert isinstance(data.x, ImageFiles) and data.x.shape == (6, 8, 6, 3)  # listed, not read
    x = data.x.read()
    assert x.shape == (6, 8, 6, 3) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0
    np.testing.assert_array_equal(data.y, [0, 0, 0, 1, 2, 2])
    colours = np.asarray(list(COLOURS.values())) / 255.0  # cats, dogs, owls (sorted already)
    mean = x.mean(axis=(1, 2))
    np.testing.assert_allclose(mean, colours[data.y], atol=0.03)  # jpg is lossy


def test_image_folder_grayscale_square_and_test_folder(tmp_path):
    root = _write_images(tmp_path / "train", {"cats": 2, "dogs": 2})
    test = _write_images(tmp_path / "test", {"dogs": 1})
    data = get_source("image_folder").loader(
        seed=0, path=str(root), image_size=5, color_mode="grayscale", test_path=str(test)
    )
    assert data.x.read().shape == (4, 5, 5, 1)
    x_test, y_test = data.test
    assert x_test.read().shape == (1, 5, 5, 1)
    np.testing.assert_array_equal(y_test, [1])  # "dogs" is class 1 of the training folder


def test_image_folder_errors_name_the_key(tmp_path):
    loader = get_source("image_folder").loader
    with pytest.raises(ConfigError) as info:
        loader(seed=0, path=str(tmp_path / "missing"))
    assert info.value.key == "data.params.path" and info.value.file is None
    assert str(info.value).startswith("data.params.path: folder not found. Received: path=")
    assert "\n" not in str(info.value) and "Fix:" in str(info.value)
    with pytest.raises(ConfigError, match="data.params.path: is required"):
        loader(seed=0)
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(ConfigError, match="no images"):
        loader(seed=0, path=str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="data.params.color_mode"):
        loader(seed=0, path=str(tmp_path / "empty"), color_mode="cmyk")
    with pytest.raises(ConfigError, match="data.params.image_size"):
        loader(seed=0, path=str(tmp_path / "empty"), image_size=[0, 3])


def test_npz_features_with_test_split_and_class_names(tmp_path):
    path = tmp_path / "data.npz"
    rng = np.random.default_rng(0)
    np.savez(
        path,
        x=rng.normal(size=(20, 5)),
        y=np.arange(20) % 3,
        x_test=rng.normal(size=(4, 5)),
        y_test=np.array([2, 1, 0, 2]),
    )
    data = get_source("npz").loader(seed=0, path=str(path), class_names=["a", "b", "c"])
    assert data.spec.input_kind == "features" and data.spec.input_shape == (5,)
    assert data.x.dtype == np.float32 and data.y.dtype == np.int32
    np.testing.assert_array_equal(data.y, np.arange(20) % 3)
    np.testing.assert_array_equal(data.test[1], [2, 1, 0, 2])
    assert data.test[0].shape == (4, 5)
    assert data.spec.class_names == ["a", "b", "c"] and data.spec.num_classes == 3
    splits = load_data("npz", params={"path": str(path)}, validation_split=0.2, seed=1)
    assert len(splits.test[0]) == 4 and len(splits.train[0]) == 16


def test_npz_images_keras_style_keys_and_string_labels(tmp_path):
    path = tmp_path / "images.npz"
    x = np.zeros((6, 7, 7), dtype=np.uint8)
    x[:3] = 255
    np.savez(path, x_train=x, y_train=np.array(["on", "on", "on", "off", "off", "off"]))
    data = get_source("npz").loader(seed=0, path=str(path))
    assert data.spec.input_kind == "image" and data.spec.input_shape == (7, 7, 1)
    assert data.x.max() == 1.0 and data.x.dtype == np.float32
    assert data.spec.class_names == ["off", "on"]
    np.testing.assert_array_equal(data.y, [1, 1, 1, 0, 0, 0])
    assert data.test is None


def test_npz_tokens_and_errors(tmp_path):
    path = tmp_path / "tokens.npz"
    ids = np.array([[5, 6, 0, 0], [7, 8, 9, 0]])
    np.savez(path, x=ids, y=np.eye(2)[[1, 0]])  # one-hot labels
    data = get_source("npz").loader(seed=0, path=str(path), input_kind="tokens")
    np.testing.assert_array_equal(data.x["padding_mask"], [[1, 1, 0, 0], [1, 1, 1, 0]])
    np.testing.assert_array_equal(data.y, [1, 0])
    assert data.spec.vocabulary_size == 10 and data.spec.sequence_length == 4
    with pytest.raises(ConfigError, match=r"data.params.x_key: .* has no array 'inputs'"):
        get_source("npz").loader(seed=0, path=str(path), x_key="inputs")
    with pytest.raises(ConfigError, match="data.params.path: file not found"):
        get_source("npz").loader(seed=0, path=str(tmp_path / "nope.npz"))


def test_csv_string_labels_header_and_standardize(tmp_path):
    path = tmp_path / "flowers.csv"
    path.write_text(
        "length,width,species\n"
        "1.0,10,versicolor\n"
        "2.0,20,setosa\n"
        "3.0,30,versicolor\n"
        "4.0,40,virginica\n"
    )
    data = get_source("csv").loader(seed=0, path=str(path))
    assert data.spec.class_names == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(data.y, [1, 0, 1, 2])
    assert data.x.shape == (4, 2) and data.x.dtype == np.float32
    # Raw features: the model standardises them (a Normalization layer fitted on train).
    np.testing.assert_allclose(data.x, [[1, 10], [2, 20], [3, 30], [4, 40]])
    assert data.spec.feature_scaling == "standardize"
    table = data.spec.table
    assert (table["columns"], table["label_column"], table["delimiter"], table["label"]) == (
        ["length", "width", "species"],
        2,
        ",",
        "species",
    )
    assert [(f["name"], f["type"]) for f in table["features"]] == [
        ("length", "numeric"),
        ("width", "numeric"),
    ]
    assert data.spec.input_kind == "features" and data.spec.input_shape == (2,)
    by_name = get_source("csv").loader(seed=0, path=str(path), label_column="species")
    np.testing.assert_array_equal(by_name.y, data.y)


def test_csv_without_header_and_errors(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("0,0.5,1\n1,0.25,0\n2,0.75,1\n")
    data = get_source("csv").loader(seed=0, path=str(path), standardize=False)
    np.testing.assert_array_equal(data.y, [1, 0, 1])
    np.testing.assert_allclose(data.x, [[0, 0.5], [1, 0.25], [2, 0.75]])
    assert data.spec.class_names == ["0", "1"]
    by_value = get_source("csv").loader(seed=0, path=str(path), label_column=1)
    assert by_value.spec.task == "regression"  # fractions: a number to predict
    np.testing.assert_array_equal(by_value.y, np.float32([0.5, 0.25, 0.75]))
    as_classes = get_source("csv").loader(
        seed=0, path=str(path), label_column=1, task="classification"
    )
    np.testing.assert_array_equal(as_classes.y, [1, 0, 2])  # classes by value, as asked
    assert as_classes.spec.class_names == ["0.25", "0.5", "0.75"]
    loader = get_source("csv").loader
    with pytest.raises(ConfigError, match="data.params.label_column: no column 'kind'"):
        loader(seed=0, path=str(path), label_column="kind")
    with pytest.raises(ConfigError, match="data.params.label_column"):
        loader(seed=0, path=str(path), label_column=3)
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,x,yes\n2,3,no\n3,4,yes\n")
    with pytest.raises(ConfigError, match="bad.csv line 2: feature 'b' is 'x', not a number"):
        loader(seed=0, path=str(bad))
    with pytest.raises(ConfigError) as info:
        loader(seed=0, path="missing.csv")
    assert info.value.key == "data.params.path" and "\n" not in str(info.value)


def test_file_sources_are_offline_and_describe_params():
    assert get_source("csv").parameters["label_column"] == -1
    assert get_source("npz").parameters["x_key"] == "x"
    params = get_source("image_folder").parameters
    assert params["image_size"] == 32 and params["color_mode"] == "rgb"
    assert all(get_source(n).offline for n in ("csv", "npz", "image_folder"))
