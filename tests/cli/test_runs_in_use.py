"""A run without ``model.keras`` says why (still training, by which process and at which
epoch; stopped before finishing; finished and the file deleted since) and what to do; and
``generate --output`` follows ``predict --output``'s rules: never into a run, never over a
file without ``--force``. Each refusal changes no file."""

from __future__ import annotations

import hashlib
import os
import shutil

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from nnzoo.cli import cli
from nnzoo.run.bind import load_config
from nnzoo.run.directory import locked
from nnzoo.training import train

TINY = [
    "name=tiny",
    "model.params={hidden_units: [8]}",
    "data.source=iris",
    "data.batch_size=16",
    "train.epochs=3",
    "train.schedule.name=constant",
    "train.callbacks.early_stopping.enabled=false",
    "train.checkpoint_every_seconds=0",
]


class StopAfterFirstEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise KeyboardInterrupt


def digests(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """``(interrupted after epoch 1 of 3, finished)`` runs of a tiny iris mlp, and an input."""
    root = tmp_path_factory.mktemp("in_use")
    with pytest.raises(KeyboardInterrupt):
        train(
            load_config("configs/quickstart.yaml", TINY),
            runs_dir=root / "a",
            quiet=True,
            callbacks=[StopAfterFirstEpoch()],
        )
    interrupted = next((root / "a" / "tiny").iterdir())
    finished = train(
        load_config("configs/quickstart.yaml", [*TINY, "train.epochs=1"]),
        runs_dir=root / "b",
        quiet=True,
    ).run_dir
    inputs = root / "x.npy"
    np.save(inputs, np.zeros((3, 4), dtype="float32"))
    return interrupted, finished, inputs


def commands(run_dir, inputs):
    return {
        "evaluate": ["evaluate", str(run_dir)],
        "predict": ["predict", str(run_dir), str(inputs)],
        "export": ["export", str(run_dir), "--format", "saved_model", "--no-verify"],
    }


def test_a_run_still_training_says_who_holds_it_and_at_which_epoch(runs):
    run_dir, _, inputs = runs
    before = digests(run_dir)
    line = (
        f"nnzoo: error: {run_dir}: in use by a training process (pid {os.getpid()}, epoch 2 of "
        "3); its model.keras is written when training ends. Fix: wait for it to finish, or use "
        "a finished copy of the run\n"
    )
    with locked(run_dir):  # as the training process holds it
        for name, args in commands(run_dir, inputs).items():
            result = CliRunner().invoke(cli, args)
            assert result.exit_code == 2, (name, result.output)
            assert result.stderr == line, name
    assert digests(run_dir) == before
    assert not (run_dir / "export").exists()


def test_a_run_that_stopped_says_it_did_not_finish_and_how_to_finish_it(runs):
    run_dir, _, inputs = runs
    before = digests(run_dir)
    for name, args in commands(run_dir, inputs).items():
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, (name, result.output)
        assert result.stderr == (
            f"nnzoo: error: {run_dir}: no model.keras: the run did not finish (status "
            "interrupted: interrupted (Ctrl-C); 1 of 3 epochs done). Fix: finish it: nnzoo "
            f"train --resume {run_dir}\n"
        ), name
    assert digests(run_dir) == before


def test_a_finished_run_whose_model_was_deleted_says_the_file_is_missing(runs, tmp_path):
    _, finished, inputs = runs
    run_dir = shutil.copytree(finished, tmp_path / "copy")
    (run_dir / "model.keras").unlink()
    before = digests(run_dir)
    for name, args in commands(run_dir, inputs).items():
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, (name, result.output)
        assert result.stderr == (
            f"nnzoo: error: {run_dir}/model.keras: missing, though the run finished (1 epoch): "
            "it was deleted or not copied. Fix: copy it again from where the run was trained, "
            f"or train again: nnzoo train {run_dir}/config.yaml\n"
        ), name
    assert digests(run_dir) == before


def test_generate_output_never_overwrites_without_force_nor_writes_into_a_run(runs, tmp_path):
    _, run_dir, _ = runs
    before = digests(run_dir)
    existing = tmp_path / "out.jsonl"
    existing.write_text("kept\n")
    cases = {
        str(existing): f"{existing}: exists. Fix: pass --force to replace it, or choose another "
        "file name",
        str(run_dir / "out.jsonl"): f"{run_dir / 'out.jsonl'}: inside the run directory "
        f"{run_dir}; generate never writes into a run. Fix: write it elsewhere, e.g. --output "
        "generations.jsonl",
        str(tmp_path / "out.txt"): f"{tmp_path / 'out.txt'}: --output must end in .jsonl. Fix: "
        "rename it",
    }
    for output, line in cases.items():
        result = CliRunner().invoke(
            cli, ["generate", str(run_dir), "--prompt", "a", "--output", output]
        )
        assert result.exit_code == 2, result.output
        assert result.stderr == f"nnzoo: error: {line}\n"
    assert existing.read_text() == "kept\n"
    assert digests(run_dir) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]
