"""The run directory: creating it, its status, and the files in it.

``runs/<name>/<run-id>/``: ``config.yaml`` (resolved), ``data_spec.json``, ``status.json``
(state and ``schema_version``), ``history.csv`` (epochs from 1), ``metrics.json``,
``model.keras`` (the best model by ``train.monitor``, without optimizer state), ``curves.png``,
``checkpoints/`` (the resume state and the config fingerprint a resume checks; removed, with
the folder, when the run finishes), ``split.npz`` (the recorded split and data fingerprint:
:mod:`nnzoo.run.split`), ``tensorboard/``, any data artifacts (a tokenizer) and ``.lock``
(the file :func:`locked` flocks, naming the last holder's pid; it stays, as a lock file must:
removing it would let two processes lock two different files of that name). Every JSON file
is written atomically.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, get_origin

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from nnzoo import _atomic
from nnzoo.config import Config
from nnzoo.config.loader import SET_ORIGIN, parse_set
from nnzoo.errors import ConfigError, RunDirError
from nnzoo.run.bind import check_downloads, load_config

#: The layout of a run directory this nnzoo writes and reads. A run without one was written
#: before it was recorded: version 1. Version 2: feature scaling lives inside the model.
SCHEMA_VERSION = 2
#: Sources whose features a version-1 run scaled outside its model (standardised, or digits
#: divided by 16): such a model misreads the raw features nnzoo now feeds it.
SCALED_OUTSIDE_IN_V1 = ("csv", "iris", "wine", "breast_cancer", "digits")

CONFIG_FILE = "config.yaml"
SPEC_FILE = "data_spec.json"
STATUS_FILE = "status.json"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
MODEL_FILE = "model.keras"
CHECKPOINTS = "checkpoints"
LOCK_FILE = ".lock"
#: What cannot change when an interrupted run is resumed, kept when it starts.
FINGERPRINT_FILE = f"{CHECKPOINTS}/fingerprint.json"
#: Keys of the resolved config that may change before ``--resume``: the number of epochs (the
#: learning-rate schedule keeps the length it was compiled with). ``tune`` does not apply.
RESUMABLE_KEYS = ("train.epochs", "train.checkpoint_every_seconds")

log = logging.getLogger(__name__)


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
    path = Path(run_dir) / STATUS_FILE
    try:
        _atomic.write_json(path, data)
    except OSError as err:
        if err.errno not in _atomic.FULL_DISK_ERRNOS or not path.is_file():
            raise
        # A full disk has no room for a new file, but the old one's blocks are its own:
        # rewritten in place, the run at least says why it stopped (a few hundred bytes).
        with path.open("r+", encoding="utf-8") as f:
            f.write(json.dumps(data, indent=2))
            f.truncate()
            f.flush()
            os.fsync(f.fileno())


def require_file(run_dir: str | Path, name: str) -> Path:
    """The path of the run's file ``name``, or one line saying the run directory lacks it."""
    path = Path(run_dir) / name
    if not path.is_file():
        raise RunDirError(
            f"{path}: missing, so the run directory is incomplete. Fix: copy the whole run "
            "directory again"
        )
    return path


def read_json(run_dir: str | Path, name: str, *, required: bool = True) -> Any:
    """A JSON file of the run (``None`` when it is absent and not ``required``), or one line
    that says which file is missing or torn."""
    if not required and not (Path(run_dir) / name).is_file():
        return None
    path = require_file(run_dir, name)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        where = f" (line {err.lineno})" if isinstance(err, json.JSONDecodeError) else ""
        raise RunDirError(
            f"{path}: not valid JSON{where}, so the run directory is damaged. Fix: copy the "
            "whole run directory again"
        ) from None


def read_status(run_dir: str | Path) -> dict[str, Any]:
    """The run's ``status.json`` (``{}`` when it has none); refuses a newer layout."""
    status = read_json(run_dir, STATUS_FILE, required=False) or {}
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


