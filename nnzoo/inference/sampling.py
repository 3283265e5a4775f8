"""Sampling text from a causal language model, for one prompt or a batch of prompts.

Two paths, chosen per call:

- **Cached** (models with the ``gpt`` card's structure, on TensorFlow and JAX): as KerasHub's
  ``CausalLM.generate``, the prompts are right-padded into one ``(B, L)`` buffer, one forward
  pass fills every layer's key/value cache, then a compiled ``keras.ops.while_loop`` feeds one
  token per step (each row from its own length on), reading and updating the caches. It is
  compiled once per ``(batch, length)`` shape and sampling mode (``tf.function(jit_compile=
  True)``, ``jax.jit``); sampling draws from a stateless generator keyed by the seed and step.
- **Uncached** (any other model taking ``{"token_ids", "padding_mask"}``, another backend, or
  ``use_cache=False``): each step runs the model on the whole (cropped) context. The context
  is right-padded to a fixed length so the model's predict function is traced once, not once
  per length; a causal model's logits at the last real position do not depend on the padding.
  Sampling uses NumPy's generator.

When a cached generation would outgrow the model's positions, the tokens that fit are
generated with the cache and the rest by the uncached path on the cropped context, so greedy
text is the same token for token on both paths.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from nnzoo.data.tokenizers import Tokenizer

__all__ = ["generate", "generate_batch", "generate_ids", "sample_next"]

#: Compile the cached loop with XLA on TensorFlow (``tf.function(jit_compile=...)``), as
#: KerasHub does: about 5 s once per shape, then several times faster per token than a graph.
JIT_COMPILE = True


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


def _positions(model: Any) -> int | None:
    """The length of the model's ``position_embedding`` table (the ``gpt`` card's), if any."""
    try:
        layer = model.get_layer("position_embedding")
    except (AttributeError, ValueError):
        return None
    length = getattr(layer, "sequence_length", None)
    return int(length) if isinstance(length, int) else None


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
    use_cache: bool = True,
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
        seed: equal seeds give equal text (on the same path and backend). Defaults to `None`.
        max_sequence_length: the longest context the model is given; older tokens are
            cropped. Defaults to `None`: the model's input length if fixed, else the length
            of its ``position_embedding`` table if it has one, else unlimited.
        use_cache: use the key/value cache and the compiled loop where the model allows it
            (the ``gpt`` card's structure, TensorFlow or JAX). `False` runs the whole context
            every step. Greedy text is the same either way. Defaults to `True`.

    Returns:
        The continuation only, without the prompt, decoded by ``tokenizer`` (GPT-2: the exact
        bytes). Sampling stops early at the tokenizer's end token (``[EOS]``,
        ``<|endoftext|>``).
    """
    return generate_batch(
        model,
        tokenizer,
        [prompt],
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_k=top_k,
        seed=seed,
        max_sequence_length=max_sequence_length,
        use_cache=use_cache,
    )[0]


