"""The sampling loop under ``nnzoo generate``: token ids or texts from a causal language model,
for a batch of contexts or prompts (the run-level API is :mod:`nnzoo.inference.generate`).

Two paths, chosen per call:

- **Cached** (TensorFlow and JAX): the model's family owns a forward pass with a key/value
  cache (:class:`nnzoo.cards.CachedForward`, e.g. :class:`nnzoo.models.gpt.CachedGPT`), which
  :func:`find_cached_forward` finds through the model's card (a run's ``model.name``) or, for a
  bare model, by the structure of such a family. As KerasHub's ``CausalLM.generate``, the
  prompts are right-padded into one ``(B, L)`` buffer, one forward pass fills every layer's
  cache, then a compiled ``keras.ops.while_loop`` feeds one token per step (each row from its
  own length on), reading and updating the caches. It is compiled once per ``(batch, length)``
  shape and sampling mode (``tf.function(jit_compile=True)``, ``jax.jit``); sampling draws from
  a stateless generator keyed by the seed and step.
- **Uncached** (any other model taking ``{"token_ids", "padding_mask"}``, another backend, or
  ``use_cache=False``): each step runs the model on the whole (cropped) context. The context
  is right-padded to a fixed length so the model's predict function is traced once, not once
  per length; a causal model's logits at the last real position do not depend on the padding.
  Sampling uses NumPy's generator. Where ``use_cache`` asked for the cache, a warning says
  once per model why it is not used.

When a cached generation would outgrow the model's positions, the tokens that fit are
generated with the cache and the rest by the uncached path on the cropped context, so greedy
text is the same token for token on both paths.
"""

from __future__ import annotations

import logging
import math
import numbers
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from nnzoo.data.tokenizers import Tokenizer
from nnzoo.errors import ParameterError

if TYPE_CHECKING:
    from nnzoo.cards import CachedForward, ModelCard

__all__ = [
    "JIT_COMPILE",
    "check_sampling",
    "find_cached_forward",
    "sample_ids",
    "sample_next",
    "sample_texts",
]

log = logging.getLogger(__name__)

#: Compile the cached loop with XLA on TensorFlow (``tf.function(jit_compile=...)``), as
#: KerasHub does: a compile once per shape, then several times faster per token than a graph.
JIT_COMPILE = True

#: The backends the cached loop compiles on.
CACHED_BACKENDS = ("tensorflow", "jax")


def check_sampling(*, max_new_tokens: int, temperature: float, top_k: int | None) -> None:
    """Refuse a sampling argument out of its range, naming the parameter.

    Raises:
        ParameterError: ``max_new_tokens`` is not an integer >= 0, ``temperature`` not a
            finite number >= 0, or ``top_k`` an integer >= 1 (``None``: all tokens).
    """
    if not (isinstance(max_new_tokens, numbers.Integral) and max_new_tokens >= 0):
        raise ParameterError("max_new_tokens", "must be an integer >= 0", max_new_tokens)
    if not (
        isinstance(temperature, numbers.Real) and math.isfinite(temperature) and temperature >= 0
    ):
        raise ParameterError(
            "temperature", "must be a finite number >= 0 (0 is greedy)", temperature
        )
    if top_k is not None and not (isinstance(top_k, numbers.Integral) and top_k >= 1):
        raise ParameterError("top_k", "must be an integer >= 1", top_k)


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


def sample_texts(
    model: Any,
    tokenizer: Tokenizer,
    prompts: list[str],
    *,
    max_new_tokens: int = 200,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int | None = None,
    max_sequence_length: int | None = None,
    use_cache: bool = True,
    card: ModelCard | None = None,
) -> list[str]:
    """The continuations of several prompts sampled from ``model``, together in one batch.

    Each row starts at its own length (the prompts are right-padded and masked) and stops at
    its own end token.

    Args:
        model: a causal LM taking ``{"token_ids", "padding_mask"}`` (B, T) int32 and returning
            logits (B, T, vocabulary_size).
        tokenizer: the model's tokenizer.
        prompts: the texts to continue; an empty prompt starts from a newline, or, with a
            tokenizer that frames documents (GPT-2), every prompt starts after its start
            token (``<|endoftext|>``), as KerasHub's ``GPT2CausalLM.generate`` does.
        max_new_tokens: how many tokens to sample per prompt. Defaults to `200`.
        temperature: divides the logits; `0` takes the most likely token every step
            (deterministic). Defaults to `1.0`.
        top_k: sample among the `top_k` most likely tokens only. Defaults to `None` (all).
        seed: equal seeds give equal text (on the same path and backend). Defaults to `None`.
        max_sequence_length: the longest context the model is given; older tokens are
            cropped. Defaults to `None`: the model's input length if fixed, else its cached
            forward pass's positions if it has one, else unlimited.
        use_cache: use the key/value cache and the compiled loop where the model has a cached
            forward pass (:func:`find_cached_forward`) and the backend is TensorFlow or JAX.
            `False` runs the whole context every step. Greedy text is the same either way.
            Defaults to `True`.
        card: the model's catalog card (a run's ``model.name``): its ``cached_forward`` gives
            the cached path. Defaults to `None`: a family recognised by the model's structure.

    Returns:
        One continuation per prompt, in order, without the prompt, decoded by ``tokenizer``
        (GPT-2: the exact bytes). Sampling stops early at the tokenizer's end token
        (``[EOS]``, ``<|endoftext|>``).

    Raises:
        ParameterError: a sampling argument out of its range (:func:`check_sampling`).
    """
    contexts = [_encode_prompt(tokenizer, prompt) for prompt in prompts]
    generated = sample_ids(
        model,
        contexts,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_k=top_k,
        seed=seed,
        max_sequence_length=max_sequence_length,
        use_cache=use_cache,
        card=card,
        pad_id=tokenizer.pad_id,
        end_id=tokenizer.eos_id,
        forbid_pad=tokenizer.pad_id in tokenizer.special_ids
        and tokenizer.pad_id != tokenizer.eos_id,
    )
    return [tokenizer.decode(tokens) for tokens in generated]


