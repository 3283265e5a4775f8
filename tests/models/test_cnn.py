"""cnn_cifar: the seed's CIFAR-10 CNN, with logits."""

from __future__ import annotations

import numpy as np
import pytest

from nnzoo.errors import ConfigError
from nnzoo.registry import build_model, get_card

#: The seed's Sequential CNN at 32x32x3 with 10 classes: 896 + 9,248 + 18,496 + 36,928 + 73,856
#: (convolutions) + 66,048 (Dense 512) + 5,130 (Dense 10).
SEED_CNN_PARAMS = 210_602


def seed_cnn():
    """The seed's model, layer for layer (softmax included), to count its parameters."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=(32, 32, 3)),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Dropout(0.25),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Dropout(0.25),
            layers.Conv2D(128, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(512, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ]
    )


def test_parameter_count_equals_the_seed_model():
    model = build_model("cnn_cifar")
    assert seed_cnn().count_params() == SEED_CNN_PARAMS
    assert model.count_params() == SEED_CNN_PARAMS


def test_layer_shapes_follow_the_seed_valid_padding():
    model = build_model("cnn_cifar")
    # 32 -> 30 -> 28 -> pool 14 -> 12 -> 10 -> pool 5 -> 3 -> pool 1
    assert model.get_layer("block1_pool").output.shape[1:] == (14, 14, 32)
    assert model.get_layer("block2_pool").output.shape[1:] == (5, 5, 64)
    assert model.get_layer("block3_pool").output.shape[1:] == (1, 1, 128)
    assert model.input.name == "images"


def test_outputs_are_logits():
    model = build_model("cnn_cifar", num_classes=2)
    head = model.get_layer("logits")
    assert head.units == 1  # one logit for a binary task
    assert head.activation.__name__ == "linear"
    x = np.random.default_rng(0).uniform(size=(3, 32, 32, 3)).astype("float32")
    logits = np.asarray(build_model("cnn_cifar")(x, training=False))
    assert not np.allclose(logits.sum(axis=1), 1.0)  # not a softmax


def test_batch_norm_drops_the_redundant_biases():
    model = build_model("cnn_cifar", batch_norm=True)
    assert model.get_layer("block1_conv1").use_bias is False
    assert model.get_layer("block1_conv1_bn") is not None
    # 210,602 - 5 * conv biases (32 + 32 + 64 + 64 + 128) - 512 dense bias + 4 * BN sizes
    assert model.count_params() == 210_602 - 320 - 512 + 4 * (320 + 512)


def test_l2_adds_a_penalty_per_kernel():
    model = build_model("cnn_cifar", l2=1e-4)
    model(np.zeros((1, 32, 32, 3), "float32"))
    assert len(model.losses) == 7  # 5 convolutions, Dense 512, logits


def test_too_small_images_are_rejected_with_the_value():
    with pytest.raises(ConfigError) as err:
        build_model("cnn_cifar", input_shape=(8, 8, 3))
    assert str(err.value) == (
        "params.input_shape: `input_shape` is too small for 3 blocks with 'valid' padding. "
        "Received: input_shape=(8, 8, 3). Fix: use larger images, padding: same or fewer blocks"
    )


def test_card():
    card = get_card("cnn_cifar")
    assert card.input_kind == "image"
    assert card.defaults["input_shape"] == (32, 32, 3)
    assert card.defaults["num_classes"] == 10
