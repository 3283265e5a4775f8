"""Throughput of a catalog entry or a config's model, as timm's ``benchmark.py`` measures it.

A benchmark builds the model, feeds it one fixed batch (data-free for a catalog name: uniform
images or features, random tokens with a padding mask; the config's own data for a config),
runs ``warmup`` untimed steps (tracing and compilation happen there), then times ``steps``
steps one by one: ``model.train_on_batch`` (Adam, or the config's optimizer, and the task's
loss) or ``model.predict_on_batch``. Both return NumPy values, so each timed step includes
waiting for the device.

Nothing here imports Keras at module import time: ``nnzoo.benchmark`` loads with the CLI.
"""

from __future__ import annotations

import csv
import datetime
import io
import os
import platform
import resource
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nnzoo._atomic import write_text
from nnzoo.errors import ConfigError, NnzooError

MODES = ("train", "infer")

#: Input kinds whose throughput is also counted in tokens.
TOKEN_KINDS = ("tokens", "tokens_segments")


@dataclass(frozen=True)
class BenchmarkResult:
    """One benchmark row (the columns of ``--csv``).

    Attributes:
        model: the catalog name.
        source: the catalog name, or the config file the model came from.
        backend: the Keras backend.
        device: ``cpu`` or the accelerator the backend used (``gpu``).
        mode: ``train`` or ``infer``.
        batch_size: examples per step.
        sequence_length: tokens per example for token models, else ``None``.
        steps: timed steps.
        warmup: untimed steps before them.
        num_params: ``model.count_params()``.
        examples_per_s: ``batch_size`` / median step time.
        tokens_per_s: ``examples_per_s * sequence_length`` for token models, else ``None``.
        ms_per_step_median: median milliseconds per timed step.
        ms_per_step_p90: 90th percentile of the same.
        peak_rss_mb: the process's resident-memory high-water mark (``getrusage``), MiB.
        peak_device_mb: the backend's peak accelerator memory, MiB, where it reports one.
        timestamp: when the benchmark ended, ISO 8601 (UTC, seconds).
    """

    model: str
    source: str
    backend: str
    device: str
    mode: str
    batch_size: int
    sequence_length: int | None
    steps: int
    warmup: int
    num_params: int
    examples_per_s: float
    tokens_per_s: float | None
    ms_per_step_median: float
    ms_per_step_p90: float
    peak_rss_mb: float
    peak_device_mb: float | None
    timestamp: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: The CSV columns, in order.
FIELDS = tuple(BenchmarkResult.__dataclass_fields__)


def _check_args(mode: str, batch_size: int | None, steps: int, warmup: int) -> None:
    if mode not in MODES:
        raise ConfigError(
            f"unknown mode '{mode}'", key="--mode", fix=f"use one of {', '.join(MODES)}"
        )
    if batch_size is not None and batch_size < 1:
        raise ConfigError(
            f"the batch size must be at least 1. Received: batch_size={batch_size}",
            key="--batch-size",
            fix="pass --batch-size 1 or more",
        )
    if steps < 1:
        raise ConfigError(
            f"at least one timed step is needed. Received: steps={steps}",
            key="--steps",
            fix="pass --steps 1 or more",
        )
    if warmup < 0:
        raise ConfigError(
            f"warm-up steps cannot be negative. Received: warmup={warmup}",
            key="--warmup",
            fix="pass --warmup 0 or more",
        )


def benchmark_model(
    name: str,
    *,
    mode: str = "train",
    batch_size: int | None = None,
    steps: int = 20,
    warmup: int = 5,
    params: dict[str, Any] | None = None,
    sequence_length: int | None = None,
    seed: int = 0,
) -> BenchmarkResult:
    """Benchmark catalog entry ``name`` on a data-free batch made from its card.

    Args:
        name: a catalog name (``nnzoo list-models``).
        mode: ``"train"`` (``train_on_batch`` with Adam and the task's loss) or ``"infer"``
            (``predict_on_batch``). Defaults to `"train"`.
        batch_size: examples per step. Defaults to `None` (32).
        steps: timed steps. Defaults to `20`.
        warmup: untimed steps first (compilation). Defaults to `5`.
        params: hyperparameters overriding the card's defaults. Defaults to `None`.
        sequence_length: tokens per example for token models. Defaults to `None`
            (``min(128, max_sequence_length)``).
        seed: seed of the weights and the batch. Defaults to `0`.

    Returns:
        The :class:`BenchmarkResult`.
    """
    _check_args(mode, batch_size, steps, warmup)
    batch_size = 32 if batch_size is None else batch_size
    from nnzoo.memory import optimizer_slots
    from nnzoo.registry import build_checked, get_card

    card = get_card(name, key="NAME")
    params = dict(params or {})
    merged = {**card.defaults, **params}
    length = _sequence_length(card, merged, sequence_length)
    import keras

    keras.utils.set_random_seed(seed)
    slots = optimizer_slots("adam") if mode == "train" else 0
    model = build_checked(card, params, key="--set", optimizer_slots=slots)
    task = str(merged.get("task", card.task))
    x, y = _synthetic_batch(model, card, merged, task, batch_size, length, seed)
    if mode == "train":
        from nnzoo.run.losses import loss_and_metrics

        units = int(model.output_shape[-1]) if task == "classification" else 0
        loss, _ = loss_and_metrics(task=task, output_units=units, loss=card.loss, metrics=[])
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
    return _measure(
        model,
        x,
        y,
        name=card.name,
        source=card.name,
        mode=mode,
        batch_size=batch_size,
        sequence_length=length,
        steps=steps,
        warmup=warmup,
    )


