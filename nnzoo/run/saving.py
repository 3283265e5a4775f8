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
    "nnzoo.run.losses",
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


# --------------------------------------------------------------------------- lean files


def weights_view(model: Any) -> Any:
    """An uncompiled model over ``model``'s own layers (the same variables, nothing copied).

    Keras saves a compiled model's optimizer state with it, in ``model.save`` and in
    ``model.save_weights`` alike, which triples the size of an Adam-trained model. Saving
    (and loading) through this view keeps the layers' weights only: the inference artifact
    ``model.keras`` and the best weights. nnzoo's models are functional, so the view is a
    functional model of the same inputs and outputs, named as the model.
    """
    import keras

    try:
        inputs, outputs = model.input, model.output  # a dict of inputs stays a dict
    except AttributeError:  # a Sequential model keeps its graph inside
        inputs, outputs = model.inputs, model.outputs
    return keras.Model(inputs, outputs, name=model.name)


def save_inference_model(model: Any, path: str | Path) -> None:
    """Save ``model`` as a ``.keras`` file without optimizer state or compile settings
    (``nnzoo.load_model`` returns it uncompiled: predict with it, or compile it to fit)."""
    weights_view(model).save(path)


def save_weights(model: Any, path: str | Path) -> None:
    """Save ``model``'s layer weights (no optimizer state) to a ``.weights.h5`` file.

    The HDF5 file is built in memory and then written with Python's own I/O: HDF5 writing to
    a full disk (or past ``ulimit -f``) leaves its file in a state that crashes the process
    when it exits (a segmentation fault); a Python write fails with a plain ``OSError``.
    """
    data = weights_bytes(model)
    if data is None:  # this Keras builds no HDF5 file in memory: its own writer
        weights_view(model).save_weights(path)
        return
    with open(path, "wb") as f:
        f.write(data)


def weights_bytes(model: Any) -> bytes | None:
    """The ``.weights.h5`` file of ``model``'s layer weights, built in memory (what
    ``save_weights`` writes), or ``None`` where this Keras cannot build it in memory.

    Uses Keras's private ``saving_lib`` (its ``H5IOStore`` writes to a ``BytesIO``): the
    public ``save_weights`` takes a file name only. The adapter is these few lines.
    """
    import io

    try:
        from keras.src.saving import saving_lib

        store_type, save_state = saving_lib.H5IOStore, saving_lib._save_state
    except (ImportError, AttributeError):
        return None
    buffer = io.BytesIO()
    store = store_type(buffer, mode="w")
    save_state(
        weights_view(model),
        weights_store=store,
        assets_store=None,
        inner_path="",
        visited_saveables=set(),
    )
    store.close()
    return buffer.getvalue()


def state_bytes(model: Any, *, optimizer: bool) -> int:
    """About how many bytes saving ``model`` takes: its weights' (and with ``optimizer``, its
    optimizer's variables'), before the file's own overhead."""
    import numpy as np

    variables = list(model.weights)
    if optimizer and getattr(model, "optimizer", None) is not None:
        variables += list(getattr(model.optimizer, "variables", []))
    return int(sum(int(np.prod(v.shape)) * np.dtype(str(v.dtype)).itemsize for v in variables))


def load_weights(model: Any, path: str | Path) -> None:
    """Load a ``.weights.h5`` file into ``model``'s layers (the optimizer is left as it is).

    Reads files written by :func:`save_weights` and the older ones that carried optimizer
    state (which is then ignored)."""
    weights_view(model).load_weights(path)