def _encode_prompt(tokenizer: Tokenizer, prompt: str) -> list[int]:
    if tokenizer.frames_documents and tokenizer.bos_id is not None:
        # GPT-2: a text starts after <|endoftext|>, as KerasHub's generate frames a prompt.
        return [tokenizer.bos_id, *tokenizer.encode(prompt)]
    return tokenizer.encode(prompt) or tokenizer.encode("\n")


def sample_ids(
    model: Any,
    contexts: list[list[int]],
    *,
    max_new_tokens: int = 200,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int | None = None,
    max_sequence_length: int | None = None,
    use_cache: bool = True,
    card: ModelCard | None = None,
    pad_id: int = 0,
    end_id: int | None = None,
    forbid_pad: bool = False,
) -> list[list[int]]:
    """The new token ids after each (non-empty) context of token ids, without the end token.

    ``pad_id`` fills the padding; with ``forbid_pad`` it is never sampled (nnzoo's ``[PAD]``
    is a special token; GPT-2 pads with an ordinary token, which stays allowed). ``end_id``
    ends a row. The other arguments are those of :func:`sample_texts`.
    """
    check_sampling(max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k)
    if any(not context for context in contexts):
        raise ValueError("Every context needs at least one token. Received an empty one.")
    if not contexts:
        return []
    forward = find_cached_forward(model, card=card)
    max_sequence_length = (
        max_sequence_length
        or _model_length(model)
        or (forward.max_sequence_length if forward is not None else None)
    )
    generated: list[list[int]] = [[] for _ in contexts]
    done = [False] * len(contexts)
    cached = use_cache and max_new_tokens > 0
    if cached and (reason := _why_uncached(model, card, forward)) is not None:
        _say_once(model, reason)
        cached = False
    if cached and forward is not None:
        positions = forward.max_sequence_length
        if max_sequence_length:
            positions = min(positions, int(max_sequence_length))
        fits = positions - max(len(context) for context in contexts)
        if fits > 0:
            steps = min(max_new_tokens, fits)
            generated, done = _sample_cached(
                forward,
                contexts,
                steps=steps,
                temperature=temperature,
                top_k=top_k,
                seed=seed,
                pad_id=pad_id,
                end_id=end_id,
                forbid_pad=forbid_pad,
            )
            if steps == max_new_tokens or all(done):
                return generated
            # The rest does not fit in the positions: continue on the cropped context.
            seed = None if seed is None else seed + 1
    return _sample_uncached(
        model,
        contexts,
        generated,
        done,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_k=top_k,
        seed=seed,
        max_sequence_length=max_sequence_length,
        pad_id=pad_id,
        end_id=end_id,
        forbid_pad=forbid_pad,
    )


# --------------------------------------------------------------------------- which path


def find_cached_forward(model: Any, *, card: ModelCard | None = None) -> CachedForward | None:
    """``model``'s forward pass with a key/value cache, or ``None``: the uncached path.

    Args:
        model: a Keras model.
        card: the model's card (a run's ``model.name``): its ``cached_forward`` finds the
            pass. Defaults to `None`: a bare model (a ``.keras`` file) is recognised by the
            structure of the catalog's families that have a cached forward pass, so a model
            saved before the cache existed keeps the cached path.
    """
    if card is not None:
        return None if card.cached_forward is None else card.cached_forward(model)
    for find in _families_cached_forward():
        forward = find(model)
        if forward is not None:
            return forward
    return None


