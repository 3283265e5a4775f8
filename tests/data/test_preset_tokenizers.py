"""A KerasHub preset's tokenizer as an nnzoo tokenizer: the same ids as KerasHub on varied text
(both of KerasHub's paths) and as nnzoo's earlier pure-Python encoders (the reference the
Hugging Face engine is held to), the preset's special ids, a self-contained JSON, and every
text source reading text with it. The KerasHub tokenizers are built from small vocabularies here
(BERT's special tokens where BERT has them; GPT-2's byte alphabet with merges learned on a short
text), so nothing downloads."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import replace as dataclass_replace
from pathlib import Path

import numpy as np
import pytest
import regex
from text_fixtures import write_text_csv, write_text_folder

from nnzoo.data import IGNORE_INDEX, load_data
from nnzoo.data.text import encode_texts, load_text_corpus, mask_tokens
from nnzoo.data.tokenizers import (
    BytePairTokenizer,
    WordPieceTokenizer,
    from_keras_hub,
    load_tokenizer,
    tokenizer_from_json,
)
from nnzoo.data.tokenizers._byte_pair_reference import byte_to_unicode
from nnzoo.errors import ConfigError

keras_hub = pytest.importorskip("keras_hub")

SPECIAL_SPACES = "\u00a0\u2009\u202f\u3000"  # KerasHub's: whitespace its pattern knows
TEXTS = [
    "The quick brown fox jumped.",
    "don't I'll we're it's 'quoted' \"double\"",
    "café naïve Ångström ÀÉÎõü ñ",
    "中文字符 世界 and ﬁ ligature",
    "emoji 🎉🐍 done",
    "12345 123 4123 3.14159 1,000,000",
    "a  b   c    d",
    "line one\nline two\n\n\nthree",
    "tab\there\t\tand\r\nwindows",
    " leading and trailing  ",
    "",
    "   ",
    "hi!!! ?? ... (x) [y] {z} <w> @#$%^&*",
    "def f(x):\n    return x + 1\n",
    "a\u00a0b x\u3000y \u2003em \u200bzero",
    "[CLS] [MASK] <|endoftext|> in text",
    "a<|endoftext|>b",
    "UPPER lower MiXeD",
]

# ------------------------------------------------------------------------------ BERT

_WORD_LIST = (
    "the quick brown fox jump ##ed ##s don ' t i ll we re it s quoted double cafe naive "
    "angstrom aeiou n 中 文 字 符 世 界 and fi lig ##ature emoji done 1 2 3 4 5 , . 14 ##15 ##9 "
    "000 a b c d line one two three tab here windows leading trailing hi ! ? ( ) [ ] { } < > "
    "@ # $ % ^ & * def f x : return + = upper lower mix ##ed zero em cl ##s mask | end ##of "
    '##text in text y z w - _ " ; / \\ ` ~ ##e ##d ##n ##t ##a é ï å ñ à ç café naïve ##é'
)
_WORDS = _WORD_LIST.split()
_LETTERS = [chr(c) for c in range(ord("a"), ord("z") + 1)]
_WORDS += _LETTERS + ["##" + c for c in _LETTERS]


def _bert_vocabulary() -> list[str]:
    # BERT's layout: [PAD] 0, [unused...], [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103.
    vocabulary = ["[PAD]"] + [f"[unused{i}]" for i in range(99)]
    vocabulary += ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    return vocabulary + list(dict.fromkeys(w for w in _WORDS if w not in vocabulary))


BERT_OPTIONS = {
    "uncased": {"lowercase": True},
    "uncased_strip_accents": {"lowercase": True, "strip_accents": True},
    "cased": {"lowercase": False},
    "special_tokens_in_strings": {"lowercase": True, "special_tokens_in_strings": True},
}


@pytest.fixture(scope="module", params=list(BERT_OPTIONS))
def bert_pair(request):
    reference = keras_hub.tokenizers.BertTokenizer(
        vocabulary=_bert_vocabulary(), **BERT_OPTIONS[request.param]
    )
    return reference, from_keras_hub(reference)


@pytest.fixture(scope="module")
def bert():
    reference = keras_hub.tokenizers.BertTokenizer(vocabulary=_bert_vocabulary(), lowercase=True)
    return from_keras_hub(reference)


# ------------------------------------------------------------------------------ GPT-2

_GPT2_WORDS = regex.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)


def _learn_bpe(text: str, num_merges: int) -> tuple[dict[str, int], list[str]]:
    """GPT-2's byte alphabet and ``num_merges`` merges learned on ``text`` (OpenAI's recipe:
    the most frequent pair inside GPT-2's words, repeatedly); ``<|endoftext|>`` last, as in
    GPT-2 (50256), so padding (KerasHub's 0) is an ordinary token."""
    to_char = byte_to_unicode()
    counts = Counter(_GPT2_WORDS.findall(text))
    words = {w: [to_char[b] for b in w.encode("utf-8")] for w in counts}
    vocabulary = {char: i for i, char in enumerate(to_char.values())}  # "!" = 0, as GPT-2
    merges = []
    for _ in range(num_merges):
        pairs: Counter[tuple[str, str]] = Counter()
        for word, symbols in words.items():
            for pair in zip(symbols, symbols[1:]):
                pairs[pair] += counts[word]
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda item: (item[1], item[0]))
        merges.append(f"{a} {b}")
        vocabulary.setdefault(a + b, len(vocabulary))
        for word, symbols in words.items():
            merged, i = [], 0
            while i < len(symbols):
                if symbols[i : i + 2] == [a, b]:
                    merged.append(a + b)
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            words[word] = merged
    vocabulary["<|endoftext|>"] = len(vocabulary)
    return vocabulary, merges


