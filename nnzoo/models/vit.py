"""Vision Transformer (Dosovitskiy et al. 2020, "An Image is Worth 16x16 Words: Transformers for
Image Recognition at Scale").

The image is cut into ``patch_size`` x ``patch_size`` patches, each linearly embedded (a Conv2D
with kernel = stride = patch size); a learned class token is prepended, learned position
embeddings are added, and pre-norm transformer layers (exact GELU MLP) follow. A final layer
norm and a linear head on the class token give the logits. ``vit_b16`` is ViT-B/16 at 224 px
(86,567,656 parameters with 1000 classes, as timm's ``vit_base_patch16_224``); ``vit_small`` is
DeiT's / timm's ViT-S/16; ``vit_tiny`` is a CPU-sized preset for 32x32 images.

Images in [0, 1] are scaled to [-1, 1] inside the model. ``image_size`` resizes them first, to
the size the position embeddings are made for, so images of any size come in; with
``pixel_scale`` / ``pixel_offset`` the model reproduces a KerasHub preset's image converter
(:mod:`nnzoo.models._images`; ``nnzoo.build_model("vit_b16",
weights="keras_hub:vit_base_patch16_224_imagenet")``).
"""

from __future__ import annotations

import functools
import math
from typing import Annotated, Any

import annotated_types as at

from nnzoo.cards import (
    HyperparameterError,
    ImageShape,
    NumClasses,
    PositiveInt,
    Rate,
    register_model,
)
from nnzoo.models import _counts
from nnzoo.models._common import output_units
from nnzoo.models._images import (
    ImageSize,
    Interpolation,
    PixelValues,
    check_pixels,
    network_size,
)
from nnzoo.models._rules import check_heads, divisors_near, or_list

#: A layer norm's epsilon (KerasHub's ViT presets: 1e-6).
Epsilon = Annotated[float, at.Gt(0.0)]

PAPER = (
    "Dosovitskiy et al. 2020, An Image is Worth 16x16 Words: Transformers for Image "
    "Recognition at Scale"
)


def _check_vit(
    *,
    input_shape: ImageShape | None,
    patch_size: int,
    hidden_dim: int,
    num_heads: int,
    image_size: ImageSize | None = None,
    pixel_scale: PixelValues | None = None,
    pixel_offset: PixelValues | None = None,
    interpolation: str = "bilinear",
    **_: Any,
) -> None:
    check_heads(hidden_dim, num_heads)
    check_pixels(
        input_shape=input_shape,
        pixel_scale=pixel_scale,
        pixel_offset=pixel_offset,
        interpolation=interpolation,
    )
    if image_size is not None:
        height, width = int(image_size[0]), int(image_size[1])
        if height % int(patch_size) or width % int(patch_size):
            sizes = or_list(divisors_near(math.gcd(height, width), int(patch_size)))
            raise HyperparameterError(
                "The image_size height and width must be multiples of `patch_size`. "
                f"Received: image_size={tuple(image_size)}, patch_size={patch_size}",
                fixes={
                    "image_size": f"use sides that are multiples of {patch_size}",
                    "patch_size": f"use a patch_size that divides the image_size, e.g. {sizes}",
                },
            )
        return
    if input_shape is None:
        return
    height, width = int(input_shape[0]), int(input_shape[1])
    if height % int(patch_size) or width % int(patch_size):
        sides = f"{height}" if height == width else f"{height} and {width}"
        sizes = or_list(divisors_near(math.gcd(height, width), int(patch_size)))
        raise HyperparameterError(
            "The image height and width must be multiples of `patch_size`. "
            f"Received: input_shape={tuple(input_shape)}, patch_size={patch_size}",
            fixes={
                "patch_size": f"use a patch_size that divides {sides}, e.g. {sizes}",
                "input_shape": f"use images whose sides are multiples of {patch_size}, or a "
                f"patch_size that divides {sides} (e.g. {sizes})",
            },
        )


