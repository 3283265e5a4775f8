"""Distribution: tf.distribute strategies on TensorFlow, ``keras.distribution`` on JAX."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from typing import Any

from nnzoo.errors import ConfigError

log = logging.getLogger(__name__)


def is_chief(strategy: str) -> bool:
    """Whether this process owns the run directory: always, except in a multi-worker run,
    where the chief is the ``chief`` task of ``TF_CONFIG``, or worker 0 when none is named."""
    if strategy != "multi_worker" or "TF_CONFIG" not in os.environ:
        return True
    tf_config = json.loads(os.environ["TF_CONFIG"])
    task = tf_config.get("task", {})
    kind = task.get("type", "worker")
    return kind == "chief" or (
        kind == "worker"
        and int(task.get("index", 0)) == 0
        and "chief" not in tf_config.get("cluster", {})
    )


def input_shard(strategy: str) -> tuple[int, int] | None:
    """``(worker, workers)``: this process's input pipeline among a multi-worker run's (the
    ``input_pipeline_id`` / ``num_input_pipelines`` MultiWorkerMirroredStrategy gives it: the
    chief first, then the workers in order), or ``None`` outside a multi-worker run."""
    if strategy != "multi_worker" or "TF_CONFIG" not in os.environ:
        return None
    tf_config = json.loads(os.environ["TF_CONFIG"])
    cluster = tf_config.get("cluster", {})
    task = tf_config.get("task", {})
    chiefs = len(cluster.get("chief", []))
    workers = chiefs + len(cluster.get("worker", []))
    kind, index = task.get("type", "worker"), int(task.get("index", 0))
    if kind not in ("chief", "worker") or workers <= 1:
        return None
    return (index if kind == "chief" else chiefs + index), workers


def split_cpu(n: int) -> None:
    """Split the CPU into ``n`` logical devices (before TensorFlow initialises), so that
    MirroredStrategy can be exercised without GPUs, as Keras's own tests do."""
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(n)]
    )


