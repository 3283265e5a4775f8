"""A split that leaves too little to train on, and examples no model takes, are refused in one
line, by ``validate`` before ``train`` (issue 27, item 8); ``train`` prints the split's sizes."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from nnzoo.cli import cli
from nnzoo.data._sizes import check_training_split, planned_sizes
from nnzoo.errors import ConfigError

CONFIG = """name: s
model: {name: mlp, params: {hidden_units: [8]}}
data: {source: iris}
train: {epochs: 1, schedule: {name: constant}}
"""


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(CONFIG)
    return "s.yaml"


def _error(args):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    return result.output.splitlines()


def test_the_planned_sizes_are_the_ones_load_data_draws():
    assert planned_sizes(150, 0.1, 0.2) == {"train": 108, "validation": 12, "test": 30}
    assert planned_sizes(100, 0.0, 0.5, n_test=40) == {"train": 100, "validation": 0, "test": 40}


def test_fewer_than_2_of_a_class_is_refused_naming_both_fractions():
    with pytest.raises(ConfigError) as err:
        check_training_split(
            {"train": 17, "validation": 160, "test": 1620},
            batch_size=32,
            validation_split=0.9,
            test_split=0.9,
            class_counts=[1, 2],
            class_names=["cat", "dog"],
        )
    assert str(err.value) == (
        "data.validation_split: data.validation_split=0.9 and data.test_split=0.9 leave 17 of "
        "1797 examples to train on, 1 of class 'cat': fewer than 2 per class. Fix: lower "
        "data.validation_split or data.test_split (together they hold out 1780 examples), "
        "or give more examples"
    )


def test_a_small_data_set_smaller_than_a_batch_still_trains():
    """Fewer than one batch is refused only when the held-out splits take more than it."""
    sizes = {"train": 29, "validation": 4, "test": 9}
    check_training_split(sizes, batch_size=32, validation_split=0.1, test_split=0.2)


LESS_THAN_A_BATCH = (
    "nnzoo: error: s.yaml: data.validation_split: data.validation_split=0.6 and "
    "data.test_split=0.5 leave 30 of 150 examples to train on, fewer than one batch "
    "(data.batch_size=64). Fix: lower data.validation_split or data.test_split (together "
    "they hold out 120 examples), or give more examples"
)
TOO_SMALL = [
    "--set",
    "data.validation_split=0.6",
    "--set",
    "data.test_split=0.5",
    "--set",
    "data.batch_size=64",
]


def test_validate_and_train_refuse_a_training_split_under_one_batch(config, tmp_path):
    assert _error(["validate", config, *TOO_SMALL]) == [LESS_THAN_A_BATCH]
    assert _error(["train", config, *TOO_SMALL, "--runs-dir", "runs"]) == [LESS_THAN_A_BATCH]
    assert not (tmp_path / "runs").exists()


def test_validate_refuses_too_few_of_a_class():
    lines = _error(
        ["validate", "configs/quickstart.yaml", "--set", "data.validation_split=0.9",
         "--set", "data.test_split=0.9"]
    )  # fmt: skip
    assert len(lines) == 1
    assert lines[0].startswith(
        "nnzoo: error: configs/quickstart.yaml: data.validation_split: "
        "data.validation_split=0.9 and data.test_split=0.9 leave 17 of 1797 examples"
    )
    assert lines[0].endswith("fewer than 2 per class. Fix: lower data.validation_split or "
                             "data.test_split (together they hold out 1780 examples), or give "
                             "more examples")  # fmt: skip


@pytest.mark.parametrize("shape", [(40,), (40, 2, 2, 2, 2)])
def test_validate_and_train_refuse_npz_examples_of_a_rank_no_model_takes(config, shape):
    np.savez("x.npz", x=np.zeros(shape, "float32"), y=np.arange(40) % 2)
    rank = len(shape) - 1
    line = (
        f"nnzoo: error: s.yaml: data.params.x_key: x.npz array 'x' is an array of shape "
        f"{shape}: a model takes no examples of rank {rank}. Fix: save x as (N, features) or "
        "images (N, H, W[, C]) (one feature: x.reshape(-1, 1))"
    )
    npz = ["--set", "data.source=npz", "--set", "data.params.path=x.npz"]
    assert _error(["validate", config, *npz]) == [line]
    assert _error(["train", config, *npz, "--runs-dir", "runs"]) == [line]


def test_train_prints_the_sizes_of_the_split_after_the_data_line(config):
    result = CliRunner().invoke(cli, ["train", config, "--runs-dir", "runs"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].startswith("data: classification, 3 classes")
    assert lines[2] == "split: train 108 / validation 12 / test 30"
