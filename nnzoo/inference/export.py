"""Export a trained run to SavedModel, ONNX or LiteRT, verified against the original.

:func:`export_run` writes the artifact with Keras's ``model.export`` (batch size free; text
models keep a free sequence length and take ``token_ids`` / ``padding_mask`` / ``segment_ids``
by name; image models take ``images`` in [0, 1]; tabular models take raw features), then, by
default, runs it in a separate process that imports neither nnzoo nor Keras
(``nnzoo/inference/_runner.py``) with the artifact's own runtime, at batch sizes and sequence
lengths the run never trained on, and compares the outputs with ``model.keras``'s.

The export folder (``RUN_DIR/export/<format>/`` unless ``output`` is given)::

    model.onnx | model.tflite | saved_model/   the artifact
    data_spec.json       the run's, plus ``export``: format, artifact, inputs, output, classes
    tokenizer.json       text runs: the run's tokenizer (and ``assets/`` where it has them)
    model.md             what the model is, how it was trained and how the export compared
    export_report.json   the comparison: max_abs_diff, top-1 agreement, sizes, latencies

It is written in a temporary folder beside the target, flushed to the disk and renamed into
place (:func:`nnzoo._atomic.atomic_dir`), so a folder that exists is always complete, even
after a power cut.
"""

from __future__ import annotations

import json
import shutil
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from nnzoo._atomic import atomic_dir
from nnzoo.cards import export_refusal
from nnzoo.errors import ConfigError, NnzooError
from nnzoo.inference.model_card import model_card
from nnzoo.inference.verify import TOLERANCE, tolerance, verify_artifact

__all__ = ["ARTIFACTS", "FORMATS", "TOLERANCE", "ExportError", "export_run"]

#: The formats, as ``nnzoo export --format`` names them, and Keras's name for each.
FORMATS = {"saved_model": "tf_saved_model", "onnx": "onnx", "litert": "litert"}
#: The artifact's name inside the export folder.
ARTIFACTS = {"saved_model": "saved_model", "onnx": "model.onnx", "litert": "model.tflite"}
#: Distributions whose versions the report and model.md record.
_VERSIONED = (
    "nnzoo",
    "keras",
    "tensorflow",
    "numpy",
    "keras-hub",
    "onnx",
    "tf2onnx",
    "onnxruntime",
    "ai-edge-litert",
)


class ExportError(NnzooError):
    """The export could not be written (a converter failed): exit code 1."""

    exit_code = 1


def export_run(
    run_dir: str | Path,
    format: str,
    *,
    output: str | Path | None = None,
    verify: bool = True,
    force: bool = False,
) -> dict[str, Any]:
    """Export a run's ``model.keras`` and, by default, verify the artifact in its runtime.

    Args:
        run_dir: a finished run directory.
        format: ``"saved_model"`` (Keras: ``"tf_saved_model"``), ``"onnx"`` or ``"litert"``.
        output: the export folder. Defaults to ``RUN_DIR/export/<format>``.
        verify: run the artifact in a separate process without nnzoo or Keras and compare its
            outputs with the Keras model's. Defaults to `True`.
        force: replace an existing export folder. Defaults to `False`.

    Returns:
        The export report (also written to ``export_report.json``), with ``folder`` added.
        ``report["passed"]`` is ``False`` when the outputs differ by more than
        :data:`TOLERANCE`; the artifact is kept all the same.

    Raises:
        ConfigError: an unknown format, one the model's card cannot take, or an existing
            folder without ``force`` (all before any work).
        RunDirError: ``run_dir`` is not a finished run.
        ExportError: the converter failed.
    """
    from nnzoo.inference.load import load_run
    from nnzoo.run.directory import CONFIG_FILE, load_run_config

    run_dir = Path(run_dir)
    fmt = "saved_model" if format == "tf_saved_model" else format
    if fmt not in FORMATS:
        raise ConfigError(
            f"unknown export format {format!r}", key="--format", fix=f"one of {', '.join(FORMATS)}"
        )
    target = Path(output) if output is not None else run_dir / "export" / fmt
    if (run_dir / CONFIG_FILE).exists():
        _refuse_format(load_run_config(run_dir).model.name, fmt)
    if target.resolve() == run_dir.resolve() or target.resolve() in run_dir.resolve().parents:
        raise ConfigError(
            f"{target} holds the run directory {run_dir}",
            key="--output",
            fix="export to a new folder (default: RUN_DIR/export/<format>)",
        )
    if target.exists() and not force:
        raise ConfigError(
            f"{target} exists",
            key="--output",
            fix="export elsewhere with --output PATH, or replace it with --force",
        )

    check_packages(fmt, verify=verify)
    run = load_run(run_dir)
    with atomic_dir(target) as work:
        report = _export_into(run, fmt, work, verify=verify)
    report["folder"] = str(target)
    return report


#: What the artifact of a table run with categories or missing cells takes (the export report
#: and model.md say it): ``nnzoo predict`` on the export folder reads raw rows into it.
TABLE_INPUTS = (
    "one float32 row per example, in the order of data_spec.json's table.features: a number "
    "as it is (NaN where missing: imputed inside the model), a category as its index in that "
    "feature's vocabulary (NaN where missing, -1 for a value not in it); `nnzoo predict` on "
    "this folder takes raw CSV or Parquet rows (names, text and blanks) and encodes them so"
)