def _families_cached_forward() -> list[Any]:
    """The catalog's ``cached_forward`` functions, one per family that has one."""
    from nnzoo.registry import get_card, list_models

    finds = (get_card(name).cached_forward for name in list_models())
    return list(dict.fromkeys(find for find in finds if find is not None))


def _why_uncached(model: Any, card: ModelCard | None, forward: Any) -> str | None:
    """Why the cached path cannot run, or ``None`` when it can."""
    import keras

    name = getattr(model, "name", type(model).__name__)
    if forward is None and card is None:
        return f"model {name!r} has the structure of no family with a cached forward pass"
    if forward is None and card is not None and card.cached_forward is None:
        return f"the {card.name} card has no cached forward pass"
    if forward is None and card is not None:
        return f"model {name!r} does not have the layers of the {card.name} card"
    if keras.config.backend() not in CACHED_BACKENDS:
        return f"the cached loop compiles on TensorFlow and JAX, not {keras.config.backend()}"
    return None


#: The models the uncached path was said of.
_SAID: weakref.WeakSet[Any] = weakref.WeakSet()


def _say_once(model: Any, reason: str) -> None:
    """Warn that ``model`` generates without the cache, once per model."""
    try:
        if model in _SAID:
            return
        _SAID.add(model)
    except TypeError:  # not weakly referenceable: say it every time
        pass
    log.warning(
        "generating without the key/value cache (each new token runs the model on the whole "
        "context, many times slower): %s",
        reason,
    )


# --------------------------------------------------------------------------- uncached


def _sample_uncached(
    model: Any,
    contexts: list[list[int]],
    generated: list[list[int]],
    done: list[bool],
    *,
    max_new_tokens: int,
    temperature: float,
    top_k: int | None,
    seed: int | None,
    max_sequence_length: int | None,
    pad_id: int,
    end_id: int | None,
    forbid_pad: bool,
) -> list[list[int]]:
    """Continue each row (``generated`` so far, ``done`` rows stay as they are) by running
    the model on the whole cropped context every step."""
    rng = np.random.default_rng(seed)
    rows = [list(context) + list(tokens) for context, tokens in zip(contexts, generated)]
    done = [d or len(g) >= max_new_tokens for d, g in zip(done, generated)]
    while not all(done):
        windows = [row[-max_sequence_length:] if max_sequence_length else row for row in rows]
        width = max_sequence_length or _bucket(max(len(w) for w in windows))
        token_ids = np.full((len(rows), width), pad_id, dtype="int32")
        padding_mask = np.zeros((len(rows), width), dtype="int32")
        for i, window in enumerate(windows):
            token_ids[i, : len(window)] = window
            padding_mask[i, : len(window)] = 1
        logits = np.asarray(
            model.predict_on_batch({"token_ids": token_ids, "padding_mask": padding_mask})
        )
        for i, window in enumerate(windows):
            if done[i]:
                continue
            row_logits = logits[i, len(window) - 1].copy()  # (vocabulary_size,)
            if forbid_pad:
                row_logits[pad_id] = -np.inf
            token = sample_next(row_logits, rng, temperature=temperature, top_k=top_k)
            if token == end_id:
                done[i] = True
                continue
            rows[i].append(token)
            generated[i].append(token)
            done[i] = len(generated[i]) >= max_new_tokens
    return generated


# --------------------------------------------------------------------------- cached


def _sample_cached(
    forward: CachedForward,
    contexts: list[list[int]],
    *,
    steps: int,
    temperature: float,
    top_k: int | None,
    seed: int | None,
    pad_id: int,
    end_id: int | None,
    forbid_pad: bool,
) -> tuple[list[list[int]], list[bool]]:
    """Up to ``steps`` new tokens per row with the cached loop; ``(tokens, ended)`` per row."""
    lengths = [len(context) for context in contexts]
    length = max(lengths) + steps
    token_ids = np.full((len(contexts), length), pad_id, dtype="int32")
    for i, context in enumerate(contexts):
        token_ids[i, : len(context)] = context
    greedy = temperature == 0 or top_k == 1
    top_k = None if greedy or top_k is None or top_k >= forward.vocabulary_size else int(top_k)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**31 - 1))
    arguments = (
        token_ids,
        np.asarray(lengths, dtype="int32"),
        np.int32(steps),
        np.float32(temperature if not greedy else 1.0),
        np.int32(seed % (2**31 - 1)),
        np.int32(-1 if end_id is None else end_id),
        np.int32(pad_id if forbid_pad else -1),
    )
    tokens = np.asarray(_compiled(forward, greedy, top_k)(*arguments))
    generated, ended = [], []
    for i, start in enumerate(lengths):
        row = tokens[i, start : start + steps].tolist()
        stop = row.index(end_id) if end_id is not None and end_id in row else None
        generated.append(row if stop is None else row[:stop])
        ended.append(stop is not None)
    return generated, ended


