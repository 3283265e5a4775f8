"""Tables read with pyarrow (issue 25, item 9): CSV in streamed record batches, Parquet as a
source, and ``predict`` on either.

- A clean CSV is read by pyarrow alone; a bad cell in any record batch is named by its line and
  column exactly as the ``csv`` module named it, and reading holds no Python object per cell.
- The ``parquet`` source gives the arrays, classes and column names of the same table as a CSV;
  its bad cells are named by row and column.
- ``predict`` takes a ``.parquet`` file for a run trained on a CSV or a Parquet table, with the
  same predictions as the same rows in a CSV.
"""

from __future__ import annotations

import csv
import json
import tracemalloc
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import nnzoo
from nnzoo.cli import cli
from nnzoo.data import _table, get_source
from nnzoo.errors import ConfigError
from nnzoo.run.bind import load_config

ROOT = Path(__file__).resolve().parents[2]
MISSING_FIX = (
    "Fix: fill it in, or set data.params.missing: impute (the model fills it with the training "
    "mean, or a 'missing' category) or drop_rows"
)
CELL_FIX = "Fix: correct the cell (leave it empty if it is unknown: empty cells are imputed)"


def text_fix(name: str) -> str:
    return (
        f"Fix: correct the cell, or set data.params.column_types: {{{name}: category}} if the "
        "column holds categories"
    )


def _table_columns(n: int, seed: int = 0, labels=None) -> dict[str, list]:
    """Columns of a small table: two float features, an integer one, and a string label."""
    rng = np.random.default_rng(seed)
    return {
        "width": [float(v) for v in np.round(rng.normal(size=n), 4)],
        "height": [float(v) for v in np.round(rng.normal(10, 3, size=n), 2)],
        "count": [int(v) for v in rng.integers(0, 50, size=n)],
        "species": labels or [["setosa", "versicolor", "virginica"][i % 3] for i in range(n)],
    }


def _write_csv(path: Path, columns: dict[str, list], *, header: bool = True) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        if header:
            writer.writerow(columns)
        writer.writerows(zip(*columns.values(), strict=True))
    return path


def _write_parquet(path: Path, columns: dict[str, list], **types: pa.DataType) -> Path:
    arrays = [pa.array(values, type=types.get(name)) for name, values in columns.items()]
    pq.write_table(pa.table(arrays, names=list(columns)), path, row_group_size=64)
    return path


# --------------------------------------------------------------------------- CSV


@pytest.fixture
def small_blocks(monkeypatch):
    """Record batches of 256 bytes, so a file of a few kB is read in many batches."""
    monkeypatch.setattr(_table, "BLOCK_SIZE", 256)


@pytest.fixture
def csv_module_reads(monkeypatch):
    """The row each use of the ``csv`` module as reader (instead of pyarrow) started from."""
    starts: list[int] = []
    original = _table.CsvReader.python_rows

    def recorded(self, start=0):
        starts.append(start)
        return original(self, start)

    monkeypatch.setattr(_table.CsvReader, "python_rows", recorded)
    return starts


def test_a_clean_csv_is_read_by_pyarrow_alone_as_the_csv_module_read_it(
    tmp_path, small_blocks, csv_module_reads
):
    """Rule: the arrays equal the ``csv`` module's reading (line endings, blank lines, quotes,
    spaces, a byte-order mark), in many record batches, with no row read by the csv module."""
    columns = _table_columns(300)
    path = _write_csv(tmp_path / "t.csv", columns)
    text = path.read_text().replace("\n", "\r\n").replace("setosa", '" setosa"')
    lines = text.split("\r\n")
    lines.insert(100, "")  # a blank line
    path.write_text("\ufeff" + "\r\n".join(lines) + "\r\n")
    data = get_source("csv").loader(seed=0, path=str(path))
    assert csv_module_reads == []
    rows = list(_table.csv_rows(path, ","))[1:]
    expected = _table.feature_rows(rows, [0, 1, 2], path=path, columns=list(columns))
    np.testing.assert_array_equal(data.x, expected)
    assert data.x.dtype == np.float32 and data.x.shape == (300, 3)
    assert data.spec.class_names == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(data.y, np.arange(300) % 3)


