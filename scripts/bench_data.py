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
  ``synthetic`` source, two batches in memory): peak resident memory;
- the seconds per training step of that CNN on the N folder, ``nnzoo.train`` vs a bare Keras
  script (``keras.utils.image_dataset_from_directory`` scaled to [0, 1], the very model built
  by nnzoo's registry, compiled as nnzoo compiles it: Adam 1e-3, sparse cross-entropy on
  logits, accuracy): the same batch size and number of steps, timed by the same callback from
  the end of step ``--warm-steps`` to the end of the last (tracing and the first batches left
  out); the run of median speed of ``--repeat``, the two alternated.

Goals (issue 25): peak memory at 10N <= 1.25x that at N; <= 1.5 GB above random tensors;
decoding >= 0.9x Keras's images/s; training steps <= 1.10x the bare Keras script's time.
Nothing here is asserted.

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


#: The small CNN of the training measurements (``cnn_cifar``'s architecture, made small).
CNN_PARAMS = {"filters": [8, 16], "convs_per_block": [1, 1], "dense_units": 32}


def _step_timer(warm: int) -> Any:
    """A Keras callback that times the training steps after the first ``warm``: ``.result()``
    is ``(steps, seconds)`` from the end of step ``warm`` to the end of the last."""
    import keras

    class StepTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.ends: list[float] = []

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self.ends.append(time.perf_counter())

        def result(self) -> tuple[int, float]:
            if len(self.ends) <= warm:
                return 0, 0.0
            return len(self.ends) - warm, self.ends[-1] - self.ends[warm - 1]

    return StepTimer()


def _small_cnn(source: list[str], steps: int, runs: str, warm: int = 0) -> dict:
    from nnzoo.run.bind import load_config
    from nnzoo.training import train

    overrides = [
        *source,
        "data.batch_size=32",
        "data.cache=false",
        "data.augment={}",
        "data.validation_split=0.02",  # a few files: the steps are what is measured
        "data.test_split=0.02",
        *(f"model.params.{k}={json.dumps(v)}" for k, v in CNN_PARAMS.items()),
        "train.epochs=1",
        f"train.steps_per_epoch={steps}",
    ]
    config = load_config(ROOT / "configs" / "cnn_cifar.yaml", overrides)
    baseline = _rss_now()
    timer = _step_timer(warm)
    started = time.perf_counter()
    train(config, runs_dir=runs, quiet=True, callbacks=[timer])
    seconds = time.perf_counter() - started
    timed, step_seconds = timer.result()
    return {
        "steps": steps,
        "seconds": seconds,
        "baseline": baseline,
        "timed_steps": timed,
        "step_seconds": step_seconds,
    }


def train_folder(folder: str, steps: int, runs: str) -> dict:
    source = [
        "data.source=image_folder",
        f"data.params.path={folder}",
        f"data.params.image_size={SIZE}",
    ]
    return _small_cnn(source, steps, runs)


def steps_nnzoo(folder: str, steps: int, warm: int, runs: str) -> dict:
    """``steps`` training steps of the small CNN by ``nnzoo.train`` on ``folder``."""
    source = [
        "data.source=image_folder",
        f"data.params.path={folder}",
        f"data.params.image_size={SIZE}",
    ]
    return _small_cnn(source, steps, runs, warm)


def steps_keras(folder: str, steps: int, warm: int, batch_size: int) -> dict:
    """The same steps in a bare Keras script: ``image_dataset_from_directory`` and ``fit``."""
    import keras

    from nnzoo.registry import build_model

    keras.utils.set_random_seed(42)
    ds = keras.utils.image_dataset_from_directory(
        folder, image_size=(SIZE, SIZE), batch_size=batch_size, shuffle=True, seed=42
    )
    ds = ds.map(lambda x, y: (x / 255.0, y)).repeat().prefetch(-1)  # nnzoo's [0, 1]
    shape = [SIZE, SIZE, 3]
    model = build_model(
        "cnn_cifar",
        input_shape=shape,
        num_classes=len(CLASSES),
        batch_norm=False,
        l2=0.0,
        **CNN_PARAMS,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    timer = _step_timer(warm)
    started = time.perf_counter()
    model.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[timer])
    timed, step_seconds = timer.result()
    return {
        "steps": steps,
        "seconds": time.perf_counter() - started,
        "timed_steps": timed,
        "step_seconds": step_seconds,
    }


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
    "steps_nnzoo": steps_nnzoo,
    "steps_keras": steps_keras,
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
    parser.add_argument(
        "--warm-steps", type=int, default=5, help="steps left out of the step timing"
    )
    parser.add_argument(
        "--only-steps", action="store_true", help="measure the training steps alone (N only)"
    )
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
        for n in sizes[:1] if args.only_steps else sizes:
            folders[n] = work / f"images_{n}"
            if not folders[n].exists():
                started = time.perf_counter()
                generate(folders[n], n, seed=n)
                seconds = time.perf_counter() - started
                print(f"generated {n} JPEGs at {SIZE}x{SIZE} in {seconds:.0f} s")
        rows = {}
        small = sizes[0]
        steps: dict[str, list[dict]] = {"nnzoo": [], "keras": []}
        for i in range(args.repeat):
            for name in steps:
                last = (folders[small], args.steps, args.warm_steps)
                last += (work / f"runs_steps_{i}",) if name == "nnzoo" else (args.batch_size,)
                steps[name].append(measure(f"steps_{name}", *last))
        if args.only_steps:
            _report_steps(steps, args)
            return
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
    _report_steps(steps, args)


def _report_steps(steps: dict[str, list[dict]], args: argparse.Namespace) -> None:
    """Seconds per training step after the warm ones, each side's run of median speed."""
    print(f"\ntraining steps {args.warm_steps + 1}..{args.steps} at N = {args.images}")
    medians = {}
    for name, results in steps.items():
        per_step = sorted(r["step_seconds"] / r["timed_steps"] for r in results)
        medians[name] = per_step[len(per_step) // 2]
        runs = ", ".join(f"{1e3 * v:.0f}" for v in per_step)
        print(f"  {name:8s} {1e3 * medians[name]:7.0f} ms/step   (runs: {runs} ms)")
    ratio = medians["nnzoo"] / medians["keras"]
    print(f"  nnzoo / bare keras step time  {ratio:.2f}x   (goal <= 1.10)")


def _median_pass(results: list[dict]) -> dict:
    """The pass of median speed, with the highest peak memory of them all."""
    ranked = sorted(results, key=lambda r: r["images"] / r["seconds"])
    return {**ranked[len(ranked) // 2], "peak_rss": max(r["peak_rss"] for r in results)}


def _worker_args(name: str, rest: list[str]) -> list[object]:
    if name.startswith("decode"):
        return [rest[0], int(rest[1])]
    if name == "train_folder":
        return [rest[0], int(rest[1]), rest[2]]
    if name == "steps_nnzoo":
        return [rest[0], int(rest[1]), int(rest[2]), rest[3]]
    if name == "steps_keras":
        return [rest[0], int(rest[1]), int(rest[2]), int(rest[3])]
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
