"""Image presets (ViT, ResNet, VGG16): a tiny KerasHub image classifier with random weights,
saved to a local directory by KerasHub, loaded by nnzoo; raw [0, 1] images of another size
than the preset's through both full pipelines (KerasHub's task with its preprocessor, nnzoo's
model with the preprocessing inside) give the same class logits."""

from __future__ import annotations

import keras
import keras_hub
import numpy as np
import pytest

import nnzoo
import nnzoo.layers
import nnzoo.run.saving
from nnzoo import pretrained
from nnzoo.errors import ConfigError
from nnzoo.layers.image_preprocess import ImagePreprocess
from nnzoo.pretrained import resnet as resnet_adapter
from nnzoo.pretrained import vgg as vgg_adapter
from nnzoo.pretrained import vit as vit_adapter
from nnzoo.pretrained._images import converter_params
from nnzoo.registry import build_model, get_card

ATOL = 1e-4
#: torchvision's ImageNet statistics as KerasHub's timm converter writes them (0-255 scale).
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
TORCH_SCALE = [1 / 255 / s for s in STD]
TORCH_OFFSET = [-m / s for m, s in zip(MEAN, STD, strict=True)]


def _randomise(model, seed):
    """He-normal convolution and Dense kernels (a deep ReLU stack keeps its signal, so the
    logits depend on the image), and random values for what initialises to a constant
    (biases, norms, moving statistics), so every copied tensor shows in the outputs."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        value = np.asarray(variable.numpy())
        if variable.path.endswith("moving_variance"):
            value = rng.uniform(0.5, 1.5, size=value.shape)
        elif variable.path.endswith("kernel") and value.ndim in (2, 4):
            fan_in = int(np.prod(value.shape[:-1]))
            value = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=value.shape)
        elif value.size and np.all(value == value.flat[0]):
            scale = 0.02 if variable.path.endswith("bias") else 0.1
            value = value + rng.normal(0.0, scale, size=value.shape)
        variable.assign(value.astype(variable.dtype))


def _images(height=40, width=48, batch_size=3, seed=0):
    return (
        np.random.default_rng(seed).uniform(size=(batch_size, height, width, 3)).astype("float32")
    )


def _keras_hub_logits(preset, images):
    """KerasHub's full pipeline: its task with its preprocessor, on 0-255 images."""
    task = keras_hub.models.ImageClassifier.from_preset(str(preset))
    return np.asarray(task.predict(images * 255.0, batch_size=len(images), verbose=0))


@pytest.fixture(scope="module")
def resnet_preset(tmp_path_factory):
    """A ResNet (stages of 2 and 1 basic blocks, 64 and 96 filters, 5 classes) whose converter
    resizes bicubically to 32x32 without cropping and normalises with ImageNet's mean and std."""
    keras.utils.set_random_seed(4)
    backbone = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[7],
        stackwise_num_filters=[64, 96],
        stackwise_num_blocks=[2, 1],
        stackwise_num_strides=[1, 2],
        block_type="basic_block",
    )
    converter = keras_hub.layers.ResNetImageConverter(
        image_size=(32, 32),
        scale=TORCH_SCALE,
        offset=TORCH_OFFSET,
        interpolation="bicubic",
        crop_to_aspect_ratio=False,
    )
    task = keras_hub.models.ResNetImageClassifier(
        backbone=backbone,
        num_classes=5,
        preprocessor=keras_hub.models.ResNetImageClassifierPreprocessor(converter),
    )
    _randomise(task, 4)
    folder = tmp_path_factory.mktemp("presets") / "resnet_tiny"
    task.save_to_preset(str(folder))
    return folder


