"""What the sources prepare alike: feature scaling inside the model, fitted on the training
split only; images in [0, 1]; NaN refused; the image files read from folders."""

from __future__ import annotations

import numpy as np
import pytest

from nnzoo.data import (
    IMAGE_EXTENSIONS,
    Listing,
    Splits,
    adapt_preprocessing,
    check_finite,
    feature_moments,
    get_source,
    image_array,
    load_data,
)
from nnzoo.errors import ConfigError


def test_tabular_sources_yield_raw_features_and_ask_the_model_to_scale_them():
    iris = get_source("iris").loader(seed=0)
    np.testing.assert_allclose(iris.x[0], [5.1, 3.5, 1.4, 0.2], rtol=1e-6)
    assert iris.spec.feature_scaling == "standardize"
    assert get_source("iris").loader(seed=0, standardize=False).spec.feature_scaling is None
    digits = get_source("digits").loader(seed=0)
    assert digits.x.max() == 16.0 and digits.spec.feature_scaling == [0.0, 16.0]
    assert get_source("xor").loader(seed=0).spec.feature_scaling is None  # gates: as they are


def _mlp(spec, **params):
    from nnzoo.registry import build_model

    return build_model("mlp", input_shape=spec.input_shape, num_classes=spec.num_classes, **params)


def test_the_model_standardises_with_the_training_split_statistics_only():
    splits = load_data("wine", seed=0)
    model = _mlp(splits.spec, feature_normalization=True)
    adapt_preprocessing(model, splits)
    layer = model.get_layer("feature_normalization")
    train = splits.train[0].astype("float64")
    np.testing.assert_allclose(layer.adapt_mean.numpy(), train.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(layer.adapt_variance.numpy(), train.var(axis=0), rtol=1e-4)
    everything = np.concatenate([splits.train[0], splits.validation[0], splits.test[0]])
    assert not np.allclose(layer.adapt_mean.numpy(), everything.mean(axis=0), rtol=1e-3)
    scaled = np.asarray(layer(splits.train[0]))
    np.testing.assert_allclose(scaled.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(scaled.std(axis=0), 1.0, atol=1e-3)


def test_a_constant_training_feature_is_centred_not_blown_up():
    x = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]], dtype="float32")
    spec = get_source("iris").loader(seed=0).spec
    spec.input_shape, spec.num_classes = (2,), 3
    model = _mlp(spec, feature_normalization=True)
    adapt_preprocessing(model, Splits((x, None), None, (x, None), spec))
    out = np.asarray(model.get_layer("feature_normalization")(np.array([[3.0, 6.0]])))
    np.testing.assert_allclose(out, [[0.0, 1.0]], atol=1e-6)  # 6 - 5, unscaled


class Rows(Listing):
    """An array behind a listing, recording how many rows each read asks for."""

    def __init__(self, x, reads=None):
        self.x, self.reads = x, [] if reads is None else reads
        self.example_shape = x.shape[1:]

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        return Rows(self.x[index], self.reads)

    def read(self, rows=None):
        rows = np.arange(len(self)) if rows is None else rows
        self.reads.append(len(rows))
        return self.x[rows]


def todays_statistics(x):
    """adapt_preprocessing before it streamed: float64, the whole split at once."""
    x = np.asarray(x, dtype="float64").reshape(len(x), -1)
    mean, variance = x.mean(axis=0), x.var(axis=0)
    return mean, np.where(variance > 0, variance, 1.0)


def _offset_with_constants():
    rng = np.random.default_rng(0)
    x = rng.normal(1e6, 3.0, size=(5000, 4))  # a large mean: a one-pass sum of squares fails
    x[:, 1] = 7.0  # constant
    x[:, 2] = rng.integers(0, 2, size=5000)
    return x.astype("float32")


