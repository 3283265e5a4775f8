"""Tables as they come (issue 26): columns by name and type, missing cells, categories inside
the model, and the misreadings a held-out run found, each refused in one line.

The round trips train on a generated penguins-like table (a string label, two string feature
columns, ``NA`` and empty cells) and check that ``predict`` on the raw test rows (strings,
blanks and all) gives exactly the run's test split results.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import nnzoo
from nnzoo.cli import cli
from nnzoo.data import get_source
from nnzoo.errors import ConfigError
from nnzoo.run.bind import config_from_dict

HEADER = ["species", "island", "bill_length_mm", "flipper_length_mm", "body_mass_g", "sex"]


def penguins(n: int = 240, seed: int = 0) -> list[list[str]]:
    """Rows like the Palmer penguins: species decides the measures; some cells ``NA`` or
    empty."""
    rng = np.random.default_rng(seed)
    species = rng.choice(["Adelie", "Chinstrap", "Gentoo"], n)
    island = np.where(
        species == "Gentoo", "Biscoe", rng.choice(["Dream", "Torgersen", "Biscoe"], n)
    )
    bill = np.where(species == "Adelie", 38.8, np.where(species == "Gentoo", 47.5, 48.8))
    bill = np.round(bill + rng.normal(0, 1.5, n), 1)
    flipper = np.round(np.where(species == "Gentoo", 217, 192) + rng.normal(0, 4, n))
    mass = np.round(flipper * 50 - 5800 + rng.normal(0, 200, n))
    sex = rng.choice(["male", "female"], n)
    rows = []
    for i in range(n):
        row = [
            species[i],
            island[i],
            f"{bill[i]}",
            f"{int(flipper[i])}",
            f"{int(mass[i])}",
            sex[i],
        ]
        if i % 17 == 3:
            row[2] = "NA"
        if i % 19 == 5:
            row[5] = ""
        if i % 23 == 7:
            row[3] = "?"
        rows.append(row)
    return rows


def write(path: Path, rows: list[list[str]], header: list[str] | None = HEADER) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def load(path: Path, **params):
    return get_source("csv").loader(seed=0, path=str(path), **params)


# --------------------------------------------------------------------------- reading


def test_types_missing_cells_and_the_vocabulary_of_the_training_split(tmp_path):
    path = write(tmp_path / "p.csv", penguins())
    data = load(path, label_column="species")
    table = data.spec.table
    assert [(f["name"], f["type"]) for f in table["features"]] == [
        ("island", "category"),
        ("bill_length_mm", "numeric"),
        ("flipper_length_mm", "numeric"),
        ("body_mass_g", "numeric"),
        ("sex", "category"),
    ]
    assert data.spec.class_names == ["Adelie", "Chinstrap", "Gentoo"]
    # NA, ? and empty cells are missing: NaN in the features, counted per column
    assert table["missing"]["cells"] == {"bill_length_mm": 14, "flipper_length_mm": 11, "sex": 13}
    assert int(np.isnan(data.x).sum()) == 14 + 11 + 13
    assert np.isnan(data.x[3, 1]) and np.isnan(data.x[5, 4]) and np.isnan(data.x[7, 2])
    splits = nnzoo.data.load_data(
        "csv", params={"path": str(path), "label_column": "species"}, seed=0
    )
    fitted = splits.spec.table
    assert fitted["features"][0]["vocabulary"] == ["Biscoe", "Dream", "Torgersen"]
    assert fitted["features"][4]["vocabulary"] == ["female", "male"]
    assert fitted["model_columns"] == [
        "category:3",
        "numeric+missing",
        "numeric+missing",
        "numeric",
        "category:2",
    ]
    # codes are indices of the training vocabulary, missing stays NaN
    island = splits.train[0][:, 0]
    assert set(np.unique(island[~np.isnan(island)])) <= {0.0, 1.0, 2.0}


def test_a_category_only_in_held_out_rows_is_unseen(tmp_path):
    rows = penguins(60)
    rows[-1][1] = "Atlantis"  # one row, which the split may hold out
    path = write(tmp_path / "p.csv", rows)
    splits = nnzoo.data.load_data(
        "csv", params={"path": str(path), "label_column": "species"}, seed=0
    )
    index = {name: set(splits.indices[name].tolist()) for name in ("train", "validation", "test")}
    where = next(name for name, rows_in in index.items() if 59 in rows_in)
    vocabulary = splits.spec.table["features"][0]["vocabulary"]
    assert ("Atlantis" in vocabulary) == (where == "train")
    if where != "train":
        part = getattr(splits, where)[0]
        position = sorted(index[where]).index(59)
        assert part[position, 0] == -1.0


MISREADINGS = {
    "duplicate header names": (
        "a,b,a,label\n1,2,3,x\n4,5,6,y\n",
        {},
        "{p}: the header names two columns 'a' (columns 0 and 2). Fix: give every column its "
        "own name",
    ),
    "an empty label": (
        "a,b,label\n1,2,x\n3,4,\n5,6,y\n",
        {},
        "{p} line 3: the label (column 'label') is empty. Fix: give every row a label, or set "
        "data.params.missing_label: drop (rows without one are dropped)",
    ),
    "a NaN label": (
        "a,b,label\n1,2,x\n3,4,NaN\n5,6,y\n",
        {},
        "{p} line 3: the label (column 'label') is 'NaN'. Fix: give every row a label, or set "
        "data.params.missing_label: drop (rows without one are dropped)",
    ),
    "a value beyond float32": (
        "a,b,label\n1,2,x\n3,1e39,y\n5,6,y\n",
        {},
        "{p} line 3: feature 'b' is 1e+39, beyond float32 (±3.4e38). Fix: correct the cell "
        "(leave it empty if it is unknown: empty cells are imputed)",
    ),
    "many distinct integer labels": (
        "a,label\n" + "".join(f"{i},{1000 + 7 * i}\n" for i in range(30)),
        {},
        "{p}: the label column 'label' holds 30 distinct integers (a number to predict, or 30 "
        "classes). Fix: set model.params.task: regression (predict the number) or "
        "classification (30 classes)",
    ),
    "a typo in a numeric column": (
        "a,b,label\n" + "".join(f"{i},{i / 3:.2f},{'xy'[i % 2]}\n" for i in range(20)) + "7,o,x\n",
        {},
        "{p} line 22: feature 'b' is 'o', not a number (20 of the first 21 cells are numbers). "
        "Fix: correct the cell, or set data.params.column_types: {b: category} if the column "
        "holds categories",
    ),
    "an unknown feature": (
        "a,b,label\n1,2,x\n3,4,y\n",
        {"features": ["a", "bb"]},
        "no column 'bb' (closest: 'b') (columns: a, b, label)",
    ),
}


@pytest.mark.parametrize("case", list(MISREADINGS))
def test_each_misreading_is_refused_in_one_line(case, tmp_path):
    text, params, expected = MISREADINGS[case]
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load(path, **params)
    message = err.value.message if "{p}" not in expected else str(err.value).split(": ", 1)[1]
    assert message == expected.replace("{p}", str(path))
    assert "\n" not in str(err.value)


def test_a_header_of_years_above_string_labels_is_a_header(tmp_path):
    rows = "".join(f"{i / 3:.2f},{i / 7:.3f},{'up' if i % 2 else 'down'}\n" for i in range(30))
    path = tmp_path / "years.csv"
    path.write_text("2019,2020,label\n" + rows)
    data = load(path)
    assert data.spec.table["columns"] == ["2019", "2020", "label"]
    assert data.spec.class_names == ["down", "up"] and len(data.y) == 30
    assert load(
        path, header=False, missing_label="drop", task="classification"
    ).spec.class_names == [
        "down",
        "label",
        "up",
    ]  # header: false says the first row is data


def test_16_digit_integer_labels_keep_their_values_and_order(tmp_path):
    codes = ["1234567890123458", "1234567890123456", "1234567890123457", "99"]
    path = tmp_path / "codes.csv"
    path.write_text("a,label\n" + "".join(f"{i},{codes[i % 4]}\n" for i in range(40)))
    data = load(path)
    assert data.spec.class_names == [
        "99",
        "1234567890123456",
        "1234567890123457",
        "1234567890123458",
    ]
    np.testing.assert_array_equal(data.y[:4], [3, 1, 2, 0])


def test_missing_policies(tmp_path):
    path = write(tmp_path / "p.csv", penguins(120))
    dropped = load(path, label_column="species", missing="drop_rows")
    full = load(path, label_column="species")
    incomplete = np.isnan(full.x).any(axis=1)
    assert len(dropped.x) == int((~incomplete).sum()) and not np.isnan(dropped.x).any()
    np.testing.assert_array_equal(dropped.y, full.y[~incomplete])
    assert dropped.spec.table["missing"]["dropped_rows"] == int(incomplete.sum())
    with pytest.raises(ConfigError, match=r"line 5: feature 'bill_length_mm' is missing \('NA'\)"):
        load(path, label_column="species", missing="refuse")
    rows = penguins(40)
    rows[4][0] = ""
    with_blank_label = write(tmp_path / "b.csv", rows)
    kept = load(with_blank_label, label_column="species", missing_label="drop")
    assert len(kept.y) == 39 and kept.spec.table["missing"]["dropped_rows"] == 1


def test_features_and_column_types_by_name(tmp_path):
    path = write(tmp_path / "p.csv", penguins(60))
    data = load(
        path,
        label_column="species",
        features=["body_mass_g", "island"],
        column_types={"body_mass_g": "category"},
    )
    assert [(f["name"], f["type"]) for f in data.spec.table["features"]] == [
        ("body_mass_g", "category"),
        ("island", "category"),
    ]
    with pytest.raises(ConfigError) as err:
        load(path, label_column="species", column_types={"island": "text"})
    assert err.value.key == "data.params.column_types.island"
    with pytest.raises(ConfigError, match="lists the label column 'species'"):
        load(path, label_column="species", features=["species", "island"])


# --------------------------------------------------------------------------- round trips


def _config(path: Path, **data_params) -> object:
    return config_from_dict(
        {
            "name": "penguins",
            "model": {"name": "mlp", "params": {"hidden_units": [16]}},
            "data": {
                "source": "csv",
                "params": {"path": str(path), "label_column": "species", **data_params},
                "batch_size": 32,
            },
            "train": {"epochs": 12, "optimizer": {"name": "adam", "learning_rate": 0.01}},
        }
    )


@pytest.fixture(scope="module")
def penguin_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("penguins")
    rows = penguins()
    path = write(tmp / "penguins.csv", rows)
    result = nnzoo.train(_config(path), runs_dir=tmp / "runs", quiet=True)
    return result, rows, tmp


def test_predict_on_the_raw_test_rows_equals_the_test_split(penguin_run):
    """Rule: the saved model takes raw rows (strings, NA, blanks); predicting the test rows
    from a CSV of their raw text gives the run's test accuracy and its model's outputs."""
    result, rows, tmp = penguin_run
    split = np.load(result.run_dir / "split.npz")
    test_rows = [rows[i] for i in split["test"]]
    raw = write(tmp / "test_rows.csv", test_rows)
    predicted = nnzoo.predict(result.run_dir, raw)
    evaluation = nnzoo.evaluate(result.run_dir)
    assert predicted.accuracy == pytest.approx(evaluation["accuracy"], abs=1e-9)
    assert predicted.accuracy >= 0.9
    assert len(predicted) == len(test_rows) == 48
    # the same rows as the run's own test split, through model.keras
    import keras

    model = keras.saving.load_model(result.run_dir / "model.keras")
    splits = nnzoo.data.load_data(
        "csv",
        params={"path": str(tmp / "penguins.csv"), "label_column": "species"},
        seed=42,
        split={name: split[name] for name in ("train", "validation", "test")},
    )
    logits = model.predict(splits.test[0], verbose=0)
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = z / z.sum(axis=1, keepdims=True)
    got = np.asarray([list(r["probabilities"].values()) for r in predicted])
    np.testing.assert_allclose(got, probs, atol=1e-6)


def test_predict_by_name_unseen_categories_and_extra_columns(penguin_run):
    result, rows, tmp = penguin_run
    reordered = [HEADER[i] for i in (5, 4, 3, 2, 1, 0)] + ["id"]
    rows2 = [[r[i] for i in (5, 4, 3, 2, 1, 0)] + [str(k)] for k, r in enumerate(rows[:10])]
    rows2[0][4] = "Atlantis"  # island never seen
    path = write(tmp / "reordered.csv", rows2, header=reordered)
    out = CliRunner().invoke(cli, ["predict", str(result.run_dir), str(path)])
    assert out.exit_code == 0, out.output
    assert "note: columns not used by the model: id" in out.output
    assert "note: 1 row had a category value the run never saw in training" in out.output
    same = write(tmp / "same.csv", rows[:10])
    a = nnzoo.predict(result.run_dir, same)
    b = nnzoo.predict(result.run_dir, path)
    assert [r["class"] for r in a][1:] == [r["class"] for r in b][1:]
    # a missing column is refused by name even when the count matches (id stands in)
    header = [h if h != "sex" else "id" for h in HEADER]
    wrong = write(tmp / "wrong.csv", rows[:3], header=header)
    out = CliRunner().invoke(cli, ["predict", str(result.run_dir), str(wrong)])
    assert out.exit_code == 2
    assert out.output.startswith(f"nnzoo: error: {wrong}: no column 'sex'")
    renamed = write(
        tmp / "renamed.csv", rows[:3], header=[*HEADER[:2], "bill_len_mm", *HEADER[3:]]
    )
    out = CliRunner().invoke(cli, ["predict", str(result.run_dir), str(renamed)])
    assert out.output.startswith(
        f"nnzoo: error: {renamed}: no column 'bill_length_mm' (closest: 'bill_len_mm')"
    )


def test_train_says_what_it_assumes_and_validate_refuses_what_train_would(tmp_path):
    path = write(tmp_path / "p.csv", penguins(80))
    config = tmp_path / "p.yaml"
    config.write_text(
        f"name: p\nmodel: {{name: mlp, params: {{hidden_units: [4]}}}}\n"
        f"data: {{source: csv, params: {{path: {path}, label_column: species}}}}\n"
        "train: {epochs: 1}\n"
    )
    out = CliRunner().invoke(cli, ["train", str(config), "--runs-dir", str(tmp_path / "runs")])
    assert out.exit_code == 0, out.output
    (line,) = [x for x in out.output.splitlines() if x.startswith("data: ")]
    assert line.startswith(
        "data: label 'species'; classification, 3 classes (Adelie, Chinstrap, Gentoo); features: "
        "island category (3), bill_length_mm numeric, flipper_length_mm numeric, body_mass_g "
        "numeric, sex category (2); "
    )
    assert "13 missing cells imputed (bill_length_mm 5, flipper_length_mm 4, sex 4)" in line
    out = CliRunner().invoke(cli, ["validate", str(config)])
    assert out.exit_code == 0 and "island (category)" in out.output
    out = CliRunner().invoke(
        cli, ["validate", str(config), "--set", "data.params.label_column=body_mass_g"]
    )
    assert out.exit_code == 2
    assert "holds 80 distinct integers" in out.output and "model.params.task" in out.output


@pytest.mark.parametrize("fmt", ["onnx", "litert"])
def test_exports_of_a_table_run_take_its_raw_rows_through_predict(penguin_run, fmt):
    """Rule: the artifact takes the encoded rows (the report says how), verified on the test
    split with its NaN and codes; ``predict`` on the export folder reads raw rows and agrees
    with the run."""
    from nnzoo.inference.export import TABLE_INPUTS, export_run

    result, rows, tmp = penguin_run
    report = export_run(result.run_dir, fmt, output=tmp / f"export_{fmt}")
    assert report["passed"] and report["inputs"] == TABLE_INPUTS
    assert TABLE_INPUTS in (tmp / f"export_{fmt}" / "model.md").read_text()
    raw = write(tmp / f"raw_{fmt}.csv", rows[:30])
    ours = nnzoo.predict(result.run_dir, raw)
    theirs = nnzoo.predict(tmp / f"export_{fmt}", raw)
    for a, b in zip(ours, theirs, strict=True):
        assert a["class"] == b["class"]
        assert list(a["probabilities"].values()) == pytest.approx(
            list(b["probabilities"].values()), abs=1e-5
        )


def test_ft_transformer_takes_the_same_raw_rows(tmp_path):
    """Rule: categories and missing cells reach FT-Transformer through the same encoder
    (category tokens), and predict on the raw test rows equals its test split."""
    rows = penguins(160)
    path = write(tmp_path / "p.csv", rows)
    config = config_from_dict(
        {
            "name": "ftt",
            "model": {
                "name": "ft_transformer",
                "params": {"d_token": 8, "num_blocks": 1, "num_heads": 2},
            },
            "data": {"source": "csv", "params": {"path": str(path), "label_column": "species"}},
            "train": {"epochs": 10, "optimizer": {"name": "adam", "learning_rate": 0.005}},
        }
    )
    result = nnzoo.train(config, runs_dir=tmp_path / "runs", quiet=True)
    assert result.metrics["test"]["accuracy"] >= 0.85
    split = np.load(result.run_dir / "split.npz")
    raw = write(tmp_path / "test_rows.csv", [rows[i] for i in split["test"]])
    predicted = nnzoo.predict(result.run_dir, raw)
    assert predicted.accuracy == pytest.approx(result.metrics["test"]["accuracy"], abs=1e-9)


def test_a_numeric_label_is_a_regression_predicted_in_its_units(tmp_path):
    """Rule: fractional labels mean regression (decided by the data, recorded in config.yaml);
    integers with many values need task: regression; predict on the raw test rows (NA, blanks,
    categories) gives the run's MAE / RMSE / R² exactly."""
    rows = penguins(200)
    path = write(tmp_path / "p.csv", rows)
    config = config_from_dict(
        {
            "name": "mass",
            "model": {"name": "mlp", "params": {"hidden_units": [16], "task": "regression"}},
            "data": {
                "source": "csv",
                "params": {"path": str(path), "label_column": "body_mass_g"},
            },
            "train": {"epochs": 40, "optimizer": {"name": "adam", "learning_rate": 0.01}},
        }
    )
    result = nnzoo.train(config, runs_dir=tmp_path / "runs", quiet=True)
    test = result.metrics["test"]
    assert test["r2"] > 0.6 and set(test) == {"loss", "mae", "rmse", "r2"}
    split = np.load(result.run_dir / "split.npz")
    raw = write(tmp_path / "test_rows.csv", [rows[i] for i in split["test"]])
    out = CliRunner().invoke(cli, ["predict", str(result.run_dir), str(raw)])
    assert out.exit_code == 0, out.output
    assert (
        f"mae: {test['mae']:.4f}   rmse: {test['rmse']:.4f}   r2: {test['r2']:.4f}" in out.output
    )
    predictions = [float(line.split("\t")[1]) for line in out.output.splitlines() if "\t" in line]
    assert 2000 < np.mean(predictions) < 6500  # grams, the target's own units
    # fractions decide regression by themselves, and config.yaml records it
    auto = config_from_dict(
        {
            "name": "bill",
            "model": {"name": "mlp", "params": {"hidden_units": [4]}},
            "data": {
                "source": "csv",
                "params": {
                    "path": str(path),
                    "label_column": "bill_length_mm",
                    "missing_label": "drop",
                },
            },
            "train": {"epochs": 1},
        }
    )
    result = nnzoo.train(auto, runs_dir=tmp_path / "runs", quiet=True)
    assert "task: regression" in (result.run_dir / "config.yaml").read_text()
