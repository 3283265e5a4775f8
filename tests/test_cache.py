"""The Keras cache folders: the homes Keras uses, and their sub-folder per kind of file."""

from __future__ import annotations

from pathlib import Path

from nnzoo._cache import keras_cache_dirs, keras_homes


def test_keras_home_alone_when_set(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert keras_homes() == [tmp_path]
    assert keras_cache_dirs("models") == [tmp_path / "models"]
    assert keras_cache_dirs("datasets/fashion-mnist") == [tmp_path / "datasets" / "fashion-mnist"]


def test_home_then_tmp_when_unset(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert keras_homes() == [tmp_path / ".keras", Path("/tmp/.keras")]
    assert keras_cache_dirs("datasets") == [
        tmp_path / ".keras/datasets",
        Path("/tmp/.keras/datasets"),
    ]
