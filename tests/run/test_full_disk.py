"""A full disk ends a command in one line (exit 1), never with a crash: a training run is left
``failed`` with the reason and its last good checkpoint, resumable once there is space; an
existing ``predict --output`` file is kept.

No real full disk is needed: a file-size limit (``RLIMIT_FSIZE``, with ``SIGXFSZ`` ignored)
makes a write past it fail with ``EFBIG``, as a full disk fails with ``ENOSPC``; the check of
free space before a checkpoint is driven by a ``disk_usage`` that reports a full disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import resource
import shutil
import signal
from collections import namedtuple

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from nnzoo.cli import cli
from nnzoo.run.bind import load_config
from nnzoo.training import train

TINY = [
    "name=tiny",
    "model.name=mlp",
    "model.params={hidden_units: [8]}",
    "data.source=iris",
    "data.batch_size=16",
    "train.epochs=3",
    "train.schedule.name=constant",
    "train.callbacks.early_stopping.enabled=false",
    "train.checkpoint_every_seconds=0",  # a resume state after every epoch
]
KEPT = (
    "config.yaml",
    "data_spec.json",
    "split.npz",
    "history.csv",
    "checkpoints/fingerprint.json",
    "checkpoints/state.json",
    "checkpoints/last-1.keras",
)


class StopAfterFirstEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise KeyboardInterrupt  # as Ctrl-C: the run is left interrupted after epoch 1


def digests(run_dir, names=KEPT):
    return {n: hashlib.sha256((run_dir / n).read_bytes()).hexdigest() for n in names}


def status(run_dir):
    return json.loads((run_dir / "status.json").read_text())


@contextlib.contextmanager
def file_size_limit(size):
    """Writes past ``size`` bytes fail with EFBIG in this process (the soft limit only, so it
    can be raised back)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


@pytest.fixture
def interrupted_run(tmp_path):
    config = load_config("configs/quickstart.yaml", TINY)
    with pytest.raises(KeyboardInterrupt):
        train(config, runs_dir=tmp_path, quiet=True, callbacks=[StopAfterFirstEpoch()])
    run_dir = next((tmp_path / "tiny").iterdir())
    assert status(run_dir)["state"] == "interrupted"
    return run_dir


def resume(run_dir):
    return CliRunner().invoke(cli, ["train", "--resume", str(run_dir), "-q"])


def test_a_full_disk_fails_the_run_in_one_line_and_keeps_its_last_checkpoint(interrupted_run):
    run_dir = interrupted_run
    before = digests(run_dir)
    # The best weights (~20 kB) fit, the resume checkpoint with Adam's state (~30 kB) not.
    with file_size_limit(25_000):
        result = resume(run_dir)
    assert result.exit_code == 1, result.output
    checkpoint = run_dir / "checkpoints" / "last-2.keras"
    assert result.stderr == (
        f"nnzoo: error: {checkpoint}: File too large; the run {run_dir} stopped (status failed) "
        "and its last good checkpoint (epoch 1) is kept. Fix: free some space (or raise ulimit "
        f"-f), then resume it: nnzoo train --resume {run_dir}\n"
    )
    assert status(run_dir)["state"] == "failed"
    assert status(run_dir)["reason"] == f"{checkpoint}: File too large"
    assert digests(run_dir) == before
    assert not list(run_dir.rglob(".tmp-*")) and not checkpoint.exists()

    # Space again: the run resumes from its last good checkpoint and finishes.
    result = resume(run_dir)
    assert result.exit_code == 0, result.output
    assert status(run_dir)["state"] == "finished"
    assert json.loads((run_dir / "metrics.json").read_text())["epochs"] == 3


def test_a_checkpoint_is_not_started_without_the_space_for_it(interrupted_run, monkeypatch):
    run_dir = interrupted_run
    before = digests(run_dir)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))
    result = resume(run_dir)
    assert result.exit_code == 1, result.output
    best = run_dir / "checkpoints" / "best.weights.h5"
    size = best.stat().st_size
    assert result.stderr == (
        f"nnzoo: error: {best}: No space left on device (0.0 MiB free, about "
        f"{(size + 2**16) / 2**20:.1f} MiB needed); the run {run_dir} stopped (status failed) "
        "and its last good checkpoint (epoch 1) is kept. Fix: free some space, then resume it: "
        f"nnzoo train --resume {run_dir}\n"
    )
    assert status(run_dir)["state"] == "failed"
    assert digests(run_dir) == before


def test_predict_output_on_a_full_disk_keeps_the_old_file_and_names_it(tmp_path):
    config = load_config("configs/quickstart.yaml", TINY)
    run_dir = train(config, runs_dir=tmp_path, quiet=True).run_dir
    inputs = tmp_path / "x.npy"
    np.save(inputs, np.random.default_rng(0).normal(size=(40, 4)).astype("float32"))
    output = tmp_path / "out.csv"
    output.write_text("the old predictions\n")
    with file_size_limit(200):
        result = CliRunner().invoke(
            cli, ["predict", str(run_dir), str(inputs), "--output", str(output), "--force"]
        )
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"nnzoo: error: {output}: File too large. Fix: raise the file-size limit (ulimit -f) "
        "or free some space, or write elsewhere with --runs-dir / --output\n"
    )
    assert output.read_text() == "the old predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "tiny", "x.npy"]


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs at ``tmp_path / "disk"``, where this test may mount one (root on Linux);
    skipped elsewhere."""
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)]
    try:
        mounted = subprocess.run(mount, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        mounted = False
    if not mounted:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=30)


def test_a_really_full_disk_fails_the_run_and_it_resumes_once_there_is_space(small_disk):
    config = load_config("configs/quickstart.yaml", TINY)
    with pytest.raises(KeyboardInterrupt):
        train(config, runs_dir=small_disk, quiet=True, callbacks=[StopAfterFirstEpoch()])
    run_dir = next((small_disk / "tiny").iterdir())
    before = digests(run_dir)
    filler = small_disk / "filler"
    with filler.open("wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 4096)
    assert shutil.disk_usage(small_disk).free == 0

    result = resume(run_dir)
    assert result.exit_code == 1, result.output
    history = run_dir / "history.csv"  # the first file a resume rewrites
    assert result.stderr == (
        f"nnzoo: error: {history}: No space left on device; the run {run_dir} stopped (status "
        "failed) and its last good checkpoint (epoch 1) is kept. Fix: free some space, then "
        f"resume it: nnzoo train --resume {run_dir}\n"
    )
    # No room for a new status.json: the old one was rewritten in place.
    assert status(run_dir)["state"] == "failed"
    assert status(run_dir)["reason"] == f"{history}: No space left on device"
    assert digests(run_dir) == before

    filler.unlink()
    result = resume(run_dir)
    assert result.exit_code == 0, result.output
    assert status(run_dir)["state"] == "finished"