_CORPUS = (Path(__file__).resolve().parents[2] / "nnzoo" / "data" / "text.py").read_text()[:12000]


@pytest.fixture(scope="module")
def gpt2_reference():
    vocabulary, merges = _learn_bpe(_CORPUS + " ".join(TEXTS), 250)
    return keras_hub.models.GPT2Tokenizer(vocabulary=vocabulary, merges=merges)


@pytest.fixture(scope="module")
def gpt2(gpt2_reference):
    return from_keras_hub(gpt2_reference)


def _tf_path_ids(reference, texts):
    """KerasHub's TensorFlow path: the tokenizer inside a ``tf.data`` pipeline."""
    tf = pytest.importorskip("tensorflow")
    pytest.importorskip("tensorflow_text")
    data = tf.data.Dataset.from_tensor_slices(texts).map(reference)
    return [x.numpy().tolist() for x in data]


# ------------------------------------------------------------------------------ WordPiece


def test_wordpiece_gives_keras_hub_ids_on_both_of_its_paths(bert_pair):
    reference, tok = bert_pair
    texts = [*TEXTS, _CORPUS[:2000]]
    eager = [np.asarray(reference(t)).tolist() for t in texts]  # KerasHub's pure-Python path
    assert [tok.encode(t) for t in texts] == eager
    assert _tf_path_ids(reference, texts) == eager
    assert sum(map(len, eager)) > 700  # the texts really tokenized (few [UNK])
    assert sum(ids.count(100) for ids in eager) < 60  # cased: capitalised words are [UNK]


#: Unsplittable tokens among accents, CJK and non-breaking spaces (the engine's other path).
MIXED = [
    "[CLS] café [SEP] naïve [MASK]",
    "Ångström[MASK]ÉCOLE ñ[CLS]",
    "中文[SEP]字符 and ﬁ[MASK]",
    "a\u00a0[CLS]\u00a0b x\u3000[SEP]",
    "quoted[CLS]" + "ж" * 60,
]


def test_wordpiece_gives_keras_hub_and_reference_ids_around_unsplittable_tokens(bert_pair):
    reference, tok = bert_pair
    eager = [np.asarray(reference(t)).tolist() for t in MIXED]
    assert [tok.encode(t) for t in MIXED] == eager == [tok._reference.encode(t) for t in MIXED]
    assert tok.encode_batch(MIXED) == eager
    if tok.unsplittable_tokens:
        assert tok.encode(MIXED[0])[0] == tok.cls_id  # kept whole, not case-folded


