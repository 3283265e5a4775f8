""":class:`WordPieceTokenizer`: BERT's WordPiece sub-words in pure Python, after the
pre-tokenization KerasHub applies (accents stripped, punctuation and CJK ideographs split
off, Unicode case folding).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from nnzoo.data.tokenizers._base import _ROLES, NUM_SPECIAL, SPECIAL_TOKENS, Tokenizer

#: Code points Unicode's NFKC_Casefold drops (default ignorables), as tf_text.case_fold_utf8 does.
_IGNORABLE_RANGES = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
#: CJK ideographs, each one a word (as in BERT's tokenization.py).
_CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)
#: Longer words (in UTF-8 bytes) are one [UNK], as in tf_text.FastWordpieceTokenizer.
_MAX_BYTES_PER_WORD = 100


def _in(char: str, ranges: tuple[tuple[int, int], ...]) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in ranges)


def _is_punctuation(char: str) -> bool:
    # BERT treats every ASCII non-letter, non-digit printable as punctuation ("^", "$", "`").
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_space(char: str) -> bool:
    return char in " \t\n\r\f" or unicodedata.category(char) in ("Cc", "Cf")


def _casefold(text: str) -> str:
    """Unicode NFKC_Casefold (what tf_text.case_fold_utf8 applies)."""
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return "".join(c for c in text if not _in(c, _IGNORABLE_RANGES))


class WordPieceTokenizer(Tokenizer):
    """BERT's WordPiece: words split into the longest known sub-words, first to last.

    A text is pre-tokenized as KerasHub's ``WordPieceTokenizer`` does (accents stripped, split on
    whitespace and control characters, each punctuation mark and CJK ideograph a word of its own,
    lower-cased with Unicode case folding); each word then becomes the longest vocabulary entry
    that starts it, then the longest ``##``-prefixed entry that continues it, and so on; a word
    that cannot be covered, or is longer than 100 bytes, is one ``[UNK]``. Pure Python, so a run
    reads text on any backend without TensorFlow; :meth:`fit` learns the vocabulary with KerasHub's
    ``compute_word_piece_vocabulary`` (which needs TensorFlow Text).

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
        self._cache: dict[str, list[int]] = {}
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
        self._split_re = None
        if self.unsplittable_tokens:
            import regex

            self._split_re = regex.compile(
                "|".join(regex.escape(t) for t in sorted(self.unsplittable_tokens, key=len)[::-1])
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
        ``texts`` with ``keras_hub.tokenizers.compute_word_piece_vocabulary``."""
        if vocabulary_size <= NUM_SPECIAL:
            raise ValueError(
                f"`vocabulary_size` must be greater than {NUM_SPECIAL} (the special tokens). "
                f"Received: vocabulary_size={vocabulary_size}"
            )
        import tensorflow as tf
        from keras_hub.tokenizers import compute_word_piece_vocabulary

        data = tf.data.Dataset.from_tensor_slices(tf.constant(list(texts), dtype=tf.string))
        learned = compute_word_piece_vocabulary(
            data,
            vocabulary_size,
            lowercase=lowercase,
            strip_accents=strip_accents,
            reserved_tokens=list(SPECIAL_TOKENS),
        )
        ordinary = [token for token in learned if token not in SPECIAL_TOKENS]
        return cls(ordinary, lowercase=lowercase, strip_accents=strip_accents)

    @property
    def vocabulary_size(self) -> int:
        return len(self._words)

    @property
    def special_ids(self) -> frozenset[int]:
        return self._special_ids

    def split(self, text: str) -> list[str]:
        """The words of ``text`` before sub-word splitting (KerasHub's pre-tokenization)."""
        if self.strip_accents:
            text = unicodedata.normalize("NFD", text)
            text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        if self._split_re is None:
            return self._split_words(text)
        # Unsplittable tokens are words of their own, neither split further nor case-folded.
        words: list[str] = []
        start = 0
        for match in self._split_re.finditer(text):
            words.extend(self._split_words(text[start : match.start()]))
            words.append(match.group())
            start = match.end()
        words.extend(self._split_words(text[start:]))
        return words

    def _split_words(self, text: str) -> list[str]:
        words: list[str] = []
        current: list[str] = []
        for char in text:
            if _is_space(char):
                alone = False
            elif _is_punctuation(char) or (self.split_on_cjk and _in(char, _CJK_RANGES)):
                alone = True
            else:
                current.append(char)
                continue
            if current:
                words.append("".join(current))
                current = []
            if alone:
                words.append(char)
        if current:
            words.append("".join(current))
        if self.lowercase:
            words = [_casefold(word) for word in words]
        return [word for word in words if word]

    def _pieces(self, word: str) -> list[int]:
        """Greedy longest-match-first ids of one word; ``[UNK]`` if it cannot be covered."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        ids: list[int] = []
        start = 0
        if len(word.encode("utf-8")) > _MAX_BYTES_PER_WORD:
            ids, start = [self.unk_id], len(word)
        while start < len(word):
            for end in range(len(word), start, -1):
                piece = word[start:end] if start == 0 else self.suffix_indicator + word[start:end]
                if piece in self._ids:
                    ids.append(self._ids[piece])
                    start = end
                    break
            else:
                ids = [self.unk_id]
                break
        if len(self._cache) < 100_000:
            self._cache[word] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        return [i for word in self.split(text) for i in self._pieces(word)]

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
