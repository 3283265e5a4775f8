"""KerasHub's ``VGGBackbone`` VGG16 preset (``vgg_16_imagenet``) as nnzoo's ``vgg16``.

KerasHub's VGG (torchvision's weights, through timm) names its convolutions as
``keras.applications.VGG16`` does (``block1_conv1`` ... ``block5_conv3``), so they copy by name
into ``vgg16``'s base. Its ``VGGImageClassifier`` head is fc1, fc2 (4096 each) and the
predictions: with ``pooling="flatten"`` Dense layers, as ``vgg16``'s; by default 7x7 and 1x1
convolutions on the 7x7 feature map, then pooling over the 1x1 result, which are the same
Dense layers with their kernels reshaped (at the 224x224 the presets use). fc1 and fc2 are
part of ``vgg16`` and always copied from a classifier preset; the predictions only when the
nnzoo model has as many classes.

The preset's image converter normalises RGB with the ImageNet mean and std (torchvision), not
caffe-style BGR minus the mean as ``keras.applications``' weights (``weights: imagenet``) want:
the adapter's preprocessing parameters replace ``vgg16``'s default caffe preprocessing.
"""

from __future__ import annotations

from typing import Any

from nnzoo.pretrained._adapter import Adapter, register_adapter
from nnzoo.pretrained._copy import copy_arrays, copy_layer, shapes
from nnzoo.pretrained._images import converter_params

#: VGG16's convolutions per block and their filters (nnzoo's only VGG).
_VGG16 = ([2, 2, 3, 3, 3], [64, 128, 256, 512, 512])
_HIDDEN = 4096


def to_params(config: dict[str, Any]) -> dict[str, Any]:
    """The nnzoo ``vgg16`` parameters of a KerasHub ``VGGBackbone`` config (VGG16 only)."""
    repeats = [int(r) for r in config["stackwise_num_repeats"]]
    filters = [int(f) for f in config["stackwise_num_filters"]]
    if (repeats, filters) != _VGG16:
        raise ValueError(
            "nnzoo's vgg16 is VGG16 (convolutions per block [2, 2, 3, 3, 3], filters "
            "[64, 128, 256, 512, 512]); VGG11/13/19 presets are not in the catalog. "
            f"Received: stackwise_num_repeats={repeats}, stackwise_num_filters={filters}"
        )
    height, width, _channels = tuple(config.get("image_shape") or (None, None, 3))
    if height is None or width is None:
        return {}
    return {"image_size": (int(height), int(width))}


def copy_weights(model: Any, backbone: Any, task: Any = None) -> int:
    """Copy a KerasHub VGG16 backbone (and its classifier: fc1, fc2, and the predictions when
    they fit) into an nnzoo ``vgg16``."""
    base = model.get_layer("vgg16")
    count = 0
    for block, repeats in enumerate(_VGG16[0], start=1):
        for conv in range(1, repeats + 1):
            name = f"block{block}_conv{conv}"
            count += copy_layer(base.get_layer(name), backbone.get_layer(name), name)
    if task is None:
        return count
    if int(task.pooling_hidden_dim) != _HIDDEN:
        raise ValueError(
            f"nnzoo's vgg16 has fc1 and fc2 of {_HIDDEN} units. "
            f"Received: a VGGImageClassifier with pooling_hidden_dim={task.pooling_hidden_dim}"
        )
    head = task.head
    fc1_kernel_shape = tuple(base.get_layer("fc1").kernel.shape)
    for name in ("fc1", "fc2"):
        kernel, bias = head.get_layer(name).get_weights()
        if task.pooling != "flatten":
            # A (k, k, C, 4096) convolution over a k x k map is a Dense on the flattened map.
            if name == "fc1" and kernel.size != fc1_kernel_shape[0] * fc1_kernel_shape[1]:
                raise ValueError(
                    "The preset's convolutional head covers a 7x7 feature map, so nnzoo's "
                    "vgg16 must see 224x224 images. Received: a network input of "
                    f"{tuple(base.input.shape[1:3])}"
                )
            kernel = kernel.reshape(-1, kernel.shape[-1])
        count += copy_arrays(base.get_layer(name), [kernel, bias], f"head layer {name}")
    predictions = head.get_layer("predictions")
    ours = base.get_layer("predictions")
    if shapes(ours.weights) == shapes(predictions.weights):
        count += copy_layer(ours, predictions, "classifier head")
    return count


ADAPTER = register_adapter(
    Adapter(
        backbone="VGGBackbone",
        family="vgg",
        licence="Apache-2.0 (KerasHub); ImageNet weights for non-commercial research",
        to_params=to_params,
        copy_weights=copy_weights,
        preprocessing=converter_params,
        timm_architectures=("vgg",),
    )
)