@pytest.fixture(scope="module")
def vgg_preset(tmp_path_factory):
    """VGG16 at 32x32 with the flatten head (fc1, fc2 of 4096) and 5 classes; its converter
    normalises RGB with ImageNet's mean and std as KerasHub's VGG presets do."""
    keras.utils.set_random_seed(5)
    backbone = keras_hub.models.VGGBackbone(
        stackwise_num_repeats=[2, 2, 3, 3, 3],
        stackwise_num_filters=[64, 128, 256, 512, 512],
        image_shape=(32, 32, 3),
    )
    converter = keras_hub.layers.VGGImageConverter(
        image_size=(32, 32), scale=TORCH_SCALE, offset=TORCH_OFFSET
    )
    task = keras_hub.models.VGGImageClassifier(
        backbone=backbone,
        num_classes=5,
        pooling="flatten",
        preprocessor=keras_hub.models.VGGImageClassifierPreprocessor(converter),
    )
    _randomise(task, 5)
    folder = tmp_path_factory.mktemp("presets") / "vgg16_tiny"
    task.save_to_preset(str(folder))
    return folder


# --------------------------------------------------------------------------- parity


@pytest.mark.parametrize(
    ("name", "preset_fixture", "expected_tensors"),
    [
        # class token, patch conv 2, positions 1, 2 layers x 16, final norm 2, head 2
        ("vit_b16", "vit_preset", 1 + 2 + 1 + 2 * 16 + 2 + 2),
        # stem conv 1 + BN 4; blocks 2 x (2 conv + 2 BN) and 1 x projected; head 2
        ("resnet18", "resnet_preset", 5 + 2 * 10 + 15 + 2),
        # 13 convolutions x 2, fc1, fc2, predictions x 2
        ("vgg16", "vgg_preset", 26 + 6),
    ],
)
def test_preset_gives_keras_hubs_logits_from_raw_images(
    name, preset_fixture, expected_tensors, request
):
    preset = request.getfixturevalue(preset_fixture)
    images = _images()  # 40x48: not the preset's 32x32, and another aspect ratio
    value = f"keras_hub:{preset}"
    model = nnzoo.build_model(name, weights=value, input_shape=(40, 48, 3), num_classes=5)

    expected = _keras_hub_logits(preset, images)
    actual = np.asarray(model(images))
    assert actual.shape == (3, 5)
    np.testing.assert_allclose(actual, expected, atol=ATOL)
    # Logits that depend on the image, not a constant that any copy of the head matches.
    assert expected.std(axis=0).mean() > 0.05

    info = pretrained.load_weights(model, value)
    assert info["tensors"] == expected_tensors == len(model.weights)


def test_a_head_for_other_classes_stays_fresh(resnet_preset):
    model = nnzoo.build_model(
        "resnet18", weights=f"keras_hub:{resnet_preset}", input_shape=(40, 48, 3), num_classes=3
    )
    fresh = [w.numpy().copy() for w in model.get_layer("logits").weights]
    info = pretrained.load_weights(model, f"keras_hub:{resnet_preset}")
    assert info["tensors"] == len(model.weights) - 2
    assert model.get_layer("logits").kernel.shape == (96, 3)
    for before, after in zip(fresh, model.get_layer("logits").weights, strict=True):
        np.testing.assert_array_equal(after.numpy(), before)


def test_the_preset_fixes_the_sizes_and_the_preprocessing(resnet_preset, vit_preset):
    task = keras_hub.models.ImageClassifier.from_preset(str(resnet_preset))
    params = resnet_adapter.to_params(task.backbone.get_config())
    assert params == {"num_blocks": (2, 1), "num_filters": (64, 96), "stem": "imagenet"}
    pre = converter_params(task.preprocessor.image_converter)
    np.testing.assert_allclose(pre.pop("pixel_scale"), TORCH_SCALE, rtol=1e-6)
    np.testing.assert_allclose(pre.pop("pixel_offset"), TORCH_OFFSET, rtol=1e-6)
    assert pre == {
        "image_size": (32, 32),
        "interpolation": "bicubic",
        "crop_to_aspect_ratio": False,
        "antialias": False,
    }
    vit = keras_hub.models.ImageClassifier.from_preset(str(vit_preset)).backbone
    assert vit_adapter.to_params(vit.get_config()) == {
        "patch_size": 8,
        "num_layers": 2,
        "num_heads": 2,
        "hidden_dim": 32,
        "intermediate_dim": 64,
        "layer_norm_epsilon": 1e-6,
        "image_size": (32, 32),
    }


