"""KerasHub's ``GPT2Backbone`` presets as nnzoo ``gpt`` models.

GPT-2 has no weights outside its backbone: ``GPT2CausalLM``'s head is the token embedding,
transposed, as in nnzoo's ``gpt``. :func:`to_params` reads the preset's sizes and
:func:`copy_weights` copies every tensor layer by layer (the same layer names as KerasHub's:
``token_embedding``, ``position_embedding``, ``transformer_layer_0``, ..., ``layer_norm``).
"""

from __future__ import annotations

from typing import Any

from nnzoo.pretrained._adapter import Adapter, register_adapter
from nnzoo.pretrained._copy import copy_encoder, copy_layer, transformer_params

__all__ = ["ARCHITECTURE", "copy_weights", "to_params"]

#: The ``GPT2Backbone`` config keys, each an nnzoo ``gpt`` builder parameter of the same name.
ARCHITECTURE = (
    "vocabulary_size",
    "num_layers",
    "num_heads",
    "hidden_dim",
    "intermediate_dim",
    "dropout",
    "max_sequence_length",
)


def to_params(config: dict[str, Any]) -> dict[str, Any]:
    """The nnzoo ``gpt`` builder parameters of a ``GPT2Backbone`` config.

    Raises:
        ValueError: the config has a key nnzoo does not reproduce, or heads that do not divide
            the hidden size.
    """
    return transformer_params(config, ARCHITECTURE, "GPT2Backbone")


def copy_weights(model: Any, backbone: Any, task: Any = None) -> int:
    """Copy a ``GPT2Backbone`` into an nnzoo ``gpt`` model with its sizes.

    ``task`` (a ``GPT2CausalLM``) has no weights of its own: its head is the tied embedding.

    Returns:
        How many tensors were copied.

    Raises:
        ValueError: a layer's weights do not have nnzoo's shapes.
    """
    count = copy_encoder(model, backbone, ("token_embedding", "position_embedding"))
    return count + copy_layer(model.get_layer("layer_norm"), backbone.layer_norm, "layer_norm")


ADAPTER = register_adapter(
    Adapter(
        backbone="GPT2Backbone",
        family="gpt",
        licence="MIT",
        to_params=to_params,
        copy_weights=copy_weights,
        hf_model_types=("gpt2",),
    )
)
