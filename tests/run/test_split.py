"""A run records its split (issue 25, item 3): ``split.npz`` holds uint32 ``train``,
``validation`` and ``test`` positions and the data's fingerprint, written atomically; a run
without one (saved before) reads as ``None``; changed data is refused in one line that names
the file and what changed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnzoo.data import load_data
from nnzoo.errors import ConfigError, RunDirError
from nnzoo.run.bind import config_from_dict
from nnzoo.run.split import SPLIT_FILE, check_data, read_split, record_split


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    rows = [f"{a:.4f},{b:.4f},{int(a > 0)}" for a, b in rng.normal(size=(40, 2))]
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n" + "\n".join(rows) + "\n")
    return path


def _config(path):
    return config_from_dict(
        {
            "name": "t",
            "model": {"name": "mlp"},
            "data": {"source": "csv", "params": {"path": path}},
        }
    )


def test_split_npz_holds_the_indices_as_uint32_and_the_fingerprint(tmp_path, table):
    splits = load_data("csv", params={"path": str(table)}, seed=1)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    record_split(run_dir, splits, _config(str(table)))
    assert [p.name for p in run_dir.iterdir()] == [SPLIT_FILE]  # no temporary file left
    with np.load(run_dir / SPLIT_FILE) as saved:
        assert sorted(saved.files) == ["fingerprint", "test", "train", "validation"]
        assert {saved[k].dtype for k in ("train", "validation", "test")} == {np.dtype("uint32")}
        fingerprint = json.loads(str(saved["fingerprint"]))
    assert fingerprint["files"]["path"]["size"] == table.stat().st_size
    recorded = read_split(run_dir)
    assert recorded.fingerprint == fingerprint == splits.fingerprint
    for name in ("train", "validation", "test"):
        np.testing.assert_array_equal(recorded.indices[name], splits.indices[name])
    assert len(recorded.indices["test"]) == 8


def test_a_run_saved_before_has_no_split(tmp_path):
    assert read_split(tmp_path) is None


def test_a_torn_split_file_is_one_line(tmp_path):
    (tmp_path / SPLIT_FILE).write_bytes(b"PK\x03\x04torn")
    with pytest.raises(RunDirError) as err:
        read_split(tmp_path)
    assert str(err.value) == (
        f"{tmp_path / SPLIT_FILE}: damaged, so the run's split cannot be read. Fix: copy the "
        "whole run directory again"
    )


def test_changed_data_is_refused_naming_the_file_and_the_change(tmp_path, table):
    config = _config(str(table))
    splits = load_data("csv", params={"path": str(table)}, seed=1)
    record_split(tmp_path, splits, config)
    recorded = read_split(tmp_path)
    check_data(tmp_path, config, recorded, fix="restore it")  # unchanged: nothing to say
    header, *rows = table.read_text().splitlines()
    table.write_text("\n".join([header, *rows[::-1]]) + "\n")
    with pytest.raises(ConfigError) as err:
        check_data(tmp_path, config, recorded, fix="restore it")
    assert str(err.value) == (
        f"{tmp_path}/config.yaml: data.params.path: {table} changed since this run was trained "
        "on it (the same size, other content: re-ordered or edited): its recorded split would "
        "now pick other examples, some of them trained on. Fix: restore it"
    )
