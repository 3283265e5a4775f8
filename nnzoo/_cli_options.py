"""Process-wide state of the CLI's ``--debug`` option, and the quiet Keras import that reads it.

Below every layer, not in :mod:`nnzoo.cli`: library modules (:mod:`nnzoo.pretrained`) import
Keras through :func:`import_keras_quietly` too. Imports nothing heavy.
"""

from __future__ import annotations

import os
from typing import Any

#: Process-wide CLI state: ``--debug`` (tracebacks and framework logs).
STATE: dict[str, Any] = {"debug": False}


def import_keras_quietly() -> None:
    """Import Keras with the native stderr silenced (unless --debug).

    TensorFlow and XLA write start-up lines from C++ (absl, CUDA probing) that
    TF_CPP_MIN_LOG_LEVEL does not silence; they would bury nnzoo's one-line messages.
    """
    if STATE["debug"]:
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import keras  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
