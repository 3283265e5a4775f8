"""The quick start vs a bare Keras script training the same digits MLP (goal: <= 1.15x).

Both run as fresh processes (imports, data, build, fit, test evaluation), the same model,
optimizer, batch size, epochs and splits; nnzoo also writes its run directory, checkpoints
and plots. Prints test accuracy and wall time side by side.

    python scripts/bench_quickstart.py [--epochs 40] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

BARE = textwrap.dedent(
    """
    import os, sys
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras, numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    epochs = int(sys.argv[1])
    keras.utils.set_random_seed(42)
    d = load_digits()
    x, y = (d.data / 16.0).astype("float32"), d.target.astype("int32")
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.2, random_state=42, stratify=y)
    xtr, xva, ytr, yva = train_test_split(xtr, ytr, test_size=0.1, random_state=43, stratify=ytr)
    model = keras.Sequential([
        keras.Input((64,)),
        keras.layers.Dense(256, activation="relu"), keras.layers.Dropout(0.2),
        keras.layers.Dense(128, activation="relu"), keras.layers.Dropout(0.2),
        keras.layers.Dense(10),
    ])
    steps = int(np.ceil(len(xtr) / 32)) * epochs
    lr = keras.optimizers.schedules.CosineDecay(0.0, steps - int(np.ceil(len(xtr) / 32)),
        warmup_target=0.002, warmup_steps=int(np.ceil(len(xtr) / 32)))
    model.compile(keras.optimizers.Adam(lr),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(xtr, ytr, batch_size=32, epochs=epochs, validation_data=(xva, yva), verbose=0)
    print("accuracy", model.evaluate(xte, yte, verbose=0)[1])
    """
)


def run(cmd: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - start
    line = [ln for ln in out.splitlines() if "accuracy" in ln][-1]
    return wall, float(line.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = tempfile.mkdtemp()
    nnzoo_cmd = [
        sys.executable,
        "-m",
        "nnzoo.cli",
        "train",
        "configs/quickstart.yaml",
        "-q",
        "--runs-dir",
        runs,
        "--epochs",
        str(args.epochs),
        "--set",
        "train.callbacks.early_stopping=false",
    ]
    bare_cmd = [sys.executable, "-c", BARE, str(args.epochs)]
    results = {"bare keras": [], "nnzoo train": []}
    for _ in range(args.repeat):
        results["bare keras"].append(run(bare_cmd))
        results["nnzoo train"].append(run(nnzoo_cmd))
    print(f"{'':12s} {'wall s (median)':>16s} {'test accuracy':>14s}")
    walls = {}
    for name, rs in results.items():
        walls[name] = statistics.median(w for w, _ in rs)
        print(f"{name:12s} {walls[name]:16.2f} {statistics.median(a for _, a in rs):14.4f}")
    print(f"ratio nnzoo / bare: {walls['nnzoo train'] / walls['bare keras']:.3f} (goal <= 1.15)")


if __name__ == "__main__":
    main()