def _count_vit(
    *,
    input_shape: ImageShape,
    patch_size: int,
    num_layers: int,
    hidden_dim: int,
    intermediate_dim: int,
    num_classes: int,
    image_size: ImageSize | None = None,
    **_: Any,
) -> int:
    height, width = network_size(input_shape, image_size)
    channels = int(input_shape[-1])
    num_patches = (height // int(patch_size)) * (width // int(patch_size))
    patch_embedding = _counts.conv2d(patch_size, channels, hidden_dim)
    class_token = int(hidden_dim)
    positions = _counts.embedding(num_patches + 1, hidden_dim)  # the class token's too
    embeddings = patch_embedding + class_token + positions
    layers = int(num_layers) * _counts.transformer_layer(hidden_dim, intermediate_dim)
    head = _counts.layer_norm(hidden_dim) + _counts.dense(hidden_dim, output_units(num_classes))
    return embeddings + layers + head


def _build_vit(
    *,
    input_shape: ImageShape = (224, 224, 3),
    patch_size: PositiveInt = 16,
    num_layers: PositiveInt = 12,
    num_heads: PositiveInt = 12,
    hidden_dim: PositiveInt = 768,
    intermediate_dim: PositiveInt = 3072,
    dropout: Rate = 0.0,
    num_classes: NumClasses = 1000,
    layer_norm_epsilon: Epsilon = 1e-6,
    image_size: ImageSize | None = None,
    pixel_scale: PixelValues | None = None,
    pixel_offset: PixelValues | None = None,
    interpolation: Interpolation = "bilinear",
    crop_to_aspect_ratio: bool = True,
    antialias: bool = False,
) -> Any:
    """ViT: patch embedding, class token, position embeddings, pre-norm layers, class head.

    ``input_shape`` is the size of the images that come in; ``image_size`` (default: the
    input's) the size the network sees. The preprocessing parameters are those of
    :mod:`nnzoo.models._images`.
    """
    import keras

    from nnzoo.layers import ClassToken, PositionEmbedding, transformer_stack
    from nnzoo.models._common import classifier_head
    from nnzoo.models._images import preprocess

    _check_vit(
        input_shape=input_shape,
        patch_size=patch_size,
        hidden_dim=hidden_dim,
        num_heads=num_heads,
        image_size=image_size,
        pixel_scale=pixel_scale,
        pixel_offset=pixel_offset,
    )
    height, width = network_size(input_shape, image_size)
    num_patches = (height // int(patch_size)) * (width // int(patch_size))
    init = keras.initializers.TruncatedNormal(stddev=0.02)

    inputs = keras.Input(shape=tuple(int(s) for s in input_shape), name="images")
    # Images arrive in [0, 1]; ViT is trained on [-1, 1] (mean 0.5, std 0.5 per channel).
    x = preprocess(
        inputs,
        keras.layers.Rescaling(2.0, offset=-1.0, name="rescaling"),
        image_size=image_size,
        pixel_scale=pixel_scale,
        pixel_offset=pixel_offset,
        interpolation=interpolation,
        crop_to_aspect_ratio=crop_to_aspect_ratio,
        antialias=antialias,
    )  # (B, height, width, C)
    x = keras.layers.Conv2D(
        hidden_dim,
        kernel_size=patch_size,
        strides=patch_size,
        padding="valid",
        name="patch_embedding",
    )(x)  # (B, H / P, W / P, hidden_dim)
    x = keras.layers.Reshape((num_patches, hidden_dim), name="patches")(x)  # (B, N, hidden_dim)
    x = ClassToken(name="class_token")(x)  # (B, N + 1, hidden_dim)
    positions = PositionEmbedding(num_patches + 1, initializer=init, name="position_embedding")(x)
    x = keras.layers.Add(name="embeddings_add")([x, positions])
    x = keras.layers.Dropout(dropout, name="embeddings_dropout")(x)
    x = transformer_stack(
        x,
        num_layers=num_layers,
        hidden_dim=hidden_dim,
        num_heads=num_heads,
        intermediate_dim=intermediate_dim,
        dropout=dropout,
        activation="gelu",
        layer_norm_epsilon=layer_norm_epsilon,
        normalize_first=True,
        kernel_initializer=init,
    )
    x = keras.layers.LayerNormalization(epsilon=layer_norm_epsilon, name="layer_norm")(x)
    x = x[:, 0, :]  # (B, hidden_dim): the class token's output
    outputs = classifier_head(x, num_classes)
    return keras.Model(inputs, outputs, name="vit")


_register = functools.partial(
    register_model,
    builder=_build_vit,
    task="classification",
    input_kind="image",
    paper=PAPER,
    check=_check_vit,
    count_params=_count_vit,
    # Exact GELU becomes an ONNX `Erfc` node, which onnxruntime rejects (tf2onnx 1.17):
    # measured by scripts/export_capabilities.py.
    export_formats={"onnx": "no"},
)

_register(
    "vit_b16",
    summary="ViT-B/16 at 224x224: 12 layers, 768 hidden, 12 heads (86.6M parameters).",
    num_params=86_567_656,
    presets=("vit_base_patch16_224_imagenet", "vit_base_patch16_224_imagenet21k"),
)

_register(
    "vit_small",
    paper=PAPER + "; sizes of ViT-S/16 from Touvron et al. 2021 (DeiT)",
    summary="ViT-S/16 at 224x224: 12 layers, 384 hidden, 6 heads (22.1M parameters).",
    num_params=22_050_664,
    defaults=dict(hidden_dim=384, num_heads=6, intermediate_dim=1536),
)

_register(
    "vit_tiny",
    summary="CPU-sized ViT for 32x32 images: 4x4 patches, 4 layers, 128 hidden, 4 heads.",
    num_params=809_354,
    defaults=dict(
        input_shape=(32, 32, 3),
        patch_size=4,
        num_layers=4,
        num_heads=4,
        hidden_dim=128,
        intermediate_dim=512,
        dropout=0.1,
        num_classes=10,
    ),
)
