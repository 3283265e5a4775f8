"""`nnzoo benchmark` over the catalog's small entries on TensorFlow and JAX -> docs/benchmarks.md.

Each backend runs in its own process (Keras picks its backend once per process): it runs
``nnzoo.benchmark.benchmark_model`` for every small entry in train and infer mode and appends
the rows to one CSV; this process then writes a table per backend and mode.

    nice -n 10 python scripts/bench_catalog.py                # the committed table
    python scripts/bench_catalog.py --steps 20 --warmup 5     # a longer measurement
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The catalog's small entries: CPU-sized defaults (a 32x32 image, a feature vector, a
#: sequence of at most 128 tokens) and at most ~1.4M parameters.
SMALL = (
    "perceptron",
    "mlp_xor",
    "mlp",
    "cnn_cifar",
    "vit_tiny",
    "lstm",
    "gru",
    "transformer",
    "bert_tiny",
    "gpt_nano",
)
BACKENDS = ("tensorflow", "jax")
MODES = ("train", "infer")


def worker(args: argparse.Namespace) -> None:
    from nnzoo.benchmark import append_csv, benchmark_model

    for name in args.models:
        for mode in MODES:
            result = benchmark_model(
                name,
                mode=mode,
                batch_size=args.batch_size,
                steps=args.steps,
                warmup=args.warmup,
                sequence_length=args.sequence_length if _is_tokens(name) else None,
            )
            append_csv(args.csv, result)
            print(f"{result.backend} {name} {mode}: {result.examples_per_s:.1f} ex/s", flush=True)


def _is_tokens(name: str) -> bool:
    from nnzoo.benchmark import TOKEN_KINDS
    from nnzoo.registry import get_card

    return get_card(name).input_kind in TOKEN_KINDS


def _count(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.1f}K" if n >= 1e3 else str(n)


def write_doc(rows: list[dict[str, str]], args: argparse.Namespace, elapsed: float) -> str:
    sys.path.insert(0, str(ROOT))
    from nnzoo.benchmark import machine_description

    today = datetime.date.today().isoformat()
    lines = [
        "# Benchmarks",
        "",
        "Throughput of the catalog's small entries, measured by `nnzoo benchmark` (made by "
        "`scripts/bench_catalog.py`; rerun it to refresh this page).",
        "",
        f"- Machine: {machine_description()}; CPU only, shared with other work while measured "
        "(`nice -n 10`), so read the numbers as orders of magnitude.",
        f"- Date: {today}; {elapsed / 60:.1f} minutes for the whole page.",
        f"- Setting: batch size {args.batch_size}, {args.warmup} warm-up step(s), "
        f"{args.steps} timed steps; token models at sequence length {args.sequence_length} "
        "(random tokens, each row padded after a random length between half and all of it).",
        "- Train: `train_on_batch` with Adam and the task's loss; infer: `predict_on_batch`. "
        "Each step's time includes waiting for its result.",
        "- examples/s = batch size / median step time; tokens/s (token models) = examples/s x "
        "sequence length; peak MB = the process's resident-memory high-water mark so far "
        "(`getrusage`) of the backend's one process, so it only grows along the run.",
        "",
        "Measure one entry yourself: `nnzoo --backend jax benchmark gpt_nano --mode train "
        "--batch-size 32 --csv bench.csv`.",
    ]
    for backend in BACKENDS:
        for mode in MODES:
            chosen = [r for r in rows if r["backend"] == backend and r["mode"] == mode]
            if not chosen:
                continue
            lines += [
                "",
                f"## {backend}, {mode}",
                "",
                "| entry | params | batch | examples/s | tokens/s | ms/step (median) "
                "| ms/step (p90) | peak MB |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            ]
            for r in chosen:
                tokens = f"{float(r['tokens_per_s']):,.0f}" if r["tokens_per_s"] else "—"
                lines.append(
                    f"| {r['model']} | {_count(int(r['num_params']))} | {r['batch_size']} "
                    f"| {float(r['examples_per_s']):,.1f} | {tokens} "
                    f"| {float(r['ms_per_step_median']):.2f} | {float(r['ms_per_step_p90']):.2f} "
                    f"| {float(r['peak_rss_mb']):,.0f} |"
                )
    missing = [b for b in BACKENDS if not any(r["backend"] == b for r in rows)]
    if missing:
        lines += ["", f"Not measured (backend failed or not installed): {', '.join(missing)}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument("--models", nargs="+", default=list(SMALL))
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--output", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--csv", help="Keep the rows in this CSV (default: a temporary file).")
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.csv or os.path.join(tmp, "rows.csv")
        for backend in args.backends:
            env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
            cmd = [sys.executable, __file__, "--worker", "--csv", path]
            cmd += ["--batch-size", str(args.batch_size), "--steps", str(args.steps)]
            cmd += ["--warmup", str(args.warmup), "--sequence-length", str(args.sequence_length)]
            cmd += ["--models", *args.models]
            proc = subprocess.run(cmd, env=env, cwd=ROOT)
            if proc.returncode != 0:
                print(f"{backend}: the worker failed (exit {proc.returncode})", file=sys.stderr)
        rows = []
        if os.path.exists(path):
            with open(path) as f:
                rows = list(csv.DictReader(f))
    Path(args.output).write_text(write_doc(rows, args, time.perf_counter() - started))
    print(f"wrote {args.output} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
