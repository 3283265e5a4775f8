"""Export a trained run to SavedModel, ONNX or LiteRT, verified against the original.

:func:`export_run` writes the artifact with Keras's ``model.export`` (batch size free; text
models keep a free sequence length and take ``token_ids`` / ``padding_mask`` / ``segment_ids``
by name; image models take ``images`` in [0, 1]; tabular models take raw features), then, by
default, runs it in a separate process that imports neither nnzoo nor Keras
(``nnzoo/_export_runner.py``) with the artifact's own runtime, at batch sizes and sequence
lengths the run never trained on, and compares the outputs with ``model.keras``'s.

The export folder (``RUN_DIR/export/<format>/`` unless ``output`` is given)::

    model.onnx | model.tflite | saved_model/   the artifact
    data_spec.json       the run's, plus ``export``: format, artifact, inputs, output, classes
    tokenizer.json       text runs: the run's tokenizer (and ``assets/`` where it has them)
    model.md             what the model is, how it was trained and how the export compared
    export_report.json   the comparison: max_abs_diff, top-1 agreement, sizes, latencies

It is written in a temporary folder beside the target and renamed into place, so a folder
that exists is always complete.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from nnzoo.errors import ConfigError, NnzooError

__all__ = ["ARTIFACTS", "FORMATS", "TOLERANCE", "ExportError", "export_run"]

log = logging.getLogger(__name__)

#: The formats, as ``nnzoo export --format`` names them, and Keras's name for each.
FORMATS = {"saved_model": "tf_saved_model", "onnx": "onnx", "litert": "litert"}
#: The artifact's name inside the export folder.
ARTIFACTS = {"saved_model": "saved_model", "onnx": "model.onnx", "litert": "model.tflite"}
#: Largest absolute difference allowed between the artifact's and the Keras model's outputs.
TOLERANCE = 1e-4
#: Most test examples the verification runs.
MAX_EXAMPLES = 64
#: Batch sizes the verification uses, in turn (the run's own batch size is left out).
BATCH_SIZES = (3, 7, 5, 11)
RUNNER = Path(__file__).with_name("_export_runner.py")
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
    from nnzoo.runs import load_run
    from nnzoo.training.run_dir import CONFIG_FILE, load_run_config

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

    run = load_run(run_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        report = _export_into(run, fmt, work, verify=verify)
        _replace(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    report["folder"] = str(target)
    return report


def _refuse_format(model_name: str, fmt: str) -> None:
    """A format the model's card cannot take, refused in one line before any work."""
    from nnzoo.registry import get_card

    try:
        from nnzoo.cards import export_refusal
    except ImportError:  # cards without the export table: every format is tried
        return
    why = export_refusal(get_card(model_name), fmt)
    if why:
        raise ConfigError(why)


