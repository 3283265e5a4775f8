"""Downloads into the Keras cache, the one offline switch, and what validate / train say.

Nothing here reaches the network: a download is ``keras.utils.get_file`` monkeypatched (its
arguments are the assertion), and the offline tests make every socket call fail.
"""

from __future__ import annotations

import logging
import os
import socket
import urllib.error

import pytest
from click.testing import CliRunner
from fixtures import sha256, write_cifar10

from nnzoo import _offline
from nnzoo.cli import cli
from nnzoo.data import get_source, keras_datasets
from nnzoo.errors import DataNotAvailableError
from nnzoo.models import vgg

CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
CIFAR_CONFIGS = ["cnn_cifar", "resnet18", "vit_tiny", "vgg16_transfer"]


@pytest.fixture(autouse=True)
def _restore_switch(monkeypatch):
    """``--offline`` sets process-wide state: give it back after each test."""
    monkeypatch.setitem(_offline._switch, "offline", None)
    monkeypatch.setenv("NNZOO_OFFLINE", os.environ.get("NNZOO_OFFLINE", "1"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


@pytest.fixture
def online(monkeypatch):
    monkeypatch.delenv("NNZOO_OFFLINE")


@pytest.fixture
def no_network(monkeypatch):
    """Any socket use fails the test (the offline switch must stop before the network)."""

    def touched(*args, **kwargs):
        raise AssertionError(f"the network was touched: {args}")

    monkeypatch.setattr(socket, "create_connection", touched)
    monkeypatch.setattr(socket, "getaddrinfo", touched)
    monkeypatch.setattr(socket.socket, "connect", touched)


@pytest.fixture
def fake_get_file(monkeypatch):
    """``keras.utils.get_file`` that records its arguments and the socket timeout, and
    writes ``writer``'s file where Keras would."""
    import keras

    calls = []

    def install(writer):
        def get_file(**kwargs):
            calls.append({**kwargs, "timeout": socket.getdefaulttimeout()})
            path = os.path.join(kwargs["cache_dir"], kwargs["cache_subdir"], kwargs["fname"])
            writer(path)
            return path

        monkeypatch.setattr(keras.utils, "get_file", get_file)
        return calls

    return install


def cifar_line(home, reason: str) -> str:
    return (
        f"cifar10 is not available offline ({reason}): put cifar-10-python.tar.gz (170 MB, "
        f"from {CIFAR_URL}) in {home}/datasets/, or use an offline source: "
        "--set data.source=shapes"
    )


# --------------------------------------------------------------------------- the switch


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({}, None),
        ({"NNZOO_OFFLINE": "1"}, "NNZOO_OFFLINE=1"),
        ({"NNZOO_OFFLINE": "true"}, "NNZOO_OFFLINE=true"),
        ({"NNZOO_OFFLINE": "0"}, None),
        ({"NNZOO_OFFLINE": ""}, None),
        ({"HF_HUB_OFFLINE": "ON"}, "HF_HUB_OFFLINE=ON"),
        ({"NNZOO_OFFLINE": "no", "HF_HUB_OFFLINE": "yes"}, "HF_HUB_OFFLINE=yes"),
    ],
)
def test_the_switch_reads_nnzoo_offline_and_hf_hub_offline(monkeypatch, env, reason):
    monkeypatch.delenv("NNZOO_OFFLINE")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _offline.offline_reason() == reason
    assert _offline.is_offline() is (reason is not None)


def test_set_offline_wins_over_the_environment_and_reaches_child_processes(monkeypatch):
    monkeypatch.delenv("NNZOO_OFFLINE")
    _offline.set_offline(True)
    assert _offline.offline_reason() == "--offline"
    assert os.environ["NNZOO_OFFLINE"] == "1"  # tuning workers inherit it
    _offline.set_offline(False)
    assert _offline.is_offline() is False  # even with NNZOO_OFFLINE=1 in the environment
    _offline.set_offline(None)
    assert _offline.offline_reason() == "NNZOO_OFFLINE=1"


def test_network_timeout_bounds_sockets_and_restores_the_default():
    assert socket.getdefaulttimeout() is None
    with _offline.network_timeout():
        assert socket.getdefaulttimeout() == _offline.CONNECT_TIMEOUT_S == 10.0
    assert socket.getdefaulttimeout() is None


# --------------------------------------------------------------------------- downloading


