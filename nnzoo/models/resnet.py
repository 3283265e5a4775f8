"""Residual networks (He, Zhang, Ren & Sun 2015, "Deep Residual Learning for Image
Recognition", arXiv:1512.03385).

``resnet18`` and ``resnet34`` stack basic blocks (two 3x3 convolutions) in four stages of 64,
128, 256 and 512 filters, [2, 2, 2, 2] and [3, 4, 6, 3] blocks. As in torchvision: convolutions
have no bias (batch-norm follows), the first block of stages 2-4 downsamples with stride 2 and a
projection shortcut (1x1 convolution, stride 2, + batch-norm; the paper's option B), BN uses
epsilon 1e-5 and momentum 0.9 (torch's 0.1). With the ImageNet stem at 224x224x3 and 1000
classes they have 11,689,512 and 21,797,672 trainable parameters, the published counts (Keras
also holds the batch-norm moving statistics as non-trainable weights).

``stem="imagenet"`` is the paper's 7x7/2 convolution + BN + ReLU + 3x3/2 max-pool;
``stem="cifar"`` is the 3x3/1 convolution without pooling used for 32x32 inputs.
Images in [0, 1] are normalised inside the model with the ImageNet mean and std. Strided
convolutions and the stem's max-pool pad symmetrically as torchvision and KerasHub do, so
KerasHub's ``resnet_18_imagenet`` loads into ``resnet18`` (``nnzoo.build_model("resnet18",
weights="keras_hub:resnet_18_imagenet")``); ``image_size`` / ``pixel_scale`` /
``pixel_offset`` then reproduce its image converter (:mod:`nnzoo.models._images`).
"""

from __future__ import annotations

import functools
from typing import Annotated, Any, Literal, get_args

import annotated_types as at

from nnzoo.cards import (
    HyperparameterError,
    ImageShape,
    NonNegativeFloat,
    NumClasses,
    Rate,
    Sizes,
    register_model,
)
from nnzoo.models import _counts
from nnzoo.models._common import output_units
from nnzoo.models._images import ImageSize, Interpolation, PixelValues, check_pixels

Stem = Literal["imagenet", "cifar"]
STEMS = get_args(Stem)
#: Stages: at least one (the stem's width is the first stage's).
Stages = Annotated[Sizes, at.MinLen(1)]
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_BN = dict(epsilon=1e-5, momentum=0.9)


