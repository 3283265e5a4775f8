"""Check an exported artifact against the run's Keras model, the way a user would load it.

:func:`verify_artifact` runs the artifact in a separate process that imports neither nnzoo
nor Keras (``nnzoo/inference/_runner.py``) with the artifact's own runtime, at batch sizes and
sequence lengths the run never trained on, on up to :data:`MAX_EXAMPLES` of the run's test
split (generated inputs where its data is not here), and compares the outputs with
``model.keras``'s.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["TOLERANCE", "verify_artifact"]

log = logging.getLogger(__name__)

#: Largest absolute difference allowed between the artifact's and the Keras model's outputs
#: (logits). A regression model's outputs are in the target's units: there the tolerance is
#: this many of the target's standard deviations (:func:`tolerance`).
TOLERANCE = 1e-4
#: Most test examples the verification runs.
MAX_EXAMPLES = 64
#: Batch sizes the verification uses, in turn (the run's own batch size is left out).
BATCH_SIZES = (3, 7, 5, 11)
#: The script that runs an artifact with its own runtime.
RUNNER = Path(__file__).with_name("_runner.py")


def verify_artifact(run: Any, folder: Path) -> dict[str, Any]:
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
    allowed = tolerance(run.spec)
    report["max_abs_diff"] = max_diff
    report["tolerance"] = allowed
    report["passed"] = bool(np.isfinite(max_diff) and max_diff <= allowed)
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


def tolerance(spec: Any) -> float:
    """The largest absolute difference allowed between the artifact's and the model's outputs:
    :data:`TOLERANCE`, or for a regression ``TOLERANCE`` times its target's standard deviation
    (float32 predictions of a target in the thousands differ by more than 1e-4 in their last
    bits, and one in thousandths agrees to far less)."""
    target = getattr(spec, "target", None)
    if spec.task == "regression" and target and float(target.get("std", 0.0)) > 0:
        return TOLERANCE * float(target["std"])
    return TOLERANCE


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


def examples_phrase(report: dict[str, Any]) -> str:
    """``24 examples from the test split`` or ``24 generated examples`` (the data was not
    here): what the verification ran on, for the export line and model.md."""
    n = report["examples"]
    if report.get("inputs_from") == "generated":
        return f"{n} generated example{'s' if n != 1 else ''} (the test split was not available)"
    return f"{n} example{'s' if n != 1 else ''} from the {report['inputs_from']}"


def _test_examples(run: Any) -> tuple[dict[str, np.ndarray] | None, str]:
    """Up to :data:`MAX_EXAMPLES` of the run's test split, when its data loads here."""
    from nnzoo.data import num_examples, read_rows
    from nnzoo.inference.load import self_contained
    from nnzoo.run.bind import prepare

    names = [t.name for t in run.model.inputs]
    try:
        _, _, splits = prepare(self_contained(run.run_dir, run.config, run.spec))
        x = splits.test[0] if splits.test is not None else None
    except Exception as err:  # noqa: BLE001 - any reason the data is not here: generate inputs
        log.info("export: test split not available (%s); generating inputs", err)
        return None, "generated"
    if x is None:
        return None, "generated"
    # The first examples alone are read (a listing of files decodes only those).
    x = read_rows(x, np.arange(min(num_examples(x), MAX_EXAMPLES)))
    x = x if isinstance(x, dict) else {names[0]: x}
    if set(names) - set(x):
        return None, "generated"
    return {k: np.asarray(x[k]) for k in names}, "test split"


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
