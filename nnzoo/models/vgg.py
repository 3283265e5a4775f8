"""VGG16 (Simonyan & Zisserman 2014, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", arXiv:1409.1556), from ``keras.applications``.

``vgg16_transfer`` is the seed's transfer-learning model: the VGG16 convolutional base
(frozen, or unfrozen from ``fine_tune_from`` on), global average pooling, Dense 256 + ReLU,
dropout 0.5 and the logits. ``vgg16`` is the full ImageNet classifier (138,357,544 parameters
at 224x224x3 with 1000 classes), with logits instead of the softmax.

Both take images in [0, 1] and apply VGG16's preprocessing inside the model (``255 * x``,
RGB -> BGR, minus the ImageNet mean; :class:`nnzoo.layers.vgg_preprocess.VGGPreprocess`), so a
saved model is self-contained.

``weights`` is ``None`` (random initialisation, the default so the catalog builds offline),
``"imagenet"`` (the ``keras.applications`` weights file, from the Keras cache or downloaded
into it with ``keras.utils.get_file``, its origin and hash as ``keras.applications.VGG16``
has them; ``nnzoo --offline`` forbids the download, and the error then says where to put the
file or to use ``--set model.params.weights=null``) or the path of a weights file
(``.weights.h5`` or legacy ``.h5``) for the same network.

KerasHub's ``vgg_16_imagenet`` (torchvision's weights through timm) loads into ``vgg16`` with
``nnzoo.build_model("vgg16", weights="keras_hub:vgg_16_imagenet")``: its image converter
normalises RGB with the ImageNet mean and std, not caffe-style, which ``vgg16`` reproduces with
``image_size`` / ``pixel_scale`` / ``pixel_offset`` (:mod:`nnzoo.models._images`). The two
ways to load weights do not mix: ``build_model``'s ``weights="keras_hub:..."`` is the canonical
one; the ``weights`` hyperparameter is for the ``keras.applications`` file (``"imagenet"``,
caffe preprocessing) or a weights file.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Literal, get_args

from nnzoo._cache import Need, RemoteFile, register_needs
from nnzoo.cards import (
    HyperparameterError,
    ImageShape,
    NonNegativeFloat,
    NumClasses,
    PositiveInt,
    Rate,
    register_model,
)
from nnzoo.errors import ConfigError
from nnzoo.models import _counts
from nnzoo.models._common import output_units
from nnzoo.models._images import (
    ImageSize,
    Interpolation,
    PixelValues,
    check_pixels,
    network_size,
)

_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
#: The Keras ImageNet weight files, by ``include_top`` (names, origins, md5 hashes and sizes as
#: ``keras.applications.VGG16`` downloads them).
IMAGENET_FILES = {
    True: RemoteFile(
        "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
        f"{_WEIGHTS_URL}vgg16_weights_tf_dim_ordering_tf_kernels.h5",
        "64373286793e3c8b2b4e3219cbf3544b",
        cache_subdir="models",
        size=553_467_096,
    ),
    False: RemoteFile(
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        f"{_WEIGHTS_URL}vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "6d6bbae143d832006294945121d1f1fc",
        cache_subdir="models",
        size=58_889_256,
    ),
}
FineTuneBlock = Literal["block1", "block2", "block3", "block4", "block5"]
FINE_TUNE_BLOCKS = get_args(FineTuneBlock)
#: The convolutional base: (filters, 3x3 convolutions) of each block; a 2x2 max-pool ends each.
_VGG16_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


def imagenet_need(*, include_top: bool) -> Need:
    """The ImageNet weights file of VGG16 with or without its top, from the Keras cache."""
    return Need(
        what="VGG16 ImageNet weights",
        plural=True,
        files=(IMAGENET_FILES[include_top],),
        alternative="train from a random initialisation: --set model.params.weights=null",
    )


def _needs(include_top: bool) -> Any:
    def needs(params: Any) -> list[Need]:
        weights = params.get("weights")
        return [imagenet_need(include_top=include_top)] if weights == "imagenet" else []

    return needs


def _weights_file(weights: str | None, *, include_top: bool) -> str | None:
    """The file to load into the VGG16 network, or ``None`` for a random initialisation.
    ``"imagenet"`` is fetched from the Keras cache, downloaded into it when missing."""
    if weights is None or str(weights).lower() == "none":
        return None
    if weights == "imagenet":
        (path,) = imagenet_need(include_top=include_top).fetch()
        return path
    path = Path(str(weights)).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"weights file not found. Received: weights={str(weights)!r}",
            key="model.params.weights",
            fix="give the path of a .weights.h5 / .h5 file, 'imagenet' or null",
        )
    return str(path)


def _check_image_shape(input_shape: tuple[int, ...] | None) -> None:
    if input_shape is not None and (len(input_shape) != 3 or int(input_shape[-1]) != 3):
        raise HyperparameterError(
            f"VGG16 takes RGB images (H, W, 3). Received: input_shape={tuple(input_shape)}",
            fixes={"input_shape": "use RGB images (3 channels)"},
        )


def _count_base(input_shape: ImageShape) -> tuple[int, int]:
    """``(parameters, flattened size of the output)`` of the VGG16 convolutional base."""
    total, channels = 0, int(input_shape[-1])
    height, width = int(input_shape[0]), int(input_shape[1])
    for filters, num_convs in _VGG16_BLOCKS:
        for _conv in range(num_convs):
            total += _counts.conv2d(3, channels, filters)
            channels = filters
        height, width = height // 2, width // 2
    return total, height * width * channels


def _check_vgg16_transfer(
    *, input_shape: ImageShape | None, resize_to: int | None, **_: Any
) -> None:
    _check_image_shape(input_shape)
    if resize_to is None and input_shape is None:
        return
    size = (int(resize_to), int(resize_to)) if resize_to else tuple(input_shape[:2])
    if min(size) < 32:
        raise HyperparameterError(
            "VGG16 needs images of at least 32x32 (set `resize_to`). "
            f"Received: input_shape={None if input_shape is None else tuple(input_shape)}, "
            f"resize_to={resize_to}",
            fixes={
                "resize_to": "set resize_to: 32 or more (VGG16 was trained at 224)",
                "input_shape": "set resize_to: 32 or more to resize the images in the model",
            },
        )


def _count_vgg16_transfer(
    *, input_shape: ImageShape, num_classes: int, dense_units: int, **_: Any
) -> int:
    base, _flat = _count_base(input_shape)
    return (
        base
        + _counts.dense(512, dense_units)
        + _counts.dense(dense_units, output_units(num_classes))
    )


def _check_vgg16(
    *,
    input_shape: ImageShape | None,
    num_classes: int | None,
    weights: Any,
    image_size: ImageSize | None = None,
    pixel_scale: PixelValues | None = None,
    pixel_offset: PixelValues | None = None,
    interpolation: str = "bilinear",
    **_: Any,
) -> None:
    _check_image_shape(input_shape)
    check_pixels(
        input_shape=input_shape,
        pixel_scale=pixel_scale,
        pixel_offset=pixel_offset,
        interpolation=interpolation,
    )
    if image_size is not None:
        imagenet_shape = tuple(int(s) for s in image_size) == (224, 224)
    else:
        imagenet_shape = input_shape is None or tuple(input_shape) == (224, 224, 3)
    if weights == "imagenet" and (pixel_scale is not None or pixel_offset is not None):
        raise HyperparameterError(
            "The keras.applications ImageNet weights expect VGG16's caffe preprocessing "
            f"(BGR minus the mean). Received: weights='imagenet', pixel_scale={pixel_scale}, "
            f"pixel_offset={pixel_offset}",
            fixes={
                "pixel_scale": "leave pixel_scale and pixel_offset unset (null)",
                "pixel_offset": "leave pixel_scale and pixel_offset unset (null)",
            },
        )
    if weights == "imagenet" and not (num_classes in (None, 1000) and imagenet_shape):
        raise HyperparameterError(
            "ImageNet weights of the full VGG16 need num_classes=1000 and input_shape "
            f"(224, 224, 3). Received: num_classes={num_classes}, "
            f"input_shape={None if input_shape is None else tuple(input_shape)}",
            fixes={
                "weights": "use vgg16_transfer for other classes or sizes, or set "
                "image_size: [224, 224] to resize inside the model"
            },
        )


def _count_vgg16(
    *, input_shape: ImageShape, num_classes: int, image_size: ImageSize | None = None, **_: Any
) -> int:
    base, flat = _count_base((*network_size(input_shape, image_size), input_shape[-1]))
    top = _counts.dense(flat, 4096) + _counts.dense(4096, 4096)
    return base + top + _counts.dense(4096, output_units(num_classes))


def _build_vgg16_transfer(
    *,
    input_shape: ImageShape = (32, 32, 3),
    num_classes: NumClasses = 10,
    weights: str | None = None,
    resize_to: PositiveInt | None = None,
    fine_tune_from: FineTuneBlock | None = None,
    dense_units: PositiveInt = 256,
    dropout: Rate = 0.5,
    l2: NonNegativeFloat = 0.0,
) -> Any:
    """VGG16 base + global average pool + Dense ``dense_units`` + ``dropout`` + logits.

    ``resize_to`` resizes the images to ``resize_to`` x ``resize_to`` inside the model (VGG16
    was trained at 224); ``fine_tune_from="block5"`` trains the base from that block on.
    """
    import keras

    from nnzoo.layers.vgg_preprocess import VGGPreprocess
    from nnzoo.models._common import classifier_head, regularizer

    _check_vgg16_transfer(input_shape=input_shape, resize_to=resize_to)
    if fine_tune_from is not None and fine_tune_from not in FINE_TUNE_BLOCKS:
        raise ValueError(
            f"`fine_tune_from` must be one of {', '.join(FINE_TUNE_BLOCKS)} or None. "
            f"Received: fine_tune_from={fine_tune_from!r}"
        )
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout}")
    size = (int(resize_to), int(resize_to)) if resize_to else tuple(input_shape[:2])
    weights_file = _weights_file(weights, include_top=False)

    base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(*size, 3))
    if weights_file:
        base.load_weights(weights_file)
    if fine_tune_from is None:
        base.trainable = False
    else:
        first = int(fine_tune_from.removeprefix("block"))
        for layer in base.layers:
            block = layer.name.split("_")[0]
            layer.trainable = block.startswith("block") and int(block[5:]) >= first

    inputs = keras.Input(shape=tuple(input_shape), name="images")  # (B, H, W, 3) in [0, 1]
    x = inputs
    if resize_to:
        x = keras.layers.Resizing(*size, name="resize")(x)
    x = VGGPreprocess(name="vgg_preprocess")(x)
    # training=False: the base always runs in inference mode, also when fine-tuned.
    x = base(x, training=False)  # (B, H / 32, W / 32, 512)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = keras.layers.Dense(
        int(dense_units), activation="relu", kernel_regularizer=regularizer(l2), name="dense"
    )(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    outputs = classifier_head(x, num_classes, l2=l2)
    return keras.Model(inputs, outputs, name="vgg16_transfer")


def _build_vgg16(
    *,
    input_shape: ImageShape = (224, 224, 3),
    num_classes: NumClasses = 1000,
    weights: str | None = None,
    image_size: ImageSize | None = None,
    pixel_scale: PixelValues | None = None,
    pixel_offset: PixelValues | None = None,
    interpolation: Interpolation = "bilinear",
    crop_to_aspect_ratio: bool = True,
    antialias: bool = False,
) -> Any:
    """The full VGG16 classifier (13 conv layers, fc 4096-4096, logits).

    ``input_shape`` is the size of the images that come in; ``image_size`` (default: the
    input's) the size the network sees, which fixes fc1's input. The preprocessing parameters
    are those of :mod:`nnzoo.models._images`; by default caffe-style.
    """
    import keras

    from nnzoo.layers.vgg_preprocess import VGGPreprocess
    from nnzoo.models._images import preprocess

    _check_vgg16(
        input_shape=input_shape,
        num_classes=num_classes,
        weights=weights,
        image_size=image_size,
        pixel_scale=pixel_scale,
        pixel_offset=pixel_offset,
    )
    weights_file = _weights_file(weights, include_top=True)
    # classifier_activation=None: the "predictions" layer emits logits (1 for a binary task).
    base = keras.applications.VGG16(
        include_top=True,
        weights=None,
        input_shape=(*network_size(input_shape, image_size), 3),
        classes=output_units(num_classes),
        classifier_activation=None,
    )
    if weights_file:
        base.load_weights(weights_file)
    inputs = keras.Input(shape=tuple(input_shape), name="images")  # (B, H, W, 3) in [0, 1]
    x = preprocess(
        inputs,
        VGGPreprocess(name="vgg_preprocess"),
        image_size=image_size,
        pixel_scale=pixel_scale,
        pixel_offset=pixel_offset,
        interpolation=interpolation,
        crop_to_aspect_ratio=crop_to_aspect_ratio,
        antialias=antialias,
    )  # (B, 224, 224, 3)
    outputs = base(x)  # (B, num_classes) logits
    return keras.Model(inputs, outputs, name="vgg16")


_PAPER = (
    "Simonyan & Zisserman 2014, Very Deep Convolutional Networks for Large-Scale Image "
    "Recognition (arXiv:1409.1556)"
)

_register = functools.partial(
    register_model, task="classification", input_kind="image", paper=_PAPER
)

_register(
    "vgg16_transfer",
    _build_vgg16_transfer,
    summary="The seed's transfer model: frozen VGG16 base, Dense 256, dropout 0.5 "
    "(set weights: imagenet).",
    num_params=14_848_586,
    check=_check_vgg16_transfer,
    count_params=_count_vgg16_transfer,
)

_register(
    "vgg16",
    _build_vgg16,
    summary="VGG16 ImageNet classifier, logits; 138,357,544 params at 224x224, 1000 classes.",
    num_params=138_357_544,
    check=_check_vgg16,
    count_params=_count_vgg16,
    presets=("vgg_16_imagenet",),
)

register_needs("model", "vgg16_transfer", _needs(include_top=False))
register_needs("model", "vgg16", _needs(include_top=True))
