"""Streaming images: memory and speed of nnzoo's image pipeline, side by side.

Generates N JPEGs at 224 x 224 (4 classes) and 10x that, then measures, each in its own
subprocess (so one measurement's memory never counts in another's):

- one full decode pass over the folder through nnzoo's pipeline (``image_folder`` listed,
  ``make_dataset``, ``data.cache: false``) and through
  ``keras.utils.image_dataset_from_directory``: peak resident memory and images per second
  (the pass of median speed of ``--repeat``, the two alternated; the time includes listing the
  folder and building the pipeline);
- a capped number of training steps of a small CNN (``nnzoo.train`` on the folder, batch 32,
  ``data.cache: false``) at N and 10N images, and the same model on random tensors (the
  ``synthetic`` source, two batches in memory): peak resident memory.

Goals (issue 25): peak memory at 10N <= 1.25x that at N; <= 1.5 GB above random tensors;
decoding >= 0.9x Keras's images/s. Nothing here is asserted.

    python scripts/bench_data.py                       # N = 300: a few minutes on 2 cores
    python scripts/bench_data.py --images 2000 --steps 30   # the issue's sizes (2,000 / 20,000)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
CLASSES = ("ants", "bees", "cats", "dogs")
SIZE = 224


def generate(folder: Path, count: int, seed: int) -> None:
    """``count`` JPEGs at 224 x 224 (smooth colour fields with noise, ~15 kB each)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    grid = np.linspace(0.0, 1.0, SIZE)
    for name in CLASSES:
        (folder / name).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        fx, fy, phase = rng.uniform(1, 6, size=3)
        base = np.sin(fx * grid[None, :, None] * 6 + phase + np.arange(3)) * np.cos(
            fy * grid[:, None, None] * 6
        )
        pixels = np.clip(128 + 100 * base + rng.normal(0, 12, (SIZE, SIZE, 3)), 0, 255)
        Image.fromarray(pixels.astype("uint8")).save(
            folder / CLASSES[i % len(CLASSES)] / f"{i:06d}.jpg", quality=90
        )


