"""Tokenizers: exact round trips, the shared special ids and JSON persistence; WordPiece gives
KerasHub's ids (its own pure-Python encoder, so a run reads text without TensorFlow)."""

from __future__ import annotations

import pytest

from nnzoo.data.tokenizers import (
    SPECIAL_TOKENS,
    ByteTokenizer,
    WordPieceTokenizer,
    WordTokenizer,
    load_tokenizer,
    make_tokenizer,
    tokenizer_from_json,
)

CODE = "def add(x, y):\n    return x + y\n\n\ndef sub(x, y):\n    return x - y\n"


def test_special_ids_are_shared_and_pad_is_zero():
    for tok in (ByteTokenizer(), WordTokenizer.fit([CODE], vocabulary_size=50)):
        assert tok.pad_id == 0
        assert (tok.unk_id, tok.cls_id, tok.sep_id, tok.mask_id) == (1, 2, 3, 4)
        assert (tok.bos_id, tok.eos_id) == (5, 6)
    assert SPECIAL_TOKENS[0] == "[PAD]"


@pytest.mark.parametrize(
    "text", ["", "hello", CODE, "héllo wörld ✓ 🐍\r\n\t\x00", "中文字符 and ﬁ ligature"]
)
def test_byte_tokenizer_round_trips_any_text(text):
    tok = ByteTokenizer()
    ids = tok.encode(text)
    assert len(ids) == len(text.encode("utf-8"))
    assert all(7 <= i < 263 for i in ids)
    assert tok.decode(ids) == text


def test_byte_tokenizer_vocabulary_and_decoding_skips_specials():
    tok = ByteTokenizer()
    assert tok.vocabulary_size == 263
    assert tok.encode("A") == [ord("A") + 7]
    assert tok.decode([tok.cls_id, ord("h") + 7, tok.pad_id, ord("i") + 7, tok.sep_id]) == "hi"


def test_word_split_keeps_layout():
    assert WordTokenizer.split("if x:\n    y = 10\n") == [
        "if", " ", "x", ":", "\n", "    ", "y", " ", "=", " ", "10", "\n",
    ]  # fmt: skip


def test_word_tokenizer_keeps_most_frequent_words():
    tok = WordTokenizer.fit(["a a a b b c"], vocabulary_size=7 + 3)
    # " " (5 times) > "a" (3) > "b" (2); "c" (1) does not fit.
    assert tok.vocabulary == [" ", "a", "b"]
    assert tok.vocabulary_size == 10
    assert tok.encode("c a") == [tok.unk_id, 7, 8]
    assert tok.decode(tok.encode("c a")) == "[UNK] a"


def test_word_tokenizer_round_trips_known_text_and_marks_unknown_words():
    tok = WordTokenizer.fit([CODE], vocabulary_size=1000)
    assert tok.decode(tok.encode(CODE)) == CODE
    ids = tok.encode("def mul(x, y):")
    assert ids.count(tok.unk_id) == 1  # "mul" was never seen
    assert tok.decode(ids) == "def [UNK](x, y):"


def test_word_tokenizer_rejects_a_vocabulary_smaller_than_the_specials():
    with pytest.raises(ValueError, match="Received: vocabulary_size=7"):
        WordTokenizer.fit([CODE], vocabulary_size=7)


@pytest.mark.parametrize("kind", ["byte", "word", "wordpiece"])
def test_json_round_trip_gives_an_equal_tokenizer(kind, tmp_path):
    tok = make_tokenizer(kind, [CODE], vocabulary_size=30)
    again = tokenizer_from_json(tok.to_json())
    assert type(again) is type(tok)
    assert again == tok
    assert again.vocabulary_size == tok.vocabulary_size
    assert again.encode(CODE) == tok.encode(CODE)
    tok.save(str(tmp_path / "tokenizer.json"))
    assert load_tokenizer(str(tmp_path / "tokenizer.json")) == tok


def test_unknown_kinds_are_errors():
    with pytest.raises(ValueError, match="Received: kind='bpe'"):
        tokenizer_from_json('{"kind": "bpe", "config": {}}')
    with pytest.raises(ValueError, match="Received: tokenizer='char'"):
        make_tokenizer("char")


PROSE = [
    "The quick brown fox jumps over the lazy dog.",
    "Naïve café owners don't like foxes -- or dogs!",
    "Jumping, running; quickly-moving DOGS (and foxes) at 10:30.",
    "中文字符 and the ﬁ ligature at an ÉCOLE",
] * 3


@pytest.fixture(scope="module")
def wordpiece():
    return WordPieceTokenizer.fit(PROSE, vocabulary_size=90)


def test_wordpiece_vocabulary_has_the_special_ids_and_sub_words(wordpiece):
    assert wordpiece.vocabulary_size <= 90
    assert wordpiece.vocabulary_size == 7 + len(wordpiece.vocabulary)
    assert not set(SPECIAL_TOKENS) & set(wordpiece.vocabulary)  # never learned twice
    assert (wordpiece.pad_id, wordpiece.unk_id, wordpiece.cls_id) == (0, 1, 2)
    assert (wordpiece.sep_id, wordpiece.mask_id) == (3, 4)
    assert any(token.startswith("##") for token in wordpiece.vocabulary)
    assert "É" not in "".join(wordpiece.vocabulary)  # lower-cased, accents stripped


@pytest.mark.parametrize(
    "text",
    [
        *PROSE[:4],
        "Unseen WORDS: zebra-crossing\ttabs\u00a0nbsp soft\u00adhyphen x",
        "a" * 120,  # over 100 bytes: one [UNK]
        "[CLS] is text here, not a special token",
        "",
    ],
)
def test_wordpiece_gives_keras_hub_ids(wordpiece, text):
    """The pure-Python encoder matches keras_hub.tokenizers.WordPieceTokenizer (lower-cased,
    accents stripped, split on punctuation like BERT) with the same vocabulary."""
    import keras_hub

    reference = keras_hub.tokenizers.WordPieceTokenizer(
        vocabulary=[*SPECIAL_TOKENS, *wordpiece.vocabulary],
        lowercase=True,
        strip_accents=True,
        oov_token="[UNK]",
    )
    expected = [int(i) for i in reference.tokenize(text)] if text else []
    assert wordpiece.encode(text) == expected


def test_wordpiece_splits_words_longest_match_first():
    tok = WordPieceTokenizer(["un", "##aff", "##able", "##a", "aff", ",", "!"])
    assert tok.split("Unaffable, un-AFF!") == ["unaffable", ",", "un", "-", "aff", "!"]
    assert tok.encode("Unaffable, unaffa") == [7, 8, 9, 12, 7, 8, 10]
    assert tok.encode("un-aff") == [7, 1, 11]  # "-" is not in the vocabulary
    assert tok.decode(tok.encode("Unaffable, unaffa")) == "unaffable , unaffa"
