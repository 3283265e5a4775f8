"""Benchmark `nnzoo tune` on the offline mlp_digits config, side by side:

1. N trials with the median pruner vs without pruning: wall time and best value
   (goal: >= 2x faster at an equal best value, within 0.5 point of accuracy);
2. 1 vs 2 workers (journal storage): finished trials per hour (goal: >= 1.7x).

    python scripts/bench_tune.py                 # 30 trials each, as the issue states
    python scripts/bench_tune.py --trials 8 --epochs 10
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nnzoo.config import load_config  # noqa: E402
from nnzoo.tuning import tune  # noqa: E402


def _run(overrides: list[str], *, trials: int, workers: int, runs_dir: str) -> tuple[float, Any]:
    config = load_config(ROOT / "configs" / "tune" / "mlp_digits.yaml", overrides)
    start = time.perf_counter()
    result = tune(config, trials=trials, workers=workers, runs_dir=runs_dir, quiet=True)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30, help="trials per study (30)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per trial (20)")
    parser.add_argument("--worker-trials", type=int, default=None, help="for 1 vs 2 workers")
    args = parser.parse_args()
    base = [f"train.epochs={args.epochs}", "train.callbacks.early_stopping.enabled=false"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, pruner in (("no pruning", "none"), ("median pruner", "median")):
            wall, res = _run(
                [*base, f"tune.pruner={pruner}"],
                trials=args.trials,
                workers=1,
                runs_dir=f"{tmp}/{pruner}",
            )
            rows.append((label, wall, res))
        n = args.worker_trials or args.trials
        for workers in (1, 2):
            wall, res = _run(
                [*base, "tune.pruner=none", f"name=bench_w{workers}"],
                trials=n,
                workers=workers,
                runs_dir=f"{tmp}/w{workers}",
            )
            rows.append((f"{workers} worker(s)", wall, res))

    print(f"{'study':<16}{'trials':>8}{'pruned':>8}{'wall s':>9}{'best':>9}{'trials/h':>10}")
    for label, wall, res in rows:
        print(
            f"{label:<16}{res.finished:>8}{res.pruned:>8}{wall:>9.1f}"
            f"{res.best_value or float('nan'):>9.4f}{3600 * res.finished / wall:>10.0f}"
        )
    (_, w_none, r_none), (_, w_med, r_med), (_, w1, r1), (_, w2, r2) = rows
    speed = w_none / w_med
    gap = 100 * abs((r_none.best_value or 0) - (r_med.best_value or 0))
    scale = (r2.finished / w2) / (r1.finished / w1)
    print(
        f"pruning: {speed:.2f}x faster (goal >= 2x), best differs by {gap:.2f} points "
        f"(goal <= 0.5)"
    )
    print(f"workers: 2 workers give {scale:.2f}x the trials per hour of 1 (goal >= 1.7x)")


if __name__ == "__main__":
    main()
