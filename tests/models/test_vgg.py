"""vgg16 / vgg16_transfer: published count, in-model preprocessing, weights and freezing."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest

from nnzoo.errors import ConfigError, DataNotAvailableError
from nnzoo.models import vgg
from nnzoo.registry import build_model

#: VGG16 (configuration D) at 224x224x3 with 1000 classes, as keras.applications reports it.
PUBLISHED_VGG16 = 138_357_544
#: The convolutional base (include_top=False).
VGG16_BASE = 14_714_688
#: The transfer head at 10 classes: Dense 256 (512 * 256 + 256) + logits (256 * 10 + 10).
TRANSFER_HEAD = 131_328 + 2_570


IMAGENET = "imagenet"  # served from a local fixture file: nothing downloads


def trainable_params(model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_vgg16_has_the_published_parameter_count():
    model = build_model("vgg16")
    assert model.count_params() == PUBLISHED_VGG16
    assert model.output.shape[1:] == (1000,)


def test_preprocessing_matches_keras_vgg16_preprocess_input():
    from keras.applications.vgg16 import preprocess_input

    model = build_model("vgg16_transfer")
    x = np.random.default_rng(0).uniform(size=(2, 32, 32, 3)).astype("float32")
    actual = np.asarray(model.get_layer("vgg_preprocess")(x))
    np.testing.assert_allclose(actual, preprocess_input(x * 255.0), atol=1e-4)


def test_transfer_base_is_frozen_by_default():
    model = build_model("vgg16_transfer")
    assert model.count_params() == VGG16_BASE + TRANSFER_HEAD
    assert trainable_params(model) == TRANSFER_HEAD
    assert model.get_layer("vgg16").trainable is False


def test_fine_tune_from_block5_trains_only_block5_and_the_head():
    model = build_model("vgg16_transfer", fine_tune_from="block5")
    block5 = 3 * (3 * 3 * 512 * 512 + 512)  # three 3x3 convolutions of 512 filters
    assert trainable_params(model) == block5 + TRANSFER_HEAD
    base = model.get_layer("vgg16")
    assert base.get_layer("block4_conv3").trainable is False
    assert base.get_layer("block5_conv1").trainable is True


def test_resize_to_resizes_inside_the_model():
    model = build_model("vgg16_transfer", input_shape=(16, 16, 3), resize_to=64)
    assert model.get_layer("resize").output.shape[1:] == (64, 64, 3)
    assert model.get_layer("vgg16").output.shape[1:] == (2, 2, 512)
    assert tuple(model(np.zeros((1, 16, 16, 3), "float32")).shape) == (1, 10)


def test_weights_from_a_local_file_are_loaded(tmp_path):
    import keras

    keras.utils.set_random_seed(123)
    source = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = tmp_path / "vgg16_base.weights.h5"
    source.save_weights(path)
    model = build_model("vgg16_transfer", weights=str(path))
    loaded = model.get_layer("vgg16").get_weights()
    for expected, actual in zip(source.get_weights(), loaded, strict=True):
        np.testing.assert_array_equal(actual, expected)


def test_imagenet_weights_from_the_keras_cache(tmp_path, monkeypatch):
    """With the Keras file in $KERAS_HOME/models, 'imagenet' loads it (no download)."""
    import h5py
    import keras
    from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

    keras.utils.set_random_seed(7)
    source = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    (tmp_path / "models").mkdir()
    with h5py.File(
        tmp_path / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "w"
    ) as f:
        save_weights_to_hdf5_group(f, source)  # the legacy format of Keras' ImageNet files
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    # The cached file is hash-checked: register the fixture's md5 instead of the real one.
    real = vgg.IMAGENET_FILES[False]
    digest = hashlib.md5((tmp_path / "models" / real.fname).read_bytes()).hexdigest()
    monkeypatch.setitem(vgg.IMAGENET_FILES, False, dataclasses.replace(real, file_hash=digest))
    model = build_model("vgg16_transfer", weights=IMAGENET)
    np.testing.assert_array_equal(
        model.get_layer("vgg16").get_layer("block1_conv1").get_weights()[0],
        source.get_layer("block1_conv1").get_weights()[0],
    )


def test_imagenet_weights_offline_say_which_file_to_put_where(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(DataNotAvailableError) as info:
        build_model("vgg16_transfer", weights=IMAGENET)
    message = info.value.one_line()
    assert message == (
        "VGG16 ImageNet weights are not available offline (NNZOO_OFFLINE=1 is set): put "
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 (59 MB, from https://storage."
        "googleapis.com/tensorflow/keras-applications/vgg16/vgg16_weights_tf_dim_ordering_tf_"
        f"kernels_notop.h5) in {tmp_path}/models/, or train from a random initialisation: "
        "--set model.params.weights=null"
    )
    with pytest.raises(DataNotAvailableError, match="vgg16_weights_tf_dim_ordering_tf_kernels.h5"):
        build_model("vgg16", weights=IMAGENET)


def test_a_missing_weights_file_is_a_config_error(tmp_path):
    missing = tmp_path / "nope.weights.h5"
    with pytest.raises(ConfigError, match="model.params.weights: weights file not found"):
        build_model("vgg16_transfer", weights=str(missing))


def test_outputs_are_logits():
    model = build_model("vgg16_transfer", num_classes=2)
    assert model.output.shape[1:] == (1,)
    assert model.get_layer("logits").activation.__name__ == "linear"
