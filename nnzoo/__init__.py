"""nnzoo: a catalog of neural-network architectures in Keras 3.

The public API is lazy: ``import nnzoo`` imports neither Keras nor TensorFlow.

>>> import nnzoo
>>> nnzoo.list_models("vit_*")                       # doctest: +SKIP
>>> model = nnzoo.build_model("mlp", num_classes=3)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = {
    "build_model": "nnzoo.registry",
    "list_models": "nnzoo.registry",
    "get_card": "nnzoo.registry",
    "load_config": "nnzoo.config",
    "train": "nnzoo.training.trainer",
    "evaluate": "nnzoo.training.trainer",
    "predict": "nnzoo.training.trainer",
    "load_run": "nnzoo.training.trainer",
    "tune": "nnzoo.tuning",
    "generate": "nnzoo.generation",
    "load_data": "nnzoo.data",
    "list_sources": "nnzoo.data",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nnzoo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_API))
