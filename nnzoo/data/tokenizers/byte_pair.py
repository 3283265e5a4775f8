""":class:`BytePairTokenizer`: GPT-2's byte-level byte-pair encoding in pure Python."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from typing import Any

from nnzoo.data.tokenizers._base import _ROLES, Tokenizer

# KerasHub's TensorFlow pre-tokenizer (byte_pair_tokenizer.py), written for RE2: RE2's ``\s`` is
# ASCII whitespace only and its ``$`` is the end of the text, hence ``_S`` and ``\Z`` here. It
# reproduces GPT-2's ``\s+(?!\S)`` without look-ahead by marking with "६" a space that starts a
# word and splitting the mark off again.
_S = r"\t\n\f\r "
_SPECIAL_SPACES = r"\u00a0\u2009\u202f\u3000"
_GPT2_SPLIT = (
    r"'s|'t|'re|'ve|'m|'ll|'d"
    rf"|[{_S}{_SPECIAL_SPACES}]+[\n\r\t\f६{_SPECIAL_SPACES}]| ?\p{{L}}+"
    rf"| ?[\p{{N}}]+| ?[^{_S}\p{{L}}\p{{N}}{_SPECIAL_SPACES}]+"
)
_GPT2_TRAILING = rf"[ \t\r\f\v६{_SPECIAL_SPACES}]\Z"
#: ``pre_tokenizer`` values of :class:`BytePairTokenizer`.
BYTE_PAIR_PRE_TOKENIZERS = ("gpt2", "none")


def _byte_to_unicode() -> dict[int, str]:
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


class BytePairTokenizer(Tokenizer):
    """GPT-2's byte-level byte-pair encoding, in pure Python (no TensorFlow at encode time).

    A text is cut into words (GPT-2's pattern: contractions, a letter run or a number with at
    most one space before it, other symbols, whitespace), each word's UTF-8 bytes become
    printable characters, and the merge rules are applied, the best-ranked pair first, until
    none applies; each resulting symbol is one id. ``decode`` joins the symbols and maps them
    back to bytes, so ``decode(encode(text)) == text`` for any text (invalid UTF-8 from sampled
    ids becomes U+FFFD). ``unsplittable_tokens`` (GPT-2's ``<|endoftext|>``) are found whole in
    a text and keep their id.

    :func:`from_keras_hub` makes one from a KerasHub ``BytePairTokenizer`` (``GPT2Tokenizer``).

    Args:
        vocabulary: each symbol's id.
        merges: the merge rules, best first, as ``"a b"``.
        special_tokens: the special token of each role (GPT-2: ``{"bos": "<|endoftext|>",
            "eos": "<|endoftext|>"}``). Defaults to ``None`` (none).
        unsplittable_tokens: tokens kept whole in a text. Defaults to the special tokens.
        pad_id: the id padding uses; masks say it is padding, so it may be an ordinary id, as
            KerasHub's GPT-2 pads with 0. Defaults to `0`.
        add_prefix_space: prepend a space to a text, so its first word encodes like the
            others. Defaults to ``False``.
        pre_tokenizer: ``"gpt2"``, GPT-2's word pattern, as OpenAI's encoder and KerasHub's
            TensorFlow path (``tf.data`` pipelines, ``task.predict`` on strings) apply it; or
            ``"none"``: no words, the merges run over the whole text between unsplittable
            tokens, as KerasHub 0.32's eager pure-Python path does (it hands its split pattern
            to Hugging Face ``tokenizers`` as a plain string, which matches only that literal
            text). Defaults to ``"gpt2"``.
    """

    kind = "byte_pair"

    def __init__(
        self,
        vocabulary: dict[str, int],
        merges: Sequence[str],
        *,
        special_tokens: dict[str, str] | None = None,
        unsplittable_tokens: Sequence[str] | None = None,
        pad_id: int = 0,
        add_prefix_space: bool = False,
        pre_tokenizer: str = "gpt2",
    ) -> None:
        import regex

        if pre_tokenizer not in BYTE_PAIR_PRE_TOKENIZERS:
            raise ValueError(
                f"`pre_tokenizer` must be one of {', '.join(BYTE_PAIR_PRE_TOKENIZERS)}. "
                f"Received: pre_tokenizer={pre_tokenizer!r}"
            )
        self.vocabulary = {str(k): int(v) for k, v in vocabulary.items()}
        self.merges = [m for m in merges if "#version:" not in m.lstrip()]
        self.special_tokens = dict(special_tokens or {})
        if unsplittable_tokens is None:
            unsplittable_tokens = list(dict.fromkeys(self.special_tokens.values()))
        self.unsplittable_tokens = list(unsplittable_tokens)
        self.add_prefix_space = add_prefix_space
        self.pre_tokenizer = pre_tokenizer
        missing = sorted(
            {t for t in (*self.special_tokens.values(), *self.unsplittable_tokens)}
            - self.vocabulary.keys()
        )
        if missing or set(self.special_tokens) - set(_ROLES):
            raise ValueError(
                f"`special_tokens` must map roles among {', '.join(_ROLES)} to tokens of "
                f"`vocabulary`. Received: special_tokens={self.special_tokens} (not in the "
                f"vocabulary: {missing})"
            )
        self.pad_id = int(pad_id)
        for role in _ROLES[1:]:
            token = self.special_tokens.get(role)
            setattr(self, f"{role}_id", None if token is None else self.vocabulary[token])
        self.frames_documents = self.bos_id is not None
        self._special_ids = frozenset(self.vocabulary[t] for t in self.unsplittable_tokens)
        self.num_special = len(self._special_ids)
        self._ranks = {}
        for rank, merge in enumerate(self.merges):
            self._ranks.setdefault(tuple(merge.split(" ")), rank)
        self._tokens: dict[int, str] = {}
        for token, i in self.vocabulary.items():
            self._tokens.setdefault(i, token)
        self._byte_to_char = _byte_to_unicode()
        self._char_to_byte = {c: b for b, c in self._byte_to_char.items()}
        self._cache: dict[str, list[int]] = {t: [self.vocabulary[t]] for t in unsplittable_tokens}
        by_length = sorted(self.unsplittable_tokens, key=len, reverse=True)
        self._special_re = (
            regex.compile("|".join(regex.escape(t) for t in by_length)) if by_length else None
        )
        if pre_tokenizer == "gpt2":
            self._mark_re = regex.compile(rf"( )([^{_S}{_SPECIAL_SPACES}])")
            # KerasHub's second mark, r"(\s{SPECIAL_WHITESPACES})$", is a sequence, not a set:
            # it only matches a space followed by those four characters, as here.
            self._end_mark_re = regex.compile(rf"([{_S}]{_SPECIAL_SPACES})\Z")
            self._split_re = regex.compile(_GPT2_SPLIT)
            self._trailing_re = regex.compile(_GPT2_TRAILING)

    @property
    def vocabulary_size(self) -> int:
        return max(len(self.vocabulary), max(self.vocabulary.values(), default=-1) + 1)

    @property
    def special_ids(self) -> frozenset[int]:
        return self._special_ids

    def split(self, text: str) -> list[str]:
        """The words of ``text`` before byte-pair merging (unsplittable tokens whole)."""
        if self.pre_tokenizer == "none":
            return self._split_none(text)
        if self.add_prefix_space:
            text = " " + text
        text = self._mark_re.sub("६\\1\\2", text)
        text = self._end_mark_re.sub("\\1६", text)
        parts = [text] if self._special_re is None else _regex_split(text, self._special_re)
        words = []
        for part in parts:
            if part in self.unsplittable_tokens:
                words.append(part)
                continue
            for piece in _regex_split(part, self._split_re):
                words.extend(_regex_split(piece, self._trailing_re))
        return [word for word in words if word != "६"]

    def _split_none(self, text: str) -> list[str]:
        parts = [text] if self._special_re is None else _regex_split(text, self._special_re)
        if self.add_prefix_space:
            # Hugging Face's ByteLevel(add_prefix_space=True) prefixes each part.
            parts = [
                p if p in self.unsplittable_tokens or p.startswith(" ") else " " + p for p in parts
            ]
        return parts

    def _merge(self, word: str) -> list[int]:
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
        return [i for word in self.split(text) for i in self._merge(word)]

    def decode(self, ids: Iterable[int]) -> str:
        """The bytes of the ids' symbols as text (as KerasHub decodes: special tokens such as
        ``<|endoftext|>`` appear as written); unknown ids are skipped."""
        data = bytearray()
        for i in ids:
            token = self._tokens.get(int(i))
            if token is None:
                continue
            if token in self.unsplittable_tokens:
                data += token.encode("utf-8")
                continue
            data += bytes(self._char_to_byte[c] for c in token if c in self._char_to_byte)
        return data.decode("utf-8", errors="replace")

    def get_config(self) -> dict[str, Any]:
        return {
            "vocabulary": self.vocabulary,
            "merges": self.merges,
            "special_tokens": self.special_tokens,
            "unsplittable_tokens": self.unsplittable_tokens,
            "pad_id": self.pad_id,
            "add_prefix_space": self.add_prefix_space,
            "pre_tokenizer": self.pre_tokenizer,
        }
