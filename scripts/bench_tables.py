"""Reading a table: the old ``csv``-module reader vs nnzoo's pyarrow reader vs bare pyarrow.

python scripts/bench_tables.py [--rows 200000] [--columns 20] [--repeat 3] [--parquet] [--train]

Writes a CSV of ``--rows`` rows of ``--columns`` numeric features (6 decimals) and a string
label, then reads it into training arrays in a fresh process per reader and per repeat:

- ``csv module (before)``: nnzoo's reader before pyarrow (every row a list of strings, then
  ``float64`` and ``float32`` arrays; the same helpers, kept as the reader of last resort);
- ``nnzoo csv source``: ``get_source("csv").loader``, the arrays training gets;
- ``pyarrow.csv.read_csv``: a pyarrow Table with inferred types, no arrays (the goal's yardstick:
  nnzoo's throughput >= 0.8x of it).

With ``--parquet`` the same table is also written as Parquet and read by nnzoo's ``parquet``
source and by ``pyarrow.parquet.read_table``. Seconds are the median over ``--repeat`` runs of
the reading alone; peak RSS is the process's high-water mark (imports included; the line
``imports only`` gives that floor).

With ``--train``, one epoch of ``mlp`` (``nnzoo.train``: hidden units 32 and 16, batch 1024,
the configs/parquet_mlp.yaml recipe on the CSV) runs once in its own process: its wall time
and peak resident memory (VmHWM: reading, splitting, feature statistics, the pipeline and the
epoch) beside ``pyarrow.csv.read_csv``'s peak. Goal (issue 25): <= 1.5 GB at 5M rows (~1 GB).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Each reader runs in its own process: {path} is the file; it prints one JSON line.
CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
import numpy as np, pyarrow, pyarrow.csv, pyarrow.parquet
import nnzoo.data
path = {path!r}
load = nnzoo.data.get_source  # the source registry's modules imported before the clock
load("csv"), load("parquet")
start = time.perf_counter()
{body}
seconds = time.perf_counter() - start
# VmHWM, not ru_maxrss: Linux carries the parent's peak across fork and exec into ru_maxrss.
status = open("/proc/self/status").read().split("VmHWM:")[1]
peak = int(status.split()[0]) * 1024
print(json.dumps({{"seconds": seconds, "rows": rows, "peak": peak}}))
"""

# The arrays training gets from an nnzoo source ({source}), and a bare pyarrow read ({read}).
NNZOO = "data = load({source!r}).loader(seed=0, path=path)\nrows = len(data.x)"
PYARROW = "rows = pyarrow.{read}(path).num_rows"

READERS = {
    "imports only": "rows = 0",
    "csv module (before)": """
from nnzoo.data._table import csv_rows, feature_rows
from nnzoo.data.files import _csv_labels, _labels
rows_ = list(csv_rows(path, ","))
columns = [c.strip() for c in rows_[0][1]]
data = rows_[1:]
x = feature_rows(data, range(len(columns) - 1), path=path, columns=columns)
y, names = _labels(_csv_labels([row[-1] for _, row in data]))
rows = len(x)
""",
    "nnzoo csv source": NNZOO.format(source="csv"),
    "pyarrow.csv.read_csv": PYARROW.format(read="csv.read_csv"),
}

PARQUET_READERS = {
    "imports only": "rows = 0",
    "nnzoo parquet source": NNZOO.format(source="parquet"),
    "pyarrow.parquet.read_table": PYARROW.format(read="parquet.read_table"),
}


# One epoch of an MLP on the table ({path}), in its own process; prints one JSON line.
TRAIN_CHILD = """
import json, sys, tempfile, time
sys.path.insert(0, {root!r})
from nnzoo.run.bind import load_config
from nnzoo.training import train
overrides = [
    "data.source=csv", "data.params.path={path}", "data.params.label_column=label",
    "data.batch_size=1024", "data.validation_split=0.1", "data.test_split=0.1",
    "model.params.hidden_units=[32, 16]", "train.epochs=1",
]
config = load_config({config!r}, overrides)
start = time.perf_counter()
with tempfile.TemporaryDirectory() as runs:
    train(config, runs_dir=runs, quiet=True)
seconds = time.perf_counter() - start
status = open("/proc/self/status").read().split("VmHWM:")[1]
print(json.dumps({{"seconds": seconds, "peak": int(status.split()[0]) * 1024}}))
"""


