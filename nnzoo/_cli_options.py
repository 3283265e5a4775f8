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

    TensorFlow and XLA write start-up lines from C++ (absl, oneDNN, CUDA probing) that
    TF_CPP_MIN_LOG_LEVEL does not silence; they would bury nnzoo's one-line messages. On
    another backend TensorFlow, where installed, is imported here too: the data pipeline
    (``tf.data``) and the exporters import it later, and its start-up lines would come then.
    """
    if STATE["debug"]:
        return
    import importlib.util

    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import keras

            if (
                keras.backend.backend() != "tensorflow"
                and importlib.util.find_spec("tensorflow") is not None
            ):
                import tensorflow as tf

                tf.config.list_physical_devices()  # CUDA probing logs when first asked
    finally:
        os.dup2(saved, 2)
        os.close(saved)
