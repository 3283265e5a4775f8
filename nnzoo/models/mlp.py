"""Multi-layer perceptrons (Rumelhart, Hinton & Williams 1986, "Learning representations by
back-propagating errors").

``mlp_xor`` is the seed's 2-4-1 network that solves XOR (17 parameters); ``mlp`` is the general
fully-connected network: any Keras activation, dropout, batch-norm and L2, for classification
(logits) or regression (``task="regression"``: one standardised output mapped to the target's
units by ``TargetScale``, whose mean and std come from the training split).
"""

from __future__ import annotations

import functools
from typing import Any, Literal

from nnzoo.cards import (
    ACTIVATIONS,
    TARGET_SCALE,
    Activation,
    NonNegativeFloat,
    NumClasses,
    PositiveInt,
    Rate,
    Shape,
    Sizes,
    register_model,
    require_choice,
    require_rate,
)
from nnzoo.models import _counts
from nnzoo.models._common import output_units

#: What ``mlp`` can be trained for.
MLP_TASKS = ("classification", "regression")
MlpTask = Literal["classification", "regression"]


def _count_mlp(
    *,
    input_shape: Shape,
    num_classes: int,
    hidden_units: Sizes,
    batch_norm: bool,
    feature_normalization: bool = False,
    task: str = "classification",
    table_columns: list[str] | None = None,
    embedding_above: int | None = 16,
    embedding_dim: int = 8,
    **_: Any,
) -> int:
    width = _counts.prod(input_shape)
    total = _counts.normalization(width) if feature_normalization else 0
    if table_columns:
        from nnzoo.layers.table import encoded_width, encoder_params

        sizes = dict(embedding_above=embedding_above, embedding_dim=embedding_dim)
        total = encoder_params(table_columns, **sizes)
        width = encoded_width(table_columns, **sizes)
    for units in hidden_units:
        total += _counts.dense(width, units, bias=not batch_norm)
        total += _counts.batch_norm(units) if batch_norm else 0
        width = int(units)
    if task == "regression":  # Dense(1), then TargetScale's mean and std
        return total + _counts.dense(width, 1) + 2
    return total + _counts.dense(width, output_units(num_classes))


def _build_mlp(
    *,
    input_shape: Shape = (64,),
    num_classes: NumClasses = 10,
    hidden_units: Sizes = (128, 64),
    activation: Activation = "relu",
    dropout: Rate = 0.0,
    batch_norm: bool = False,
    l2: NonNegativeFloat = 0.0,
    feature_normalization: bool = False,
    task: MlpTask = "classification",
    table_columns: list[str] | None = None,
    embedding_above: int | None = 16,
    embedding_dim: PositiveInt = 8,
) -> Any:
    """``table_columns`` (filled from a table with categories or missing cells): the
    features go through a :class:`~nnzoo.layers.table.TableEncoder` (imputation,
    standardisation, one-hot or, above ``embedding_above`` values, ``embedding_dim``-wide
    embeddings) instead of the ``Normalization`` layer."""
    import keras

    from nnzoo.models._common import (
        batch_norm_activation,
        classifier_head,
        normalized_features,
        regularizer,
    )

    require_choice("activation", activation, ACTIVATIONS)
    require_rate("dropout", dropout)
    require_choice("task", task, MLP_TASKS)
    inputs = keras.Input(shape=tuple(input_shape), name="features")
    x = keras.layers.Flatten(name="flatten")(inputs) if len(input_shape) > 1 else inputs
    # Feature scaling learned on the training split (filled from the data; see _common).
    if table_columns:
        from nnzoo.layers.table import TABLE_ENCODER, TableEncoder

        x = TableEncoder(
            table_columns,
            embedding_above=embedding_above,
            embedding_dim=embedding_dim,
            name=TABLE_ENCODER,
        )(x)
    else:
        x = normalized_features(x, feature_normalization)
    for i, units in enumerate(hidden_units, start=1):
        x = keras.layers.Dense(
            int(units),
            use_bias=not batch_norm,
            kernel_regularizer=regularizer(l2),
            name=f"dense{i}",
        )(x)
        x = batch_norm_activation(x, activation, batch_norm=batch_norm, name=f"dense{i}")
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dense{i}_dropout")(x)
    if task == "regression":
        from nnzoo.layers import TargetScale

        # The standardised target (training split's mean and std), then the target's units.
        z = keras.layers.Dense(1, kernel_regularizer=regularizer(l2), name="prediction")(x)
        outputs = TargetScale(name=TARGET_SCALE)(z)  # (B,)
    else:
        outputs = classifier_head(x, num_classes, l2=l2)
    return keras.Model(inputs, outputs, name="mlp")


_register = functools.partial(
    register_model,
    builder=_build_mlp,
    task="classification",
    input_kind="features",
    count_params=_count_mlp,
)

_register(
    "mlp",
    tasks=MLP_TASKS,
    paper="Rumelhart, Hinton & Williams 1986, Learning representations by back-propagating errors",
    summary="Fully-connected classifier or regressor: hidden sizes, activation, dropout, "
    "batch-norm, L2.",
    num_params=17_226,
)

_register(
    "mlp_xor",
    paper="Rumelhart, Hinton & Williams 1986 (the XOR network of the seed)",
    summary="The seed's 2-4-1 ReLU network that solves XOR (17 parameters).",
    num_params=17,
    defaults=dict(input_shape=(2,), num_classes=2, hidden_units=(4,), activation="relu"),
)
