"""Load ``.keras`` files written by nnzoo in any process (runs, ``init_from``).

Custom layers, losses and schedules are registered for Keras serialisation when their modules
are imported; a fresh process that only loads a run must import them first.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

#: Modules that register nnzoo's serialisable objects.
CUSTOM_OBJECT_MODULES = (
    "nnzoo.layers",
    "nnzoo.layers.vgg_preprocess",
    "nnzoo.training.losses",
    "nnzoo.training.optimizers",
)


def register_custom_objects() -> None:
    for module in CUSTOM_OBJECT_MODULES:
        importlib.import_module(module)


def load_model(path: str | Path, **kwargs: Any) -> Any:
    """``keras.saving.load_model`` with nnzoo's custom objects registered."""
    import keras

    register_custom_objects()
    return keras.saving.load_model(path, **kwargs)
