"""Small helpers shared by the family builders (imported lazily, inside builders)."""

from __future__ import annotations

from typing import Any

from nnzoo.cards import FEATURE_NORMALIZATION


def output_units(num_classes: int) -> int:
    """Logits a classifier head emits: one for a binary task, else one per class."""
    if int(num_classes) < 2:
        raise ValueError(f"`num_classes` must be at least 2. Received: num_classes={num_classes}")
    return 1 if int(num_classes) == 2 else int(num_classes)


def normalized_features(x: Any, feature_normalization: bool) -> Any:
    """``x``, then a ``Normalization`` layer (per feature, axis -1) when asked.

    The layer is built unadapted (mean 0, variance 1: the identity); its statistics come from
    the training split (:data:`FEATURE_NORMALIZATION`), so a saved model takes raw features.
    """
    import keras

    if not feature_normalization:
        return x
    return keras.layers.Normalization(axis=-1, name=FEATURE_NORMALIZATION)(x)


def regularizer(l2: float) -> Any:
    """An L2 kernel regulariser, or ``None`` when ``l2`` is 0."""
    import keras

    return keras.regularizers.L2(l2) if l2 else None


def batch_norm_activation(x: Any, activation: str, *, batch_norm: bool, name: str) -> Any:
    """Optional batch-norm, then ``activation``, after the layer ``name``.

    The layer before leaves out its bias when batch-norm follows (BN's beta plays its part).
    Batch norm uses the reference settings (torch's momentum 0.1 = Keras's 0.9, epsilon 1e-5),
    as ResNet does: Keras's default momentum 0.99 averages over ~100 steps, more than a short
    run has, so its evaluation would use statistics of weights long gone.
    """
    import keras

    if batch_norm:
        x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"{name}_bn")(x)
    return keras.layers.Activation(activation, name=f"{name}_{activation}")(x)


def classifier_head(x: Any, num_classes: int, *, name: str = "logits", l2: float = 0.0) -> Any:
    """The final Dense layer: logits, no activation (losses use ``from_logits=True``)."""
    import keras

    return keras.layers.Dense(
        output_units(num_classes), kernel_regularizer=regularizer(l2), name=name
    )(x)


def token_inputs(*, segments: bool = False) -> dict[str, Any]:
    """KerasHub-style text inputs with a free sequence length."""
    import keras

    inputs = {
        "token_ids": keras.Input(shape=(None,), dtype="int32", name="token_ids"),
        "padding_mask": keras.Input(shape=(None,), dtype="int32", name="padding_mask"),
    }
    if segments:
        inputs["segment_ids"] = keras.Input(shape=(None,), dtype="int32", name="segment_ids")
    return inputs