def benchmark_config(
    path: str | Path,
    overrides: tuple[str, ...] = (),
    *,
    mode: str = "train",
    batch_size: int | None = None,
    steps: int = 20,
    warmup: int = 5,
) -> BenchmarkResult:
    """Benchmark the model of config ``path`` as training builds it, on a batch of its data.

    The data are loaded (:func:`nnzoo.run.bind.prepare`); the model is built with the
    resolved parameters, its feature scaling adapted, and compiled as ``train`` compiles it
    (the config's loss, optimizer and schedule, dtype policy and ``jit_compile``).

    Args:
        path: the YAML config.
        overrides: ``--set`` strings (``train.optimizer.learning_rate=0.01``).
        mode: ``"train"`` or ``"infer"``. Defaults to `"train"`.
        batch_size: examples per step. Defaults to `None` (the config's
            ``data.batch_size``).
        steps: timed steps. Defaults to `20`.
        warmup: untimed steps first. Defaults to `5`.

    Returns:
        The :class:`BenchmarkResult`.
    """
    _check_args(mode, batch_size, steps, warmup)
    from nnzoo.run.bind import load_config

    flags = {"data.batch_size": batch_size} if batch_size is not None else None
    config = load_config(path, overrides, flags=flags)
    import keras

    from nnzoo.data import adapt_preprocessing
    from nnzoo.memory import optimizer_slots
    from nnzoo.registry import check_buildable
    from nnzoo.run.bind import effective_task, prepare
    from nnzoo.training.compile import compile_model

    keras.utils.set_random_seed(config.seed)
    card, params, splits = prepare(config)
    task = effective_task(card, params)
    slots = optimizer_slots(config.train.optimizer.name, momentum=config.train.optimizer.momentum)
    check_buildable(card, params, file=config.source_file, optimizer_slots=slots)
    batch = int(config.data.batch_size)
    before = keras.mixed_precision.global_policy()
    precision = config.train.mixed_precision
    keras.mixed_precision.set_global_policy("float32" if precision == "none" else precision)
    try:
        from nnzoo.registry import build_unchecked

        model = build_unchecked(card, params, file=config.source_file)
        adapt_preprocessing(model, splits)
        if mode == "train":
            compile_model(model, config, card, task, steps_per_epoch=max(1, steps + warmup))
        x, y = (_take(part, batch) for part in splits.train)
        length = _batch_sequence_length(x) if card.input_kind in TOKEN_KINDS else None
        return _measure(
            model,
            x,
            y,
            name=card.name,
            source=str(path),
            mode=mode,
            batch_size=batch,
            sequence_length=length,
            steps=steps,
            warmup=warmup,
        )
    finally:
        keras.mixed_precision.set_global_policy(before)


def _sequence_length(card: Any, params: dict[str, Any], given: int | None) -> int | None:
    if card.input_kind not in TOKEN_KINDS:
        if given is not None:
            raise ConfigError(
                f"model '{card.name}' takes {card.input_kind}, not token sequences. "
                f"Received: sequence_length={given}",
                key="--sequence-length",
                fix="drop --sequence-length",
            )
        return None
    limit = params.get("max_sequence_length")
    length = given if given is not None else min(128, int(limit) if limit else 128)
    if length < 1 or (limit and length > int(limit)):
        bound = f"between 1 and max_sequence_length={limit}" if limit else "at least 1"
        raise ConfigError(
            f"the sequence length must be {bound}. Received: sequence_length={length}",
            key="--sequence-length",
            fix=f"pass a length {bound}, or raise it with --set max_sequence_length=N",
        )
    return int(length)


