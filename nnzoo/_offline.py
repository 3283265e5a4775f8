"""The one offline switch for everything nnzoo could download, and the network timeout.

Data sets (``keras.datasets`` files), ImageNet weights and pretrained presets are downloaded
into their caches by default. One switch forbids every download: the global flag
``nnzoo --offline``, or ``NNZOO_OFFLINE=1`` in the environment (as ``HF_HUB_OFFLINE``, which
is honoured too, so a machine set up for offline Hugging Face use is offline for nnzoo).
With the switch on, files already in a cache are used and a missing one is a
:class:`~nnzoo.errors.DataNotAvailableError` naming the file, where to put it and an offline
alternative; nothing opens a network connection.

Everything that downloads asks :func:`is_offline` first and downloads inside
:func:`network_timeout`, so a machine without a network fails in seconds, not minutes.
This module imports only the standard library: ``validate`` and ``--help`` use it.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator

__all__ = [
    "CONNECT_TIMEOUT_S",
    "ENV_VARS",
    "is_offline",
    "network_timeout",
    "offline_reason",
    "set_offline",
]

#: Environment variables that switch nnzoo offline, in the order they are reported.
ENV_VARS = ("NNZOO_OFFLINE", "HF_HUB_OFFLINE")
#: Seconds a download may wait to connect, or for its next bytes, before it fails.
CONNECT_TIMEOUT_S = 10.0

_TRUE = frozenset({"1", "ON", "YES", "TRUE"})
#: ``--offline`` given to this process (``None``: follow the environment).
_switch: dict[str, bool | None] = {"offline": None}


def _is_true(value: str | None) -> bool:
    """As ``huggingface_hub``'s flags: ``1``, ``on``, ``yes``, ``true`` (any case) are on."""
    return value is not None and value.strip().upper() in _TRUE


def offline_reason() -> str | None:
    """What switched nnzoo offline (``"--offline"``, ``"NNZOO_OFFLINE=1"``,
    ``"HF_HUB_OFFLINE=1"``), or ``None`` when downloads are allowed."""
    if _switch["offline"] is not None:
        return "--offline" if _switch["offline"] else None
    for name in ENV_VARS:
        if _is_true(os.environ.get(name)):
            return f"{name}={os.environ[name].strip()}"
    return None


def is_offline() -> bool:
    """Whether downloads are forbidden (``--offline``, ``NNZOO_OFFLINE`` or ``HF_HUB_OFFLINE``)."""
    return offline_reason() is not None


def set_offline(offline: bool | None = True) -> None:
    """Switch this process offline (``True``), online (``False``, whatever the environment
    says) or back to the environment (``None``).

    ``True`` also sets ``NNZOO_OFFLINE=1`` so that processes started from this one (tuning
    workers) are offline too.
    """
    _switch["offline"] = offline
    if offline:
        os.environ["NNZOO_OFFLINE"] = "1"


@contextlib.contextmanager
def network_timeout(seconds: float = CONNECT_TIMEOUT_S) -> Iterator[None]:
    """Within the block, a socket without its own timeout gives up after ``seconds`` of
    waiting to connect or for data (``urllib`` and ``keras.utils.get_file`` use none)."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds if previous is None else min(previous, seconds))
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)
