""":class:`WordTokenizer`: the most frequent words of a corpus, the layout of source code
kept.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from nnzoo.data.tokenizers._base import NUM_SPECIAL, SPECIAL_TOKENS, Tokenizer

# Words for source code: identifiers / numbers, a newline, a run of spaces or tabs, or any one
# other character. Joining the pieces gives the text back, so known text round-trips exactly.
_WORD_RE = re.compile(r"\w+|\n|[ \t]+|[^\w\s]|\s", re.UNICODE)


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
