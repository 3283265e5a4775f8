"""One transformer layer for encoders and decoders (Vaswani et al. 2017, "Attention Is All You
Need").

Like KerasHub's ``TransformerEncoder`` / ``TransformerDecoder`` merged: ``normalize_first``
chooses pre-norm (GPT-2, ViT) or post-norm (the original Transformer, BERT) and
``use_causal_mask`` makes it a decoder-only (GPT) layer. Its self-attention is a
:class:`CachedMultiHeadAttention`, a ``keras.layers.MultiHeadAttention`` with the same weights
that can also decode one token at a time from a key/value cache, as KerasHub's
``CachedMultiHeadAttention`` does.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from nnzoo.cards import require_choice, require_rate

#: Feed-forward activations by name. ``"gelu"`` is the exact (erf) GELU that ViT uses;
#: ``"gelu_approximate"`` is the tanh approximation of GPT-2 and the original BERT code.
ACTIVATIONS = ("gelu", "gelu_approximate", "relu")


def key_dim(hidden_dim: int, num_heads: int) -> int:
    """The size of each attention head: ``hidden_dim // num_heads``, which must divide."""
    if int(num_heads) < 1 or int(hidden_dim) % int(num_heads) != 0:
        raise ValueError(
            "`hidden_dim` must be a positive multiple of `num_heads`. "
            f"Received: hidden_dim={hidden_dim}, num_heads={num_heads}"
        )
    return int(hidden_dim) // int(num_heads)


def _activation(name: str) -> Any:
    if name == "gelu_approximate":
        return lambda x: keras.activations.gelu(x, approximate=True)
    return keras.activations.get(name)


def quantized_policy_map(layer: keras.layers.Layer) -> Any | None:
    """The ``DTypePolicyMap`` that rebuilds ``layer``'s quantized sublayers, or ``None``.

    After ``model.quantize("int8")`` the sublayers a layer creates in ``__init__`` carry
    quantized dtype policies that the layer's own constructor arguments do not say; loading
    would then build float kernels and refuse the saved int8 ones. As KerasHub's ``Backbone``
    does, the layer's ``dtype`` becomes a map from each quantized sublayer's path to its
    policy (the layer's own policy is the default); the sublayers get ``dtype=`` that map and
    look their path up in it when they are built.
    """
    policy = layer.dtype_policy
    if isinstance(policy, keras.dtype_policies.DTypePolicyMap):
        return None  # already a map: quantize() wrote each sublayer's policy into it
    policy_map = keras.dtype_policies.DTypePolicyMap(default_policy=policy)
    for sublayer in layer._flatten_layers(include_self=False):
        if sublayer.quantization_mode is not None and sublayer.path:
            policy_map[sublayer.path] = sublayer.dtype_policy
    return policy_map if len(policy_map) else None


def attention_mask(
    x: Any, padding_mask: Any | None = None, *, use_causal_mask: bool = False
) -> Any | None:
    """A boolean ``(B, T, T)`` self-attention mask (``True`` = may attend), or ``None``.

    Args:
        x: the ``(B, T, hidden_dim)`` sequence.
        padding_mask: ``(B, T)``, 1 for real tokens, 0 for padding. Defaults to `None`.
        use_causal_mask: forbid attending to later positions. Defaults to `False`.
    """
    if padding_mask is None and not use_causal_mask:
        return None
    batch_size, length = ops.shape(x)[0], ops.shape(x)[1]
    mask = ops.ones((batch_size, length, length), dtype="bool")
    if padding_mask is not None:
        keys = ops.cast(ops.expand_dims(padding_mask, axis=1), "bool")  # (B, 1, T)
        mask = ops.logical_and(mask, keys)
    if use_causal_mask:
        positions = ops.arange(length)
        causal = ops.expand_dims(positions, 1) >= ops.expand_dims(positions, 0)  # (T, T)
        mask = ops.logical_and(mask, ops.expand_dims(causal, 0))
    return mask


def causal_cache_mask(batch_size: Any, query_length: Any, key_length: Any, start: Any) -> Any:
    """A boolean ``(B, T, S)`` mask: query ``t`` sits at position ``start + t`` of the cache
    and may attend to cache positions ``0 .. start + t`` only."""
    rows = ops.expand_dims(ops.arange(query_length) + ops.cast(start, "int32"), 1)  # (T, 1)
    cols = ops.expand_dims(ops.arange(key_length), 0)  # (1, S)
    return ops.broadcast_to(
        ops.expand_dims(cols <= rows, 0), (batch_size, query_length, key_length)
    )


