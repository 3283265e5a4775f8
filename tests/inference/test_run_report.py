"""A report per run (issue 28, item 1): its numbers are scikit-learn's on the model's own
predictions for the recorded test split; ``report.html`` stands alone (inline PNGs, no URL);
``evaluate --per-class`` prints the table and ``--report DIR`` writes there, never into the run;
a lean tuning trial writes none until its artifacts are written."""

from __future__ import annotations

import json
import math
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn import metrics as skm

import nnzoo
from nnzoo.cli import cli
from nnzoo.data import load_data
from nnzoo.run.bind import config_from_dict, load_config
from nnzoo.run.report import summarise
from nnzoo.run.split import read_split


def _table(path: Path, count: int = 300, seed: int = 0) -> Path:
    """A CSV ``a,b,label``: the label is ``yes`` where ``a + noise > 0``."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(count, 3))
    lines = [f"{a:.4f},{b:.4f},{('no', 'yes')[int(a + 0.5 * c > 0)]}" for a, b, c in rows]
    path.write_text("a,b,label\n" + "\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def binary_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("binary")
    table = _table(home / "t.csv")
    config = config_from_dict(
        {
            "name": "bin",
            "model": {"name": "mlp", "params": {"hidden_units": [8]}},
            "data": {"source": "csv", "params": {"path": str(table)}},
            "train": {"epochs": 2, "optimizer": {"name": "adam", "learning_rate": 0.05}},
        }
    )
    return nnzoo.train(config, runs_dir=home / "runs", quiet=True), table


@pytest.fixture(scope="module")
def multi_run(tmp_path_factory):
    config = config_from_dict(
        {
            "name": "syn",
            "model": {"name": "mlp", "params": {"hidden_units": [8]}},
            "data": {"source": "synthetic", "params": {"num_examples": 200, "num_classes": 4}},
            "train": {"epochs": 1},
        }
    )
    return nnzoo.train(config, runs_dir=tmp_path_factory.mktemp("runs"), quiet=True)


def _test_split(run, source: str, params: dict) -> tuple[np.ndarray, np.ndarray]:
    """The run's recorded test split, drawn as the run drew it."""
    splits = load_data(source, params=params, seed=42, split=read_split(run.run_dir).indices)
    return splits.test


def _report(run) -> dict:
    return json.loads((run.run_dir / "report" / "report.json").read_text())


def test_a_multiclass_report_is_sklearns_on_the_models_test_predictions(multi_run):
    x, y = _test_split(multi_run, "synthetic", {"num_examples": 200, "num_classes": 4})
    pred = np.argmax(multi_run.model.predict(x, verbose=0), axis=-1)
    report = _report(multi_run)
    names = report["class_names"]
    want = skm.classification_report(
        y, pred, labels=range(4), target_names=names, output_dict=True, zero_division=0
    )
    per_class = json.loads((multi_run.run_dir / "report" / "per_class.json").read_text())
    for name in [*names, "macro avg", "weighted avg"]:
        for key in ("precision", "recall", "f1-score", "support"):
            assert per_class[name][key] == pytest.approx(want[name][key], abs=1e-12)
    counts = np.asarray(report["confusion_matrix"])
    np.testing.assert_array_equal(counts, skm.confusion_matrix(y, pred, labels=range(4)))
    assert counts.sum() == len(y) == report["examples"] == 40
    assert report["accuracy"] == pytest.approx(multi_run.metrics["test"]["accuracy"], abs=1e-6)
    csv_rows = (multi_run.run_dir / "report" / "per_class.csv").read_text().splitlines()
    assert csv_rows[0] == "class,precision,recall,f1,support"
    assert len(csv_rows) == 1 + 4 + 2
    first = csv_rows[1].split(",")
    assert first[0] == names[0]
    assert float(first[3]) == pytest.approx(want[names[0]]["f1-score"])
    # Four classes: no ROC.
    assert sorted(p.name for p in (multi_run.run_dir / "report").glob("*.png")) == [
        "confusion_matrix.png"
    ]


