"""model.init_from: layers whose name and shape match are loaded, the rest stay fresh."""

from __future__ import annotations

import numpy as np
import pytest

from nnzoo.errors import ConfigError
from nnzoo.run.bind import load_config
from nnzoo.run.saving import load_model
from nnzoo.training import train

BASE = ["train.epochs=2", "model.params.hidden_units=[32, 16]"]


def test_new_head_for_another_num_classes(tmp_path):
    source = train(load_config("configs/quickstart.yaml", BASE), runs_dir=tmp_path, quiet=True)
    cfg = load_config(
        "configs/quickstart.yaml",
        [
            *BASE,
            "train.epochs=1",
            "train.optimizer.learning_rate=1.0e-12",
            "data.source=synthetic",
            "data.params={input_shape: [64], num_classes: 3}",
            f"model.init_from={source.run_dir}",
        ],
    )
    run = train(cfg, runs_dir=tmp_path, quiet=True)
    assert run.metrics["init_from"] == {"loaded": 2, "skipped": 1}
    before = load_model(source.run_dir / "model.keras")
    after = load_model(run.run_dir / "model.keras")
    for name in ("dense1", "dense2"):  # loaded (a learning rate of 1e-12 keeps them)
        for a, b in zip(before.get_layer(name).get_weights(), after.get_layer(name).get_weights()):
            np.testing.assert_allclose(a, b, atol=1e-6)
    assert after.get_layer("logits").get_weights()[0].shape == (16, 3)  # fresh head


def test_nothing_matching_is_an_error(tmp_path):
    source = train(load_config("configs/quickstart.yaml", BASE), runs_dir=tmp_path, quiet=True)
    cfg = load_config("configs/perceptron.yaml", [f"model.init_from={source.run_dir}"])
    with pytest.raises(ConfigError, match="model.init_from: no layer of the model matches"):
        train(cfg, runs_dir=tmp_path, quiet=True)


def test_missing_run_is_an_error(tmp_path):
    cfg = load_config("configs/quickstart.yaml", [f"model.init_from={tmp_path / 'nope'}"])
    with pytest.raises(ConfigError, match="model.init_from: no trained model at"):
        train(cfg, runs_dir=tmp_path, quiet=True)


def test_from_a_weights_h5_file(tmp_path):
    source = train(load_config("configs/quickstart.yaml", BASE), runs_dir=tmp_path, quiet=True)
    path = tmp_path / "source.weights.h5"
    load_model(source.run_dir / "model.keras").save_weights(path)
    cfg = load_config(
        "configs/quickstart.yaml",
        [
            *BASE,
            "train.epochs=1",
            "train.optimizer.learning_rate=1.0e-12",
            f"model.init_from={path}",
        ],
    )
    run = train(cfg, runs_dir=tmp_path, quiet=True)
    # The feature normalisation, two hidden Dense layers and the head.
    assert run.metrics["init_from"] == {"loaded": 4, "skipped": 0}
    assert run.metrics["test"]["accuracy"] == pytest.approx(
        source.metrics["test"]["accuracy"], abs=0.02
    )
