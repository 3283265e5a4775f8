"""tf.distribute: MirroredStrategy on 2 logical CPUs, MultiWorkerMirroredStrategy on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from nnzoo.training.distribute import split_cpu
    split_cpu(2)
    from nnzoo.run.bind import load_config
    from nnzoo.training import train
    cfg = load_config("configs/quickstart.yaml", sys.argv[2:])
    result = train(cfg, runs_dir=sys.argv[1], quiet=True)
    print(json.dumps({"replicas": result.metrics["replicas"],
                      "accuracy": result.metrics["test"]["accuracy"]}))
    """
)

COMMON = [
    "train.epochs=8",
    "model.params.hidden_units=[64]",
    "train.schedule.name=constant",
    "train.callbacks.early_stopping=false",
    "data.batch_size=64",
]


def run_script(tmp_path, *overrides, env=None):
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), *COMMON, *overrides],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_mirrored_on_two_logical_cpus_matches_one_device(tmp_path):
    one = run_script(tmp_path / "one", "distribute.strategy=none")
    two = run_script(tmp_path / "two", "distribute.strategy=mirrored")
    assert (one["replicas"], two["replicas"]) == (1, 2)
    assert one["accuracy"] > 0.9
    assert abs(one["accuracy"] - two["accuracy"]) < 0.05


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


WORKER = textwrap.dedent(
    """
    import json, sys
    from nnzoo.run.bind import load_config
    from nnzoo.training import train
    cfg = load_config("configs/quickstart.yaml", sys.argv[2:])
    result = train(cfg, runs_dir=sys.argv[1], quiet=True)
    print(json.dumps({"replicas": result.metrics["replicas"],
                      "accuracy": result.metrics["test"]["accuracy"],
                      "run_dir": str(result.run_dir)}))
    """
)


@pytest.mark.slow
def test_multi_worker_on_loopback_completes(tmp_path):
    ports = [free_port(), free_port()]
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for index in range(2):
        env = dict(
            os.environ,
            TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
        )
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    WORKER,
                    str(tmp_path),
                    *COMMON,
                    "distribute.strategy=multi_worker",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
        )
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    assert [o["replicas"] for o in outs] == [2, 2]
    assert outs[0]["accuracy"] > 0.85
    # Only the chief (worker 0) writes under runs/; the other worker writes to a temp dir.
    assert outs[0]["run_dir"].startswith(str(tmp_path))
    assert not outs[1]["run_dir"].startswith(str(tmp_path))
