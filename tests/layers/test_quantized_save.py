"""A transformer-family model quantized with Keras's own ``model.quantize("int8")`` saves and
loads back with identical outputs (issue 27, item 9): ``TransformerLayer`` records its
quantized sublayers' dtype policies in its config, as KerasHub's backbones do."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from nnzoo import build_model

pytestmark = pytest.mark.filterwarnings("ignore:Layer .* does not have a .quantize. method")

SMALL = dict(num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16)


def _tokens(batch_size=2, length=6, vocabulary_size=32):
    rng = np.random.default_rng(0)
    ids = rng.integers(1, vocabulary_size, size=(batch_size, length)).astype("int32")
    return {"token_ids": ids, "padding_mask": np.ones_like(ids)}


CASES = {
    "gpt_nano": (dict(SMALL, vocabulary_size=32, max_sequence_length=8), _tokens),
    "bert_tiny": (
        dict(SMALL, vocabulary_size=32, max_sequence_length=8, num_classes=3),
        lambda: dict(_tokens(), segment_ids=np.zeros((2, 6), "int32")),
    ),
    "transformer": (
        dict(
            num_heads=2,
            hidden_dim=8,
            intermediate_dim=16,
            vocabulary_size=32,
            max_sequence_length=8,
            num_classes=3,
        ),
        _tokens,
    ),
    "vit_tiny": (
        dict(SMALL, input_shape=(8, 8, 3), patch_size=4, num_classes=3),
        lambda: np.random.default_rng(0).random((2, 8, 8, 3)).astype("float32"),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_int8_quantized_model_loads_back_with_identical_outputs(name, tmp_path):
    params, inputs = CASES[name]
    model = build_model(name, **params)
    model.quantize("int8")
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = inputs()
    quantized = [layer.name for layer in loaded._flatten_layers() if layer.quantization_mode]
    assert "feedforward_intermediate" in quantized
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x))
    )


def test_a_float_layer_keeps_its_plain_dtype_in_the_config():
    from nnzoo.layers import TransformerLayer

    config = TransformerLayer(8, 2, 16).get_config()
    assert config["dtype"]["class_name"] == "DTypePolicy"