def _basic_block(x: Any, filters: int, *, stride: int, name: str, l2: float) -> Any:
    """Two 3x3 conv-BN layers with an identity (or projection) shortcut."""
    import keras

    from nnzoo.models._common import regularizer

    def conv(y: Any, kernel: int, strides: int, conv_name: str) -> Any:
        if strides > 1 and kernel > 1:
            # Symmetric padding as in torch ('same' pads stride-2 convolutions unevenly).
            y = keras.layers.ZeroPadding2D(kernel // 2, name=f"{conv_name}_pad")(y)
            padding = "valid"
        else:
            padding = "same"
        return keras.layers.Conv2D(
            filters,
            kernel,
            strides=strides,
            padding=padding,
            use_bias=False,
            kernel_initializer="he_normal",
            kernel_regularizer=regularizer(l2),
            name=conv_name,
        )(y)

    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = conv(x, 1, stride, f"{name}_shortcut_conv")
        shortcut = keras.layers.BatchNormalization(**_BN, name=f"{name}_shortcut_bn")(shortcut)
    y = conv(x, 3, stride, f"{name}_conv1")  # (B, H / stride, W / stride, filters)
    y = keras.layers.BatchNormalization(**_BN, name=f"{name}_bn1")(y)
    y = keras.layers.Activation("relu", name=f"{name}_relu1")(y)
    y = conv(y, 3, 1, f"{name}_conv2")
    y = keras.layers.BatchNormalization(**_BN, name=f"{name}_bn2")(y)
    y = keras.layers.Add(name=f"{name}_add")([y, shortcut])
    return keras.layers.Activation("relu", name=f"{name}_out")(y)


def _check_resnet(
    *,
    input_shape: ImageShape | None,
    num_blocks: Stages,
    num_filters: Stages,
    pixel_scale: PixelValues | None = None,
    pixel_offset: PixelValues | None = None,
    interpolation: str = "bilinear",
    **_: Any,
) -> None:
    if len(num_blocks) != len(num_filters):
        raise HyperparameterError(
            "`num_blocks` and `num_filters` must have the same length. "
            f"Received: num_blocks={list(num_blocks)}, num_filters={list(num_filters)}",
            fixes={
                "num_blocks": f"give one block count per stage: {len(num_filters)} numbers",
                "num_filters": f"give one width per stage: {len(num_blocks)} numbers",
            },
        )
    if input_shape is not None and int(input_shape[-1]) not in (1, 3):
        raise HyperparameterError(
            f"`input_shape` must have 1 or 3 channels. Received: input_shape={tuple(input_shape)}",
            fixes={"input_shape": "use grey (1 channel) or RGB (3 channels) images"},
        )
    check_pixels(
        input_shape=input_shape,
        pixel_scale=pixel_scale,
        pixel_offset=pixel_offset,
        interpolation=interpolation,
    )


def _count_resnet(
    *,
    input_shape: ImageShape,
    num_classes: int,
    num_blocks: Stages,
    num_filters: Stages,
    stem: str,
    **_: Any,
) -> int:
    channels = int(num_filters[0])
    stem_kernel = 7 if stem == "imagenet" else 3
    total = _counts.conv2d(stem_kernel, input_shape[-1], channels, bias=False)
    total += _counts.batch_norm(channels)
    for s, (blocks, filters) in enumerate(zip(num_blocks, num_filters, strict=True), start=1):
        for b in range(1, int(blocks) + 1):
            if (s > 1 and b == 1) or channels != int(filters):  # projection shortcut
                total += _counts.conv2d(1, channels, filters, bias=False)
                total += _counts.batch_norm(filters)
            total += _counts.conv2d(3, channels, filters, bias=False)
            total += _counts.conv2d(3, filters, filters, bias=False)
            total += 2 * _counts.batch_norm(filters)
            channels = int(filters)
    return total + _counts.dense(channels, output_units(num_classes))


def _build_resnet(
    *,
    input_shape: ImageShape = (224, 224, 3),
    num_classes: NumClasses = 1000,
    num_blocks: Stages = (2, 2, 2, 2),
    num_filters: Stages = (64, 128, 256, 512),
    stem: Stem = "imagenet",
    dropout: Rate = 0.0,
    l2: NonNegativeFloat = 0.0,
    image_size: ImageSize | None = None,
    pixel_scale: PixelValues | None = None,
    pixel_offset: PixelValues | None = None,
    interpolation: Interpolation = "bilinear",
    crop_to_aspect_ratio: bool = True,
    antialias: bool = False,
) -> Any:
    """A basic-block ResNet: stem, ``len(num_blocks)`` stages, global average pool, logits.

    The preprocessing parameters (``image_size`` ... ``antialias``) are those of
    :mod:`nnzoo.models._images`.
    """
    import keras

    from nnzoo.models._common import classifier_head, regularizer
    from nnzoo.models._images import preprocess

    if stem not in STEMS:
        raise ValueError(f"`stem` must be one of {', '.join(STEMS)}. Received: stem={stem!r}")
    _check_resnet(
        input_shape=input_shape,
        num_blocks=num_blocks,
        num_filters=num_filters,
        pixel_scale=pixel_scale,
        pixel_offset=pixel_offset,
    )
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout}")
    channels = int(input_shape[-1])

    inputs = keras.Input(shape=tuple(input_shape), name="images")  # (B, H, W, C) in [0, 1]
    # Fixed ImageNet statistics (not adapted): a grey image uses the channel average.
    mean = IMAGENET_MEAN if channels == 3 else (sum(IMAGENET_MEAN) / 3,)
    std = IMAGENET_STD if channels == 3 else (sum(IMAGENET_STD) / 3,)
    x = preprocess(
        inputs,
        keras.layers.Normalization(
            mean=list(mean), variance=[s**2 for s in std], name="normalize"
        ),
        image_size=image_size,
        pixel_scale=pixel_scale,
        pixel_offset=pixel_offset,
        interpolation=interpolation,
        crop_to_aspect_ratio=crop_to_aspect_ratio,
        antialias=antialias,
    )  # (B, height, width, C)
    stem_filters = int(num_filters[0])
    if stem == "imagenet":
        x = keras.layers.ZeroPadding2D(3, name="stem_pad")(x)
        x = keras.layers.Conv2D(
            stem_filters,
            7,
            strides=2,
            use_bias=False,
            kernel_initializer="he_normal",
            kernel_regularizer=regularizer(l2),
            name="stem_conv",
        )(x)  # (B, H / 2, W / 2, 64)
    else:
        x = keras.layers.Conv2D(
            stem_filters,
            3,
            padding="same",
            use_bias=False,
            kernel_initializer="he_normal",
            kernel_regularizer=regularizer(l2),
            name="stem_conv",
        )(x)  # (B, H, W, 64)
    x = keras.layers.BatchNormalization(**_BN, name="stem_bn")(x)
    x = keras.layers.Activation("relu", name="stem_relu")(x)
    if stem == "imagenet":
        x = keras.layers.ZeroPadding2D(1, name="stem_pool_pad")(x)
        x = keras.layers.MaxPooling2D(3, strides=2, name="stem_pool")(x)  # (B, H / 4, W / 4, 64)
    for s, (blocks, filters) in enumerate(zip(num_blocks, num_filters, strict=True), start=1):
        for b in range(1, int(blocks) + 1):
            stride = 2 if s > 1 and b == 1 else 1
            x = _basic_block(x, int(filters), stride=stride, name=f"stage{s}_block{b}", l2=l2)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)  # (B, num_filters[-1])
    if dropout:
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    outputs = classifier_head(x, num_classes, l2=l2)
    return keras.Model(inputs, outputs, name="resnet")


