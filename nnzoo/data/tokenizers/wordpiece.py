""":class:`WordPieceTokenizer`: BERT's WordPiece sub-words after the pre-tokenization KerasHub
applies (accents stripped, punctuation and CJK ideographs split off, Unicode case folding),
encoded and learned with Hugging Face ``tokenizers``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from nnzoo.data.tokenizers import _char_classes
from nnzoo.data.tokenizers import _wordpiece_reference as reference
from nnzoo.data.tokenizers._base import _ROLES, NUM_SPECIAL, SPECIAL_TOKENS, Tokenizer

#: Between the words of the text the engine's non-ASCII path reads: a control character, so
#: never part of a word, and a starter no Unicode normalisation moves, drops or composes, so
#: each word normalises on its own, as the reference normalises word by word.
_SEPARATOR = "\x00"
#: The separators and each word's first character: what is left continues a word.
_FIRST_CHARACTERS = re.compile(f"(?:\\A|{_SEPARATOR})[^{_SEPARATOR}]?")
#: Words of at least this many characters may be over the byte limit (4 bytes a character).
_LONG_WORD = re.compile(f"[^{_SEPARATOR}]{{{-(-reference.MAX_BYTES_PER_WORD // 4) + 1},}}")


class WordPieceTokenizer(Tokenizer):
    """BERT's WordPiece: words split into the longest known sub-words, first to last.

    A text is pre-tokenized as KerasHub's ``WordPieceTokenizer`` does (accents stripped, split on
    whitespace and control characters, each punctuation mark and CJK ideograph a word of its own,
    lower-cased with Unicode case folding); each word then becomes the longest vocabulary entry
    that starts it, then the longest ``##``-prefixed entry that continues it, and so on; a word
    that cannot be covered, or is longer than 100 bytes, is one ``[UNK]``.

    Texts are encoded by Hugging Face ``tokenizers`` (Rust, any backend, no TensorFlow),
    configured to give exactly the ids of nnzoo's earlier pure-Python encoder, which stays as
    the reference (``_wordpiece_reference``). An ASCII text goes to ``tokenizers`` whole; in
    another, Python first strips the accents, marks the word boundaries and case-folds (C-level
    string operations with the reference's own character classes, so every Unicode edge
    splits and folds as before) and ``tokenizers`` splits at the marks and finds the sub-words.
    :meth:`fit` learns a vocabulary with ``tokenizers``' ``WordPieceTrainer``.

    Two id layouts: nnzoo's (``special_tokens=None``: ``vocabulary`` holds the ordinary tokens,
    whose ids start after nnzoo's 7 special tokens) and a preset's (``special_tokens`` given:
    ``vocabulary`` is the whole vocabulary in id order, the special tokens where the preset
    has them, as :func:`from_keras_hub` makes it).

    Args:
        vocabulary: the ordinary tokens in id order, or with ``special_tokens`` every token.
        lowercase: case-fold the words. Defaults to ``True``.
        strip_accents: drop accent marks (after NFD normalisation). Defaults to ``True``.
        suffix_indicator: marks a sub-word that continues a word. Defaults to ``"##"``.
        special_tokens: the special token of each role (``"pad"``, ``"unk"``, ``"cls"``,
            ``"sep"``, ``"mask"``, ``"bos"``, ``"eos"``), each in ``vocabulary``. Defaults to
            ``None`` (nnzoo's layout).
        split_on_cjk: each CJK ideograph is a word. Defaults to ``True``.
        unsplittable_tokens: tokens a text may contain that are kept whole and as they are
            (KerasHub's ``special_tokens_in_strings``). Defaults to ``()``: a ``"[CLS]"`` in a
            text is ``"["``, ``"cls"``, ``"]"``.
    """

    kind = "wordpiece"

    def __init__(
        self,
        vocabulary: Sequence[str],
        *,
        lowercase: bool = True,
        strip_accents: bool = True,
        suffix_indicator: str = "##",
        special_tokens: dict[str, str] | None = None,
        split_on_cjk: bool = True,
        unsplittable_tokens: Sequence[str] = (),
    ) -> None:
        self.vocabulary = list(vocabulary)
        self.lowercase = lowercase
        self.strip_accents = strip_accents
        self.suffix_indicator = suffix_indicator
        self.special_tokens = dict(special_tokens) if special_tokens is not None else None
        self.split_on_cjk = split_on_cjk
        self.unsplittable_tokens = list(unsplittable_tokens)
        if self.special_tokens is None:
            self._words = list(SPECIAL_TOKENS) + self.vocabulary
            # Special tokens never come from text: "[CLS]" in a text is "[", "cls", "]".
            self._ids = {token: i + NUM_SPECIAL for i, token in enumerate(self.vocabulary)}
            self._special_ids = frozenset(range(NUM_SPECIAL))
        else:
            self._words = self.vocabulary
            self._ids = {}
            for i, token in enumerate(self.vocabulary):
                self._ids.setdefault(token, i)  # a repeated token: its first id, as KerasHub
            missing = sorted(
                set(self.special_tokens.values()) - self._ids.keys()
                | set(self.unsplittable_tokens) - self._ids.keys()
            )
            unknown_roles = sorted(set(self.special_tokens) - set(_ROLES))
            if missing or unknown_roles or "unk" not in self.special_tokens:
                raise ValueError(
                    "`special_tokens` must map roles among "
                    f"{', '.join(_ROLES)} (with 'unk') to tokens of `vocabulary`. Received: "
                    f"special_tokens={self.special_tokens} (not in the vocabulary: {missing})"
                )
            for role in _ROLES:
                token = self.special_tokens.get(role)
                setattr(self, f"{role}_id", None if token is None else self._ids[token])
            if self.pad_id is None:
                self.pad_id = 0
            self._special_ids = frozenset(
                self._ids[t] for t in (*self.special_tokens.values(), *self.unsplittable_tokens)
            )
            self.num_special = len(self._special_ids)
        self._reference = reference.WordPieceReference(
            self._ids,
            unk_id=self.unk_id,
            lowercase=lowercase,
            strip_accents=strip_accents,
            suffix_indicator=suffix_indicator,
            split_on_cjk=split_on_cjk,
            unsplittable_tokens=self.unsplittable_tokens,
        )

    @classmethod
    def fit(
        cls,
        texts: Iterable[str],
        *,
        vocabulary_size: int,
        lowercase: bool = True,
        strip_accents: bool = True,
    ) -> WordPieceTokenizer:
        """Learn a vocabulary of at most ``vocabulary_size`` ids (special tokens included) from
        ``texts`` with ``tokenizers``' ``WordPieceTrainer``, on the words :meth:`encode` sees.

        Every character of the texts gets a token (and a ``##`` one where it continues a word),
        so the texts encode without ``[UNK]``, unless those alone exceed ``vocabulary_size``:
        then only the most frequent characters get theirs. The result is the same in every
        process (the trainer alone numbers ``##`` tokens in hash order, so they are given).
        """
        if vocabulary_size <= NUM_SPECIAL:
            raise ValueError(
                f"`vocabulary_size` must be greater than {NUM_SPECIAL} (the special tokens). "
                f"Received: vocabulary_size={vocabulary_size}"
            )
        from tokenizers import Tokenizer as Engine
        from tokenizers import models, trainers

        shell = cls([], lowercase=lowercase, strip_accents=strip_accents)
        marked = [shell._engine.marked_words(text) for text in texts]
        counts: Counter[str] = Counter()
        continuing: set[str] = set()
        for words in marked:
            counts.update(words)
            continuing.update(_FIRST_CHARACTERS.sub("", words))
        counts.pop(_SEPARATOR, None)
        # Each character costs a token, and one more where it continues a word.
        kept = sorted(counts, key=lambda char: (-counts[char], char))
        budget = vocabulary_size - NUM_SPECIAL
        cost = 0
        for end, char in enumerate(kept):
            cost += 1 + (char in continuing)
            if cost > budget:
                kept = kept[:end]
                break
        limit = {} if len(kept) == len(counts) else {"limit_alphabet": len(kept)}
        suffix = shell.suffix_indicator
        numbered = [suffix + char for char in sorted(continuing.intersection(kept))]
        trainer = trainers.WordPieceTrainer(
            vocab_size=vocabulary_size,
            special_tokens=[*SPECIAL_TOKENS, *numbered],
            initial_alphabet=sorted(kept) if limit else [],
            continuing_subword_prefix=suffix,
            show_progress=False,
            **limit,
        )
        engine = Engine(models.WordPiece(unk_token=SPECIAL_TOKENS[1]))
        engine.pre_tokenizer = _marked_pre_tokenizer()
        engine.train_from_iterator(marked, trainer=trainer)
        learned = sorted(engine.get_vocab(with_added_tokens=False).items(), key=lambda x: x[1])
        ordinary = [token for token, _ in learned[NUM_SPECIAL:vocabulary_size]]
        return cls(ordinary, lowercase=lowercase, strip_accents=strip_accents)

    @property
    def vocabulary_size(self) -> int:
        return len(self._words)

    @property
    def special_ids(self) -> frozenset[int]:
        return self._special_ids

    def split(self, text: str) -> list[str]:
        """The words of ``text`` before sub-word splitting (KerasHub's pre-tokenization)."""
        return self._reference.split(text)

    @functools.cached_property
    def _engine(self) -> _Engine:
        return _Engine(self)

    def encode(self, text: str) -> list[int]:
        return self._engine.encode(text)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """The ids of each text, as :meth:`encode` gives them, the texts of each of the
        engine's two paths in one ``encode_batch_fast`` call (no offsets, over the cores)."""
        return self._engine.encode_batch(texts)

    def decode(self, ids: Iterable[int]) -> str:
        """Words joined by spaces, ``##`` sub-words joined to the word before. Not the original
        text: case, accents and spacing around punctuation are gone. In nnzoo's layout special
        ids other than ``[UNK]`` are skipped; a preset's tokenizer decodes every id as KerasHub
        does (``[CLS]`` included)."""
        out: list[str] = []
        marker = self.suffix_indicator
        for i in ids:
            i = int(i)
            if self.special_tokens is None:
                if i == self.unk_id:
                    out.append("[UNK]")
                    continue
                if not NUM_SPECIAL <= i < len(self._words):
                    continue
            elif not 0 <= i < len(self._words):
                raise ValueError(
                    f"`id` must be in range [0, {len(self._words) - 1}]. Received: {i}"
                )
            token = self._words[i]
            if out and len(token) > len(marker) and token.startswith(marker):
                out[-1] += token[len(marker) :]
            else:
                out.append(token)
        return " ".join(out)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "vocabulary": self.vocabulary,
            "lowercase": self.lowercase,
            "strip_accents": self.strip_accents,
            "suffix_indicator": self.suffix_indicator,
        }
        if self.special_tokens is not None:
            config["special_tokens"] = self.special_tokens
            config["split_on_cjk"] = self.split_on_cjk
            config["unsplittable_tokens"] = self.unsplittable_tokens
        return config

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_engine", None)  # rebuilt on first use
        return state


class _Engine:
    """Two ``tokenizers.Tokenizer`` over one WordPiece model with the reference's ids: one
    reads ASCII text as it is (its splitting and lower-casing are ASCII-only, where they equal
    the reference's), the other reads :meth:`marked_words` (it splits at the separators only).
    """

    def __init__(self, tok: WordPieceTokenizer) -> None:
        from tokenizers import AddedToken, Regex, models, normalizers, pre_tokenizers
        from tokenizers import Tokenizer as Engine

        self.reference = tok._reference
        self.lowercase = tok.lowercase
        self.strip_accents = tok.strip_accents
        self.split_on_cjk = tok.split_on_cjk
        ids = dict(tok._ids)
        unk = tok.special_tokens["unk"] if tok.special_tokens else _SEPARATOR + "[UNK]"
        ids.setdefault(unk, tok.unk_id)  # nnzoo's layout: a key no word can hold

        def engine() -> Any:
            return Engine(
                models.WordPiece(
                    ids,
                    unk_token=unk,
                    continuing_subword_prefix=tok.suffix_indicator,
                    max_input_chars_per_word=reference.MAX_BYTES_PER_WORD,
                )
            )

        self.marked = engine()
        self.marked.pre_tokenizer = _marked_pre_tokenizer()
        self.ascii = None
        # ASCII words have as many characters as bytes, so the engine's character limit is
        # the reference's byte limit; an unsplittable token over it is left to the other path.
        tokens = tok.unsplittable_tokens
        if all(len(t.encode("utf-8")) <= reference.MAX_BYTES_PER_WORD for t in tokens):
            self.ascii = engine()
            if self.lowercase:
                self.ascii.normalizer = normalizers.Lowercase()
            # The words and the lone characters are kept, the spaces between them dropped.
            self.ascii.pre_tokenizer = pre_tokenizers.Split(
                Regex(_ascii_words()), "removed", invert=True
            )
            self.ascii.add_special_tokens(
                [AddedToken(t, special=True, normalized=False) for t in tokens]
            )

    def encode(self, text: str) -> list[int]:
        try:
            if text.isascii() and self.ascii is not None:
                return self.ascii.encode(text, add_special_tokens=False).ids
            return self.marked.encode(self.marked_words(text), add_special_tokens=False).ids
        except TypeError:  # a lone surrogate (not UTF-8): the reference says what is wrong
            return self.reference.encode(text)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        ascii_rows: list[int] = []
        marked_rows: list[int] = []
        for row, text in enumerate(texts):
            (ascii_rows if text.isascii() and self.ascii is not None else marked_rows).append(row)
        out: list[list[int]] = [[] for _ in texts]
        try:
            if ascii_rows:
                batch = [texts[row] for row in ascii_rows]
                encodings = self.ascii.encode_batch_fast(batch, add_special_tokens=False)
                for row, encoding in zip(ascii_rows, encodings, strict=True):
                    out[row] = encoding.ids
            if marked_rows:
                batch = [self.marked_words(texts[row]) for row in marked_rows]
                encodings = self.marked.encode_batch_fast(batch, add_special_tokens=False)
                for row, encoding in zip(marked_rows, encodings, strict=True):
                    out[row] = encoding.ids
        except TypeError:  # a lone surrogate somewhere: each text alone, as encode says
            return [self.encode(text) for text in texts]
        return out

    def marked_words(self, text: str) -> str:
        """The reference's words of ``text``, normalised, between separators (a word of at
        most 100 characters but over 100 bytes replaced by one the engine calls ``[UNK]``)."""
        patterns = _python_patterns(self.split_on_cjk)
        if self.strip_accents:
            text = patterns.marks.sub("", unicodedata.normalize("NFD", text))
        parts: list[str] = []
        start = 0
        if self.reference.split_re is not None:
            for match in self.reference.split_re.finditer(text):
                parts.append(self._mark(text[start : match.start()], patterns))
                parts.append(match.group())  # an unsplittable token, a word as it is
                start = match.end()
        parts.append(self._mark(text[start:], patterns))
        marked = _SEPARATOR.join(parts)
        if _LONG_WORD.search(marked) is None:
            return marked
        return _LONG_WORD.sub(_unknown_if_over_the_byte_limit, marked)

    def _mark(self, text: str, patterns: _Patterns) -> str:
        text = patterns.spaces.sub(_SEPARATOR, text)
        text = _SEPARATOR.join(patterns.alone.split(text))  # each one a word
        if not self.lowercase:
            return text
        # NFKC_Casefold of the whole text equals that of each word: the separators stop it.
        text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
        return patterns.ignorable.sub("", text)


def _unknown_if_over_the_byte_limit(match: re.Match[str]) -> str:
    word = match.group()
    if len(word) <= reference.MAX_BYTES_PER_WORD < len(word.encode("utf-8")):
        return "?" * (reference.MAX_BYTES_PER_WORD + 1)  # over the character limit: [UNK]
    return word


class _Patterns:
    """The reference's character classes as ``re`` patterns (``unicodedata``'s tables)."""

    def __init__(self, split_on_cjk: bool) -> None:
        cc = _char_classes
        marks = cc.where(lambda code, category: category == "Mn", lambda char: True)
        spaces = cc.where(
            lambda code, category: code < 128 or category in ("Cc", "Cf"), reference.is_space
        )
        alone = cc.where(
            lambda code, category: code < 128 or category.startswith("P"),
            lambda char: reference.is_punctuation(char) and not reference.is_space(char),
        )
        alone_ranges = cc.to_ranges(alone)
        if split_on_cjk:
            alone_ranges = cc.union(alone_ranges, reference.CJK_RANGES)
        self.marks = re.compile(cc.python_class(cc.to_ranges(marks)) + "+")
        self.spaces = re.compile(cc.python_class(cc.to_ranges(spaces)) + "+")
        self.alone = re.compile(f"({cc.python_class(alone_ranges)})")  # split keeps them
        self.ignorable = re.compile(cc.python_class(reference.IGNORABLE_RANGES) + "+")


@functools.cache
def _python_patterns(split_on_cjk: bool) -> _Patterns:
    return _Patterns(split_on_cjk)


@functools.cache
def _ascii_words() -> str:
    """The reference's words in ASCII text, for Oniguruma: a run of letters and digits, or one
    punctuation character (its spaces, the control characters included, match neither)."""
    cc = _char_classes
    alone, letters = [], []
    for code in range(128):
        char = chr(code)
        if not reference.is_space(char):
            (alone if reference.is_punctuation(char) else letters).append(code)
    return f"{cc.onig_class(cc.to_ranges(letters))}+|{cc.onig_class(cc.to_ranges(alone))}"


def _marked_pre_tokenizer() -> Any:
    from tokenizers import pre_tokenizers

    return pre_tokenizers.Split(_SEPARATOR, "removed")
