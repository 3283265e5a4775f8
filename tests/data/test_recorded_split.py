"""A split is a list of positions in the source's examples (issue 25, item 3).

- ``load_data`` draws the split as it always has (scikit-learn, stratified, seeded: test first,
  then validation from the rest with ``seed + 1``) and reports it in ``Splits.indices``: uint32
  positions in the examples the loader returns, then its own test examples; texts are
  de-duplicated after.
- ``load_data(split=indices)`` takes exactly those examples again; ``whole=True`` takes every
  example, none dropped.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import train_test_split
from text_fixtures import write_text_folder

from nnzoo.data import SPLIT_NAMES, load_data
from nnzoo.errors import ConfigError


def _table(path, rows=83, seed=0):
    """A CSV of two features and a label of three classes, unbalanced."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2)).round(4)
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    path.write_text("a,b,label\n" + "".join(f"{a},{b},{c}\n" for (a, b), c in zip(x, y)))
    return path, x.astype("float32"), y


def _equal(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    return np.array_equal(a, b)


def test_the_indices_are_the_stratified_seeded_draw_of_the_file_rows(tmp_path):
    path, x, y = _table(tmp_path / "t.csv")
    splits = load_data(
        "csv", params={"path": str(path)}, seed=7, validation_split=0.1, test_split=0.2
    )
    rest, test = train_test_split(np.arange(83), test_size=0.2, random_state=7, stratify=y)
    rest = np.sort(rest)
    train, validation = train_test_split(
        np.arange(len(rest)), test_size=0.1, random_state=8, stratify=y[rest]
    )
    index = splits.indices
    assert {k: v.dtype for k, v in index.items()} == dict.fromkeys(SPLIT_NAMES, np.uint32)
    assert index["test"].tolist() == sorted(test.tolist())
    assert index["validation"].tolist() == rest[np.sort(validation)].tolist()
    assert index["train"].tolist() == rest[np.sort(train)].tolist()
    assert (len(index["train"]), len(index["validation"]), len(index["test"])) == (59, 7, 17)
    for name, part in zip(SPLIT_NAMES, (splits.train, splits.validation, splits.test)):
        np.testing.assert_array_equal(part[0], x[index[name]])
        np.testing.assert_array_equal(part[1], y[index[name]])


def _npz(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "d.npz"
    np.savez(
        path,
        x=rng.normal(size=(50, 4)),
        y=rng.integers(0, 3, 50),
        x_test=rng.normal(size=(11, 4)),
        y_test=rng.integers(0, 3, 11),
    )
    return "npz", {"path": str(path)}


def _texts(tmp_path):
    folder = write_text_folder(tmp_path / "texts", per_class=15)
    (folder / "space" / "99.txt").write_text((folder / "space" / "00.txt").read_text())
    return "text_folder", {"path": str(folder), "sequence_length": 16}


SOURCES = {
    "csv": lambda tmp_path: ("csv", {"path": str(_table(tmp_path / "t.csv")[0])}),
    "npz with its own test split": _npz,
    "text_folder with a duplicate": _texts,
    "xor (every example in every split)": lambda tmp_path: ("xor", {}),
    "digits": lambda tmp_path: ("digits", {}),
}


@pytest.mark.parametrize("source", SOURCES)
def test_the_recorded_indices_take_the_same_examples_again(tmp_path, source):
    name, params = SOURCES[source](tmp_path)
    drawn = load_data(name, params=params, seed=3)
    again = load_data(name, params=params, seed=3, split=drawn.indices)
    for part in ("train", "validation", "test"):
        before, after = getattr(drawn, part), getattr(again, part)
        assert _equal(before[0], after[0]) and _equal(before[1], after[1]), part
    assert all(np.array_equal(drawn.indices[k], again.indices[k]) for k in SPLIT_NAMES)


def test_a_source_with_its_own_test_split_lists_it_after_its_examples(tmp_path):
    name, params = _npz(tmp_path)
    splits = load_data(name, params=params, seed=3, validation_split=0.2)
    assert splits.indices["test"].tolist() == list(range(50, 61))
    assert sorted([*splits.indices["train"], *splits.indices["validation"]]) == list(range(50))


def test_texts_are_indexed_before_duplicates_are_dropped(tmp_path):
    name, params = _texts(tmp_path)  # 46 files, one a copy of another
    splits = load_data(name, params=params, seed=3)
    counted = sum(len(v) for v in splits.indices.values())
    kept = sum(len(part[1]) for part in (splits.train, splits.validation, splits.test))
    assert (counted, kept) == (46, 45)
    whole = load_data(name, params=params, seed=3, whole=True)
    assert len(whole.test[1]) == 46 and whole.indices["test"].tolist() == list(range(46))
    assert len(whole.train[1]) == 0 and whole.validation is None


def test_a_recorded_split_beyond_the_data_is_one_line(tmp_path):
    path, _, _ = _table(tmp_path / "t.csv", rows=20)
    index = {"train": np.arange(10), "validation": np.arange(10, 12), "test": np.array([25])}
    with pytest.raises(ConfigError) as err:
        load_data("csv", params={"path": str(path)}, split=index)
    assert str(err.value) == (
        f"data.params: {path} has 20 examples, but the recorded split holds example 25. "
        "Fix: give the data the run was trained on"
    )
