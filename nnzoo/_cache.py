"""Where ``keras.utils.get_file`` keeps downloaded files, found without importing Keras.

Keras caches under its home folder, ``$KERAS_HOME``, else ``~/.keras`` (``/tmp/.keras`` when the
home directory is not writable), in a sub-folder per kind of file: ``datasets`` for the
``keras.datasets`` sets, ``models`` for the ``keras.applications`` weights. Data sources and
model builders both look there before anything is downloaded, so this sits below both.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["keras_cache_dirs", "keras_homes"]


def keras_homes() -> list[Path]:
    """The Keras home folders, in the order Keras uses them: ``$KERAS_HOME`` alone when it is
    set, else ``~/.keras`` and then ``/tmp/.keras``."""
    if os.environ.get("KERAS_HOME"):
        return [Path(os.environ["KERAS_HOME"]).expanduser()]
    return [Path.home() / ".keras", Path("/tmp/.keras")]


def keras_cache_dirs(cache_subdir: str) -> list[Path]:
    """The folder ``cache_subdir`` (e.g. ``models``) of every Keras home, in the same order:
    where ``keras.utils.get_file(..., cache_subdir=cache_subdir)`` keeps its files."""
    return [home / cache_subdir for home in keras_homes()]