def test_a_binary_report_has_rocs_area_and_its_curves(binary_run):
    run, table = binary_run
    x, y = _test_split(run, "csv", {"path": str(table)})
    logits = run.model.predict(x, verbose=0)
    score = logits[:, 0] if logits.shape[-1] == 1 else logits[:, 1] - logits[:, 0]
    report = _report(run)
    assert report["roc_auc"] == pytest.approx(skm.roc_auc_score(y, score), abs=1e-9)
    assert report["average_precision"] == pytest.approx(
        skm.average_precision_score(y, score), abs=1e-9
    )
    assert np.asarray(report["confusion_matrix"]).sum() == len(y) == 60
    folder = run.run_dir / "report"
    assert {"roc.png", "precision_recall.png", "confusion_matrix.png"} <= {
        p.name for p in folder.iterdir()
    }


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.headings: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        for key in ("href", "src"):
            if key in attrs and tag != "img":
                self.links.append(attrs[key])
        self._in_h2 = tag == "h2"

    def handle_data(self, data):
        if self._in_h2:
            self.headings.append(data)
            self._in_h2 = False


def test_report_html_stands_alone_with_inline_pictures(binary_run):
    run, _ = binary_run
    text = (run.run_dir / "report" / "report.html").read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    page.close()
    # confusion matrix, ROC, precision-recall, and the run's curves.png
    assert len(page.images) == 4
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    assert page.links == []
    assert "http://" not in text and "https://" not in text
    assert page.headings == [
        "Test results (classification)",
        "Per class",
        "Pictures",
        "Training curves",
        "Model",
        "Data",
        "Config",
    ]
    assert "name: bin" in text  # the resolved config


def test_regression_report_is_sklearns_mae_rmse_r2(tmp_path):
    config = config_from_dict(
        {
            "name": "diabetes",
            "model": {"name": "mlp", "params": {"hidden_units": [16]}},
            "data": {"source": "diabetes", "batch_size": 32},
            "train": {"epochs": 2, "optimizer": {"name": "adam", "learning_rate": 0.01}},
        }
    )
    run = nnzoo.train(config, runs_dir=tmp_path, quiet=True)
    x, y = _test_split(run, "diabetes", {})
    # In float64, as the report computes them (float32 sums differ in the 7th digit).
    y = np.asarray(y, dtype="float64")
    pred = np.asarray(run.model.predict(x, verbose=0), dtype="float64").reshape(-1)
    report = _report(run)
    assert report["mae"] == pytest.approx(skm.mean_absolute_error(y, pred), rel=1e-9)
    assert report["r2"] == pytest.approx(skm.r2_score(y, pred), rel=1e-9)
    assert report["rmse"] == pytest.approx(math.sqrt(skm.mean_squared_error(y, pred)), rel=1e-9)
    assert report["mae"] == pytest.approx(run.metrics["test"]["mae"], rel=1e-4)
    assert sorted(p.name for p in (run.run_dir / "report").glob("*.png")) == [
        "predicted_vs_true.png",
        "residuals.png",
    ]


def test_a_language_models_report_is_its_perplexity():
    summary = summarise("language_modeling", test={"loss": 2.5, "accuracy": 0.3})
    assert summary == {"task": "language_modeling", "loss": 2.5, "perplexity": math.exp(2.5)}


def test_a_trained_language_model_reports_exp_of_its_test_loss(tmp_path):
    config = load_config(
        "configs/gpt_nano.yaml",
        [
            "data.params.max_chars=20000",
            "data.params.sequence_length=32",
            "train.epochs=1",
            "train.steps_per_epoch=2",
            "model.params.num_layers=1",
        ],
    )
    run = nnzoo.train(config, runs_dir=tmp_path, quiet=True)
    report = _report(run)
    loss = run.metrics["test"]["loss"]
    assert report == {"task": "language_modeling", "loss": loss, "perplexity": math.exp(loss)}
    text = (run.run_dir / "report" / "report.html").read_text(encoding="utf-8")
    assert f"<tr><th>perplexity</th><td>{math.exp(loss):.4f}</td></tr>" in text