def _replace(work: Path, target: Path) -> None:
    """Rename the finished folder into place (an existing one, with ``force``, goes after)."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(work, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


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
        "tolerance": TOLERANCE,
        "verified": verify,
    }
    if verify:
        report.update(_verify(run, folder))
    report["versions"] = _versions(fmt)
    _write_json(folder / "export_report.json", report)
    (folder / "model.md").write_text(_model_card(run, spec["export"], report), encoding="utf-8")
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
        model.export(
            str(artifact), format=FORMATS[fmt], verbose=False, input_signature=signature, **options
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


def _verify(run: Any, folder: Path) -> dict[str, Any]:
    """Run the artifact in a separate process and compare with the Keras model in this one."""
    names = [t.name for t in run.model.inputs]
    dtypes = {t.name: str(t.dtype) for t in run.model.inputs}
    examples, inputs_from = _test_examples(run)
    if examples is None:
        examples, inputs_from = _generated(run, names), "generated"
    examples = {k: np.asarray(v, dtypes[k]) for k, v in examples.items()}
    batches, batch_sizes, lengths = _batches(run, examples)

    keras_out, keras_seconds = _run_keras(run.model, batches)
    with tempfile.TemporaryDirectory(prefix="nnzoo-export-") as tmp:
        in_path, out_path = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        arrays = {f"b{i}__{k}": v for i, b in enumerate(batches) for k, v in b.items()}
        np.savez(in_path, __folder__=np.asarray(str(folder)), **arrays)
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-I", str(RUNNER), str(in_path), str(out_path)],
            capture_output=True,
            text=True,
            env=_runner_env(),
        )
        log.info("export runner: %.1f s", time.perf_counter() - started)
        report: dict[str, Any] = {
            "batch_sizes": batch_sizes,
            "sequence_lengths": lengths,
            "inputs_from": inputs_from,
            "examples": int(sum(batch_sizes)),
        }
        if proc.returncode != 0 or not out_path.exists():
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            report.update(passed=False, max_abs_diff=None, error=f"the runtime failed: {last}")
            return report
        with np.load(out_path, allow_pickle=False) as out:
            exported = [out[f"b{i}"] for i in range(len(batches))]
            export_seconds = out["seconds"]
            runtime = {"name": str(out["runtime_name"]), "version": str(out["runtime_version"])}
            isolated = {
                "nnzoo_imported": bool(out["imported_nnzoo"]),
                "keras_imported": bool(out["imported_keras"]),
            }

    diffs = []
    for mine, theirs in zip(keras_out, exported):
        if mine.shape != theirs.shape:
            report.update(
                passed=False,
                max_abs_diff=None,
                error=f"output shape {list(theirs.shape)} != the model's {list(mine.shape)}",
            )
            return report
        diffs.append(float(np.max(np.abs(mine.astype("float64") - theirs))))
    max_diff = max(diffs)
    report["max_abs_diff"] = max_diff
    report["passed"] = bool(np.isfinite(max_diff) and max_diff <= TOLERANCE)
    if run.spec.task == "classification":
        report["top1_agreement"] = _top1_agreement(keras_out, exported)
    total = float(sum(batch_sizes))
    report["latency_ms_per_example"] = {
        "keras": 1000.0 * float(sum(keras_seconds)) / total,
        "export": 1000.0 * float(np.sum(export_seconds)) / total,
    }
    report["runtime"] = runtime
    report["runner"] = {"separate_process": True, **isolated}
    return report


def _runner_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _top1_agreement(mine: list[np.ndarray], theirs: list[np.ndarray]) -> float:
    a = np.concatenate(mine)
    b = np.concatenate(theirs)
    # One logit is a binary task (threshold 0).
    same = (a[..., 0] > 0) == (b[..., 0] > 0) if a.shape[-1] == 1 else a.argmax(-1) == b.argmax(-1)
    return float(np.mean(same))


def _run_keras(model: Any, batches: list[dict[str, np.ndarray]]) -> tuple[list, list[float]]:
    """The Keras model's outputs and per-batch seconds (each shape warmed up first)."""

    def call(batch: dict[str, np.ndarray]) -> np.ndarray:
        x = batch if len(batch) > 1 else next(iter(batch.values()))
        return np.asarray(model.predict_on_batch(x))

    outputs = [call(b) for b in batches]  # also the warm-up: traces each shape once
    seconds = []
    for b in batches:
        started = time.perf_counter()
        call(b)
        seconds.append(time.perf_counter() - started)
    return outputs, seconds


def _test_examples(run: Any) -> tuple[dict[str, np.ndarray] | None, str]:
    """Up to :data:`MAX_EXAMPLES` of the run's test split, when its data loads here."""
    from nnzoo.runs import _self_contained
    from nnzoo.training.resolve import prepare

    names = [t.name for t in run.model.inputs]
    try:
        _, _, splits = prepare(_self_contained(run.run_dir, run.config, run.spec))
        x = splits.test[0] if splits.test is not None else None
    except Exception as err:  # noqa: BLE001 - any reason the data is not here: generate inputs
        log.info("export: test split not available (%s); generating inputs", err)
        return None, "generated"
    if x is None:
        return None, "generated"
    x = x if isinstance(x, dict) else {names[0]: x}
    if set(names) - set(x):
        return None, "generated"
    return {k: np.asarray(x[k])[:MAX_EXAMPLES] for k in names}, "test split"


