"""The data fingerprint (issue 25, item 3): what the data a run was trained on was, so that a
changed file is noticed and a copy is not.

A file is its size and the SHA-256 of its bytes; a folder source is the files it reads (paths
inside the folder, sizes) and one SHA-256 of their bytes; no times and no folder location, so a
copy elsewhere has the original's fingerprint. A source without files is its name and params.
"""

from __future__ import annotations

import hashlib
import os
import shutil

import numpy as np
from text_fixtures import write_text_folder

from nnzoo.data import data_fingerprint, fingerprint_changes


def _csv(path, rows=30):
    rng = np.random.default_rng(0)
    lines = [f"{a:.4f},{b:.4f},{int(a > 0)}" for a, b in rng.normal(size=(rows, 2))]
    path.write_text("a,b,label\n" + "\n".join(lines) + "\n")
    return path


def test_a_file_is_its_size_and_the_sha256_of_its_bytes(tmp_path):
    path = _csv(tmp_path / "t.csv")
    data = path.read_bytes()
    assert data_fingerprint("csv", {"path": str(path), "label_column": -1}) == {
        "version": 1,
        "source": "csv",
        "files": {
            "path": {
                "name": "t.csv",
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        },
    }


def test_a_copy_elsewhere_with_other_times_and_names_is_the_same_data(tmp_path):
    table = _csv(tmp_path / "t.csv")
    (tmp_path / "elsewhere").mkdir()
    copy = shutil.copy(table, tmp_path / "elsewhere" / "renamed.csv")
    os.utime(copy, (1_000_000, 1_000_000))
    assert (
        fingerprint_changes(
            data_fingerprint("csv", {"path": str(table)}), data_fingerprint("csv", {"path": copy})
        )
        == []
    )
    folder = write_text_folder(tmp_path / "texts", per_class=3)
    moved = shutil.copytree(folder, tmp_path / "elsewhere" / "other_name")
    for file in moved.rglob("*.txt"):
        os.utime(file, (2_000_000, 2_000_000))
    before = data_fingerprint("text_folder", {"path": str(folder)})
    assert data_fingerprint("text_folder", {"path": str(moved)})["files"] == {
        "path": {**before["files"]["path"], "name": "other_name"}
    }
    assert fingerprint_changes(before, data_fingerprint("text_folder", {"path": moved})) == []


def test_re_sorted_rows_are_the_same_size_and_other_content(tmp_path):
    table = _csv(tmp_path / "t.csv")
    before = data_fingerprint("csv", {"path": str(table)})
    header, *rows = table.read_text().splitlines()
    table.write_text("\n".join([header, *sorted(rows)]) + "\n")
    now = data_fingerprint("csv", {"path": str(table)})
    assert fingerprint_changes(before, now) == [
        "the same size, other content: re-ordered or edited"
    ]
    table.write_text(table.read_text() + "0.1,0.2,1\n")
    assert fingerprint_changes(before, data_fingerprint("csv", {"path": str(table)})) == [
        f"{now['files']['path']['size'] + 10} bytes, not {now['files']['path']['size']}"
    ]


def test_a_folder_says_which_files_were_added_removed_or_resized(tmp_path):
    folder = write_text_folder(tmp_path / "texts", per_class=5)
    before = data_fingerprint("text_folder", {"path": str(folder)})
    (folder / "space" / "new.txt").write_text("A new text about a rocket.")
    (folder / "sports" / "01.txt").unlink()
    with open(folder / "cooking" / "02.txt", "a") as f:
        f.write(" More.")
    assert fingerprint_changes(before, data_fingerprint("text_folder", {"path": folder})) == [
        "1 file added: space/new.txt",
        "1 file removed: sports/01.txt",
        "1 file of another size: cooking/02.txt",
    ]
    edited = write_text_folder(tmp_path / "same", per_class=5)
    text = (edited / "space" / "03.txt").read_text()
    (edited / "space" / "03.txt").write_text(text[::-1])
    assert fingerprint_changes(
        data_fingerprint("text_folder", {"path": str(write_text_folder(tmp_path / "a", 5))}),
        data_fingerprint("text_folder", {"path": str(edited)}),
    ) == ["other content in files of the same names and sizes"]


def test_only_the_files_the_source_reads_count(tmp_path):
    from PIL import Image

    folder = tmp_path / "images"
    for name in ("cats", "dogs"):
        (folder / name).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (8, 8), (60 * i, 0, 0)).save(folder / name / f"{i}.png")
    before = data_fingerprint("image_folder", {"path": str(folder)})
    assert [e[0] for e in before["files"]["path"]["entries"]] == [
        "cats/0.png",
        "cats/1.png",
        "dogs/0.png",
        "dogs/1.png",
    ]
    (folder / "notes.txt").write_text("not an image")
    (folder / "cats" / "labels.csv").write_text("not an image either")
    Image.new("RGB", (8, 8)).save(folder / "loose.png")  # not in a class sub-folder
    assert data_fingerprint("image_folder", {"path": str(folder)}) == before
    Image.new("RGB", (8, 8)).save(folder / "dogs" / "2.png")
    now = data_fingerprint("image_folder", {"path": str(folder)})
    assert fingerprint_changes(before, now) == ["1 file added: dogs/2.png"]


def test_a_source_without_files_is_its_name_and_params():
    before = data_fingerprint("stdlib_topics", {"num_examples": 300, "tokenizer": "word"})
    assert before == {
        "version": 1,
        "source": "stdlib_topics",
        "params": {"num_examples": 300, "tokenizer": "word"},
    }
    now = data_fingerprint("stdlib_topics", {"num_examples": 500, "tokenizer": "word"})
    assert fingerprint_changes(before, now) == ["data.params.num_examples is 500, not 300"]
    assert fingerprint_changes(before, data_fingerprint("digits", {})) == [
        "data.source is 'digits', not 'stdlib_topics'"
    ]
