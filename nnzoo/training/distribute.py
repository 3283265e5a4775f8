"""Distribution: tf.distribute strategies on TensorFlow, ``keras.distribution`` on JAX."""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any

from nnzoo.errors import ConfigError

log = logging.getLogger(__name__)


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
