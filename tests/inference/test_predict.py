"""``predict`` takes raw inputs and scores what ``evaluate`` says; its output is safe to write.

- The round trip (issue 11, item 1): a CSV with a header and string labels, trained, then
  ``predict`` on its raw test rows, with and without the label column, gives the accuracy
  ``evaluate`` gives on those rows; the same for the quick start on raw digits rows.
- NaN in a predict input is refused naming the file, row and column (item 2).
- ``--output`` never writes into a run directory nor over a file without ``--force``, and is
  written atomically (item 4).
- Inputs are read and written in batches: peak memory at 100k rows is within 1.2x of 10k, and
  ``nnzoo predict ... | head`` ends quietly (item 13).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import nnzoo
from nnzoo.cli import cli
from nnzoo.data import load_data
from nnzoo.run.bind import load_config

ROOT = Path(__file__).resolve().parents[2]
CULTIVARS = ["barolo", "grignolino", "barbera"]  # wine's three classes, as strings


def _write_table(path, header, rows, labels=None, delimiter=","):
    with open(path, "w") as f:
        if header:
            f.write(delimiter.join(header) + "\n")
        for i, row in enumerate(rows):
            cells = [repr(float(v)) for v in row] + ([labels[i]] if labels is not None else [])
            f.write(delimiter.join(cells) + "\n")
    return path


@pytest.fixture(scope="module")
def wine_run(tmp_path_factory):
    """An MLP trained on scikit-learn's wine written as a ';'-separated CSV with a header and
    string class names, and the test split of that file (raw rows)."""
    from sklearn.datasets import load_wine

    tmp = tmp_path_factory.mktemp("wine")
    wine = load_wine()
    columns = [*wine.feature_names, "cultivar"]
    source = _write_table(
        tmp / "wine.csv", columns, wine.data, [CULTIVARS[t] for t in wine.target], ";"
    )
    params = f"data.params={{path: {source}, delimiter: ';'}}"
    overrides = ["data.source=csv", params, "train.epochs=30", "model.params.hidden_units=[32]"]
    config = load_config(ROOT / "configs" / "quickstart.yaml", [*overrides, "name=wine"])
    run = nnzoo.train(config, runs_dir=tmp / "runs", quiet=True)
    splits = load_data(
        "csv",
        params={"path": str(source), "delimiter": ";"},
        seed=config.seed,
        validation_split=config.data.validation_split,
        test_split=config.data.test_split,
    )
    return run, splits, columns, tmp


def test_wine_csv_round_trip_predict_scores_what_evaluate_says(wine_run):
    run, splits, columns, tmp = wine_run
    x, y = splits.test
    names = splits.spec.class_names
    assert names == sorted(CULTIVARS)
    evaluated = nnzoo.evaluate(run.run_dir)
    assert evaluated["examples"] == len(y) == 36
    assert evaluated["accuracy"] == pytest.approx(run.metrics["test"]["accuracy"])
    assert evaluated["accuracy"] > 0.8  # chance is 0.4: standardised inside, it learned

    labelled = _write_table(tmp / "test.csv", columns, x, [names[t] for t in y], ";")
    unlabelled = _write_table(tmp / "test_x.csv", columns[:-1], x, None, ";")
    with_labels = nnzoo.predict(run.run_dir, labelled)
    without = nnzoo.predict(run.run_dir, unlabelled)
    assert with_labels.accuracy == pytest.approx(evaluated["accuracy"], abs=1e-6)
    assert without.accuracy is None
    assert [r["class"] for r in with_labels] == [r["class"] for r in without]
    assert [r["label"] for r in with_labels] == [names[t] for t in y]
    hits = sum(r["class"] == names[t] for r, t in zip(without, y))
    assert hits / len(y) == pytest.approx(evaluated["accuracy"], abs=1e-6)

    # The label column dropped by name, wherever it is; the CLI prints the accuracy.
    moved = [columns[-1], *columns[:-1]]
    reordered = tmp / "moved.csv"
    with open(reordered, "w") as f:
        f.write(";".join(moved) + "\n")
        for row, t in zip(x, y):
            f.write(";".join([names[t], *(repr(float(v)) for v in row)]) + "\n")
    result = CliRunner().invoke(cli, ["predict", str(run.run_dir), str(reordered)])
    assert result.exit_code == 0, result.output
    correct = round(evaluated["accuracy"] * len(y))
    assert f"accuracy: {evaluated['accuracy']:.4f} ({correct} of 36 labelled examples)" in (
        result.stderr
    )
    assert [line.split("\t")[1] for line in result.stdout.splitlines()] == [
        r["class"] for r in without
    ]


def test_quickstart_round_trip_on_raw_digits_rows(tmp_path):
    config = load_config(ROOT / "configs" / "quickstart.yaml")  # as shipped: 40 epochs at most
    run = nnzoo.train(config, runs_dir=tmp_path, quiet=True)
    evaluated = nnzoo.evaluate(run.run_dir)
    splits = load_data("digits", seed=config.seed)
    x, y = splits.test
    assert x.max() == 16.0  # raw pixel intensities, as scikit-learn gives them
    rows = _write_table(tmp_path / "digits.csv", None, x, [str(t) for t in y])
    predicted = nnzoo.predict(run.run_dir, rows)
    assert len(predicted) == evaluated["examples"] == 360
    assert predicted.accuracy == pytest.approx(evaluated["accuracy"], abs=1e-6)
    assert predicted.accuracy > 0.95
    np.save(tmp_path / "digits.npy", x)
    from_array = nnzoo.predict(run.run_dir, tmp_path / "digits.npy")
    assert [r["class"] for r in from_array] == [r["class"] for r in predicted]


def test_nan_in_a_predict_input_names_the_file_row_and_column(wine_run, tmp_path):
    run, splits, columns, _ = wine_run
    x = splits.test[0][:3].copy()
    x[1, 4] = np.nan
    table = _write_table(tmp_path / "nan.csv", columns[:-1], x, None, ";")
    result = CliRunner().invoke(cli, ["predict", str(run.run_dir), str(table)])
    assert result.exit_code == 2
    assert result.output == (
        f"nnzoo: error: {table} line 3: feature 'magnesium' is missing ('nan'). Fix: fill it in "
        "(the run was trained with no missing cell in this column, so its model has nothing to "
        "fill it with)\n"
    )
    x[1, 4] = 1.0
    x[2, 0] = np.inf
    np.save(tmp_path / "inf.npy", x)
    result = CliRunner().invoke(cli, ["predict", str(run.run_dir), str(tmp_path / "inf.npy")])
    assert result.exit_code == 2
    assert result.output == (
        f"nnzoo: error: {tmp_path / 'inf.npy'} row 2: column 0 is inf, not a finite number. "
        "Fix: fill in or drop the missing values (nnzoo does not impute)\n"
    )


# --------------------------------------------------------------------------- --output


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_output_never_goes_into_a_run_directory_nor_over_a_file(wine_run, tmp_path):
    run, splits, columns, _ = wine_run
    rows = _write_table(tmp_path / "x.csv", columns[:-1], splits.test[0][:4], None, ";")
    before = _snapshot(run.run_dir)
    runner = CliRunner()
    for target in (
        run.run_dir / "metrics.json",
        run.run_dir / "predictions.csv",
        run.run_dir / "checkpoints" / "p.json",
    ):
        result = runner.invoke(
            cli, ["predict", str(run.run_dir), str(rows), "-o", str(target), "--force"]
        )
        assert result.exit_code == 2
        assert result.output == (
            f"nnzoo: error: {target}: inside the run directory {run.run_dir.resolve()}; predict "
            "never writes into a run. Fix: write it elsewhere, e.g. --output predictions.csv\n"
        )
    assert _snapshot(run.run_dir) == before

    out = tmp_path / "p.json"
    out.write_text("keep me")
    result = runner.invoke(cli, ["predict", str(run.run_dir), str(rows), "-o", str(out)])
    assert result.exit_code == 2
    assert result.output == (
        f"nnzoo: error: {out}: exists. Fix: pass --force to replace it, or choose another file "
        "name\n"
    )
    assert out.read_text() == "keep me"
    forced = ["predict", str(run.run_dir), str(rows), "-o", str(out), "--force"]
    result = runner.invoke(cli, forced)
    assert result.exit_code == 0, result.output
    assert len(json.loads(out.read_text())) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json", "x.csv"]  # no temp left

    missing = tmp_path / "no" / "such" / "p.csv"
    result = runner.invoke(cli, ["predict", str(run.run_dir), str(rows), "-o", str(missing)])
    assert result.exit_code == 2
    assert result.output == (
        f"nnzoo: error: {missing}: the folder {missing.parent} does not exist. Fix: create it "
        f"first (mkdir -p {missing.parent}) or write elsewhere\n"
    )


def test_a_failure_midway_leaves_the_old_output_and_no_temporary_file(wine_run, tmp_path):
    run, splits, columns, _ = wine_run
    x = np.repeat(splits.test[0][:1], 10, axis=0)
    x[7, 2] = np.nan  # found in the second batch, after the first one was written
    rows = _write_table(tmp_path / "x.csv", columns[:-1], x, None, ";")
    out = tmp_path / "p.csv"
    out.write_text("old")
    result = CliRunner().invoke(
        cli,
        ["predict", str(run.run_dir), str(rows), "-o", str(out), "--force", "--batch-size", "4"],
    )
    assert result.exit_code == 2
    assert "x.csv line 9: feature 'ash' is missing ('nan')" in result.output
    assert out.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv", "x.csv"]


# --------------------------------------------------------------------------- batches


@pytest.fixture(scope="module")
def narrow_run(tmp_path_factory):
    """A tiny MLP on two features (so the memory test parses few cells)."""
    tmp = tmp_path_factory.mktemp("narrow")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    labels = ["yes" if a + b > 0 else "no" for a, b in x]
    source = _write_table(tmp / "train.csv", ["a", "b", "answer"], x, labels)
    config = load_config(
        ROOT / "configs" / "quickstart.yaml",
        [
            "data.source=csv",
            f"data.params.path={source}",
            "train.epochs=1",
            "model.params.hidden_units=[4]",
            "name=narrow",
        ],
    )
    return nnzoo.train(config, runs_dir=tmp / "runs", quiet=True).run_dir, tmp


def _peak_bytes(run_dir: Path, rows: Path, out: Path) -> int:
    tracemalloc.start()
    try:
        result = CliRunner().invoke(
            cli, ["predict", str(run_dir), str(rows), "-o", str(out), "--force"]
        )
        assert result.exit_code == 0, result.output
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_predict_reads_and_writes_in_batches_so_memory_does_not_grow(narrow_run):
    """Rule: peak memory (Python allocations, NumPy's included) at 100k rows is within 1.2x of
    that at 10k (holding every row, as predict did before, grew 9.5x from 10k to 100k rows)."""
    run_dir, tmp = narrow_run
    rng = np.random.default_rng(1)
    files = {}
    for n in (1_000, 10_000, 100_000):
        files[n] = tmp / f"rows{n}.csv"
        np.savetxt(files[n], rng.normal(size=(n, 2)), fmt="%.4f", delimiter=",")
    _peak_bytes(run_dir, files[1_000], tmp / "warm.csv")  # compile the predict step first
    small = _peak_bytes(run_dir, files[10_000], tmp / "p10k.csv")
    large = _peak_bytes(run_dir, files[100_000], tmp / "p100k.csv")
    assert len((tmp / "p100k.csv").read_text().splitlines()) == 100_001
    assert large <= 1.2 * small, (small, large)


def test_predict_into_a_closed_pipe_ends_quietly(narrow_run):
    run_dir, tmp = narrow_run
    rows = tmp / "zeros.csv"
    np.savetxt(rows, np.zeros((10_000, 2)), fmt="%.1f", delimiter=",")
    script = f"{sys.executable} -m nnzoo.cli predict {run_dir} {rows} | head -n 2"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", script], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 2
    assert "Traceback" not in proc.stderr and "Broken pipe" not in proc.stderr, proc.stderr


# --------------------------------------------------------------------------- images


def test_images_are_prepared_for_predict_as_for_training(tmp_path):
    """One path: image files are resized with the training reader (bilinear), 8-bit arrays
    divided by 255 as the npz source does, so predict sees what training saw."""
    from PIL import Image

    from nnzoo.data import get_source

    rng = np.random.default_rng(0)
    folder = tmp_path / "images"
    for name in ("cats", "dogs"):
        (folder / name).mkdir(parents=True)
        for i in range(6):
            pixels = rng.integers(0, 256, size=(40, 48, 3), dtype="uint8")
            Image.fromarray(pixels).save(folder / name / f"{i}.png")
    config = load_config(
        ROOT / "configs" / "cnn_cifar.yaml",
        [
            "data.source=image_folder",
            f"data.params.path={folder}",
            "data.augment={}",
            "train.epochs=1",
            "data.validation_split=0.2",
        ],
    )
    run = nnzoo.train(config, runs_dir=tmp_path / "runs", quiet=True)
    trained_on = (
        get_source("image_folder").loader(seed=0, path=str(folder)).x.read()
    )  # (12, 32, 32, 3)
    expected = run.model.predict(trained_on, verbose=0)
    from_files = nnzoo.predict(run.run_dir, folder)
    assert [Path(r["input"]).name for r in from_files] == [f"{i}.png" for i in range(6)] * 2
    logits = np.log([[r["probabilities"][n] for n in ("cats", "dogs")] for r in from_files])
    np.testing.assert_allclose(logits[:, 1] - logits[:, 0], expected[:, 0], atol=1e-4)

    uint8 = np.round(trained_on * 255).astype("uint8")
    np.save(tmp_path / "x8.npy", uint8)
    np.save(tmp_path / "xf.npy", uint8 / np.float32(255))
    as_bytes = nnzoo.predict(run.run_dir, tmp_path / "x8.npy")
    as_floats = nnzoo.predict(run.run_dir, tmp_path / "xf.npy")
    np.testing.assert_allclose(
        [r["probabilities"]["dogs"] for r in as_bytes],
        [r["probabilities"]["dogs"] for r in from_files],
        atol=1e-6,
    )
    assert [r["class"] for r in as_floats] == [r["class"] for r in as_bytes]
