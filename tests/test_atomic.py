"""nnzoo._atomic: a finished file (or folder) replaces the old one whole and is on the disk; a
failed write leaves the old one and no temporary file."""

from __future__ import annotations

import ast
import errno
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from nnzoo import _atomic


def _inode(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


@pytest.fixture
def fsyncs(monkeypatch):
    """Each ``os.fsync`` as (device, inode, is a folder), in call order."""
    calls: list[tuple[int, int, bool]] = []
    real = os.fsync

    def record(fd):
        st = os.fstat(fd)
        calls.append((st.st_dev, st.st_ino, stat.S_ISDIR(st.st_mode)))
        real(fd)

    monkeypatch.setattr(os, "fsync", record)
    return calls


def test_write_text_and_json_leave_exactly_the_new_content(tmp_path):
    path = tmp_path / "status.json"
    path.write_text("old")
    _atomic.write_json(path, {"state": "finished", "ünïcode": [1, 2]})
    assert path.read_text(encoding="utf-8") == json.dumps(
        {"state": "finished", "ünïcode": [1, 2]}, indent=2
    )
    _atomic.write_text(tmp_path / "config.yaml", "name: é\n")
    assert (tmp_path / "config.yaml").read_bytes() == "name: é\n".encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "status.json"]


def test_a_writer_that_fails_midway_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss\n1,0.5\n")
    with pytest.raises(OSError, match="No space left"), _atomic.atomic_open(path, newline="") as f:
        f.write("epoch,loss\n1,0.5\n2,")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert path.read_text() == "epoch,loss\n1,0.5\n"
    with pytest.raises(RuntimeError, match="save failed"), _atomic.atomic_path(path) as tmp:
        tmp.write_text("torn")
        raise RuntimeError("save failed")
    assert path.read_text() == "epoch,loss\n1,0.5\n"
    assert [p.name for p in tmp_path.iterdir()] == ["history.csv"]


def test_a_failed_first_write_leaves_no_file_at_all(tmp_path):
    path = tmp_path / "out.jsonl"
    with pytest.raises(ValueError, match="boom"), _atomic.atomic_open(path, encoding="utf-8") as f:
        f.write('{"prompt": ')
        raise ValueError("boom")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("how", ["write_text", "atomic_path", "replace_file"])
def test_the_file_is_flushed_before_the_rename_and_its_folder_after(
    tmp_path, fsyncs, monkeypatch, how
):
    """A power cut keeps the new file only when its data and the rename are both on the disk:
    ``os.fsync`` on the file (before it is renamed) and on the folder (after)."""
    path = tmp_path / "model.keras"
    path.write_text("old")
    at_rename: list[int] = []
    real_replace = os.replace

    def replace(src, dst):
        at_rename.append(len(fsyncs))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    if how == "write_text":
        _atomic.write_text(path, "new")
    elif how == "atomic_path":
        with _atomic.atomic_path(path) as tmp:
            tmp.write_text("new")
    else:
        part = tmp_path / "model.keras.part"
        part.write_text("new")
        _atomic.replace_file(part, path)
    assert path.read_text() == "new"
    assert fsyncs == [(*_inode(path), False), (*_inode(tmp_path), True)]
    assert at_rename == [1]  # the file's fsync came before the rename, the folder's after
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_a_folder_that_cannot_be_flushed_is_tolerated(tmp_path, monkeypatch):
    """Some platforms and file systems refuse to fsync a folder (EINVAL); the write stands."""
    real = os.fsync

    def refuse_folders(fd):
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "Invalid argument")
        real(fd)

    monkeypatch.setattr(os, "fsync", refuse_folders)
    _atomic.write_text(tmp_path / "metrics.json", "{}")
    assert (tmp_path / "metrics.json").read_text() == "{}"


def test_temporary_names_are_hidden_unique_and_keep_the_suffix(tmp_path):
    """Keras's savers check the suffix (``.weights.h5``); two writes never share a name."""
    first = _atomic.temporary_path(tmp_path / "best.weights.h5")
    second = _atomic.temporary_path(tmp_path / "best.weights.h5")
    assert first.parent == tmp_path
    assert first.name.startswith(f"{_atomic.TEMPORARY_PREFIX}{os.getpid()}.")
    assert first.name.endswith("-best.weights.h5")
    assert first != second


def test_a_folder_is_replaced_whole_and_flushed(tmp_path, fsyncs):
    target = tmp_path / "export" / "onnx"
    target.mkdir(parents=True)
    (target / "old.onnx").write_text("old")
    with _atomic.atomic_dir(target) as work:
        assert work.parent == target.parent and work.name.startswith(".tmp-")
        (work / "model.onnx").write_text("new")
        (work / "assets").mkdir()
        (work / "assets" / "vocab.txt").write_text("a\nb\n")
    assert sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "export").rglob("*")) == [
        "export/onnx",
        "export/onnx/assets",
        "export/onnx/assets/vocab.txt",
        "export/onnx/model.onnx",
    ]
    assert (target / "model.onnx").read_text() == "new"
    flushed = {(dev, ino) for dev, ino, _ in fsyncs}
    for path in (target / "model.onnx", target / "assets" / "vocab.txt", target / "assets"):
        assert _inode(path) in flushed, path
    # The parent, holding the rename, is flushed last.
    assert fsyncs[-1] == (*_inode(target.parent), True)


def test_a_failed_folder_leaves_the_old_folder_and_no_temporary(tmp_path):
    target = tmp_path / "saved_model"
    target.mkdir()
    (target / "saved_model.pb").write_text("old")
    with pytest.raises(RuntimeError, match="converter failed"), _atomic.atomic_dir(target) as work:
        (work / "saved_model.pb").write_text("half")
        raise RuntimeError("converter failed")
    assert [p.name for p in tmp_path.iterdir()] == ["saved_model"]
    assert [p.name for p in target.iterdir()] == ["saved_model.pb"]
    assert (target / "saved_model.pb").read_text() == "old"


def test_it_imports_only_the_standard_library():
    """The lowest layer (the Keras cache) uses it: no nnzoo module, no third-party package."""
    tree = ast.parse(Path(_atomic.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported - {"__future__"} <= set(sys.stdlib_module_names), imported
    assert "nnzoo" not in imported


def test_remove_temporaries_deletes_what_killed_writers_left_and_nothing_else(tmp_path):
    """A resume holds its run's lock, so a ``.tmp-*`` there is a torn file of a dead process."""
    (tmp_path / ".tmp-4242.0-last-2.keras").write_bytes(b"torn")
    (tmp_path / ".tmp-4242.1-onnx").mkdir()
    (tmp_path / ".tmp-4242.1-onnx" / "model.onnx").write_bytes(b"half")
    (tmp_path / "last-1.keras").write_bytes(b"good")
    (tmp_path / ".lock").write_text("4243")
    _atomic.remove_temporaries(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "last-1.keras"]
