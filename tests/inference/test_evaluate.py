"""``evaluate`` scores the split the run recorded, and reads other data as ``predict`` does
(issue 25, items 3 and 4).

- A run records the split it drew (``split.npz``); ``evaluate`` scores exactly its test
  examples, and refuses, in one line saying what changed, data that changed since (re-sorted
  rows would put trained-on rows in the test split). A copy of the data elsewhere is the same
  data: ``--data ... --set path=COPY`` scores the recorded test split.
- Other data is scored whole, every example (``examples: N (whole file)``), read by the readers
  of ``predict``: the run's columns, its tokenizer (not a vocabulary learned from the new
  folder), its image size. The metrics are those of ``predict``'s probabilities on that data.
- A label the run never saw is one line; a run saved before splits were recorded evaluates as
  it did.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import nnzoo
from nnzoo.cli import cli
from nnzoo.data import load_data
from nnzoo.errors import ConfigError
from nnzoo.run.bind import config_from_dict, load_config
from nnzoo.run.split import SPLIT_FILE, read_split

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "data"))
from text_fixtures import write_text_folder  # noqa: E402


def _rows(path: Path, count: int, seed: int, labels=("no", "yes")) -> Path:
    """A CSV ``a,b,label``: the label is ``labels[a > 0]``."""
    rng = np.random.default_rng(seed)
    lines = [f"{a:.4f},{b:.4f},{labels[int(a > 0)]}" for a, b in rng.normal(size=(count, 2))]
    path.write_text("a,b,label\n" + "\n".join(lines) + "\n")
    return path


def _evaluate(*args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(cli, ["evaluate", *map(str, args)])
    return result.exit_code, result.output.splitlines()


def _predicted_metrics(run_dir: Path, inputs: Path) -> dict[str, float]:
    """Accuracy and cross-entropy of ``predict``'s probabilities on labelled ``inputs``."""
    rows = nnzoo.predict(run_dir, inputs)
    chosen = [r["probabilities"][r["label"]] for r in rows]
    return {"accuracy": rows.accuracy, "loss": float(-np.mean(np.log(chosen))), "n": len(rows)}


def _check_scored_whole(run_dir: Path, source: str, data: Path, count: int) -> None:
    """``evaluate --data SOURCE --set path=DATA`` scores all ``count`` examples of ``data``,
    with the metrics of ``predict``'s probabilities on them, and says so."""
    code, lines = _evaluate(run_dir, "--data", source, "--set", f"path={data}")
    assert code == 0 and f"examples: {count} (whole file)" in lines
    evaluated = nnzoo.evaluate(run_dir, data=source, data_params={"path": str(data)})
    expected = _predicted_metrics(run_dir, data)
    assert (evaluated.scored, evaluated["examples"], expected["n"]) == ("whole file", count, count)
    assert evaluated["accuracy"] == pytest.approx(expected["accuracy"])
    assert evaluated["loss"] == pytest.approx(expected["loss"], abs=1e-5)


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("csv")
    table = _rows(home / "t.csv", 80, seed=0)
    config = config_from_dict(
        {
            "name": "t",
            "model": {"name": "mlp", "params": {"hidden_units": [8]}},
            "data": {"source": "csv", "params": {"path": str(table)}},
            "train": {"epochs": 3, "optimizer": {"name": "adam", "learning_rate": 0.05}},
        }
    )
    return nnzoo.train(config, runs_dir=home / "runs", quiet=True), table


def test_the_run_records_the_split_it_drew_and_evaluate_scores_it(csv_run):
    run, table = csv_run
    drawn = load_data("csv", params={"path": str(table)}, seed=42)  # the config's seed
    recorded = read_split(run.run_dir)
    for name in ("train", "validation", "test"):
        assert recorded.indices[name].tolist() == drawn.indices[name].tolist()
    assert [len(v) for v in recorded.indices.values()] == [57, 7, 16]
    evaluated = nnzoo.evaluate(run.run_dir)
    assert evaluated.scored == "recorded test split"
    assert evaluated["examples"] == 16
    assert evaluated["accuracy"] == pytest.approx(run.metrics["test"]["accuracy"])
    assert evaluated["loss"] == pytest.approx(run.metrics["test"]["loss"], abs=1e-6)
    code, lines = _evaluate(run.run_dir)
    assert code == 0 and "examples: 16 (recorded test split)" in lines


