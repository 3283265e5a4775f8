"""Bad data ends in one line naming the file and a fix, exit code 2, and changes nothing.

Issue 11, item 10 (data, predict): each case runs through the command line in-process
(Click's ``CliRunner``) and checks the exit code, the whole line (the file, and the line, row,
column or key where there is one), that no traceback is printed, that no run directory is left
behind and that no file that was there before changed. Image files are the exception: they are
read while training, so a corrupt one fails a run that has started (recorded as failed).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nnzoo.cli import cli
from nnzoo.run.bind import load_config
from nnzoo.training import train

ROOT = Path(__file__).resolve().parents[2]
NAN_FIX = "Fix: fill in or drop the missing values (nnzoo does not impute)"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _one_line_error(args: list[str], folder: Path, *, new_files: bool = False) -> str:
    """Run the CLI; it must fail with exit 2 and one line, changing nothing in ``folder``
    (adding nothing either, unless ``new_files``)."""
    before = _snapshot(folder)
    result = CliRunner().invoke(cli, args)
    assert "Traceback" not in result.output
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    after = _snapshot(folder)
    assert {k: v for k, v in after.items() if not new_files or k in before} == before
    return lines[0]


def _csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _rows(n: int, label=lambda i: i % 2) -> str:
    return "a,b,label\n" + "".join(f"{i},{2 * i},{label(i)}\n" for i in range(n))


def _images(root: Path, counts: dict[str, int]) -> Path:
    from PIL import Image

    for name, count in counts.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            Image.new("RGB", (8, 8), (30 * i, 0, 0)).save(root / name / f"{i}.png")
    return root


def _npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


# Each case writes its data under tmp and returns (model, source, params, the expected line
# after "nnzoo: error: {config}: "), with {T} standing for tmp.
TRAIN_CASES = {
    "npz object array": lambda t: (
        "mlp",
        "npz",
        {"path": _npz(t / "d.npz", x=np.array([[1, "a"], [2, None]], dtype=object), y=[0, 1])},
        "data.params.path: {T}/d.npz array 'x' holds Python objects (dtype object). Fix: save "
        "the arrays with numpy.savez (numeric or string arrays, no Python objects)",
    ),
    "npz x/y length mismatch": lambda t: (
        "mlp",
        "npz",
        {"path": _npz(t / "d.npz", x=np.zeros((10, 3)), y=np.zeros(9))},
        "data.params.path: {T}/d.npz: 'x' has 10 rows but 'y' has 9 labels. Fix: give one "
        "label per example",
    ),
    "npz 0 rows": lambda t: (
        "mlp",
        "npz",
        {"path": _npz(t / "d.npz", x=np.zeros((0, 3)), y=np.zeros(0))},
        "data.params.path: {T}/d.npz array 'x' has no rows. Fix: give examples to train on",
    ),
    "npz 1 row": lambda t: (
        "mlp",
        "npz",
        {"path": _npz(t / "d.npz", x=np.zeros((1, 3)), y=np.zeros(1))},
        "data.source: {T}/d.npz has 1 example: too few to train on and test. Fix: give more "
        "examples (a few per class at least)",
    ),
    "npz test arrays that do not match": lambda t: (
        "mlp",
        "npz",
        {
            "path": _npz(
                t / "d.npz",
                x=np.ones((20, 3)),
                y=np.arange(20) % 2,
                x_test=np.ones((5, 4)),
                y_test=np.arange(5) % 2,
            )
        },
        "data.params.x_test_key: {T}/d.npz: 'x_test' has examples of shape (4,) but 'x' has "
        "(3,). Fix: give test examples shaped as the training ones",
    ),
    "npz NaN": lambda t: (
        "mlp",
        "npz",
        {"path": _npz(t / "d.npz", x=np.where(np.eye(20, 3) > 0, np.nan, 1.0), y=np.eye(20)[0])},
        "data.params.path: {T}/d.npz array 'x' row 0: column 0 is nan, not a finite number. "
        + NAN_FIX,
    ),
    "csv NaN, missing: refuse": lambda t: (
        "mlp",
        "csv",
        {"path": _csv(t / "d.csv", _rows(20) + "7,nan,1\n"), "missing": "refuse"},
        "data.params.path: {T}/d.csv line 22: feature 'b' is missing ('nan'). Fix: fill it in, or "
        "set data.params.missing: impute (the model fills it with the training mean, or a "
        "'missing' category) or drop_rows",
    ),
    "csv infinity": lambda t: (
        "mlp",
        "csv",
        {"path": _csv(t / "d.csv", _rows(3) + "-inf,1,1\n" + _rows(20)[10:])},
        "data.params.path: {T}/d.csv line 5: feature 'a' is -inf, not a finite number. Fix: "
        "correct the cell (leave it empty if it is unknown: empty cells are imputed)",
    ),
    "csv single class": lambda t: (
        "mlp",
        "csv",
        {"path": _csv(t / "d.csv", _rows(20, label=lambda i: "yes"))},
        "data.source: {T}/d.csv has 1 class (every label is 'yes'); a classifier needs two or "
        "more. Fix: give examples of at least two classes",
    ),
    "csv 2 rows": lambda t: (
        "mlp",
        "csv",
        {"path": _csv(t / "d.csv", _rows(2))},
        "data.validation_split: {T}/d.csv: 1 example left, too few to hold out "
        "validation_split=0.1 and keep one to train on. Fix: give more examples (a few per "
        "class at least), or change the split",
    ),
    "csv latin-1 text": lambda t: (
        "mlp",
        "csv",
        {"path": _csv(t / "d.csv", _rows(5) + "1,2,café\n", "latin-1")},
        "data.params.path: {T}/d.csv line 7: not UTF-8 text (byte 0xe9 at character 8). Fix: "
        "save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8 in > out)",
    ),
    "csv empty delimiter": lambda t: (
        "mlp",
        "csv",
        {"path": _csv(t / "d.csv", _rows(20)), "delimiter": ""},
        "data.params.delimiter: must be one character (not a quote or a line break). "
        "Received: delimiter=''. Fix: set it to the character between the fields, e.g. ',' or "
        "';' or '\\t'",
    ),
    "csv with no feature column (';' read with ',')": lambda t: (
        "mlp",
        "csv",
        {"path": _csv(t / "d.csv", _rows(20).replace(",", ";"))},
        "data.params.delimiter: {T}/d.csv has 1 column with delimiter ',': no feature columns "
        "beside the label. Fix: set data.params.delimiter to ';' (the file looks "
        "';'-separated)",
    ),
    "a one-class image folder": lambda t: (
        "cnn_cifar",
        "image_folder",
        {"path": _images(t / "images", {"cats": 6})},
        "data.source: {T}/images has 1 class (every label is 'cats'); a classifier needs two or "
        "more. Fix: give examples of at least two classes",
    ),
}


def _corrupt(root: Path) -> Path:
    png = (root / "dogs" / "0.png").read_bytes()
    (root / "dogs" / "torn.png").write_bytes(png[: len(png) // 2])  # truncated
    return root


@pytest.mark.parametrize("case", list(TRAIN_CASES))
def test_bad_training_data_is_one_line_naming_the_file(case, tmp_path):
    model, source, params, expected = TRAIN_CASES[case](tmp_path)
    params = {k: str(v) if isinstance(v, Path) else v for k, v in params.items()}
    config = tmp_path / "c.yaml"
    config.write_text(
        f"name: bad\nmodel: {{name: {model}}}\ndata: {{source: {source}, params: {params!r}}}\n"
        "train: {epochs: 1}\n"
    )
    line = _one_line_error(["train", str(config), "--runs-dir", str(tmp_path / "runs")], tmp_path)
    assert line == f"nnzoo: error: {config}: " + expected.replace("{T}", str(tmp_path))
    assert not (tmp_path / "runs").exists()  # nothing half-written


def test_a_corrupt_image_stops_training_when_it_is_read(tmp_path):
    """Image files are read while training, so a corrupt one is found when the pipeline reads
    it: one error line naming the file, and the run is recorded as failed for that reason."""
    folder = _corrupt(_images(tmp_path / "images", {"cats": 3, "dogs": 3}))
    config = tmp_path / "c.yaml"
    config.write_text(
        f"name: bad\nmodel: {{name: cnn_cifar}}\ndata: {{source: image_folder, params: "
        f"{{path: {folder}}}}}\ntrain: {{epochs: 1}}\n"
    )
    result = CliRunner().invoke(cli, ["train", str(config), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    expected = (
        f"nnzoo: error: {config}: data.params.path: {folder}/dogs/torn.png: not a readable "
        "image (corrupt, truncated or not an image). Fix: remove or replace the file"
    )
    assert result.output.splitlines()[-1] == expected
    (run_dir,) = (tmp_path / "runs" / "bad").iterdir()
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "failed" and "torn.png: not a readable image" in status["reason"]


def test_an_image_size_too_small_for_the_model_is_one_line(tmp_path):
    folder = _images(tmp_path / "images", {"cats": 3, "dogs": 3})
    config = tmp_path / "c.yaml"
    config.write_text(
        "name: bad\nmodel: {name: cnn_cifar}\n"
        f"data: {{source: image_folder, params: {{path: {folder}, image_size: 2}}}}\n"
    )
    # The model's checks run once the data has filled input_shape, before the run directory is
    # made: nothing is left behind.
    args = ["train", str(config), "--runs-dir", str(tmp_path / "runs")]
    line = _one_line_error(args, tmp_path)
    assert line.startswith(f"nnzoo: error: {config}: model.params.input_shape: ")
    assert "Received: input_shape=(2, 2, 3)" in line and "Fix: use larger images" in line
    assert not (tmp_path / "runs").exists()


# --------------------------------------------------------------------------- predict


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three tiny finished runs: features (digits), a text classifier with a tokenizer, and a
    language model."""
    base = tmp_path_factory.mktemp("runs")

    def run(config: str, *overrides: str) -> Path:
        cfg = load_config(ROOT / "configs" / config, ["train.epochs=1", *overrides])
        return train(cfg, runs_dir=base, quiet=True).run_dir

    return {
        "features": run("quickstart.yaml", "model.params.hidden_units=[8]"),
        "text": run(
            "lstm.yaml",
            "data.params={tokenizer: byte, sequence_length: 16, num_examples: 80}",
            "model.params={embedding_dim: 8, hidden_units: [8], bidirectional: false}",
        ),
        "lm": run(
            "gpt_nano.yaml",
            "data.source=synthetic",
            "data.params={num_examples: 64, input_shape: [16]}",
            "model.params={num_layers: 1, hidden_dim: 16, num_heads: 2, intermediate_dim: 32, "
            "max_sequence_length: 16}",
        ),
    }


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


