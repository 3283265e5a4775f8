"""The run directory: creating it, its status, and the files in it.

``runs/<name>/<run-id>/``: ``config.yaml`` (resolved), ``data_spec.json``, ``status.json``
(state and ``schema_version``), ``history.csv``, ``metrics.json``, ``model.keras`` (the best
model by ``train.monitor``), ``curves.png``, ``checkpoints/`` (for ``--resume``),
``tensorboard/`` and any data artifacts (a tokenizer). Every JSON file is written atomically.
"""

from __future__ import annotations

import csv
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from nnzoo.config import Config, config_from_dict
from nnzoo.errors import RunDirError

#: The layout of a run directory this nnzoo writes and reads. A run without one (written
#: before it was recorded) has the same layout as version 1.
SCHEMA_VERSION = 1

CONFIG_FILE = "config.yaml"
SPEC_FILE = "data_spec.json"
STATUS_FILE = "status.json"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
MODEL_FILE = "model.keras"
CHECKPOINTS = "checkpoints"


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` so that a reader (or a kill -9) never sees half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically (see :func:`write_text_atomic`)."""
    write_text_atomic(path, json.dumps(data, indent=2))


def new_run_dir(runs_dir: str | Path, name: str) -> Path:
    """A fresh ``runs/<name>/<run-id>``; an existing run is never overwritten."""
    base = Path(runs_dir) / name
    base.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for i in range(1000):
        path = base / (stamp if i == 0 else f"{stamp}-{i}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RunDirError(f"{base}: could not create a new run directory")


def write_status(run_dir: Path, state: str, **extra: Any) -> None:
    """Record the run's state (``running``, ``finished``, ``failed`` with a ``reason``)."""
    data = {
        "state": state,
        "schema_version": SCHEMA_VERSION,
        "updated": datetime.now().isoformat(timespec="seconds"),
        **extra,
    }
    write_json_atomic(Path(run_dir) / STATUS_FILE, data)


def read_status(run_dir: str | Path) -> dict[str, Any]:
    """The run's ``status.json`` (``{}`` when it has none); refuses a newer layout."""
    path = Path(run_dir) / STATUS_FILE
    status = json.loads(path.read_text()) if path.exists() else {}
    version = int(status.get("schema_version", 1))
    if version > SCHEMA_VERSION:
        raise RunDirError(
            f"{run_dir}: written by a newer nnzoo (run schema {version}; this one reads up to "
            f"{SCHEMA_VERSION}). Fix: upgrade nnzoo (pip install -U nnzoo)"
        )
    return status


def check_run_dir(run_dir: str | Path) -> Path:
    """``run_dir`` as a path, after checking it holds a run nnzoo can read."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).exists():
        raise RunDirError(
            f"{run_dir}: not a run directory (no {CONFIG_FILE}). Fix: give a directory under "
            "runs/<name>/"
        )
    read_status(run_dir)
    return run_dir


def load_run_config(run_dir: str | Path) -> Config:
    """The resolved config a run wrote (its provenance is the run's ``config.yaml``)."""
    import yaml

    path = Path(run_dir) / CONFIG_FILE
    return config_from_dict(yaml.safe_load(path.read_text()), label=str(path))


def read_history(run_dir: Path) -> list[dict[str, Any]]:
    """The rows of ``history.csv``: ``epoch`` as an int, every other column as a float."""
    path = Path(run_dir) / HISTORY_FILE
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return [
            {k: (float(v) if k != "epoch" else int(v)) for k, v in row.items() if v != ""}
            for row in csv.DictReader(f)
        ]


def truncate_history(run_dir: Path, epochs: int) -> None:
    """Keep the rows of the first ``epochs`` epochs (a killed run may have written more)."""
    path = Path(run_dir) / HISTORY_FILE
    if not path.exists():
        return
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    header, body = rows[0], [r for r in rows[1:] if r and int(r[0]) < epochs]
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(body)
    os.replace(tmp, path)
