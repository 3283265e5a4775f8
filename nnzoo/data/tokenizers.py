"""Tokenizers for the text sources: raw UTF-8 bytes, a word vocabulary fitted on a corpus, or
a WordPiece vocabulary (BERT's sub-words) learned on a corpus.

All share one id layout for the special tokens, so models and losses need not know which one a
run used: ``[PAD]`` = 0 (padding; the losses never see it as a target), ``[UNK]`` = 1, ``[CLS]``
= 2, ``[SEP]`` = 3, ``[MASK]`` = 4, ``[BOS]`` = 5, ``[EOS]`` = 6; ordinary tokens follow.

A run directory keeps its tokenizer as ``tokenizer.json`` (:meth:`Tokenizer.to_json`);
:func:`tokenizer_from_json` rebuilds the right class from it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "SPECIAL_TOKENS",
    "TOKENIZER_KINDS",
    "ByteTokenizer",
    "Tokenizer",
    "WordPieceTokenizer",
    "WordTokenizer",
    "load_tokenizer",
    "make_tokenizer",
    "tokenizer_from_json",
]

#: The special tokens, in id order (``[PAD]`` is id 0).
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[BOS]", "[EOS]")
NUM_SPECIAL = len(SPECIAL_TOKENS)

# Words for source code: identifiers / numbers, a newline, a run of spaces or tabs, or any one
# other character. Joining the pieces gives the text back, so known text round-trips exactly.
_WORD_RE = re.compile(r"\w+|\n|[ \t]+|[^\w\s]|\s", re.UNICODE)


class Tokenizer:
    """The interface shared by the tokenizers: ``encode``, ``decode`` and the special ids."""

    kind = ""
    pad_id = SPECIAL_TOKENS.index("[PAD]")
    unk_id = SPECIAL_TOKENS.index("[UNK]")
    cls_id = SPECIAL_TOKENS.index("[CLS]")
    sep_id = SPECIAL_TOKENS.index("[SEP]")
    mask_id = SPECIAL_TOKENS.index("[MASK]")
    bos_id = SPECIAL_TOKENS.index("[BOS]")
    eos_id = SPECIAL_TOKENS.index("[EOS]")
    num_special = NUM_SPECIAL

    @property
    def vocabulary_size(self) -> int:
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def decode(self, ids: Iterable[int]) -> str:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    def to_json(self) -> str:
        """The tokenizer as JSON text (``tokenizer.json`` of a run directory)."""
        return json.dumps({"kind": self.kind, "config": self.get_config()}, ensure_ascii=False)

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json())

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocabulary_size={self.vocabulary_size})"


class ByteTokenizer(Tokenizer):
    """UTF-8 bytes as tokens: byte ``b`` is id ``b + 7``; 263 ids in all.

    Needs no fitting and never meets an unknown token: ``decode(encode(text)) == text`` for any
    text. Decoding skips special ids and replaces invalid UTF-8 (a sampled byte sequence may
    not be valid) with U+FFFD.
    """

    kind = "byte"

    @property
    def vocabulary_size(self) -> int:
        return NUM_SPECIAL + 256

    def encode(self, text: str) -> list[int]:
        return [b + NUM_SPECIAL for b in text.encode("utf-8")]

    def decode(self, ids: Iterable[int]) -> str:
        data = bytes(
            int(i) - NUM_SPECIAL for i in ids if NUM_SPECIAL <= int(i) < NUM_SPECIAL + 256
        )
        return data.decode("utf-8", errors="replace")


class WordTokenizer(Tokenizer):
    """A vocabulary of the most frequent words of a corpus; other words become ``[UNK]``.

    Words are identifiers and numbers (``\\w+``), a newline, a run of spaces or tabs, or a single
    other character, so source code keeps its layout: decoding known text gives it back
    exactly, and an unknown word decodes as ``[UNK]``.

    Args:
        vocabulary: the ordinary tokens in id order (ids start after the special tokens).
    """

    kind = "word"

    def __init__(self, vocabulary: Sequence[str]) -> None:
        self.vocabulary = list(vocabulary)
        self._ids = {word: i + NUM_SPECIAL for i, word in enumerate(self.vocabulary)}
        self._words = list(SPECIAL_TOKENS) + self.vocabulary

    @staticmethod
    def split(text: str) -> list[str]:
        """The words of ``text``; ``"".join(split(text)) == text``."""
        return _WORD_RE.findall(text)

    @classmethod
    def fit(cls, texts: Iterable[str], *, vocabulary_size: int) -> WordTokenizer:
        """Keep the ``vocabulary_size - 7`` most frequent words of ``texts`` (ties: by word)."""
        if vocabulary_size <= NUM_SPECIAL:
            raise ValueError(
                f"`vocabulary_size` must be greater than {NUM_SPECIAL} (the special tokens). "
                f"Received: vocabulary_size={vocabulary_size}"
            )
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(cls.split(text))
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return cls([word for word, _ in ranked[: vocabulary_size - NUM_SPECIAL]])

    @property
    def vocabulary_size(self) -> int:
        return len(self._words)

    def encode(self, text: str) -> list[int]:
        return [self._ids.get(word, self.unk_id) for word in self.split(text)]

    def decode(self, ids: Iterable[int]) -> str:
        words = []
        for i in ids:
            i = int(i)
            if i == self.unk_id:
                words.append("[UNK]")
            elif NUM_SPECIAL <= i < len(self._words):
                words.append(self._words[i])
        return "".join(words)

    def get_config(self) -> dict[str, Any]:
        return {"vocabulary": self.vocabulary}


# --- WordPiece ---------------------------------------------------------------------------------

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

    Args:
        vocabulary: the ordinary tokens in id order (ids start after the special tokens).
        lowercase: case-fold the words. Defaults to ``True``.
        strip_accents: drop accent marks (after NFD normalisation). Defaults to ``True``.
        suffix_indicator: marks a sub-word that continues a word. Defaults to ``"##"``.
    """

    kind = "wordpiece"

    def __init__(
        self,
        vocabulary: Sequence[str],
        *,
        lowercase: bool = True,
        strip_accents: bool = True,
        suffix_indicator: str = "##",
    ) -> None:
        self.vocabulary = list(vocabulary)
        self.lowercase = lowercase
        self.strip_accents = strip_accents
        self.suffix_indicator = suffix_indicator
        self._words = list(SPECIAL_TOKENS) + self.vocabulary
        # Special tokens never come from text: "[CLS]" in a text is "[", "cls", "]".
        self._ids = {token: i + NUM_SPECIAL for i, token in enumerate(self.vocabulary)}

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

    def split(self, text: str) -> list[str]:
        """The words of ``text`` before sub-word splitting (KerasHub's pre-tokenization)."""
        if self.strip_accents:
            text = unicodedata.normalize("NFD", text)
            text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        words: list[str] = []
        current: list[str] = []
        for char in text:
            if _is_space(char):
                alone = False
            elif _is_punctuation(char) or _in(char, _CJK_RANGES):
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
        if len(word.encode("utf-8")) > _MAX_BYTES_PER_WORD:
            return [self.unk_id]
        ids, start = [], 0
        while start < len(word):
            for end in range(len(word), start, -1):
                piece = word[start:end] if start == 0 else self.suffix_indicator + word[start:end]
                if piece in self._ids:
                    ids.append(self._ids[piece])
                    start = end
                    break
            else:
                return [self.unk_id]
        return ids

    def encode(self, text: str) -> list[int]:
        return [i for word in self.split(text) for i in self._pieces(word)]

    def decode(self, ids: Iterable[int]) -> str:
        """Words joined by spaces, ``##`` sub-words joined to the word before; special ids
        other than ``[UNK]`` are skipped. Not the original text: case, accents and spacing
        around punctuation are gone."""
        out: list[str] = []
        for i in ids:
            i = int(i)
            if i == self.unk_id:
                out.append("[UNK]")
            elif NUM_SPECIAL <= i < len(self._words):
                token = self._words[i]
                suffix = token.startswith(self.suffix_indicator) and len(token) > len(
                    self.suffix_indicator
                )
                if suffix and out:
                    out[-1] += token[len(self.suffix_indicator) :]
                else:
                    out.append(token)
        return " ".join(out)

    def get_config(self) -> dict[str, Any]:
        return {
            "vocabulary": self.vocabulary,
            "lowercase": self.lowercase,
            "strip_accents": self.strip_accents,
            "suffix_indicator": self.suffix_indicator,
        }


