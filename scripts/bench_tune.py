"""Benchmark `nnzoo tune` on the quick-start MLP (digits, offline), side by side in one run:

(a) overhead: ``nnzoo tune`` N trials x E epochs without pruning vs a bare Optuna + Keras
    script running the same study (same MLP, data split, space, sampler seed, epochs, baseline
    trial first, no pruner: ``optuna.create_study`` alone would prune with a median pruner);
    whole processes, imports included (goal: ratio <= 1.10);
(b) pruning: 30 trials with each pruner (none, median, successive_halving, hyperband): wall
    time, speed-up over none, best value, epochs trained (and saved), and how many trials
    each pruner stopped at which epoch (goal: >= 2x faster than none at the same best, within
    0.5 point of accuracy); for reference, the bare script's study with no pruner and with
    successive halving (``--bare-pruners``): the speed-up a plain Optuna + Keras recipe gets
    from the same pruner on this machine, where a new model's fixed cost (building it and
    tracing its train and test steps) sets the ceiling;
(c) with --workers: 1 vs 2 workers, finished trials per hour (goal: >= 1.7x).

The seed (42) and the space (learning rate and dropout, batch size fixed at 32) are written
below, not chosen per run. Run it alone on the machine:

    flock /tmp/bench.lock python scripts/bench_tune.py                  # (a) and (b), ~6 min
    python scripts/bench_tune.py --trials 4 --pruning-trials 6 --epochs 5   # a quick look
    python scripts/bench_tune.py --only b --workers
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = 42
PRUNERS = ("none", "median", "successive_halving", "hyperband")

# The study, written out in full (nothing extended): the quick-start MLP on digits; the space
# is the learning rate and the dropout; early stopping off so that only the pruner stops.
CONFIG = textwrap.dedent(
    f"""
    name: bench_tune
    seed: {SEED}
    model:
      name: mlp
      params: {{hidden_units: [256, 128], activation: relu, dropout: 0.2}}
    data: {{source: digits, batch_size: 32, validation_split: 0.1, test_split: 0.2}}
    train:
      epochs: 20
      optimizer: {{name: adam, learning_rate: 0.002}}
      schedule: {{name: cosine, warmup_epochs: 1}}
      monitor: {{metric: val_accuracy, mode: max}}
      callbacks:
        early_stopping: {{enabled: false}}
    tune:
      metric: val_accuracy
      direction: maximize
      sampler: tpe
      pruner: none
      space:
        train.optimizer.learning_rate: {{float: [1.0e-5, 1.0e-1], log: true}}
        model.params.dropout: {{float: [0.1, 0.5]}}
    """
)

# The same study as a user would write it with Optuna and Keras alone (in-memory storage).
BARE = textwrap.dedent(
    """
    import json, os, sys, time
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras, numpy as np, optuna
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    trials, epochs, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    pruner_name = sys.argv[4]
    d = load_digits()
    x, y = (d.data / 16.0).astype("float32"), d.target.astype("int32")
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.2, random_state=seed, stratify=y)
    xtr, xva, ytr, yva = train_test_split(
        xtr, ytr, test_size=0.1, random_state=seed + 1, stratify=ytr)
    steps = int(np.ceil(len(xtr) / 32))

    class Pruning(keras.callbacks.Callback):
        def __init__(self, trial):
            super().__init__()
            self.trial = trial
        def on_epoch_end(self, epoch, logs=None):
            self.trial.report(float(logs["val_accuracy"]), step=epoch + 1)
            if self.trial.should_prune():
                raise optuna.TrialPruned()

    def objective(trial):
        lr = trial.suggest_float("train.optimizer.learning_rate", 1e-5, 1e-1, log=True)
        dropout = trial.suggest_float("model.params.dropout", 0.1, 0.5)
        keras.backend.clear_session()
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([
            keras.Input((64,)),
            keras.layers.Dense(256, activation="relu"), keras.layers.Dropout(dropout),
            keras.layers.Dense(128, activation="relu"), keras.layers.Dropout(dropout),
            keras.layers.Dense(10),
        ])
        schedule = keras.optimizers.schedules.CosineDecay(
            0.0, steps * (epochs - 1), warmup_target=lr, warmup_steps=steps)
        model.compile(keras.optimizers.Adam(schedule),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        history = model.fit(xtr, ytr, batch_size=32, epochs=epochs, verbose=0,
                            validation_data=(xva, yva), callbacks=[Pruning(trial)])
        return max(history.history["val_accuracy"])

    # The pruner named, as Optuna's own classes with nnzoo's settings (optuna.create_study
    # without one would prune with a MedianPruner).
    first = max(1, epochs // 10)
    pruner = {
        "none": optuna.pruners.NopPruner(),
        "median": optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0),
        "successive_halving": optuna.pruners.SuccessiveHalvingPruner(
            min_resource=first, reduction_factor=3),
        "hyperband": optuna.pruners.HyperbandPruner(
            min_resource=first, max_resource=epochs, reduction_factor=3),
    }[pruner_name]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", pruner=pruner,
                                sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial({"train.optimizer.learning_rate": 0.002, "model.params.dropout": 0.2})
    start = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    wall = time.perf_counter() - start
    trained = [[t.state.name, len(t.intermediate_values)] for t in study.trials]
    print(json.dumps({"wall": wall, "best": study.best_value, "trials": trained}))
    """
)

# One nnzoo study in a fresh process: tune() timed alone, then what each trial trained.
CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, sys.argv[1])
    import optuna
    from nnzoo.run.bind import load_config
    from nnzoo.tuning import tune
    config_file, pruner, trials, epochs, runs = sys.argv[2:7]
    overrides = [f"tune.pruner={pruner}", f"train.epochs={epochs}"]
    config = load_config(config_file, overrides)
    start = time.perf_counter()
    result = tune(config, trials=int(trials), runs_dir=runs, quiet=True)
    wall = time.perf_counter() - start
    study = optuna.load_study(study_name=result.study_name,
                              storage=f"sqlite:///{result.out_dir}/study.db")
    trained = [[t.state.name, len(t.intermediate_values)] for t in study.trials]
    print(json.dumps({"wall": wall, "best": result.best_value, "trials": trained}))
    """
)


