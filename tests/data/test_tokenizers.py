"""Tokenizers: exact round trips, the shared special ids and JSON persistence. WordPiece is
encoded and learned with Hugging Face ``tokenizers`` and gives the ids of nnzoo's earlier
pure-Python encoder (the reference, kept as the oracle) and of KerasHub, on the parity texts,
on the standard-library corpora and on every kind of Unicode character."""

from __future__ import annotations

import unicodedata

import pytest

from nnzoo.data.text import _read, _snippets, _split_files, stdlib_files
from nnzoo.data.tokenizers import (
    SPECIAL_TOKENS,
    BytePairTokenizer,
    ByteTokenizer,
    WordPieceTokenizer,
    WordTokenizer,
    load_tokenizer,
    make_tokenizer,
    tokenizer_from_json,
)
from nnzoo.data.tokenizers._byte_pair_reference import byte_to_unicode

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


def test_wordpiece_learns_the_asked_size_with_the_special_ids_and_sub_words(wordpiece):
    assert wordpiece.vocabulary_size == 90 == 7 + len(wordpiece.vocabulary)
    assert wordpiece.vocabulary[:3] == ["##0", "##a", "##c"]  # the ## tokens, numbered first
    assert not set(SPECIAL_TOKENS) & set(wordpiece.vocabulary)  # never learned twice
    assert (wordpiece.pad_id, wordpiece.unk_id, wordpiece.cls_id) == (0, 1, 2)
    assert (wordpiece.sep_id, wordpiece.mask_id) == (3, 4)
    assert {"fox", "the", "dog", "##ing"} <= set(wordpiece.vocabulary)  # merges past letters
    assert "É" not in "".join(wordpiece.vocabulary)  # lower-cased, accents stripped
    # Every character seen in training has its token (and a ## one where it continues a
    # word): the training texts encode without [UNK].
    assert all(wordpiece.unk_id not in wordpiece.encode(text) for text in PROSE)
    assert "[UNK]" not in wordpiece.decode(wordpiece.encode("Naïve café owners -- ÉCOLE"))


def test_wordpiece_learning_gives_the_same_vocabulary_every_time():
    """tokenizers' trainer numbers ## tokens in hash order (another order per run, so other
    merges win ties); nnzoo numbers them first, sorted."""
    vocabularies = {tuple(WordPieceTokenizer.fit(PROSE, vocabulary_size=90).vocabulary)}
    vocabularies |= {tuple(WordPieceTokenizer.fit(PROSE, vocabulary_size=90).vocabulary)}
    vocabularies |= {tuple(WordPieceTokenizer.fit(PROSE, vocabulary_size=90).vocabulary)}
    assert len(vocabularies) == 1


def test_wordpiece_smaller_than_its_characters_keeps_the_most_frequent():
    # 73 tokens hold every character of PROSE (and its ## form where it continues a word).
    assert WordPieceTokenizer.fit(PROSE, vocabulary_size=73).vocabulary_size == 73
    assert WordPieceTokenizer.fit(PROSE, vocabulary_size=200).vocabulary_size == 143  # all
    small = WordPieceTokenizer.fit(PROSE, vocabulary_size=20)
    assert small.vocabulary_size == 20
    # The most frequent characters (e, o: 39 times; n: 36; a, i: 27; g: 21, before t by
    # order), each with its ## form, then one merge: 6 + 6 + 1 ordinary tokens.
    assert small.vocabulary == [*(f"##{c}" for c in "aegino"), *"aegino", "##in"]
    assert small.encode("zq") == [small.unk_id]  # never kept: [UNK]
    with pytest.raises(ValueError, match="Received: vocabulary_size=7"):
        WordPieceTokenizer.fit(PROSE, vocabulary_size=7)


#: Texts where the fast engine could go wrong: Unicode folding that makes punctuation, spaces
#: or several letters out of one character, marks that compose across a word boundary,
#: control and format characters, and the 100-byte limit on a word.
EDGES = [
    "Unseen WORDS: zebra-crossing\ttabs\u00a0nbsp soft\u00adhyphen x",  # NBSP: inside a word
    "wait… “quoted” ‘single’ — dash ´acute ¨ ℀ ½ Ⅻ ﬁ ß ς Σ İ ǅ ᏸ ＡＢＣ！",
    "=\u0338 <\u0338 e\u0301 \u0301x ,\u0301 x\u0345\u0301",
    "\x00ctrl\x01chars\x7f\x1f \u200bzw\u200djoin \u2028line\u3000ideographic\u0085next",
    "a" * 100,
    "a" * 120,  # over 100 bytes: one [UNK]
    "ж" * 50,  # 100 bytes
    "ж" * 51,  # 51 characters, 102 bytes: one [UNK]
    "ab" + "ж" * 49 + " " + "é" * 51,  # 102 bytes until its accents are stripped
    "中" * 40 + "x" * 30,
    "math \U0001d400\U0001d41a and emoji 😀🐍 tag\U000e0041s",
    "[CLS] is text here, not a special token",
    "",
]


