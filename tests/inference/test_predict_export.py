"""``predict`` on an exported folder gives the run's predictions (issue 14, item 4); the cards
say which formats each entry exports to (item 5).

- An export folder (the artifact, ``data_spec.json`` with its ``export`` entry) is read like a
  run directory: the same raw inputs (a CSV in the training file's format, a folder of PNGs)
  through the same reader, and the artifact, run by its own runtime, gives the same rows as
  the run's ``model.keras`` within 1e-5, for ONNX, LiteRT and SavedModel.
- A folder that names no artifact, or lost it, is refused in one line.
- ``export_refusal`` refuses, before any work, a format a card cannot take (the LSTM's LiteRT
  needs the Flex delegate) and ``nnzoo describe`` prints the formats line.

The folders here are written by ``model.export`` and a ``data_spec.json`` in the layout
``nnzoo export`` writes, so these tests check ``predict`` alone;
tests/inference/test_export.py checks ``nnzoo export`` itself.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import nnzoo
from nnzoo.cards import export_formats_line, export_refusal
from nnzoo.cli import cli
from nnzoo.errors import RunDirError
from nnzoo.registry import get_card
from nnzoo.run.bind import load_config

pytest.importorskip("onnxruntime")
pytest.importorskip("ai_edge_litert")

ROOT = Path(__file__).resolve().parents[2]
ARTIFACT = {"onnx": "model.onnx", "litert": "model.tflite", "saved_model": "saved_model"}
KERAS_FORMAT = {"onnx": "onnx", "litert": "litert", "saved_model": "tf_saved_model"}


@pytest.fixture
def runner():
    """The runtime side of an export folder (nnzoo/inference/_runner.py)."""
    return pytest.importorskip("nnzoo.inference._runner")


def export_folder(run, fmt, dest):
    """What ``nnzoo export`` writes, by hand: the artifact, and the run's data spec with the
    ``export`` entry (inputs by name, batch free)."""
    dest.mkdir(parents=True)
    model = run.model
    model.export(str(dest / ARTIFACT[fmt]), format=KERAS_FORMAT[fmt], verbose=False)
    spec = json.loads((run.run_dir / "data_spec.json").read_text())
    spec["export"] = {
        "format": fmt,
        "artifact": ARTIFACT[fmt],
        "inputs": [
            {"name": t.name, "dtype": str(t.dtype), "shape": [None, *t.shape[1:]]}
            for t in model.inputs
        ],
        "output": {"shape": [None, *model.output.shape[1:]]},
        "class_names": spec.get("class_names"),
    }
    (dest / "data_spec.json").write_text(json.dumps(spec))
    for extra in ("tokenizer.json",):
        if (run.run_dir / extra).is_file():
            shutil.copy(run.run_dir / extra, dest / extra)
    return dest


def same_rows(got, expected, atol=1e-5):
    assert [r["input"] for r in got] == [r["input"] for r in expected]
    assert [r["class"] for r in got] == [r["class"] for r in expected]
    names = list(expected[0]["probabilities"])
    np.testing.assert_allclose(
        [[r["probabilities"][n] for n in names] for r in got],
        [[r["probabilities"][n] for n in names] for r in expected],
        atol=atol,
    )
    assert got.accuracy == expected.accuracy


# --------------------------------------------------------------------------- an MLP on a CSV


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    """An MLP trained on scikit-learn's wine as a ';'-separated CSV with a header and string
    labels, and a CSV of raw rows with the label column."""
    from sklearn.datasets import load_wine

    tmp = tmp_path_factory.mktemp("wine")
    data = load_wine()
    names = ["barolo", "grignolino", "barbera"]
    with open(tmp / "wine.csv", "w") as f:
        f.write(";".join([*data.feature_names, "cultivar"]) + "\n")
        for row, label in zip(data.data, data.target):
            f.write(";".join([*(repr(float(v)) for v in row), names[label]]) + "\n")
    overrides = [
        "data.source=csv",
        f"data.params={{path: {tmp / 'wine.csv'}, delimiter: ';'}}",
        "train.epochs=5",
        "model.params.hidden_units=[16]",
        "name=wine",
    ]
    run = nnzoo.train(
        load_config(ROOT / "configs" / "quickstart.yaml", overrides),
        runs_dir=tmp / "runs",
        quiet=True,
    )
    lines = (tmp / "wine.csv").read_text().splitlines()
    (tmp / "rows.csv").write_text("\n".join([lines[0], *lines[1::9]]) + "\n")  # 20 rows
    return run, tmp


# ONNX is left to the CNN: Keras's ONNX export of the MLP's Normalization layer needs the fix
# nnzoo export applies (its statistics become graph inputs otherwise).
@pytest.mark.parametrize("fmt", ["litert", "saved_model"])
def test_mlp_export_folder_predicts_the_runs_rows_from_a_csv(runner, wine, fmt):
    run, tmp = wine
    folder = export_folder(run, fmt, tmp / f"export_{fmt}")
    expected = nnzoo.predict(run.run_dir, tmp / "rows.csv")
    got = nnzoo.predict(folder, tmp / "rows.csv", batch_size=7)  # batches of 7, 7, 6
    assert len(got) == 20
    assert got.accuracy is not None  # the label column was read: same reader
    same_rows(got, expected)


def test_predict_cli_reads_an_export_folder(runner, wine):
    run, tmp = wine
    folder = tmp / "export_litert"
    if not folder.exists():
        export_folder(run, "litert", folder)
    runner = CliRunner()
    for source, out in ((run.run_dir, "run.csv"), (folder, "export.csv")):
        result = runner.invoke(
            cli, ["predict", str(source), str(tmp / "rows.csv"), "--output", str(tmp / out)]
        )
        assert result.exit_code == 0, result.output
    run_rows = (tmp / "run.csv").read_text().splitlines()
    export_rows = (tmp / "export.csv").read_text().splitlines()
    assert len(export_rows) == 21
    assert export_rows[0] == run_rows[0]
    # Same inputs and classes; probabilities written with 6 decimals agree to within 1e-5.
    for a, b in zip(run_rows[1:], export_rows[1:]):
        ra, rb = a.split(","), b.split(",")
        assert ra[:2] == rb[:2] and ra[3] == rb[3]
        np.testing.assert_allclose(
            [float(v) for v in rb[4:]], [float(v) for v in ra[4:]], atol=1e-5
        )


def test_an_export_folder_without_its_artifact_is_refused_in_one_line(wine, tmp_path):
    run, tmp = wine
    folder = export_folder(run, "litert", tmp_path / "broken")
    (folder / "model.tflite").unlink()
    with pytest.raises(RunDirError) as err:
        nnzoo.predict(folder, tmp / "rows.csv")
    assert str(err.value) == (
        f"{folder}: not a complete export folder (data_spec.json names no artifact, or "
        "model.tflite is missing). Fix: export the run again: nnzoo export RUN_DIR"
    )


# --------------------------------------------------------------------------- images (PNG folder)


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    """A small CNN trained one epoch on a folder of PNGs in three classes (40x48 pixels,
    resized to the model's 32x32 by the reader)."""
    from PIL import Image

    tmp = tmp_path_factory.mktemp("pictures")
    rng = np.random.default_rng(0)
    folder = tmp / "images"
    for name in ("circles", "squares", "stars"):
        (folder / name).mkdir(parents=True)
        for i in range(4):
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
    return nnzoo.train(config, runs_dir=tmp / "runs", quiet=True), tmp


@pytest.mark.parametrize("fmt", ["onnx", "litert"])
def test_cnn_export_folder_predicts_the_runs_rows_from_png_files(runner, pictures, fmt):
    run, tmp = pictures
    folder = export_folder(run, fmt, tmp / f"export_{fmt}")
    expected = nnzoo.predict(run.run_dir, tmp / "images")
    got = nnzoo.predict(folder, tmp / "images", batch_size=5)
    assert len(got) == 12
    assert sorted(got[0]["probabilities"]) == ["circles", "squares", "stars"]
    same_rows(got, expected)


# --------------------------------------------------------------------------- the cards' table


def test_export_refusal_says_why_before_any_work():
    assert export_refusal(get_card("mlp"), "litert") is None
    assert export_refusal(get_card("cnn_cifar"), "tf_saved_model") is None  # Keras's name
    assert export_refusal(get_card("lstm"), "litert") == (
        "lstm cannot be exported to litert: it converts only with TensorFlow ops (the Flex "
        "delegate), which the LiteRT interpreter does not run. Fix: --format saved_model or onnx"
    )
    assert export_refusal(get_card("mlp"), "coreml") == (
        "unknown export format 'coreml'. Fix: one of saved_model, onnx, litert"
    )


def test_every_card_has_a_value_for_every_format():
    from nnzoo.cards import EXPORT_FORMATS, EXPORT_SUPPORT

    for name in nnzoo.list_models():
        card = get_card(name)
        assert set(card.export_formats) == set(EXPORT_FORMATS), name
        assert set(card.export_formats.values()) <= set(EXPORT_SUPPORT), name
        assert card.export_formats["saved_model"] == "yes", name  # every entry measured so
    # Same family, same operators: a large entry's row is its family's small entry's.
    assert get_card("gru").export_formats == get_card("lstm").export_formats
    assert get_card("bert_large").export_formats == get_card("bert_tiny").export_formats


def test_describe_prints_the_export_formats():
    result = CliRunner().invoke(cli, ["describe", "lstm", "--no-summary"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("export:"))
    assert line == f"export: {export_formats_line(get_card('lstm'))}"
    assert line == "export: saved_model, onnx (not litert: needs the Flex delegate)"
    assert export_formats_line(get_card("mlp")) == ("saved_model, onnx, litert (builtin ops only)")
    assert export_formats_line(get_card("vit_tiny")) == (
        "saved_model, litert (builtin ops only) (not onnx: fails)"
    )
