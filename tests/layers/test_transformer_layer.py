"""TransformerLayer and the embedding layers: configuration, masks, normalisation placement."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from nnzoo.layers import (
    ClassToken,
    MaskedMeanPooling,
    PositionEmbedding,
    TransformerLayer,
    attention_mask,
)


def _layer(**overrides):
    params = dict(hidden_dim=16, num_heads=4, intermediate_dim=32)
    params.update(overrides)
    return TransformerLayer(**params)


def _sequence(batch_size=2, length=6, hidden_dim=16, seed=0):
    return (
        np.random.default_rng(seed).normal(size=(batch_size, length, hidden_dim)).astype("float32")
    )


def test_get_config_round_trip_gives_an_equal_config():
    layer = _layer(
        dropout=0.1,
        activation="gelu_approximate",
        layer_norm_epsilon=1e-12,
        normalize_first=True,
        use_causal_mask=True,
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        name="transformer_layer_0",
    )
    config = layer.get_config()
    clone = TransformerLayer.from_config(config)
    assert clone.get_config() == config
    assert config["hidden_dim"] == 16
    assert config["num_heads"] == 4
    assert config["intermediate_dim"] == 32
    assert config["activation"] == "gelu_approximate"
    assert config["normalize_first"] is True
    assert config["use_causal_mask"] is True
    assert clone.key_dim == 4


def test_key_dim_must_divide_hidden_dim():
    with pytest.raises(ValueError, match=r"Received: hidden_dim=10, num_heads=3$"):
        _layer(hidden_dim=10, num_heads=3)


def test_unknown_activation_is_rejected():
    with pytest.raises(ValueError, match=r"Received: activation='swish'$"):
        _layer(activation="swish")


def test_parameter_count_matches_the_standard_block():
    # 4 (h*h + h) attention + (h*i + i) + (i*h + h) feed-forward + 2 layer norms (2h each).
    layer = _layer()
    layer.build((None, None, 16))
    h, i = 16, 32
    assert layer.count_params() == 4 * (h * h + h) + (h * i + i) + (i * h + h) + 4 * h


def test_attention_mask_combines_padding_and_causality():
    x = np.zeros((1, 3, 4), dtype="float32")
    padding = np.array([[1, 1, 0]], dtype="int32")
    mask = np.asarray(attention_mask(x, padding, use_causal_mask=True))
    np.testing.assert_array_equal(
        mask[0], [[True, False, False], [True, True, False], [True, True, False]]
    )
    assert attention_mask(x) is None


def test_padded_positions_do_not_change_real_positions():
    layer = _layer()
    x = _sequence()
    padding = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]], dtype="int32")
    changed = x.copy()
    changed[1, 4:] += 5.0  # only the padding of the second example
    a = np.asarray(layer(x, padding_mask=padding))
    b = np.asarray(layer(changed, padding_mask=padding))
    np.testing.assert_allclose(a[1, :4], b[1, :4], atol=1e-6)
    np.testing.assert_allclose(a[0], b[0], atol=1e-6)
    # Without the mask the padding leaks into the real positions.
    c = np.asarray(layer(x))
    d = np.asarray(layer(changed))
    assert np.abs(c[1, :4] - d[1, :4]).max() > 1e-3


def test_causal_layer_ignores_later_positions():
    layer = _layer(use_causal_mask=True, normalize_first=True)
    x = _sequence(length=8)
    base = np.asarray(layer(x))
    for t in (0, 3, 6):
        changed = x.copy()
        changed[:, t + 1 :] = _sequence(length=8, seed=t + 1)[:, t + 1 :]
        out = np.asarray(layer(changed))
        np.testing.assert_allclose(out[:, : t + 1], base[:, : t + 1], atol=1e-5)
        assert np.abs(out[:, t + 1 :] - base[:, t + 1 :]).max() > 1e-3


def test_post_norm_output_is_normalised_and_pre_norm_is_not():
    x = 3.0 * _sequence() + 1.0
    post = np.asarray(_layer(normalize_first=False)(x))
    np.testing.assert_allclose(post.mean(axis=-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(post.std(axis=-1), 1.0, atol=1e-3)
    pre = np.asarray(_layer(normalize_first=True)(x))
    assert np.abs(pre.mean(axis=-1)).max() > 0.1  # the residual stream is not normalised


def test_position_embedding_uses_the_first_rows_for_shorter_sequences():
    layer = PositionEmbedding(10, name="position_embedding")
    out = np.asarray(layer(np.zeros((3, 4, 8), dtype="float32")))
    table = np.asarray(layer.embeddings)
    assert out.shape == (3, 4, 8)
    np.testing.assert_array_equal(out[2], table[:4])
    assert PositionEmbedding.from_config(layer.get_config()).get_config() == layer.get_config()


@pytest.mark.parametrize("batch_size", [1, 2, 7])
def test_class_token_is_shared_across_the_batch(batch_size):
    layer = ClassToken(initializer="random_normal")
    x = _sequence(batch_size=batch_size, length=5, hidden_dim=8)
    out = np.asarray(layer(x))
    assert out.shape == (batch_size, 6, 8)
    np.testing.assert_array_equal(out[:, 0], np.repeat(np.asarray(layer.token)[0], batch_size, 0))
    np.testing.assert_array_equal(out[:, 1:], x)


def test_masked_mean_pooling_averages_real_tokens_only():
    x = np.arange(12, dtype="float32").reshape(1, 4, 3)
    out = np.asarray(MaskedMeanPooling()(x, padding_mask=np.array([[1, 1, 0, 0]])))
    np.testing.assert_allclose(out, [[1.5, 2.5, 3.5]])
