"""Sampling text from a causal language model, one token at a time.

No key/value cache: each step runs the model on the whole (cropped) context. The context is
right-padded to a fixed length so the model's predict function is traced once, not once per
length; a causal model's logits at the last real position do not depend on the padding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnzoo.data.tokenizers import Tokenizer

__all__ = ["generate", "sample_next"]


def _model_length(model: Any) -> int | None:
    """The fixed sequence length of the model's ``token_ids`` input, if it has one."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None
    for tensor in inputs or ():
        if "token_ids" in getattr(tensor, "name", ""):
            length = tensor.shape[1] if len(tensor.shape) > 1 else None
            return int(length) if length is not None else None
    return None


def _bucket(length: int) -> int:
    """The next power of two >= ``length`` (at least 16): few distinct shapes to trace."""
    return max(16, 1 << (length - 1).bit_length())


def sample_next(
    logits: np.ndarray,
    rng: np.random.Generator,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
) -> int:
    """One token id from a vector of logits; ``temperature == 0`` takes the argmax."""
    logits = np.asarray(logits, dtype="float64")
    if temperature == 0:
        return int(np.argmax(logits))
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = np.partition(logits, -top_k)[-top_k]
        logits = np.where(logits < kth, -np.inf, logits)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    return int(rng.choice(len(probs), p=probs))


def generate(
    model: Any,
    tokenizer: Tokenizer,
    prompt: str,
    *,
    max_new_tokens: int = 200,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int | None = None,
    max_sequence_length: int | None = None,
) -> str:
    """Continue ``prompt`` with up to ``max_new_tokens`` tokens sampled from ``model``.

    Args:
        model: a causal LM taking ``{"token_ids", "padding_mask"}`` (B, T) int32 and returning
            logits (B, T, vocabulary_size).
        tokenizer: the run's tokenizer.
        prompt: the text to continue; an empty prompt starts from a newline, or, with a
            tokenizer that frames documents (GPT-2), every prompt starts after its start
            token (``<|endoftext|>``), as KerasHub's ``GPT2CausalLM.generate`` does.
        max_new_tokens: how many tokens to sample. Defaults to `200`.
        temperature: divides the logits; `0` takes the most likely token every step
            (deterministic). Defaults to `1.0`.
        top_k: sample among the `top_k` most likely tokens only. Defaults to `None` (all).
        seed: seeds NumPy's generator, so equal seeds give equal text. Defaults to `None`.
        max_sequence_length: the longest context the model is given; older tokens are
            cropped. Defaults to `None`: the model's input length if fixed, else unlimited.

    Returns:
        The continuation only, without the prompt, decoded by ``tokenizer`` (GPT-2: the exact
        bytes). Sampling stops early at the tokenizer's end token (``[EOS]``,
        ``<|endoftext|>``).
    """
    if temperature < 0:
        raise ValueError(f"`temperature` must be >= 0. Received: temperature={temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"`top_k` must be at least 1. Received: top_k={top_k}")
    if max_new_tokens < 0:
        raise ValueError(
            f"`max_new_tokens` must be >= 0. Received: max_new_tokens={max_new_tokens}"
        )
    max_sequence_length = max_sequence_length or _model_length(model)
    rng = np.random.default_rng(seed)
    if tokenizer.frames_documents and tokenizer.bos_id is not None:
        # GPT-2: a text starts after <|endoftext|>, as KerasHub's generate frames a prompt.
        context = [tokenizer.bos_id, *tokenizer.encode(prompt)]
    else:
        context = tokenizer.encode(prompt) or tokenizer.encode("\n")
    # A padding id that is a special token (nnzoo's [PAD]) is never a target, so never a
    # sample; GPT-2 pads with an ordinary token id (KerasHub's 0, "!"), which stays allowed.
    pad = tokenizer.pad_id
    forbid_pad = pad in tokenizer.special_ids and pad != tokenizer.eos_id
    generated: list[int] = []
    for _ in range(max_new_tokens):
        window = context[-max_sequence_length:] if max_sequence_length else context
        width = max_sequence_length or _bucket(len(window))
        token_ids = np.full((1, width), pad, dtype="int32")
        token_ids[0, : len(window)] = window
        padding_mask = np.zeros((1, width), dtype="int32")
        padding_mask[0, : len(window)] = 1
        logits = model.predict_on_batch({"token_ids": token_ids, "padding_mask": padding_mask})
        logits = np.asarray(logits)[0, len(window) - 1].copy()  # (vocabulary_size,)
        if forbid_pad:
            logits[pad] = -np.inf
        token = sample_next(logits, rng, temperature=temperature, top_k=top_k)
        if token == tokenizer.eos_id:
            break
        context.append(token)
        generated.append(token)
    return tokenizer.decode(generated)
