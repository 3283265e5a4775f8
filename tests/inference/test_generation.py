"""Sampling from a causal LM: greedy is exact, seeds repeat, the context is cropped; the
key/value cache gives the same greedy tokens as the whole context every step; the cached forward
pass is the family's, found through the card (a run) or the structure (a bare model), and the
uncached path is said once."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import keras
import numpy as np
import pytest

from nnzoo.data.tokenizers import BytePairTokenizer, ByteTokenizer
from nnzoo.data.tokenizers._byte_pair_reference import byte_to_unicode
from nnzoo.errors import NnzooError, ParameterError
from nnzoo.inference import sampling as generation
from nnzoo.inference.sampling import find_cached_forward, sample_ids, sample_next, sample_texts
from nnzoo.models.gpt import CachedGPT
from nnzoo.registry import build_model, get_card

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


def generate(model, tokenizer, prompt, **kwargs):
    """The continuation of one prompt."""
    return sample_texts(model, tokenizer, [prompt], **kwargs)[0]


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


@pytest.mark.parametrize(
    "arguments, message",
    [
        (
            dict(temperature=-1),
            "temperature must be a finite number >= 0 (0 is greedy). Received: temperature=-1",
        ),
        (
            dict(temperature=float("nan")),
            "temperature must be a finite number >= 0 (0 is greedy). Received: temperature=nan",
        ),
        (dict(top_k=0), "top_k must be an integer >= 1. Received: top_k=0"),
        (
            dict(max_new_tokens=-1),
            "max_new_tokens must be an integer >= 0. Received: max_new_tokens=-1",
        ),
    ],
)
def test_bad_arguments_name_the_parameter_and_the_value(next_model, tmp_path, arguments, message):
    import nnzoo

    # A ValueError as Keras raises, and the one line a user sees: the parameter, not a flag.
    with pytest.raises(ValueError) as raised:
        generate(next_model, ByteTokenizer(), "a", **arguments)
    assert isinstance(raised.value, ParameterError) and str(raised.value) == message
    # The run-level API checks before it loads anything (tmp_path is not a run).
    with pytest.raises(ParameterError) as raised:
        nnzoo.generate(tmp_path, "a", **arguments)
    assert str(raised.value) == message


# --------------------------------------------------------------------------- GPT-2's tokenizer


def _byte_pair() -> BytePairTokenizer:
    """GPT-2's layout without merges: the 256 byte symbols ("!" = 0), <|endoftext|> = 256."""
    vocabulary = {char: i for i, char in enumerate(byte_to_unicode().values())}
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


# --------------------------------------------------------------------------- the cached path

FIXTURES = Path(__file__).parents[1] / "fixtures" / "gpt_tiny_before_cache"


@pytest.fixture(scope="module")
def gpt():
    """A tiny model of the gpt card (2 layers, 48 positions), random weights, seed fixed."""
    keras.utils.set_random_seed(1)
    return build_model(
        "gpt_nano",
        num_layers=2,
        hidden_dim=32,
        num_heads=2,
        intermediate_dim=64,
        max_sequence_length=48,
    )


@pytest.fixture
def graph_mode(monkeypatch):
    """The cached loop as a TensorFlow graph without XLA: the same computation, compiled in a
    second where XLA takes several (the tests of the identity itself keep XLA)."""
    monkeypatch.setattr(generation, "JIT_COMPILE", False)


@pytest.fixture
def paths(monkeypatch):
    """The paths each generation ran, in order: ``"cached"``, ``"uncached"``."""
    ran = []
    for name, path in (("_sample_cached", "cached"), ("_sample_uncached", "uncached")):
        real = getattr(generation, name)

        def spy(*args, real=real, path=path, **kwargs):
            ran.append(path)
            return real(*args, **kwargs)

        monkeypatch.setattr(generation, name, spy)
    return ran


def _warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "nnzoo.inference.sampling"]


def _ids(model, contexts, **kwargs):
    return sample_ids(model, contexts, temperature=0, **kwargs)


def test_greedy_is_identical_with_and_without_the_cache_for_one_prompt(gpt):
    assert isinstance(find_cached_forward(gpt), CachedGPT)  # the cached path is taken
    cached = _ids(gpt, [[10, 20, 30, 40, 50]], max_new_tokens=20)
    uncached = _ids(gpt, [[10, 20, 30, 40, 50]], max_new_tokens=20, use_cache=False)
    assert cached == uncached
    assert len(cached[0]) == 20 and len(set(cached[0])) > 1


