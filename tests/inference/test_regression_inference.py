"""A regression run's inference (issue 26, item 4): ``evaluate`` reports MAE, RMSE and R²
(and the loss); ``predict`` writes a ``prediction`` column in the target's units (and
``label`` where the input has the target) and reports the same metrics as ``evaluate`` on the
same rows; ``export`` verifies within 1e-4 of the target's standard deviation."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

import nnzoo
from nnzoo.cli import cli
from nnzoo.data import load_data
from nnzoo.run.bind import config_from_dict
from nnzoo.run.split import read_split


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    config = config_from_dict(
        {
            "name": "diabetes",
            "model": {"name": "mlp", "params": {"hidden_units": [16]}},
            "data": {"source": "diabetes", "batch_size": 32},
            "train": {"epochs": 8, "optimizer": {"name": "adam", "learning_rate": 0.01}},
        }
    )
    return nnzoo.train(config, runs_dir=tmp_path_factory.mktemp("runs"), quiet=True)


@pytest.fixture(scope="module")
def test_rows(run, tmp_path_factory):
    """The run's recorded test split as an ``.npz`` (``x`` and the targets ``y``)."""
    splits = load_data("diabetes", seed=42, split=read_split(run.run_dir).indices)
    path = tmp_path_factory.mktemp("inputs") / "test.npz"
    np.savez(path, x=splits.test[0], y=splits.test[1])
    return path


def test_evaluate_reports_the_regression_metrics_that_predict_reports_on_the_same_rows(
    run, test_rows
):
    evaluated = nnzoo.evaluate(run.run_dir)
    assert set(evaluated) == {"loss", "mae", "rmse", "r2", "examples"}
    assert evaluated["examples"] == 89 and evaluated.scored == "recorded test split"
    rows = nnzoo.predict(run.run_dir, test_rows)
    assert rows.accuracy is None and len(rows) == 89
    assert set(rows[0]) == {"input", "prediction", "label"}
    for name in ("mae", "rmse", "r2"):
        assert rows.metrics[name] == pytest.approx(evaluated[name], rel=1e-4), name
    # And they are what the rows say.
    error = np.array([r["prediction"] - r["label"] for r in rows])
    assert rows.metrics["mae"] == pytest.approx(np.abs(error).mean(), rel=1e-9)
    assert evaluated == pytest.approx({**run.metrics["test"], "examples": 89}, rel=1e-5)


def test_predict_writes_predictions_in_the_target_units(run, test_rows, tmp_path):
    out = tmp_path / "p.csv"
    result = CliRunner().invoke(cli, ["predict", str(run.run_dir), str(test_rows), "-o", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(newline="") as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == ["input", "prediction", "label"]
    assert table[0]["input"] == "test.npz[0]"
    predictions = np.array([float(r["prediction"]) for r in table])
    assert 25.0 < predictions.mean() < 346.0  # the target's range, not standardised
    assert "mae: " in result.output and "r2: " in result.output
    assert "(89 labelled examples)" in result.output

    unlabelled = tmp_path / "x.npy"
    np.save(unlabelled, np.load(test_rows)["x"][:3])
    printed = CliRunner().invoke(cli, ["predict", str(run.run_dir), str(unlabelled)])
    assert printed.exit_code == 0, printed.output
    lines = printed.output.splitlines()
    assert len(lines) == 3 and lines[0].split("\t")[0] == "x.npy[0]"
    assert float(lines[0].split("\t")[1]) == pytest.approx(predictions[0], rel=1e-5)

    as_json = tmp_path / "p.json"
    nnzoo_rows = CliRunner().invoke(
        cli, ["predict", str(run.run_dir), str(unlabelled), "-o", str(as_json)]
    )
    assert nnzoo_rows.exit_code == 0
    assert list(json.loads(as_json.read_text())[0]) == ["input", "prediction"]


def test_cli_evaluate_prints_mae_rmse_r2(run):
    result = CliRunner().invoke(cli, ["evaluate", str(run.run_dir)])
    assert result.exit_code == 0, result.output
    names = [line.split(":")[0] for line in result.output.splitlines()]
    assert names == ["loss", "mae", "r2", "rmse", "examples"]


def test_export_verifies_relative_to_the_target_spread(run, test_rows, tmp_path):
    from nnzoo.inference.export import export_run

    report = export_run(run.run_dir, "saved_model", output=tmp_path / "export")
    std = json.loads((run.run_dir / "data_spec.json").read_text())["target"]["std"]
    assert report["tolerance"] == pytest.approx(1e-4 * std)
    assert report["passed"] and "top1_agreement" not in report
    card = (tmp_path / "export" / "model.md").read_text()
    assert "output (the prediction, in the target's units): shape (batch)" in card
    exported = nnzoo.predict(tmp_path / "export", test_rows)
    kept = nnzoo.predict(run.run_dir, test_rows)
    assert exported.metrics == pytest.approx(kept.metrics, rel=1e-5)