@pytest.mark.parametrize("rows", [1, 7, 4096])
@pytest.mark.parametrize("name", ["digits", "iris", "wine", "breast_cancer", "offset"])
def test_feature_moments_equal_todays_statistics_in_one_streaming_pass(name, rows):
    """Chunk by chunk (Chan's merge), in float64: within 1e-9 of the whole-split mean and
    variance, whatever the chunk; a constant feature keeps variance 1."""
    x = _offset_with_constants() if name == "offset" else load_data(name, seed=0).train[0]
    listed = Rows(x)
    mean, variance = feature_moments(listed, rows=rows)
    want_mean, want_variance = todays_statistics(x)
    np.testing.assert_allclose(mean, want_mean, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(variance, want_variance, rtol=1e-9, atol=1e-9)
    assert max(listed.reads) == min(rows, len(x)) and sum(listed.reads) == len(x)
    if name == "offset":
        assert variance[1] == 1.0


def test_adapt_preprocessing_reads_the_training_split_a_chunk_at_a_time():
    splits = load_data("wine", seed=0)
    x = splits.train[0]
    reads = []
    streamed = Splits((Rows(x, reads), splits.train[1]), None, splits.test, splits.spec)
    model = _mlp(splits.spec, feature_normalization=True)
    adapt_preprocessing(model, streamed)
    assert reads == [len(x)]  # 127 rows: one chunk of at most MOMENT_ROWS
    layer = model.get_layer("feature_normalization")
    mean, variance = todays_statistics(x)
    np.testing.assert_allclose(layer.adapt_mean.numpy(), mean.astype("float32"), rtol=1e-7)
    np.testing.assert_allclose(layer.adapt_variance.numpy(), variance.astype("float32"), rtol=1e-7)


def test_image_sources_have_nothing_to_learn_and_read_nothing(image_folder):
    """Image models normalise inside themselves with fixed statistics (VGG16's caffe means,
    ResNet's ImageNet ones, ViT's rescaling): no image is read to adapt anything."""
    splits = load_data("image_folder", params={"path": str(image_folder), "image_size": 8})
    assert splits.spec.feature_scaling is None
    model = _mlp(splits.spec, feature_normalization=True)  # even a model with the layer
    splits.train = (Rows(np.zeros((3, 8, 8, 3))), splits.train[1])
    adapt_preprocessing(model, splits)
    assert splits.train[0].reads == []


def test_digits_are_mapped_from_0_16_to_0_1_exactly_as_before():
    splits = load_data("digits", seed=0)
    model = _mlp(splits.spec, feature_normalization=True)
    adapt_preprocessing(model, splits)
    out = np.asarray(model.get_layer("feature_normalization")(splits.test[0]))
    np.testing.assert_array_equal(out, splits.test[0] / np.float32(16.0))


def test_the_statistics_are_saved_in_model_keras(tmp_path):
    import keras

    splits = load_data("wine", seed=0)
    model = _mlp(splits.spec, feature_normalization=True)
    adapt_preprocessing(model, splits)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(
        again.predict(splits.test[0], verbose=0), model.predict(splits.test[0], verbose=0)
    )


def test_image_array_scales_8_bit_images_and_keeps_floats():
    x = np.array([[[0, 255], [51, 102]]], dtype="uint8")
    out = image_array(x)
    assert out.shape == (1, 2, 2, 1) and out.dtype == np.float32
    np.testing.assert_allclose(out[0, :, :, 0], [[0.0, 1.0], [0.2, 0.4]], rtol=1e-6)
    floats = np.full((1, 2, 2, 3), 0.5, dtype="float64")
    np.testing.assert_array_equal(image_array(floats), floats.astype("float32"))


def test_check_finite_names_the_first_bad_cell():
    x = np.ones((4, 3))
    x[2, 1] = np.nan
    with pytest.raises(ConfigError) as info:
        check_finite(x, "d.npz array 'x'")
    assert str(info.value) == (
        "data.params.path: d.npz array 'x' row 2: column 1 is nan, not a finite number. "
        "Fix: fill in or drop the missing values (nnzoo does not impute)"
    )
    x[2, 1] = 1.0
    x[3, 0] = -np.inf
    with pytest.raises(ConfigError, match="t.csv line 9: feature 'a' is -inf, not a finite"):
        check_finite(
            x, "t.csv", rows=[2, 3, 5, 9], columns=["'a'", "'b'", "'c'"], column_word="feature"
        )


def test_image_extensions_are_those_keras_reads_from_a_folder():
    from keras.src.utils.image_dataset_utils import ALLOWLIST_FORMATS

    assert IMAGE_EXTENSIONS == ALLOWLIST_FORMATS == (".bmp", ".gif", ".jpeg", ".jpg", ".png")