def test_greedy_is_identical_for_a_batch_of_different_lengths_beyond_the_positions(gpt):
    # Rows of 3, 9 and 15 tokens, 50 new tokens: 33 fit in the 48 positions with the cache,
    # the rest run on the cropped context (as the uncached path crops all along).
    rng = np.random.default_rng(0)
    contexts = [rng.integers(0, 256, size=n).tolist() for n in (3, 9, 15)]
    cached = _ids(gpt, contexts, max_new_tokens=50)
    uncached = _ids(gpt, contexts, max_new_tokens=50, use_cache=False)
    assert cached == uncached
    assert [len(row) for row in cached] == [50, 50, 50]
    # Each row is the same as when generated alone (rows do not see each other's padding).
    assert _ids(gpt, contexts[:1], max_new_tokens=50, use_cache=False) == cached[:1]


def test_each_row_stops_at_its_own_end_token(gpt, graph_mode):
    contexts = [[10, 20, 30, 40, 50], [7, 8]]
    full = _ids(gpt, contexts, max_new_tokens=12, use_cache=False)
    end = full[0][3]  # the 4th token of the first row ends it (maybe the second row too)
    cut = [row[: row.index(end)] if end in row else row for row in full]
    assert _ids(gpt, contexts, max_new_tokens=12, end_id=end) == cut
    assert _ids(gpt, contexts, max_new_tokens=12, end_id=end, use_cache=False) == cut


def test_cached_sampling_repeats_with_a_seed_and_keeps_to_top_k(gpt, graph_mode):
    contexts = [[10, 20, 30], [40, 50, 60, 70]]
    kwargs = dict(max_new_tokens=16, temperature=1.5, seed=5)
    a = sample_ids(gpt, contexts, **kwargs)
    assert a == sample_ids(gpt, contexts, **kwargs)
    assert a != sample_ids(gpt, contexts, **{**kwargs, "seed": 6})
    # top_k=1 is greedy whatever the temperature.
    assert sample_ids(gpt, contexts, max_new_tokens=16, temperature=3.0, top_k=1) == _ids(
        gpt, contexts, max_new_tokens=16
    )


def test_models_of_another_structure_take_the_uncached_path_said_once(paths, caplog):
    model = _model("next")
    assert find_cached_forward(model) is None
    with caplog.at_level(logging.WARNING, logger="nnzoo.inference.sampling"):
        for _ in range(2):
            assert generate(model, ByteTokenizer(), "a", max_new_tokens=3, temperature=0) == "bcd"
        generate(model, ByteTokenizer(), "a", max_new_tokens=3, use_cache=False)
    assert paths == ["uncached"] * 3
    assert _warnings(caplog) == [
        "generating without the key/value cache (each new token runs the model on the whole "
        f"context, many times slower): model {model.name!r} has the structure of no family "
        "with a cached forward pass"
    ]


def _renamed(model):
    """``model`` with every layer renamed, the same weights."""

    def rename(layer):
        return layer.__class__.from_config({**layer.get_config(), "name": f"my_{layer.name}"})

    clone = keras.models.clone_model(model, clone_function=rename)
    clone.set_weights(model.get_weights())
    return clone


def test_a_renamed_layer_keeps_the_cached_path(gpt, paths, caplog, graph_mode):
    # The family recognises its layers by their types and order, not by their names.
    renamed = _renamed(gpt)
    assert "my_transformer_layer_0" in [layer.name for layer in renamed.layers]
    assert isinstance(find_cached_forward(renamed, card=get_card("gpt_nano")), CachedGPT)
    with caplog.at_level(logging.WARNING, logger="nnzoo.inference.sampling"):
        cached = _ids(renamed, [[10, 20, 30]], max_new_tokens=8)
    assert paths == ["cached"] and _warnings(caplog) == []
    assert cached == _ids(gpt, [[10, 20, 30]], max_new_tokens=8, use_cache=False)