def test_a_preset_model_saves_and_loads_with_its_preprocessing(vit_preset, tmp_path):
    model = nnzoo.build_model(
        "vit_b16", weights=f"keras_hub:{vit_preset}", input_shape=(40, 48, 3), num_classes=5
    )
    assert isinstance(model.get_layer("preprocess"), ImagePreprocess)
    model.save(tmp_path / "model.keras")
    # A fresh process registers nnzoo's layers through nnzoo.layers (training.saving).
    assert nnzoo.layers.ImagePreprocess is ImagePreprocess
    loaded = nnzoo.run.saving.load_model(tmp_path / "model.keras")
    images = _images(seed=1)
    np.testing.assert_allclose(np.asarray(loaded(images)), np.asarray(model(images)), atol=1e-6)


# --------------------------------------------------------------------------- refusals


def _resnet_config(**changes):
    config = dict(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[7],
        stackwise_num_filters=[64, 128, 256, 512],
        stackwise_num_blocks=[2, 2, 2, 2],
        stackwise_num_strides=[1, 2, 2, 2],
        block_type="basic_block",
        use_pre_activation=False,
        image_shape=[None, None, 3],
    )
    return {**config, **changes}


def test_resnet_18_config_is_nnzoos_resnet18():
    params = resnet_adapter.to_params(_resnet_config())
    assert params == {
        "num_blocks": (2, 2, 2, 2),
        "num_filters": (64, 128, 256, 512),
        "stem": "imagenet",
    }
    assert get_card("resnet18").presets == ("resnet_18_imagenet",)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            dict(block_type="basic_block_vd", input_conv_filters=[32, 32, 64]),
            "nnzoo's resnet reproduces basic-block ResNets (ResNet-18/34); ResNet-vd and "
            "bottleneck presets are not supported. Received: block_type='basic_block_vd'",
        ),
        (
            dict(block_type="bottleneck_block"),
            "nnzoo's resnet reproduces basic-block ResNets (ResNet-18/34); ResNet-vd and "
            "bottleneck presets are not supported. Received: block_type='bottleneck_block'",
        ),
        (
            dict(use_pre_activation=True),
            "nnzoo's resnet is the post-activation ResNet (v1). Received: use_pre_activation=True",
        ),
    ],
)
def test_other_resnets_are_refused(changes, message):
    with pytest.raises(ValueError) as err:
        resnet_adapter.to_params(_resnet_config(**changes))
    assert str(err.value) == message


def test_a_vit_without_class_token_is_refused():
    config = dict(
        image_shape=[224, 224, 3],
        patch_size=[16, 16],
        num_layers=12,
        num_heads=12,
        hidden_dim=768,
        mlp_dim=3072,
        use_class_token=False,
    )
    with pytest.raises(ValueError) as err:
        vit_adapter.to_params(config)
    assert str(err.value) == (
        "nnzoo's ViT classifies from a class token. Received: use_class_token=False"
    )


def test_vgg19_is_refused_and_vgg16_fits():
    vgg16 = dict(
        stackwise_num_repeats=[2, 2, 3, 3, 3], stackwise_num_filters=[64, 128, 256, 512, 512]
    )
    assert vgg_adapter.to_params({**vgg16, "image_shape": [None, None, 3]}) == {}
    with pytest.raises(ValueError) as err:
        vgg_adapter.to_params({**vgg16, "stackwise_num_repeats": [2, 2, 4, 4, 4]})
    assert str(err.value) == (
        "nnzoo's vgg16 is VGG16 (convolutions per block [2, 2, 3, 3, 3], filters "
        "[64, 128, 256, 512, 512]); VGG11/13/19 presets are not in the catalog. "
        "Received: stackwise_num_repeats=[2, 2, 4, 4, 4], "
        "stackwise_num_filters=[64, 128, 256, 512, 512]"
    )


def test_adapters_name_their_licences():
    assert pretrained.licence_of("vit") == "Apache-2.0"
    assert pretrained.licence_of("resnet") == "Apache-2.0"
    assert pretrained.licence_of("vgg") == (
        "Apache-2.0 (KerasHub); ImageNet weights for non-commercial research"
    )


