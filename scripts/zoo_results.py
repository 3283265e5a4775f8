"""Train every shipped config offline and write ``docs/results.md`` (run by hand, not in CI).

Each row is one ``nnzoo --offline train CONFIG`` in its own process, on the config as shipped
(the CIFAR configs through their offline variants in ``configs/offline/``). The table gives the
data, the epochs run, the test metric and the chance level it must beat at least twice
(classification: accuracy vs 1 / classes; language models: perplexity vs the vocabulary size, a
uniform guess), the gap between training and validation at the kept epoch, and the wall time.

    python scripts/zoo_results.py                 # all rows, ~25 minutes on 2 cores
    python scripts/zoo_results.py --only lstm gru # some rows (matched against the config path)

Exit status 1 when a row is below twice its chance level.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from nnzoo._atomic import write_text

ROOT = Path(__file__).resolve().parent.parent

#: (config, extra --set overrides). The shipped configs as they are, offline.
ROWS: list[tuple[str, list[str]]] = [
    ("configs/quickstart.yaml", []),
    ("configs/perceptron.yaml", []),
    ("configs/mlp_xor.yaml", []),
    ("configs/offline/cnn_cifar.yaml", []),
    ("configs/offline/resnet18.yaml", []),
    ("configs/offline/vgg16_transfer.yaml", []),
    ("configs/offline/vit_tiny.yaml", []),
    ("configs/lstm.yaml", []),
    ("configs/gru.yaml", []),
    ("configs/transformer.yaml", []),
    ("configs/bert_tiny.yaml", []),
    ("configs/text_folder_lstm.yaml", []),
    ("configs/bert_tiny_mlm.yaml", []),
    ("configs/gpt_nano.yaml", []),
]


def run(config: str, overrides: list[str]) -> dict:
    """Train ``config`` in a fresh process; its row of the table."""
    with tempfile.TemporaryDirectory(prefix="nnzoo-results-") as runs:
        cmd = [sys.executable, "-m", "nnzoo.cli", "--offline", "train", config, "-q"]
        cmd += ["--runs-dir", runs, *[f"--set={o}" for o in overrides]]
        started = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            return {"config": config, "error": (proc.stderr or proc.stdout).strip()[-300:]}
        (run_dir,) = [p for p in Path(runs).glob("*/*") if p.is_dir()]
        metrics = json.loads((run_dir / "metrics.json").read_text())
        spec = json.loads((run_dir / "data_spec.json").read_text())
        resolved = (run_dir / "config.yaml").read_text()
    source = next(
        line.split(":", 1)[1].strip()
        for line in resolved.splitlines()
        if line.strip().startswith("source:")
    )
    return {"config": config, "source": source, "wall": wall, **_score(metrics, spec)}


def _score(metrics: dict, spec: dict) -> dict:
    test, best = metrics["test"], metrics["best"]
    epochs = f"{metrics['epochs']} (kept {best.get('epoch')})"
    if "perplexity" in test:  # a language model: lower is better, chance = uniform guess
        chance = float(spec["vocabulary_size"])
        value = float(test["perplexity"])
        gap = best.get("val_loss", float("nan")) - best.get("loss", float("nan"))
        return {
            "epochs": epochs,
            "metric": f"perplexity {value:.2f}",
            "chance": f"{chance:.0f}",
            "times_chance": chance / value,
            "gap": f"val - train loss {gap:+.3f}",
        }
    chance = 1.0 / int(spec["num_classes"])
    value = float(test["accuracy"])
    gap = best.get("accuracy", float("nan")) - best.get("val_accuracy", float("nan"))
    return {
        "epochs": epochs,
        "metric": f"accuracy {value:.3f}",
        "chance": f"{chance:.3f}",
        "times_chance": value / chance,
        "gap": f"train - val accuracy {gap:+.3f}",
    }


def write_table(rows: list[dict], total: float) -> str:
    lines = [
        "# Results: every shipped config, offline",
        "",
        f"Made by `python scripts/zoo_results.py` on {date.today()} "
        f"({platform.machine()}, {os.cpu_count()} CPU cores, "
        f"backend {os.environ.get('KERAS_BACKEND', 'tensorflow')}); {total / 60:.1f} minutes "
        "in all. Each row is `nnzoo --offline train CONFIG` as shipped; the CIFAR configs run "
        "through their offline variants in `configs/offline/` (the generated `shapes` images). "
        "Chance: 1 / classes for accuracy, the vocabulary size for perplexity (a uniform "
        "guess); `x chance` is how many times better than chance (accuracy / chance, chance / "
        "perplexity). The gap is taken at the kept epoch.",
        "",
        "| config | data | epochs | test | chance | x chance | train/validation gap | wall |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| `{r['config']}` | failed: {r['error']} | | | | | | |")
            continue
        lines.append(
            f"| `{r['config']}` | {r['source']} | {r['epochs']} | {r['metric']} | "
            f"{r['chance']} | {r['times_chance']:.1f} | {r['gap']} | {r['wall']:.0f} s |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="rows whose config path contains one of these")
    parser.add_argument("--output", default=str(ROOT / "docs" / "results.md"))
    args = parser.parse_args()
    rows = [r for r in ROWS if not args.only or any(o in r[0] for o in args.only)]
    started = time.perf_counter()
    results = []
    for config, overrides in rows:
        results.append(run(config, overrides))
        r = results[-1]
        done = "error" in r or f"({r['times_chance']:.1f}x chance, {r['wall']:.0f} s)"
        print(r["config"], r.get("error") or f"{r['metric']} {done}", flush=True)
    text = write_table(results, time.perf_counter() - started)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text(out, text)
    print(f"wrote {out}")
    weak = [r["config"] for r in results if "error" in r or r["times_chance"] < 2.0]
    if weak:
        print("below twice chance (or failed):", ", ".join(weak))
    return 1 if weak else 0


if __name__ == "__main__":
    sys.exit(main())
