"""The trainer: what it learns, what it writes, and how it checks data against the model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnzoo.errors import ConfigError
from nnzoo.run.bind import load_config
from nnzoo.training import train

#: For what only TensorFlow has (tf.function tracing, its gradient registry); the TF suite runs it.
tensorflow_only = pytest.mark.skipif(
    __import__("keras").backend.backend() != "tensorflow", reason="TensorFlow only"
)


def config(*overrides, path="configs/quickstart.yaml"):
    return load_config(path, list(overrides))


def test_perceptron_learns_and_but_cannot_learn_xor(tmp_path):
    and_run = train(config(path="configs/perceptron.yaml"), runs_dir=tmp_path, quiet=True)
    assert and_run.metrics["test"]["accuracy"] == 1.0
    w, b = and_run.model.get_weights()
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
    assert ((x @ w)[:, 0] + b[0] > 0).tolist() == [False, False, False, True]

    xor_run = train(
        config("data.source=xor", "train.epochs=40", path="configs/perceptron.yaml"),
        runs_dir=tmp_path,
        quiet=True,
    )
    # No line separates XOR: at most 3 of the 4 points can be right.
    assert xor_run.metrics["test"]["accuracy"] <= 0.75


def test_perceptron_rule_corrects_false_positives():
    """One SGD step of the perceptron criterion on a false positive moves w by -lr·x."""
    import keras

    from nnzoo import build_model
    from nnzoo.run.losses import PerceptronLoss

    model = build_model("perceptron")
    model.set_weights([np.array([[1.0], [1.0]], "float32"), np.array([0.5], "float32")])
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss=PerceptronLoss())
    x = np.array([[1.0, 0.0]], "float32")
    model.fit(x, np.array([0]), epochs=1, batch_size=1, verbose=0, shuffle=False)
    w, b = model.get_weights()
    np.testing.assert_allclose(w[:, 0], [0.0, 1.0])  # w - x
    np.testing.assert_allclose(b, [-0.5])  # b - 1


def test_mlp_xor_solves_xor(tmp_path):
    # The config's 300 full-batch steps as 30 epochs of 10 (the same updates: one batch holds
    # all 4 examples), without 270 epochs' worth of checkpoints.
    cfg = config("train.epochs=30", "train.steps_per_epoch=10", path="configs/mlp_xor.yaml")
    run = train(cfg, runs_dir=tmp_path, quiet=True)
    assert run.metrics["params"] == 17
    assert run.metrics["test"]["accuracy"] == 1.0  # 4/4


def test_run_directory_contents_and_no_overwrite(tmp_path):
    cfg = config("train.epochs=2", "model.params.hidden_units=[16]")
    first = train(cfg, runs_dir=tmp_path, quiet=True)
    second = train(cfg, runs_dir=tmp_path, quiet=True)
    assert first.run_dir != second.run_dir
    names = {p.name for p in first.run_dir.iterdir()}
    assert {
        "config.yaml",
        "model.keras",
        "history.csv",
        "metrics.json",
        "curves.png",
        "data_spec.json",
        "split.npz",
        "status.json",
        ".lock",
    } <= names
    assert "checkpoints" not in names  # a finished run keeps nothing only a resume needs
    metrics = json.loads((first.run_dir / "metrics.json").read_text())
    assert set(metrics) >= {"test", "params", "epochs", "wall_seconds"}
    assert metrics["epochs"] == 2
    # Trainable: the two Dense layers. Also counted: the input normalisation's 64 means, 64
    # variances and its sample count (digits 0..16 mapped to [0, 1] inside the model).
    assert metrics["trainable_params"] == 64 * 16 + 16 + 16 * 10 + 10
    assert metrics["params"] == metrics["trainable_params"] + 2 * 64 + 1
    spec = json.loads((first.run_dir / "data_spec.json").read_text())
    assert spec["class_names"] == [str(i) for i in range(10)]
    assert len((first.run_dir / "history.csv").read_text().strip().splitlines()) == 3


def test_same_seed_same_result(tmp_path):
    cfg = config("train.epochs=2", "model.params.hidden_units=[16]")
    a = train(cfg, runs_dir=tmp_path, quiet=True)
    b = train(cfg, runs_dir=tmp_path, quiet=True)
    assert a.metrics["test"]["loss"] == pytest.approx(b.metrics["test"]["loss"], rel=1e-5)


def test_data_fills_the_model_and_a_mismatch_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as info:
        train(config("model.params.num_classes=3"), runs_dir=tmp_path, quiet=True)
    assert str(info.value) == (
        "configs/quickstart.yaml: model.params.num_classes: is 3 but data source 'digits' "
        "needs 10. Fix: remove it (the data fills it in) or change the data"
    )
    with pytest.raises(ConfigError, match="model 'mlp' takes features inputs but data source"):
        train(config("data.source=shapes"), runs_dir=tmp_path, quiet=True)
    assert list(tmp_path.iterdir()) == []  # a mistake leaves no empty run directory behind


def test_monitor_must_be_logged(tmp_path):
    with pytest.raises(ConfigError) as info:
        train(config("train.monitor.metric=val_acc"), runs_dir=tmp_path, quiet=True)
    assert "train.monitor.metric: the run will not log 'val_acc'" in str(info.value)
    assert "val_accuracy" in str(info.value)


@pytest.mark.slow
def test_quickstart_reaches_98_percent(tmp_path):
    run = train(config(), runs_dir=tmp_path, quiet=True)
    assert run.metrics["test"]["accuracy"] >= 0.98


def test_mixed_precision_and_tensorboard_from_the_config(tmp_path):
    import keras

    run = train(
        config(
            "train.epochs=1",
            "train.mixed_precision=mixed_bfloat16",
            "train.callbacks.tensorboard=true",
        ),
        runs_dir=tmp_path,
        quiet=True,
    )
    assert run.model.layers[-1].dtype_policy.name == "mixed_bfloat16"
    assert keras.mixed_precision.global_policy().name == "float32"  # restored afterwards
    assert any((run.run_dir / "tensorboard").rglob("events.out.tfevents.*"))
    assert run.metrics["test"]["accuracy"] > 0.5


@tensorflow_only
def test_train_step_is_traced_once_per_run(tmp_path, traced_train_steps):
    # Keras builds the optimizer slots and metric variables inside the first trace unless a
    # strategy is set; tf.function then traces train_step a second time, the largest part of
    # a tuning trial's fixed cost. The trainer builds them before fit, so one trace.
    cfg = config("train.epochs=2", "model.params.hidden_units=[16]")
    run = train(cfg, runs_dir=tmp_path, quiet=True)
    assert len(traced_train_steps) == 1
    assert run.metrics["test"]["accuracy"] > 0.2  # ten classes: learning, not chance


@tensorflow_only
def test_runs_in_one_process_do_not_keep_each_others_train_steps(tmp_path):
    # Keras's TF optimizer registers a custom gradient per traced train step in TensorFlow's
    # process-wide registry, which held every finished model's graphs: a study's epochs got
    # slower trial after trial. After each run only the live model's graphs remain.
    import gc

    import keras
    from tensorflow.python.framework import func_graph

    def graphs_after(run_index):
        train(cfg, runs_dir=tmp_path / str(run_index), quiet=True)
        keras.backend.clear_session()  # as a study does between trials
        gc.collect()
        return sum(isinstance(o, func_graph.FuncGraph) for o in gc.get_objects())

    cfg = config("train.epochs=1", "model.params.hidden_units=[16]")
    first = graphs_after(0)
    assert [graphs_after(i) for i in (1, 2)] == [first, first]
