"""ViT: published parameter counts, a class token broadcast over any batch, patch checks."""

from __future__ import annotations

import numpy as np
import pytest

from nnzoo.errors import ConfigError
from nnzoo.registry import build_model, get_card


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("vit_b16", 86_567_656),  # timm vit_base_patch16_224, 1000 classes
        ("vit_small", 22_050_664),  # timm vit_small_patch16_224 / DeiT-S, 1000 classes
    ],
)
def test_standard_sizes_have_the_published_parameter_count(name, expected):
    assert build_model(name).count_params() == expected


def test_vit_tiny_is_cpu_sized():
    card = get_card("vit_tiny")
    assert card.defaults["input_shape"] == (32, 32, 3)
    assert card.defaults["num_classes"] == 10
    assert build_model("vit_tiny").count_params() == 809_354


@pytest.fixture(scope="module")
def vit():
    return build_model("vit_tiny", dropout=0.0)


@pytest.mark.parametrize("batch_size", [1, 2, 7])
def test_each_image_gets_the_same_logits_in_any_batch(vit, batch_size):
    # The class token is one learned vector broadcast over the batch: an image's logits do not
    # depend on the batch size or on the other images in it.
    rng = np.random.default_rng(batch_size)
    images = rng.uniform(size=(batch_size, 32, 32, 3)).astype("float32")
    batch = np.asarray(vit(images, training=False))
    assert batch.shape == (batch_size, 10)
    alone = np.asarray(vit(images[-1:], training=False))
    np.testing.assert_allclose(batch[-1:], alone, atol=1e-5)


def test_layers_have_structured_names(vit):
    names = {layer.name for layer in vit.layers}
    assert {"images", "patch_embedding", "class_token", "position_embedding", "layer_norm"} <= (
        names
    )
    assert {f"transformer_layer_{i}" for i in range(4)} <= names
    # One position per patch (8 x 8) plus the class token.
    assert vit.get_layer("position_embedding").embeddings.shape == (65, 128)


def test_patch_size_must_divide_the_image():
    with pytest.raises(ConfigError) as err:
        build_model("vit_tiny", input_shape=(30, 30, 3))
    assert str(err.value) == (
        "params.input_shape: The image height and width must be multiples of `patch_size`. "
        "Received: input_shape=(30, 30, 3), patch_size=4. Fix: use images whose sides are "
        "multiples of 4, or a patch_size that divides 30 (e.g. 2, 3 or 5)"
    )


def test_hidden_dim_must_be_a_multiple_of_num_heads():
    with pytest.raises(ConfigError) as err:
        build_model("vit_tiny", hidden_dim=130)
    assert str(err.value) == (
        "params.hidden_dim: `hidden_dim` must be a positive multiple of `num_heads`. "
        "Received: hidden_dim=130, num_heads=4. Fix: use a hidden_dim that is a multiple of "
        "num_heads=4, e.g. 128 or 132"
    )


def test_non_square_images_are_supported():
    model = build_model("vit_tiny", input_shape=(16, 32, 1), num_classes=2)
    out = np.asarray(model(np.zeros((2, 16, 32, 1), dtype="float32")))
    assert out.shape == (2, 1)
