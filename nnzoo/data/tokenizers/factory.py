"""Where a tokenizer comes from: learned for a text source (:func:`make_tokenizer`), read
back from a run's ``tokenizer.json`` (:func:`tokenizer_from_json`, :func:`load_tokenizer`)
or converted from a KerasHub preset's tokenizer (:func:`from_keras_hub`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from nnzoo.data.tokenizers._base import _ROLES, Tokenizer
from nnzoo.data.tokenizers.byte import ByteTokenizer
from nnzoo.data.tokenizers.byte_pair import BytePairTokenizer
from nnzoo.data.tokenizers.word import WordTokenizer
from nnzoo.data.tokenizers.wordpiece import WordPieceTokenizer
from nnzoo.errors import RunDirError


def from_keras_hub(tokenizer: Any, *, pre_tokenizer: str = "gpt2") -> Tokenizer:
    """The nnzoo tokenizer that encodes as a KerasHub tokenizer does (the same ids).

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


def tokenizer_from_json(text: str, *, where: str | None = None) -> Tokenizer:
    """Rebuild a tokenizer from :meth:`Tokenizer.to_json` text.

    ``where`` (the file's path) turns damaged text (not JSON, an unknown kind, a wrong config)
    into one :class:`~nnzoo.errors.RunDirError` line naming the file; without it the error is
    Python's.
    """
    try:
        data = json.loads(text)
        kind = data.get("kind")
        if kind not in _KINDS:
            raise ValueError(f"Unknown tokenizer kind. Received: kind={kind!r}")
        return _KINDS[kind](**data.get("config", {}))
    except (ValueError, TypeError, AttributeError, KeyError) as err:
        if where is None:
            raise
        line = f" at line {err.lineno}" if isinstance(err, json.JSONDecodeError) else ""
        what = "not valid JSON" if isinstance(err, json.JSONDecodeError) else "not a tokenizer"
        raise RunDirError(
            f"{where}: {what}{line}, so it is damaged. Fix: copy the whole run directory (or "
            "the tokenizer.json) again"
        ) from None


def load_tokenizer(path: str) -> Tokenizer:
    """Read a ``tokenizer.json`` file (a damaged one: one line naming it)."""
    with open(path, encoding="utf-8") as f:
        return tokenizer_from_json(f.read(), where=str(path))


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
