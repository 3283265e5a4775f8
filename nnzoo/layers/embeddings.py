"""Embedding layers shared by the transformer families: learned positions, a class token, the
output bias of a tied language-model head, and masked mean pooling.

Token embeddings use Keras' own ``keras.layers.Embedding`` and ``keras.layers.ReversibleEmbedding``
(``reverse=True`` projects hidden states back to the vocabulary with the same matrix: weight
tying, as in GPT-2 and BERT's masked-LM head).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="nnzoo")
class PositionEmbedding(keras.layers.Layer):
    """Learned absolute position embeddings for sequences up to ``sequence_length``.

    Takes the ``(B, T, hidden_dim)`` sequence to embed and returns the first ``T`` position
    vectors broadcast to its shape (add them to it), or with ``start_index=i`` the vectors of
    positions ``i .. i + T - 1`` (cached generation: the new tokens' positions).

    Args:
        sequence_length: the longest sequence the layer embeds.
        initializer: initializer of the ``(sequence_length, hidden_dim)`` table. Defaults to
            `"glorot_uniform"`.
        **kwargs: ``keras.layers.Layer`` arguments.
    """

    def __init__(
        self, sequence_length: int, initializer: Any = "glorot_uniform", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if int(sequence_length) < 1:
            raise ValueError(
                f"`sequence_length` must be positive. Received: sequence_length={sequence_length}"
            )
        self.sequence_length = int(sequence_length)
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.embeddings = self.add_weight(
            shape=(self.sequence_length, input_shape[-1]),
            initializer=self.initializer,
            name="embeddings",
        )
        self.built = True

    def call(self, inputs: Any, start_index: Any = 0) -> Any:
        shape = ops.shape(inputs)
        # Sequences may be shorter than the table: take T rows from `start_index` on.
        table = ops.convert_to_tensor(self.embeddings)
        start = ops.cast(start_index, "int32") if not isinstance(start_index, int) else start_index
        zero = 0 if isinstance(start, int) else ops.zeros((), "int32")
        positions = ops.slice(table, (start, zero), (shape[-2], shape[-1]))  # (T, hidden)
        return ops.broadcast_to(ops.cast(positions, inputs.dtype), shape)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "sequence_length": self.sequence_length,
                "initializer": keras.initializers.serialize(self.initializer),
            }
        )
        return config


@keras.saving.register_keras_serializable(package="nnzoo")
class ClassToken(keras.layers.Layer):
    """Prepends one learned ``[CLS]`` vector to every sequence of the batch (ViT).

    ``(B, N, hidden_dim) -> (B, N + 1, hidden_dim)``; the vector is broadcast over the batch.

    Args:
        initializer: initializer of the ``(1, 1, hidden_dim)`` token. Defaults to `"zeros"`
            (as in the ViT reference code).
        **kwargs: ``keras.layers.Layer`` arguments.
    """

    def __init__(self, initializer: Any = "zeros", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.token = self.add_weight(
            shape=(1, 1, input_shape[-1]), initializer=self.initializer, name="token"
        )
        self.built = True

    def call(self, inputs: Any) -> Any:
        batch_size = ops.shape(inputs)[0]
        token = ops.broadcast_to(
            ops.cast(ops.convert_to_tensor(self.token), inputs.dtype),
            (batch_size, 1, ops.shape(inputs)[-1]),
        )
        return ops.concatenate([token, inputs], axis=1)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        length = None if input_shape[1] is None else input_shape[1] + 1
        return (input_shape[0], length, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["initializer"] = keras.initializers.serialize(self.initializer)
        return config


@keras.saving.register_keras_serializable(package="nnzoo")
class Bias(keras.layers.Layer):
    """Adds a learned vector along the last axis (the output bias of a tied LM head)."""

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.bias = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="bias")
        self.built = True

    def call(self, inputs: Any) -> Any:
        return inputs + ops.cast(ops.convert_to_tensor(self.bias), inputs.dtype)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return tuple(input_shape)


@keras.saving.register_keras_serializable(package="nnzoo")
class MaskedMeanPooling(keras.layers.Layer):
    """Mean of a ``(B, T, D)`` sequence over its real tokens (``padding_mask`` = 1)."""

    def build(self, inputs_shape: Any, padding_mask_shape: Any = None) -> None:
        # Named as the call's inputs, so Keras's layer harness builds it from their shapes.
        self.built = True

    def call(self, inputs: Any, padding_mask: Any) -> Any:
        weights = ops.expand_dims(ops.cast(padding_mask, inputs.dtype), -1)  # (B, T, 1)
        total = ops.sum(inputs * weights, axis=1)  # (B, D)
        count = ops.maximum(ops.sum(weights, axis=1), 1.0)  # (B, 1); all-padding rows give 0
        return total / count

    def compute_output_shape(
        self, inputs_shape: tuple[int | None, ...], padding_mask_shape: Any = None
    ) -> tuple[int | None, ...]:
        return (inputs_shape[0], inputs_shape[-1])
