"""tf.distribute: MirroredStrategy on 2 logical CPUs, MultiWorkerMirroredStrategy on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from collections import Counter

import pytest

from nnzoo.training.distribute import input_shard

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


def run_workers(script, runs_dir, overrides, count=2):
    """Run ``script`` as the ``count`` workers of a loopback cluster; their last output lines,
    parsed as JSON."""
    ports = [free_port() for _ in range(count)]
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for index in range(count):
        task = {"type": "worker", "index": index}
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": cluster, "task": task}))
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", script, str(runs_dir), *overrides],
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
    return outs


def test_input_shard_is_the_input_pipeline_multi_worker_strategy_gives(monkeypatch):
    def shard(cluster, task, strategy="multi_worker"):
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
        return input_shard(strategy)

    two = {"worker": ["a:1", "b:1"]}
    assert shard(two, {"type": "worker", "index": 1}) == (1, 2)
    assert shard(two, {"type": "worker", "index": 1}, strategy="mirrored") is None
    assert shard({"worker": ["a:1"]}, {"type": "worker", "index": 0}) is None
    with_chief = {"chief": ["c:1"], "worker": ["a:1", "b:1"]}
    assert shard(with_chief, {"type": "chief", "index": 0}) == (0, 3)
    assert shard(with_chief, {"type": "worker", "index": 1}) == (2, 3)
    assert shard(with_chief, {"type": "evaluator", "index": 0}) is None


@pytest.mark.slow
def test_multi_worker_on_loopback_completes(tmp_path):
    outs = run_workers(WORKER, tmp_path, [*COMMON, "distribute.strategy=multi_worker"])
    assert [o["replicas"] for o in outs] == [2, 2]
    assert outs[0]["accuracy"] > 0.85
    # Only the chief (worker 0) writes under runs/; the other worker writes to a temp dir.
    assert outs[0]["run_dir"].startswith(str(tmp_path))
    assert not outs[1]["run_dir"].startswith(str(tmp_path))


COUNTING_WORKER = textwrap.dedent(
    """
    import json, sys
    from nnzoo.data import _prepare, pipeline
    decoded, train_files = [], []
    real_decode, real_make = _prepare.decode_image, pipeline.make_dataset

    def counting(file, *args, **kwargs):
        decoded.append(str(file))
        return real_decode(file, *args, **kwargs)

    def making(x, *args, **kwargs):
        if kwargs.get("training"):
            train_files.extend(str(p) for p in x.paths)
        return real_make(x, *args, **kwargs)

    _prepare.decode_image, pipeline.make_dataset = counting, making
    from nnzoo.run.bind import load_config
    from nnzoo.training import train
    cfg = load_config("configs/cnn_cifar.yaml", sys.argv[2:])
    result = train(cfg, runs_dir=sys.argv[1], quiet=True)
    print(json.dumps({"replicas": result.metrics["replicas"], "decoded": decoded,
                      "train": train_files}))
    """
)


@pytest.mark.slow
def test_multi_worker_decodes_each_workers_share_of_the_files(tmp_path, make_image_folder):
    """Two workers on loopback train on a streamed image folder: each decodes only its own
    batches of the training stream (about half the files), together every training file, none
    that the other reads (in the data's order, a worker's share is the same every pass).
    Before, tf.distribute sharded the stream by DATA: each worker decoded every file."""
    folder = make_image_folder({"ants": 20, "bees": 20, "cats": 20})
    epochs = 3
    overrides = [
        "data.source=image_folder",
        f"data.params.path={folder}",
        "data.params.image_size=16",
        "data.batch_size=12",  # 43 training images: 4 batches a pass, 2 for each worker
        "data.cache=false",
        "data.shuffle=false",
        "data.augment.flip=none",
        "data.augment.rotation=0",
        "data.augment.translate=0",
        "data.augment.zoom=0",
        "model.params.filters=[8, 16]",
        "model.params.convs_per_block=[1, 1]",
        "model.params.padding=same",
        "model.params.dense_units=32",
        f"train.epochs={epochs}",
        "train.callbacks.early_stopping=false",
        "distribute.strategy=multi_worker",
    ]
    outs = run_workers(COUNTING_WORKER, tmp_path, overrides)
    assert [o["replicas"] for o in outs] == [2, 2]
    train_files = outs[0]["train"]
    assert outs[1]["train"] == train_files and len(train_files) == 43
    # The training files each worker decoded, and how often.
    counts = [Counter(f for f in o["decoded"] if f in set(train_files)) for o in outs]
    first, second = (set(c) for c in counts)
    assert first.isdisjoint(second)
    assert first | second == set(train_files)
    assert (len(first), len(second)) == (24, 19)  # batches 0, 2 and 1, 3 of each pass
    for c in counts:
        # Its share once a pass, a pass an epoch, plus what the endless stream reads ahead of
        # training (whole batches, so one batch once more than another) and its first batch
        # twice before training (building the model and its training state).
        assert epochs <= min(c.values()) and max(c.values()) - min(c.values()) <= 3
