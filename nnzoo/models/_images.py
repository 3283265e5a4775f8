"""The preprocessing parameters the image families share (ViT, ResNet, VGG16).

A model takes images in [0, 1] of its ``input_shape`` and normalises them inside. By default
each family does its own normalisation (ViT: [-1, 1]; ResNet: ImageNet mean and std; VGG16:
caffe-style BGR minus the mean) at the input's size. A KerasHub preset's image converter is
reproduced with:

- ``image_size``: ``(height, width)`` the model resizes every image to first (ViT's position
  embeddings are fixed by it); ``None`` keeps the input's size.
- ``pixel_scale`` / ``pixel_offset``: the converter's ``x * scale + offset`` on 0-255 images,
  one value or one per channel (set either one and the family's default normalisation is
  replaced; the other one then defaults to no scaling / no offset).
- ``interpolation``, ``crop_to_aspect_ratio``, ``antialias``: how the resize is done.

None of them adds a weight, so parameter counts do not change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, get_args

from nnzoo.cards import HyperparameterError, PositiveInt

#: ``(height, width)`` of the images the network itself sees.
ImageSize = tuple[PositiveInt, PositiveInt]
#: Per-channel values (or one for every channel) on the 0-255 scale.
PixelValues = tuple[float, ...]
Interpolation = Literal["bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "area"]
INTERPOLATIONS = get_args(Interpolation)


def network_size(input_shape: Any, image_size: Any) -> tuple[int, int]:
    """``(height, width)`` of the images the network sees: ``image_size``, else the input's."""
    if image_size is not None:
        return int(image_size[0]), int(image_size[1])
    return int(input_shape[0]), int(input_shape[1])


#: Interpolations Keras resizes with on TensorFlow only (its JAX, NumPy and PyTorch
#: backends have no ``"area"``): a model using one would fail at its first step on JAX, and
#: a TensorFlow run of it could not be used there.
TENSORFLOW_ONLY_INTERPOLATIONS = ("area",)


def check_pixels(
    *,
    input_shape: Any,
    pixel_scale: Any = None,
    pixel_offset: Any = None,
    interpolation: str = "bilinear",
    **_: Any,
) -> None:
    """``pixel_scale`` / ``pixel_offset`` hold one value or one per input channel; the
    ``interpolation`` runs on every backend."""
    if interpolation in TENSORFLOW_ONLY_INTERPOLATIONS:
        raise HyperparameterError(
            f"`interpolation` {interpolation!r} resizes on TensorFlow only (Keras's JAX, NumPy "
            "and PyTorch backends have no area resize), so the model would not run on JAX. "
            f"Received: interpolation={interpolation!r}",
            fixes={
                "interpolation": "use bilinear with antialias: true (an area-weighted "
                "average when shrinking)"
            },
        )
    for name, values in (("pixel_scale", pixel_scale), ("pixel_offset", pixel_offset)):
        if values is None:
            continue
        channels = None if input_shape is None else int(input_shape[-1])
        if len(values) == 0 or (channels is not None and len(values) not in (1, channels)):
            raise HyperparameterError(
                f"`{name}` must hold one value or one per channel. "
                f"Received: {name}={list(values)}, input_shape="
                f"{None if input_shape is None else tuple(input_shape)}",
                fixes={name: f"give 1 or {channels} values (0-255 scale)"},
            )


def preprocess(
    inputs: Any,
    default: Callable[[Any], Any],
    *,
    image_size: Any,
    pixel_scale: Any,
    pixel_offset: Any,
    interpolation: str,
    crop_to_aspect_ratio: bool,
    antialias: bool,
) -> Any:
    """Images in [0, 1] -> what the network takes.

    With ``pixel_scale`` or ``pixel_offset``: one :class:`ImagePreprocess` layer named
    ``preprocess`` (KerasHub's order: ``x * 255``, resize, scale, offset). Otherwise an optional
    ``Resizing`` layer named ``resize`` and then ``default(x)``, the family's own normalisation
    of [0, 1] images (the layers a model without these parameters has always had).
    """
    import keras

    from nnzoo.layers.image_preprocess import ImagePreprocess

    if pixel_scale is not None or pixel_offset is not None:
        return ImagePreprocess(
            image_size=image_size,
            scale=pixel_scale,
            offset=pixel_offset,
            interpolation=interpolation,
            crop_to_aspect_ratio=crop_to_aspect_ratio,
            antialias=antialias,
            name="preprocess",
        )(inputs)
    x = inputs
    if image_size is not None:
        x = keras.layers.Resizing(
            int(image_size[0]),
            int(image_size[1]),
            interpolation=interpolation,
            crop_to_aspect_ratio=crop_to_aspect_ratio,
            antialias=antialias,
            name="resize",
        )(x)
    return default(x)
