"""The interface every tokenizer implements (:class:`Tokenizer`) and nnzoo's own special
tokens (:data:`SPECIAL_TOKENS`: ids 0 to 6, before the ordinary tokens).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

#: The special tokens, in id order (``[PAD]`` is id 0).
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[BOS]", "[EOS]")
NUM_SPECIAL = len(SPECIAL_TOKENS)
#: The roles a special token can have (``Tokenizer.<role>_id``).
_ROLES = ("pad", "unk", "cls", "sep", "mask", "bos", "eos")
#: At most this many texts, or about this many characters, go to one ``encode_batch`` call of
#: :func:`encode_in_chunks`: the engine holds a batch's encodings at once, not the corpus's.
CHUNK_TEXTS = 2048
CHUNK_CHARS = 4_000_000


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

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's ids, exactly as :meth:`encode` gives them; the tokenizers on Hugging
        Face ``tokenizers`` encode the whole list in one call (over the CPU cores). Callers
        with many texts use :func:`encode_in_chunks`, which bounds what one call holds."""
        return [self.encode(text) for text in texts]

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


def encode_in_chunks(tokenizer: Tokenizer, texts: Iterable[str]) -> Iterator[list[int]]:
    """Each text's ids in order, as :meth:`Tokenizer.encode` gives them, encoded by
    :meth:`Tokenizer.encode_batch` a chunk at a time (at most :data:`CHUNK_TEXTS` texts,
    :data:`CHUNK_CHARS` characters unless one text alone is longer)."""
    chunk: list[str] = []
    size = 0
    for text in texts:
        if chunk and (len(chunk) >= CHUNK_TEXTS or size + len(text) > CHUNK_CHARS):
            yield from tokenizer.encode_batch(chunk)
            chunk, size = [], 0
        chunk.append(text)
        size += len(text)
    if chunk:
        yield from tokenizer.encode_batch(chunk)
