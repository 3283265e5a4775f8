""":class:`ByteTokenizer`: UTF-8 bytes as tokens, nothing to learn."""

from __future__ import annotations

from collections.abc import Iterable

from nnzoo.data.tokenizers._base import NUM_SPECIAL, Tokenizer


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
