"""VGG16's ImageNet preprocessing as a serialisable layer (Simonyan & Zisserman 2014).

``keras.applications.vgg16.preprocess_input`` ("caffe" mode) is a function, not a layer, so a
model that calls it does not save it. This layer does the same to images in [0, 1]: scale to
[0, 255], RGB -> BGR, subtract the ImageNet channel means (BGR order).
"""

from __future__ import annotations

from typing import Any

import keras

#: ImageNet channel means in BGR order, on the 0-255 scale (keras.applications' "caffe" mode).
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="nnzoo")
class VGGPreprocess(keras.layers.Layer):
    """Maps RGB images in [0, 1] to VGG16's input: ``255 * x``, RGB -> BGR, minus the mean.

    Args:
        mean: per-channel means subtracted after the channel flip, on the 0-255 scale.
            Defaults to the ImageNet means `(103.939, 116.779, 123.68)`.
        **kwargs: base layer arguments (``name``, ``dtype``, ...).
    """

    def __init__(self, mean: tuple[float, ...] = CAFFE_MEAN_BGR, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mean = tuple(float(m) for m in mean)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        if input_shape[-1] != len(self.mean):
            raise ValueError(
                f"VGGPreprocess expects {len(self.mean)} channels. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        super().build(input_shape)

    def call(self, inputs: Any) -> Any:
        x = keras.ops.flip(inputs * 255.0, axis=-1)  # (B, H, W, 3) BGR on 0..255
        mean = keras.ops.convert_to_tensor(self.mean, dtype=x.dtype)
        return x - mean

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"mean": list(self.mean)})
        return config