def _synthetic_batch(
    model: Any,
    card: Any,
    params: dict[str, Any],
    task: str,
    batch_size: int,
    length: int | None,
    seed: int,
) -> tuple[Any, Any]:
    """``(x, y)`` for one step: inputs as the card describes them, labels for ``task``."""
    import numpy as np

    from nnzoo.data import IGNORE_INDEX

    rng = np.random.default_rng(seed)
    if card.input_kind in ("image", "features"):
        shape = tuple(int(d) for d in model.inputs[0].shape[1:])
        x: Any = rng.uniform(0.0, 1.0, size=(batch_size, *shape)).astype("float32")
    else:
        vocabulary = int(params["vocabulary_size"])
        # Each row has a random real length in [length/2, length]; the rest is padding (id 0).
        lengths = rng.integers(max(1, length // 2), length + 1, size=batch_size)
        mask = (np.arange(length)[None, :] < lengths[:, None]).astype("int32")
        tokens = rng.integers(1, vocabulary, size=(batch_size, length)).astype("int32") * mask
        x = {"token_ids": tokens, "padding_mask": mask}
        if card.input_kind == "tokens_segments":
            x["segment_ids"] = np.zeros_like(tokens)
    if task == "classification":
        units = int(model.output_shape[-1])
        if units == 1:
            y = rng.integers(0, 2, size=(batch_size, 1)).astype("float32")
        else:
            y = rng.integers(0, units, size=(batch_size,)).astype("int32")
    else:
        vocabulary = int(params["vocabulary_size"])
        y = rng.integers(0, vocabulary, size=(batch_size, length)).astype("int32")
        keep = x["padding_mask"].astype(bool)
        if task == "masked_lm":  # a target at about 15% of the real tokens, as BERT's
            keep &= rng.uniform(size=keep.shape) < 0.15
        y = np.where(keep, y, IGNORE_INDEX).astype("int32")
    return x, y


def _take(part: Any, n: int) -> Any:
    """The first ``n`` examples of an array or a dict of arrays, repeated when there are
    fewer."""
    import numpy as np

    from nnzoo.data import is_listing, read_rows

    if isinstance(part, dict):
        return {k: _take(v, n) for k, v in part.items()}
    if len(part) == 0:
        raise NnzooError("the config's training split is empty. Fix: check its data source")
    rows = np.arange(n) % len(part)  # the first n, repeated when there are fewer
    return read_rows(part, rows) if is_listing(part) else np.asarray(part)[rows]


def _batch_sequence_length(x: Any) -> int | None:
    ids = x.get("token_ids") if isinstance(x, dict) else None
    return int(ids.shape[1]) if ids is not None and ids.ndim == 2 else None


def _measure(
    model: Any,
    x: Any,
    y: Any,
    *,
    name: str,
    source: str,
    mode: str,
    batch_size: int,
    sequence_length: int | None,
    steps: int,
    warmup: int,
) -> BenchmarkResult:
    import keras
    import numpy as np

    if mode == "train":

        def step() -> Any:
            return model.train_on_batch(x, y)

    else:

        def step() -> Any:
            return model.predict_on_batch(x)

    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()  # returns NumPy values: the device has finished the step
        times.append(time.perf_counter() - start)
    median = float(np.median(times))
    examples = batch_size / median
    backend = keras.backend.backend()
    device, device_mb = _device_memory(backend)
    return BenchmarkResult(
        model=name,
        source=source,
        backend=backend,
        device=device,
        mode=mode,
        batch_size=batch_size,
        sequence_length=sequence_length,
        steps=steps,
        warmup=warmup,
        num_params=int(model.count_params()),
        examples_per_s=round(examples, 3),
        tokens_per_s=round(examples * sequence_length, 3) if sequence_length else None,
        ms_per_step_median=round(median * 1000.0, 4),
        ms_per_step_p90=round(float(np.percentile(times, 90)) * 1000.0, 4),
        peak_rss_mb=round(peak_rss_bytes() / 2**20, 1),
        peak_device_mb=None if device_mb is None else round(device_mb, 1),
        timestamp=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    )


def peak_rss_bytes() -> int:
    """The process's resident-memory high-water mark (``ru_maxrss``: KiB on Linux, bytes on
    macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def _device_memory(backend: str) -> tuple[str, float | None]:
    """``(device kind, peak accelerator memory in MiB or None)`` as the backend reports it."""
    try:
        if backend == "jax":
            import jax

            dev = jax.devices()[0]
            if dev.platform == "cpu":
                return "cpu", None
            stats = dev.memory_stats() or {}
            peak = stats.get("peak_bytes_in_use")
            return dev.platform, None if peak is None else peak / 2**20
        if backend == "tensorflow":
            import tensorflow as tf

            if not tf.config.list_logical_devices("GPU"):
                return "cpu", None
            return "gpu", tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
        if backend == "torch":
            import torch

            if not torch.cuda.is_available():
                return "cpu", None
            return "gpu", torch.cuda.max_memory_allocated() / 2**20
    except (RuntimeError, ValueError, KeyError):  # a backend without memory statistics
        return "gpu", None
    return "cpu", None


def append_csv(path: str | Path, result: BenchmarkResult) -> None:
    """Append ``result`` as a row of ``path`` (a header first when the file is new).

    The whole file is rewritten to a temporary file beside it and moved over it durably
    (:func:`nnzoo._atomic.write_text`), so a reader never sees half a row. A file whose header
    is not :data:`FIELDS` is refused.
    """
    path = Path(path)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    header = ",".join(FIELDS)
    if old and old.splitlines()[0] != header:
        raise NnzooError(
            f"{path}: not a benchmark CSV of this version (its header differs). Fix: write to "
            "a new file with --csv"
        )
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    if not old:
        writer.writeheader()
    writer.writerow({k: "" if v is None else v for k, v in result.to_dict().items()})
    if old and not old.endswith("\n"):
        old += "\n"
    write_text(path, old + out.getvalue())


def machine_description() -> str:
    """One line: processor, core count, OS and Python."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpu}, {cores} cores, {platform.system()} {platform.release()}, Python " + (
        platform.python_version()
    )
