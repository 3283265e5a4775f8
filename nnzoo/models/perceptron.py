"""Rosenblatt's perceptron (Rosenblatt 1958, "The perceptron: a probabilistic model for
information storage and organization in the brain").

One linear unit z = w·x + b. Labels are taken as y ∈ {-1, +1} (0/1 labels are mapped
y = 2t - 1) and the loss is the perceptron criterion max(0, -y·z). With plain SGD and batch
size 1, its gradient step is exactly Rosenblatt's rule: w += lr·y·x on a mistake, nothing
otherwise — for false positives too (the 0/1 version in the seed never corrected those).
Prediction is z > 0.
"""

from __future__ import annotations

from typing import Any

from nnzoo.cards import HyperparameterError, NumClasses, Shape, register_model
from nnzoo.models import _counts


def _check_perceptron(*, num_classes: int | None, **_: Any) -> None:
    if num_classes is not None and int(num_classes) != 2:
        raise HyperparameterError(
            f"A perceptron separates two classes. Received: num_classes={num_classes}",
            fixes={"num_classes": "use mlp for more than two classes"},
        )


def _count_perceptron(*, input_shape: Shape, feature_normalization: bool = False, **_: Any) -> int:
    features = _counts.prod(input_shape)
    scaling = _counts.normalization(features) if feature_normalization else 0
    return scaling + _counts.dense(features, 1)


def _build_perceptron(
    *,
    input_shape: Shape = (2,),
    num_classes: NumClasses = 2,
    feature_normalization: bool = False,
) -> Any:
    import keras

    from nnzoo.models._common import normalized_features

    _check_perceptron(num_classes=num_classes)
    inputs = keras.Input(shape=tuple(input_shape), name="features")
    # Feature scaling learned on the training split, when the data asks for it (not the gates).
    x = normalized_features(inputs, feature_normalization)
    # Zero initial weights as in Rosenblatt's rule; z = w·x + b is the single logit.
    logit = keras.layers.Dense(
        1, kernel_initializer="zeros", bias_initializer="zeros", name="linear"
    )(x)
    return keras.Model(inputs, logit, name="perceptron")


register_model(
    "perceptron",
    _build_perceptron,
    task="classification",
    input_kind="features",
    paper="Rosenblatt 1958, The perceptron (Psychological Review 65(6))",
    summary="Single linear unit trained with the perceptron criterion; linear boundaries only.",
    num_params=3,
    loss="perceptron",
    check=_check_perceptron,
    count_params=_count_perceptron,
)