def measure_training(path: Path) -> dict[str, float]:
    """One epoch of ``mlp`` on ``path`` by ``nnzoo.train``: wall time and peak RSS."""
    code = TRAIN_CHILD.format(
        root=str(ROOT), path=str(path), config=str(ROOT / "configs" / "parquet_mlp.yaml")
    )
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return {**result, "wall": time.perf_counter() - started}


def write_table(folder: Path, rows: int, columns: int, parquet: bool) -> tuple[Path, Path | None]:
    """A CSV (and Parquet) table of ``rows`` x ``columns`` features and a label, written a
    million rows at a time."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    names = [f"f{i}" for i in range(columns)] + ["label"]
    path = folder / "table.csv"
    parquet_path = folder / "table.parquet" if parquet else None
    writer = None
    with pa.OSFile(str(path), "wb") as sink:
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            x = np.round(rng.normal(size=(n, columns)), 6)
            labels = np.char.add("class_", rng.integers(0, 5, n).astype(str))
            table = pa.table([*x.T, labels], names=names)
            pv.write_csv(
                table, sink, pv.WriteOptions(include_header=start == 0, quoting_style="none")
            )
            if parquet_path is not None:
                writer = writer or pq.ParquetWriter(str(parquet_path), table.schema)
                writer.write_table(table)
    if writer is not None:
        writer.close()
    return path, parquet_path


def measure(body: str, path: Path, repeat: int) -> dict[str, float]:
    results = []
    for _ in range(repeat):
        code = CHILD.format(root=str(ROOT), path=str(path), body=body)
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-2000:])
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return {
        "seconds": statistics.median(r["seconds"] for r in results),
        "rows": results[0]["rows"],
        "peak": max(r["peak"] for r in results),
    }


def report(title: str, results: dict[str, dict[str, float]], yardstick: str) -> None:
    base = results[yardstick]
    print(f"\n{title}")
    print(
        f"{'reader':28s} {'seconds':>8s} {'rows/s':>12s} {'peak RSS':>10s} "
        f"{'throughput':>11s} {'memory':>7s}"
    )
    for name, r in results.items():
        if name == "imports only":
            print(f"{name:28s} {'':>8s} {'':>12s} {r['peak'] / 2**20:8.0f} MB")
            continue
        speed = r["rows"] / r["seconds"]
        print(
            f"{name:28s} {r['seconds']:8.3f} {speed:12,.0f} {r['peak'] / 2**20:8.0f} MB "
            f"{base['seconds'] / r['seconds']:10.2f}x {r['peak'] / base['peak']:6.2f}x"
        )
    print(f"(throughput and memory relative to {yardstick})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--parquet", action="store_true", help="also read it as Parquet")
    parser.add_argument("--skip-before", action="store_true", help="leave out the csv module")
    parser.add_argument(
        "--train", action="store_true", help="also one epoch of mlp: its time and peak RSS"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path, parquet_path = write_table(Path(tmp), args.rows, args.columns, args.parquet)
        size = csv_path.stat().st_size
        print(
            f"{csv_path.name}: {args.rows:,} rows x {args.columns} features + a label, "
            f"{size / 2**20:.0f} MB"
        )
        readers = {k: v for k, v in READERS.items() if not (args.skip_before and "before" in k)}
        results = {name: measure(body, csv_path, args.repeat) for name, body in readers.items()}
        report("CSV", results, "pyarrow.csv.read_csv")
        if args.train:
            trained = measure_training(csv_path)
            yardstick = results["pyarrow.csv.read_csv"]["peak"]
            print(
                f"\nnnzoo.train, mlp [32, 16], batch 1024, one epoch: "
                f"{trained['seconds']:.1f} s training ({trained['wall']:.1f} s with imports), "
                f"peak RSS {trained['peak'] / 2**20:.0f} MB = "
                f"{trained['peak'] / yardstick:.2f}x pyarrow.csv.read_csv's "
                f"{yardstick / 2**20:.0f} MB   (goal <= 1.5 GB at 5M rows)"
            )
        if parquet_path is not None:
            results = {
                name: measure(body, parquet_path, args.repeat)
                for name, body in PARQUET_READERS.items()
            }
            report("Parquet", results, "pyarrow.parquet.read_table")


if __name__ == "__main__":
    main()