def test_wordpiece_keeps_the_preset_special_ids(bert):
    assert (bert.pad_id, bert.unk_id, bert.cls_id, bert.sep_id, bert.mask_id) == (
        0, 100, 101, 102, 103,
    )  # fmt: skip
    assert (bert.bos_id, bert.eos_id) == (101, 102)  # KerasHub's start / end tokens
    assert bert.special_ids == {0, 100, 101, 102, 103}
    assert bert.vocabulary_size == len(_bert_vocabulary())
    # Without special_tokens_in_strings, "[CLS]" in a text is text, not id 101.
    assert bert.encode("[CLS]") == [bert._ids[t] for t in ("[", "cl", "##s", "]")]


def test_wordpiece_decodes_like_keras_hub(bert_pair):
    reference, tok = bert_pair
    for text in TEXTS:
        ids = tok.encode(text)
        assert tok.decode(ids) == reference.detokenize(ids)
    assert tok.decode([101, *tok.encode("jumped"), 102, 0]) == "[CLS] jumped [SEP] [PAD]"


# ------------------------------------------------------------------------------ byte pair


def test_byte_pair_gives_keras_hub_tf_path_ids(gpt2_reference, gpt2):
    texts = [*TEXTS, _CORPUS[:3000]]
    expected = _tf_path_ids(gpt2_reference, texts)
    assert [gpt2.encode(t) for t in texts] == expected
    # Merges learned on the text give fewer ids than bytes; <|endoftext|> is one id.
    assert len(expected[-1]) < 0.6 * len(texts[-1])
    assert gpt2.encode("a<|endoftext|>b") == [gpt2.vocabulary["a"], 506, gpt2.vocabulary["b"]]


def test_byte_pair_none_gives_keras_hub_eager_ids(gpt2_reference):
    # KerasHub 0.32's eager path merges over the whole text (its split pattern, given to
    # Hugging Face tokenizers as a plain string, never matches): "none" reproduces it.
    tok = from_keras_hub(gpt2_reference, pre_tokenizer="none")
    texts = [*TEXTS, _CORPUS[:3000]]
    assert [tok.encode(t) for t in texts] == [
        np.asarray(gpt2_reference(t)).tolist() for t in texts
    ]
    # ... which differs from GPT-2's words on runs of spaces.
    assert tok.encode("a  b   c    d") != from_keras_hub(gpt2_reference).encode("a  b   c    d")


#: Where KerasHub's word pattern is subtle: runs of spaces and other whitespace, the four
#: special spaces (and the sequence of them its end mark looks for), vertical tabs, line and
#: paragraph separators, contractions, unsplittable tokens next to spaces.
BYTE_PAIR_EDGES = [
    "a  b   c    d\t\te\n\n\n  f \t g",
    "trailing spaces  ",
    "x \u00a0\u2009\u202f\u3000",
    "\u00a0\u2009\u202f\u3000 y\u00a0z \u3000w\u2009",
    "v\x0bw \x0b x\x0c\x0b y",
    "line\u2028para\u2029next\x85 \u2003em",
    "it's I'M we'll 'twas can''t",
    " <|endoftext|>  <|endoftext|>a <|endoftext|>\n",
    "x\r\n\r\n  y\r",
]


@pytest.mark.parametrize("add_prefix_space", [False, True])
@pytest.mark.parametrize("pre_tokenizer", ["gpt2", "none"])
def test_byte_pair_gives_the_reference_ids(gpt2, pre_tokenizer, add_prefix_space):
    tok = BytePairTokenizer(
        gpt2.vocabulary,
        gpt2.merges,
        special_tokens=gpt2.special_tokens,
        add_prefix_space=add_prefix_space,
        pre_tokenizer=pre_tokenizer,
    )
    assert tok._engine is not None
    texts = [*TEXTS, *BYTE_PAIR_EDGES, _CORPUS]
    expected = [tok._reference.encode(t) for t in texts]
    assert [tok.encode(t) for t in texts] == expected == tok.encode_batch(texts)


