"""The key/value cache of TransformerLayer: decoding a token at a time equals the full call."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from nnzoo.layers import CachedMultiHeadAttention, PositionEmbedding, TransformerLayer

HIDDEN, HEADS = 16, 4


def _layer(**overrides):
    params = dict(
        hidden_dim=HIDDEN,
        num_heads=HEADS,
        intermediate_dim=32,
        normalize_first=True,
        use_causal_mask=True,
        activation="gelu_approximate",
    )
    params.update(overrides)
    layer = TransformerLayer(**params)
    layer.build((None, None, HIDDEN))
    return layer


def _sequence(batch_size=2, length=7, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(batch_size, length, HIDDEN)).astype("float32")


def _empty_cache(batch_size, length):
    return keras.ops.zeros((batch_size, 2, length, HEADS, HIDDEN // HEADS))


@pytest.mark.parametrize("normalize_first", [True, False])
def test_prefill_then_one_token_at_a_time_equals_the_full_call(normalize_first):
    layer, x = _layer(normalize_first=normalize_first), _sequence()
    full = keras.ops.convert_to_numpy(layer(x))
    # Prefill the first 3 positions into a cache of 7, then decode positions 3..6 one by one.
    out, cache = layer(x[:, :3], cache=_empty_cache(2, 7), cache_update_index=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out), full[:, :3], atol=1e-5)
    for t in range(3, 7):
        out, cache = layer(x[:, t : t + 1], cache=cache, cache_update_index=t)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(out), full[:, t : t + 1], atol=1e-5)
    assert tuple(cache.shape) == (2, 2, 7, HEADS, HIDDEN // HEADS)


def test_garbage_after_the_update_index_is_never_attended_to():
    # KerasHub's prefill fills the whole buffer, padding included; a causal cache must ignore
    # whatever sits after the current position.
    layer, x = _layer(), _sequence(length=5)
    full = keras.ops.convert_to_numpy(layer(x))
    noise = keras.ops.convert_to_tensor(
        np.random.default_rng(1).normal(size=(2, 2, 5, HEADS, HIDDEN // HEADS)), "float32"
    )
    # Write the true prefix (positions 0, 1) over the noise; positions 3, 4 stay noise.
    _, cache = layer(x[:, :2], cache=noise, cache_update_index=0)
    out, _ = layer(x[:, 2:3], cache=cache, cache_update_index=2)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out), full[:, 2:3], atol=1e-5)


def test_the_cached_attention_keeps_the_weights_of_multi_head_attention():
    layer = _layer(name="transformer_layer_0")
    attention = layer.self_attention
    assert isinstance(attention, CachedMultiHeadAttention)
    assert isinstance(attention, keras.layers.MultiHeadAttention)
    assert attention.name == "self_attention"
    paths = sorted(v.path for v in attention.weights)
    assert paths == [
        "transformer_layer_0/self_attention/attention_output/bias",
        "transformer_layer_0/self_attention/attention_output/kernel",
        "transformer_layer_0/self_attention/key/bias",
        "transformer_layer_0/self_attention/key/kernel",
        "transformer_layer_0/self_attention/query/bias",
        "transformer_layer_0/self_attention/query/kernel",
        "transformer_layer_0/self_attention/value/bias",
        "transformer_layer_0/self_attention/value/kernel",
    ]
    assert len(layer.weights) == 16


def test_an_update_index_without_a_cache_is_refused():
    layer = _layer()
    with pytest.raises(ValueError, match="`cache_update_index` needs a `cache`"):
        layer.self_attention(_sequence(), _sequence(), cache_update_index=0)


def test_position_embedding_start_index_takes_later_rows():
    layer = PositionEmbedding(8, initializer="glorot_uniform")
    x = np.zeros((2, 3, 4), "float32")
    layer.build(x.shape)
    table = keras.ops.convert_to_numpy(layer.embeddings)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(layer(x)), np.broadcast_to(table[:3], x.shape)
    )
    later = keras.ops.convert_to_numpy(layer(x, start_index=keras.ops.convert_to_tensor(4)))
    np.testing.assert_array_equal(later, np.broadcast_to(table[4:7], x.shape))