def load_run_config(run_dir: str | Path, overrides: Iterable[str] = ()) -> Config:
    """The resolved config a run wrote (its provenance is the run's ``config.yaml``), after
    checking that this nnzoo reads the run's layout for that config.

    ``overrides``: ``--set``-style ``"train.epochs=8"`` strings of :data:`RESUMABLE_KEYS`
    only (what a resume may change); any other key is refused, naming it.
    """
    for item in overrides:
        key, _ = parse_set(item)
        if key not in RESUMABLE_KEYS:
            raise ConfigError(
                "cannot change when resuming: a resume continues the same run and may change "
                "only " + ", ".join(RESUMABLE_KEYS),
                file=SET_ORIGIN,
                key=key,
                fix=f"drop it, or start a new run from this one with --set "
                f"model.init_from={run_dir}",
            )
    # Without checking its data files: a copied run predicts without its training data.
    config = load_config(Path(run_dir) / CONFIG_FILE, overrides, check_data_files=False)
    version = int(read_status(run_dir).get("schema_version", 1))
    scaled = [s for s in (config.data.source, config.data.validation_source) if s]
    if version < 2 and set(scaled) & set(SCALED_OUTSIDE_IN_V1):
        raise RunDirError(
            f"{run_dir}: trained by an older nnzoo (run schema {version}) that scaled the "
            f"{scaled[0]} features outside the model; this nnzoo feeds raw features, which "
            f"that model would misread. Fix: train it again (nnzoo train {Path(run_dir)}/"
            f"{CONFIG_FILE})"
        )
    return config


def check_resume_downloads(run_dir: str | Path) -> None:
    """Check that resuming ``run_dir`` finds what its config needs from the Keras cache, as
    :func:`~nnzoo.run.bind.check_downloads` checks a new run's, before anything heavy is
    imported. A finished run resumes to nothing, so it needs nothing."""
    if read_status(check_run_dir(run_dir)).get("state") != "finished":
        check_downloads(load_run_config(run_dir))


def epochs_completed(run_dir: str | Path) -> int:
    """The epochs an interrupted run completed (saved in its resume state): where a resume
    starts. 0 when it has no resume state (killed before its first save)."""
    path = Path(run_dir) / CHECKPOINTS / "state.json"
    if not path.is_file():
        return 0
    try:
        return int(json.loads(path.read_text(encoding="utf-8")).get("epochs_completed", 0))
    except (ValueError, AttributeError, TypeError):
        return 0


def read_history(run_dir: Path) -> list[dict[str, Any]]:
    """The rows of ``history.csv``: ``epoch`` as an int counted from 1, every other column as
    a float. (Runs written before epochs were counted from 1 start at 0: they are shifted.)"""
    path = Path(run_dir) / HISTORY_FILE
    if not path.exists():
        return []
    with path.open(newline="") as f:
        rows = [
            {k: (float(v) if k != "epoch" else int(v)) for k, v in row.items() if v != ""}
            for row in csv.DictReader(f)
        ]
    if rows and rows[0].get("epoch") == 0:
        for row in rows:
            row["epoch"] += 1
    return rows


