"""A plain convolutional classifier (LeCun et al. 1998, "Gradient-based learning applied to
document recognition"; the conv-conv-pool-dropout layout follows the Keras CIFAR-10 example).

``cnn_cifar`` is the seed's CIFAR-10 network: two blocks of two 3x3 convolutions (32, 64
filters), one block of one 3x3 convolution (128 filters), each followed by 2x2 max-pooling and
dropout 0.25, then Dense 512 and dropout 0.5. Convolutions use 'valid' padding as in the seed;
at 32x32x3 with 10 classes it has 210,602 parameters, exactly the seed's ``Sequential`` model.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from nnzoo.cards import (
    HyperparameterError,
    ImageShape,
    NonNegativeFloat,
    NumClasses,
    PositiveInt,
    Rate,
    Sizes,
    register_model,
)
from nnzoo.models import _counts
from nnzoo.models._common import output_units

Padding = Literal["valid", "same"]
PADDINGS = get_args(Padding)


def _feature_map(
    input_shape: ImageShape, convs_per_block: Sizes, kernel_size: int, padding: str
) -> tuple[int, int]:
    """``(height, width)`` after the conv blocks; raises when an image is too small for them."""
    height, width = int(input_shape[0]), int(input_shape[1])
    shrink = int(kernel_size) - 1 if padding == "valid" else 0
    blocks = len(convs_per_block)
    for num_convs in convs_per_block:
        height, width = height - shrink * int(num_convs), width - shrink * int(num_convs)
        if min(height, width) < 1:
            raise HyperparameterError(
                f"`input_shape` is too small for {blocks} blocks with 'valid' padding. "
                f"Received: input_shape={tuple(input_shape)}",
                fixes={
                    "padding": "use padding: same, or fewer blocks",
                    "input_shape": "use larger images, padding: same or fewer blocks",
                    "convs_per_block": "use fewer blocks, or padding: same",
                },
            )
        height, width = height // 2, width // 2  # 2x2 max-pooling
        if min(height, width) < 1:
            raise HyperparameterError(
                f"`input_shape` is too small for {blocks} pooling blocks. "
                f"Received: input_shape={tuple(input_shape)}",
                fixes={
                    "convs_per_block": "use fewer blocks",
                    "input_shape": "use larger images or fewer blocks",
                },
            )
    return height, width


def _check_cnn(
    *,
    input_shape: ImageShape | None,
    filters: Sizes,
    convs_per_block: Sizes,
    kernel_size: int,
    padding: str,
    **_: Any,
) -> None:
    if len(filters) != len(convs_per_block):
        raise HyperparameterError(
            "`filters` and `convs_per_block` must have the same length. "
            f"Received: filters={list(filters)}, convs_per_block={list(convs_per_block)}",
            fixes={
                "convs_per_block": f"give one count per block: {len(filters)} numbers",
                "filters": f"give one size per block: {len(convs_per_block)} numbers",
            },
        )
    if input_shape is not None:
        _feature_map(input_shape, convs_per_block, kernel_size, padding)


def _count_cnn(
    *,
    input_shape: ImageShape,
    num_classes: int,
    filters: Sizes,
    convs_per_block: Sizes,
    kernel_size: int,
    padding: str,
    dense_units: int,
    batch_norm: bool,
    **_: Any,
) -> int:
    total, channels = 0, int(input_shape[-1])
    for num_filters, num_convs in zip(filters, convs_per_block, strict=True):
        for _conv in range(int(num_convs)):
            total += _counts.conv2d(kernel_size, channels, num_filters, bias=not batch_norm)
            total += _counts.batch_norm(num_filters) if batch_norm else 0
            channels = int(num_filters)
    height, width = _feature_map(input_shape, convs_per_block, kernel_size, padding)
    total += _counts.dense(height * width * channels, dense_units, bias=not batch_norm)
    total += _counts.batch_norm(dense_units) if batch_norm else 0
    return total + _counts.dense(dense_units, output_units(num_classes))


def _build_cnn(
    *,
    input_shape: ImageShape = (32, 32, 3),
    num_classes: NumClasses = 10,
    filters: Sizes = (32, 64, 128),
    convs_per_block: Sizes = (2, 2, 1),
    kernel_size: PositiveInt = 3,
    padding: Padding = "valid",
    dense_units: PositiveInt = 512,
    dropout: Rate = 0.25,
    head_dropout: Rate = 0.5,
    batch_norm: bool = False,
    l2: NonNegativeFloat = 0.0,
) -> Any:
    """Conv blocks (``convs_per_block[i]`` convolutions of ``filters[i]``, 2x2 max-pool,
    ``dropout``), then Flatten, Dense ``dense_units`` + ReLU, ``head_dropout`` and the logits.
    """
    import keras

    from nnzoo.models._common import batch_norm_activation, classifier_head, regularizer

    if padding not in PADDINGS:
        raise ValueError(f"`padding` must be 'valid' or 'same'. Received: padding={padding!r}")
    for name, rate in (("dropout", dropout), ("head_dropout", head_dropout)):
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"`{name}` must be in [0, 1). Received: {name}={rate}")
    _check_cnn(
        input_shape=input_shape,
        filters=filters,
        convs_per_block=convs_per_block,
        kernel_size=kernel_size,
        padding=padding,
    )

    inputs = keras.Input(shape=tuple(input_shape), name="images")  # (B, H, W, C) in [0, 1]
    x = inputs
    for b, (num_filters, num_convs) in enumerate(
        zip(filters, convs_per_block, strict=True), start=1
    ):
        for c in range(1, int(num_convs) + 1):
            x = keras.layers.Conv2D(
                int(num_filters),
                int(kernel_size),
                padding=padding,
                use_bias=not batch_norm,
                kernel_regularizer=regularizer(l2),
                name=f"block{b}_conv{c}",
            )(x)
            x = batch_norm_activation(x, "relu", batch_norm=batch_norm, name=f"block{b}_conv{c}")
        x = keras.layers.MaxPooling2D(2, name=f"block{b}_pool")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"block{b}_dropout")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(
        int(dense_units),
        use_bias=not batch_norm,
        kernel_regularizer=regularizer(l2),
        name="dense",
    )(x)
    x = batch_norm_activation(x, "relu", batch_norm=batch_norm, name="dense")
    if head_dropout:
        x = keras.layers.Dropout(head_dropout, name="head_dropout")(x)
    outputs = classifier_head(x, num_classes, l2=l2)
    return keras.Model(inputs, outputs, name="cnn")


register_model(
    "cnn_cifar",
    _build_cnn,
    task="classification",
    input_kind="image",
    paper="LeCun et al. 1998, Gradient-based learning applied to document recognition "
    "(the seed's Keras CIFAR-10 network)",
    summary="The seed's CIFAR-10 CNN: conv blocks 32-32, 64-64, 128, Dense 512; 210,602 params.",
    num_params=210_602,
    check=_check_cnn,
    count_params=_count_cnn,
)
