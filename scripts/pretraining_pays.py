"""Pretraining pays, offline: masked-LM pretraining of ``bert_tiny`` on ``text_corpus`` (Python's
standard library, a WordPiece vocabulary learned on it), written as a KerasHub preset
(:func:`nnzoo.pretrained.bert.to_keras_hub` + ``save_to_preset``), then fine-tuned on
``stdlib_topics`` with ``model.init_from: keras_hub:<dir>`` against the same config from scratch
at equal epochs. Prints both test accuracies and writes ``docs/pretraining.md``.

    .venv/bin/python scripts/pretraining_pays.py [--pretrain-epochs 3] [--finetune-epochs 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NNZOO_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
SEQUENCE_LENGTH = 64
VOCABULARY_SIZE = 2000


def _train(config: dict, runs_dir: Path):
    import nnzoo
    from nnzoo.config import config_from_dict

    return nnzoo.train(config_from_dict(config), runs_dir=runs_dir, quiet=True)


def pretrain(runs_dir: Path, epochs: int, max_chars: int):
    return _train(
        {
            "name": "pretrain_mlm",
            "seed": 1,
            "model": {"name": "bert_tiny", "params": {"task": "masked_lm"}},
            "data": {
                "source": "text_corpus",
                "params": {
                    "tokenizer": "wordpiece",
                    "vocabulary_size": VOCABULARY_SIZE,
                    "sequence_length": SEQUENCE_LENGTH,
                    "max_chars": max_chars,
                },
                "batch_size": 32,
            },
            "train": {
                "epochs": epochs,
                "optimizer": {"name": "adamw", "learning_rate": 1e-3, "weight_decay": 0.01},
                "schedule": {"name": "cosine", "warmup_epochs": 0.5},
            },
        },
        runs_dir,
    )


def finetune(runs_dir: Path, epochs: int, init_from: str | None):
    data_params = {"sequence_length": SEQUENCE_LENGTH}
    if init_from is None:  # from scratch: its own WordPiece vocabulary, same size
        data_params.update(tokenizer="wordpiece", vocabulary_size=VOCABULARY_SIZE)
    return _train(
        {
            "name": "finetune_pretrained" if init_from else "finetune_scratch",
            "seed": 1,
            "model": {
                "name": "bert_tiny",
                "params": {"task": "classification"},
                "init_from": init_from,
            },
            "data": {"source": "stdlib_topics", "params": data_params, "batch_size": 32},
            "train": {
                "epochs": epochs,
                "optimizer": {"name": "adamw", "learning_rate": 5e-4, "weight_decay": 0.01},
                "schedule": {"name": "cosine", "warmup_epochs": 0.5},
                "monitor": {"metric": "val_accuracy", "mode": "max"},
            },
        },
        runs_dir,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pretrain-epochs", type=int, default=3)
    parser.add_argument("--finetune-epochs", type=int, default=3)
    parser.add_argument("--max-chars", type=int, default=600_000)
    parser.add_argument("--out", default=str(ROOT / "docs" / "pretraining.md"))
    args = parser.parse_args()

    from nnzoo.data.tokenizers import load_tokenizer
    from nnzoo.pretrained.bert import to_keras_hub

    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp)
        start = time.perf_counter()
        pre = pretrain(runs, args.pretrain_epochs, args.max_chars)
        pre_wall = time.perf_counter() - start
        tokenizer = load_tokenizer(str(pre.run_dir / "tokenizer.json"))
        preset = runs / "bert_tiny_stdlib_mlm"
        to_keras_hub(pre.model, tokenizer, sequence_length=SEQUENCE_LENGTH).save_to_preset(
            str(preset)
        )
        results = {}
        for label, init in (("pretrained", f"keras_hub:{preset}"), ("scratch", None)):
            start = time.perf_counter()
            run = finetune(runs, args.finetune_epochs, init)
            results[label] = (run.metrics["test"]["accuracy"], time.perf_counter() - start)

    pretrained, scratch = results["pretrained"][0], results["scratch"][0]
    gain = 100 * (pretrained - scratch)
    lines = [
        "# Pretraining pays (offline)",
        "",
        "`scripts/pretraining_pays.py`: `bert_tiny` (2 layers, 128 hidden) pretrained with "
        f"masked-LM on `text_corpus` ({args.max_chars:,} characters of Python's standard "
        f"library, a {VOCABULARY_SIZE}-token WordPiece vocabulary, {SEQUENCE_LENGTH}-token "
        f"windows) for {args.pretrain_epochs} epochs "
        f"(test masked-LM loss {pre.metrics['test'].get('loss', float('nan')):.3f}, "
        f"{pre_wall:.0f} s), saved as a KerasHub preset with "
        "`nnzoo.pretrained.bert.to_keras_hub` + `save_to_preset`, then fine-tuned on "
        f"`stdlib_topics` (8 classes) for {args.finetune_epochs} epochs with "
        "`model.init_from: keras_hub:<dir>` (the preset's tokenizer), against the same config "
        "from scratch (its own WordPiece vocabulary of the same size) at equal epochs.",
        "",
        "| start | test accuracy | wall |",
        "| --- | --- | --- |",
        f"| pretrained preset | {pretrained:.3f} | {results['pretrained'][1]:.0f} s |",
        f"| from scratch | {scratch:.3f} | {results['scratch'][1]:.0f} s |",
        "",
        f"Difference: {gain:+.1f} points (goal: at least +3).",
        "",
    ]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print(f"pretrained: {pretrained:.3f}  scratch: {scratch:.3f}  difference: {gain:+.1f} points")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