_PAPER = (
    "He, Zhang, Ren & Sun 2015, Deep Residual Learning for Image Recognition (arXiv:1512.03385)"
)

_register = functools.partial(
    register_model,
    builder=_build_resnet,
    task="classification",
    input_kind="image",
    paper=_PAPER,
    check=_check_resnet,
    count_params=_count_resnet,
)

#: TensorFlow's oneDNN CPU kernels abort the process while training a ResNet whose stem is
#: narrower than this (``munmap_chunk(): invalid pointer`` / ``double free or corruption``,
#: exit 134 or 139): reproduced with ``stem: cifar`` and ``num_filters: [8, 16, 32, 64]`` or
#: ``[12, 16, 32, 64]`` on 64x64 images (``fit``, 3 of 3 tries; ``predict`` is fine); a stem of
#: 16 or more, or ``TF_ENABLE_ONEDNN_OPTS=0``, trains.
ONEDNN_MIN_STEM_FILTERS = 16


def onednn_abort_reason(params: dict[str, Any]) -> str | None:
    """Why training this ResNet (``params``: every hyperparameter) on TensorFlow needs its
    oneDNN kernels off, or ``None``."""
    filters = params.get("num_filters") or ()
    if filters and int(filters[0]) < ONEDNN_MIN_STEM_FILTERS:
        return (
            f"num_filters[0]={int(filters[0])} (under {ONEDNN_MIN_STEM_FILTERS}) makes "
            "TensorFlow's oneDNN convolutions abort the process while training"
        )
    return None


_register(
    "resnet18",
    summary="ResNet-18: basic blocks [2, 2, 2, 2]; 11,689,512 trainable params at 224x224, "
    "1000 classes.",
    num_params=11_699_112,
    defaults=dict(num_blocks=(2, 2, 2, 2)),
    presets=("resnet_18_imagenet",),
)

_register(
    "resnet34",
    summary="ResNet-34: basic blocks [3, 4, 6, 3]; 21,797,672 trainable params at 224x224, "
    "1000 classes.",
    num_params=21_814_696,
    defaults=dict(num_blocks=(3, 4, 6, 3)),
)
