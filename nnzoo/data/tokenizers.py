"""Tokenizers for the text sources: raw UTF-8 bytes, a word vocabulary fitted on a corpus, a
WordPiece vocabulary (BERT's sub-words) learned on a corpus, or a KerasHub preset's own tokenizer
(:func:`from_keras_hub`: BERT's WordPiece or GPT-2's byte-pair encoding, in pure Python).

The tokenizers nnzoo learns share one id layout for the special tokens: ``[PAD]`` = 0 (padding;
the losses never see it as a target), ``[UNK]`` = 1, ``[CLS]`` = 2, ``[SEP]`` = 3, ``[MASK]`` =
4, ``[BOS]`` = 5, ``[EOS]`` = 6; ordinary tokens follow. A preset's tokenizer keeps the preset's
ids (BERT: ``[PAD]`` = 0, ``[UNK]`` = 100, ``[CLS]`` = 101, ...; GPT-2: ``<|endoftext|>`` =
50256 starts and ends a text and nothing else is special), so code reads the special ids from
the tokenizer instance (``tok.cls_id``, ``tok.special_ids``), never from the class, and a
padding mask comes from the texts' lengths, never from ``token_ids != pad_id`` (GPT-2 pads with
an ordinary token id).

A run directory keeps its tokenizer as ``tokenizer.json`` (:meth:`Tokenizer.to_json`);
:func:`tokenizer_from_json` rebuilds the right class from it.
"""

from __future__ import annotations

import heapq
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "SPECIAL_TOKENS",
    "BytePairTokenizer",
    "TOKENIZER_KINDS",
    "ByteTokenizer",
    "Tokenizer",
    "WordPieceTokenizer",
    "WordTokenizer",
    "from_keras_hub",
    "load_tokenizer",
    "make_tokenizer",
    "tokenizer_from_json",
]

#: The special tokens, in id order (``[PAD]`` is id 0).
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[BOS]", "[EOS]")
NUM_SPECIAL = len(SPECIAL_TOKENS)
#: The roles a special token can have (``Tokenizer.<role>_id``).
_ROLES = ("pad", "unk", "cls", "sep", "mask", "bos", "eos")

# Words for source code: identifiers / numbers, a newline, a run of spaces or tabs, or any one
# other character. Joining the pieces gives the text back, so known text round-trips exactly.
_WORD_RE = re.compile(r"\w+|\n|[ \t]+|[^\w\s]|\s", re.UNICODE)


class Tokenizer:
    """The interface shared by the tokenizers: ``encode``, ``decode`` and the special ids.

    The class attributes are nnzoo's own layout; a preset's tokenizer sets its own ids on the
    instance (``None`` for a role the preset does not have, e.g. GPT-2's ``cls_id``).
    """

    kind = ""
    pad_id: int = SPECIAL_TOKENS.index("[PAD]")
    unk_id: int | None = SPECIAL_TOKENS.index("[UNK]")
    cls_id: int | None = SPECIAL_TOKENS.index("[CLS]")
    sep_id: int | None = SPECIAL_TOKENS.index("[SEP]")
    mask_id: int | None = SPECIAL_TOKENS.index("[MASK]")
    bos_id: int | None = SPECIAL_TOKENS.index("[BOS]")
    eos_id: int | None = SPECIAL_TOKENS.index("[EOS]")
    num_special = NUM_SPECIAL
    #: Whether a document (a corpus file, a prompt) starts with ``bos_id``, as GPT-2 was trained
    #: (``<|endoftext|>`` between documents); nnzoo's own tokenizers do not frame documents.
    frames_documents = False

    @property
    def special_ids(self) -> frozenset[int]:
        """The ids no text encodes to by accident and masking never chooses."""
        return frozenset(range(self.num_special))

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


# --- byte-pair encoding (GPT-2) ----------------------------------------------------------------

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


