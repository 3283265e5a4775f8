"""Load ``.keras`` files written by nnzoo in any process (runs, ``init_from``).

Custom layers, losses and schedules are registered for Keras serialisation when their modules
are imported; a fresh process that only loads a run must import them first.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from nnzoo.errors import RunDirError

#: Modules that register nnzoo's serialisable objects.
CUSTOM_OBJECT_MODULES = (
    "nnzoo.layers",
    "nnzoo.layers.vgg_preprocess",
    "nnzoo.training.losses",
    "nnzoo.training.optimizers",
)


def register_custom_objects() -> None:
    """Register nnzoo's layers, losses and schedules for Keras deserialisation (imports Keras)."""
    for module in CUSTOM_OBJECT_MODULES:
        importlib.import_module(module)


def load_model(path: str | Path, **kwargs: Any) -> Any:
    """Load a ``.keras`` model written by nnzoo, in any process, on any backend.

    ``keras.saving.load_model`` with nnzoo's custom objects registered; ``kwargs`` go to it
    (e.g. ``compile=False``). A missing or torn file is a :class:`RunDirError` (one line).

    >>> model = nnzoo.load_model("runs/quickstart/<run-id>/model.keras")  # doctest: +SKIP
    """
    import zipfile

    import keras

    path = Path(path)
    if not path.is_file():
        raise RunDirError(f"{path}: no such file. Fix: give the model.keras of a finished run")
    register_custom_objects()
    torn = RunDirError(
        f"{path}: not a readable .keras file (torn or not a zip archive). Fix: copy it again "
        "from where it was trained, or retrain"
    )
    if path.suffix == ".keras" and not zipfile.is_zipfile(path):
        raise torn
    try:
        return keras.saving.load_model(path, **kwargs)
    except (zipfile.BadZipFile, EOFError):
        raise torn from None
