"""Run an exported artifact with its own runtime: no nnzoo, no Keras.

``nnzoo export`` verifies what it wrote by running this file in a separate process
(``python -I nnzoo/inference/_runner.py IN.npz OUT.npz``), so the artifact is checked the way a
user loads it: TensorFlow's ``tf.saved_model.load``, ``onnxruntime.InferenceSession`` or the
LiteRT ``Interpreter`` of ``ai-edge-litert``. ``nnzoo predict`` on an export folder imports
:func:`run` from here. This module imports only the standard library, NumPy and the runtime
of the artifact it runs.

Layout it reads: ``FOLDER/data_spec.json`` has an ``export`` entry naming ``format``
(``saved_model`` | ``onnx`` | ``litert``), ``artifact`` (``saved_model/``, ``model.onnx``,
``model.tflite``) and ``inputs`` (``name``, ``dtype``).

``IN.npz`` holds ``__folder__`` (the export folder, a string) and, for batch ``i`` and input
``name``, ``b{i}__{name}``. ``OUT.npz`` gets ``b{i}`` (the logits of batch ``i``), ``seconds``
(each batch's time, in a second pass over the batches), ``runtime_name``, ``runtime_version`` and
``imported_nnzoo`` / ``imported_keras`` (whether either was loaded: never, both are
blocked before the runtime loads; TensorFlow would otherwise import parts of Keras itself).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["load", "run"]

#: The export entry of ``data_spec.json``.
EXPORT_KEY = "export"

_LOADED: dict[tuple[str, float], Any] = {}


class _Artifact:
    """An artifact loaded in its runtime; ``__call__(inputs) -> logits``."""

    name = ""
    version = ""

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError


class _SavedModel(_Artifact):
    def __init__(self, path: Path) -> None:
        import tensorflow as tf

        self.name, self.version = "tensorflow", tf.__version__
        self._tf = tf
        self._loaded = tf.saved_model.load(str(path))  # keep the object: it owns the variables
        self._fn = self._loaded.signatures["serving_default"]

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        out = self._fn(**{k: self._tf.constant(v) for k, v in inputs.items()})
        return np.asarray(next(iter(out.values())))


class _Onnx(_Artifact):
    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        self.name, self.version = "onnxruntime", ort.__version__
        self._session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self._names = [i.name for i in self._session.get_inputs()]

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(self._session.run(None, {k: inputs[k] for k in self._names})[0])


class _LiteRT(_Artifact):
    def __init__(self, path: Path) -> None:
        from importlib.metadata import version

        from ai_edge_litert.interpreter import Interpreter

        self.name, self.version = "ai-edge-litert", version("ai-edge-litert")
        self._interpreter = Interpreter(model_path=str(path))
        # The signature runner resizes each input tensor to the call's shape (batch and
        # sequence length are free) and allocates the tensors again before invoking.
        self._runner = self._interpreter.get_signature_runner("serving_default")

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        out = self._runner(**inputs)
        return np.asarray(next(iter(out.values())))


_RUNTIMES = {"saved_model": _SavedModel, "onnx": _Onnx, "litert": _LiteRT}


def describe(folder: str | Path) -> dict[str, Any]:
    """The ``export`` entry of ``folder``'s ``data_spec.json``."""
    spec = json.loads((Path(folder) / "data_spec.json").read_text(encoding="utf-8"))
    return spec[EXPORT_KEY]


def load(folder: str | Path) -> _Artifact:
    """The artifact of an export folder, loaded once per process (and again when it changes)."""
    info = describe(folder)
    path = Path(folder) / info["artifact"]
    key = (str(path.resolve()), path.stat().st_mtime)
    if key not in _LOADED:
        _LOADED[key] = _RUNTIMES[info["format"]](path)
    return _LOADED[key]


def run(folder: str | Path, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """The logits of the artifact in ``folder`` for ``inputs`` (arrays by input name, with the
    dtypes ``data_spec.json`` lists; any batch size, text: any sequence length)."""
    info = describe(folder)
    feed = {i["name"]: np.ascontiguousarray(inputs[i["name"]], i["dtype"]) for i in info["inputs"]}
    return load(folder)(feed)


def _imported(name: str) -> bool:
    """Whether module ``name`` (or a submodule) was loaded; a blocked one is ``None``."""
    return any(
        (m == name or m.startswith(name + ".")) and mod is not None
        for m, mod in list(sys.modules.items())
    )


def _main(argv: list[str]) -> int:
    in_path, out_path = argv
    # TensorFlow imports parts of Keras at import time when it is installed; the artifact must
    # not need it (nor nnzoo), so both are blocked here: an import of either fails.
    sys.modules["keras"] = None  # type: ignore[assignment]
    sys.modules["nnzoo"] = None  # type: ignore[assignment]
    with np.load(in_path, allow_pickle=False) as data:
        folder = str(data["__folder__"])
        batches: dict[int, dict[str, np.ndarray]] = {}
        for key in data.files:
            if key.startswith("b") and "__" in key:
                index, name = key[1:].split("__", 1)
                batches.setdefault(int(index), {})[name] = data[key]
    artifact = load(folder)
    ordered = [batches[i] for i in sorted(batches)]
    # The first pass gives the outputs and warms each shape up; the second is timed.
    outputs = {f"b{i}": run(folder, batch) for i, batch in enumerate(ordered)}
    seconds = []
    for batch in ordered:
        start = time.perf_counter()
        run(folder, batch)
        seconds.append(time.perf_counter() - start)
    np.savez(
        out_path,
        seconds=np.asarray(seconds, "float64"),
        runtime_name=np.asarray(artifact.name),
        runtime_version=np.asarray(artifact.version),
        imported_nnzoo=np.asarray(_imported("nnzoo")),
        imported_keras=np.asarray(_imported("keras")),
        **outputs,
    )
    # The verification is only worth something if neither loaded: say so loudly if one did.
    assert not _imported("nnzoo"), "the export runner imported nnzoo"
    assert not _imported("keras"), "the export runner imported keras"
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