def _generated(run: Any, names: list[str]) -> dict[str, np.ndarray]:
    """Inputs made from the run's data spec: features, images in [0, 1], or token ids."""
    spec = run.spec
    rng = np.random.default_rng(0)
    n = 24
    if spec.input_kind in ("tokens", "tokens_segments"):
        length = int(spec.sequence_length or spec.input_shape[0])
        vocab = int(spec.vocabulary_size or 2)
        real = rng.integers(1, length + 1, size=n)
        mask = (np.arange(length)[None, :] < real[:, None]).astype("int32")
        out = {
            "token_ids": rng.integers(0, vocab, size=(n, length)) * mask,
            "padding_mask": mask,
            "segment_ids": ((np.arange(length)[None, :] >= (real // 2)[:, None]) & (mask > 0)),
        }
        return {k: out[k] for k in names}
    shape = (n, *spec.input_shape)
    if spec.input_kind == "image":
        return {names[0]: rng.uniform(0.0, 1.0, size=shape)}
    return {names[0]: rng.normal(0.0, 1.0, size=shape)}


def _batches(
    run: Any, examples: dict[str, np.ndarray]
) -> tuple[list[dict[str, np.ndarray]], list[int], list[int] | None]:
    """The examples cut into batches of sizes the run never trained on and, for text, cut to
    sequence lengths shorter than the training one."""
    sizes = [s for s in BATCH_SIZES if s != run.config.data.batch_size]
    total = len(next(iter(examples.values())))
    text = "token_ids" in examples
    lengths = None
    if text:
        full = examples["token_ids"].shape[1]
        lengths = sorted({max(1, full // 2 + 1), max(1, full - 1)})
    batches, batch_sizes, start, i = [], [], 0, 0
    while start < total:
        size = min(sizes[i % len(sizes)], total - start)
        batch = {k: v[start : start + size] for k, v in examples.items()}
        if lengths:
            batch = {k: v[:, : lengths[i % len(lengths)]] for k, v in batch.items()}
        batches.append(batch)
        batch_sizes.append(size)
        start += size
        i += 1
    return batches, batch_sizes, lengths


# ----------------------------------------------------------------------------- model.md


def _model_card(run: Any, export: dict[str, Any], report: dict[str, Any]) -> str:
    from nnzoo.registry import get_card

    config = run.config
    card = get_card(config.model.name)
    metrics_file = run.run_dir / "metrics.json"
    metrics = json.loads(metrics_file.read_text(encoding="utf-8")) if metrics_file.exists() else {}
    lines = [
        f"# {config.name}: {card.name}",
        "",
        f"{card.summary}",
        "",
        "## Architecture",
        "",
        f"- model: `{card.name}` (family `{card.family}`, task `{run.spec.task}`)",
        f"- paper: {card.paper}",
        f"- parameters: {run.model.count_params():,}",
        f"- parameters set in the run: `{json.dumps(config.model.params, default=str)}`",
        "",
        "## Inputs and outputs",
        "",
    ]
    for i in export["inputs"]:
        lines.append(f"- `{i['name']}`: {i['dtype']}, shape {_shape(i['shape'])}")
    lines.append(f"- output (logits): shape {_shape(export['output']['shape'])}")
    if run.spec.input_kind == "image":
        lines.append(
            "- images are float in [0, 1]; resizing and normalisation are inside the model"
        )
    elif run.spec.input_kind == "features":
        lines.append("- raw features: any scaling is inside the model")
    else:
        lines.append(
            f"- token ids from `tokenizer.json`; sequence length free up to "
            f"{run.spec.sequence_length}; `padding_mask` is 1 for real tokens"
        )
    if export.get("class_names"):
        lines.append(f"- classes, in output order: {', '.join(map(str, export['class_names']))}")
    lines += [
        "",
        "## Data",
        "",
        f"- source: `{config.data.source}`, parameters "
        f"`{json.dumps(config.data.params, default=str)}`",
        f"- validation split {config.data.validation_split}, test split {config.data.test_split}",
        "",
        "## Training",
        "",
    ]
    if metrics:
        best = metrics.get("best", {})
        lines.append(
            f"- {metrics.get('epochs')} epochs in {metrics.get('wall_seconds')} s on "
            f"{metrics.get('backend')}; best epoch {best.get('epoch')} "
            f"({', '.join(f'{k} {_num(v)}' for k, v in best.items() if k != 'epoch')})"
        )
        test = metrics.get("test", {})
        if test:
            lines.append(f"- test: {', '.join(f'{k} {_num(v)}' for k, v in test.items())}")
    else:
        lines.append("- metrics.json is missing from the run")
    init = metrics.get("init_from")
    if isinstance(init, dict) and "preset" in init:
        lines += [
            "",
            "## Licence and attribution",
            "",
            f"Started from the published preset `{init['preset']}` (KerasHub "
            f"`{init.get('backbone')}`), licence {init.get('licence')}. Its weights' licence "
            "and attribution apply to this model.",
        ]
    lines += ["", "## Export", ""]
    lines.append(
        f"- format `{report['format']}`: `{report['artifact']}`, {report['size_bytes']:,} bytes"
    )
    if not report.get("verified"):
        lines.append("- not verified (`--no-verify`)")
    elif report.get("max_abs_diff") is None:
        lines.append(f"- verification FAILED: {report.get('error')}")
    else:
        verdict = "passed" if report["passed"] else "FAILED"
        lines.append(
            f"- verification {verdict}: max |difference| {report['max_abs_diff']:.3g} "
            f"(tolerance {report['tolerance']:g}) on {report['examples']} examples from the "
            f"{report['inputs_from']}, batch sizes {sorted(set(report['batch_sizes']))}"
            + (
                f", sequence lengths {report['sequence_lengths']}"
                if report["sequence_lengths"]
                else ""
            )
        )
        if "top1_agreement" in report:
            lines.append(f"- top-1 agreement with the Keras model: {report['top1_agreement']:.4f}")
        lat = report["latency_ms_per_example"]
        lines.append(
            f"- latency per example: Keras {lat['keras']:.3f} ms, {report['runtime']['name']} "
            f"{report['runtime']['version']} {lat['export']:.3f} ms"
        )
    lines += ["", "## Versions", ""]
    lines += [f"- {k} {v}" for k, v in report["versions"].items()]
    return "\n".join(lines) + "\n"


def _shape(shape: list[Any]) -> str:
    return "(" + ", ".join("batch" if i == 0 else str(d) for i, d in enumerate(shape)) + ")"


def _num(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
