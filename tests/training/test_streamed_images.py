"""A run on an image folder streams it: nothing is decoded up front (at most one batch before
the first training step), and the run trains exactly as it did on the same images in memory."""

from __future__ import annotations

import csv

import keras
import numpy as np
import pytest

from nnzoo.data import _prepare, get_source
from nnzoo.run.bind import load_config
from nnzoo.training import train

#: cnn_cifar (batch norm, so PreciseBN draws its sample; augmentation on), small.
TINY = [
    "data.batch_size=8",
    "model.params.filters=[8, 16]",
    "model.params.convs_per_block=[1, 1]",
    "model.params.padding=same",
    "model.params.dense_units=32",
    "model.params.batch_norm=true",
    "train.epochs=3",
]


@pytest.fixture
def folder(make_image_folder):
    return make_image_folder({"ants": 24, "bees": 24, "cats": 24})


class DecodedAt(keras.callbacks.Callback):
    """How many files were decoded when training began and when the first epoch ended."""

    def __init__(self, calls):
        super().__init__()
        self.calls, self.at = calls, {}

    def on_train_begin(self, logs=None):
        self.at["train_begin"] = len(self.calls)

    def on_epoch_end(self, epoch, logs=None):
        self.at.setdefault("first_epoch_end", len(self.calls))


def test_no_more_than_one_batch_is_decoded_before_the_first_step(folder, tmp_path, monkeypatch):
    """Listing, splitting, building, drawing PreciseBN's sample and the pipelines decode
    nothing: files are read while the model trains."""
    calls = []
    real = _prepare.decode_image

    def counting(file, *args, **kwargs):
        calls.append(file)
        return real(file, *args, **kwargs)

    monkeypatch.setattr(_prepare, "decode_image", counting)
    config = load_config(
        "configs/cnn_cifar.yaml",
        [
            "data.source=image_folder",
            f"data.params.path={folder}",
            "data.params.image_size=16",
            "data.cache=false",
            *TINY,
        ],
    )
    probe = DecodedAt(calls)
    run = train(config, runs_dir=tmp_path, quiet=True, callbacks=[probe])
    assert probe.at["train_begin"] <= config.data.batch_size
    # By the end of epoch 1: its 51 training files, its 6 validation files (and PreciseBN's
    # sample, the 51 again): the files are read while training, not before.
    assert probe.at["first_epoch_end"] >= 51 + 6
    assert run.metrics["epochs"] == 3


def history(run_dir):
    with (run_dir / "history.csv").open(newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def test_a_streamed_run_trains_as_the_same_images_in_memory(folder, tmp_path):
    """The folder streamed, and the very arrays it decodes to held in memory (an .npz): the
    same split, the same batches, the same history and test accuracy."""
    whole = get_source("image_folder").loader(seed=42, path=str(folder), image_size=16)
    pixels = np.round(whole.x.read() * 255).astype("uint8")  # exact: x = pixels / 255
    np.savez(tmp_path / "same.npz", x=pixels, y=whole.y)
    streamed = train(
        load_config(
            "configs/cnn_cifar.yaml",
            [
                "data.source=image_folder",
                f"data.params.path={folder}",
                "data.params.image_size=16",
                *TINY,
            ],
        ),
        runs_dir=tmp_path / "streamed",
        quiet=True,
    )
    held = train(
        load_config(
            "configs/cnn_cifar.yaml",
            ["data.source=npz", f"data.params.path={tmp_path / 'same.npz'}", *TINY],
        ),
        runs_dir=tmp_path / "held",
        quiet=True,
    )
    rows, expected = history(streamed.run_dir), history(held.run_dir)
    assert [sorted(r) for r in rows] == [sorted(r) for r in expected] and len(rows) == 3
    for row, want in zip(rows, expected, strict=True):
        for key in want:
            assert row[key] == pytest.approx(want[key], abs=1e-5), key
    assert streamed.metrics["test"]["accuracy"] == held.metrics["test"]["accuracy"]
    assert streamed.metrics["test"]["loss"] == pytest.approx(
        held.metrics["test"]["loss"], abs=1e-5
    )
