"""The pure-Python WordPiece encoder nnzoo used before Hugging Face ``tokenizers``: the
oracle :class:`~nnzoo.data.tokenizers.WordPieceTokenizer`'s fast engine is tested against (same
ids on every text), and the fallback for the few texts that engine leaves to it.

It reproduces KerasHub's ``WordPieceTokenizer``: accents stripped (NFD, marks dropped), split
on whitespace and control characters, each punctuation mark and CJK ideograph a word of its
own, each word lower-cased with Unicode NFKC_Casefold (as ``tf_text.case_fold_utf8``), then
split greedily into the longest known sub-words. The fast engine builds its character classes
by asking :func:`is_space` and :func:`is_punctuation` here, so both split alike.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

#: CJK ideographs, each one a word (as in BERT's tokenization.py).
CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)
#: Code points Unicode's NFKC_Casefold drops (default ignorables), as tf_text.case_fold_utf8 does.
IGNORABLE_RANGES = (
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
#: Longer words (in UTF-8 bytes) are one [UNK], as in tf_text.FastWordpieceTokenizer.
MAX_BYTES_PER_WORD = 100


def in_ranges(char: str, ranges: tuple[tuple[int, int], ...]) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in ranges)


def is_punctuation(char: str) -> bool:
    # BERT treats every ASCII non-letter, non-digit printable as punctuation ("^", "$", "`").
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def is_space(char: str) -> bool:
    return char in " \t\n\r\f" or unicodedata.category(char) in ("Cc", "Cf")


def casefold(text: str) -> str:
    """Unicode NFKC_Casefold (what tf_text.case_fold_utf8 applies)."""
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return "".join(c for c in text if not in_ranges(c, IGNORABLE_RANGES))


class WordPieceReference:
    """Pure-Python WordPiece over a token -> id map (the oracle; see the module docstring).

    Args:
        ids: the id of each token a word may be split into.
        unk_id: the id of a word that cannot be covered.
        lowercase, strip_accents, suffix_indicator, split_on_cjk, unsplittable_tokens: as
            :class:`~nnzoo.data.tokenizers.WordPieceTokenizer` takes them.
    """

    def __init__(
        self,
        ids: dict[str, int],
        *,
        unk_id: int,
        lowercase: bool,
        strip_accents: bool,
        suffix_indicator: str,
        split_on_cjk: bool,
        unsplittable_tokens: Sequence[str],
    ) -> None:
        self.ids = ids
        self.unk_id = unk_id
        self.lowercase = lowercase
        self.strip_accents = strip_accents
        self.suffix_indicator = suffix_indicator
        self.split_on_cjk = split_on_cjk
        self.unsplittable_tokens = list(unsplittable_tokens)
        self._cache: dict[str, list[int]] = {}
        self.split_re = None
        if self.unsplittable_tokens:
            import regex

            self.split_re = regex.compile(
                "|".join(regex.escape(t) for t in sorted(self.unsplittable_tokens, key=len)[::-1])
            )

    def split(self, text: str) -> list[str]:
        """The words of ``text`` before sub-word splitting (KerasHub's pre-tokenization)."""
        if self.strip_accents:
            text = unicodedata.normalize("NFD", text)
            text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        if self.split_re is None:
            return self._split_words(text)
        # Unsplittable tokens are words of their own, neither split further nor case-folded.
        words: list[str] = []
        start = 0
        for match in self.split_re.finditer(text):
            words.extend(self._split_words(text[start : match.start()]))
            words.append(match.group())
            start = match.end()
        words.extend(self._split_words(text[start:]))
        return words

    def _split_words(self, text: str) -> list[str]:
        words: list[str] = []
        current: list[str] = []
        for char in text:
            if is_space(char):
                alone = False
            elif is_punctuation(char) or (self.split_on_cjk and in_ranges(char, CJK_RANGES)):
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
            words = [casefold(word) for word in words]
        return [word for word in words if word]

    def pieces(self, word: str) -> list[int]:
        """Greedy longest-match-first ids of one word; ``[UNK]`` if it cannot be covered."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        ids: list[int] = []
        start = 0
        if len(word.encode("utf-8")) > MAX_BYTES_PER_WORD:
            ids, start = [self.unk_id], len(word)
        while start < len(word):
            for end in range(len(word), start, -1):
                piece = word[start:end] if start == 0 else self.suffix_indicator + word[start:end]
                if piece in self.ids:
                    ids.append(self.ids[piece])
                    start = end
                    break
            else:
                ids = [self.unk_id]
                break
        if len(self._cache) < 100_000:
            self._cache[word] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        return [i for word in self.split(text) for i in self.pieces(word)]