def test_byte_pair_splits_random_whitespace_and_symbols_into_the_reference_s_words(gpt2):
    """The engine's one pattern stands for the reference's marks and splits: the same words
    on random texts of the characters where they matter."""
    to_byte = {char: byte for byte, char in byte_to_unicode().items()}
    rng = random.Random(0)
    alphabet = [" ", " ", "\t", "\n", "\r", "\f", "\x0b", *SPECIAL_SPACES, "a", "B", "1"]
    alphabet += ["+", "'", "s", "ll", "é", "\u2028"]
    texts = []
    for _ in range(3000):
        parts = [rng.choice(alphabet) for _ in range(rng.randint(1, 12))]
        if rng.random() < 0.1:  # KerasHub's end mark looks for this sequence
            parts.append(rng.choice("\t\n\f\r ") + SPECIAL_SPACES)
        texts.append("".join(parts))
    pre_tokenizer = gpt2._engine.pre_tokenizer
    references = {
        prefix: BytePairTokenizer(gpt2.vocabulary, [], add_prefix_space=bool(prefix))._reference
        for prefix in ("", " ")
    }
    for text in texts:
        for prefix, reference in references.items():
            words = pre_tokenizer.pre_tokenize_str(prefix + text)
            assert [bytes(to_byte[c] for c in w).decode() for w, _ in words] == (
                reference.split(text)
            ), repr(text)


def test_byte_pair_gives_keras_hub_tf_path_ids_on_the_edges(gpt2_reference, gpt2):
    assert [gpt2.encode(t) for t in BYTE_PAIR_EDGES] == _tf_path_ids(
        gpt2_reference, BYTE_PAIR_EDGES
    )


def test_byte_pair_gives_the_reference_ids_on_every_kind_of_character(gpt2):
    """Each character inside a word, doubled, after a digit, after two spaces: the engine's
    classes (written out from the regex package's tables) split as the reference's."""
    codes = [*range(0x3400), *range(0x3400, 0x110000, 97)]
    characters = [chr(code) for code in codes if not 0xD800 <= code <= 0xDFFF]
    texts = [
        "".join(f"a{c}b {c}{c} 1{c}  {c}\n" for c in characters[i : i + 500])
        for i in range(0, len(characters), 500)
    ]
    assert [gpt2.encode(t) for t in texts] == [gpt2._reference.encode(t) for t in texts]


def test_byte_pair_leaves_to_the_reference_what_the_engine_cannot_encode(gpt2):
    symbols = byte_to_unicode()
    vocabulary = {**gpt2.vocabulary, symbols[10] + symbols[9]: 507}  # "\n\t"
    tok = BytePairTokenizer(
        vocabulary, [f"{symbols[10]} {symbols[9]}"], special_tokens=gpt2.special_tokens
    )
    engine = tok._engine
    # "६" is KerasHub's mark for a space that starts a word: a "६" of the text's own may be
    # dropped with the marks. Before an unsplittable token, the reference sees a space that
    # starts a word; the engine splits the token off first and sees the end of a text.
    for text in ("a६", "x\n\t <|endoftext|>"):
        assert engine.encode(text, add_special_tokens=False).ids != tok._reference.encode(text)
        assert tok.encode(text) == tok._reference.encode(text)
    texts = ["a६", "x\n\t <|endoftext|>", "x\n\t y", "", "a६"]  # the batch path as well
    assert tok.encode_batch(texts) == [tok._reference.encode(text) for text in texts]
    assert tok.encode("a६") == [tok.vocabulary["a"]]
    assert tok.encode("x\n\t <|endoftext|>")[1] == 507
    # Without every byte's symbol, tokenizers' BPE would merge across a dropped byte; with a
    # merge making a symbol outside the vocabulary, it cannot be built: the reference encodes.
    vocabulary = {s: i for s, i in gpt2.vocabulary.items() if s != symbols[ord("x")]}
    for incomplete, merges in ((vocabulary, gpt2.merges), (gpt2.vocabulary, ["a q"])):
        tok = BytePairTokenizer(incomplete, merges, special_tokens=gpt2.special_tokens)
        assert tok._engine is None
        assert tok.encode("axb aq") == tok._reference.encode("axb aq")
        assert tok.encode_batch(["axb aq", ""]) == [tok._reference.encode("axb aq"), []]
    with pytest.raises(UnicodeEncodeError):  # a lone surrogate, as the reference says
        gpt2.encode("caf\udce9")


def test_byte_pair_special_ids_and_padding(gpt2):
    end = gpt2.vocabulary["<|endoftext|>"]
    assert end == 506
    assert (gpt2.bos_id, gpt2.eos_id, gpt2.pad_id) == (end, end, 0)  # KerasHub pads with 0
    assert (gpt2.cls_id, gpt2.sep_id, gpt2.mask_id, gpt2.unk_id) == (None, None, None, None)
    assert gpt2.special_ids == {end}
    assert gpt2.frames_documents
    assert gpt2.vocabulary_size == 507


