"""KerasHub's ``ViTBackbone`` presets (``vit_base_patch16_224_imagenet``, ...) as nnzoo ViTs.

The class token, patch embedding, position embeddings, the pre-norm transformer layers and
the final layer norm map one to one onto :mod:`nnzoo.models.vit`; the preset's image size
fixes the position embeddings (``image_size``), and its image converter becomes the model's
own preprocessing. The ``ViTImageClassifier`` head (class token -> Dense) is copied when the
nnzoo model has as many classes.
"""

from __future__ import annotations

from typing import Any

from nnzoo.pretrained._adapter import Adapter, register_adapter
from nnzoo.pretrained._copy import copy_arrays, copy_dense_head, copy_layer
from nnzoo.pretrained._images import converter_params


def _refuse(key: str, value: Any, why: str) -> None:
    raise ValueError(f"nnzoo's ViT {why}. Received: {key}={value!r}")


def to_params(config: dict[str, Any]) -> dict[str, Any]:
    """The nnzoo ViT sizes of a KerasHub ``ViTBackbone`` config."""
    for key, why in (
        ("use_class_token", "classifies from a class token"),
        ("use_mha_bias", "has attention biases"),
        ("use_mlp_bias", "has MLP biases"),
        ("use_patch_bias", "has a patch embedding bias"),
    ):
        if not config.get(key, True):
            _refuse(key, config[key], why)
    if config.get("data_format", "channels_last") != "channels_last":
        _refuse("data_format", config["data_format"], "takes channels-last images")
    patch = config["patch_size"]
    patch = (patch, patch) if isinstance(patch, int) else tuple(patch)
    if patch[0] != patch[1]:
        _refuse("patch_size", list(patch), "takes square patches")
    height, width, _channels = config["image_shape"]
    return {
        "patch_size": int(patch[0]),
        "num_layers": int(config["num_layers"]),
        "num_heads": int(config["num_heads"]),
        "hidden_dim": int(config["hidden_dim"]),
        "intermediate_dim": int(config["mlp_dim"]),
        "layer_norm_epsilon": float(config.get("layer_norm_epsilon", 1e-6)),
        "image_size": (int(height), int(width)),
    }


def copy_weights(model: Any, backbone: Any, task: Any = None) -> int:
    """Copy a KerasHub ViT backbone (and its classifier head when it fits) into ``model``."""
    import numpy as np

    embedding = backbone.get_layer("vit_patching_and_embedding")
    count = copy_arrays(
        model.get_layer("class_token"),
        [np.asarray(embedding.class_token)],
        "class token",
    )
    count += copy_layer(
        model.get_layer("patch_embedding"), embedding.patch_embedding, "patch embedding"
    )
    count += copy_layer(
        model.get_layer("position_embedding"),
        embedding.position_embedding,
        "position embedding (its image size)",
    )
    encoder = backbone.get_layer("vit_encoder")
    ours = [layer for layer in model.layers if layer.name.startswith("transformer_layer_")]
    if len(ours) != len(encoder.encoder_layers):
        raise ValueError(
            f"the preset has {len(encoder.encoder_layers)} transformer layers, the model "
            f"{len(ours)}"
        )
    for i, block in enumerate(encoder.encoder_layers):
        layer = model.get_layer(f"transformer_layer_{i}")
        what = f"transformer layer {i}"
        count += copy_layer(layer.self_attention_layer_norm, block.layer_norm_1, what)
        count += copy_layer(layer.self_attention, block.mha, what)
        count += copy_layer(layer.feedforward_layer_norm, block.layer_norm_2, what)
        count += copy_layer(layer.feedforward_intermediate_dense, block.mlp.dense_1, what)
        count += copy_layer(layer.feedforward_output_dense, block.mlp.dense_2, what)
    count += copy_layer(model.get_layer("layer_norm"), encoder.layer_norm, "final layer norm")
    if task is not None:
        if getattr(task, "pooling", "token") != "token" or task.intermediate_dim is not None:
            raise ValueError(
                "nnzoo's ViT classifies the class token with one Dense layer. Received: a "
                f"ViTImageClassifier with pooling={task.pooling!r}, "
                f"intermediate_dim={task.intermediate_dim!r}"
            )
        count += copy_dense_head(model, task)
    return count


ADAPTER = register_adapter(
    Adapter(
        backbone="ViTBackbone",
        family="vit",
        licence="Apache-2.0",
        to_params=to_params,
        copy_weights=copy_weights,
        preprocessing=converter_params,
        hf_model_types=("vit",),
    )
)
