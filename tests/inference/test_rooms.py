"""Inference stands on the run, not on training: evaluating, predicting and exporting a finished
run in a fresh process import neither the trainer nor the tuning package (nor Optuna).

The layering test (``tests/test_layering.py``) checks the imports as written; this checks what
a real process loads, lazy imports, Keras's deserialisation and the export verifier included.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

FIXTURE = Path(__file__).parents[1] / "fixtures" / "run_v1_mlp_xor"

SCRIPT = """
import json, sys
import nnzoo
from nnzoo.inference.export import export_run

run, inputs, out = sys.argv[1:4]
metrics = nnzoo.evaluate(run)
rows = nnzoo.predict(run, inputs)
report = export_run(run, "saved_model", output=out)
loaded = sorted(m for m in sys.modules if m.startswith(("nnzoo.training", "nnzoo.tuning")))
print(json.dumps({
    "examples": metrics["examples"],
    "rows": len(rows),
    "passed": report["passed"],
    "loaded": loaded,
    "optuna": "optuna" in sys.modules,
}))
"""


def test_evaluate_predict_export_load_no_trainer_and_no_tuning(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    inputs = tmp_path / "x.npy"
    np.save(inputs, np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32"))
    env = {**os.environ, "NNZOO_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(run), str(inputs), str(tmp_path / "export")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["rows"] == 4 and result["examples"] > 0 and result["passed"] is True
    # Only the schedules' module may load (``nnzoo.load_model`` registers them for files
    # that carry an optimizer); the trainer, its callbacks and the tuning package never do.
    assert result["loaded"] == ["nnzoo.training", "nnzoo.training.optimizers"]
    assert result["optuna"] is False
