"""A temporary Keras cache for the ``keras.datasets`` tests.

``keras_home`` points ``KERAS_HOME`` at an empty folder and makes any download fail, so
nothing here ever reaches the network (the suite also runs with ``NNZOO_OFFLINE=1``). ``put``
writes a fixture (``fixtures.py``) where Keras caches the real file and swaps the registered
sha256 for the fixture's, so nnzoo's cache look-up and hash check (as ``get_file``'s) pass.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from fixtures import sha256

from nnzoo.data import keras_datasets


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty Keras home (``KERAS_HOME``); any download attempt raises."""
    home = tmp_path / "keras_home"
    (home / "datasets").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))

    def no_download(url, *args, **kwargs):
        raise OSError(f"no network in tests: {url}")

    import keras.src.utils.file_utils as file_utils

    monkeypatch.setattr(file_utils, "urlretrieve", no_download)
    return home


@pytest.fixture
def put(keras_home, monkeypatch):
    """``put(name, writer, fname=None)``: write a fixture into the cache as Keras names it,
    with the registered hash replaced by the fixture's own."""

    def put(name: str, writer, fname: str | None = None, **kwargs) -> Path:
        dataset = keras_datasets.DATASETS[name]
        (remote,) = dataset.files
        path = keras_home / remote.cache_subdir / (fname or remote.fname)
        path.parent.mkdir(parents=True, exist_ok=True)
        writer(path, **kwargs)
        fixed = dataclasses.replace(remote, file_hash=sha256(path))
        monkeypatch.setitem(
            keras_datasets.DATASETS, name, dataclasses.replace(dataset, files=(fixed,))
        )
        return path

    return put
