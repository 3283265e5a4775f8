"""Sampling from a causal LM: greedy is exact, seeds repeat, the context is cropped."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from nnzoo.data.tokenizers import ByteTokenizer
from nnzoo.generation import generate, sample_next

VOCAB = ByteTokenizer().vocabulary_size


class _Favour(keras.layers.Layer):
    """Fake LM logits: 10 for one token (the next after each one, or the first), else 0."""

    def __init__(self, rule: str, **kwargs):
        super().__init__(**kwargs)
        self.rule = rule

    def call(self, token_ids, padding_mask):
        if self.rule == "first":  # every position favours the window's first token
            favoured = keras.ops.repeat(token_ids[:, :1], keras.ops.shape(token_ids)[1], axis=1)
        else:  # position t favours token_ids[t] + 1
            favoured = token_ids + 1
        logits = 10.0 * keras.ops.one_hot(favoured, VOCAB)  # (B, T, V)
        if self.rule == "pad_first":  # [PAD] even likelier, as an untrained model might say
            logits = logits + 20.0 * keras.ops.one_hot(keras.ops.zeros_like(token_ids), VOCAB)
        return logits * keras.ops.cast(padding_mask, "float32")[..., None]


def _model(rule: str = "next") -> keras.Model:
    inputs = {
        "token_ids": keras.Input(shape=(None,), dtype="int32", name="token_ids"),
        "padding_mask": keras.Input(shape=(None,), dtype="int32", name="padding_mask"),
    }
    return keras.Model(inputs, _Favour(rule)(inputs["token_ids"], inputs["padding_mask"]))


@pytest.fixture(scope="module")
def next_model():
    return _model("next")


def test_greedy_follows_the_model_exactly(next_model):
    text = generate(next_model, ByteTokenizer(), "a", max_new_tokens=6, temperature=0)
    assert text == "bcdefg"  # the continuation only, without the prompt


def test_temperature_zero_ignores_the_seed(next_model):
    tok = ByteTokenizer()
    a = generate(next_model, tok, "k", max_new_tokens=5, temperature=0, seed=1)
    b = generate(next_model, tok, "k", max_new_tokens=5, temperature=0, seed=2)
    assert a == b == "lmnop"


def test_top_k_one_is_greedy_at_any_temperature(next_model):
    text = generate(next_model, ByteTokenizer(), "a", max_new_tokens=4, temperature=5.0, top_k=1)
    assert text == "bcde"


def test_sampling_repeats_with_a_seed_and_varies_without_it(next_model):
    tok = ByteTokenizer()
    # At temperature 20 the favoured token has probability e^0.5 / (e^0.5 + 262) < 1 %.
    a = generate(next_model, tok, "a", max_new_tokens=8, temperature=20.0, seed=7)
    b = generate(next_model, tok, "a", max_new_tokens=8, temperature=20.0, seed=7)
    c = generate(next_model, tok, "a", max_new_tokens=8, temperature=20.0, seed=8)
    assert a == b
    assert a != c


def test_the_context_is_cropped_to_max_sequence_length():
    model, tok = _model("first"), ByteTokenizer()
    # Windows of 2: "bc" -> b, "cb" -> c, "bc" -> b, ...; uncropped it would repeat "a".
    assert generate(model, tok, "abc", max_new_tokens=5, temperature=0, max_sequence_length=2) == (
        "bcbcb"
    )
    assert generate(model, tok, "abc", max_new_tokens=3, temperature=0) == "aaa"


def test_padding_is_never_sampled():
    logits = np.zeros(VOCAB)
    logits[0] = 100.0
    assert sample_next(logits, np.random.default_rng(0), temperature=0) == 0
    # generate() masks [PAD]: the model favours id 0 most, so it takes the runner-up.
    text = generate(_model("pad_first"), ByteTokenizer(), "a", max_new_tokens=3, temperature=0)
    assert text == "bcd"


def test_sample_next_top_k_keeps_only_the_k_best():
    logits = np.array([0.0, 1.0, 5.0, 4.0, -1.0])
    rng = np.random.default_rng(0)
    draws = {sample_next(logits, rng, temperature=1.0, top_k=2) for _ in range(200)}
    assert draws == {2, 3}


def test_bad_arguments_name_the_value(next_model):
    with pytest.raises(ValueError, match="Received: temperature=-1"):
        generate(next_model, ByteTokenizer(), "a", temperature=-1)
    with pytest.raises(ValueError, match="Received: top_k=0"):
        generate(next_model, ByteTokenizer(), "a", top_k=0)
