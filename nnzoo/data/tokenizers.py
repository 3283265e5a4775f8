"""Tokenizers for the text sources: raw UTF-8 bytes, or a word vocabulary fitted on a corpus.

Both share one id layout for the special tokens, so models and losses need not know which one a
run used: ``[PAD]`` = 0 (padding; the losses never see it as a target), ``[UNK]`` = 1, ``[CLS]``
= 2, ``[SEP]`` = 3, ``[MASK]`` = 4, ``[BOS]`` = 5, ``[EOS]`` = 6; ordinary tokens follow.

A run directory keeps its tokenizer as ``tokenizer.json`` (:meth:`Tokenizer.to_json`);
:func:`tokenizer_from_json` rebuilds the right class from it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "SPECIAL_TOKENS",
    "ByteTokenizer",
    "Tokenizer",
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


_KINDS: dict[str, type[Tokenizer]] = {"byte": ByteTokenizer, "word": WordTokenizer}


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
    """A ``byte`` tokenizer, or a ``word`` one fitted on ``texts``."""
    if kind == "byte":
        return ByteTokenizer()
    if kind == "word":
        return WordTokenizer.fit(texts, vocabulary_size=vocabulary_size or 5000)
    raise ValueError(f"`tokenizer` must be 'byte' or 'word'. Received: tokenizer={kind!r}")
