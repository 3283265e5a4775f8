"""A saved run, or a folder ``nnzoo export`` wrote, loaded to be used.

A run directory is self-contained (config, data spec, class names, tokenizer, ``model.keras``),
so this works on a copy of it on another machine. An export folder (an artifact,
``data_spec.json`` with an ``export`` entry, the tokenizer) is read the same way, and its
artifact is run by its own runtime (:mod:`nnzoo.inference._runner`) in place of ``model.keras``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnzoo.config import Config
from nnzoo.data import DataSpec
from nnzoo.errors import RunDirError
from nnzoo.run.directory import (
    CONFIG_FILE,
    MODEL_FILE,
    SPEC_FILE,
    check_run_dir,
    load_run_config,
    read_json,
    why_no_model,
)

__all__ = [
    "EXPORT_KEY",
    "ExportedModel",
    "LoadedExport",
    "LoadedRun",
    "is_export_folder",
    "load_export",
    "load_run",
    "self_contained",
]


@dataclass
class LoadedRun:
    """A finished run: its resolved config, its best model and what its data looked like."""

    run_dir: Path
    config: Config
    model: Any
    spec: DataSpec


def load_run(run_dir: str | Path) -> LoadedRun:
    """Load a finished run: its config, its best model and its data spec."""
    from nnzoo.run.saving import load_model

    run_dir = Path(run_dir)
    if not (run_dir / MODEL_FILE).exists():
        raise RunDirError(
            why_no_model(run_dir)
            if (run_dir / CONFIG_FILE).exists()
            else f"{run_dir}: not a run directory. Fix: give a directory under runs/<name>/"
        )
    check_run_dir(run_dir)
    config = load_run_config(run_dir)
    try:
        spec = DataSpec.from_dict(read_json(run_dir, SPEC_FILE))
    except (TypeError, KeyError, AttributeError):
        raise RunDirError(
            f"{run_dir / SPEC_FILE}: does not describe the run's data. Fix: copy the whole run "
            "directory again"
        ) from None
    # model.keras is an inference artifact: no optimizer, no compile settings (older runs
    # saved both; they are not needed either). evaluate compiles it from the run's config.
    model = load_model(run_dir / MODEL_FILE, compile=False)
    _check_class_names(run_dir, model, spec)
    return LoadedRun(run_dir, config, model, spec)


def _check_class_names(run_dir: Path, model: Any, spec: DataSpec) -> None:
    """A model of N outputs needs N class names (one sigmoid output: 2): fewer would name a
    prediction by an index out of range, more would name it wrongly."""
    if spec.task != "classification" or not spec.class_names:
        return
    try:
        outputs = int(model.output_shape[-1])
    except (AttributeError, TypeError, ValueError, IndexError, KeyError):
        return  # several outputs, or an unknown width: nothing to compare
    needed = 2 if outputs == 1 else outputs  # one sigmoid output: two classes
    if len(spec.class_names) != needed:
        raise RunDirError(
            f"{run_dir / SPEC_FILE}: names {len(spec.class_names)} classes but the model "
            f"predicts {needed} (its output has width {outputs}). Fix: copy the whole run "
            "directory again (data_spec.json and model.keras must come from the same run)"
        )


#: The entry of an export folder's ``data_spec.json`` that describes its artifact.
EXPORT_KEY = "export"


def is_export_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder ``nnzoo export`` wrote: ``data_spec.json`` with an
    ``export`` entry, and no ``model.keras`` (a run directory has one)."""
    path = Path(path)
    spec_file = path / SPEC_FILE
    if not spec_file.is_file() or (path / MODEL_FILE).exists():
        return False
    try:
        data = json.loads(spec_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and EXPORT_KEY in data


class ExportedModel:
    """The artifact of an export folder as ``predict`` uses a model: ``predict_on_batch``
    runs it with its own runtime (:func:`nnzoo.inference._runner.run`), not Keras.

    Args:
        folder: the export folder.
        inputs: the artifact's inputs as ``data_spec.json`` lists them (``name``, ``dtype``).
    """

    def __init__(self, folder: Path, inputs: list[dict[str, Any]]) -> None:
        self.folder = folder
        self.inputs = [(str(i["name"]), str(i.get("dtype", "float32"))) for i in inputs]

    def predict_on_batch(self, x: Any) -> np.ndarray:
        from nnzoo.inference import _runner as _export_runner

        if not isinstance(x, dict):  # one input (features, images): the batch is that input
            x = {self.inputs[0][0]: x}
        feed = {name: np.asarray(x[name], dtype=dtype) for name, dtype in self.inputs}
        return np.asarray(_export_runner.run(self.folder, feed))


@dataclass
class LoadedExport:
    """An export folder: its data spec (the run's) and its artifact, run by its runtime."""

    run_dir: Path
    model: ExportedModel
    spec: DataSpec
    export: dict[str, Any]


def load_export(folder: str | Path) -> LoadedExport:
    """Load the folder ``nnzoo export`` wrote, to predict with its artifact."""
    folder = Path(folder)
    data = read_json(folder, SPEC_FILE)
    info = data.pop(EXPORT_KEY, None)
    artifact = folder / str((info or {}).get("artifact", ""))
    if not isinstance(info, dict) or not info.get("inputs") or not artifact.exists():
        raise RunDirError(
            f"{folder}: not a complete export folder (data_spec.json names no artifact, or "
            f"{artifact.name or 'it'} is missing). Fix: export the run again: nnzoo export RUN_DIR"
        )
    try:
        spec = DataSpec.from_dict(data)
    except (TypeError, KeyError, AttributeError):
        raise RunDirError(
            f"{folder / SPEC_FILE}: does not describe the run's data. Fix: export the run again"
        ) from None
    return LoadedExport(folder, ExportedModel(folder, info["inputs"]), spec, info)


def self_contained(run_dir: Path, config: Config, spec: Any) -> Config:
    """The run's config reading its data with the run's own tokenizer, and without what the
    model started from (a KerasHub preset, another run): the trained model is in the run, so
    neither is needed again (a copied run evaluates offline, with empty caches)."""
    from nnzoo.data import get_source

    if not config.model.init_from:
        return config
    config = config.model_copy(deep=True)
    accepted = get_source(config.data.source).parameters
    tokenizer = run_dir / "tokenizer.json"
    if tokenizer.is_file() and "tokenizer" in accepted:
        config.data.params = {**config.data.params, "tokenizer": str(tokenizer)}
        config.data.params.pop("vocabulary_size", None)
        if "sequence_length" in accepted and getattr(spec, "sequence_length", None):
            config.data.params["sequence_length"] = int(spec.sequence_length)
    config.model.init_from = None
    return config
