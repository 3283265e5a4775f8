"""Start from trained weights: load every layer whose name and weight shapes match."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from nnzoo.errors import ConfigError

log = logging.getLogger(__name__)


def _source_layers(path: Path) -> dict[str, list[Any]]:
    from nnzoo.run.saving import load_model

    if path.is_dir():
        path = path / "model.keras"
    if not path.exists():
        raise ConfigError(
            f"no trained model at {path}",
            key="model.init_from",
            fix="give a run directory that finished training, or a .keras file",
        )
    if path.suffix == ".keras":
        source = load_model(path, compile=False)
        return {layer.name: layer.get_weights() for layer in source.layers if layer.weights}
    if path.name.endswith(".weights.h5"):
        return _read_weights_h5(path)
    raise ConfigError(
        f"cannot load weights from {path.name}",
        key="model.init_from",
        fix="give a run directory, a .keras file or a .weights.h5 file",
    )


def _read_weights_h5(path: Path) -> dict[str, list[Any]]:
    """Per top-level layer, its weights in order, from a Keras 3 ``.weights.h5`` file."""
    import h5py
    import numpy as np

    out: dict[str, list[Any]] = {}
    with h5py.File(path, "r") as f:
        layers = f.get("layers") or f.get("_layer_checkpoint_dependencies")
        if layers is None:
            raise ConfigError(
                f"{path} is not a Keras 3 weights file",
                key="model.init_from",
                fix="save it with model.save_weights('x.weights.h5')",
            )
        for name in layers:
            arrays: list[Any] = []

            def visit(_: str, obj: Any, arrays: list[Any] = arrays) -> None:
                if isinstance(obj, h5py.Dataset):
                    arrays.append(np.asarray(obj))

            layers[name].visititems(visit)
            out[name] = arrays
    return out


def _h5_keys(model: Any) -> dict[str, str]:
    """Layer name -> the key Keras's weights file uses for it (snake-cased class, counter)."""
    counts: dict[str, int] = {}
    keys = {}
    for layer in model.layers:
        base = re.sub(r"(?<!^)(?=[A-Z])", "_", type(layer).__name__).lower()
        n = counts.get(base, 0)
        counts[base] = n + 1
        keys[layer.name] = base if n == 0 else f"{base}_{n}"
    return keys


def load_matching_weights(model: Any, source: str | Path) -> dict[str, list[str]]:
    """Copy weights from ``source`` into ``model`` layer by layer, by name and shape.

    Returns:
        ``{"loaded": [...], "skipped": [...]}`` layer names (skipped: absent or shape differs).
    """
    path = Path(source)
    layers = _source_layers(path)
    # A Keras 3 .weights.h5 file keys layers by class ("dense", "dense_1", ...) in model order,
    # not by layer name: rebuild those keys for this model.
    keys = _h5_keys(model) if path.name.endswith(".weights.h5") else {}
    loaded, skipped = [], []
    for layer in model.layers:
        if not layer.weights:
            continue
        weights = layers.get(keys.get(layer.name, layer.name))
        current = layer.get_weights()
        if weights is not None and [w.shape for w in weights] == [w.shape for w in current]:
            layer.set_weights(weights)
            loaded.append(layer.name)
        else:
            skipped.append(layer.name)
    if not loaded:
        raise ConfigError(
            f"no layer of the model matches a layer in {source}",
            key="model.init_from",
            fix="start from a run of the same architecture (layer names must match)",
        )
    log.info("init_from %s: loaded %d layers, kept %d fresh", source, len(loaded), len(skipped))
    return {"loaded": loaded, "skipped": skipped}