def test_evaluate_per_class_prints_the_table(binary_run):
    run, _ = binary_run
    result = CliRunner().invoke(cli, ["evaluate", str(run.run_dir), "--per-class"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = lines.index("class         precision  recall      f1  support")
    per_class = json.loads((run.run_dir / "report" / "per_class.json").read_text())
    no = lines[start + 1].split()
    assert no[0] == "no"
    assert [float(v) for v in no[1:4]] == pytest.approx(
        [per_class["no"][k] for k in ("precision", "recall", "f1-score")], abs=5e-5
    )
    assert int(no[4]) == per_class["no"]["support"]
    assert lines[start + 2].split()[0] == "yes"
    assert lines[start + 3].startswith("macro avg")
    assert lines[start + 4].startswith("weighted avg")
    assert lines[-1].startswith("accuracy: ") and lines[-1].endswith("(60 examples)")
    as_json = CliRunner().invoke(cli, ["evaluate", str(run.run_dir), "--per-class", "--json"])
    assert json.loads(as_json.output)["per_class"] == per_class


def test_evaluate_report_dir_writes_there_and_not_into_the_run(binary_run, tmp_path):
    run, table = binary_run
    before = sorted(str(p.relative_to(run.run_dir)) for p in run.run_dir.rglob("*"))
    out = tmp_path / "elsewhere"
    result = CliRunner().invoke(
        cli, ["evaluate", str(run.run_dir), "--data", "csv", "--set", f"path={table}",
              "--report", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"report: {out / 'report.html'}" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "confusion_matrix.png",
        "per_class.csv",
        "per_class.json",
        "precision_recall.png",
        "report.html",
        "report.json",
        "roc.png",
    ]
    after = sorted(str(p.relative_to(run.run_dir)) for p in run.run_dir.rglob("*"))
    assert after == before
    # The same data, its recorded test split: the run's own numbers.
    assert (
        json.loads((out / "report.json").read_text())["confusion_matrix"]
        == (_report(run)["confusion_matrix"])
    )
    inside = CliRunner().invoke(
        cli, ["evaluate", str(run.run_dir), "--report", str(run.run_dir / "mine")]
    )
    assert inside.exit_code != 0
    assert inside.output.startswith("nnzoo: error: --report ")
    assert "Fix: write it elsewhere" in inside.output
    assert not (run.run_dir / "mine").exists()


def test_per_class_is_refused_for_a_regression_in_one_line(tmp_path):
    config = config_from_dict(
        {
            "name": "diabetes",
            "model": {"name": "mlp", "params": {"hidden_units": [4]}},
            "data": {"source": "diabetes"},
            "train": {"epochs": 1},
        }
    )
    run = nnzoo.train(config, runs_dir=tmp_path, quiet=True)
    result = CliRunner().invoke(cli, ["evaluate", str(run.run_dir), "--per-class"])
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        "nnzoo: error: --per-class results are a classifier's, and this run's task is "
        "regression. Fix: drop --per-class (--report DIR writes this task's own pictures "
        "and numbers)"
    ]


def test_a_lean_trial_writes_no_report_until_its_artifacts_are_written(tmp_path):
    from nnzoo.training.trainer import train_trial
    from nnzoo.training.trial import TrialOptions

    config = config_from_dict(
        {
            "name": "trial",
            "model": {"name": "mlp", "params": {"hidden_units": [4]}},
            "data": {"source": "synthetic", "params": {"num_examples": 100, "num_classes": 3}},
            "train": {"epochs": 1},
        }
    )
    run_dir = tmp_path / "trial-0"
    run_dir.mkdir()
    result = train_trial(config, TrialOptions(run_dir, lean=True))
    assert result.lean
    assert not (run_dir / "report").exists()
    result.write_artifacts(curves=False)  # the study's leading trial
    assert _report(result)["examples"] == 20


def test_a_report_of_other_data_covers_every_row_of_the_file(binary_run, tmp_path):
    run, _ = binary_run
    other = _table(tmp_path / "other.csv", count=90, seed=7)
    evaluation = nnzoo.evaluate(
        run.run_dir, data="csv", data_params={"path": str(other)}, report=tmp_path / "out"
    )
    assert (evaluation.scored, evaluation["examples"]) == ("whole file", 90)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert np.asarray(report["confusion_matrix"]).sum() == 90
    assert report["accuracy"] == pytest.approx(evaluation["accuracy"], abs=1e-6)
    assert report == evaluation.summary
