"""A KerasHub image converter as a layer of the model: resize, then per-channel scale and offset.

KerasHub's ``ImageConverter`` (what a preset's preprocessor applies to raw 0-255 images) does,
in this order: resize to ``image_size`` (``keras.layers.Resizing`` with the converter's
``interpolation``, ``crop_to_aspect_ratio`` and ``antialias``), multiply by ``scale``, add
``offset`` (each one number or one per channel). :class:`ImagePreprocess` does the same to
nnzoo's images in [0, 1] (first ``x * 255``), inside the model, so a saved model takes raw
images of any size and gives the preset's answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

#: ``keras.ops.image.resize`` interpolations.
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "area")


def _values(name: str, value: float | Sequence[float] | None) -> tuple[float, ...] | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return (float(value),)
    values = tuple(float(v) for v in value)
    if not values:
        raise ValueError(f"`{name}` must hold one value or one per channel. Received: {name}=()")
    return values


@keras.saving.register_keras_serializable(package="nnzoo")
class ImagePreprocess(keras.layers.Layer):
    """Maps RGB images in [0, 1] to a preset's input: ``resize(255 * x) * scale + offset``.

    Args:
        image_size: ``(height, width)`` to resize to, or ``None`` to keep the input's size.
            Defaults to `None`.
        scale: multiplies the 0-255 images after resizing: one number or one per channel;
            ``None`` for none. Defaults to `None`.
        offset: added after ``scale``: one number or one per channel; ``None`` for none.
            Defaults to `None`.
        interpolation: the resize interpolation, one of ``"bilinear"``, ``"nearest"``,
            ``"bicubic"``, ``"lanczos3"``, ``"lanczos5"``, ``"area"``. Defaults to
            `"bilinear"`.
        crop_to_aspect_ratio: resize the largest centred window with the target aspect ratio
            (no distortion) instead of stretching, as KerasHub's converters do by default.
            Defaults to `True`.
        antialias: use an antialiasing filter when downsampling. Defaults to `False`.
        reverse_channels: RGB -> BGR before ``scale`` and ``offset`` (caffe-style weights).
            Defaults to `False`.
        **kwargs: base layer arguments (``name``, ``dtype``, ...).
    """

    def __init__(
        self,
        image_size: Sequence[int] | None = None,
        scale: float | Sequence[float] | None = None,
        offset: float | Sequence[float] | None = None,
        interpolation: str = "bilinear",
        crop_to_aspect_ratio: bool = True,
        antialias: bool = False,
        reverse_channels: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if image_size is not None and len(image_size) != 2:
            raise ValueError(
                f"`image_size` must be (height, width). Received: image_size={image_size}"
            )
        if interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"`interpolation` must be one of {', '.join(INTERPOLATIONS)}. "
                f"Received: interpolation={interpolation!r}"
            )
        self.image_size = None if image_size is None else tuple(int(s) for s in image_size)
        self.scale = _values("scale", scale)
        self.offset = _values("offset", offset)
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.antialias = bool(antialias)
        self.reverse_channels = bool(reverse_channels)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        channels = input_shape[-1]
        for name, values in (("scale", self.scale), ("offset", self.offset)):
            if values is not None and len(values) not in (1, channels):
                raise ValueError(
                    f"`{name}` must hold one value or one per channel ({channels}). "
                    f"Received: {name}={list(values)}, input_shape={tuple(input_shape)}"
                )
        super().build(input_shape)

    def call(self, inputs: Any) -> Any:
        x = keras.ops.cast(inputs, self.compute_dtype) * 255.0  # (B, H, W, C) on 0..255
        if self.image_size is not None:
            x = keras.ops.image.resize(
                x,
                self.image_size,
                interpolation=self.interpolation,
                antialias=self.antialias,
                crop_to_aspect_ratio=self.crop_to_aspect_ratio,
            )  # (B, height, width, C)
        if self.reverse_channels:
            x = keras.ops.flip(x, axis=-1)
        if self.scale is not None:
            x = x * keras.ops.convert_to_tensor(self.scale, dtype=x.dtype)
        if self.offset is not None:
            x = x + keras.ops.convert_to_tensor(self.offset, dtype=x.dtype)
        return x

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple:
        if self.image_size is None:
            return tuple(input_shape)
        return (input_shape[0], *self.image_size, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "image_size": None if self.image_size is None else list(self.image_size),
                "scale": None if self.scale is None else list(self.scale),
                "offset": None if self.offset is None else list(self.offset),
                "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "antialias": self.antialias,
                "reverse_channels": self.reverse_channels,
            }
        )
        return config