@pytest.mark.parametrize("text", [*PROSE[:4], *EDGES])
def test_wordpiece_gives_keras_hub_ids(wordpiece, text):
    """The encoder matches keras_hub.tokenizers.WordPieceTokenizer (lower-cased, accents
    stripped, split on punctuation like BERT) with the same vocabulary."""
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


# ------------------------------------------------------------------ the engine and its reference


@pytest.mark.parametrize(
    "options",
    [{}, {"lowercase": False}, {"strip_accents": False}],
    ids=["uncased", "cased", "accents"],
)
def test_wordpiece_gives_the_reference_ids_on_the_edges(options):
    tok = WordPieceTokenizer.fit(PROSE + EDGES, vocabulary_size=300, **options)
    oracle = tok._reference  # the pure-Python encoder
    for text in [*PROSE, *EDGES]:
        assert tok.encode(text) == oracle.encode(text), text
    assert tok.encode("ж" * 51) == [tok.unk_id] != tok.encode("ж" * 50)  # the byte limit


def test_wordpiece_gives_the_reference_ids_on_the_standard_library():
    """The corpora nnzoo reads (text_corpus's files, stdlib_topics' snippets) and every
    standard-library file that is not ASCII (the engine's other path)."""
    split = _split_files(0, 300_000)
    tok = WordPieceTokenizer.fit(split["train"], vocabulary_size=3000)
    assert tok.vocabulary_size == 3000
    others = [_read(path) for path in stdlib_files()]
    texts = [*split["train"], *split["validation"], *split["test"]]
    texts += [*_snippets("email", 8)[:200], *(text for text in others if not text.isascii())]
    assert sum(not text.isascii() for text in texts) >= 10
    oracle = tok._reference  # the pure-Python encoder
    encoded = [tok.encode(text) for text in texts]
    assert encoded == [oracle.encode(text) for text in texts]
    # Learned on the training files: those encode without [UNK].
    assert not any(tok.unk_id in ids for ids in encoded[: len(split["train"])])


def _characters(step: int) -> list[str]:
    """Every assigned character below U+3400 (scripts, marks, punctuation, spaces, symbols,
    compatibility forms), then every ``step``-th one above."""
    codes = [*range(0x3400), *range(0x3400, 0x110000, step)]
    return [
        chr(code) for code in codes if unicodedata.category(chr(code)) not in ("Cn", "Co", "Cs")
    ]


@pytest.mark.parametrize(
    "options", [{}, {"lowercase": False, "strip_accents": False}], ids=["uncased", "cased"]
)
def test_wordpiece_gives_the_reference_ids_on_every_kind_of_character(options):
    """Each character alone, inside a word, after punctuation, before a combining mark, after
    "=" (which composes with some marks): the engine splits and folds as the reference."""
    characters = _characters(step=97)
    texts = [
        "".join(f"a{c}b {c}{c} ,{c}x {c}\u0301 ={c} " for c in characters[i : i + 500])
        for i in range(0, len(characters), 500)
    ]
    texts.append("".join(f"a{c}b {c}{c} ,{c}x ={c} " for c in map(chr, range(128))))
    assert texts[-1].isascii()  # the engine's other path
    probe = WordPieceTokenizer([], **options)
    alphabet = sorted({c for text in texts for word in probe.split(text) for c in word})
    tok = WordPieceTokenizer([*alphabet, *(f"##{c}" for c in alphabet)], **options)
    oracle = tok._reference  # the pure-Python encoder
    for text in texts:
        assert tok.encode(text) == oracle.encode(text)


def test_an_unsplittable_token_over_100_bytes_is_unknown_as_in_the_reference():
    long = "<" + "x" * 100 + ">"
    vocabulary = ["[UNK]", "a", "ж", long]
    tok = WordPieceTokenizer(
        vocabulary, special_tokens={"unk": "[UNK]"}, unsplittable_tokens=[long]
    )
    assert tok._engine.ascii is None  # tokenizers would find the token whole in ASCII text
    assert tok.encode(f"a {long} a") == [1, 0, 1] == tok._reference.encode(f"a {long} a")
    assert tok.encode(f"ж{long}ж") == [2, 0, 2] == tok._reference.encode(f"ж{long}ж")


def test_a_lone_surrogate_fails_as_the_reference_does(wordpiece):
    with pytest.raises(UnicodeEncodeError):
        wordpiece.encode("caf\udce9")
    with pytest.raises(UnicodeEncodeError):
        wordpiece._reference.encode("caf\udce9")


# ------------------------------------------------------------------ byte pairs learned


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[str]]:
    return _split_files(0, 150_000)


@pytest.fixture(scope="module")
def byte_pair(corpus):
    return BytePairTokenizer.fit(corpus["train"], vocabulary_size=1000)


