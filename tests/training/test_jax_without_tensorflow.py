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
    cfg = load_config("configs/quickstart.yaml",
                      ["train.epochs=12", "model.params.hidden_units=[64]"])
    result = train(cfg, runs_dir=sys.argv[1], quiet=True)
    print(json.dumps({"backend": result.metrics["backend"],
                      "accuracy": result.metrics["test"]["accuracy"],
                      "tf": "tensorflow" in sys.modules}))
    """
)


def test_jax_trains_the_quickstart_without_tensorflow(tmp_path):
    env = dict(os.environ, KERAS_BACKEND="jax")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"backend": "jax", "accuracy": out["accuracy"], "tf": False}
    assert out["accuracy"] > 0.93