def _env() -> dict[str, str]:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "NNZOO_OFFLINE": "1"}


def _timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=_env())
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd[:4])} ...\n{done.stderr[-3000:]}")
    return wall, done.stdout


def _nnzoo(config: Path, pruner: str, trials: int, epochs: int, runs: str) -> tuple[float, dict]:
    cmd = [sys.executable, "-c", CHILD, str(ROOT), str(config), pruner, str(trials)]
    wall, out = _timed([*cmd, str(epochs), runs])
    return wall, json.loads(out.strip().splitlines()[-1])


def _bare(pruner: str, trials: int, epochs: int) -> tuple[float, dict]:
    cmd = [sys.executable, "-c", BARE, str(trials), str(epochs), str(SEED), pruner]
    wall, out = _timed(cmd)
    return wall, json.loads(out.strip().splitlines()[-1])


def overhead(config: Path, args: argparse.Namespace, tmp: str) -> None:
    print(f"(a) {args.trials} trials x {args.epochs} epochs, no pruning, whole processes")
    walls: dict[str, list[float]] = {"bare optuna+keras": [], "nnzoo tune": []}
    best: dict[str, float] = {}
    for i in range(args.repeat):
        wall, res = _bare("none", args.trials, args.epochs)
        walls["bare optuna+keras"].append(wall)
        best["bare optuna+keras"] = res["best"]
        wall, res = _nnzoo(config, "none", args.trials, args.epochs, f"{tmp}/a{i}")
        walls["nnzoo tune"].append(wall)
        best["nnzoo tune"] = res["best"]
    print(f"    {'':20s}{'wall s (median)':>16s}{'per trial s':>13s}{'best':>9s}")
    med = {k: statistics.median(v) for k, v in walls.items()}
    for name in walls:
        per_trial = med[name] / args.trials
        print(f"    {name:20s}{med[name]:16.1f}{per_trial:13.2f}{best[name]:9.4f}")
    ratio = med["nnzoo tune"] / med["bare optuna+keras"]
    print(f"    ratio nnzoo / bare: {ratio:.2f}x (goal <= 1.10x); runs: {args.repeat}")