# --------------------------------------------------------------------------- preprocessing


@pytest.mark.parametrize(
    ("interpolation", "crop", "antialias"),
    [("bilinear", True, False), ("bicubic", False, False), ("bilinear", False, True)],
)
def test_image_preprocess_is_keras_hubs_image_converter(interpolation, crop, antialias):
    converter = keras_hub.layers.ImageConverter(
        image_size=(24, 20),
        scale=TORCH_SCALE,
        offset=TORCH_OFFSET,
        interpolation=interpolation,
        crop_to_aspect_ratio=crop,
        antialias=antialias,
    )
    ours = ImagePreprocess(
        image_size=(24, 20),
        scale=TORCH_SCALE,
        offset=TORCH_OFFSET,
        interpolation=interpolation,
        crop_to_aspect_ratio=crop,
        antialias=antialias,
    )
    images = _images(40, 48, seed=2)
    expected = np.asarray(converter(images * 255.0))
    np.testing.assert_allclose(np.asarray(ours(images)), expected, atol=1e-4)
    assert expected.shape == (3, 24, 20, 3)


def test_a_converter_without_scale_or_offset_feeds_0_255_pixels():
    converter = keras_hub.layers.ImageConverter(image_size=(32, 32))
    assert converter_params(converter) == {
        "pixel_scale": (1.0,),
        "pixel_offset": (0.0,),
        "interpolation": "bilinear",
        "crop_to_aspect_ratio": True,
        "antialias": False,
        "image_size": (32, 32),
    }
    assert converter_params(None) == {}


def test_image_size_fixes_the_vit_and_keeps_its_parameter_count():
    resized = build_model("vit_tiny", input_shape=(40, 48, 3), image_size=(32, 32))
    plain = build_model("vit_tiny")
    assert resized.count_params() == plain.count_params() == 809_354
    assert resized.get_layer("resize").output.shape == (None, 32, 32, 3)
    assert resized(_images()).shape == (3, 10)


def test_vgg16_caffe_weights_and_a_presets_normalisation_do_not_mix():
    with pytest.raises(ConfigError) as err:
        build_model("vgg16", weights="imagenet", pixel_scale=(1.0,), pixel_offset=(0.0,))
    assert "expect VGG16's caffe preprocessing (BGR minus the mean)" in str(err.value)
    assert "pixel_scale" in str(err.value)


# --------------------------------------------------------------------------- VGG's default head


@pytest.mark.slow
def test_vgg_convolutional_head_at_224_is_vgg16s_dense_head():
    """KerasHub's default VGG head (7x7 and 1x1 convolutions, pooling) is vgg16's fc1 / fc2
    with the kernels reshaped: checked at the presets' 224x224."""
    keras.utils.set_random_seed(6)
    backbone = keras_hub.models.VGGBackbone(
        stackwise_num_repeats=[2, 2, 3, 3, 3],
        stackwise_num_filters=[64, 128, 256, 512, 512],
        image_shape=(224, 224, 3),
    )
    converter = keras_hub.layers.VGGImageConverter(
        image_size=(224, 224), scale=TORCH_SCALE, offset=TORCH_OFFSET
    )
    task = keras_hub.models.VGGImageClassifier(
        backbone=backbone,
        num_classes=1000,
        preprocessor=keras_hub.models.VGGImageClassifierPreprocessor(converter),
    )
    _randomise(task, 6)
    params = {**vgg_adapter.to_params(backbone.get_config()), **converter_params(converter)}
    model = build_model("vgg16", input_shape=(40, 48, 3), **params)
    assert model.count_params() == 138_357_544
    assert vgg_adapter.copy_weights(model, backbone, task) == 32 == len(model.weights)
    images = _images(batch_size=2)
    expected = np.asarray(task.predict(images * 255.0, batch_size=2, verbose=0))
    np.testing.assert_allclose(np.asarray(model(images)), expected, atol=ATOL)
    assert expected.std(axis=0).mean() > 0.05
