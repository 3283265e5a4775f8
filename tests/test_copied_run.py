"""A run copied away from its training data: predict works, evaluate says what to pass."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from click.testing import CliRunner

import nnzoo
from nnzoo.cli import cli
from nnzoo.run.bind import config_from_dict


@pytest.fixture(scope="module")
def copied_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 2))
    rows = ["a,b,label"] + [f"{a:.4f},{b:.4f},{int(a > 0)}" for a, b in x]
    table = home / "t.csv"
    table.write_text("\n".join(rows) + "\n")
    config = config_from_dict(
        {
            "name": "copied",
            "model": {"name": "mlp", "params": {"hidden_units": [8]}},
            "data": {"source": "csv", "params": {"path": str(table)}},
            "train": {"epochs": 1},
        }
    )
    result = nnzoo.train(config, runs_dir=home / "runs", quiet=True)
    copy = tmp_path_factory.mktemp("elsewhere") / "run"
    shutil.copytree(result.run_dir, copy)
    moved = home / "moved.csv"
    table.rename(moved)
    return copy, table, moved


def test_evaluate_names_the_missing_data_and_the_flag(copied_run):
    run, table, _ = copied_run
    result = CliRunner().invoke(cli, ["evaluate", str(run)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"nnzoo: error: {run}/config.yaml: data.params.path: the data this run was trained on "
        f"is not there: '{table}'. Fix: evaluate on your copy of it: nnzoo evaluate {run} "
        "--data csv --set path=PATH"
    ]


def test_evaluate_with_data_and_predict_work_without_the_training_file(copied_run):
    run, _, moved = copied_run
    result = CliRunner().invoke(
        cli, ["evaluate", str(run), "--data", "csv", "--set", f"path={moved}", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert '"examples": 16' in result.output  # the test split (0.2) of 80 rows
    predictions = nnzoo.predict(run, moved)
    assert len(predictions) == 80