def test_the_card_decides_the_path_and_says_why_not_once(paths, caplog, graph_mode):
    keras.utils.set_random_seed(2)
    model = build_model("gpt_nano", num_layers=1, hidden_dim=16, num_heads=2)
    other = _model("next")  # not a gpt at all
    card = get_card("gpt_nano")
    without = dataclasses.replace(card, cached_forward=None)
    with caplog.at_level(logging.WARNING, logger="nnzoo.inference.sampling"):
        cached = _ids(model, [[1, 2, 3]], max_new_tokens=4, card=card)
        assert paths == ["cached"] and _warnings(caplog) == []
        for _ in range(2):  # a card without a cached forward pass: the structure is not asked
            assert _ids(model, [[1, 2, 3]], max_new_tokens=4, card=without) == cached
        for _ in range(2):  # a model without the card's layers
            _ids(other, [[1, 2, 3]], max_new_tokens=2, card=card)
    assert paths == ["cached", *["uncached"] * 4]
    assert [message.split(": ", 1)[1] for message in _warnings(caplog)] == [
        "the gpt_nano card has no cached forward pass",
        f"model {other.name!r} does not have the layers of the gpt_nano card",
    ]


def test_a_model_saved_before_the_cache_loads_and_matches(graph_mode):
    # Saved by the code before the key/value cache existed (nnzoo 1533222); with it the
    # logits it gave then.
    model = keras.saving.load_model(FIXTURES / "gpt_tiny_before_cache.keras")
    saved = np.load(FIXTURES / "gpt_tiny_before_cache.npz")
    inputs = {"token_ids": saved["token_ids"], "padding_mask": saved["padding_mask"]}
    logits = np.asarray(model.predict_on_batch(inputs))
    np.testing.assert_allclose(logits, saved["logits"], atol=1e-5)
    forward = find_cached_forward(model)  # a bare model: recognised by its structure
    assert isinstance(forward, CachedGPT)
    contexts = [saved["token_ids"][0].tolist(), saved["token_ids"][1, :9].tolist()]
    cached = _ids(model, contexts, max_new_tokens=10)
    assert cached == _ids(model, contexts, max_new_tokens=10, use_cache=False)
    # The cached logits of the prompt equal the plain call's.
    caches = forward.init_caches(2, 12)
    assert [tuple(cache.shape) for cache in caches] == [(2, 2, 12, 2, 16)] * 2
    prefill, _ = forward.call_with_cache(saved["token_ids"], caches, 0)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(prefill)[0], saved["logits"][0], atol=1e-5
    )


# -------------------------------------------------------------------- nnzoo generate --prompts


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    """A one-layer gpt_nano run trained for one short epoch (its text is not the point)."""
    import nnzoo
    from nnzoo.run.bind import load_config

    overrides = [
        "train.epochs=1",
        "data.params.max_chars=4000",
        "data.params.sequence_length=16",
        "model.params.num_layers=1",
        "model.params.hidden_dim=16",
        "model.params.num_heads=2",
        "model.params.intermediate_dim=32",
        "model.params.max_sequence_length=48",
    ]
    config = load_config(Path(__file__).parents[2] / "configs" / "gpt_nano.yaml", overrides)
    return nnzoo.train(config, runs_dir=tmp_path_factory.mktemp("lm"), quiet=True).run_dir


