"""Output that is not for the user is gone or says what to do (issue 27, item 10): a missing
export extra, the verification line's wording, the dashboard hint, ``init`` of a model too
large for this machine, TensorFlow's start-up lines on another backend."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from nnzoo import memory
from nnzoo.cli import cli

REAL_FIND_SPEC = importlib.util.find_spec


def _without(monkeypatch, *names):
    def find_spec(name, *args, **kwargs):
        return None if name in names else REAL_FIND_SPEC(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_an_export_without_its_extra_says_how_to_install_it(monkeypatch):
    from nnzoo.inference.export import ExportError, check_packages

    _without(monkeypatch, "tf2onnx", "onnxruntime")
    with pytest.raises(ExportError) as err:
        check_packages("onnx")
    assert str(err.value) == (
        "exporting to onnx needs tf2onnx, onnxruntime, which are not installed. "
        "Fix: pip install 'nnzoo[export]'"
    )
    assert err.value.exit_code == 1
    with pytest.raises(ExportError, match="needs tf2onnx, which is not installed"):
        check_packages("onnx", verify=False)  # onnxruntime only verifies
    _without(monkeypatch, "ai_edge_litert")
    with pytest.raises(ExportError, match="needs ai-edge-litert, which is not installed"):
        check_packages("litert")
    check_packages("litert", verify=False)  # written without it; only verifying needs it


def test_the_verification_line_says_where_its_examples_came_from():
    from nnzoo.inference.verify import examples_phrase

    assert examples_phrase({"examples": 24, "inputs_from": "generated"}) == (
        "24 generated examples (the test split was not available)"
    )
    assert examples_phrase({"examples": 1, "inputs_from": "test split"}) == (
        "1 example from the test split"
    )


def test_the_dashboard_hint_says_how_to_install_it(monkeypatch):
    from nnzoo.tuning._outputs import dashboard_line

    _without(monkeypatch, "optuna_dashboard")
    assert dashboard_line("sqlite:///t.db") == (
        "dashboard: optuna-dashboard sqlite:///t.db (install it first: pip install "
        "optuna-dashboard)"
    )


def test_init_writes_a_config_this_machine_is_too_small_to_train_and_says_so(monkeypatch):
    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 2**30)
    result = CliRunner().invoke(cli, ["init", "gpt2_xl"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# nnzoo config for gpt2_xl:")
    assert result.stderr.splitlines() == [
        "nnzoo: note: this machine cannot train it: model 'gpt2_xl' would have 1,557,611,200 "
        "parameters: 17.4 GiB for its float32 weights and the optimizer's 2 slot(s) per weight "
        "(4 bytes x 3), more than half of the 1.0 GiB of memory available"
    ]
    result = CliRunner().invoke(cli, ["init", "gpt_nano"])
    assert result.exit_code == 0 and result.stderr == ""


@pytest.mark.skipif(REAL_FIND_SPEC("jax") is None, reason="needs JAX")
@pytest.mark.skipif(REAL_FIND_SPEC("tensorflow") is None, reason="needs TensorFlow")
def test_on_jax_tensorflow_prints_no_start_up_lines(tmp_path):
    code = (
        "from nnzoo._cli_options import import_keras_quietly\n"
        "import_keras_quietly()\n"
        "import tensorflow as tf\n"
        "tf.data.Dataset.range(4).batch(2).get_single_element() if False else None\n"
        "print(int(tf.reduce_sum(tf.constant([1, 2]))))\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": os.getcwd()}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "3\n", "")
