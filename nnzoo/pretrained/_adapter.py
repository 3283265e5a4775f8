"""How one KerasHub backbone class maps onto one nnzoo model family, and the adapters nnzoo
has: registered by the family modules of this package, loaded by :func:`adapters` (no Keras at
import)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ADAPTERS",
    "ADAPTER_MODULES",
    "Adapter",
    "adapter_for_family",
    "adapters",
    "licence_of",
    "register_adapter",
]

#: Modules that register the family adapters.
ADAPTER_MODULES = (
    "nnzoo.pretrained.bert",
    "nnzoo.pretrained.gpt2",
    "nnzoo.pretrained.vit",
    "nnzoo.pretrained.resnet",
    "nnzoo.pretrained.vgg",
)


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


def _load_adapters() -> None:
    for module in ADAPTER_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:  # a family without presets yet
            if err.name != module:
                raise


def adapters() -> dict[str, Adapter]:
    """Every adapter by KerasHub backbone class name."""
    _load_adapters()
    return ADAPTERS


def adapter_for_family(family: str) -> Adapter | None:
    """The adapter of the nnzoo family ``family``, or ``None`` (no presets)."""
    return next((a for a in adapters().values() if a.family == family), None)


def licence_of(family: str) -> str | None:
    """The licence of ``family``'s published presets, or ``None``."""
    adapter = adapter_for_family(family)
    return adapter.licence if adapter else None
