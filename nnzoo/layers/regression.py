"""A regression head's last step: a standardised prediction back in the target's own units.

A regression model's ``Dense(1)`` predicts ``(y - mean) / std`` of the training split's targets;
:class:`TargetScale` maps it to ``mean + std * z``, so ``model.keras`` (and every export)
predicts in the target's units. Its ``mean`` and ``std`` are non-trainable weights set from the
training split before ``fit`` (``nnzoo.data.adapt_preprocessing``), saved with the model.
"""

from __future__ import annotations

from typing import Any

import keras

from nnzoo.cards import TARGET_SCALE

__all__ = ["TARGET_SCALE", "TargetScale"]


@keras.saving.register_keras_serializable(package="nnzoo")
class TargetScale(keras.layers.Layer):
    """Maps a standardised prediction ``(B, 1)`` to the target's units ``(B,)``.

    ``outputs = mean + std * inputs[:, 0]``, with ``mean`` and ``std`` non-trainable scalar
    weights (0 and 1, the identity, until set from the training split's targets).

    Args:
        **kwargs: base layer arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: the standardised prediction, shape ``(B, 1)``.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        if input_shape[-1] != 1:
            raise ValueError(
                f"TargetScale expects one output unit. Received: input_shape={tuple(input_shape)}"
            )
        self.mean = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="mean", dtype=self.variable_dtype
        )
        self.std = self.add_weight(
            shape=(), initializer="ones", trainable=False, name="std", dtype=self.variable_dtype
        )
        super().build(input_shape)

    def call(self, inputs: Any) -> Any:
        z = keras.ops.squeeze(inputs, axis=-1)  # (B,)
        mean = keras.ops.cast(self.mean, z.dtype)
        std = keras.ops.cast(self.std, z.dtype)
        return mean + std * z  # (B,) in the target's units

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple:
        return tuple(input_shape[:-1])

    def get_config(self) -> dict[str, Any]:
        return super().get_config()
