"""Sampling from a causal LM: greedy is exact, seeds repeat, the context is cropped."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from nnzoo.data.tokenizers import BytePairTokenizer, ByteTokenizer, _byte_to_unicode
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


# --------------------------------------------------------------------------- GPT-2's tokenizer


def _byte_pair() -> BytePairTokenizer:
    """GPT-2's layout without merges: the 256 byte symbols ("!" = 0), <|endoftext|> = 256."""
    vocabulary = {char: i for i, char in enumerate(_byte_to_unicode().values())}
    vocabulary["<|endoftext|>"] = 256
    special = {"bos": "<|endoftext|>", "eos": "<|endoftext|>"}
    return BytePairTokenizer(vocabulary, [], special_tokens=special)


class _Script(keras.layers.Layer):
    """Fake LM logits: position t favours ``script[t]``, whatever the tokens are."""

    def __init__(self, script, vocabulary_size, **kwargs):
        super().__init__(**kwargs)
        self.script = list(script) + [script[-1]] * (64 - len(script))
        self.vocabulary_size = vocabulary_size

    def call(self, token_ids, padding_mask):
        table = keras.ops.convert_to_tensor(self.script, dtype="int32")
        positions = keras.ops.cumsum(keras.ops.ones_like(token_ids), axis=1) - 1  # (B, T)
        favoured = keras.ops.take(table, positions)  # (B, T)
        return 10.0 * keras.ops.one_hot(favoured, self.vocabulary_size)  # (B, T, V)


def _script_model(script, vocabulary_size) -> keras.Model:
    inputs = {
        "token_ids": keras.Input(shape=(None,), dtype="int32", name="token_ids"),
        "padding_mask": keras.Input(shape=(None,), dtype="int32", name="padding_mask"),
    }
    layer = _Script(script, vocabulary_size)
    return keras.Model(inputs, layer(inputs["token_ids"], inputs["padding_mask"]))


def test_byte_pair_generation_frames_the_prompt_decodes_bytes_and_stops_at_the_end_token():
    tok = _byte_pair()
    assert tok.pad_id == tok.encode("!")[0] == 0  # GPT-2 pads with an ordinary token
    # The prompt "" is [<|endoftext|>] (position 0); the script continues from position 0
    # with "ab🎉!" (4 byte tokens for the emoji; "!" is the padding id, still sampled), then
    # the end token, which stops sampling.
    script = [*tok.encode("ab🎉!"), tok.eos_id, *tok.encode("never")]
    model = _script_model(script, tok.vocabulary_size)
    assert generate(model, tok, "", max_new_tokens=20, temperature=0) == "ab🎉!"
    # A prompt of 2 tokens sits after <|endoftext|>: the continuation is predicted from
    # position 2 on (without the frame it would start at position 1, with "y").
    script = [*tok.encode("xy"), *tok.encode("ok"), tok.eos_id]
    model = _script_model(script, tok.vocabulary_size)
    assert generate(model, tok, "xy", max_new_tokens=20, temperature=0) == "ok"
    # Cut inside the emoji's bytes: the partial character decodes as U+FFFD, no error.
    model = _script_model([*tok.encode("🎉"), tok.eos_id], tok.vocabulary_size)
    assert generate(model, tok, "", max_new_tokens=2, temperature=0) == "\ufffd"
