"""``nnzoo predict`` on 100,000 rows from a .npy vs a bare ``model.predict`` (goal: <= 1.10x).

One tiny quick-start run (the digits MLP, 1 epoch) is trained in a temporary folder, and
100,000 raw digits-like rows (64 features, 0..16, float32) are saved as a .npy. Then, each as
a fresh process, timed whole (imports, loading the model, reading, checking, predicting,
writing):

- nnzoo: ``python -m nnzoo.cli predict RUN X.npy --output out.csv --force`` (the CLI as a
  subprocess: reads the .npy in batches, refuses NaN, predicts, writes a CSV of the class name,
  its probability and every class's probability), and again writing a ``.json`` (one object
  per row);
- bare: ``keras.saving.load_model(model.keras)``, ``model.predict(np.load(X.npy),
  batch_size=1024)`` (the same batch size as nnzoo's default) and ``np.save`` of the output.

Prints median wall seconds of ``--repeat`` runs (after one warm-up each), the peak RSS of
each process (``ru_maxrss`` of that child) and the ratio.

    python scripts/bench_predict.py [--rows 100000] [--repeat 3] [--formats csv,json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BARE = textwrap.dedent(
    """
    import os, sys
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras, numpy as np
    import nnzoo.layers  # the run's custom preprocessing layers, registered for loading
    model = keras.saving.load_model(sys.argv[1], compile=False)
    x = np.load(sys.argv[2])
    np.save(sys.argv[3], model.predict(x, batch_size=1024, verbose=0))
    """
)


def measure(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``cmd`` as a child process."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT
    )
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{cmd} failed:\n{stderr.decode()}")
    return wall, usage.ru_maxrss / 1024  # KB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", default="csv,json", help="nnzoo's output files (csv,json)")
    args = parser.parse_args()

    import numpy as np

    tmp = Path(tempfile.mkdtemp())
    train = [
        sys.executable,
        "-m",
        "nnzoo.cli",
        "train",
        str(ROOT / "configs" / "quickstart.yaml"),
        "-q",
        "--runs-dir",
        str(tmp / "runs"),
        "--epochs",
        "1",
    ]
    subprocess.run(train, check=True, capture_output=True, cwd=ROOT)
    run_dir = next(p.parent for p in (tmp / "runs").rglob("model.keras"))
    rows = tmp / "x.npy"
    rng = np.random.default_rng(0)
    np.save(rows, rng.integers(0, 17, size=(args.rows, 64)).astype("float32"))

    commands = {
        "bare model.predict": [
            sys.executable,
            "-c",
            BARE,
            str(run_dir / "model.keras"),
            str(rows),
            str(tmp / "bare.npy"),
        ],
    }
    for fmt in args.formats.split(","):
        name = "nnzoo predict" + ("" if fmt == "csv" else f" .{fmt}")
        commands[name] = [
            *[sys.executable, "-m", "nnzoo.cli", "predict", str(run_dir), str(rows)],
            *["--output", str(tmp / f"out.{fmt}"), "--force"],
        ]
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for cmd in commands.values():
        measure(cmd)  # warm-up: file caches, .pyc
    for _ in range(args.repeat):  # interleaved, so that a slow moment hits both
        for name, cmd in commands.items():
            results[name].append(measure(cmd))
    written = len(np.load(tmp / "bare.npy"))
    if "csv" in args.formats.split(","):
        written = (tmp / "out.csv").read_text().count("\n") - 1
    print(f"{args.rows} rows x 64 features (.npy), digits MLP, {written} predictions written")
    medians = {}
    for name, runs in results.items():
        wall = statistics.median(w for w, _ in runs)
        rss = max(r for _, r in runs)
        medians[name] = wall
        each = [round(w, 2) for w, _ in runs]
        print(f"{name:20s} {wall:6.2f} s  peak RSS {rss:6.0f} MB  (runs: {each})")
    for name in medians:
        if name.startswith("nnzoo"):
            ratio = medians[name] / medians["bare model.predict"]
            print(f"ratio {name} / bare: {ratio:.2f} (goal <= 1.10)")


if __name__ == "__main__":
    main()
