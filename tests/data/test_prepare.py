"""What the sources prepare alike: feature scaling inside the model, fitted on the training
split only; images in [0, 1]; NaN refused; the image files read from folders."""

from __future__ import annotations

import numpy as np
import pytest

from nnzoo.data import (
    IMAGE_EXTENSIONS,
    Splits,
    adapt_preprocessing,
    check_finite,
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
