"""Copying KerasHub weights into nnzoo layers, shape by shape (no Keras at import)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: nnzoo ``TransformerLayer`` sublayer -> the same sublayer in KerasHub's
#: ``TransformerEncoder`` / ``TransformerDecoder`` (BERT, GPT-2).
TRANSFORMER_SUBLAYERS = (
    ("self_attention", "_self_attention_layer"),
    ("self_attention_layer_norm", "_self_attention_layer_norm"),
    ("feedforward_intermediate_dense", "_feedforward_intermediate_dense"),
    ("feedforward_output_dense", "_feedforward_output_dense"),
    ("feedforward_layer_norm", "_feedforward_layer_norm"),
)


def shapes(arrays: Sequence[Any]) -> list[tuple[int, ...]]:
    return [tuple(int(d) for d in a.shape) for a in arrays]


def copy_arrays(target: Any, arrays: Sequence[Any], what: str) -> int:
    """Set ``target``'s weights to ``arrays`` (NumPy), in order; return how many.

    Raises:
        ValueError: the shapes differ (named by ``what``).
    """
    ours = shapes(target.weights)
    theirs = shapes(arrays)
    if ours != theirs:
        raise ValueError(f"{what}: KerasHub weights {theirs} do not fit nnzoo's {ours}")
    for variable, value in zip(target.weights, arrays, strict=True):
        variable.assign(np.asarray(value).astype(variable.dtype))  # a bf16 preset, too
    return len(ours)


def copy_layer(target: Any, source: Any, what: str) -> int:
    """Copy every weight of KerasHub layer ``source`` into nnzoo layer ``target``."""
    return copy_arrays(target, [w.numpy() for w in source.weights], what)


def copy_transformer_layer(ours: Any, theirs: Any, what: str) -> int:
    """One nnzoo ``TransformerLayer`` from one KerasHub encoder / decoder layer."""
    return sum(
        copy_layer(getattr(ours, a), getattr(theirs, b), f"{what}.{a}")
        for a, b in TRANSFORMER_SUBLAYERS
    )


def transformer_layers(model: Any) -> list[Any]:
    return [layer for layer in model.layers if layer.name.startswith("transformer_layer_")]


def has_layer(model: Any, name: str) -> bool:
    return any(layer.name == name for layer in model.layers)


def copy_encoder(model: Any, backbone: Any, names: tuple[str, ...]) -> int:
    """Copy the embeddings ``names`` and every transformer layer; check the layer count."""
    ours = transformer_layers(model)
    if len(ours) != backbone.num_layers:
        raise ValueError(
            f"the preset has {backbone.num_layers} transformer layers, the model {len(ours)}"
        )
    count = sum(copy_layer(model.get_layer(n), backbone.get_layer(n), n) for n in names)
    for i in range(backbone.num_layers):
        name = f"transformer_layer_{i}"
        count += copy_transformer_layer(model.get_layer(name), backbone.get_layer(name), name)
    return count


def check_config(config: dict[str, Any], known: Sequence[str], backbone: str) -> None:
    """Raise ``ValueError`` for a backbone config key nnzoo does not reproduce."""
    base = {"name", "trainable", "dtype"}
    unknown = sorted(set(config) - set(known) - base)
    if unknown:
        raise ValueError(
            f"{backbone} has {', '.join(f'{k}={config[k]!r}' for k in unknown)}, which nnzoo "
            "does not reproduce"
        )


def transformer_params(
    config: dict[str, Any], architecture: Sequence[str], backbone: str
) -> dict[str, Any]:
    """The builder parameters ``architecture`` of a transformer backbone's ``config``.

    Raises:
        ValueError: a key nnzoo does not reproduce, a missing one, or heads that do not divide
            the hidden size.
    """
    check_config(config, architecture, backbone)
    missing = [k for k in architecture if k not in config]
    if missing:
        raise ValueError(f"{backbone} config lacks {', '.join(missing)}")
    params = {k: config[k] for k in architecture}
    if params["hidden_dim"] % params["num_heads"]:
        raise ValueError(
            f"{backbone}'s hidden_dim is not a multiple of num_heads. Received: "
            f"hidden_dim={params['hidden_dim']}, num_heads={params['num_heads']}"
        )
    return params


def copy_dense_head(model: Any, task: Any) -> int:
    """Copy an image classifier's ``output_dense`` into ``model``'s ``logits`` when their shapes
    match (the preset's classes); else leave the new head as initialised. Returns the count."""
    logits = model.get_layer("logits")
    if shapes(logits.weights) == shapes(task.output_dense.weights):
        return copy_layer(logits, task.output_dense, "classifier head")
    return 0
