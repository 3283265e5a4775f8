"""What the image adapters (ViT, ResNet, VGG) share: a KerasHub image converter as the nnzoo
builder's preprocessing parameters (no Keras at import)."""

from __future__ import annotations

from typing import Any

#: The resize interpolations nnzoo's image models take (``nnzoo.models._images``).
_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "area")


def _values(value: Any) -> tuple[float, ...] | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return (float(value),)
    return tuple(float(v) for v in value)


def converter_params(converter: Any) -> dict[str, Any]:
    """The builder parameters that reproduce a KerasHub ``ImageConverter`` inside the model.

    ``converter`` is the converter layer (or its ``get_config()``); ``None`` (a preset without
    one) keeps the family's own normalisation. A converter without ``scale`` / ``offset`` feeds
    the network 0-255 images, so both are always given (1 and 0 where the converter has none).
    """
    if converter is None:
        return {}
    config = converter.get_config() if hasattr(converter, "get_config") else dict(converter)
    if config.get("pad_to_aspect_ratio"):
        raise ValueError(
            "nnzoo's image models do not pad images to the aspect ratio. "
            "Received: an image converter with pad_to_aspect_ratio=True"
        )
    if config.get("data_format") == "channels_first":
        raise ValueError(
            "nnzoo's image models take channels-last images. "
            "Received: an image converter with data_format='channels_first'"
        )
    interpolation = config.get("interpolation", "bilinear")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(
            f"The image converter's interpolation must be one of {', '.join(_INTERPOLATIONS)}. "
            f"Received: interpolation={interpolation!r}"
        )
    params: dict[str, Any] = {
        "pixel_scale": _values(config.get("scale")) or (1.0,),
        "pixel_offset": _values(config.get("offset")) or (0.0,),
        "interpolation": interpolation,
        "crop_to_aspect_ratio": bool(config.get("crop_to_aspect_ratio", True)),
        "antialias": bool(config.get("antialias", False)),
    }
    size = config.get("image_size")
    if size is not None and None not in tuple(size):
        params["image_size"] = (int(size[0]), int(size[1]))
    return params
