"""FT-Transformer: the paper's default configuration, its parameter count, the feature
tokenizer (numeric and categorical), and a short training run on wine through nnzoo.

test_catalog / test_hyperparameters check the card like every other (defaults build with
``num_params``, few steps lower the loss, ``.keras`` round trip); these check what is particular
to the family.
"""

from __future__ import annotations

import numpy as np
import pytest

import nnzoo
from nnzoo.models.ft_transformer import block_params, feature_tokenizer_params
from nnzoo.registry import get_card
from nnzoo.run.bind import config_from_dict

SMALL = dict(d_token=16, num_blocks=2, num_heads=4)


def test_the_card_is_the_papers_default():
    card = get_card("ft_transformer")
    assert card.family == "ft_transformer"
    assert card.input_kind == "features" and card.task == "classification"
    assert "Revisiting Deep Learning Models for Tabular Data" in card.paper
    defaults = card.defaults
    assert (defaults["d_token"], defaults["num_blocks"], defaults["num_heads"]) == (192, 3, 8)
    assert (defaults["attention_dropout"], defaults["ffn_dropout"]) == (0.2, 0.1)
    assert defaults["residual_dropout"] == 0.0
    assert defaults["ffn_hidden_dim"] is None  # d_token * 4 / 3 = 256
    assert set(card.parameters) >= {"input_shape", "num_classes", "feature_normalization"}


def test_the_default_models_structure_and_count():
    card = get_card("ft_transformer")
    model = card.builder(**card.defaults)
    assert model.count_params() == card.num_params == 918_154
    # 64 features: a weight and a bias each, the [CLS] vector; the first block has one norm.
    assert model.get_layer("feature_tokenizer").count_params() == 2 * 64 * 192
    assert model.get_layer("class_token").count_params() == 192
    first, second = model.get_layer("block1"), model.get_layer("block2")
    assert first.attention_norm is None and second.attention_norm is not None
    assert first.ffn_in.units == 2 * 256 and first.ffn_out.units == 192
    assert first.count_params() == block_params(192, 256, first_norm=False)
    assert second.count_params() == block_params(192, 256) == 297_152
    assert model.get_layer("logits").count_params() == 192 * 10 + 10


@pytest.mark.parametrize(
    "params",
    [
        dict(input_shape=(5,), num_classes=2, **SMALL),
        dict(input_shape=(3, 4), num_classes=7, d_token=12, num_blocks=1, num_heads=3),
        dict(
            input_shape=(13,), num_classes=3, ffn_hidden_dim=9, feature_normalization=True, **SMALL
        ),
    ],
)
def test_count_params_equals_keras(params):
    card = get_card("ft_transformer")
    full = {**card.defaults, **params}
    assert card.count_params(**full) == card.builder(**full).count_params()


@pytest.mark.parametrize(("num_classes", "units"), [(2, 1), (3, 3), (6, 6)])
def test_output_shapes(num_classes, units):
    card = get_card("ft_transformer")
    model = card.builder(
        **{**card.defaults, **SMALL, "input_shape": (7,), "num_classes": num_classes}
    )
    x = np.random.default_rng(0).normal(size=(5, 7)).astype("float32")
    out = np.asarray(model(x, training=False))
    assert out.shape == (5, units)
    assert np.all(np.isfinite(out))


def test_heads_must_divide_d_token():
    from nnzoo.cards import HyperparameterError

    card = get_card("ft_transformer")
    with pytest.raises(HyperparameterError, match="`d_token` must be a positive multiple"):
        card.check(**{**card.defaults, "d_token": 20, "num_heads": 8})


def test_feature_tokenizer_numeric_and_categorical():
    """Numeric tokens are ``b_j + x_j W_j``; category tokens a shared table row plus a bias per
    column; numeric tokens come first."""
    import keras

    from nnzoo.layers import FeatureTokenizer

    slots = (3, 5, 2)
    layer = FeatureTokenizer(4, category_slots=slots, d_token=6)
    rng = np.random.default_rng(0)
    numeric = rng.normal(size=(2, 4)).astype("float32")
    codes = np.stack([rng.integers(0, s, size=2) for s in slots], axis=1)
    categories = (codes + np.cumsum((0, *slots[:-1]))).astype("int32")  # offset into the table
    tokens = np.asarray(layer(numeric, categories))
    assert tokens.shape == (2, 4 + 3, 6)
    assert layer.count_params() == feature_tokenizer_params(4, slots, 6) == (2 * 4 + 10 + 3) * 6
    w, b = np.asarray(layer.numeric_weight), np.asarray(layer.numeric_bias)
    table, bias = np.asarray(layer.category_embeddings), np.asarray(layer.category_bias)
    np.testing.assert_allclose(tokens[:, :4], numeric[..., None] * w + b, atol=1e-6)
    np.testing.assert_allclose(tokens[:, 4:], table[categories] + bias, atol=1e-6)

    # Only categories; a serialised tokenizer is the same layer.
    only = FeatureTokenizer(0, category_slots=slots, d_token=6)
    assert tuple(only(None, categories).shape) == (2, 3, 6)
    again = FeatureTokenizer.from_config(keras.saving.serialize_keras_object(layer)["config"])
    assert again.category_slots == slots and again.num_numeric == 4 and again.d_token == 6
    with pytest.raises(ValueError, match="categorical features"):
        layer(numeric)


def test_save_and_load_give_identical_predictions(tmp_path):
    import keras

    card = get_card("ft_transformer")
    params = {
        **card.defaults,
        **SMALL,
        "input_shape": (13,),
        "num_classes": 3,
        "feature_normalization": True,
    }
    model = card.builder(**params)
    x = np.random.default_rng(1).normal(size=(8, 13)).astype("float32")
    model.get_layer("feature_normalization").adapt(x)
    path = tmp_path / "ft.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(
        np.asarray(loaded(x, training=False)), np.asarray(model(x, training=False))
    )
    assert [type(layer).__name__ for layer in loaded.layers] == [
        type(layer).__name__ for layer in model.layers
    ]


def test_trains_on_wine(tmp_path):
    """A small FT-Transformer learns wine through nnzoo's training (standardized features)."""
    config = config_from_dict(
        {
            "name": "ftt_wine",
            "seed": 0,
            "model": {"name": "ft_transformer", "params": dict(SMALL, num_blocks=1)},
            "data": {"source": "wine", "batch_size": 16, "test_split": 0.2},
            "train": {"epochs": 15, "optimizer": {"name": "adam", "learning_rate": 0.003}},
        }
    )
    result = nnzoo.train(config, runs_dir=tmp_path, quiet=True)
    assert result.metrics["test"]["accuracy"] >= 0.9, result.metrics["test"]