def test_a_missing_set_is_downloaded_through_get_file_and_said_first(
    keras_home, online, fake_get_file, caplog
):
    calls = fake_get_file(write_cifar10)
    with caplog.at_level(logging.WARNING, logger="nnzoo._cache"):
        data = get_source("cifar10").loader(seed=0)
    assert data.x.shape == (20, 32, 32, 3)  # the downloaded (fixture) tarball, parsed
    assert calls == [
        {
            "fname": "cifar-10-python.tar.gz.part",
            "origin": CIFAR_URL,
            "file_hash": CIFAR_SHA256,
            "cache_dir": str(keras_home),
            "cache_subdir": "datasets",
            "force_download": True,
            "timeout": 10.0,
        }
    ]
    assert caplog.messages == [
        f"nnzoo: downloading cifar10: cifar-10-python.tar.gz (170 MB) from {CIFAR_URL} to "
        f"{keras_home}/datasets/cifar-10-python.tar.gz"
    ]
    # Renamed into place once complete: no .part left, the real name in the cache.
    assert sorted(p.name for p in (keras_home / "datasets").iterdir()) == [
        "cifar-10-python.tar.gz"
    ]


def test_vgg16_imagenet_weights_are_downloaded_with_kerass_origin_and_hash(
    keras_home, online, fake_get_file
):
    calls = fake_get_file(lambda path: open(path, "wb").close())
    path = vgg._weights_file("imagenet", include_top=False)
    assert path == str(keras_home / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
    (call,) = calls
    assert call["origin"] == (
        "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    )
    assert call["file_hash"] == "6d6bbae143d832006294945121d1f1fc"  # keras.applications'
    assert call["cache_subdir"] == "models" and call["cache_dir"] == str(keras_home)


def test_a_failed_download_is_one_line_and_leaves_no_partial_file(keras_home, online, monkeypatch):
    import keras.src.utils.file_utils as file_utils

    def timed_out(url, filename, reporthook=None):
        with open(filename, "wb") as f:
            f.write(b"half a tarball")
        raise urllib.error.URLError(TimeoutError("timed out"))

    monkeypatch.setattr(file_utils, "urlretrieve", timed_out)
    with pytest.raises(DataNotAvailableError) as info:
        get_source("cifar10").loader(seed=0)
    reason = f"download failed: URL fetch failure on {CIFAR_URL}: None -- timed out"
    assert info.value.one_line() == cifar_line(keras_home, reason)
    assert list((keras_home / "datasets").iterdir()) == []


@pytest.mark.parametrize("switch", ["flag", "NNZOO_OFFLINE", "HF_HUB_OFFLINE"])
def test_offline_a_would_be_download_raises_without_touching_the_network(
    keras_home, online, no_network, fake_get_file, monkeypatch, switch
):
    calls = fake_get_file(write_cifar10)
    if switch == "flag":
        _offline.set_offline(True)
    else:
        monkeypatch.setenv(switch, "1")
    reason = {"flag": "--offline", "NNZOO_OFFLINE": "NNZOO_OFFLINE=1"}.get(switch, f"{switch}=1")
    with pytest.raises(DataNotAvailableError) as info:
        get_source("cifar10").loader(seed=0)
    assert info.value.one_line() == cifar_line(keras_home, f"{reason} is set")
    with pytest.raises(DataNotAvailableError, match=r"--set model.params.weights=null$"):
        vgg._weights_file("imagenet", include_top=True)
    assert calls == []


def test_download_false_forbids_one_config_s_download(keras_home, online, fake_get_file):
    calls = fake_get_file(write_cifar10)
    with pytest.raises(DataNotAvailableError) as info:
        get_source("cifar10").loader(seed=0, download=False)
    assert info.value.one_line() == cifar_line(keras_home, "data.params.download is false")
    assert calls == []


def test_a_cached_file_is_used_offline_without_keras(put, no_network, monkeypatch):
    import keras

    monkeypatch.setattr(keras.utils, "get_file", None)  # not called for a cached file
    put("cifar10", write_cifar10)
    assert get_source("cifar10").loader(seed=0).x.shape == (20, 32, 32, 3)


# --------------------------------------------------------------------------- the CLI


@pytest.mark.parametrize("config", CIFAR_CONFIGS)
def test_offline_cifar_configs_fail_before_keras_loads(keras_home, online, monkeypatch, config):
    import nnzoo.cli.runs

    def no_keras():
        raise AssertionError("Keras was imported before the download check")

    monkeypatch.setattr(nnzoo.cli.runs, "import_keras_quietly", no_keras)
    args = ["--offline", "train", f"configs/{config}.yaml", "--runs-dir", str(keras_home / "r")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    expected = cifar_line(keras_home, "--offline is set")
    if config == "vgg16_transfer":  # the model's weights are checked first
        expected = (
            "VGG16 ImageNet weights are not available offline (--offline is set): put "
            "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 (59 MB, from https://storage."
            "googleapis.com/tensorflow/keras-applications/vgg16/vgg16_weights_tf_dim_ordering_"
            f"tf_kernels_notop.h5) in {keras_home}/models/, or train from a random "
            "initialisation: --set model.params.weights=null"
        )
    assert result.output == f"nnzoo: error: {expected}\n"
    assert not (keras_home / "r").exists()


def test_offline_train_fails_without_importing_tensorflow(keras_home, online):
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from nnzoo.cli import cli\n"
        "try:\n"
        "    cli(['--offline', 'train', 'configs/resnet18.yaml'], prog_name='nnzoo')\n"
        "finally:\n"
        "    print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert done.stdout == "False False\n"
    assert done.stderr == f"nnzoo: error: {cifar_line(keras_home, '--offline is set')}\n"


def test_offline_tune_and_resume_check_downloads_before_keras_loads(keras_home, monkeypatch):
    import shutil

    import nnzoo.cli.runs
    import nnzoo.cli.tuning

    def no_keras():
        raise AssertionError("Keras was imported before the download check")

    monkeypatch.setattr(nnzoo.cli.runs, "import_keras_quietly", no_keras)
    monkeypatch.setattr(nnzoo.cli.tuning, "import_keras_quietly", no_keras)
    expected = f"nnzoo: error: {cifar_line(keras_home, 'NNZOO_OFFLINE=1 is set')}\n"
    tune = ["tune", "configs/tune/cnn_shapes.yaml", "--set", "data.source=cifar10"]
    result = CliRunner().invoke(cli, [*tune, "--runs-dir", str(keras_home / "r")])
    assert (result.exit_code, result.output) == (2, expected)
    # An interrupted run of a CIFAR config: resuming it offline stops at the same line.
    run = keras_home / "run"
    run.mkdir()
    shutil.copy("configs/cnn_cifar.yaml", run / "config.yaml")
    (run / "status.json").write_text('{"state": "interrupted", "schema_version": 2}')
    result = CliRunner().invoke(cli, ["train", "--resume", str(run)])
    assert (result.exit_code, result.output) == (2, expected)
    assert not (keras_home / "r").exists()


def test_validate_says_what_will_be_downloaded_and_where(keras_home, online):
    args = ["validate", "configs/resnet18.yaml", "--set", "train.epochs=2"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0
    assert result.output == (
        "configs/resnet18.yaml: ok (resnet18 on cifar10, 2 epochs)\n"
        f"  needs cifar-10-python.tar.gz (170 MB) from {CIFAR_URL}: not in the cache, will be "
        f"downloaded to {keras_home}/datasets/\n"
    )


def test_validate_names_the_cached_file_also_offline(put):
    path = put("cifar10", write_cifar10)
    result = CliRunner().invoke(cli, ["--offline", "validate", "configs/vgg16_transfer.yaml"])
    assert result.exit_code == 2  # the weights are not cached
    assert "VGG16 ImageNet weights are not available offline (--offline" in result.output
    args = ["validate", "configs/vgg16_transfer.yaml", "--set", "model.params.weights=null"]
    result = CliRunner().invoke(cli, ["--offline", *args, "--set", "train.epochs=2"])
    assert result.exit_code == 0
    assert result.output == (
        "configs/vgg16_transfer.yaml: ok (vgg16_transfer on cifar10, 2 epochs)\n"
        f"  needs cifar-10-python.tar.gz (170 MB) from {CIFAR_URL}: cached at {path}\n"
    )


def test_validate_offline_without_the_file_is_the_offline_line(keras_home):
    result = CliRunner().invoke(cli, ["validate", "configs/cnn_cifar.yaml"])
    assert result.exit_code == 2
    assert result.output == f"nnzoo: error: {cifar_line(keras_home, 'NNZOO_OFFLINE=1 is set')}\n"


def test_validate_of_a_config_without_downloads_says_only_ok(keras_home):
    result = CliRunner().invoke(cli, ["validate", "configs/quickstart.yaml"])
    assert result.exit_code == 0
    assert result.output.count("\n") == 1 and "needs" not in result.output


def test_a_cifar_config_trains_offline_from_a_filled_keras_cache(put, tmp_path):
    """With the real-format file in the Keras cache (its hash registered), the shipped CIFAR
    config trains offline: the check passes and the loader reads the cached file."""
    path = put("cifar10", write_cifar10)
    (remote,) = keras_datasets.DATASETS["cifar10"].files
    assert remote.file_hash == sha256(path)
    args = [
        "--offline",
        "train",
        "configs/cnn_cifar.yaml",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--runs-dir",
        str(tmp_path / "runs"),
        "-q",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "test accuracy: " in result.output
    (run,) = (tmp_path / "runs" / "cnn_cifar").iterdir()
    assert (run / "metrics.json").is_file()
