"""On JAX, training works with TensorFlow absent (as on the GPU machine): NumPy / PyDataset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys, json
    class NoTensorFlow:
        def find_spec(self, name, path=None, target=None):
            if name == "tensorflow" or name.startswith("tensorflow."):
                raise ImportError("TensorFlow is not installed (blocked by the test)")
    sys.meta_path.insert(0, NoTensorFlow())
    from nnzoo.run.bind import load_config
    from nnzoo.training import train
    cfg = load_config(sys.argv[2], json.loads(sys.argv[3]))
    result = train(cfg, runs_dir=sys.argv[1], quiet=True)
    print(json.dumps({"backend": result.metrics["backend"],
                      "accuracy": result.metrics["test"]["accuracy"],
                      "epochs": result.metrics["epochs"],
                      "tf": "tensorflow" in sys.modules}))
    """
)


def train_without_tensorflow(where, config, overrides):
    """The run's backend, test accuracy, epochs and whether TensorFlow was imported."""
    env = dict(os.environ, KERAS_BACKEND="jax")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(where), config, json.dumps(overrides)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_jax_trains_the_quickstart_without_tensorflow(tmp_path):
    overrides = ["train.epochs=12", "model.params.hidden_units=[64]"]
    out = train_without_tensorflow(tmp_path, "configs/quickstart.yaml", overrides)
    assert out == {"backend": "jax", "accuracy": out["accuracy"], "epochs": 12, "tf": False}
    assert out["accuracy"] > 0.93


def test_jax_streams_an_image_folder_without_tensorflow(tmp_path, make_image_folder):
    """Listed image files are read by a PyDataset's worker threads with the same decoder."""
    folder = make_image_folder({"ants": 20, "bees": 20, "cats": 20})
    overrides = [
        "data.source=image_folder",
        f"data.params.path={folder}",
        "data.params.image_size=16",
        "data.batch_size=8",
        "data.augment={}",
        "model.params.filters=[8]",
        "model.params.convs_per_block=[1]",
        "model.params.dense_units=16",
        "train.epochs=6",
    ]
    out = train_without_tensorflow(tmp_path, "configs/cnn_cifar.yaml", overrides)
    assert out == {"backend": "jax", "accuracy": out["accuracy"], "epochs": 6, "tf": False}
    assert out["accuracy"] > 0.9  # red, green, blue images
