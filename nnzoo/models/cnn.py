"""A plain convolutional classifier (LeCun et al. 1998, "Gradient-based learning applied to
document recognition"; the conv-conv-pool-dropout layout follows the Keras CIFAR-10 example).

``cnn_cifar`` is the seed's CIFAR-10 network: two blocks of two 3x3 convolutions (32, 64
filters), one block of one 3x3 convolution (128 filters), each followed by 2x2 max-pooling and
dropout 0.25, then Dense 512 and dropout 0.5. Convolutions use 'valid' padding as in the seed;
at 32x32x3 with 10 classes it has 210,602 parameters, exactly the seed's ``Sequential`` model.
"""

from __future__ import annotations

from typing import Any

from nnzoo.cards import register_model


def _build_cnn(
    *,
    input_shape: tuple[int, int, int] = (32, 32, 3),
    num_classes: int = 10,
    filters: tuple[int, ...] = (32, 64, 128),
    convs_per_block: tuple[int, ...] = (2, 2, 1),
    kernel_size: int = 3,
    padding: str = "valid",
    dense_units: int = 512,
    dropout: float = 0.25,
    head_dropout: float = 0.5,
    batch_norm: bool = False,
    l2: float = 0.0,
) -> Any:
    """Conv blocks (``convs_per_block[i]`` convolutions of ``filters[i]``, 2x2 max-pool,
    ``dropout``), then Flatten, Dense ``dense_units`` + ReLU, ``head_dropout`` and the logits.
    """
    import keras

    from nnzoo.models._common import batch_norm_activation, classifier_head, regularizer

    if len(filters) != len(convs_per_block):
        raise ValueError(
            "`filters` and `convs_per_block` must have the same length. "
            f"Received: filters={list(filters)}, convs_per_block={list(convs_per_block)}"
        )
    if padding not in ("valid", "same"):
        raise ValueError(f"`padding` must be 'valid' or 'same'. Received: padding={padding!r}")
    for name, rate in (("dropout", dropout), ("head_dropout", head_dropout)):
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"`{name}` must be in [0, 1). Received: {name}={rate}")

    inputs = keras.Input(shape=tuple(input_shape), name="images")  # (B, H, W, C) in [0, 1]
    x = inputs
    size = min(int(input_shape[0]), int(input_shape[1]))
    for b, (num_filters, num_convs) in enumerate(
        zip(filters, convs_per_block, strict=True), start=1
    ):
        for c in range(1, int(num_convs) + 1):
            if padding == "valid":
                size -= int(kernel_size) - 1
            if size < 1:
                raise ValueError(
                    f"`input_shape` is too small for {len(filters)} blocks with 'valid' "
                    f"padding. Received: input_shape={tuple(input_shape)}"
                )
            x = keras.layers.Conv2D(
                int(num_filters),
                int(kernel_size),
                padding=padding,
                use_bias=not batch_norm,
                kernel_regularizer=regularizer(l2),
                name=f"block{b}_conv{c}",
            )(x)
            x = batch_norm_activation(x, "relu", batch_norm=batch_norm, name=f"block{b}_conv{c}")
        size //= 2
        if size < 1:
            raise ValueError(
                f"`input_shape` is too small for {len(filters)} pooling blocks. "
                f"Received: input_shape={tuple(input_shape)}"
            )
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
)