@keras.saving.register_keras_serializable(package="nnzoo")
class CachedMultiHeadAttention(keras.layers.MultiHeadAttention):
    """``keras.layers.MultiHeadAttention`` that can also read and update a key/value cache.

    Without ``cache`` it is exactly ``keras.layers.MultiHeadAttention`` (same weights, same
    call). With ``cache``, a ``(B, 2, S, num_heads, key_dim)`` tensor of the keys and values of
    ``S`` positions, the keys and values of the ``T`` new positions are written into it at
    ``cache_update_index`` and attention reads the whole cache (mask it with
    ``attention_mask``, ``(B, T, S)``); the call returns ``(attention_output, new_cache)``.
    With ``cache`` and ``cache_update_index=None`` the cache is read, not updated.

    Call arguments:
        query: ``(B, T, dim)``.
        value: ``(B, T, dim)``; the new positions' input when a cache is given.
        key: ``(B, T, dim)``. Defaults to `None` (``value``).
        attention_mask: boolean ``(B, T, S)``; `True` = may attend. Defaults to `None`.
        cache: ``(B, 2, S, num_heads, key_dim)`` keys (index 0) and values (index 1), or
            `None`. Defaults to `None`.
        cache_update_index: int or int tensor, the cache position of the first new position.
            Defaults to `None`.
        training: whether dropout is active.
    """

    def call(
        self,
        query: Any,
        value: Any,
        key: Any = None,
        attention_mask: Any = None,
        cache: Any = None,
        cache_update_index: Any = None,
        training: Any = None,
        **kwargs: Any,
    ) -> Any:
        if cache is None:
            if cache_update_index is not None:
                raise ValueError(
                    "`cache_update_index` needs a `cache`. "
                    f"Received: cache=None, cache_update_index={cache_update_index}"
                )
            return super().call(
                query, value, key=key, attention_mask=attention_mask, training=training, **kwargs
            )
        if key is None:
            key = value
        query = self._query_dense(query)  # (B, T, heads, key_dim)
        if cache_update_index is not None:
            update = ops.stack([self._key_dense(key), self._value_dense(value)], axis=1)
            index = ops.cast(cache_update_index, "int32")
            zero = ops.zeros((), "int32")
            # One in-place update of the (B, 2, S, heads, key_dim) buffer, no copies.
            cache = ops.slice_update(cache, (zero, zero, index, zero, zero), update)
        attention_output, _ = self._compute_attention(
            query, cache[:, 0], cache[:, 1], attention_mask, training, False
        )
        return self._output_dense(attention_output), cache


