"""KerasHub's ``ResNetBackbone`` basic-block presets (``resnet_18_imagenet``) as nnzoo ResNets.

KerasHub's ResNet (torchvision's, through timm) is nnzoo's ``resnet`` with the ImageNet stem:
7x7/2 convolution after a symmetric 3-pixel zero padding, batch norm (epsilon 1e-5), ReLU, a
3x3/2 max-pool after a 1-pixel padding, then stages of basic blocks whose first block (from the
second stage on) downsamples with a padded 3x3/2 convolution and a 1x1/2 projection. The
layers map by name: ``conv1_*`` -> ``stem_*``, ``stack{s}_block{b}_{1,2}_*`` ->
``stage{s+1}_block{b+1}_{conv,bn}{1,2}``, ``..._0_*`` -> ``..._shortcut_*``. Bottleneck,
pre-activation (v2) and ResNet-vd presets have other architectures and are refused.
"""

from __future__ import annotations

from typing import Any

from nnzoo.pretrained._adapter import Adapter, register_adapter
from nnzoo.pretrained._copy import copy_dense_head, copy_layer
from nnzoo.pretrained._images import converter_params


def to_params(config: dict[str, Any]) -> dict[str, Any]:
    """The nnzoo ResNet sizes of a KerasHub ``ResNetBackbone`` config."""
    block_type = config.get("block_type")
    if block_type != "basic_block":
        raise ValueError(
            "nnzoo's resnet reproduces basic-block ResNets (ResNet-18/34); ResNet-vd and "
            f"bottleneck presets are not supported. Received: block_type={block_type!r}"
        )
    if config.get("use_pre_activation"):
        raise ValueError(
            "nnzoo's resnet is the post-activation ResNet (v1). Received: use_pre_activation=True"
        )
    filters = [int(f) for f in config["stackwise_num_filters"]]
    blocks = [int(b) for b in config["stackwise_num_blocks"]]
    strides = [int(s) for s in config["stackwise_num_strides"]]
    stem = (list(config["input_conv_filters"]), list(config["input_conv_kernel_sizes"]))
    if stem != ([filters[0]], [7]):
        raise ValueError(
            "nnzoo's resnet has one 7x7 stem convolution as wide as the first stage. "
            f"Received: input_conv_filters={stem[0]}, input_conv_kernel_sizes={stem[1]}"
        )
    if strides != [1] + [2] * (len(strides) - 1):
        raise ValueError(
            "nnzoo's resnet downsamples by 2 at the start of every stage after the first. "
            f"Received: stackwise_num_strides={strides}"
        )
    if config.get("data_format", "channels_last") != "channels_last":
        raise ValueError(
            "nnzoo's resnet takes channels-last images. "
            f"Received: data_format={config['data_format']!r}"
        )
    return {"num_blocks": tuple(blocks), "num_filters": tuple(filters), "stem": "imagenet"}


def _pairs(model: Any, backbone: Any) -> list[tuple[str, str]]:
    """(nnzoo layer, KerasHub layer) names of every weighted layer of the backbone."""
    names = {layer.name for layer in model.layers}
    pairs = [("stem_conv", "conv1_conv"), ("stem_bn", "conv1_bn")]
    for s, blocks in enumerate(backbone.stackwise_num_blocks):
        for b in range(int(blocks)):
            ours, theirs = f"stage{s + 1}_block{b + 1}", f"stack{s}_block{b}"
            pairs += [
                (f"{ours}_conv1", f"{theirs}_1_conv"),
                (f"{ours}_bn1", f"{theirs}_1_bn"),
                (f"{ours}_conv2", f"{theirs}_2_conv"),
                (f"{ours}_bn2", f"{theirs}_2_bn"),
            ]
            if f"{ours}_shortcut_conv" in names:
                pairs += [
                    (f"{ours}_shortcut_conv", f"{theirs}_0_conv"),
                    (f"{ours}_shortcut_bn", f"{theirs}_0_bn"),
                ]
    return pairs


def copy_weights(model: Any, backbone: Any, task: Any = None) -> int:
    """Copy a KerasHub ResNet backbone (and its classifier head when it fits) into ``model``,
    batch-norm moving statistics included."""
    count = 0
    for ours, theirs in _pairs(model, backbone):
        count += copy_layer(model.get_layer(ours), backbone.get_layer(theirs), theirs)
    if task is not None:
        if getattr(task, "pooling", "avg") != "avg":
            raise ValueError(
                "nnzoo's resnet pools the last stage by averaging. "
                f"Received: a ResNetImageClassifier with pooling={task.pooling!r}"
            )
        count += copy_dense_head(model, task)
    return count


ADAPTER = register_adapter(
    Adapter(
        backbone="ResNetBackbone",
        family="resnet",
        licence="Apache-2.0",
        to_params=to_params,
        copy_weights=copy_weights,
        preprocessing=converter_params,
        timm_architectures=("resnet",),
    )
)
