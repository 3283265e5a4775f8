"""Tokenizers for the text sources: raw UTF-8 bytes, a word vocabulary fitted on a corpus, a
WordPiece vocabulary (BERT's sub-words) learned on a corpus, or a KerasHub preset's own tokenizer
(:func:`from_keras_hub`: BERT's WordPiece or GPT-2's byte-pair encoding). WordPiece and byte
pairs are encoded and learned with Hugging Face ``tokenizers`` (Rust, any backend).

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

One module per tokenizer: :mod:`~nnzoo.data.tokenizers.byte` (:class:`ByteTokenizer`),
:mod:`~nnzoo.data.tokenizers.word` (:class:`WordTokenizer`),
:mod:`~nnzoo.data.tokenizers.wordpiece` (:class:`WordPieceTokenizer`) and
:mod:`~nnzoo.data.tokenizers.byte_pair` (:class:`BytePairTokenizer`); their interface and
the special tokens in ``_base``; making, reading back and converting one in
:mod:`~nnzoo.data.tokenizers.factory`. Other modules import from here.

The pure-Python encoders nnzoo had before ``tokenizers`` stay, private, in
``_wordpiece_reference`` and ``_byte_pair_reference``: they are the oracle the tests hold the
fast engine to (the same ids on every text), and the engine hands them the few texts it cannot
encode exactly (each class says which). ``_char_classes`` writes their character classes out
as code-point ranges for the engine's patterns.
"""

from nnzoo.data.tokenizers._base import (
    NUM_SPECIAL,
    SPECIAL_TOKENS,
    Tokenizer,
    encode_in_chunks,
)
from nnzoo.data.tokenizers.byte import ByteTokenizer
from nnzoo.data.tokenizers.byte_pair import BYTE_PAIR_PRE_TOKENIZERS, BytePairTokenizer
from nnzoo.data.tokenizers.factory import (
    TOKENIZER_KINDS,
    from_keras_hub,
    load_tokenizer,
    make_tokenizer,
    tokenizer_from_json,
)
from nnzoo.data.tokenizers.word import WordTokenizer
from nnzoo.data.tokenizers.wordpiece import WordPieceTokenizer

__all__ = [
    "NUM_SPECIAL",
    "SPECIAL_TOKENS",
    "BYTE_PAIR_PRE_TOKENIZERS",
    "BytePairTokenizer",
    "TOKENIZER_KINDS",
    "ByteTokenizer",
    "Tokenizer",
    "WordPieceTokenizer",
    "WordTokenizer",
    "encode_in_chunks",
    "from_keras_hub",
    "load_tokenizer",
    "make_tokenizer",
    "tokenizer_from_json",
]
