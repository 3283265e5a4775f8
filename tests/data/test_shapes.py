"""The generated ``shapes`` images and ``digits_images``: deterministic, balanced, learnable."""

from __future__ import annotations

import time

import numpy as np

from nnzoo.data import get_source, load_data
from nnzoo.data.images import SHAPE_CLASSES, make_shapes


def test_shapes_are_float_images_in_the_unit_range():
    x, y = make_shapes(100, seed=0)
    assert x.shape == (100, 32, 32, 3)
    assert x.dtype == np.float32 and y.dtype == np.int32
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert set(np.unique(y)) == set(range(10))


def test_shapes_are_deterministic_from_the_seed():
    x1, y1 = make_shapes(50, seed=3)
    x2, y2 = make_shapes(50, seed=3)
    x3, _ = make_shapes(50, seed=4)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1, x3)


def test_classes_are_balanced():
    _, y = make_shapes(2500, seed=42)
    assert np.bincount(y).tolist() == [250] * 10
    _, y = make_shapes(1003, seed=42)
    assert sorted(np.bincount(y).tolist()) == [100] * 7 + [101] * 3


def test_colour_is_the_class_colour():
    """Red classes (0-4) draw red on grey, blue classes (5-9) blue: per image, mean R - B."""
    x, y = make_shapes(200, seed=1)
    red_minus_blue = (x[..., 0] - x[..., 2]).mean(axis=(1, 2))
    assert np.all(red_minus_blue[y < 5] > 0.01)
    assert np.all(red_minus_blue[y >= 5] < -0.01)


def test_generation_is_fast():
    start = time.perf_counter()
    make_shapes(2500, seed=0)
    assert time.perf_counter() - start < 1.0


def test_source_describes_itself_and_splits():
    source = get_source("shapes")
    assert source.offline and source.input_kind == "image"
    assert source.parameters == {"num_examples": 2500, "image_size": 32}
    splits = load_data("shapes", seed=42)
    assert splits.spec.input_shape == (32, 32, 3)
    assert splits.spec.num_classes == 10
    assert splits.spec.class_names == SHAPE_CLASSES
    assert len(splits.train[0]) == 1800 and len(splits.validation[0]) == 200
    assert len(splits.test[0]) == 500
    small = load_data("shapes", params={"image_size": 24, "num_examples": 100}, seed=0)
    assert small.spec.input_shape == (24, 24, 3)
    assert small.train[0].shape[1:] == (24, 24, 3)


def test_a_small_cnn_learns_shapes():
    """Five epochs of a small CNN reach well above chance (0.1) on the held-out test split."""
    import keras

    from nnzoo.registry import build_model

    keras.utils.set_random_seed(0)
    splits = load_data("shapes", seed=42)
    model = build_model(
        "cnn_cifar",
        filters=(16, 32),
        convs_per_block=(1, 1),
        dense_units=64,
        dropout=0.0,
        head_dropout=0.0,
    )
    model.compile(
        keras.optimizers.Adam(3e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(*splits.train, epochs=5, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(*splits.test, verbose=0)
    assert accuracy > 0.6


def test_digits_images_are_the_digits_enlarged():
    from sklearn.datasets import load_digits

    data = get_source("digits_images").loader(seed=0)
    assert data.x.shape == (1797, 32, 32, 1)
    assert data.spec.input_shape == (32, 32, 1) and data.spec.num_classes == 10
    digits = load_digits()
    # Each 8x8 pixel becomes a 4x4 block.
    np.testing.assert_allclose(data.x[5, ::4, ::4, 0], digits.images[5] / 16.0)
    np.testing.assert_array_equal(data.y, digits.target)
