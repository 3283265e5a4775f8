"""The pure-Python byte-level BPE encoder nnzoo used before Hugging Face ``tokenizers``: the
oracle :class:`~nnzoo.data.tokenizers.BytePairTokenizer`'s fast engine is tested against (same
ids on every text), and the fallback for what that engine leaves to it.

It reproduces KerasHub's GPT-2 tokenizer: with ``pre_tokenizer="gpt2"`` its TensorFlow path
(OpenAI's word pattern, written for RE2), with ``"none"`` its eager path in KerasHub 0.32
(merges over the whole text between unsplittable tokens).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import Any

# KerasHub's TensorFlow pre-tokenizer (byte_pair_tokenizer.py), written for RE2: RE2's ``\s`` is
# ASCII whitespace only and its ``$`` is the end of the text, hence ``S`` and ``\Z`` here. It
# reproduces GPT-2's ``\s+(?!\S)`` without look-ahead by marking with "६" (MARK) a space that
# starts a word and splitting the mark off again.
S = r"\t\n\f\r "
SPECIAL_SPACES = r"\u00a0\u2009\u202f\u3000"
MARK = "६"
GPT2_SPLIT = (
    r"'s|'t|'re|'ve|'m|'ll|'d"
    rf"|[{S}{SPECIAL_SPACES}]+[\n\r\t\f{MARK}{SPECIAL_SPACES}]| ?\p{{L}}+"
    rf"| ?[\p{{N}}]+| ?[^{S}\p{{L}}\p{{N}}{SPECIAL_SPACES}]+"
)
GPT2_TRAILING = rf"[ \t\r\f\v{MARK}{SPECIAL_SPACES}]\Z"


def byte_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map of the 256 bytes to printable characters."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    printable += range(ord("®"), ord("ÿ") + 1)
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def _merge_pairs(symbols: list[str], ranks: dict[tuple[str, str], int]) -> list[str]:
    """Byte-pair merging: while some neighbouring pair has a rank, merge the leftmost pair of
    the best rank (KerasHub's TensorFlow loop and Hugging Face's merge queue both do exactly
    this). A heap of candidate pairs keeps a long text (no pre-tokenizer) O(n log n)."""
    if len(symbols) < 2:
        return symbols
    count = len(symbols)
    nxt = list(range(1, count + 1))
    prv = list(range(-1, count - 1))
    heap = []
    for i in range(count - 1):
        rank = ranks.get((symbols[i], symbols[i + 1]))
        if rank is not None:
            heap.append((rank, i, symbols[i], symbols[i + 1]))
    heapq.heapify(heap)
    while heap:
        rank, i, left, right = heapq.heappop(heap)
        j = nxt[i]
        # A stale candidate: one of its symbols has been merged since.
        if symbols[i] != left or j >= count or symbols[j] != right:
            continue
        symbols[i] = left + right
        symbols[j] = ""
        nxt[i] = nxt[j]
        if nxt[j] < count:
            prv[nxt[j]] = i
        if prv[i] >= 0:
            new = ranks.get((symbols[prv[i]], symbols[i]))
            if new is not None:
                heapq.heappush(heap, (new, prv[i], symbols[prv[i]], symbols[i]))
        if nxt[i] < count:
            new = ranks.get((symbols[i], symbols[nxt[i]]))
            if new is not None:
                heapq.heappush(heap, (new, i, symbols[i], symbols[nxt[i]]))
    return [s for s in symbols if s]


def _regex_split(text: str, pattern: Any) -> list[str]:
    """``text`` cut at every match of ``pattern``: the matches and the text between them, in
    order, without empty pieces (``tf_text.regex_split`` keeping every delimiter)."""
    pieces: list[str] = []
    start = 0
    for match in pattern.finditer(text):
        if match.start() > start:
            pieces.append(text[start : match.start()])
        if match.end() > match.start():
            pieces.append(match.group())
        start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


class BytePairReference:
    """Pure-Python GPT-2 byte-pair encoding (the oracle; see the module docstring).

    Args:
        vocabulary: each symbol's id.
        merges: the merge rules, best first, as ``"a b"``.
        unsplittable_tokens, add_prefix_space, pre_tokenizer: as
            :class:`~nnzoo.data.tokenizers.BytePairTokenizer` takes them.
    """

    def __init__(
        self,
        vocabulary: dict[str, int],
        merges: Sequence[str],
        *,
        unsplittable_tokens: Sequence[str],
        add_prefix_space: bool,
        pre_tokenizer: str,
    ) -> None:
        import regex

        self.vocabulary = vocabulary
        self.unsplittable_tokens = list(unsplittable_tokens)
        self.add_prefix_space = add_prefix_space
        self.pre_tokenizer = pre_tokenizer
        self._ranks: dict[tuple[str, ...], int] = {}
        for rank, merge in enumerate(merges):
            self._ranks.setdefault(tuple(merge.split(" ")), rank)
        self._byte_to_char = byte_to_unicode()
        self._cache: dict[str, list[int]] = {t: [vocabulary[t]] for t in unsplittable_tokens}
        by_length = sorted(self.unsplittable_tokens, key=len, reverse=True)
        self._special_re = (
            regex.compile("|".join(regex.escape(t) for t in by_length)) if by_length else None
        )
        if pre_tokenizer == "gpt2":
            self._mark_re = regex.compile(rf"( )([^{S}{SPECIAL_SPACES}])")
            # KerasHub's second mark, r"(\s{SPECIAL_WHITESPACES})$", is a sequence, not a set:
            # it only matches a space followed by those four characters, as here.
            self._end_mark_re = regex.compile(rf"([{S}]{SPECIAL_SPACES})\Z")
            self._split_re = regex.compile(GPT2_SPLIT)
            self._trailing_re = regex.compile(GPT2_TRAILING)

    def split(self, text: str) -> list[str]:
        """The words of ``text`` before byte-pair merging (unsplittable tokens whole)."""
        if self.pre_tokenizer == "none":
            return self._split_none(text)
        if self.add_prefix_space:
            text = " " + text
        text = self._mark_re.sub(f"{MARK}\\1\\2", text)
        text = self._end_mark_re.sub(f"\\1{MARK}", text)
        parts = [text] if self._special_re is None else _regex_split(text, self._special_re)
        words = []
        for part in parts:
            if part in self.unsplittable_tokens:
                words.append(part)
                continue
            for piece in _regex_split(part, self._split_re):
                words.extend(_regex_split(piece, self._trailing_re))
        return [word for word in words if word != MARK]

    def _split_none(self, text: str) -> list[str]:
        parts = [text] if self._special_re is None else _regex_split(text, self._special_re)
        if self.add_prefix_space:
            # Hugging Face's ByteLevel(add_prefix_space=True) prefixes each part.
            parts = [
                p if p in self.unsplittable_tokens or p.startswith(" ") else " " + p for p in parts
            ]
        return parts

    def merge(self, word: str) -> list[int]:
        """The ids of one word: its bytes as symbols, merged best-ranked pair first."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        symbols = _merge_pairs([self._byte_to_char[b] for b in word.encode("utf-8")], self._ranks)
        # A symbol outside the vocabulary (an incomplete byte alphabet) has no id: dropped.
        ids = [self.vocabulary[s] for s in symbols if s in self.vocabulary]
        if len(self._cache) < 100_000:
            self._cache[word] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        return [i for word in self.split(text) for i in self.merge(word)]
