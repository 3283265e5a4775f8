"""Read the inputs of ``nnzoo predict``: arrays, CSV, images, or lines of text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nnzoo.data import IMAGE_EXTENSIONS
from nnzoo.errors import NnzooError


class InputError(NnzooError):
    """The input of ``nnzoo predict`` cannot be read."""


def read_inputs(path: Path, run: Any) -> tuple[Any, list[str]]:
    """``(model inputs, a label per example)`` for the file or folder at ``path``."""
    spec = run.spec
    if not path.exists():
        raise InputError(f"{path}: no such file or folder. Fix: check the path")
    if path.is_dir() or path.suffix.lower() in IMAGE_EXTENSIONS:
        return _images(path, spec)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        x = np.load(path, allow_pickle=False)
    elif suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            key = "x" if "x" in data.files else data.files[0]
            x = data[key]
    elif suffix == ".csv":
        x = _csv(path)
    elif suffix == ".txt" and spec.input_kind in ("tokens", "tokens_segments"):
        return _text(path, run)
    else:
        raise InputError(
            f"{path}: cannot read '{suffix}' files. Fix: give a .npy, .npz, .csv file, an "
            "image or a folder of images, or a .txt file (one text per line) for text models"
        )
    if spec.input_kind not in ("features", "image"):
        raise InputError(f"{path}: a {spec.input_kind} model needs text. Fix: give a .txt file")
    x = np.asarray(x, dtype="float32")
    want = tuple(spec.input_shape)
    if x.shape[1:] != want:
        if x.ndim == 1 and x.shape == want:
            x = x[None]
        elif int(np.prod(x.shape[1:])) == int(np.prod(want)):
            x = x.reshape((len(x), *want))
        else:
            raise InputError(
                f"{path}: examples have shape {x.shape[1:]} but the model takes {want}. "
                "Fix: give one example per row with the training data's features"
            )
    return x, [f"{path.name}[{i}]" for i in range(len(x))]


def _csv(path: Path) -> np.ndarray:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    try:
        float(lines[0].split(",")[0])
        start = 0
    except ValueError:
        start = 1  # a header row
    try:
        return np.array([[float(v) for v in line.split(",")] for line in lines[start:]])
    except ValueError as err:
        raise InputError(f"{path}: not a numeric CSV ({err}). Fix: numbers only") from None


def _images(path: Path, spec: Any) -> tuple[np.ndarray, list[str]]:
    import keras

    if spec.input_kind != "image":
        raise InputError(f"{path}: this model takes {spec.input_kind}, not images")
    files = (
        sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
        if path.is_dir()
        else [path]
    )
    if not files:
        raise InputError(f"{path}: no image files in the folder")
    h, w, c = spec.input_shape
    mode = "grayscale" if c == 1 else "rgb"
    arrays = [
        keras.utils.img_to_array(keras.utils.load_img(f, color_mode=mode, target_size=(h, w)))
        for f in files
    ]
    return np.stack(arrays).astype("float32") / 255.0, [str(f) for f in files]


def _text(path: Path, run: Any) -> tuple[dict[str, np.ndarray], list[str]]:
    from nnzoo.data.text import encode_texts
    from nnzoo.data.tokenizers import tokenizer_from_json

    tokenizer_file = run.run_dir / "tokenizer.json"
    if not tokenizer_file.exists():
        raise InputError(f"{run.run_dir}: no tokenizer.json; the run cannot read text")
    tokenizer = tokenizer_from_json(tokenizer_file.read_text())
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    inputs = encode_texts(
        tokenizer,
        lines,
        int(run.spec.sequence_length or run.spec.input_shape[0]),
        segments=run.spec.input_kind == "tokens_segments",
    )
    return inputs, [line[:40] for line in lines]