def test_byte_pair_decodes_exact_bytes_like_keras_hub(gpt2_reference, gpt2):
    for text in TEXTS:
        ids = gpt2.encode(text)
        assert gpt2.decode(ids) == text
        assert gpt2.decode(ids) == gpt2_reference.detokenize(ids)
    # Half of an emoji's bytes is invalid UTF-8: replaced, never an error.
    first_byte = gpt2.vocabulary[byte_to_unicode()["🎉".encode()[0]]]
    assert gpt2.decode([first_byte]) == "\ufffd"


def test_byte_pair_rejects_an_unknown_pre_tokenizer(gpt2):
    with pytest.raises(ValueError, match=r"Received: pre_tokenizer='bert'"):
        BytePairTokenizer(gpt2.vocabulary, gpt2.merges, pre_tokenizer="bert")


# ------------------------------------------------------------------------------ JSON


def test_json_round_trip_keeps_the_ids(bert, gpt2, tmp_path):
    for tok in (bert, gpt2):
        path = tmp_path / f"{tok.kind}.json"
        tok.save(str(path))
        again = load_tokenizer(str(path))
        assert type(again) is type(tok)
        assert again == tok
        assert [again.encode(t) for t in TEXTS] == [tok.encode(t) for t in TEXTS]
        assert (again.pad_id, again.cls_id, again.eos_id) == (tok.pad_id, tok.cls_id, tok.eos_id)
        assert again.special_ids == tok.special_ids
    assert json.loads(gpt2.to_json())["kind"] == "byte_pair"


def test_a_saved_run_s_wordpiece_json_still_loads_with_nnzoo_s_layout():
    # tokenizer.json as runs wrote it before presets: ordinary tokens only.
    old = {
        "kind": "wordpiece",
        "config": {
            "vocabulary": ["the", "fox", "##es"],
            "lowercase": True,
            "strip_accents": True,
            "suffix_indicator": "##",
        },
    }
    tok = tokenizer_from_json(json.dumps(old))
    assert isinstance(tok, WordPieceTokenizer)
    assert tok.encode("The foxes, zebra") == [7, 8, 9, 1, 1]
    assert (tok.pad_id, tok.cls_id, tok.mask_id) == (0, 2, 4)
    assert tok.special_ids == set(range(7))
    assert json.loads(tok.to_json()) == old


def test_from_keras_hub_refuses_other_tokenizers():
    with pytest.raises(ValueError, match=r"\. Received: a str$"):
        from_keras_hub("bert_tiny_en_uncased")


# ------------------------------------------------------------------------------ masks, masking


def test_padding_mask_comes_from_lengths_not_from_the_padding_id(gpt2):
    bang = gpt2.vocabulary["!"]
    assert bang == gpt2.pad_id == 0  # GPT-2 pads with an ordinary token
    inputs = encode_texts(gpt2, ["!!", "", "hi"], 4)
    np.testing.assert_array_equal(inputs["token_ids"][0], [0, 0, 0, 0])
    np.testing.assert_array_equal(
        inputs["padding_mask"], [[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0]]
    )
    with pytest.raises(ValueError, match="no \\[CLS\\] or \\[SEP\\] token. Received: a Byte"):
        encode_texts(gpt2, ["hi"], 4, segments=True)


def test_bert_framing_and_padding_use_the_preset_ids(bert):
    inputs = encode_texts(bert, ["the fox", ""], 6, segments=True)
    fox = bert._ids["fox"]
    np.testing.assert_array_equal(
        inputs["token_ids"], [[101, bert._ids["the"], fox, 102, 0, 0], [101, 102, 0, 0, 0, 0]]
    )
    np.testing.assert_array_equal(inputs["padding_mask"], [[1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0]])