PREDICT_CASES = {
    "an empty CSV": (
        "features",
        lambda t: _write(t / "x.csv", b""),
        "{F}: no rows (the file is empty). Fix: give one example per row: 64 features, and the "
        "label or not",
    ),
    "a CSV of the wrong width": (
        "features",
        lambda t: _write(t / "x.csv", b"1;2;3\n4;5;6\n"),
        "{F}: rows have 1 column with delimiter ',' but the model takes 64 features (or those "
        "and the label column). Fix: the run's files are ','-separated; the file looks "
        "';'-separated",
    ),
    "a label the run does not know": (
        "features",
        lambda t: _write(t / "x.csv", (",".join(["0"] * 64) + ",11\n").encode()),
        "{F} line 1: label '11' is not a class of the run (0, 1, 2, 3, 4, 5, 6, 7, 8, 9). Fix: "
        "use the run's class names (or ids), or leave the label column out",
    ),
    "a 0-byte .npy": (
        "features",
        lambda t: _write(t / "x.npy", b""),
        "{F}: the file is empty (0 bytes). Fix: save the array again",
    ),
    "a string .npy": (
        "features",
        lambda t: np.save(t / "x.npy", np.array(["a", "b"])) or t / "x.npy",
        "{F}: holds <U1 values, not numbers. Fix: give a numeric array",
    ),
    "an object .npy": (
        "features",
        lambda t: np.save(t / "x.npy", np.array([{}, []], dtype=object)) or t / "x.npy",
        "{F}: holds Python objects (dtype object), which nnzoo does not load (no pickle). Fix: "
        "save a numeric array (x.astype('float32'))",
    ),
    "a truncated .npy": (
        "features",
        lambda t: _truncated(t / "x.npy"),
        "{F}: ends early (the file is truncated). Fix: write it again",
    ),
    "an empty .txt": (
        "text",
        lambda t: _write(t / "x.txt", b""),
        "{F}: no text (the file is empty). Fix: give one text per line",
    ),
    "a non-UTF-8 .txt": (
        "text",
        lambda t: _write(t / "x.txt", "import os\ncafé = 1\n".encode("latin-1")),
        "{F} line 2: not UTF-8 text (byte 0xe9 at character 4). Fix: save the file as UTF-8 "
        "(e.g. iconv -f latin1 -t utf-8 in > out)",
    ),
    "a text file for a language-model run": (
        "lm",
        lambda t: _write(t / "x.txt", b"def f():\n"),
        "{F}: this run is a language model; it continues text rather than classifying it. "
        "Fix: nnzoo generate {R} --prompt '...'",
    ),
    "a CSV for a text run without a text column": (
        "text",
        lambda t: _write(t / "x.csv", b"text\nhello\n"),
        "{F}: this run was not trained on a CSV text column, so a CSV has no column to read. "
        "Fix: give a .txt file (one text per line) or a folder of .txt files",
    ),
    "a folder without .txt files for a text run": (
        "text",
        lambda t: _write(t / "notes.md", b"hello\n").parent,
        "{F}: no .txt files in the folder. Fix: give a folder of .txt files",
    ),
    "images for a text run": (
        "text",
        lambda t: _write(t / "x.npy", b""),
        "{F}: this run's model takes tokens. Fix: give a .txt file (one text per line), a folder "
        "of .txt files",
    ),
    "text for a features run": (
        "features",
        lambda t: _write(t / "x.txt", b"hello\n"),
        "{F}: this run's model takes features. Fix: give a .csv, .parquet, .npy or .npz file",
    ),
}


def _truncated(path: Path) -> Path:
    np.save(path, np.ones((100, 64), dtype="float32"))
    path.write_bytes(path.read_bytes()[:-100])
    return path


@pytest.mark.parametrize("case", list(PREDICT_CASES))
def test_bad_predict_inputs_are_one_line_naming_the_file(case, runs, tmp_path):
    kind, make, expected = PREDICT_CASES[case]
    run_dir = runs[kind]
    inputs = make(tmp_path)
    before = _snapshot(run_dir)
    line = _one_line_error(["predict", str(run_dir), str(inputs)], tmp_path)
    assert line == "nnzoo: error: " + expected.replace("{F}", str(inputs)).replace(
        "{R}", str(run_dir)
    )
    assert _snapshot(run_dir) == before


def test_malformed_data_spec_json_is_one_line(runs, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(runs["features"], run_dir)
    (run_dir / "data_spec.json").write_text('{"input_kind": "features", ')
    inputs = _write(tmp_path / "x.csv", (",".join(["1"] * 64) + "\n").encode())
    line = _one_line_error(["predict", str(run_dir), str(inputs)], tmp_path)
    assert line.startswith(f"nnzoo: error: {run_dir / 'data_spec.json'}: not valid JSON")
    assert "Fix:" in line