def test_evaluate_takes_the_examples_split_npz_names(csv_run, tmp_path):
    """Not a new draw: a split file naming five test rows scores those five rows."""
    run, table = csv_run
    copy = Path(shutil.copytree(run.run_dir, tmp_path / "run"))
    with np.load(copy / SPLIT_FILE) as saved:
        arrays = {k: saved[k] for k in saved.files}
    arrays["test"] = np.asarray([0, 3, 4, 10, 79], dtype="uint32")
    np.savez(copy / SPLIT_FILE, **arrays)
    rows = table.read_text().splitlines()[1:]
    picked = tmp_path / "picked.csv"
    picked.write_text("a,b,label\n" + "\n".join(rows[i] for i in arrays["test"]) + "\n")
    evaluated = nnzoo.evaluate(copy)
    expected = _predicted_metrics(copy, picked)
    assert evaluated["examples"] == expected["n"] == 5
    assert evaluated["accuracy"] == pytest.approx(expected["accuracy"])
    assert evaluated["loss"] == pytest.approx(expected["loss"], abs=1e-5)


def test_re_sorted_rows_are_refused_in_one_line_saying_what_changed(csv_run, tmp_path):
    run, table = csv_run
    moved = tmp_path / "t.csv"
    header, *rows = table.read_text().splitlines()
    moved.write_text("\n".join([header, *sorted(rows)]) + "\n")
    copy = Path(shutil.copytree(run.run_dir, tmp_path / "run"))
    config = copy / "config.yaml"
    config.write_text(config.read_text().replace(str(table), str(moved)))
    code, lines = _evaluate(copy)
    assert (code, lines) == (
        2,
        [
            f"nnzoo: error: {copy}/config.yaml: data.params.path: {moved} changed since this "
            "run was trained on it (the same size, other content: re-ordered or edited): its "
            "recorded split would now pick other examples, some of them trained on. Fix: "
            f"restore it, or score it as other data, every example: nnzoo evaluate {copy} "
            f"--data csv --set path={moved}"
        ],
    )
    # What the line says to do: the changed file scored as other data, every row of it.
    code, lines = _evaluate(copy, "--data", "csv", "--set", f"path={moved}")
    assert code == 0 and "examples: 80 (whole file)" in lines


def test_a_copy_of_the_run_and_its_data_elsewhere_scores_the_recorded_test_split(
    csv_run, tmp_path
):
    run, table = csv_run
    copy = Path(shutil.copytree(run.run_dir, tmp_path / "copied_run"))
    (tmp_path / "data").mkdir()
    data = shutil.copy(table, tmp_path / "data" / "renamed.csv")
    result = CliRunner().invoke(
        cli, ["evaluate", str(copy), "--data", "csv", "--set", f"path={data}", "--json"]
    )
    assert result.exit_code == 0, result.output
    scored = json.loads(result.output)
    assert (scored["examples"], scored["scored"]) == (16, "recorded test split")
    assert scored["accuracy"] == pytest.approx(run.metrics["test"]["accuracy"])


def test_other_data_is_scored_whole_as_predict_reads_it(csv_run, tmp_path):
    run, _ = csv_run
    _check_scored_whole(run.run_dir, "csv", _rows(tmp_path / "other.csv", 69, seed=5), 69)


def test_a_label_the_run_never_saw_and_another_format_are_one_line(csv_run, tmp_path):
    run, _ = csv_run
    other = _rows(tmp_path / "other.csv", 10, seed=5, labels=("no", "maybe"))
    code, lines = _evaluate(run.run_dir, "--data", "csv", "--set", f"path={other}")
    assert (code, lines) == (
        2,
        [
            f"nnzoo: error: {other} line 4: label 'maybe' is not a class of the run (no, yes). "
            "Fix: use the run's class names (or ids), or leave the label column out"
        ],
    )
    code, lines = _evaluate(
        run.run_dir, "--data", "csv", "--set", f"path={other}", "--set", "delimiter=;"
    )
    assert (code, lines) == (
        2,
        [
            "nnzoo: error: data.params.delimiter: evaluate reads other data as the run read its "
            "own (as predict does), and delimiter=';' would read it otherwise (the run's: ','). "
            "Fix: drop --set delimiter"
        ],
    )


