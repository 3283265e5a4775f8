"""How one KerasHub backbone class maps onto one nnzoo model family (no Keras at import)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["ADAPTERS", "Adapter", "register_adapter"]


@dataclass(frozen=True)
class Adapter:
    """A KerasHub backbone class and the nnzoo family that reproduces it.

    Attributes:
        backbone: KerasHub's backbone class name, e.g. ``"BertBackbone"``.
        family: the nnzoo family (module of ``nnzoo.models``), e.g. ``"bert"``.
        licence: the licence of the family's published presets, e.g. ``"Apache-2.0"``.
        to_params: ``(backbone.get_config()) -> dict``: the nnzoo builder's architecture
            hyperparameters (sizes, epsilon, ...) from the KerasHub backbone's config.
        copy_weights: ``(nnzoo_model, keras_hub_backbone, keras_hub_task_or_None) -> int``:
            copy every backbone weight into the nnzoo model (shape-checked), return how many
            tensors were copied. ``task`` is the preset's KerasHub task model when the preset
            has one (``task.json``, e.g. an ``ImageClassifier`` with its ImageNet head): its
            head is copied too when the nnzoo head has the same shape (same ``num_classes``);
            otherwise the nnzoo head is left as initialised (fine-tuning a new head).
        preprocessing: ``(image_converter or None) -> dict``: builder parameters that put the
            preset's image resizing and normalisation inside the nnzoo model. ``None`` for
            text families.
        hf_model_types: the ``model_type`` values of Hugging Face ``config.json`` files whose
            checkpoints KerasHub converts to this backbone (``hf://`` handles).
        timm_architectures: prefixes of timm ``architecture`` names KerasHub converts to it.
    """

    backbone: str
    family: str
    licence: str
    to_params: Callable[[dict[str, Any]], dict[str, Any]]
    copy_weights: Callable[[Any, Any, Any], int]
    preprocessing: Callable[[Any], dict[str, Any]] | None = None
    hf_model_types: tuple[str, ...] = ()
    timm_architectures: tuple[str, ...] = ()


#: Every adapter by KerasHub backbone class name.
ADAPTERS: dict[str, Adapter] = {}


def register_adapter(adapter: Adapter) -> Adapter:
    if adapter.backbone in ADAPTERS:
        raise ValueError(f"Adapter for {adapter.backbone!r} is registered twice.")
    ADAPTERS[adapter.backbone] = adapter
    return adapter