def strategy_scope(strategy: str, *, file: str | None = None) -> tuple[Any, Any]:
    """``(scope, num_replicas)`` for the configured strategy on the current backend."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tf_scope(strategy)
    if strategy in ("one_device", "mirrored", "multi_worker"):
        if backend == "jax" and strategy == "mirrored":
            return _jax_data_parallel()
        raise ConfigError(
            f"strategy '{strategy}' needs the TensorFlow backend (running on {backend})",
            file=file,
            key="distribute.strategy",
            fix="use `--backend tensorflow`, or strategy: auto (on JAX: data parallel over "
            "all local devices)",
        )
    if backend == "jax" and strategy == "auto":
        return _jax_data_parallel()
    return contextlib.nullcontext(), 1


def _tf_scope(strategy: str) -> tuple[Any, Any]:
    import tensorflow as tf

    if strategy == "multi_worker":
        # Created before anything initialises the TF context (listing devices does).
        if "TF_CONFIG" not in os.environ:
            raise ConfigError(
                "strategy 'multi_worker' needs the TF_CONFIG environment variable",
                key="distribute.strategy",
                fix='set TF_CONFIG=\'{"cluster": {"worker": [...]}, "task": {"type": '
                '"worker", "index": 0}}\' on every worker',
            )
        s = tf.distribute.MultiWorkerMirroredStrategy()
        log.info("distribution: MultiWorkerMirroredStrategy, %d replicas", s.num_replicas_in_sync)
        return s.scope(), s.num_replicas_in_sync
    gpus = tf.config.list_logical_devices("GPU")
    cpus = tf.config.list_logical_devices("CPU")
    if strategy == "auto":
        strategy = "mirrored" if len(gpus) > 1 else "none"
    if strategy == "none":
        return contextlib.nullcontext(), 1
    if strategy == "one_device":
        device = gpus[0].name if gpus else cpus[0].name
        s: Any = tf.distribute.OneDeviceStrategy(device)
    elif strategy == "mirrored":
        devices = [d.name for d in gpus] or [d.name for d in cpus]
        s = tf.distribute.MirroredStrategy(devices)
    else:
        raise ValueError(f"Unknown strategy. Received: strategy={strategy!r}")
    log.info("distribution: %s with %d replicas", type(s).__name__, s.num_replicas_in_sync)
    return s.scope(), s.num_replicas_in_sync


def _jax_data_parallel() -> tuple[Any, Any]:
    import keras

    devices = keras.distribution.list_devices()
    if len(devices) <= 1:
        return contextlib.nullcontext(), 1
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return contextlib.nullcontext(), len(devices)


def patch_keras_for_multi_worker(model: Any, dataset: Any) -> None:
    """Work around two Keras 3 (3.15) bugs that stop ``fit`` under MultiWorkerMirroredStrategy.

    1. ``_maybe_symbolic_build`` reduces the first distributed batch with
       ``strategy.reduce("MEAN", ...)``, which CollectiveAllReduce rejects for PerReplica
       inputs: we build the model's metrics from an undistributed first batch instead.
    2. ``reduce_per_replica`` reduces scalar losses and metrics with ``axis=0``, which fails
       for 0-d tensors ("Invalid reduction dimension 0"): scalars are reduced with
       ``axis=None``; everything else is left to Keras.

    Both are confined to the multi-worker strategy; remove them once Keras fixes the bugs
    (tests/training/test_distribute.py runs a 2-worker job on loopback).
    """
    from keras.src.backend.tensorflow import trainer as tf_trainer

    strategy = model.distribute_strategy
    batch = next(iter(dataset))

    def symbolic_build(iterator: Any = None, data_batch: Any = None) -> None:
        with strategy.scope():
            model._symbolic_build(data_batch=batch)

    model._maybe_symbolic_build = symbolic_build
    original = getattr(tf_trainer.reduce_per_replica, "_nnzoo_original", None)
    if original is not None:
        return
    original = tf_trainer.reduce_per_replica

    def reduce_per_replica(values: Any, strategy: Any, reduction: str) -> Any:
        import tensorflow as tf

        if not (
            tf_trainer._collective_all_reduce_multi_worker(strategy)
            and reduction in ("auto", "mean")
        ):
            return original(values, strategy, reduction)

        def one(v: Any) -> Any:
            parts = v.values if tf_trainer._is_per_replica_instance(v) else [v]
            if all(getattr(t, "shape", None) is not None and t.shape.rank == 0 for t in parts):
                return strategy.reduce("MEAN", v, axis=None)
            return original(v, strategy, reduction)

        return tf.nest.map_structure(one, values)

    reduce_per_replica._nnzoo_original = original  # type: ignore[attr-defined]
    tf_trainer.reduce_per_replica = reduce_per_replica


@contextlib.contextmanager
def released_gradient_registrations() -> Iterator[None]:
    """Drop the custom gradients TensorFlow registered while the block ran (TF backend only).

    Works around a TensorFlow leak that every Keras model trained in a process hits: Keras's
    TF optimizer all-reduces the gradients through ``tf.distribute`` even without a strategy,
    and in a traced ``train_step`` that all-reduce registers a ``tf.custom_gradient`` in TF's
    process-wide gradient registry under a fresh name. Its closure holds the step's whole
    graph, and the registry never lets it go: each model leaks its train step, so a study's
    later trials ran slower and slower. Nothing looks the registration up once the step is
    traced (nothing differentiates the reduced gradients); a model retraced later registers
    anew. Registrations made before the block are left alone.
    """
    import keras

    registry = None
    if keras.backend.backend() == "tensorflow":
        from tensorflow.python.framework import ops

        registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    before = set(registry) if isinstance(registry, dict) else None
    try:
        yield
    finally:
        if before is not None:
            for name in [n for n in registry if n not in before]:
                if name.startswith("CustomGradient-"):
                    del registry[name]