def test_byte_pair_learns_gpt2_s_layout_and_the_asked_size(byte_pair):
    assert byte_pair.vocabulary_size == 1000
    symbols = list(byte_to_unicode().values())
    assert [byte_pair.vocabulary[s] for s in symbols] == list(range(256))  # "!" = 0, as GPT-2
    end = byte_pair.vocabulary["<|endoftext|>"]
    assert end == 999 and (byte_pair.bos_id, byte_pair.eos_id, byte_pair.pad_id) == (end, end, 0)
    assert byte_pair.special_ids == {end} and byte_pair.frames_documents
    assert len(byte_pair.merges) == 1000 - 257
    assert byte_pair.encode("    return self") == [
        byte_pair.vocabulary[symbol] for symbol in ("ĠĠĠ", "Ġreturn", "Ġself")
    ]


def test_byte_pair_encodes_any_text_and_decodes_it_back(byte_pair, corpus):
    held_out = corpus["test"][0]
    for text in [held_out, CODE, *PROSE, *EDGES]:
        ids = byte_pair.encode(text)
        assert ids == byte_pair._reference.encode(text)
        assert byte_pair.decode(ids) == text  # every byte has a symbol: nothing unknown
    assert len(byte_pair.encode(held_out)) < 0.5 * len(held_out.encode())


def test_byte_pair_learning_gives_the_same_merges_every_time(corpus, byte_pair):
    again = BytePairTokenizer.fit(corpus["train"], vocabulary_size=1000)
    assert again == byte_pair
    with pytest.raises(ValueError, match="Received: vocabulary_size=257"):
        BytePairTokenizer.fit(corpus["train"], vocabulary_size=257)


# ------------------------------------------------------------------ the batch path


#: Texts each engine leaves to its reference or reads on its other path: "६" (KerasHub's
#: mark) and unsplittable tokens (byte pairs), non-ASCII text (WordPiece), empty text.
FALLBACKS = ["a६ b", "x\n\t <|endoftext|>", "a<|endoftext|>b", "ж" * 51, "café", ""]


def _batch_cases(byte_pair, corpus):
    symbols = byte_to_unicode()
    incomplete = {s: i for s, i in byte_pair.vocabulary.items() if s != symbols[ord("x")]}
    long = "<" + "x" * 100 + ">"
    return [
        byte_pair,
        BytePairTokenizer(byte_pair.vocabulary, byte_pair.merges, add_prefix_space=True),
        BytePairTokenizer(
            byte_pair.vocabulary,
            byte_pair.merges,
            special_tokens=byte_pair.special_tokens,
            pre_tokenizer="none",
        ),
        BytePairTokenizer(incomplete, byte_pair.merges),  # no engine: the reference
        WordPieceTokenizer.fit(PROSE + EDGES, vocabulary_size=300),
        WordPieceTokenizer(  # no ASCII engine: every text on the other path
            ["[UNK]", "a", "ж", long], special_tokens={"unk": "[UNK]"}, unsplittable_tokens=[long]
        ),
        ByteTokenizer(),
        WordTokenizer.fit(corpus["train"][:3], vocabulary_size=300),
    ]


def test_the_batch_path_gives_the_one_by_one_ids(byte_pair, corpus, monkeypatch):
    """``encode_batch`` and the chunks the text sources encode give ``encode``'s ids (the
    reference's), the texts the engine cannot encode exactly included, in any chunking."""
    from nnzoo.data import text as text_module
    from nnzoo.data.tokenizers import _base, encode_in_chunks

    texts = [*PROSE, *EDGES, *FALLBACKS, CODE, *corpus["test"][:3]]
    texts += [t for t in map(_read, stdlib_files()) if not t.isascii()][:2]
    assert byte_pair._engine_text("a६ b") is None  # left to the reference
    assert byte_pair._engine_text("x <|endoftext|>") is None
    for tok in _batch_cases(byte_pair, corpus):
        one_by_one = [tok.encode(text) for text in texts]
        if not isinstance(tok, (ByteTokenizer, WordTokenizer)):
            assert one_by_one == [tok._reference.encode(text) for text in texts], tok
        assert tok.encode_batch(texts) == one_by_one, tok
        assert tok.encode_batch([]) == []
        monkeypatch.setattr(_base, "CHUNK_TEXTS", 5)
        assert list(encode_in_chunks(tok, texts)) == one_by_one, tok
        monkeypatch.setattr(_base, "CHUNK_TEXTS", 2048)
        monkeypatch.setattr(_base, "CHUNK_CHARS", 200)  # long texts alone in their chunk
        assert list(encode_in_chunks(tok, texts)) == one_by_one, tok
        inputs = text_module.encode_texts(tok, texts, 64)
        for row, ids in zip(inputs["token_ids"], one_by_one, strict=True):
            assert row[: len(ids)].tolist() == ids[:64]
        monkeypatch.undo()


def test_the_batch_path_fails_on_a_lone_surrogate_as_encode_does(byte_pair, wordpiece):
    for tok in (byte_pair, wordpiece):
        with pytest.raises(UnicodeEncodeError):
            tok.encode_batch(["fine", "caf\udce9", "also fine"])