def truncate_history(run_dir: Path, epochs: int, last_row: dict[str, Any] | None = None) -> None:
    """Make ``history.csv`` hold exactly the rows of the first ``epochs`` epochs.

    Rows are written after the resume state of their epoch, so a killed run may have left a
    row (or half of one) of an epoch after its last state, or may have saved the state of epoch
    ``epochs`` without its row: the state's ``last_row`` is then written back. Epochs are
    counted from 1 (a history that counted from 0, as runs before did, is renumbered).
    """
    path = Path(run_dir) / HISTORY_FILE
    rows: list[list[str]] = []
    if path.exists():
        with path.open(newline="") as f:
            rows = list(csv.reader(f))
    # Keras's CSVLogger writes "epoch", then the logged values sorted by name.
    header = ["epoch", *sorted(last_row)] if last_row is not None else rows[0] if rows else []
    if not header:
        return
    body = [r for r in rows[1:] if len(r) == len(header) and r[0].isdigit()]
    if body and body[0][0] == "0":
        body = [[str(int(r[0]) + 1), *r[1:]] for r in body]
    body = [r for r in body if int(r[0]) <= epochs]
    if last_row is not None and (not body or int(body[-1][0]) < epochs):
        values = {"epoch": epochs, **last_row}
        body.append([str(values.get(k, "")) for k in header])
    with _atomic.atomic_open(path, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(body)


# --------------------------------------------------------------------------- lock


@contextlib.contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``run_dir`` while a process writes into it.

    An advisory ``flock`` on ``.lock`` (which also names the holder's pid): the kernel releases
    it when the process dies, even by ``kill -9``, so a stale lock never blocks a resume.
    """
    import fcntl

    path = Path(run_dir) / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            raise RunDirError(
                f"{run_dir}: in use by another nnzoo process (pid {holder}). Fix: wait for it "
                f"to finish, or stop it (kill {holder}) and resume"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)  # releases the lock


def lock_holder(run_dir: str | Path) -> int | None:
    """The pid of the process that holds ``run_dir``'s lock (training it), or ``None`` when
    none does. Reads only: the run may be on a read-only copy."""
    import fcntl

    path = Path(run_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            # Shared and at once released: a trainer taking the lock in the same instant
            # would be told the run is in use, as it is.
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.read(fd, 64).decode(errors="replace").strip()
            return int(text) if text.isdigit() else -1
        return None
    finally:
        os.close(fd)


def why_no_model(run_dir: str | Path) -> str:
    """One line saying why the run ``run_dir`` (which has a ``config.yaml``) has no
    ``model.keras``, and what to do: it is still training (by which process, at which
    epoch), it stopped before finishing, or it finished and the file was deleted since."""
    run_dir = Path(run_dir)
    state = read_status(run_dir)
    epochs: Any = "?"
    with contextlib.suppress(Exception):  # a damaged config must not hide the answer
        epochs = load_config(run_dir / CONFIG_FILE, check_catalog=False).train.epochs
    done = len(read_history(run_dir))
    holder = lock_holder(run_dir)
    if holder is not None:
        who = f"pid {holder}" if holder > 0 else "another process"
        epoch = done + 1 if not isinstance(epochs, int) else min(done + 1, epochs)
        return (
            f"{run_dir}: in use by a training process ({who}, epoch {epoch} of {epochs}); "
            f"its {MODEL_FILE} is written when training ends. Fix: wait for it to finish, or "
            f"use a finished copy of the run"
        )
    what = state.get("state", "unknown")
    if what == "finished":
        metrics = read_json(run_dir, METRICS_FILE, required=False) or {}
        if metrics.get("test") == {}:  # a lean tuning trial: only the best trial keeps one
            return (
                f"{run_dir}: a tuning trial's run, which keeps no {MODEL_FILE} (only the best "
                f"trial's does). Fix: train its config: nnzoo train {run_dir}/{CONFIG_FILE} "
                "(or tune with --keep-artifacts)"
            )
        return (
            f"{run_dir / MODEL_FILE}: missing, though the run finished ({done} epoch"
            f"{'' if done == 1 else 's'}): it was "
            f"deleted or not copied. Fix: copy it again from where the run was trained, or "
            f"train again: nnzoo train {run_dir}/{CONFIG_FILE}"
        )
    reason = state.get("reason")
    if what == "running":  # not locked: its process is gone (killed, or the machine died)
        reason = "its process is gone"
    how = f"status {what}" + (f": {reason}" if reason else "")
    return (
        f"{run_dir}: no {MODEL_FILE}: the run did not finish ({how}; {done} of {epochs} "
        f"epochs done). Fix: finish it: nnzoo train --resume {run_dir}"
    )


# --------------------------------------------------------------------------- fingerprint


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested mapping as dotted keys (``train.optimizer.learning_rate``); lists are values."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, dotted))
        else:
            out[dotted] = value
    return out


def fingerprint(config: Config) -> dict[str, Any]:
    """The resolved config's values that a resume must not change, by dotted key."""
    values = flatten(config.model_dump(mode="json"))
    return {
        k: v
        for k, v in values.items()
        if k not in RESUMABLE_KEYS and not k.startswith("tune.") and k != "name"
    }


def write_fingerprint(run_dir: Path, config: Config) -> None:
    (Path(run_dir) / CHECKPOINTS).mkdir(exist_ok=True)
    _atomic.write_json(Path(run_dir) / FINGERPRINT_FILE, fingerprint(config))


def check_fingerprint(run_dir: Path, config: Config) -> None:
    """Refuse a resume whose ``config.yaml`` changed what the run was started with.

    A run started by an older nnzoo lacks the keys added to the schema since: such a key is
    accepted when its value now is its schema default (what the run's ``config.yaml``, which
    does not name it, resolves to), and refused otherwise. A key under a free-form mapping
    (``model.params``, ``data.params``) has no default: it is accepted only while absent. A key
    the schema no longer has is accepted with a log line: this nnzoo does not read it, so the
    rest of the run cannot depend on it.
    """
    path = Path(run_dir) / FINGERPRINT_FILE
    if not path.exists():  # a run from before fingerprints were kept
        return
    started = json.loads(path.read_text())
    now = fingerprint(config)
    changed: list[str] = []
    for key in sorted(started.keys() | now.keys()):
        if key not in started and now[key] == _schema_default(key):
            continue  # added to the schema after the run started, and left at its default
        if key not in now and _schema_default(key) is _NOT_IN_SCHEMA:
            log.info("resume: %s=%r is no longer a config key; ignored", key, started[key])
            continue
        if started.get(key) != now.get(key):
            changed.append(key)
    if changed:
        first = changed[0]
        raise ConfigError(
            f"changed since the run started ({started.get(first)!r} -> {now.get(first)!r})"
            + (f"; also {', '.join(changed[1:])}" if len(changed) > 1 else "")
            + "; a resume continues the same run and may change only "
            + ", ".join(RESUMABLE_KEYS),
            file=str(Path(run_dir) / CONFIG_FILE),
            key=first,
            fix=f"restore it, or start a new run from this one with --set "
            f"model.init_from={run_dir}",
        )


#: What :func:`_schema_default` answers for a key the config schema does not have.
_NOT_IN_SCHEMA = object()
#: ... for a key without a default: a required one, or one under a free-form mapping
#: (``model.params``, ``data.params``) that the mapping's default does not hold.
_NO_DEFAULT = object()


def _schema_default(key: str) -> Any:
    """The value a config that does not name the dotted ``key`` has for it, as
    :func:`fingerprint` records it: the default of its field in the schema, or of the key in
    the default of a section above it (``train.callbacks.early_stopping.enabled`` is false, as
    ``train.callbacks``'s default says); :data:`_NO_DEFAULT` or :data:`_NOT_IN_SCHEMA` else."""
    section: type[BaseModel] | None = Config  # the section the walk is in
    in_mapping = False  # or in a free-form mapping's keys
    default: Any = _NO_DEFAULT  # the default of the key walked so far (JSON), once it has one
    for part in key.split("."):
        if section is None and not in_mapping:  # below a value that is not a mapping
            return _NOT_IN_SCHEMA
        if section is not None:
            field = section.model_fields.get(part)
            if field is None:
                return _NOT_IN_SCHEMA
            annotation = field.annotation
            is_section = isinstance(annotation, type) and issubclass(annotation, BaseModel)
            section = annotation if is_section else None
            in_mapping = get_origin(annotation) in (dict, Mapping)
            if default is _NO_DEFAULT and not field.is_required():
                default = to_jsonable_python(
                    field.get_default(call_default_factory=True), by_alias=False
                )
                continue
        default = default.get(part, _NO_DEFAULT) if isinstance(default, dict) else _NO_DEFAULT
    return default