def test_generate_prompts_runs_one_batch_prints_in_order_and_writes_jsonl(
    lm_run, tmp_path, graph_mode
):
    from click.testing import CliRunner

    from nnzoo.cli import cli
    from nnzoo.data.tokenizers import load_tokenizer
    from nnzoo.inference.load import load_run

    prompts = tmp_path / "prompts.txt"
    prompts.write_text("def \n\nimport os\n   \nclass Ä:\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    args = ["generate", str(lm_run), "--prompts", str(prompts), "--max-new-tokens", "8"]
    result = CliRunner().invoke(cli, [*args, "--temperature", "0", "--output", str(out)])
    assert result.exit_code == 0, result.output
    # Blank lines are skipped; each prompt alone, without the cache, gives the same text.
    run = load_run(lm_run)
    tokenizer = load_tokenizer(str(lm_run / "tokenizer.json"))
    texts = [
        generate(run.model, tokenizer, p, max_new_tokens=8, temperature=0, use_cache=False)
        for p in ("def ", "import os", "class Ä:")
    ]
    assert result.output == (
        f"### prompt 1\ndef {texts[0]}\n### prompt 2\nimport os{texts[1]}\n"
        f"### prompt 3\nclass Ä:{texts[2]}\n"
    )
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows == [
        {"prompt": "def ", "text": texts[0]},
        {"prompt": "import os", "text": texts[1]},
        {"prompt": "class Ä:", "text": texts[2]},
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl", "prompts.txt"]


def test_generate_output_replaces_a_file_only_with_force(lm_run, tmp_path, graph_mode):
    """As ``predict --output``: an existing file is kept without --force (exit 2, checked
    before generating), replaced whole with it."""
    from click.testing import CliRunner

    from nnzoo.cli import cli

    out = tmp_path / "out.jsonl"
    out.write_text("old\n")
    args = ["generate", str(lm_run), "--prompt", "def ", "--max-new-tokens", "2"]
    args += ["--temperature", "0", "--output", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.stderr == (
        f"nnzoo: error: {out}: exists. Fix: pass --force to replace it, or choose another file "
        "name\n"
    )
    assert out.read_text() == "old\n"
    result = CliRunner().invoke(cli, [*args, "--force"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [row["prompt"] for row in rows] == ["def "]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_a_run_finds_its_cached_forward_through_its_card(
    lm_run, paths, caplog, graph_mode, monkeypatch
):
    import nnzoo
    from nnzoo.cards import REGISTRY

    with caplog.at_level(logging.WARNING, logger="nnzoo.inference.sampling"):
        cached = nnzoo.generate(lm_run, "def ", max_new_tokens=4, temperature=0)
        assert paths == ["cached"] and _warnings(caplog) == []
        # The run's model.name card says where the pass is, not the model's structure.
        card = dataclasses.replace(REGISTRY["gpt_nano"], cached_forward=None)
        monkeypatch.setitem(REGISTRY, "gpt_nano", card)
        assert nnzoo.generate(lm_run, "def ", max_new_tokens=4, temperature=0) == cached
    assert paths == ["cached", "uncached"]
    assert _warnings(caplog)[0].endswith(": the gpt_nano card has no cached forward pass")


def test_read_prompts_names_the_file(tmp_path):
    from nnzoo.inference.generate import read_prompts

    with pytest.raises(NnzooError) as raised:
        read_prompts(tmp_path / "p.txt")
    assert str(raised.value) == (
        f"{tmp_path / 'p.txt'}: no such file. Fix: give a text file, one prompt a line"
    )
    (tmp_path / "bad.txt").write_bytes(b"ok\n\xff\n")
    with pytest.raises(NnzooError) as raised:
        read_prompts(tmp_path / "bad.txt")
    assert (
        str(raised.value)
        == f"{tmp_path / 'bad.txt'}: not UTF-8 text (byte 3). Fix: save it as UTF-8"
    )


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--temperature", "-1", "--temperature: must be a finite number >= 0 (received -1)"),
        ("--top-k", "0", "--top-k: must be an integer >= 1 (received 0)"),
        ("--max-new-tokens", "-2", "--max-new-tokens: must be an integer >= 1 (received -2)"),
    ],
)
def test_the_cli_names_the_flag_of_a_bad_sampling_argument(tmp_path, flag, value, message):
    from click.testing import CliRunner

    from nnzoo.cli import cli

    result = CliRunner().invoke(cli, ["generate", str(tmp_path), flag, value])
    assert result.exit_code == 2
    fix = "Fix: see `nnzoo generate --help`"
    assert result.output == f"nnzoo: error: {message}. {fix}\n"


def test_generate_prompts_refuses_a_missing_or_empty_file_and_a_prompt_too(tmp_path):
    from click.testing import CliRunner

    from nnzoo.cli import cli

    run_dir = str(tmp_path / "run")
    missing = CliRunner().invoke(cli, ["generate", run_dir, "--prompts", str(tmp_path / "p.txt")])
    assert missing.exit_code == 2
    assert missing.output == (
        f"nnzoo: error: --prompts {tmp_path / 'p.txt'}: no such file. "
        "Fix: give a text file, one prompt a line\n"
    )
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["generate", run_dir, "--prompts", str(empty)])
    assert result.exit_code == 2
    assert result.output == (
        f"nnzoo: error: --prompts {empty}: has no prompt (blank lines are skipped). "
        "Fix: write one prompt a line\n"
    )
    both = CliRunner().invoke(cli, ["generate", run_dir, "--prompts", str(empty), "--prompt", "a"])
    assert both.exit_code == 2
    assert both.output.startswith("nnzoo: error: --prompt and --prompts cannot be used together.")
