"""The memory a model's variables need, estimated without building it, and the check that
refuses a model the machine cannot hold.

The estimate is the card's closed-form ``count_params`` (every weight) times 4 bytes times
1 + the optimizer's slots per weight (:func:`optimizer_slots`); the memory available is read
from ``/proc/meminfo`` and the cgroup's limit (:func:`available_memory_bytes`). Nothing here
imports Keras: ``nnzoo validate`` refuses what would not fit, before any data is loaded.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nnzoo.cards import HyperparameterError, ModelCard, plain_value
from nnzoo.errors import ConfigError
from nnzoo.hyperparameters import as_yaml

__all__ = [
    "BYTES_PER_PARAMETER",
    "available_memory_bytes",
    "check_image_memory",
    "check_memory",
    "count_params",
    "estimate_memory_bytes",
    "optimizer_slots",
]

#: Bytes per parameter: float32 variables (mixed precision keeps float32 variables too).
BYTES_PER_PARAMETER = 4


def optimizer_slots(name: str, *, momentum: float = 0.0) -> int:
    """Variables an optimizer keeps per trainable parameter.

    ``adam`` / ``adamw``: 2 (first and second moments); ``sgd``: 1 with momentum, else 0;
    ``rmsprop``: 1 (the squared-gradient average), 2 with momentum. An unknown name counts 2.
    """
    if name == "sgd":
        return 1 if momentum else 0
    if name == "rmsprop":
        return 2 if momentum else 1
    return 2


def count_params(card: ModelCard, params: Mapping[str, Any]) -> int | None:
    """``model.count_params()`` of the model ``params`` would build, without building it.

    From the card's closed form (every weight, as ``num_params``), on the card's defaults
    overridden by ``params``. ``None`` for an entry without a closed form, or parameters that
    break a rule between them (:mod:`nnzoo.hyperparameters` reports those).
    """
    if card.count_params is None:
        return None
    try:
        return int(card.count_params(**{**card.defaults, **params}))
    except HyperparameterError:
        return None


def estimate_memory_bytes(
    card: ModelCard, params: Mapping[str, Any], optimizer_slots: int
) -> int | None:
    """Bytes of the model's variables while training: parameters x 4 x (1 + optimizer slots).

    Activations, gradients in flight and the data are not counted; this is the floor that
    refuses a model that cannot fit at all. ``None`` where the card has no closed-form
    ``count_params`` (no estimate: such an entry is built without this check).
    """
    count = count_params(card, params)
    if count is None:
        return None
    return count * BYTES_PER_PARAMETER * (1 + int(optimizer_slots))


def available_memory_bytes() -> int | None:
    """Memory this process can still get: ``MemAvailable`` of ``/proc/meminfo`` (else the free
    pages, ``os.sysconf``), lowered to what the cgroup's limit leaves; ``None`` if unknown."""
    available = None
    try:
        for text in Path("/proc/meminfo").read_text().splitlines():
            if text.startswith("MemAvailable:"):
                available = int(text.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, OSError, ValueError):
            return None
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # cgroup v2
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",  # cgroup v1
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        try:
            limit = int(Path(limit_file).read_text().split()[0])
            usage = int(Path(usage_file).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # no such cgroup, or "max": no limit
        available = min(available, max(limit - usage, 0))
    return available


class InsufficientMemoryError(ConfigError):
    """A model too large for this machine's memory: ``train`` refuses it, ``init`` still
    writes its config (another machine may train it)."""


def check_memory(
    card: ModelCard,
    params: Mapping[str, Any],
    *,
    optimizer_slots: int = 0,
    file: str | None = None,
    key: str = "model.params",
    line: int | None = None,
) -> None:
    """Refuse a model whose variables would take more than half the available memory.

    Building or training it could be killed by the kernel or abort the process, so it is
    refused before it is built, in one :class:`ConfigError` with the estimate and the memory.
    Entries without a closed-form count are not checked (see :func:`estimate_memory_bytes`).

    Args:
        card: the catalog entry.
        params: the parameters (the card's defaults fill the rest).
        optimizer_slots: what :func:`optimizer_slots` says for the optimizer that will train
            it; 0 to build only. Defaults to `0`.
        file, key, line: as for :func:`nnzoo.hyperparameters.check_params`.
    """
    needed = estimate_memory_bytes(card, params, optimizer_slots)
    if needed is None:
        return
    available = available_memory_bytes()
    if available is None or needed <= available / 2:
        return
    count = count_params(card, params) or 0
    per_weight = f"{BYTES_PER_PARAMETER} bytes x {1 + optimizer_slots}"
    what = (
        f"its float32 weights and the optimizer's {optimizer_slots} slot(s) per weight "
        f"({per_weight})"
        if optimizer_slots
        else "its float32 weights"
    )
    sizes = [
        f"{n}={as_yaml(v)}"
        for n, v in params.items()
        if _is_size(v) and plain_value(v) != plain_value(card.defaults.get(n))
    ]
    fix = (
        f"use smaller sizes than {', '.join(sizes)}"
        if sizes
        else "choose a smaller catalog entry (`nnzoo list-models`)"
    )
    raise InsufficientMemoryError(
        f"model '{card.name}' would have {count:,} parameters: {_binary_size(needed)} for "
        f"{what}, more than half of the {_binary_size(available)} of memory available",
        file=file,
        key=key,
        line=line,
        fix=fix,
    )


def check_image_memory(
    image_size: Any,
    *,
    batch_size: int,
    channels: int = 3,
    file: str | None = None,
    key: str = "data.params.image_size",
    line: int | None = None,
) -> None:
    """Refuse an ``image_size`` whose batch of float32 images would take more than half the
    available memory, before any image is decoded (``image_size: 100000`` asks for TiBs).

    A value that is not a size is left to the source's own check.
    """
    sizes = image_size if isinstance(image_size, list | tuple) else [image_size, image_size]
    if len(sizes) != 2 or not _is_size(sizes) or min(sizes) <= 0:
        return
    height, width = sizes
    needed = int(batch_size) * height * width * channels * 4
    available = available_memory_bytes()
    if available is None or needed <= available / 2:
        return
    raise ConfigError(
        f"a batch of {batch_size} images of {height}x{width}x{channels} takes "
        f"{_binary_size(needed)} as float32, more than half of the {_binary_size(available)} "
        f"of memory available. Received: image_size={as_yaml(image_size)}",
        file=file,
        key=key,
        line=line,
        fix="use a smaller data.params.image_size (e.g. 224) or data.batch_size",
    )


def _is_size(value: Any) -> bool:
    values = value if isinstance(value, list | tuple) else [value]
    return bool(values) and all(isinstance(v, int) and not isinstance(v, bool) for v in values)


def _binary_size(num_bytes: float) -> str:
    """``num_bytes`` in GiB, MiB or KiB, one decimal."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20)):
        if num_bytes >= size:
            return f"{num_bytes / size:.1f} {unit}"
    return f"{num_bytes / 2**10:.1f} KiB"
