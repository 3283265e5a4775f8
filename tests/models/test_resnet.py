"""ResNet-18/34: published parameter counts and the paper's structure."""

from __future__ import annotations

import os

import numpy as np
import pytest

from nnzoo.errors import ConfigError
from nnzoo.registry import build_model

#: torchvision's resnet18 / resnet34 at 224x224x3 with 1000 classes (trainable parameters).
PUBLISHED = {"resnet18": 11_689_512, "resnet34": 21_797_672}


def trainable_params(model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("name", ["resnet18", "resnet34"])
def test_trainable_parameters_equal_the_published_count(name):
    model = build_model(name)
    assert trainable_params(model) == PUBLISHED[name]
    # Keras also keeps every batch-norm layer's moving mean and variance (non-trainable).
    bn_channels = sum(
        layer.gamma.shape[0]
        for layer in model.layers
        if layer.__class__.__name__ == "BatchNormalization"
    )
    assert model.count_params() == PUBLISHED[name] + 2 * bn_channels


def test_imagenet_stem_and_stages_downsample_as_in_the_paper():
    model = build_model("resnet18")
    assert model.get_layer("stem_conv").kernel_size == (7, 7)
    assert model.get_layer("stem_pool").output.shape[1:] == (56, 56, 64)
    assert model.get_layer("stage2_block1_out").output.shape[1:] == (28, 28, 128)
    assert model.get_layer("stage4_block2_out").output.shape[1:] == (7, 7, 512)
    assert model.output.shape[1:] == (1000,)


def test_projection_shortcut_only_where_the_shape_changes():
    model = build_model("resnet18")
    names = {layer.name for layer in model.layers}
    assert {"stage2_block1_shortcut_conv", "stage3_block1_shortcut_conv"} <= names
    assert "stage1_block1_shortcut_conv" not in names
    assert "stage2_block2_shortcut_conv" not in names
    shortcut = model.get_layer("stage2_block1_shortcut_conv")
    assert shortcut.kernel_size == (1, 1) and shortcut.strides == (2, 2)
    convs = [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    assert all(not conv.use_bias for conv in convs)  # batch-norm follows every convolution


def test_cifar_stem_keeps_the_resolution():
    model = build_model("resnet18", input_shape=(32, 32, 3), num_classes=10, stem="cifar")
    assert model.get_layer("stem_conv").kernel_size == (3, 3)
    assert "stem_pool" not in {layer.name for layer in model.layers}
    assert model.get_layer("stage4_block2_out").output.shape[1:] == (4, 4, 512)
    x = np.random.default_rng(0).uniform(size=(2, 32, 32, 3)).astype("float32")
    assert tuple(model(x, training=False).shape) == (2, 10)


def test_images_are_normalised_with_imagenet_statistics():
    model = build_model("resnet18", input_shape=(32, 32, 3), num_classes=10, stem="cifar")
    normalize = model.get_layer("normalize")
    mean_image = np.broadcast_to(np.array([0.485, 0.456, 0.406], "float32"), (1, 4, 4, 3))
    np.testing.assert_allclose(np.asarray(normalize(mean_image)), 0.0, atol=1e-6)
    one_std = mean_image + np.array([0.229, 0.224, 0.225], "float32")
    np.testing.assert_allclose(np.asarray(normalize(one_std)), 1.0, atol=1e-5)


def test_unknown_stem_names_the_value():
    with pytest.raises(ConfigError) as err:
        build_model("resnet18", stem="tiny")
    assert str(err.value) == (
        "params.stem: must be one of 'imagenet', 'cifar'. Received: stem='tiny'. "
        "Fix: use one of them"
    )


def test_a_stem_narrower_than_16_trains_with_onednn_off_and_says_so(monkeypatch, tmp_path):
    """Issue 27, item 9: resnet18 with stem cifar and num_filters [8, 16, 32, 64] aborted
    inside TensorFlow's oneDNN (exit 134); the CLI turns oneDNN off for it before TensorFlow
    loads."""
    import sys

    from click.testing import CliRunner

    from nnzoo.cli import cli

    seen = {}

    def fake_train(config, **kwargs):
        seen["onednn"] = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
        raise KeyboardInterrupt  # before any run directory: nothing else to stub

    monkeypatch.setattr("nnzoo.training.train", fake_train)
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)  # a fresh `nnzoo train`
    monkeypatch.setattr("nnzoo.cli.runs.import_keras_quietly", lambda: None)  # stays so
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    args = ["train", "configs/resnet18.yaml", "--set", "data.source=shapes"]
    result = CliRunner().invoke(cli, [*args, "--set", "model.params.num_filters=[8,16,32,64]"])
    assert seen == {"onednn": "0"}
    assert result.stderr.splitlines()[0] == (
        "nnzoo: note: num_filters[0]=8 (under 16) makes TensorFlow's oneDNN convolutions abort "
        "the process while training; they are off for this run (TF_ENABLE_ONEDNN_OPTS=0, "
        "slower on CPU)"
    )
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS")
    result = CliRunner().invoke(cli, args)  # the default widths: oneDNN stays on
    assert seen == {"onednn": None} and "oneDNN" not in result.stderr


def test_in_process_training_refuses_a_narrow_stem_while_onednn_is_on(monkeypatch, tmp_path):
    """Where TensorFlow is already loaded with oneDNN on (the library, or a user who set
    TF_ENABLE_ONEDNN_OPTS=1), a clear refusal instead of a native abort; nothing is written."""
    import keras

    from nnzoo import load_config, train

    if keras.backend.backend() != "tensorflow":
        pytest.skip("oneDNN is TensorFlow's")
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    config = load_config(
        "configs/resnet18.yaml",
        ["data.source=shapes", "model.params.num_filters=[12,16,32,64]"],
    )
    with pytest.raises(ConfigError) as err:
        train(config, runs_dir=tmp_path, quiet=True)
    assert str(err.value) == (
        "--set: model.params.num_filters: num_filters[0]=12 (under 16) makes TensorFlow's "
        "oneDNN convolutions abort the process while training. Fix: give the stem 16 filters "
        "or more, or set TF_ENABLE_ONEDNN_OPTS=0 before TensorFlow is imported (`nnzoo train` "
        "does so itself)"
    )
    assert list(tmp_path.iterdir()) == []
