"""lstm / gru: the seed's parameter counts, and padding that never changes the logits."""

from __future__ import annotations

import numpy as np
import pytest

from nnzoo.errors import ConfigError
from nnzoo.registry import build_model, get_card

#: Embedding 10000x128 (1,280,000) + LSTM 64 (49,408) + LSTM 32 (12,416) + Dense 1 (33).
SEED_LSTM_PARAMS = 1_341_857
#: Embedding (1,280,000) + GRU 64 with Keras 3's reset_after=True (37,248) + Dense 1 (65).
SEED_GRU_PARAMS = 1_317_313


def seed_model(cell: str):
    """The seed's Sequential sentiment models (sigmoid included), to count their parameters."""
    import keras
    from keras import layers

    recurrent = (
        [layers.LSTM(64, return_sequences=True), layers.LSTM(32)]
        if cell == "lstm"
        else [layers.GRU(64)]
    )
    return keras.Sequential(
        [
            keras.Input(shape=(100,), dtype="int32"),
            layers.Embedding(10000, 128),
            *recurrent,
            layers.Dense(1, activation="sigmoid"),
        ]
    )


@pytest.mark.parametrize(("name", "count"), [("lstm", SEED_LSTM_PARAMS), ("gru", SEED_GRU_PARAMS)])
def test_parameter_count_equals_the_seed_model(name, count):
    assert seed_model(name).count_params() == count
    assert build_model(name).count_params() == count


def batch(rng, lengths, total):
    """Right-padded token ids (0 at padding) and their padding mask."""
    mask = (np.arange(total)[None, :] < np.asarray(lengths)[:, None]).astype("int32")
    ids = rng.integers(1, 10000, size=mask.shape) * mask
    return {"token_ids": ids.astype("int32"), "padding_mask": mask}


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("lstm", {}),
        ("gru", {}),
        ("lstm", {"bidirectional": True}),
        ("gru", {"bidirectional": True, "hidden_units": (16, 8), "num_classes": 3}),
    ],
)
def test_padding_never_changes_the_logits(name, params):
    model = build_model(name, **params)
    rng = np.random.default_rng(0)
    inputs = batch(rng, lengths=[3, 7, 10], total=10)
    expected = np.asarray(model(inputs, training=False))

    # Other token ids at the padded positions.
    noisy = dict(inputs)
    noisy["token_ids"] = np.where(
        inputs["padding_mask"] == 1, inputs["token_ids"], rng.integers(1, 10000, size=(3, 10))
    ).astype("int32")
    np.testing.assert_allclose(np.asarray(model(noisy, training=False)), expected, atol=1e-5)

    # Five more padded positions.
    longer = {
        key: np.concatenate(
            [value, np.full((3, 5), 7 if key == "token_ids" else 0)], axis=1
        ).astype("int32")
        for key, value in inputs.items()
    }
    np.testing.assert_allclose(np.asarray(model(longer, training=False)), expected, atol=1e-5)


def test_the_mask_is_used():
    """Treating the padding as real tokens changes the logits of the padded examples only."""
    model = build_model("lstm")
    inputs = batch(np.random.default_rng(1), lengths=[4, 8], total=8)
    expected = np.asarray(model(inputs, training=False))
    unmasked = {**inputs, "padding_mask": np.ones_like(inputs["padding_mask"])}
    actual = np.asarray(model(unmasked, training=False))
    assert not np.allclose(actual[0], expected[0], atol=1e-6)
    np.testing.assert_allclose(actual[1], expected[1], atol=1e-6)


def test_heads_and_options():
    assert build_model("lstm").output.shape[-1] == 1  # binary: one logit
    model = build_model("gru", num_classes=5, hidden_units=(32, 16), bidirectional=True)
    assert model.output.shape[-1] == 5
    assert model.get_layer("gru2_bidirectional").output.shape[-1] == 32  # 2 x 16
    assert model.get_layer("logits").activation.__name__ == "linear"


def test_cards_take_kerashub_token_inputs():
    for name in ("lstm", "gru"):
        card = get_card(name)
        assert card.input_kind == "tokens"
        assert card.task == "classification"
        assert sorted(build_model(name).input) == ["padding_mask", "token_ids"]
    assert get_card("lstm").defaults["hidden_units"] == (64, 32)
    assert get_card("gru").defaults["hidden_units"] == (64,)


def test_empty_hidden_units_is_rejected():
    with pytest.raises(ConfigError) as err:
        build_model("gru", hidden_units=())
    assert str(err.value) == (
        "params.hidden_units: must have at least 1 item. Received: hidden_units=(). "
        "Fix: e.g. hidden_units: [64] (the default)"
    )
