"""Precise batch-norm statistics: the exact mean of the batch statistics, before evaluation."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import nnzoo
from nnzoo.run.bind import config_from_dict, prepare
from nnzoo.run.saving import load_model
from nnzoo.training.precise_bn import (
    MAX_BATCHES,
    batch_norm_layers,
    recalibrate,
    sample_batches,
)


def test_recalibrate_sets_the_mean_of_the_batch_statistics():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.BatchNormalization(momentum=0.9)(inputs))
    rng = np.random.default_rng(0)
    batches = [rng.normal(loc=i, scale=1 + i, size=(16, 3)).astype("float32") for i in range(4)]
    assert recalibrate(model, batches) == 4
    (bn,) = batch_norm_layers(model)
    mean = np.mean([b.mean(axis=0) for b in batches], axis=0)
    variance = np.mean([b.var(axis=0) for b in batches], axis=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_mean), mean, rtol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_variance), variance, rtol=1e-5)
    assert bn.momentum == 0.9  # restored


def test_a_model_without_batch_norm_is_left_alone():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    assert recalibrate(model, [np.ones((2, 3), "float32")]) == 0


def test_the_sample_is_fixed_by_the_seed_and_bounded():
    x = np.arange(5000, dtype="float32").reshape(-1, 1)
    first = sample_batches(x, 64, seed=3)
    assert len(first) == MAX_BATCHES and first[0].shape == (64, 1)
    assert all(np.array_equal(a, b) for a, b in zip(first, sample_batches(x, 64, seed=3)))
    assert len(np.unique(np.concatenate(first))) == MAX_BATCHES * 64  # without replacement
    small = sample_batches({"token_ids": np.zeros((100, 4), "int32")}, 64, seed=0)
    assert [b["token_ids"].shape for b in small] == [(64, 4), (36, 4)]


def test_the_sample_of_a_listing_is_read_a_batch_at_a_time_when_used(image_folder, monkeypatch):
    """Streamed images: no file is read when the sample is drawn (before training), and each
    recalibration reads its batches one at a time, never the whole split."""
    from nnzoo.data import _prepare, load_data

    files = load_data("image_folder", params={"path": str(image_folder), "image_size": 8})
    train = files.train[0]
    calls = []
    real = _prepare.decode_image
    monkeypatch.setattr(
        _prepare, "decode_image", lambda f, *a, **k: calls.append(f) or real(f, *a, **k)
    )
    sample = sample_batches(train, 8, seed=0)
    assert calls == [] and len(sample) == 4  # 29 training images: 8, 8, 8, 5
    sizes = []
    for batch in sample:
        sizes.append(len(calls))
        assert batch.shape[1:] == (8, 8, 3)
    assert sizes == [8, 16, 24, 29]  # one batch more at each step
    np.testing.assert_array_equal(sample[0], train.read(sample.rows[0]))


def _config(precise_bn):
    return config_from_dict(
        {
            "name": "bn",
            "model": {"name": "mlp", "params": {"hidden_units": [32], "batch_norm": True}},
            "data": {"source": "digits", "batch_size": 64},
            "train": {
                "epochs": 2,
                "precise_bn": precise_bn,
                "optimizer": {"name": "adam", "learning_rate": 0.01},
            },
        }
    )


@pytest.mark.parametrize("precise_bn", ["auto", False])
def test_a_run_keeps_the_statistics_of_its_own_weights(tmp_path, precise_bn):
    config = _config(precise_bn)
    result = nnzoo.train(config, runs_dir=tmp_path, quiet=True)
    model = load_model(result.run_dir / "model.keras")
    (bn,) = batch_norm_layers(model)
    saved = keras.ops.convert_to_numpy(bn.moving_mean).copy()
    _, _, splits = prepare(config)
    recalibrate(model, sample_batches(splits.train[0], 64, config.seed))
    again = keras.ops.convert_to_numpy(bn.moving_mean)
    # auto: the saved statistics are those recomputed for the kept weights; off: they trail.
    assert np.allclose(saved, again, atol=1e-4) == (precise_bn == "auto")
