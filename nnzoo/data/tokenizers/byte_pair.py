""":class:`BytePairTokenizer`: GPT-2's byte-level byte-pair encoding, encoded and learned with
Hugging Face ``tokenizers``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from typing import Any

from nnzoo.data.tokenizers import _char_classes
from nnzoo.data.tokenizers._base import _ROLES, Tokenizer
from nnzoo.data.tokenizers._byte_pair_reference import MARK, BytePairReference, byte_to_unicode

#: ``pre_tokenizer`` values of :class:`BytePairTokenizer`.
BYTE_PAIR_PRE_TOKENIZERS = ("gpt2", "none")
#: GPT-2's end-of-text token: the last id of a learned vocabulary, as in GPT-2.
END_OF_TEXT = "<|endoftext|>"

_SPACES = "\t\n\f\r "  # RE2's \s, which KerasHub's pattern means
_SPECIAL_SPACES = "\u00a0\u2009\u202f\u3000"


class BytePairTokenizer(Tokenizer):
    """GPT-2's byte-level byte-pair encoding.

    A text is cut into words (GPT-2's pattern: contractions, a letter run or a number with at
    most one space before it, other symbols, whitespace), each word's UTF-8 bytes become
    printable characters, and the merge rules are applied, the best-ranked pair first, until
    none applies; each resulting symbol is one id. ``decode`` joins the symbols and maps them
    back to bytes, so ``decode(encode(text)) == text`` for any text (invalid UTF-8 from sampled
    ids becomes U+FFFD). ``unsplittable_tokens`` (GPT-2's ``<|endoftext|>``) are found whole in
    a text and keep their id.

    Texts are encoded by Hugging Face ``tokenizers`` (Rust), configured to give the ids of
    nnzoo's earlier pure-Python encoder (kept as the reference, ``_byte_pair_reference``): the
    reference's word pattern, its "६" marks and the trailing spaces it splits off folded into
    one pattern (:func:`_gpt2_pattern`, with every letter and number class written out from
    the ``regex`` package's tables), the byte alphabet and the merges. The reference still
    encodes what that pattern does not cover: with ``pre_tokenizer="gpt2"``, a text holding
    an unsplittable token or "६" itself (KerasHub's mark character); and every text of a
    vocabulary whose merges make symbols outside it or that lacks some of the 256 byte
    symbols. :meth:`fit` learns merges with ``tokenizers``' ``BpeTrainer``;
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
        self._tokens: dict[int, str] = {}
        for token, i in self.vocabulary.items():
            self._tokens.setdefault(i, token)
        self._byte_to_char = byte_to_unicode()
        self._char_to_byte = {c: b for b, c in self._byte_to_char.items()}
        self._reference = BytePairReference(
            self.vocabulary,
            self.merges,
            unsplittable_tokens=self.unsplittable_tokens,
            add_prefix_space=add_prefix_space,
            pre_tokenizer=pre_tokenizer,
        )

    @classmethod
    def fit(cls, texts: Iterable[str], *, vocabulary_size: int) -> BytePairTokenizer:
        """Learn GPT-2-style merges from ``texts`` with ``tokenizers``' ``BpeTrainer``, on the
        words :meth:`encode` sees.

        The vocabulary is laid out as GPT-2's: the 256 byte symbols first (``"!"`` = 0), then
        one symbol per merge, and ``<|endoftext|>`` last (``bos`` and ``eos``, unsplittable;
        padding is id 0, an ordinary token, as KerasHub pads GPT-2). It holds at most
        ``vocabulary_size`` ids, fewer when the texts offer fewer merges; any text encodes
        without an unknown token (every byte has a symbol).
        """
        if vocabulary_size <= 257:
            raise ValueError(
                "`vocabulary_size` must be greater than 257 (the 256 bytes and <|endoftext|>). "
                f"Received: vocabulary_size={vocabulary_size}"
            )
        from tokenizers import Tokenizer as Engine
        from tokenizers import models, pre_tokenizers, trainers

        engine = Engine(models.BPE())
        engine.pre_tokenizer = _gpt2_pre_tokenizer()
        trainer = trainers.BpeTrainer(
            vocab_size=vocabulary_size - 1,  # <|endoftext|> comes last
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        engine.train_from_iterator(texts, trainer=trainer)
        learned = json.loads(engine.to_str())["model"]
        vocabulary = dict(sorted(learned["vocab"].items(), key=lambda item: item[1]))
        vocabulary[END_OF_TEXT] = len(vocabulary)
        merges = [m if isinstance(m, str) else " ".join(m) for m in learned["merges"]]
        special = {"bos": END_OF_TEXT, "eos": END_OF_TEXT}
        return cls(vocabulary, merges, special_tokens=special)

    @property
    def vocabulary_size(self) -> int:
        return max(len(self.vocabulary), max(self.vocabulary.values(), default=-1) + 1)

    @property
    def special_ids(self) -> frozenset[int]:
        return self._special_ids

    def split(self, text: str) -> list[str]:
        """The words of ``text`` before byte-pair merging (unsplittable tokens whole)."""
        return self._reference.split(text)

    @functools.cached_property
    def _engine(self) -> Any:
        """The ``tokenizers.Tokenizer`` that encodes as the reference does, or ``None`` where
        it cannot (merges that make symbols outside the vocabulary, an incomplete byte
        alphabet): built on first use."""
        pairs = _merge_pairs(self.vocabulary, self.merges)
        if pairs is None:
            return None
        from tokenizers import AddedToken, models, pre_tokenizers
        from tokenizers import Tokenizer as Engine

        engine = Engine(models.BPE(vocab=self.vocabulary, merges=pairs))
        engine.add_special_tokens(
            [AddedToken(t, special=True, normalized=False) for t in self.unsplittable_tokens]
        )
        if self.pre_tokenizer == "gpt2":
            engine.pre_tokenizer = _gpt2_pre_tokenizer()
        else:
            engine.pre_tokenizer = pre_tokenizers.ByteLevel(
                add_prefix_space=self.add_prefix_space, use_regex=False
            )
        return engine

    def _engine_text(self, text: str) -> str | None:
        """What the engine reads for ``text``, or ``None`` where the reference encodes it."""
        if self._engine is None or not text:
            return None
        if self.pre_tokenizer == "gpt2":
            # The reference marks the spaces before it cuts out the unsplittable tokens (to
            # it, a space before one starts a word); the engine cuts them out first.
            if MARK in text or any(token in text for token in self.unsplittable_tokens):
                return None
            if self.add_prefix_space:
                return " " + text
        return text

    def encode(self, text: str) -> list[int]:
        words = self._engine_text(text)
        if words is None:
            return self._reference.encode(text)
        try:
            return self._engine.encode(words, add_special_tokens=False).ids
        except TypeError:  # a lone surrogate (not UTF-8): the reference says what is wrong
            return self._reference.encode(text)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """The ids of each text, as :meth:`encode` gives them: the texts the engine encodes in
        one ``encode_batch_fast`` call (no offsets, over the cores), the others (those
        :meth:`encode` leaves to the reference) by the reference."""
        out: list[list[int]] = [[] for _ in texts]
        rows, words = [], []
        for row, text in enumerate(texts):
            engine_text = self._engine_text(text)
            if engine_text is None:
                out[row] = self._reference.encode(text)
            else:
                rows.append(row)
                words.append(engine_text)
        if not rows:
            return out
        try:
            encodings = self._engine.encode_batch_fast(words, add_special_tokens=False)
        except TypeError:  # a lone surrogate somewhere: each text alone, as encode says
            return [self.encode(text) for text in texts]
        for row, encoding in zip(rows, encodings, strict=True):
            out[row] = encoding.ids
        return out

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

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_engine", None)  # rebuilt on first use
        return state


@functools.cache
def _gpt2_pattern() -> str:
    """The reference's words (``_byte_pair_reference``) as one Oniguruma pattern over the
    unmarked text: its word pattern, its "६" marks and its trailing split folded together.

    The reference marks a space that starts a word (followed by a character that is not
    whitespace, ``S`` or the special spaces) with "६", splits with KerasHub's pattern, splits
    off a last space, tab, ``\\v``, special space or mark from each piece and drops the marks.
    Worked out case by case (and checked against the reference on random texts and on every
    character), that gives, at each position, the first of:

    1. a contraction (``'s``, ...);
    2. a space that starts a word, then letters, or digits, or other symbols (a final ``\\v``
       of the symbols is a piece of its own);
    3. whitespace before a space that starts a word (the mark ends it: one piece);
    4. at the end of the text, whitespace ending in ``\\t``, ``\\n``, ``\\f``, ``\\r`` or a
       space, then the four special spaces in order (KerasHub's end mark: one piece);
    5. otherwise whitespace up to its last ``\\n``, or up to before its last tab, ``\\r``,
       ``\\f`` or special space, then that character alone (only spaces may follow, then the
       end or a word);
    6. at the end of the text, whitespace up to before its last space, then that space.
    """
    cc = _char_classes
    whitespace = cc.to_ranges(sorted(map(ord, _SPACES + _SPECIAL_SPACES)))
    letters = cc.regex_property(r"\p{L}")
    numbers = cc.regex_property(r"\p{N}")
    ws = cc.onig_class(whitespace)
    word = cc.onig_class(whitespace, negate=True)  # a character a marked space precedes
    symbol = cc.onig_class(cc.union(whitespace, letters, numbers), negate=True)
    splits_off = cc.onig_class(cc.to_ranges(sorted(map(ord, "\t\r\f" + _SPECIAL_SPACES))))
    end_mark = "[\\t\\n\\f\\r ]" + "".join(f"\\x{{{ord(c):x}}}" for c in _SPECIAL_SPACES)
    last_vt = f"(?=\\x0b(?!{symbol}))"  # \v ending a run of symbols
    return "|".join(
        [
            "'s|'t|'re|'ve|'m|'ll|'d",
            f" ?{cc.onig_class(letters)}+",
            f" ?{cc.onig_class(numbers)}+",
            f" ?{symbol}+{last_vt}",
            f" {last_vt}",
            f" ?{symbol}+",
            f"{ws}+(?= {word})",
            # Oniguruma's \z is the end of the text (its \Z also matches before a last \n).
            f"{ws}*{end_mark}\\z",
            f"{ws}+\\n(?= *(?!{ws}))",
            f"{ws}+(?={splits_off} *(?!{ws}))",
            f"(?<={ws}){splits_off}(?= *(?!{ws}))",
            f"{ws} *(?= \\z)",
            ws,
        ]
    )


def _gpt2_pre_tokenizer() -> Any:
    """The reference's words (:func:`_gpt2_pattern`), their bytes as GPT-2's symbols."""
    from tokenizers import Regex, pre_tokenizers

    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_gpt2_pattern()), "isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )


def _merge_pairs(
    vocabulary: dict[str, int], merges: Sequence[str]
) -> list[tuple[str, str]] | None:
    """The merges as pairs for ``tokenizers.models.BPE`` (a repeated rule keeps its first
    rank, as in the reference), or ``None`` where that model would not merge as the reference
    does: a rule over or making a symbol outside the vocabulary, two symbols with one id, or
    a byte without its symbol (the model drops an unknown symbol and merges across it)."""
    pairs: dict[tuple[str, str], None] = {}
    for merge in merges:
        parts = merge.split(" ")
        if len(parts) != 2:
            continue  # never applies in the reference either
        a, b = parts
        if a not in vocabulary or b not in vocabulary or a + b not in vocabulary:
            return None
        pairs.setdefault((a, b), None)
    if pairs and not set(byte_to_unicode().values()) <= vocabulary.keys():
        return None
    if len(set(vocabulary.values())) != len(vocabulary):
        return None
    return list(pairs)