def pruning(config: Path, args: argparse.Namespace, tmp: str) -> None:
    n, epochs = args.pruning_trials, args.epochs
    print(f"(b) {n} trials x up to {epochs} epochs per pruner (the study timed in its process)")
    runs: dict[tuple[str, str], dict] = {}
    for pruner in PRUNERS:
        runs["nnzoo", pruner] = _nnzoo(config, pruner, n, epochs, f"{tmp}/b-{pruner}")[1]
    for pruner in args.bare_pruners.split(","):
        if pruner:
            runs["bare", pruner] = _bare(pruner, n, epochs)[1]
    full = n * epochs
    print(
        f"    {'':6s}{'pruner':20s}{'wall s':>8s}{'vs none':>9s}{'best':>8s}{'Δbest pt':>10s}"
        f"{'epochs':>8s}{'saved':>7s}{'pruned':>8s}"
    )
    for (who, pruner), res in runs.items():
        none = runs.get((who, "none"), res)
        epochs_run = sum(e for _, e in res["trials"])
        pruned = sum(s == "PRUNED" for s, _ in res["trials"])
        gap = 100 * (res["best"] - none["best"])
        print(
            f"    {who:6s}{pruner:20s}{res['wall']:8.1f}{none['wall'] / res['wall']:8.2f}x"
            f"{res['best']:8.4f}{gap:+10.2f}{epochs_run:8d}{full - epochs_run:7d}{pruned:8d}"
        )
    print("    stopped at epoch e: n trials (a trial that ran all epochs is not 'stopped')")
    for (who, pruner), res in runs.items():
        if pruner == "none":
            continue
        stops = collections.Counter(e for s, e in res["trials"] if s == "PRUNED")
        text = ", ".join(f"{e}: {stops[e]}" for e in sorted(stops)) or "none"
        print(f"    {who:6s}{pruner:20s}{text}")
    print("    goal: >= 2x faster than none, best within 0.5 point")


def workers(config: Path, args: argparse.Namespace, tmp: str) -> None:
    n = args.trials
    print(f"(c) {n} trials, no pruning, 1 vs 2 workers (journal storage)")
    rates = []
    for k in (1, 2):
        cmd = [sys.executable, "-m", "nnzoo.cli", "tune", str(config), "-q", "--trials", str(n)]
        cmd += ["--workers", str(k), "--runs-dir", f"{tmp}/w{k}", "--study", f"w{k}"]
        wall, _ = _timed([*cmd, "--set", f"train.epochs={args.epochs}"])
        rates.append(3600 * n / wall)
        print(f"    {k} worker(s): {wall:.1f} s, {rates[-1]:.0f} trials/hour")
    print(f"    2 workers give {rates[1] / rates[0]:.2f}x the trials per hour of 1 (goal >= 1.7x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10, help="trials in (a) and (c) (10)")
    parser.add_argument("--pruning-trials", type=int, default=30, help="trials in (b) (30)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per trial (20)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of (a), median (1)")
    parser.add_argument("--only", choices=["a", "b"], help="run only part (a) or (b)")
    parser.add_argument(
        "--bare-pruners",
        default="none,successive_halving",
        help="pruners the bare Optuna + Keras study also runs in (b), for reference "
        "(comma-separated; '' for none)",
    )
    parser.add_argument("--workers", action="store_true", help="also (c): 1 vs 2 workers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench_tune.yaml"
        config.write_text(CONFIG)
        if args.only in (None, "a"):
            overhead(config, args, tmp)
        if args.only in (None, "b"):
            pruning(config, args, tmp)
        if args.workers:
            workers(config, args, tmp)


if __name__ == "__main__":
    main()