def test_a_source_without_files_is_matched_by_its_params_else_scored_whole(tmp_path):
    config = config_from_dict(
        {
            "name": "s",
            "model": {"name": "mlp", "params": {"hidden_units": [4]}},
            "data": {"source": "synthetic", "params": {"num_examples": 100, "num_classes": 3}},
            "train": {"epochs": 1},
        }
    )
    run = nnzoo.train(config, runs_dir=tmp_path, quiet=True)
    same = nnzoo.evaluate(run.run_dir, data="synthetic", data_params={"num_classes": 3})
    assert (same.scored, same["examples"]) == ("recorded test split", 20)
    assert same["loss"] == pytest.approx(run.metrics["test"]["loss"], abs=1e-6)
    more = nnzoo.evaluate(run.run_dir, data="synthetic", data_params={"num_examples": 130})
    assert (more.scored, more["examples"]) == ("whole source", 130)
    code, lines = _evaluate(run.run_dir, "--data", "synthetic", "--set", "num_examples=130")
    assert code == 0 and "examples: 130 (whole source)" in lines
    with pytest.raises(ConfigError) as err:
        nnzoo.evaluate(run.run_dir, data="synthetic", data_params={"num_classes": 4})
    assert str(err.value) == (
        "data.source: data source 'synthetic' has labels this run never saw: ['class_3'] (its "
        "classes: class_0, class_1, class_2). Fix: evaluate data of the run's classes"
    )


def test_a_run_saved_before_splits_were_recorded_draws_its_split_as_it_did(tmp_path):
    run_dir = Path(shutil.copytree(ROOT / "tests" / "fixtures" / "run_v1_mlp_xor", tmp_path / "r"))
    assert read_split(run_dir) is None
    evaluated = nnzoo.evaluate(run_dir)
    saved = json.loads((run_dir / "metrics.json").read_text())["test"]
    assert (evaluated.scored, evaluated["examples"]) == ("test split", 4)
    assert evaluated["accuracy"] == pytest.approx(saved["accuracy"])
    assert _evaluate(run_dir)[1][-1] == "examples: 4 (test split)"


# --------------------------------------------------------------------------- text, images


@pytest.mark.slow
def test_other_texts_are_read_with_the_runs_tokenizer(tmp_path):
    folder = write_text_folder(tmp_path / "topics", per_class=12)
    config = load_config(
        ROOT / "configs" / "text_folder_lstm.yaml",
        [
            f"data.params.path={folder}",
            "data.params.sequence_length=16",
            "model.params.embedding_dim=8",
            "model.params.hidden_units=[8]",
            "train.epochs=2",
        ],
    )
    run = nnzoo.train(config, runs_dir=tmp_path / "runs", quiet=True)
    tokenizer = (run.run_dir / "tokenizer.json").read_text()
    # New texts with words of their own: a vocabulary learned from them would give other ids.
    new = write_text_folder(tmp_path / "new", per_class=5, seed=9, marker=True)
    _check_scored_whole(run.run_dir, "text_folder", new, 15)
    assert (run.run_dir / "tokenizer.json").read_text() == tokenizer
    # A class the run never saw: one line naming the folder.
    (new / "music").mkdir()
    (new / "music" / "0.txt").write_text("A song.")
    code, lines = _evaluate(run.run_dir, "--data", "text_folder", "--set", f"path={new}")
    assert (code, lines) == (
        2,
        [
            f"nnzoo: error: {new}/music: 'music' is not a class this run was trained on "
            "(cooking, space, sports). Fix: evaluate examples of the run's classes, or get "
            "predictions with nnzoo predict"
        ],
    )


def _images(folder: Path, per_class: int, size: tuple[int, int], seed: int) -> Path:
    """Red images in ``red/``, blue ones in ``blue/``, with noise."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for name, channel in (("blue", 2), ("red", 0)):
        (folder / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 90, size=(*size, 3), dtype="uint8")
            pixels[..., channel] = 200
            Image.fromarray(pixels).save(folder / name / f"{i}.png")
    return folder


@pytest.mark.slow
def test_other_images_are_read_at_the_runs_image_size(tmp_path):
    folder = _images(tmp_path / "images", 8, (30, 36), seed=0)
    config = load_config(
        ROOT / "configs" / "cnn_cifar.yaml",
        [
            "data.source=image_folder",
            f"data.params={{path: {folder}, image_size: 40}}",
            "data.augment={}",
            "train.epochs=1",
            "data.validation_split=0.2",
        ],
    )
    run = nnzoo.train(config, runs_dir=tmp_path / "runs", quiet=True)
    _check_scored_whole(run.run_dir, "image_folder", _images(tmp_path / "new", 3, (40, 48), 1), 6)
    # The run's own folder, copied elsewhere: its recorded test split.
    copy = shutil.copytree(folder, tmp_path / "copy")
    again = nnzoo.evaluate(run.run_dir, data="image_folder", data_params={"path": str(copy)})
    assert (again.scored, again["examples"]) == ("recorded test split", 4)
    assert again["accuracy"] == pytest.approx(run.metrics["test"]["accuracy"])
