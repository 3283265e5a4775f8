"""The split a run recorded, and the fingerprint of the data it was drawn from.

When training starts, a run writes ``split.npz`` (atomically, one file): which examples of its
data source each split holds (uint32 arrays ``train``, ``validation``, ``test``; see
:attr:`nnzoo.data.Splits.indices`) and, as JSON text in the array ``fingerprint``, what that
data was (:func:`nnzoo.data.data_fingerprint`: file sizes and a content hash, or a source's
name and parameters). ``evaluate`` and ``--resume`` take exactly the recorded examples again,
after checking with :func:`check_data` that the data is the same (a copy elsewhere is): the
same positions in changed data (a re-sorted CSV) would be other examples, some of them trained
on. A run written before splits were recorded has no ``split.npz``; it draws its split again,
as it did.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnzoo import _atomic
from nnzoo.config import Config
from nnzoo.data import SPLIT_NAMES, Splits, data_fingerprint, fingerprint_changes
from nnzoo.errors import ConfigError, RunDirError

__all__ = ["SPLIT_FILE", "RecordedSplit", "check_data", "read_split", "record_split"]

SPLIT_FILE = "split.npz"
#: The array of ``split.npz`` that holds the data's fingerprint, as JSON text.
FINGERPRINT_KEY = "fingerprint"


@dataclass(frozen=True)
class RecordedSplit:
    """What a run recorded: the examples of each split (``indices``, uint32 arrays by split
    name) and the fingerprint of the data they index."""

    indices: dict[str, np.ndarray]
    fingerprint: dict[str, Any]


def record_split(run_dir: Path, splits: Splits, config: Config) -> None:
    """Write ``split.npz``: the indices of ``splits`` and the fingerprint of their data, that
    of the resolved ``config``. The fingerprint is kept on ``splits``: the trials of a study
    share them, and hash the data files once."""
    if splits.indices is None:
        return
    if splits.fingerprint is None:
        splits.fingerprint = data_fingerprint(config.data.source, config.data.params)
    arrays = {name: splits.indices[name].astype("uint32") for name in SPLIT_NAMES}
    arrays[FINGERPRINT_KEY] = np.asarray(json.dumps(splits.fingerprint, sort_keys=True))
    with _atomic.atomic_open(Path(run_dir) / SPLIT_FILE, "wb") as f:
        np.savez(f, **arrays)


def read_split(run_dir: str | Path) -> RecordedSplit | None:
    """The split ``run_dir`` recorded, or ``None`` for a run written before splits were
    recorded (no ``split.npz``); a damaged file is a :class:`RunDirError`."""
    path = Path(run_dir) / SPLIT_FILE
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            indices = {name: archive[name] for name in SPLIT_NAMES}
            fingerprint = json.loads(str(archive[FINGERPRINT_KEY]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        fingerprint = None
    if not isinstance(fingerprint, dict) or any(
        v.ndim != 1 or v.dtype != np.uint32 for v in indices.values()
    ):
        raise RunDirError(
            f"{path}: damaged, so the run's split cannot be read. Fix: copy the whole run "
            "directory again"
        )
    return RecordedSplit(indices, fingerprint)


def check_data(run_dir: str | Path, config: Config, recorded: RecordedSplit, *, fix: str) -> None:
    """Refuse, in one line naming the data and what changed, data that is not the data
    ``recorded`` was drawn from (``config``'s ``data.source`` and ``data.params``); ``fix``
    says what to do instead."""
    now = data_fingerprint(config.data.source, config.data.params)
    changes = fingerprint_changes(recorded.fingerprint, now)
    if not changes:
        return
    what = config.data.params.get("path") or f"data source '{config.data.source}'"
    raise ConfigError(
        f"{what} changed since this run was trained on it ({'; '.join(changes)}): its "
        "recorded split would now pick other examples, some of them trained on",
        file=str(Path(run_dir) / "config.yaml"),
        key="data.params.path" if config.data.params.get("path") else "data.source",
        fix=fix,
    )