BAD_CELLS = {
    # (the data row made bad, its text), the line and column named (missing: refuse)
    "NaN": (500, "7,nan,1,yes", "line 502: feature 'b' is missing ('nan'). " + MISSING_FIX),
    "NA": (500, "7,NA,1,yes", "line 502: feature 'b' is missing ('NA'). " + MISSING_FIX),
    "empty": (700, "7,,1,yes", "line 702: feature 'b' is missing (empty). " + MISSING_FIX),
    "infinity": (
        10,
        "7,1,-inf,yes",
        "line 12: feature 'c' is -inf, not a finite number. Fix: correct the cell",
    ),
    "beyond float32": (
        600,
        "7,1e39,1,yes",
        "line 602: feature 'b' is 1e+39, beyond float32 (±3.4e38). Fix: correct the cell",
    ),
    "text": (900, "x,1,1,yes", "line 902: feature 'a' is 'x', not a number. " + text_fix("a")),
    "short row": (
        300,
        "7,1,yes",
        "line 302 has 3 fields, expected 4. Fix: give every row the same number of fields",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CELLS))
def test_a_bad_cell_in_a_later_record_batch_names_its_line_and_column(
    case, tmp_path, small_blocks, csv_module_reads, monkeypatch
):
    """Rule: the message is the ``csv`` module's, and only the batch holding the bad cell (not
    the file from its start) is read again by it (the column types are decided from the first
    5 rows here, so the bad cells lie beyond)."""
    monkeypatch.setattr("nnzoo.data.files.SAMPLE_ROWS", 5)
    row, cell, expected = BAD_CELLS[case]
    lines = [f"{i},{i / 7:.3f},{i % 5},{'yes' if i % 3 else 'no'}" for i in range(1000)]
    lines[row] = cell
    path = tmp_path / "d.csv"
    path.write_text("a,b,c,label\n" + "\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as err:
        get_source("csv").loader(seed=0, path=str(path), missing="refuse")
    assert str(err.value) == f"data.params.path: {path} {expected}"
    (start,) = csv_module_reads
    assert start <= row < start + 20  # the batch of the bad row (~15 rows of 256 bytes)


def test_reading_a_csv_holds_no_python_object_per_cell(tmp_path):
    """Rule: Python's peak allocations (NumPy's included) while reading 100k rows x 4 columns
    stay within twice the arrays returned, plus 2 MB (1.5x here; the csv module's rows: 32x)."""
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=(100_000, 4)), 5)
    labels = np.where(x[:, 0] > 0, "up", "down")
    path = tmp_path / "big.csv"
    with open(path, "w") as f:
        f.write("a,b,c,d,label\n")
        f.writelines(f"{a},{b},{c},{d},{e}\n" for (a, b, c, d), e in zip(x, labels))
    get_source("csv").loader(seed=0, path=str(path))  # import what reading imports
    tracemalloc.start()
    try:
        data = get_source("csv").loader(seed=0, path=str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(data.x, x.astype("float32"))
    assert peak <= 2 * (data.x.nbytes + data.y.nbytes) + 2**21, peak


def test_16_digit_integer_labels_stay_apart(tmp_path):
    """Labels are read as text and integers parsed exactly (float64 made these three codes two
    classes)."""
    codes = ["1234567890123456", "1234567890123457", "1234567890123458"]
    path = _write_csv(tmp_path / "codes.csv", _table_columns(30, labels=codes * 10))
    data = get_source("csv").loader(seed=0, path=str(path))
    assert data.spec.class_names == codes
    np.testing.assert_array_equal(data.y, np.arange(30) % 3)


# --------------------------------------------------------------------------- Parquet


LABELS = {
    "strings": (None, None),
    "integers 0..k-1": ([i % 3 for i in range(200)], pa.int64()),
    "other integers": ([(i % 3) * 10 + 5 for i in range(200)], pa.int32()),
    "floats": ([[0.25, 0.5, 1.0][i % 3] for i in range(200)], pa.float64()),
}


@pytest.mark.parametrize("case", list(LABELS))
def test_the_parquet_source_gives_the_arrays_of_the_same_table_as_csv(case, tmp_path):
    labels, label_type = LABELS[case]
    columns = _table_columns(200, labels=labels)
    as_csv = get_source("csv").loader(seed=0, path=str(_write_csv(tmp_path / "t.csv", columns)))
    parquet = _write_parquet(tmp_path / "t.parquet", columns, species=label_type)
    for label_column in (-1, "species", 3):
        data = get_source("parquet").loader(seed=0, path=str(parquet), label_column=label_column)
        np.testing.assert_array_equal(data.x, as_csv.x)
        assert data.x.dtype == np.float32
        np.testing.assert_array_equal(data.y, as_csv.y)
        assert data.spec.class_names == as_csv.spec.class_names
        assert data.spec.table["columns"] == list(columns)
        assert data.spec.table["label_column"] == 3
        assert [(f["name"], f["type"]) for f in data.spec.table["features"]] == [
            ("width", "numeric"),
            ("height", "numeric"),
            ("count", "numeric"),
        ]
        assert data.spec.feature_scaling == "standardize"


def _bad_parquet(t: Path, column: str, row: int, value, kind=None) -> Path:
    columns = _table_columns(150)
    values = [str(v) for v in columns[column]] if kind == pa.string() else list(columns[column])
    values[row] = value
    return _write_parquet(t / "d.parquet", {**columns, column: values}, **{column: kind})


PARQUET_CASES = {
    "a text cell": lambda t: (
        _bad_parquet(t, "height", 130, "tall", pa.string()),
        "row 130: feature 'height' is 'tall', not a number (149 of the first 150 cells are "
        "numbers). " + text_fix("height"),
    ),
    "a null cell": lambda t: (
        _bad_parquet(t, "count", 70, None),
        "row 70: feature 'count' is missing (null). " + MISSING_FIX,
    ),
    "NaN": lambda t: (
        _bad_parquet(t, "width", 99, float("nan")),
        "row 99: feature 'width' is missing ('nan'). " + MISSING_FIX,
    ),
    "a null label": lambda t: (
        _bad_parquet(t, "species", 3, None),
        "row 3: the label (column 'species') is missing. Fix: give every row a label, or "
        "set data.params.missing_label: drop (rows without one are dropped)",
    ),
    "beyond float32": lambda t: (
        _bad_parquet(t, "width", 20, 1e39),
        "row 20: feature 'width' is 1e+39, beyond float32 (±3.4e38). " + CELL_FIX,
    ),
    "a column of dates": lambda t: (
        _write_parquet(
            t / "d.parquet",
            {"day": [1, 2, 3], "x": [1.0, 2.0, 3.0], "y": ["a", "b", "a"]},
            day=pa.date32(),
        ),  # fmt: skip
        ": feature 'day' is a column of date32[day], not numbers or text. Fix: leave it out "
        "(data.params.features: the columns to use)",
    ),
}


@pytest.mark.parametrize("case", list(PARQUET_CASES))
def test_a_bad_parquet_cell_names_the_file_row_and_column(case, tmp_path):
    path, expected = PARQUET_CASES[case](tmp_path)
    missing = "refuse" if "missing (" in expected and "label" not in expected else "impute"
    with pytest.raises(ConfigError) as err:
        get_source("parquet").loader(seed=0, path=str(path), missing=missing)
    separator = "" if expected.startswith(":") else " "
    assert str(err.value) == f"data.params.path: {path}{separator}{expected}"


def test_a_file_that_is_not_parquet_is_one_line(tmp_path):
    path = _write_csv(tmp_path / "t.parquet", _table_columns(5))
    with pytest.raises(ConfigError) as err:
        get_source("parquet").loader(seed=0, path=str(path))
    message = str(err.value)
    assert message.startswith(f"data.params.path: {path}: not a Parquet file (")
    assert message.endswith(
        "Fix: write the table with pyarrow.parquet.write_table or pandas' DataFrame.to_parquet"
    )
    assert "\n" not in message


def test_list_sources_shows_parquet():
    result = CliRunner().invoke(cli, ["list-sources", "--json"])
    assert result.exit_code == 0, result.output
    (parquet,) = [s for s in json.loads(result.output) if s["name"] == "parquet"]
    assert parquet == {
        "name": "parquet",
        "input_kind": "features",
        "offline": True,
        "params": {
            "path": None,
            "label_column": -1,
            "standardize": True,
            "features": None,
            "column_types": None,
            "missing": "impute",
            "missing_values": None,
            "missing_label": "refuse",
            "task": "auto",
        },
        "summary": "A Parquet table: feature columns (numbers, categories, blanks) and a label "
        "column",
    }


# --------------------------------------------------------------------------- predict


def _train(tmp: Path, source: str, path: Path) -> Path:
    config = load_config(
        ROOT / "configs" / "parquet_mlp.yaml",
        [
            f"data.source={source}",
            f"data.params={{path: {path}, label_column: species}}",
            "train.epochs=2",
            f"name={source}",
        ],
    )
    return nnzoo.train(config, runs_dir=tmp / "runs", quiet=True).run_dir


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """Runs trained on one table as a CSV and as Parquet, and new rows in both formats (the
    label column first, so columns are matched by name)."""
    tmp = tmp_path_factory.mktemp("tables")
    columns = _table_columns(120)
    runs = {
        "csv": _train(tmp, "csv", _write_csv(tmp / "train.csv", columns)),
        "parquet": _train(tmp, "parquet", _write_parquet(tmp / "train.parquet", columns)),
    }
    new = _table_columns(40, seed=1)
    new = {"species": new.pop("species"), **new}
    rows = {
        ".csv": _write_csv(tmp / "new.csv", new),
        ".parquet": _write_parquet(tmp / "new.parquet", new),
        "unlabelled .parquet": _write_parquet(
            tmp / "new_x.parquet", {k: v for k, v in new.items() if k != "species"}
        ),
    }
    return runs, rows, tmp


@pytest.mark.parametrize("trained_on", ["csv", "parquet"])
def test_predict_on_parquet_equals_predict_on_the_same_rows_as_csv(trained_on, tables):
    runs, rows, _ = tables
    predicted = {name: nnzoo.predict(runs[trained_on], path) for name, path in rows.items()}
    reference = predicted[".csv"]
    assert len(reference) == 40 and reference.accuracy is not None
    for name in (".parquet", "unlabelled .parquet"):
        assert [r["class"] for r in predicted[name]] == [r["class"] for r in reference]
        for got, want in zip(predicted[name], reference):
            assert got["probabilities"] == pytest.approx(want["probabilities"], abs=1e-6)
    assert predicted[".parquet"].accuracy == reference.accuracy
    assert predicted["unlabelled .parquet"].accuracy is None
    assert [r["input"] for r in predicted[".parquet"]][:2] == ["new.parquet[0]", "new.parquet[1]"]


def test_a_bad_parquet_predict_input_names_the_row_and_column(tables):
    runs, _, tmp = tables
    columns = _table_columns(10, labels=["setosa"] * 9 + ["zinfandel"])
    columns["height"][4] = float("inf")
    bad_cell = _write_parquet(tmp / "inf.parquet", columns)
    result = CliRunner().invoke(cli, ["predict", str(runs["parquet"]), str(bad_cell)])
    assert result.exit_code == 2
    assert result.output == (
        f"nnzoo: error: {bad_cell} row 4: feature 'height' is inf, not a finite number. "
        "Fix: correct the cell\n"
    )
    columns["height"][4] = 1.0
    bad_label = _write_parquet(tmp / "label.parquet", columns)
    result = CliRunner().invoke(cli, ["predict", str(runs["csv"]), str(bad_label)])
    assert result.exit_code == 2
    assert result.output == (
        f"nnzoo: error: {bad_label} row 9: label 'zinfandel' is not a class of the run "
        "(setosa, versicolor, virginica). Fix: use the run's class names (or ids), or leave the "
        "label column out\n"
    )


def test_a_run_saved_before_tables_had_a_column_list_reads_new_rows_as_before(tables, tmp_path):
    """Rule: a data_spec.json without ``table.features`` (runs saved before) is read by the
    same reader, features by the training file's names: same predictions; a file missing a
    feature column is refused by name."""
    import shutil

    runs, rows, _ = tables
    old = tmp_path / "old_run"
    shutil.copytree(runs["csv"], old)
    spec_file = old / "data_spec.json"
    spec = json.loads(spec_file.read_text())
    spec["table"] = {k: spec["table"][k] for k in ("columns", "label_column", "delimiter")}
    spec_file.write_text(json.dumps(spec))
    new = [r["class"] for r in nnzoo.predict(runs["csv"], rows[".csv"])]
    assert [r["class"] for r in nnzoo.predict(old, rows[".csv"])] == new
    assert [r["class"] for r in nnzoo.predict(old, rows[".parquet"])] == new
    columns = _table_columns(5)
    columns.pop("height")
    columns["other"] = [1.0] * 5  # as many columns as the model takes features
    missing = _write_csv(tmp_path / "missing.csv", columns)
    result = CliRunner().invoke(cli, ["predict", str(old), str(missing)])
    assert result.exit_code == 2
    assert result.output.startswith(f"nnzoo: error: {missing}: no column 'height'")