def from_keras_hub(tokenizer: Any, *, pre_tokenizer: str = "gpt2") -> Tokenizer:
    """The nnzoo tokenizer that encodes as a KerasHub tokenizer does, in pure Python.

    Supports ``keras_hub.tokenizers.WordPieceTokenizer`` and its subclasses (``BertTokenizer``
    ...: a :class:`WordPieceTokenizer` with the preset's whole vocabulary and special ids) and
    ``keras_hub.tokenizers.BytePairTokenizer`` and its subclasses (``GPT2Tokenizer``: a
    :class:`BytePairTokenizer`; ``<|endoftext|>`` is both ``bos_id`` and ``eos_id``, padding
    is KerasHub's ``pad_token_id``). Its ``to_json`` embeds the vocabulary, so a run's
    ``tokenizer.json`` needs no preset assets.

    Args:
        tokenizer: a KerasHub tokenizer with its vocabulary set (e.g. from ``from_preset``).
        pre_tokenizer: for a byte-pair tokenizer, which of KerasHub's two word splitters to
            reproduce: ``"gpt2"`` (its TensorFlow path, used in ``tf.data`` pipelines, which is
            OpenAI's GPT-2 encoder) or ``"none"`` (what its eager pure-Python path does in KerasHub
            0.32: merges over the whole text, see :class:`BytePairTokenizer`). They differ on
            runs of spaces and wherever a merge crosses GPT-2's word boundaries. Defaults to
            ``"gpt2"``.

    Raises:
        ValueError: for another kind of tokenizer (SentencePiece, ...), with its class name.
    """
    import keras_hub

    name = type(tokenizer).__name__
    if isinstance(tokenizer, keras_hub.tokenizers.WordPieceTokenizer):
        if not tokenizer.split:
            raise ValueError(
                f"{name} has split=False (it takes words, not text); nnzoo tokenizes text. "
                "Received: split=False"
            )
        roles = _keras_hub_roles(tokenizer)
        roles["unk"] = tokenizer.oov_token
        unsplittable: list[str] = []
        if tokenizer.special_tokens_in_strings:
            unsplittable = list(tokenizer.special_tokens)
            unsplittable += list(getattr(tokenizer, "_init_special_tokens", None) or [])
        return WordPieceTokenizer(
            list(tokenizer.get_vocabulary()),
            lowercase=bool(tokenizer.lowercase),
            strip_accents=bool(tokenizer.strip_accents),
            suffix_indicator=tokenizer.suffix_indicator,
            special_tokens=roles,
            split_on_cjk=bool(tokenizer.split_on_cjk),
            unsplittable_tokens=list(dict.fromkeys(unsplittable)),
        )
    if isinstance(tokenizer, keras_hub.tokenizers.BytePairTokenizer):
        return BytePairTokenizer(
            dict(tokenizer.vocabulary),
            list(tokenizer.merges),
            special_tokens=_keras_hub_roles(tokenizer),
            unsplittable_tokens=list(tokenizer.unsplittable_tokens or []),
            pad_id=int(getattr(tokenizer, "pad_token_id", 0) or 0),
            add_prefix_space=bool(tokenizer.add_prefix_space),
            pre_tokenizer=pre_tokenizer,
        )
    raise ValueError(
        "nnzoo reads KerasHub WordPiece (BERT) and byte-pair (GPT-2) tokenizers. "
        f"Received: a {name}"
    )


def _keras_hub_roles(tokenizer: Any) -> dict[str, str]:
    """A KerasHub tokenizer's special tokens by nnzoo role (``cls_token`` -> ``"cls"``)."""
    names = {"start": "bos", "end": "eos"}
    roles = {}
    for attr in getattr(tokenizer, "_special_token_attrs", []):
        role = attr.removesuffix("_token")
        role = names.get(role, role)
        if role in _ROLES:
            roles[role] = getattr(tokenizer, attr)
    return roles


_KINDS: dict[str, type[Tokenizer]] = {
    "byte": ByteTokenizer,
    "word": WordTokenizer,
    "wordpiece": WordPieceTokenizer,
    "byte_pair": BytePairTokenizer,
}

#: The tokenizers a text source can learn (``data.params.tokenizer``); a preset's tokenizer
#: comes as the path of its ``tokenizer.json``.
TOKENIZER_KINDS = ("byte", "word", "wordpiece")


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