#: The compiled loops of each model, by sampling mode.
_COMPILED: weakref.WeakKeyDictionary[Any, dict[Any, Any]] = weakref.WeakKeyDictionary()


def _compiled(forward: CachedForward, greedy: bool, top_k: int | None) -> Any:
    """The compiled loop for one sampling mode; each backend compiles it once per shape."""
    model = forward.model
    try:
        loops = _COMPILED.setdefault(model, {})
    except TypeError:  # not weakly referenceable: compiled for this call only
        loops = {}
    key = (greedy, top_k, JIT_COMPILE)
    if key in loops:
        return loops[key]
    import keras

    def loop(*arguments: Any) -> Any:
        return _loop(forward, greedy, top_k, *arguments)

    if keras.config.backend() == "tensorflow":
        import tensorflow as tf

        function = tf.function(loop, jit_compile=JIT_COMPILE)

        def compiled(*arguments: Any) -> Any:
            return function(*(tf.convert_to_tensor(a) for a in arguments))
    else:
        import jax

        @jax.jit
        def stateless(state: Any, *arguments: Any) -> Any:
            mapping = zip(model.variables, state)
            with keras.StatelessScope(state_mapping=mapping):
                return loop(*arguments)

        def compiled(*arguments: Any) -> Any:
            return stateless([v.value for v in model.variables], *arguments)

    loops[key] = compiled
    return compiled


def _categorical(logits: Any, seed: Any, step: Any) -> Any:
    """One id per row of ``logits`` (B, V) from a stateless generator keyed by seed and step."""
    import keras

    if keras.config.backend() == "tensorflow":
        import tensorflow as tf

        pair = tf.stack([seed, step])
        return tf.random.stateless_categorical(logits, 1, seed=pair, dtype=tf.int32)[:, 0]
    import jax

    key = jax.random.fold_in(jax.random.PRNGKey(seed), step)
    return jax.random.categorical(key, logits, axis=-1).astype("int32")


def _loop(
    forward: CachedForward,
    greedy: bool,
    top_k: int | None,
    token_ids: Any,
    lengths: Any,
    steps: Any,
    temperature: Any,
    seed: Any,
    end_id: Any,
    forbidden_id: Any,
) -> Any:
    """Prefill the caches with one pass over the buffer, then a token per step."""
    from keras import ops

    batch_size, length = ops.shape(token_ids)[0], ops.shape(token_ids)[1]
    caches = forward.init_caches(batch_size, length)
    # Garbage keys past each row's prompt are overwritten before any query can see them.
    _, caches = forward.call_with_cache(token_ids, caches, 0)
    first = ops.min(lengths)
    ends = lengths + steps  # each row's last position + 1
    vocabulary = ops.arange(forward.vocabulary_size, dtype="int32")
    forbidden = ops.expand_dims(vocabulary == forbidden_id, 0)  # (1, V)

    def cond(token_ids: Any, caches: Any, index: Any, done: Any) -> Any:
        return ops.logical_not(ops.all(done))

    def body(token_ids: Any, caches: Any, index: Any, done: Any) -> Any:
        previous = ops.slice(token_ids, (0, index - 1), (batch_size, 1))
        logits, caches = forward.call_with_cache(previous, list(caches), index - 1)
        logits = ops.cast(logits[:, 0, :], "float32")  # (B, V)
        logits = ops.where(forbidden, -1e9, logits)
        if greedy:
            next_token = ops.cast(ops.argmax(logits, axis=-1), "int32")
        elif top_k is not None:
            values, indices = ops.top_k(logits / temperature, k=top_k)
            choice = _categorical(values, seed, index)
            next_token = ops.cast(
                ops.take_along_axis(indices, ops.expand_dims(choice, 1), axis=1)[:, 0], "int32"
            )
        else:
            next_token = _categorical(logits / temperature, seed, index)
        current = ops.take(token_ids, index, axis=1)  # the prompt's token, or padding
        writing = ops.logical_and(ops.logical_not(done), index >= lengths)
        next_token = ops.where(writing, next_token, current)
        token_ids = ops.slice_update(token_ids, (0, index), ops.expand_dims(next_token, 1))
        ended = ops.logical_and(writing, next_token == end_id)
        done = ops.logical_or(done, ops.logical_or(ended, index + 1 >= ends))
        return token_ids, tuple(caches), index + 1, done

    done = ops.zeros((batch_size,), dtype="bool")
    token_ids, _, _, _ = ops.while_loop(
        cond,
        body,
        (token_ids, tuple(caches), first, done),
        maximum_iterations=length - first,
    )
    return token_ids