_KINDS: dict[str, type[Tokenizer]] = {
    "byte": ByteTokenizer,
    "word": WordTokenizer,
    "wordpiece": WordPieceTokenizer,
}

#: The tokenizers a text source can learn (``data.params.tokenizer``).
TOKENIZER_KINDS = tuple(_KINDS)


def tokenizer_from_json(text: str) -> Tokenizer:
    """Rebuild a tokenizer from :meth:`Tokenizer.to_json` text."""
    data = json.loads(text)
    kind = data.get("kind")
    if kind not in _KINDS:
        raise ValueError(f"Unknown tokenizer kind. Received: kind={kind!r}")
    return _KINDS[kind](**data.get("config", {}))


def load_tokenizer(path: str) -> Tokenizer:
    """Read a ``tokenizer.json`` file."""
    with open(path, encoding="utf-8") as f:
        return tokenizer_from_json(f.read())


def make_tokenizer(
    kind: str, texts: Iterable[str] = (), *, vocabulary_size: int | None = None
) -> Tokenizer:
    """A ``byte`` tokenizer, or a ``word`` or ``wordpiece`` one fitted on ``texts``
    (``vocabulary_size`` defaults to 5000)."""
    if kind == "byte":
        return ByteTokenizer()
    if kind == "word":
        return WordTokenizer.fit(texts, vocabulary_size=vocabulary_size or 5000)
    if kind == "wordpiece":
        return WordPieceTokenizer.fit(texts, vocabulary_size=vocabulary_size or 5000)
    raise ValueError(
        f"`tokenizer` must be 'byte', 'word' or 'wordpiece'. Received: tokenizer={kind!r}"
    )
