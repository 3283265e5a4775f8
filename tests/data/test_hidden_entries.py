"""Hidden entries are never data (issue 25, item 5).

- Dot-files and dot-folders (``.ipynb_checkpoints``, ``.DS_Store``, ``.git``, ``._x.png``),
  ``__MACOSX``, ``Thumbs.db`` and ``desktop.ini``, at any depth, are no class and no example of
  ``image_folder`` or ``text_folder``: a littered folder reads exactly as the clean one did
  (same classes, same files in the same order), and the number skipped is logged at INFO.
- ``predict`` on such a folder predicts only its visible files, and a run trained on it has
  only the visible classes.
- Files are listed in walk order (a folder's own files, sorted, before its sub-folders, sorted),
  and ``predict`` sorts them by path, both as before.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from text_fixtures import TOPICS, write_text_folder

import nnzoo
from nnzoo.data import FolderListing, get_source, is_hidden
from nnzoo.run.bind import load_config

ROOT = Path(__file__).resolve().parents[2]


def _image_folder(root: Path, counts: dict[str, int]) -> Path:
    """``root/<class>/<i>.png``, every third image one folder down (``nested/``); image ``i``
    of class ``c`` is a grey level of its own, so the arrays show which file was read."""
    from PIL import Image

    for c, (name, count) in enumerate(counts.items()):
        (root / name / "nested").mkdir(parents=True)
        for i in range(count):
            folder = root / name / "nested" if i % 3 == 2 else root / name
            Image.new("L", (8, 8), 20 * c + 3 * i).convert("RGB").save(folder / f"{i}.png")
    return root


def _litter(root: Path, suffix: str) -> int:
    """Add to ``root`` (a folder of class sub-folders) what notebooks, macOS, Windows and git
    leave beside data, each holding copies of real data files (``suffix``) so that reading any
    of it would show. Returns how many hidden entries a folder walk meets."""
    classes = sorted(p for p in root.iterdir() if p.is_dir())
    sample = next(classes[0].glob(f"*{suffix}"))
    checkpoints = root / ".ipynb_checkpoints"
    shutil.copytree(classes[0], checkpoints / classes[0].name)  # a copy of a class folder
    shutil.copy(sample, checkpoints / f"0-checkpoint{suffix}")
    shutil.copytree(classes[-1], root / "__MACOSX" / classes[-1].name)
    for name in (".DS_Store", "Thumbs.db", "desktop.ini"):
        (root / name).write_bytes(b"\0\0\0\1Bud1")
    for folder in classes:
        shutil.copy(sample, folder / f".hidden{suffix}")  # a hidden file in a class
        (folder / ".git").mkdir()  # a hidden sub-folder in a class
        shutil.copy(sample, folder / ".git" / f"blob{suffix}")
        (folder / "Thumbs.db").write_bytes(b"\0")
        (folder / "nested").mkdir(exist_ok=True)
        shutil.copy(sample, folder / "nested" / f"._{sample.name}")  # AppleDouble, one down
    return 5 + 4 * len(classes)


def _visible(root: Path, suffix: str) -> list[Path]:
    return sorted(p for p in root.rglob(f"*{suffix}") if not any(is_hidden(s) for s in p.parts))


@pytest.mark.parametrize(
    ("name", "hidden"),
    [
        (".ipynb_checkpoints", True),
        (".DS_Store", True),
        (".git", True),
        ("._0.png", True),
        ("__MACOSX", True),
        ("Thumbs.db", True),
        ("thumbs.db", True),
        ("desktop.ini", True),
        ("Desktop.ini", True),
        ("cats", False),
        ("0.png", False),
        ("__init__.txt", False),
        ("Thumbs", False),
        ("notes.ipynb_checkpoints", False),
    ],
)
def test_what_is_hidden(name, hidden):
    assert is_hidden(name) is hidden


def test_files_are_listed_in_walk_order_and_hidden_ones_counted(tmp_path):
    for name in ("b.png", "a.PNG", "z.png", "sub/c.jpg", "a_dir/d.png", "a_dir/e.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    listing = FolderListing()
    files = listing.files(tmp_path, (".png", ".jpg"))
    walk = ["a.PNG", "b.png", "z.png", "a_dir/d.png", "sub/c.jpg"]
    assert [str(f.relative_to(tmp_path)) for f in files] == walk
    by_path = ["a.PNG", "a_dir/d.png", "b.png", "sub/c.jpg", "z.png"]  # as predict sorts them
    assert [str(f.relative_to(tmp_path)) for f in sorted(files)] == by_path
    assert listing.sub_folders(tmp_path) == ["a_dir", "sub"] and listing.hidden == 0
    hidden = _litter(tmp_path, ".png")
    assert listing.files(tmp_path, (".png", ".jpg")) == files
    assert listing.sub_folders(tmp_path) == ["a_dir", "sub"]
    # The walk met every hidden entry once; sub_folders met the top-level five again.
    assert listing.hidden == hidden + 5


def test_image_folder_reads_only_the_visible_classes_and_images(tmp_path, caplog):
    loader = get_source("image_folder").loader
    root = _image_folder(tmp_path / "train", {"cats": 4, "dogs": 3})
    test = _image_folder(tmp_path / "test", {"dogs": 2})
    clean = loader(seed=0, path=str(root), image_size=8, test_path=str(test))
    hidden = _litter(root, ".png")
    test_hidden = _litter(test, ".png")
    with caplog.at_level(logging.INFO, logger="nnzoo.data"):
        data = loader(seed=0, path=str(root), image_size=8, test_path=str(test))
    assert data.spec.class_names == ["cats", "dogs"] and data.spec.num_classes == 2
    assert np.bincount(data.y).tolist() == [4, 3]
    np.testing.assert_array_equal(data.y, clean.y)
    # The same files, in the same order (image_folder lists them; the pipeline decodes them).
    assert data.x.paths.tolist() == clean.x.paths.tolist()
    np.testing.assert_array_equal(data.x.read(), clean.x.read())
    np.testing.assert_array_equal(data.test[1], [1, 1])  # dogs, of the training classes
    assert data.test[0].paths.tolist() == clean.test[0].paths.tolist()
    np.testing.assert_array_equal(data.test[0].read(), clean.test[0].read())
    assert f"image_folder: skipped {hidden} hidden entries" in caplog.text
    assert f"image_folder: skipped {test_hidden} hidden entries" in caplog.text
    assert (hidden, test_hidden) == (13, 9)


def test_text_folder_reads_only_the_visible_classes_and_files(tmp_path, caplog):
    loader = get_source("text_folder").loader
    root = write_text_folder(tmp_path / "texts", per_class=4)
    clean = loader(seed=0, path=str(root))
    hidden = _litter(root, ".txt")
    with caplog.at_level(logging.INFO, logger="nnzoo.data"):
        data = loader(seed=0, path=str(root))
    assert data.spec.class_names == sorted(TOPICS)
    assert np.bincount(data.y).tolist() == [4, 4, 4]
    assert list(data.x) == list(clean.x)  # the same texts, in the same order
    assert f"text_folder: skipped {hidden} hidden entries" in caplog.text
    # class_names must name the visible sub-folders only: no hidden one is asked for.
    order = ["sports", "cooking", "space"]
    data = loader(seed=0, path=str(root), class_names=order)
    assert data.spec.class_names == order and np.bincount(data.y).tolist() == [4, 4, 4]


# --------------------------------------------------------------------------- predict


def _train_and_predict(tmp_path: Path, config: str, root: Path, *sets: str):
    """Train ``config`` for one epoch on the folder ``root``, then predict on that folder."""
    sets = (f"data.params.path={root}", "train.epochs=1", *sets)
    config = load_config(ROOT / "configs" / config, list(sets))
    run = nnzoo.train(config, runs_dir=tmp_path / "runs", quiet=True)
    return nnzoo.predict(run.run_dir, root)


@pytest.mark.slow
def test_a_run_on_a_littered_image_folder_has_its_classes_and_predicts_its_images(tmp_path):
    root = _image_folder(tmp_path / "images", {"cats": 6, "dogs": 6})
    _litter(root, ".png")
    sets = ("data.source=image_folder", "data.augment={}", "data.validation_split=0.2")
    rows = _train_and_predict(tmp_path, "cnn_cifar.yaml", root, *sets)
    assert len(rows) == 12
    assert [Path(r["input"]) for r in rows] == _visible(root, ".png")
    assert {tuple(r["probabilities"]) for r in rows} == {("cats", "dogs")}


@pytest.mark.slow
def test_a_run_on_a_littered_text_folder_predicts_its_files_with_their_labels(tmp_path):
    root = write_text_folder(tmp_path / "texts", per_class=10)
    _litter(root, ".txt")
    small = ("data.params.sequence_length=16", "model.params.hidden_units=[8]")
    predictions = _train_and_predict(tmp_path, "text_folder_lstm.yaml", root, *small)
    assert len(predictions) == 30
    assert [Path(r["input"]) for r in predictions] == _visible(root, ".txt")
    assert {tuple(r["probabilities"]) for r in predictions} == {tuple(sorted(TOPICS))}
    # Every file lies in a class sub-folder (no hidden one), so all 30 are labelled and scored.
    assert [r["label"] for r in predictions] == [Path(r["input"]).parent.name for r in predictions]
    assert predictions.accuracy is not None
