"""nnzoo: a catalog of neural-network architectures in Keras 3.

The public API is lazy: ``import nnzoo`` imports neither Keras nor TensorFlow.

>>> import nnzoo
>>> nnzoo.list_models("vit_*")                       # doctest: +SKIP
>>> model = nnzoo.build_model("mlp", num_classes=3)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what editors and type checkers see; at run time the API loads lazily
    from nnzoo.data import list_sources, load_data
    from nnzoo.inference.evaluate import evaluate
    from nnzoo.inference.generate import generate
    from nnzoo.inference.load import load_run
    from nnzoo.inference.predict import predict
    from nnzoo.registry import build_model, get_card, list_models
    from nnzoo.run.bind import load_config
    from nnzoo.run.saving import load_model
    from nnzoo.training import resume, train
    from nnzoo.tuning import tune

__version__ = "0.1.0"

_API = {
    "build_model": "nnzoo.registry",
    "list_models": "nnzoo.registry",
    "get_card": "nnzoo.registry",
    "load_config": "nnzoo.run.bind",
    "train": "nnzoo.training",
    "resume": "nnzoo.training",
    "evaluate": "nnzoo.inference.evaluate",
    "predict": "nnzoo.inference.predict",
    "generate": "nnzoo.inference.generate",
    "load_run": "nnzoo.inference.load",
    "load_model": "nnzoo.run.saving",
    "tune": "nnzoo.tuning",
    "load_data": "nnzoo.data",
    "list_sources": "nnzoo.data",
}

__all__ = [
    "build_model",
    "evaluate",
    "generate",
    "get_card",
    "list_models",
    "list_sources",
    "load_config",
    "load_data",
    "load_model",
    "load_run",
    "predict",
    "resume",
    "train",
    "tune",
]


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nnzoo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_API))


if "keras" in sys.modules:
    # Keras is already loaded (``import keras, nnzoo``): register nnzoo's layers now, so that
    # ``keras.saving.load_model`` reads nnzoo models too. Otherwise ``nnzoo.load_model`` (or any
    # builder) registers them, and ``import nnzoo`` stays free of Keras.
    from nnzoo.run.saving import register_custom_objects

    register_custom_objects()