def test_masking_never_chooses_a_special_token_wherever_the_specials_sit(bert):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, bert.vocabulary_size, size=(200, 32))
    ids[:, ::4] = rng.choice(sorted(bert.special_ids), size=(200, 8))
    mask = np.ones_like(ids)
    masked, labels = mask_tokens(
        ids,
        mask,
        rng,
        vocabulary_size=bert.vocabulary_size,
        mask_id=bert.mask_id,
        special_ids=bert.special_ids,
        rate=1.0,
    )
    special = np.isin(ids, sorted(bert.special_ids))
    assert (labels[special] == IGNORE_INDEX).all()
    np.testing.assert_array_equal(labels[~special], ids[~special])
    np.testing.assert_array_equal(masked[special], ids[special])
    replaced = (masked != ids) & (masked != bert.mask_id)
    assert replaced.sum() > 300  # ~10 % of 4,800 draw a random token ...
    assert not np.isin(masked[replaced], sorted(bert.special_ids)).any()  # ... never a special
    assert 0.75 < (masked[~special] == bert.mask_id).mean() < 0.85


# ------------------------------------------------------------------------------ text sources

SMALL = 20_000


@pytest.fixture(scope="module")
def gpt2_json(gpt2, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("gpt2") / "tokenizer.json"
    gpt2.save(str(path))
    return str(path)


@pytest.fixture(scope="module")
def bert_json(bert, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("bert") / "tokenizer.json"
    bert.save(str(path))
    return str(path)


def test_text_corpus_language_modeling_with_a_gpt2_tokenizer(gpt2, gpt2_json):
    data = load_text_corpus(seed=0, max_chars=SMALL, tokenizer=gpt2_json, sequence_length=32)
    assert data.spec.vocabulary_size == 507
    assert tokenizer_from_json(data.artifacts["tokenizer.json"]) == gpt2
    x, y = data.test
    ids, mask = x["token_ids"].reshape(-1), x["padding_mask"].reshape(-1)
    real = int(mask.sum())
    assert mask[:real].all() and not mask[real:].any()  # from the length, not from id 0
    assert ids[0] == gpt2.bos_id  # each file starts after <|endoftext|>
    np.testing.assert_array_equal(y.reshape(-1)[: real - 1], ids[1:real])
    assert (y.reshape(-1)[real:] == IGNORE_INDEX).all()
    assert (ids[real:] == gpt2.pad_id).all()
    # The real tokens decode to the test files' text, each after <|endoftext|>.
    text = gpt2.decode(ids[:real])
    assert text.startswith("<|endoftext|>") and text.count("<|endoftext|>") >= 1
    assert (ids[:real] == 0).any() or "!" not in text  # "!" is real text, id 0, kept


def test_text_corpus_masked_lm_with_a_bert_tokenizer(bert, bert_json):
    data = load_text_corpus(
        seed=0, max_chars=SMALL, tokenizer=bert_json, task="masked_lm", sequence_length=16
    )
    x, y = data.x, data.y
    np.testing.assert_array_equal(x["token_ids"][:, 0], 101)
    lengths = x["padding_mask"].sum(axis=1)
    np.testing.assert_array_equal(x["token_ids"][np.arange(len(y)), lengths - 1], 102)
    specials = np.isin(x["token_ids"], [0, 101, 102])
    assert (y[specials] == IGNORE_INDEX).all()
    chosen = y != IGNORE_INDEX
    assert 0.1 < chosen.sum() / (x["padding_mask"].sum() - 2 * len(y)) < 0.2
    assert (x["token_ids"][chosen] == 103).mean() > 0.7


def test_text_corpus_masked_lm_refuses_a_gpt2_tokenizer(gpt2_json):
    with pytest.raises(ConfigError) as caught:
        load_text_corpus(seed=0, max_chars=SMALL, tokenizer=gpt2_json, task="masked_lm")
    assert caught.value.key == "data.params.task"
    assert caught.value.message == (
        "task masked_lm needs a tokenizer with [CLS], [SEP] and [MASK] tokens, which this one "
        f"lacks. Received: tokenizer={gpt2_json}"
    )


def test_stdlib_topics_with_a_bert_tokenizer(bert, bert_json):
    params = {"num_examples": 80, "segments": True, "tokenizer": bert_json, "sequence_length": 24}
    splits = load_data("stdlib_topics", params=params, seed=0)
    x = splits.train[0]
    np.testing.assert_array_equal(x["token_ids"][:, 0], 101)
    assert splits.spec.vocabulary_size == bert.vocabulary_size
    assert tokenizer_from_json(splits.artifacts["tokenizer.json"]) == bert
    lengths = x["padding_mask"].sum(axis=1)
    np.testing.assert_array_equal(x["token_ids"][np.arange(len(lengths)), lengths - 1], 102)


def test_stdlib_topics_with_a_gpt2_tokenizer_refuses_segments(gpt2, gpt2_json):
    params = {"num_examples": 80, "tokenizer": gpt2_json, "sequence_length": 24}
    x = load_data("stdlib_topics", params=params, seed=0).train[0]
    lengths = x["padding_mask"].sum(axis=1)
    assert (lengths == 24).all()  # 8 lines of code are longer than 24 tokens
    with pytest.raises(ConfigError) as caught:
        load_data("stdlib_topics", params={**params, "segments": True}, seed=0)
    assert caught.value.key == "data.params.segments"


def test_text_folder_and_csv_with_preset_tokenizers(bert, gpt2, bert_json, gpt2_json, tmp_path):
    folder = write_text_folder(tmp_path / "topics")
    reviews = write_text_csv(tmp_path / "reviews.csv")
    for tok, path in ((bert, bert_json), (gpt2, gpt2_json)):
        segments = tok is bert
        params = {"tokenizer": path, "sequence_length": 20, "segments": segments}
        by_folder = load_data("text_folder", params={"path": str(folder), **params}, seed=0)
        by_csv = load_data(
            "csv", params={"path": str(reviews), "text_column": "review", **params}, seed=0
        )
        for splits in (by_folder, by_csv):
            assert tokenizer_from_json(splits.artifacts["tokenizer.json"]) == tok
            x = splits.train[0]
            lengths = x["padding_mask"].sum(axis=1)
            assert lengths.min() >= 3
            first = x["token_ids"][0, : lengths[0]].tolist()
            if segments:
                assert first[0] == 101 and first[-1] == 102
            else:
                assert tok.decode(first)  # GPT-2 ids decode back to the text's start


# ------------------------------------------------------------------------------ imdb as text


def test_imdb_reads_its_reviews_as_text_with_a_preset_tokenizer(
    put, keras_home, monkeypatch, bert, bert_json
):
    from fixtures import sha256, write_imdb

    from nnzoo.data import keras_datasets

    put("imdb", write_imdb)
    # The fixture's reviews use word ranks 5 (positive), 7 (negative) and 50,000 (rare).
    index = keras_home / "datasets" / "imdb_word_index.json"
    index.write_text(json.dumps({"the": 1, "fox": 5, "jumped": 7, "quick": 50_000}))
    remote = keras_datasets.IMDB_WORD_INDEX
    monkeypatch.setattr(
        keras_datasets, "IMDB_WORD_INDEX", dataclass_replace(remote, file_hash=sha256(index))
    )
    params = {"tokenizer": bert_json, "segments": True, "sequence_length": 128}
    splits = load_data("imdb", params=params, seed=0)
    assert tokenizer_from_json(splits.artifacts["tokenizer.json"]) == bert
    x, y = splits.test
    assert len(y) == 8 and set(y.tolist()) == {0, 1}
    for ids, mask, label in zip(x["token_ids"], x["padding_mask"], y, strict=True):
        real = ids[mask == 1].tolist()
        assert real[0] == 101 and real[-1] == 102
        # The review's text again: "fox fox fox quick fox ..." (positive) or "jumped ...".
        words = bert.decode(real[1:-1]).split()
        word = "fox" if label == 1 else "jumped"
        assert words == ["quick" if k % 4 == 3 else word for k in range(len(words))]
        assert len(words) >= 3


def test_imdb_without_a_tokenizer_refuses_segments(put):
    from fixtures import write_imdb

    put("imdb", write_imdb)
    with pytest.raises(ConfigError) as caught:
        load_data("imdb", params={"segments": True}, seed=0)
    assert caught.value.key == "data.params.segments"
    assert caught.value.message.endswith("Received: segments=True")


def test_imdb_as_text_needs_the_word_index_offline(put):
    from fixtures import write_imdb

    from nnzoo.errors import DataNotAvailableError

    put("imdb", write_imdb)
    with pytest.raises(DataNotAvailableError, match="imdb_word_index.json"):
        load_data("imdb", params={"tokenizer": "byte"}, seed=0)
