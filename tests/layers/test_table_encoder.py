"""The table encoder (issue 26): imputation, standardisation, indicators, one-hot and embedded
categories, inside the model on every backend, with the parameter count the card gives."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from nnzoo.layers.table import (
    TableEncoder,
    encoded_width,
    encoder_params,
    parse_columns,
    token_layout,
)

COLUMNS = ["numeric+missing", "category:3", "numeric", "category:20"]


def _encoder(**kwargs):
    layer = TableEncoder(COLUMNS, **kwargs)
    layer.build((None, 4))
    layer.set_statistics([10.0, -1.0], [4.0, 0.25])
    return layer


def test_numbers_are_imputed_standardised_and_flagged():
    layer = _encoder(embedding_above=None)
    x = np.array([[12.0, 0, -0.5, 3], [np.nan, np.nan, np.nan, -1]], dtype="float32")
    out = keras.ops.convert_to_numpy(layer(x))
    assert out.shape == (2, encoded_width(COLUMNS, embedding_above=None, embedding_dim=8))
    # numeric block: (12 - 10) / 2, (-0.5 + 1) / 0.5; missing -> the mean -> 0
    np.testing.assert_allclose(out[:, :2], [[1.0, 1.0], [0.0, 0.0]], atol=1e-6)
    np.testing.assert_array_equal(out[:, 2], [0.0, 1.0])  # the missing indicator
    # category:3 -> 5 slots (3 values, missing, unseen)
    np.testing.assert_array_equal(out[:, 3:8], [[1, 0, 0, 0, 0], [0, 0, 0, 1, 0]])
    # category:20 one-hot (22 slots): value 3, and -1 (unseen) in the last slot
    assert out[0, 8 + 3] == 1.0 and out[1, 8 + 21] == 1.0 and out[:, 8:].sum() == 2.0


def test_a_category_above_the_threshold_is_embedded_and_counted():
    layer = _encoder(embedding_above=16, embedding_dim=4)
    x = np.array([[12.0, 2, 0.0, 5], [12.0, 2, 0.0, 5]], dtype="float32")
    out = keras.ops.convert_to_numpy(layer(x))
    assert out.shape == (2, 2 + 1 + 5 + 4)
    weights = layer.embeddings[3]
    np.testing.assert_allclose(out[0, -4:], keras.ops.convert_to_numpy(weights)[5], atol=1e-6)
    count = encoder_params(COLUMNS, embedding_above=16, embedding_dim=4)
    assert count == layer.count_params() == 2 * 2 + 22 * 4


def test_it_saves_and_loads_with_its_statistics(tmp_path):
    inputs = keras.Input((4,))
    layer = TableEncoder(COLUMNS, embedding_above=16, embedding_dim=4, name="table_encoder")
    model = keras.Model(inputs, keras.layers.Dense(2)(layer(inputs)))
    layer.set_statistics([10.0, -1.0], [4.0, 0.25])
    x = np.array([[12.0, 2, np.nan, 5], [np.nan, np.nan, 0.5, -1]], dtype="float32")
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_bad_column_descriptions_are_refused():
    assert parse_columns(["numeric", "category:0"]) == [("numeric", 0), ("category", 0)]
    with pytest.raises(ValueError, match="Received: 'category'"):
        parse_columns(["category"])


@pytest.mark.parametrize(
    "columns",
    [COLUMNS, ["numeric", "numeric+missing"], ["category:3", "category:1"]],
    ids=["mixed", "numbers only", "categories only"],
)
def test_the_tokens_output_feeds_ft_transformer_with_the_counted_parameters(columns):
    from nnzoo.registry import build_model, get_card

    card = get_card("ft_transformer")
    params = dict(
        input_shape=(len(columns),),
        num_classes=3,
        d_token=8,
        num_blocks=1,
        num_heads=2,
        table_columns=columns,
        feature_normalization=True,
    )
    model = build_model("ft_transformer", **params)
    assert card.count_params(**{**card.defaults, **params}) == model.count_params()
    x = np.zeros((2, len(columns)), dtype="float32")
    x[1] = np.nan  # every cell missing: numbers imputed, categories to their missing slot
    assert model.predict(x, verbose=0).shape == (2, 3)
    layer = TableEncoder(columns, output="tokens")
    parts = layer(x)
    numeric, slots = token_layout(columns)
    assert len(parts) == bool(numeric) + bool(slots)
    if slots:
        got = keras.ops.convert_to_numpy(parts[-1])
        # codes 0 land on each category's first slot; NaN on its "missing" slot (V)
        offsets = np.cumsum([0, *slots[:-1]])
        np.testing.assert_array_equal(got[0], offsets)
        np.testing.assert_array_equal(got[1], offsets + np.asarray(slots) - 2)