def _rss_now() -> int:
    """This process's resident memory now, in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kB


# --------------------------------------------------------------------------- measurements


def _decode_pass(make: Callable[[], Any]) -> dict:
    """Images and seconds of one pass over the batches of ``make()`` (built inside the
    clock), and the resident memory before it (TensorFlow imported)."""
    import keras  # noqa: F401  (imports are in the baseline, not in the pass)
    import tensorflow as tf  # noqa: F401

    baseline = _rss_now()
    started = time.perf_counter()
    images = sum(int(xb.shape[0]) for xb, _ in make())
    return {"images": images, "seconds": time.perf_counter() - started, "baseline": baseline}


def decode_nnzoo(folder: str, batch_size: int) -> dict:
    from nnzoo.data import get_source
    from nnzoo.data.pipeline import make_dataset

    source = get_source("image_folder")  # imports the source modules

    def make() -> Any:
        data = source.loader(seed=0, path=folder, image_size=SIZE)
        return make_dataset(data.x, data.y, batch_size=batch_size, training=False, cache=False)

    return _decode_pass(make)


def decode_keras(folder: str, batch_size: int) -> dict:
    import keras

    def make() -> Any:
        return keras.utils.image_dataset_from_directory(
            folder, image_size=(SIZE, SIZE), batch_size=batch_size, shuffle=False, verbose=False
        )

    return _decode_pass(make)


def _small_cnn(source: list[str], steps: int, runs: str) -> dict:
    from nnzoo.run.bind import load_config
    from nnzoo.training import train

    overrides = [
        *source,
        "data.batch_size=32",
        "data.cache=false",
        "data.augment={}",
        "data.validation_split=0.02",  # a few files: the steps are what is measured
        "data.test_split=0.02",
        "model.params.filters=[8, 16]",
        "model.params.convs_per_block=[1, 1]",
        "model.params.dense_units=32",
        "train.epochs=1",
        f"train.steps_per_epoch={steps}",
    ]
    config = load_config(ROOT / "configs" / "cnn_cifar.yaml", overrides)
    baseline = _rss_now()
    started = time.perf_counter()
    train(config, runs_dir=runs, quiet=True)
    return {"steps": steps, "seconds": time.perf_counter() - started, "baseline": baseline}


def train_folder(folder: str, steps: int, runs: str) -> dict:
    source = [
        "data.source=image_folder",
        f"data.params.path={folder}",
        f"data.params.image_size={SIZE}",
    ]
    return _small_cnn(source, steps, runs)


def train_random(steps: int, runs: str) -> dict:
    source = [
        "data.source=synthetic",
        "data.params.input_kind=image",
        f"data.params.input_shape=[{SIZE}, {SIZE}, 3]",
        "data.params.num_classes=4",
        "data.params.num_examples=64",  # two batches
    ]
    return _small_cnn(source, steps, runs)


WORKERS = {
    "decode_nnzoo": decode_nnzoo,
    "decode_keras": decode_keras,
    "train_folder": train_folder,
    "train_random": train_random,
}


def measure(name: str, *args: object) -> dict:
    """``WORKERS[name](*args)`` in a fresh subprocess, with its peak resident memory."""
    cmd = [sys.executable, __file__, "--worker", name, *map(str, args)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _gb(num_bytes: float) -> str:
    return f"{num_bytes / 1e9:.2f} GB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300, help="N (default 300)")
    parser.add_argument("--scale", type=int, default=10, help="the larger folder is N x this")
    parser.add_argument("--steps", type=int, default=15, help="training steps measured")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3, help="decode passes of each (median)")
    parser.add_argument("--keep", help="generate into (and keep) this folder")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.worker:
        result = WORKERS[args.worker](*_worker_args(args.worker, rest))
        result["peak_rss"] = _peak_rss()
        print(json.dumps(result))
        return

    sizes = [args.images, args.images * args.scale]
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="nnzoo-bench-data-"))
    try:
        folders = {}
        for n in sizes:
            folders[n] = work / f"images_{n}"
            if not folders[n].exists():
                started = time.perf_counter()
                generate(folders[n], n, seed=n)
                seconds = time.perf_counter() - started
                print(f"generated {n} JPEGs at {SIZE}x{SIZE} in {seconds:.0f} s")
        rows = {}
        for n in sizes:
            # Alternated and repeated: a shared machine's load falls on both alike.
            passes: dict[str, list[dict]] = {"nnzoo": [], "keras": []}
            for _ in range(args.repeat):
                for name in passes:
                    passes[name].append(measure(f"decode_{name}", folders[n], args.batch_size))
            for name, results in passes.items():
                rows[(f"decode {name}", n)] = _median_pass(results)
            runs = work / f"runs_{n}"
            rows[("train folder", n)] = measure("train_folder", folders[n], args.steps, runs)
        rows[("train random", 0)] = measure("train_random", args.steps, work / "runs_random")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    _report(rows, sizes, args)


def _median_pass(results: list[dict]) -> dict:
    """The pass of median speed, with the highest peak memory of them all."""
    ranked = sorted(results, key=lambda r: r["images"] / r["seconds"])
    return {**ranked[len(ranked) // 2], "peak_rss": max(r["peak_rss"] for r in results)}


def _worker_args(name: str, rest: list[str]) -> list[object]:
    if name.startswith("decode"):
        return [rest[0], int(rest[1])]
    if name == "train_folder":
        return [rest[0], int(rest[1]), rest[2]]
    return [int(rest[0]), rest[1]]


def _report(rows: dict, sizes: list[int], args: argparse.Namespace) -> None:
    small, large = sizes
    print(f"\n{'':34s}{f'N = {small}':>14s}{f'N = {large}':>14s}{'ratio':>9s}")

    def line(label: str, key: str, fmt, value) -> None:
        a, b = value(rows[(key, small)]), value(rows[(key, large)])
        print(f"{label:34s}{fmt(a):>14s}{fmt(b):>14s}{b / a:>8.2f}x")

    def speed(r: dict) -> float:
        return r["images"] / r["seconds"]

    line("decode pass, nnzoo: peak RSS", "decode nnzoo", _gb, lambda r: r["peak_rss"])
    line("decode pass, keras: peak RSS", "decode keras", _gb, lambda r: r["peak_rss"])
    line("decode pass, nnzoo: images/s", "decode nnzoo", lambda v: f"{v:.0f}", speed)
    line("decode pass, keras: images/s", "decode keras", lambda v: f"{v:.0f}", speed)
    ratios = [speed(rows[("decode nnzoo", n)]) / speed(rows[("decode keras", n)]) for n in sizes]
    print(f"{'  nnzoo / keras images/s':34s}{ratios[0]:>14.2f}{ratios[1]:>14.2f}   (goal >= 0.9)")
    line(f"train {args.steps} steps: peak RSS", "train folder", _gb, lambda r: r["peak_rss"])
    random = rows[("train random", 0)]["peak_rss"]
    print(f"{'  on random tensors: peak RSS':34s}{_gb(random):>14s}")
    for n in sizes:
        above = rows[("train folder", n)]["peak_rss"] - random
        print(f"{f'  above random tensors at N={n}':34s}{_gb(above):>14s}   (goal <= 1.5 GB)")
    first = rows[("decode nnzoo", small)]["baseline"]
    print(f"\nresident memory after importing TensorFlow (before any data): {_gb(first)}")
    print("goal: 10N / N peak RSS <= 1.25x (decode pass and training steps)")


if __name__ == "__main__":
    main()
