"""ModelPool: a later run of the same structure trains a kept model (its steps traced once),
and learns exactly what it learns alone."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from nnzoo.run.bind import load_config, prepare
from nnzoo.training import train
from nnzoo.training.trainer import train_trial
from nnzoo.training.trial import TrialOptions
from nnzoo.tuning import _pool
from nnzoo.tuning._pool import ModelPool, _Dropout, _patch_dropout, _set_rate

pytestmark = pytest.mark.skipif(
    __import__("keras").backend.backend() != "tensorflow",
    reason="TensorFlow only: the pool keeps nothing on other backends",
)

TINY = ["train.epochs=3", "model.params.hidden_units=[32, 16]", "train.checkpoint_every_seconds=0"]


def config(*overrides):
    return load_config("configs/quickstart.yaml", [*TINY, *overrides])


def history(run):
    return (run.run_dir / "history.csv").read_text()


def trial(cfg, run_dir, splits, pool, *, lean=True):
    """Train ``cfg`` as a tuning trial does, on ``splits`` with the models ``pool`` keeps."""
    return train_trial(cfg, TrialOptions(run_dir, lean=lean, splits=splits, models=pool))


def test_a_run_on_a_kept_model_learns_what_it_learns_alone(tmp_path, traced_train_steps):
    import keras

    first = config("model.params.dropout=0.2", "train.optimizer.learning_rate=0.002")
    second = config("model.params.dropout=0.37", "train.optimizer.learning_rate=0.0123")
    pool = ModelPool()
    splits = prepare(first)[2]
    runs = []
    for i, cfg in enumerate((first, second)):
        pool.clear_session()
        run = trial(cfg, tmp_path / f"pooled{i}", splits, pool)
        run.write_artifacts()  # before the next run loads its own weights into the model
        runs.append(run)
    assert (len(traced_train_steps), pool.reused) == (1, 1)  # the second run traced nothing
    assert runs[1].model is runs[0].model
    for i, cfg in enumerate((first, second)):
        keras.backend.clear_session()
        alone = train(cfg, runs_dir=tmp_path / f"alone{i}", quiet=True)
        assert history(runs[i]) == history(alone)  # bit for bit: every loss and accuracy
        assert runs[i].metrics["test"] == alone.metrics["test"]
    # The second run's model file is its own: its dropout rate, plain Keras layers, its
    # weights (the kept model's rate variables are not among them).
    saved = keras.saving.load_model(runs[1].run_dir / "model.keras", compile=False)
    rates = [layer.rate for layer in saved.layers if isinstance(layer, keras.layers.Dropout)]
    assert rates == [0.37, 0.37]
    assert type(saved.get_layer("dense1_dropout")) is keras.layers.Dropout
    x = splits.test[0][:64]
    np.testing.assert_array_equal(saved.predict(x, verbose=0), alone.model.predict(x, verbose=0))
    config_yaml = (runs[1].run_dir / "config.yaml").read_text()
    assert "dropout: 0.37" in config_yaml and "learning_rate: 0.0123" in config_yaml


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ("model.params.hidden_units=[32, 8]", "another architecture"),
        ("model.params.dropout=0.0", "no dropout layers"),
        ("train.optimizer.name=sgd", "another optimizer"),
        ("train.schedule.warmup_epochs=0", "another schedule"),
        ("train.epochs=4", "more steps"),
    ],
)
def test_a_model_of_another_structure_or_run_is_not_reused(tmp_path, change, why):
    pool = ModelPool()
    base = config()
    splits = prepare(base)[2]
    first = trial(base, tmp_path / "a", splits, pool)
    pool.clear_session()
    other = trial(config(change), tmp_path / "b", splits, pool)
    assert other.model is not first.model, why
    assert pool.reused == 0


def test_a_full_run_does_not_use_the_pool(tmp_path):
    # Its resume checkpoints hold the optimizer, whose kept schedule reads variables.
    pool = ModelPool()
    cfg = config()
    splits = prepare(cfg)[2]
    first = trial(cfg, tmp_path / "a", splits, pool, lean=False)
    pool.clear_session()
    second = trial(cfg, tmp_path / "b", splits, pool, lean=False)
    assert second.model is not first.model and pool.reused == 0
    assert history(first) == history(second)


def test_other_data_is_not_reused(tmp_path):
    pool = ModelPool()
    cfg = config()
    trial(cfg, tmp_path / "a", prepare(cfg)[2], pool)
    pool.clear_session()
    trial(cfg, tmp_path / "b", prepare(cfg)[2], pool)
    assert pool.reused == 0  # equal data, but loaded again: its statistics are not checked


def test_a_schedule_that_would_differ_falls_back_to_the_fresh_model(tmp_path, monkeypatch):
    pool = ModelPool()
    cfg = config()
    splits = prepare(cfg)[2]
    first = trial(cfg, tmp_path / "a", splits, pool)
    monkeypatch.setattr(_pool, "_same_rates", lambda *args: False)
    pool.clear_session()
    second = trial(cfg, tmp_path / "b", splits, pool)
    assert second.model is not first.model and pool.reused == 0


def test_the_patched_dropout_is_bit_for_bit_keras_dropout():
    import keras
    import tensorflow as tf

    x = np.random.default_rng(0).normal(size=(64, 48)).astype("float32")
    for rate in (0.1, 0.2, 0.37, 0.5, 0.9):
        for noise_shape in (None, (1, 48)):
            plain = keras.layers.Dropout(rate, noise_shape=noise_shape, seed=7)
            patched = keras.layers.Dropout(0.5, noise_shape=noise_shape, seed=7)
            dropout = _Dropout(patched, keras.Variable(0.0), keras.Variable(1.0))
            _set_rate(dropout, rate)
            _patch_dropout(dropout)
            for _ in range(2):  # the seed state advances alike
                want = tf.function(lambda t, layer=plain: layer(t, training=True))(x)
                got = tf.function(lambda t, layer=patched: layer(t, training=True))(x)
                np.testing.assert_array_equal(got.numpy(), want.numpy(), f"rate {rate}")
            assert patched.get_config()["rate"] == rate
            np.testing.assert_array_equal(patched(x, training=False), x)


def test_the_pool_seeds_as_keras_does_but_keeps_tensorflows_caches(tmp_path, monkeypatch):
    import random

    import keras
    from keras.src.utils.rng_utils import get_random_seed
    from tensorflow.python.eager import context

    cleared = []
    original = context.pywrap_tfe.TFE_ContextClearCaches
    monkeypatch.setattr(
        context.pywrap_tfe,
        "TFE_ContextClearCaches",
        lambda handle: cleared.append(1) or original(handle),
    )
    pool = ModelPool()
    pool.set_random_seed(5)  # nothing kept: Keras's own, which clears the caches
    assert len(cleared) == 1
    cfg = config()
    trial(cfg, tmp_path / "run", prepare(cfg)[2], pool)
    keras.utils.set_random_seed(11)
    want = (random.random(), np.random.random(), context.context()._rng.random())
    cleared.clear()
    pool.clear_session()
    pool.set_random_seed(11)
    got = (random.random(), np.random.random(), context.context()._rng.random())
    assert got == want
    assert get_random_seed() == 11
    assert context.context()._seed == 11
    assert cleared == []


def test_a_study_reuses_its_model_across_trials(tmp_path, traced_train_steps):
    # The tuner's objective holds a pool: 4 trials of one batch size trace one train step.
    from nnzoo.tuning import tune

    cfg = load_config(
        "configs/tune/mlp_digits.yaml",
        ["train.epochs=2", "model.params.hidden_units=[16]", "tune.pruner=none"],
    )
    cfg.tune.space.pop("data.batch_size")
    result = tune(cfg, trials=4, runs_dir=tmp_path, quiet=True)
    assert len(traced_train_steps) == 1
    with open(result.out_dir / "trials.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [row["state"] for row in rows] == ["COMPLETE"] * 4
    assert len({row["params_model.params.dropout"] for row in rows}) == 4


def test_the_pool_keeps_recent_models_within_its_weight_budget(tmp_path):
    small, other = config(), config("model.params.hidden_units=[32, 8]")
    splits = prepare(small)[2]
    sizes = []
    for budget in (None, 0):  # room for both; then none beyond the most recent model
        pool = ModelPool() if budget is None else ModelPool(max_params=sum(sizes) - 1)
        for i, cfg in enumerate((small, other)):
            pool.clear_session()
            run = trial(cfg, tmp_path / f"{budget}-{i}", splits, pool)
            if budget is None:
                sizes.append(run.model.count_params())
        kept = [k.model.get_layer("dense2").units for k in pool._kept]
        assert kept == ([16, 8] if budget is None else [8])
