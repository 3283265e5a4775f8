"""Parity with KerasHub: with the same weights, our ViT, BERT and GPT-2 compute the same outputs
as ``keras_hub``'s backbones (keras-hub comes with the dev extra)."""

from __future__ import annotations

import keras
import keras_hub
import numpy as np

from nnzoo.registry import build_model

ATOL = 1e-5


def _copy(target, source):
    """Copy weights between two layers with the same structure (checked shape by shape)."""
    weights = source.get_weights()
    assert [w.shape for w in weights] == [tuple(w.shape) for w in target.weights]
    target.set_weights(weights)


def _copy_transformer_layer(ours, theirs):
    _copy(ours.self_attention, theirs._self_attention_layer)
    _copy(ours.self_attention_layer_norm, theirs._self_attention_layer_norm)
    _copy(ours.feedforward_intermediate_dense, theirs._feedforward_intermediate_dense)
    _copy(ours.feedforward_output_dense, theirs._feedforward_output_dense)
    _copy(ours.feedforward_layer_norm, theirs._feedforward_layer_norm)


def _tokens(vocabulary_size, batch_size=2, length=10):
    rng = np.random.default_rng(0)
    token_ids = rng.integers(1, vocabulary_size, size=(batch_size, length)).astype("int32")
    padding_mask = np.ones((batch_size, length), dtype="int32")
    padding_mask[1, 7:] = 0
    return token_ids, padding_mask


def test_gpt_matches_keras_hub_gpt2():
    sizes = dict(
        vocabulary_size=97,
        num_layers=2,
        num_heads=4,
        hidden_dim=32,
        intermediate_dim=64,
        max_sequence_length=16,
        dropout=0.0,
    )
    theirs = keras_hub.models.GPT2Backbone(**sizes)
    ours = build_model("gpt_nano", **sizes)
    for name in ("token_embedding", "position_embedding", "layer_norm"):
        _copy(ours.get_layer(name), theirs.get_layer(name))
    for i in range(2):
        name = f"transformer_layer_{i}"
        _copy_transformer_layer(ours.get_layer(name), theirs.get_layer(name))

    token_ids, padding_mask = _tokens(97)
    inputs = {"token_ids": token_ids, "padding_mask": padding_mask}
    hidden = theirs(inputs)
    expected = np.asarray(theirs.token_embedding(hidden, reverse=True))  # tied LM head
    np.testing.assert_allclose(np.asarray(ours(inputs)), expected, atol=ATOL)


def test_bert_matches_keras_hub_bert():
    sizes = dict(
        vocabulary_size=97,
        num_layers=2,
        num_heads=4,
        hidden_dim=32,
        intermediate_dim=64,
        max_sequence_length=16,
        dropout=0.0,
    )
    theirs = keras_hub.models.BertBackbone(**sizes)
    ours = build_model("bert_tiny", num_classes=3, **sizes)
    for name in (
        "token_embedding",
        "position_embedding",
        "segment_embedding",
        "embeddings_layer_norm",
        "pooled_dense",
    ):
        _copy(ours.get_layer(name), theirs.get_layer(name))
    for i in range(2):
        name = f"transformer_layer_{i}"
        _copy_transformer_layer(ours.get_layer(name), theirs.get_layer(name))

    token_ids, padding_mask = _tokens(97)
    segment_ids = np.zeros_like(token_ids)
    segment_ids[:, 4:] = 1
    inputs = {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}
    expected = theirs(inputs)

    sequence = keras.Model(ours.inputs, ours.get_layer("transformer_layer_1").output)
    actual = np.asarray(sequence(inputs))
    real = padding_mask.astype(bool)
    np.testing.assert_allclose(
        actual[real], np.asarray(expected["sequence_output"])[real], atol=ATOL
    )
    kernel, bias = ours.get_layer("logits").get_weights()
    np.testing.assert_allclose(
        np.asarray(ours(inputs)),
        np.asarray(expected["pooled_output"]) @ kernel + bias,
        atol=ATOL,
    )


def test_vit_matches_keras_hub_vit():
    theirs = keras_hub.models.ViTBackbone(
        image_shape=(32, 32, 3),
        patch_size=4,
        num_layers=2,
        num_heads=4,
        hidden_dim=32,
        mlp_dim=64,
    )
    ours = build_model(
        "vit_tiny", num_layers=2, num_heads=4, hidden_dim=32, intermediate_dim=64, dropout=0.0
    )
    embedding = theirs.get_layer("vit_patching_and_embedding")
    ours.get_layer("class_token").set_weights([np.asarray(embedding.class_token)])
    _copy(ours.get_layer("patch_embedding"), embedding.patch_embedding)
    _copy(ours.get_layer("position_embedding"), embedding.position_embedding)
    encoder = theirs.get_layer("vit_encoder")
    for i, block in enumerate(encoder.encoder_layers):
        layer = ours.get_layer(f"transformer_layer_{i}")
        _copy(layer.self_attention_layer_norm, block.layer_norm_1)
        _copy(layer.self_attention, block.mha)
        _copy(layer.feedforward_layer_norm, block.layer_norm_2)
        _copy(layer.feedforward_intermediate_dense, block.mlp.dense_1)
        _copy(layer.feedforward_output_dense, block.mlp.dense_2)
    _copy(ours.get_layer("layer_norm"), encoder.layer_norm)

    images = np.random.default_rng(0).uniform(size=(3, 32, 32, 3)).astype("float32")
    # KerasHub's backbone takes images already scaled to [-1, 1]; ours scales [0, 1] inside.
    expected = np.asarray(theirs(2.0 * images - 1.0))
    sequence = keras.Model(ours.input, ours.get_layer("layer_norm").output)
    np.testing.assert_allclose(np.asarray(sequence(images)), expected, atol=ATOL)