#: The modules each format needs to be written and, with verification, loaded back.
_NEEDED = {
    "saved_model": (("tensorflow",), ()),
    "onnx": (("tensorflow", "onnx", "tf2onnx"), ("onnxruntime",)),
    "litert": (("tensorflow",), ("ai_edge_litert",)),
}


def check_packages(fmt: str, *, verify: bool = True) -> None:
    """Refuse, in one line naming the missing packages and the extra that installs them, an
    export whose converter (or, with ``verify``, runtime) is not installed (exit 1)."""
    import importlib.util

    write, check = _NEEDED[fmt]
    missing = [
        name
        for name in (*write, *(check if verify else ()))
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        names = ", ".join(name.replace("_", "-") for name in missing)
        raise ExportError(
            f"exporting to {fmt} needs {names}, which {'is' if len(missing) == 1 else 'are'} "
            "not installed. Fix: pip install 'nnzoo[export]'"
        )


def _refuse_format(model_name: str, fmt: str) -> None:
    """A format the model's card cannot take, refused in one line before any work."""
    from nnzoo.registry import get_card

    why = export_refusal(get_card(model_name), fmt)
    if why:
        raise ConfigError(why)


# ----------------------------------------------------------------------------- writing


def _export_into(run: Any, fmt: str, folder: Path, *, verify: bool) -> dict[str, Any]:
    model = run.model
    artifact = folder / ARTIFACTS[fmt]
    _write_artifact(model, fmt, artifact)
    inputs = [
        {"name": t.name, "dtype": str(t.dtype), "shape": [None, *t.shape[1:]]}
        for t in model.inputs
    ]
    spec = json.loads((run.run_dir / "data_spec.json").read_text(encoding="utf-8"))
    spec["export"] = {
        "format": fmt,
        "artifact": ARTIFACTS[fmt],
        "inputs": inputs,
        "output": {"shape": [None, *model.outputs[0].shape[1:]]},
        "class_names": run.spec.class_names,
    }
    _write_json(folder / "data_spec.json", spec)
    for extra in ("tokenizer.json", "assets"):
        source = run.run_dir / extra
        if source.is_dir():
            shutil.copytree(source, folder / extra)
        elif source.is_file():
            shutil.copy2(source, folder / extra)

    report: dict[str, Any] = {
        "format": fmt,
        "artifact": ARTIFACTS[fmt],
        "size_bytes": _size(artifact),
        "tolerance": tolerance(run.spec),
        "verified": verify,
    }
    if (run.spec.table or {}).get("model_columns"):
        report["inputs"] = TABLE_INPUTS
    if verify:
        report.update(verify_artifact(run, folder))
    report["versions"] = _versions(fmt)
    _write_json(folder / "export_report.json", report)
    (folder / "model.md").write_text(model_card(run, spec["export"], report), encoding="utf-8")
    return report


def _freeze_normalization(model: Any) -> None:
    """Make an adapted ``Normalization`` layer's mean and variance constants of the graph.

    Keras keeps them as eager tensors that a traced function captures; tf2onnx turns captured
    tensors into extra graph *inputs* with no value (the ONNX file then needs
    ``mlp_1/feature_normalization_1/Sub/y:0`` fed by the caller). As NumPy arrays they are
    embedded as constants in every format. Only the loaded copy of the model changes.
    """
    import keras

    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.Normalization) and layer.mean is not None:
            layer.mean = np.asarray(layer.mean)
            layer.variance = np.asarray(layer.variance)


def _write_artifact(model: Any, fmt: str, artifact: Path) -> None:
    import tensorflow as tf

    _freeze_normalization(model)
    # Inputs by name, batch free (text: sequence length free too), as the model declares them.
    specs = [tf.TensorSpec(t.shape, t.dtype, name=t.name) for t in model.inputs]
    signature = [{s.name: s for s in specs}] if len(specs) > 1 else specs
    options: dict[str, Any] = {}
    if fmt == "litert":
        # Builtin operators only: the LiteRT interpreter has no Flex delegate (TensorFlow ops),
        # so a model that would need one fails here rather than on the user's phone.
        options["target_spec"] = {"supported_ops": {tf.lite.OpsSet.TFLITE_BUILTINS}}
    try:
        with warnings.catch_warnings():
            # tf2onnx calls NumPy APIs NumPy deprecates: a FutureWarning that is not the
            # user's to act on.
            warnings.filterwarnings("ignore", category=FutureWarning)
            model.export(
                str(artifact),
                format=FORMATS[fmt],
                verbose=False,
                input_signature=signature,
                **options,
            )
    except Exception as err:  # the converters raise anything; say which and keep the cause
        text = " ".join(str(err).split())[:300]
        raise ExportError(
            f"{model.name}: conversion to {fmt} failed: {type(err).__name__}: {text}. Fix: "
            "try another --format (rerun with --debug for the converter's traceback)"
        ) from err


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _versions(fmt: str) -> dict[str, str]:
    needed = {"saved_model": (), "onnx": ("onnx", "tf2onnx", "onnxruntime")}.get(
        fmt, ("ai-edge-litert",)
    )
    out = {}
    for name in _VERSIONED:
        if name in ("onnx", "tf2onnx", "onnxruntime", "ai-edge-litert") and name not in needed:
            continue
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


# ----------------------------------------------------------------------------- verifying
