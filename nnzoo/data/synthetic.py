"""``synthetic``: random inputs of any kind and shape, so every config can smoke-run offline.

The labels are a little learnable, so a smoke run shows the loss going down, and everything
is deterministic from the seed:

- ``features``: x ~ N(0, 1); the class is the argmax of a fixed random projection of x.
- ``image``: a fixed, smooth random pattern per class, plus noise, in [0, 1].
- ``tokens`` / ``tokens_segments`` (classification): random ordinary tokens, about a third
  of them replaced by keywords of the example's class; variable lengths, padded with 0.
  With ``segments`` each example is ``[CLS] a [SEP] b [SEP]`` with ``segment_ids`` 0 / 1.
- ``language_modeling``: token walks along a fixed random successor table (each next token
  follows the table 90 % of the time); ``y`` is the next token, -1 at padding.
- ``masked_lm``: such walks framed ``[CLS] ... [SEP]`` and BERT-masked; ``y`` is the original
  token at masked positions, -1 elsewhere.

Token ids use the special tokens of :mod:`nnzoo.data.tokenizers` (0 = ``[PAD]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnzoo.data._prepare import IGNORE_INDEX
from nnzoo.data._sources import (
    DataSpec,
    SourceData,
    check_choice,
    check_int,
    register_source,
)
from nnzoo.data.tokenizers import NUM_SPECIAL, Tokenizer
from nnzoo.errors import ConfigError

__all__ = ["load_synthetic"]

_KINDS = ("auto", "features", "image", "tokens", "tokens_segments")
_TASKS = ("classification", "language_modeling", "masked_lm")
_DEFAULT_SHAPES = {"features": (16,), "image": (32, 32, 3), "tokens": (16,)}
_PAD, _CLS, _SEP = Tokenizer.pad_id, Tokenizer.cls_id, Tokenizer.sep_id


def _shape(input_shape: Any, kind: str) -> tuple[int, ...]:
    family = "tokens" if kind.startswith("tokens") else kind
    if input_shape is None:
        return _DEFAULT_SHAPES[family]
    if isinstance(input_shape, int) and not isinstance(input_shape, bool):
        input_shape = [input_shape]
    ok = isinstance(input_shape, list | tuple) and all(
        isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in input_shape
    )
    rank = {"features": None, "image": 3, "tokens": 1}[family]
    if not ok or not input_shape or (rank is not None and len(input_shape) != rank):
        need = {
            "features": "[features, ...]",
            "image": "[height, width, channels]",
            "tokens": "[sequence_length]",
        }[family]
        raise ConfigError(
            f"must be {need} for {kind} inputs. Received: input_shape={input_shape!r}",
            key="data.params.input_shape",
        )
    return tuple(int(d) for d in input_shape)


def _balanced_labels(n: int, num_classes: int, rng: np.random.Generator) -> np.ndarray:
    return rng.permutation(np.arange(n) % num_classes).astype("int32")


def _features(n, shape, num_classes, rng, structure):
    x = rng.normal(size=(n, *shape)).astype("float32")
    projection = structure.normal(size=(int(np.prod(shape)), num_classes))
    y = np.argmax(x.reshape(n, -1) @ projection, axis=1).astype("int32")
    return x, y


def _images(n, shape, num_classes, rng, structure):
    height, width, channels = shape
    coarse = structure.normal(size=(num_classes, 4, 4, channels))
    rows = np.arange(height) * 4 // height
    cols = np.arange(width) * 4 // width
    templates = coarse[:, rows][:, :, cols]  # (K, H, W, C): blocky, smooth patterns
    y = _balanced_labels(n, num_classes, rng)
    noise = rng.normal(size=(n, height, width, channels))
    x = np.clip(0.5 + 0.15 * templates[y] + 0.1 * noise, 0.0, 1.0)
    return x.astype("float32"), y


def _lengths(n, low, high, rng):
    return rng.integers(max(low, 1), high + 1, size=n)


def _token_classification(n, length, num_classes, vocabulary_size, segments, rng, structure):
    ordinary = np.arange(NUM_SPECIAL, vocabulary_size)
    per_class = max(1, min(8, len(ordinary) // (2 * num_classes)))
    keywords = structure.permutation(ordinary)[: per_class * num_classes]
    keywords = keywords.reshape(num_classes, per_class)
    y = _balanced_labels(n, num_classes, rng)
    body = length - 3 if segments else length
    lengths = _lengths(n, (body + 1) // 2, body, rng)
    tokens = rng.choice(ordinary, size=(n, body))
    use_keyword = rng.random((n, body)) < 0.35
    picked = keywords[y[:, None], rng.integers(0, per_class, size=(n, body))]
    tokens = np.where(use_keyword, picked, tokens)
    tokens[np.arange(body)[None, :] >= lengths[:, None]] = _PAD
    token_ids = np.zeros((n, length), dtype="int32")
    x: dict[str, np.ndarray] = {}
    if segments:
        # [CLS] a [SEP] b [SEP]: the body split in two segments.
        segment_ids = np.zeros((n, length), dtype="int32")
        for row in range(n):
            words = tokens[row, : lengths[row]]
            cut = (len(words) + 1) // 2
            seq = [_CLS, *words[:cut], _SEP, *words[cut:], _SEP]
            token_ids[row, : len(seq)] = seq
            segment_ids[row, cut + 2 : len(seq)] = 1
        x["segment_ids"] = segment_ids
    else:
        token_ids[:, :body] = tokens
    padding_mask = (token_ids != _PAD).astype("int32")
    return {"token_ids": token_ids, "padding_mask": padding_mask, **x}, y


def _walks(n, length, vocabulary_size, rng, structure):
    """Token walks ``(n, length)`` along a fixed successor table (90 %) or at random."""
    ordinary = np.arange(NUM_SPECIAL, vocabulary_size)
    successor = np.zeros(vocabulary_size, dtype="int64")
    successor[ordinary] = structure.permutation(ordinary)
    walks = np.empty((n, length), dtype="int64")
    walks[:, 0] = rng.choice(ordinary, size=n)
    jump = rng.random((n, length)) < 0.1
    random_ids = rng.choice(ordinary, size=(n, length))
    for t in range(1, length):
        walks[:, t] = np.where(jump[:, t], random_ids[:, t], successor[walks[:, t - 1]])
    return walks


def _language_modeling(n, length, vocabulary_size, rng, structure):
    walks = _walks(n, length + 1, vocabulary_size, rng, structure)
    lengths = _lengths(n, (length + 1) // 2, length, rng)
    real = np.arange(length)[None, :] < lengths[:, None]
    token_ids = np.where(real, walks[:, :-1], _PAD).astype("int32")
    y = np.where(real, walks[:, 1:], IGNORE_INDEX).astype("int32")
    return {"token_ids": token_ids, "padding_mask": real.astype("int32")}, y


def _masked_lm(n, length, vocabulary_size, rng, structure):
    from nnzoo.data.text import masked_lm_inputs

    body = length - 2
    walks = _walks(n, body, vocabulary_size, rng, structure)
    lengths = _lengths(n, (body + 1) // 2, body, rng)
    walks = np.where(np.arange(body)[None, :] < lengths[:, None], walks, _PAD)
    return masked_lm_inputs(walks, lengths, rng, vocabulary_size=vocabulary_size)


def load_synthetic(
    *,
    seed: int,
    input_kind: str = "auto",
    input_shape: list[int] | None = None,
    num_classes: int = 2,
    vocabulary_size: int = 1000,
    num_examples: int = 256,
    task: str = "classification",
    segments: bool = False,
) -> SourceData:
    """Random examples of any input kind and shape, with slightly learnable labels.

    ``input_kind``: ``features``, ``image``, ``tokens``, ``tokens_segments`` or ``auto``
    (``features`` for classification, ``tokens_segments`` with ``segments`` or for
    ``masked_lm``, ``tokens`` for ``language_modeling``). ``input_shape`` defaults to
    ``[16]`` (features; for tokens, ``[sequence_length]``) and ``[32, 32, 3]`` (image).
    ``task``: ``classification`` (``num_classes`` classes), ``language_modeling`` or
    ``masked_lm`` (``y`` holds token targets ``(N, T)``, -1 where there is none).
    ``segments`` (BERT): token inputs also carry ``segment_ids``. The trainer fills ``task``
    and ``segments`` from the model.
    """
    check_choice("input_kind", input_kind, _KINDS)
    check_choice("task", task, _TASKS)
    check_int("num_examples", num_examples)
    check_int("vocabulary_size", vocabulary_size, minimum=NUM_SPECIAL + 8)
    if task == "classification":
        check_int("num_classes", num_classes, minimum=2)
    kind = input_kind
    if kind == "auto":
        if task == "masked_lm" or (segments and task == "classification"):
            kind = "tokens_segments"
        elif task == "language_modeling":
            kind = "tokens"
        else:
            kind = "features"
    segments = bool(segments) or kind == "tokens_segments"
    if task == "masked_lm":
        kind, segments = "tokens_segments", True
    if task != "classification" and not kind.startswith("tokens"):
        raise ConfigError(
            f"task {task} needs token inputs. Received: input_kind={input_kind!r}",
            key="data.params.input_kind",
            fix="set data.params.input_kind to tokens (or leave it at auto)",
        )
    shape = _shape(input_shape, kind)
    n = int(num_examples)
    rng = np.random.default_rng(seed)
    structure = np.random.default_rng([seed, 1])  # the fixed task: projection, patterns, ...
    if kind.startswith("tokens"):
        length = shape[0]
        minimum = 5 if segments else 2
        if length < minimum:
            raise ConfigError(
                f"the sequence length must be at least {minimum}. Received: input_shape={shape}",
                key="data.params.input_shape",
            )
        if task == "language_modeling":
            x, y = _language_modeling(n, length, vocabulary_size, rng, structure)
            kind = "tokens"
        elif task == "masked_lm":
            x, y = _masked_lm(n, length, vocabulary_size, rng, structure)
        else:
            x, y = _token_classification(
                n, length, num_classes, vocabulary_size, segments, rng, structure
            )
        kind = "tokens_segments" if "segment_ids" in x else "tokens"
    elif kind == "image":
        x, y = _images(n, shape, num_classes, rng, structure)
    else:
        x, y = _features(n, shape, num_classes, rng, structure)
    classification = task == "classification"
    spec = DataSpec(
        input_kind=kind,
        input_shape=shape,
        num_classes=num_classes if classification else None,
        class_names=[f"class_{i}" for i in range(num_classes)] if classification else None,
        vocabulary_size=vocabulary_size if kind.startswith("tokens") else None,
        sequence_length=shape[0] if kind.startswith("tokens") else None,
        task=task,
    )
    return SourceData(x=x, y=y, spec=spec)


register_source(
    "synthetic",
    load_synthetic,
    input_kind="any",
    summary="Random inputs of any kind and shape, slightly learnable labels (smoke runs)",
    offline=True,
)