def generate_batch(
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
) -> list[str]:
    """The continuations of several prompts, generated together in one batch.

    Each row starts at its own length (the prompts are right-padded and masked) and stops at
    its own end token; the arguments are those of :func:`generate`.

    Returns:
        One continuation per prompt, in order.
    """
    if temperature < 0:
        raise ValueError(f"`temperature` must be >= 0. Received: temperature={temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"`top_k` must be at least 1. Received: top_k={top_k}")
    if max_new_tokens < 0:
        raise ValueError(
            f"`max_new_tokens` must be >= 0. Received: max_new_tokens={max_new_tokens}"
        )
    if not prompts:
        return []
    contexts = [_encode_prompt(tokenizer, prompt) for prompt in prompts]
    generated = generate_ids(
        model,
        contexts,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_k=top_k,
        seed=seed,
        max_sequence_length=max_sequence_length,
        use_cache=use_cache,
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


def generate_ids(
    model: Any,
    contexts: list[list[int]],
    *,
    max_new_tokens: int = 200,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int | None = None,
    max_sequence_length: int | None = None,
    use_cache: bool = True,
    pad_id: int = 0,
    end_id: int | None = None,
    forbid_pad: bool = False,
) -> list[list[int]]:
    """The new token ids after each (non-empty) context of token ids, without the end token.

    ``pad_id`` fills the padding; with ``forbid_pad`` it is never sampled (nnzoo's ``[PAD]``
    is a special token; GPT-2 pads with an ordinary token, which stays allowed). The other
    arguments are those of :func:`generate`.
    """
    if any(not context for context in contexts):
        raise ValueError("Every context needs at least one token. Received an empty one.")
    max_sequence_length = max_sequence_length or _model_length(model) or _positions(model)
    generated: list[list[int]] = [[] for _ in contexts]
    done = [False] * len(contexts)
    if use_cache and max_new_tokens > 0:
        parts = _cached_parts(model)
        positions = parts.positions if parts is not None else 0
        if max_sequence_length:
            positions = min(positions, int(max_sequence_length))
        fits = positions - max(len(context) for context in contexts)
        if parts is not None and fits > 0:
            steps = min(max_new_tokens, fits)
            generated, done = _generate_cached(
                parts,
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
    return _generate_uncached(
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


# --------------------------------------------------------------------------- uncached


def _generate_uncached(
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


class _Parts:
    """The layers of a ``gpt``-structured model that a cached forward pass calls in order."""

    def __init__(self, model: Any, layers: dict[str, Any], num_layers: int) -> None:
        self.model = model
        self.token_embedding = layers["token_embedding"]
        self.position_embedding = layers["position_embedding"]
        self.layer_norm = layers["layer_norm"]
        self.transformer_layers = [layers[f"transformer_layer_{i}"] for i in range(num_layers)]
        first = self.transformer_layers[0]
        self.num_heads, self.key_dim = first.num_heads, first.key_dim
        self.positions = int(self.position_embedding.sequence_length)
        self.compiled: dict[Any, Any] = {}

    def forward(self, token_ids: Any, caches: list[Any], start: Any) -> tuple[Any, list[Any]]:
        """Logits ``(B, T, V)`` of ``T`` tokens at positions ``start ..`` and the new caches."""
        from keras import ops

        x = self.token_embedding(token_ids)  # (B, T, hidden)
        x = ops.add(x, self.position_embedding(x, start_index=start))
        new_caches = []
        for layer, cache in zip(self.transformer_layers, caches):
            x, cache = layer(x, cache=cache, cache_update_index=start)
            new_caches.append(cache)
        x = self.layer_norm(x)
        return self.token_embedding(x, reverse=True), new_caches


_PARTS: weakref.WeakKeyDictionary[Any, _Parts | None] = weakref.WeakKeyDictionary()


def _cached_parts(model: Any) -> _Parts | None:
    """The model's layers if it has exactly the ``gpt`` card's structure (and the backend can
    compile the loop), else ``None``: such a model takes the uncached path."""
    try:
        if model in _PARTS:
            return _PARTS[model]
    except TypeError:
        return None
    _PARTS[model] = parts = _find_parts(model)
    return parts


def _find_parts(model: Any) -> _Parts | None:
    import keras

    from nnzoo.layers import PositionEmbedding, TransformerLayer

    if keras.config.backend() not in ("tensorflow", "jax"):
        return None
    try:
        layers = {layer.name: layer for layer in model.layers}
    except AttributeError:
        return None
    num_layers = sum(1 for name in layers if name.startswith("transformer_layer_"))
    expected = {
        "token_ids",
        "padding_mask",
        "token_embedding",
        "position_embedding",
        "embeddings_add",
        "embeddings_dropout",
        "layer_norm",
        *(f"transformer_layer_{i}" for i in range(num_layers)),
    }
    if num_layers == 0 or set(layers) != expected:
        return None
    checks = (
        isinstance(layers["token_embedding"], keras.layers.ReversibleEmbedding),
        isinstance(layers["position_embedding"], PositionEmbedding),
        isinstance(layers["layer_norm"], keras.layers.LayerNormalization),
        isinstance(layers["embeddings_add"], keras.layers.Add),
        all(
            isinstance(layers[f"transformer_layer_{i}"], TransformerLayer)
            and layers[f"transformer_layer_{i}"].use_causal_mask
            for i in range(num_layers)
        ),
    )
    return _Parts(model, layers, num_layers) if all(checks) else None


def _generate_cached(
    parts: _Parts,
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
    vocabulary_size = int(parts.token_embedding.input_dim)
    top_k = None if greedy or top_k is None or top_k >= vocabulary_size else int(top_k)
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
    tokens = np.asarray(_compiled(parts, greedy, top_k)(*arguments))
    generated, ended = [], []
    for i, start in enumerate(lengths):
        row = tokens[i, start : start + steps].tolist()
        stop = row.index(end_id) if end_id is not None and end_id in row else None
        generated.append(row if stop is None else row[:stop])
        ended.append(stop is not None)
    return generated, ended


def _compiled(parts: _Parts, greedy: bool, top_k: int | None) -> Any:
    """The compiled loop for one sampling mode; each backend compiles it once per shape."""
    key = (greedy, top_k, JIT_COMPILE)
    if key in parts.compiled:
        return parts.compiled[key]
    import keras

    def loop(*arguments: Any) -> Any:
        return _loop(parts, greedy, top_k, *arguments)

    if keras.config.backend() == "tensorflow":
        import tensorflow as tf

        function = tf.function(loop, jit_compile=JIT_COMPILE)

        def compiled(*arguments: Any) -> Any:
            return function(*(tf.convert_to_tensor(a) for a in arguments))
    else:
        import jax

        model = parts.model

        @jax.jit
        def stateless(state: Any, *arguments: Any) -> Any:
            mapping = zip(model.variables, state)
            with keras.StatelessScope(state_mapping=mapping):
                return loop(*arguments)

        def compiled(*arguments: Any) -> Any:
            return stateless([v.value for v in model.variables], *arguments)

    parts.compiled[key] = compiled
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
    parts: _Parts,
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
    cache_shape = (batch_size, 2, length, parts.num_heads, parts.key_dim)
    caches = [
        ops.zeros(cache_shape, dtype=layer.compute_dtype) for layer in parts.transformer_layers
    ]
    # Garbage keys past each row's prompt are overwritten before any query can see them.
    _, caches = parts.forward(token_ids, caches, 0)
    first = ops.min(lengths)
    ends = lengths + steps  # each row's last position + 1
    vocabulary = ops.arange(parts.token_embedding.input_dim, dtype="int32")
    forbidden = ops.expand_dims(vocabulary == forbidden_id, 0)  # (1, V)

    def cond(token_ids: Any, caches: Any, index: Any, done: Any) -> Any:
        return ops.logical_not(ops.all(done))

    def body(token_ids: Any, caches: Any, index: Any, done: Any) -> Any:
        previous = ops.slice(token_ids, (0, index - 1), (batch_size, 1))
        logits, caches = parts.forward(previous, list(caches), index - 1)
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