@keras.saving.register_keras_serializable(package="nnzoo")
class TransformerLayer(keras.layers.Layer):
    """Multi-head self-attention and a feed-forward network, each with a residual connection.

    Args:
        hidden_dim: size of the sequence features (input and output).
        num_heads: attention heads; each has ``key_dim = hidden_dim // num_heads``.
        intermediate_dim: size of the feed-forward hidden layer.
        dropout: dropout on the attention probabilities and on both residual branches.
            Defaults to `0.0`.
        activation: feed-forward activation, one of ``"gelu"`` (exact), ``"gelu_approximate"``
            (tanh, GPT-2 and BERT) or ``"relu"`` (the original Transformer). Defaults to
            `"gelu"`.
        layer_norm_epsilon: epsilon of both layer norms. Defaults to `1e-5`.
        normalize_first: pre-norm (normalise each branch's input, GPT-2 / ViT) when ``True``,
            post-norm (normalise after each residual sum, BERT) when ``False``. Defaults to
            `False`.
        use_causal_mask: each position attends only to itself and earlier positions (GPT).
            Defaults to `False`.
        kernel_initializer: initializer of the attention and dense kernels. Defaults to
            `"glorot_uniform"`.
        **kwargs: ``keras.layers.Layer`` arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: ``(B, T, hidden_dim)``.
        padding_mask: ``(B, T)``, 1 for real tokens; padded positions are never attended to.
            Defaults to `None`.
        training: whether dropout is active.
        cache: the ``(B, 2, S, num_heads, key_dim)`` key/value cache of the self-attention
            (generation, see :class:`CachedMultiHeadAttention`), or `None`. With a cache the
            call returns ``(outputs, new_cache)``; ``padding_mask``, if given, is ``(B, S)``
            over the cache positions, and a causal layer attends to positions up to
            ``cache_update_index + t`` only. Defaults to `None`.
        cache_update_index: where the ``T`` inputs go in the cache (their first position).
            Defaults to `None`: the cache is read, not updated.
    """

    def __init__(
        self,
        hidden_dim: int,
        num_heads: int,
        intermediate_dim: int,
        dropout: float = 0.0,
        activation: str = "gelu",
        layer_norm_epsilon: float = 1e-5,
        normalize_first: bool = False,
        use_causal_mask: bool = False,
        kernel_initializer: Any = "glorot_uniform",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        require_choice("activation", activation, ACTIVATIONS)
        require_rate("dropout", dropout)
        self.hidden_dim = int(hidden_dim)
        self.num_heads = int(num_heads)
        self.key_dim = key_dim(hidden_dim, num_heads)
        self.intermediate_dim = int(intermediate_dim)
        self.dropout = float(dropout)
        self.activation = activation
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.normalize_first = bool(normalize_first)
        self.use_causal_mask = bool(use_causal_mask)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

        def init() -> Any:  # each sublayer gets its own initializer instance
            return keras.initializers.get(keras.initializers.serialize(self.kernel_initializer))

        self.self_attention = CachedMultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=self.key_dim,
            dropout=self.dropout,
            kernel_initializer=init(),
            dtype=self.dtype_policy,
            name="self_attention",
        )
        self.self_attention_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="self_attention_norm"
        )
        self.self_attention_dropout = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="self_attention_dropout"
        )
        self.feedforward_intermediate_dense = keras.layers.Dense(
            self.intermediate_dim,
            activation=_activation(activation),
            kernel_initializer=init(),
            dtype=self.dtype_policy,
            name="feedforward_intermediate",
        )
        self.feedforward_output_dense = keras.layers.Dense(
            self.hidden_dim,
            kernel_initializer=init(),
            dtype=self.dtype_policy,
            name="feedforward_output",
        )
        self.feedforward_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="feedforward_norm"
        )
        self.feedforward_dropout = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="feedforward_dropout"
        )

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        if input_shape[-1] != self.hidden_dim:
            raise ValueError(
                "The last axis of the input must be `hidden_dim`. "
                f"Received: input_shape={tuple(input_shape)}, hidden_dim={self.hidden_dim}"
            )
        self.self_attention.build(input_shape, input_shape)
        self.self_attention_layer_norm.build(input_shape)
        self.feedforward_intermediate_dense.build(input_shape)
        self.feedforward_output_dense.build((*input_shape[:-1], self.intermediate_dim))
        self.feedforward_layer_norm.build(input_shape)
        self.built = True

    def call(
        self,
        inputs: Any,
        padding_mask: Any | None = None,
        training: Any = None,
        cache: Any = None,
        cache_update_index: Any = None,
    ) -> Any:
        if cache is None:
            mask = attention_mask(inputs, padding_mask, use_causal_mask=self.use_causal_mask)
        else:
            mask = self._cache_mask(inputs, padding_mask, cache, cache_update_index)

        residual = inputs  # (B, T, hidden_dim)
        x = self.self_attention_layer_norm(inputs) if self.normalize_first else inputs
        if cache is None:
            x = self.self_attention(query=x, value=x, attention_mask=mask, training=training)
        else:
            x, cache = self.self_attention(
                query=x,
                value=x,
                attention_mask=mask,
                cache=cache,
                cache_update_index=cache_update_index,
                training=training,
            )
        x = self.self_attention_dropout(x, training=training) + residual
        if not self.normalize_first:
            x = self.self_attention_layer_norm(x)

        residual = x
        if self.normalize_first:
            x = self.feedforward_layer_norm(x)
        x = self.feedforward_intermediate_dense(x)  # (B, T, intermediate_dim)
        x = self.feedforward_output_dense(x)  # (B, T, hidden_dim)
        x = self.feedforward_dropout(x, training=training) + residual
        if not self.normalize_first:
            x = self.feedforward_layer_norm(x)
        return x if cache is None else (x, cache)

    def _cache_mask(
        self, inputs: Any, padding_mask: Any, cache: Any, cache_update_index: Any
    ) -> Any | None:
        """The ``(B, T, S)`` mask of ``T`` new positions over the ``S`` cache positions."""
        batch_size, length = ops.shape(inputs)[0], ops.shape(inputs)[1]
        cache_length = ops.shape(cache)[2]
        mask = None
        if self.use_causal_mask:
            start = 0 if cache_update_index is None else cache_update_index
            mask = causal_cache_mask(batch_size, length, cache_length, start)
        if padding_mask is not None:
            keys = ops.cast(ops.expand_dims(padding_mask, axis=1), "bool")  # (B, 1, S)
            keys = ops.broadcast_to(keys, (batch_size, length, cache_length))
            mask = keys if mask is None else ops.logical_and(mask, keys)
        return mask

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "hidden_dim": self.hidden_dim,
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "activation": self.activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "normalize_first": self.normalize_first,
                "use_causal_mask": self.use_causal_mask,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        policy_map = quantized_policy_map(self)
        if policy_map is not None:
            config["dtype"] = keras.dtype_policies.serialize(policy_map)
        return config


def transformer_stack(x: Any, *, num_layers: int, padding_mask: Any = None, **layer_kwargs: Any):
    """Apply ``num_layers`` :class:`TransformerLayer` s named ``transformer_layer_{i}``.

    ``layer_kwargs`` go to every layer (``hidden_dim``, ``num_heads``, ``normalize_first``...).
    """
    for i in range(int(num_layers)):
        x = TransformerLayer(name=f"transformer_layer_{i}", **layer_kwargs)(
            x, padding_mask=padding_mask
        )  # (B, T, hidden_dim)
    return x
