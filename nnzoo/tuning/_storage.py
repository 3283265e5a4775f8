"""Where a study lives: SQLite by default, a journal file for parallel workers, any RDB URL.

Also the crash safety that Optuna's journal storage lacks: each trial records the host and
process running it, and a RUNNING trial whose process on this host is gone is marked FAIL
and queued again (RDB storages additionally use Optuna's heartbeats).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import socket
import warnings
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from nnzoo.errors import NnzooError
from nnzoo.tuning._settings import ATTR_HOST, ATTR_PID, ATTR_PID_START, ATTR_STALE

log = logging.getLogger(__name__)

MAX_RETRY = 2

_PASSWORD = re.compile(r"(?P<head>://[^/:@]*:)(?P<password>[^@/]*)(?P<tail>@)")


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (safe to print or log)."""
    return _PASSWORD.sub(lambda m: f"{m['head']}***{m['tail']}", url)


def mask_text(text: str, url: str) -> str:
    """``text`` (e.g. a driver's error message) with the password of ``url`` masked."""
    match = _PASSWORD.search(url)
    if match and match["password"]:
        text = text.replace(match["password"], "***")
    return mask_url(text)


@dataclass
class StorageSpec:
    """A resolved storage: what to open, and how to print it."""

    url: str  # "journal:PATH" or an SQLAlchemy URL (may hold a password: never print it)
    kind: str  # "journal" | "rdb"
    note: str | None = None

    @property
    def display(self) -> str:
        return mask_url(self.url)

    @property
    def dashboard(self) -> str:
        """The argument optuna-dashboard takes for this storage."""
        return self.url.removeprefix("journal:") if self.kind == "journal" else self.display


def resolve(storage: str | None, *, tune_dir: Path, workers: int) -> StorageSpec:
    """The storage for ``--storage`` (``None``: a file under ``tune_dir``)."""
    if storage is None:
        if workers > 1:
            path = (tune_dir / "journal.log").resolve()
            return StorageSpec(
                f"journal:{path}",
                "journal",
                note=f"{workers} workers: using Optuna's journal file storage {path} "
                "(SQLite is not safe for parallel writers)",
            )
        return StorageSpec(f"sqlite:///{(tune_dir / 'study.db').resolve()}", "rdb")
    if storage.startswith("journal:"):
        path = Path(storage.removeprefix("journal:")).expanduser()
        if not str(path).strip():
            raise NnzooError(
                "--storage journal: needs a file path. Fix: e.g. --storage journal:runs/x.log"
            )
        return StorageSpec(f"journal:{path.resolve()}", "journal")
    if "://" not in storage:
        raise NnzooError(
            f"--storage: not a storage URL; received {mask_url(storage)!r}. Fix: give an "
            "SQLAlchemy URL (sqlite:///study.db, postgresql://user@host/db) or journal:PATH"
        )
    note = None
    if storage.startswith("sqlite:") and workers > 1:
        note = "SQLite is not safe for parallel writers; prefer journal:PATH or PostgreSQL"
    return StorageSpec(_with_driver(storage), "rdb", note=note)


def _with_driver(url: str) -> str:
    """``postgresql://`` means psycopg2 to SQLAlchemy; use psycopg 3 where that is installed."""
    if not url.startswith(("postgresql://", "postgres://")):
        return url
    rest = url.split("://", 1)[1]
    if importlib.util.find_spec("psycopg2") is not None:
        return "postgresql://" + rest
    if importlib.util.find_spec("psycopg") is not None:
        return "postgresql+psycopg://" + rest
    raise NnzooError(
        f"--storage {mask_url(url)}: no PostgreSQL driver is installed. Fix: "
        "pip install 'nnzoo[postgres]' (psycopg)"
    )


def open_storage(spec: StorageSpec, *, heartbeat: float = 60.0) -> BaseStorage:
    """An Optuna storage object for ``spec``; RDB storages get heartbeats and retries."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return _open(spec, heartbeat)
    except NnzooError:
        raise
    except Exception as err:  # driver and connection errors: one line, password masked
        first = (str(err).strip().splitlines() or [""])[0]
        raise NnzooError(
            f"cannot open the study storage {spec.display}: {type(err).__name__}: "
            f"{mask_text(first, spec.url)}. Fix: check the URL, that the server is running "
            "and the credentials"
        ) from None


def _open(spec: StorageSpec, heartbeat: float) -> BaseStorage:
    if spec.kind == "journal":
        path = Path(spec.url.removeprefix("journal:"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    if spec.url.startswith("sqlite:///"):
        Path(spec.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    interval = max(1, round(heartbeat))
    return optuna.storages.RDBStorage(
        spec.url,
        heartbeat_interval=interval,
        grace_period=max(2 * interval, interval + 1),
        heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY),
    )


# --------------------------------------------------------------------------- stale trials


def _proc_start(pid: int) -> str | None:
    """The start time of ``pid`` in clock ticks (Linux), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


def _alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if start is not None:
        now = _proc_start(pid)
        return now is None or now == start
    return True


def mark_owner(trial: optuna.Trial) -> None:
    """Record which host and process runs ``trial`` (see :func:`fail_dead_trials`)."""
    pid = os.getpid()
    trial.storage.set_trial_system_attr(trial._trial_id, ATTR_HOST, socket.gethostname())
    trial.storage.set_trial_system_attr(trial._trial_id, ATTR_PID, pid)
    start = _proc_start(pid)
    if start is not None:
        trial.storage.set_trial_system_attr(trial._trial_id, ATTR_PID_START, start)


def fail_dead_trials(study: optuna.Study) -> list[int]:
    """Mark FAIL (and queue again) RUNNING trials whose process on this host has died.

    Optuna's journal storage has no heartbeat, so without this a trial of a killed worker
    would stay RUNNING forever. Returns the numbers of the trials failed here.
    """
    host = socket.gethostname()
    failed = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        attrs = trial.system_attrs
        pid = attrs.get(ATTR_PID)
        if attrs.get(ATTR_HOST) != host or pid is None:
            continue
        if _alive(int(pid), attrs.get(ATTR_PID_START)):
            continue
        storage = study._storage
        try:
            storage.set_trial_system_attr(trial._trial_id, ATTR_STALE, True)
            if not storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another process got there first
        log.warning(
            "trial %d: its worker (pid %s) died; marked FAIL and queued again", trial.number, pid
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            retry(study, study._storage.get_trial(trial._trial_id))
        failed.append(trial.number)
    return failed


def fail_stale(study: optuna.Study) -> list[int]:
    """Both checks: dead processes on this host, and Optuna's heartbeats (RDB storages)."""
    failed = fail_dead_trials(study)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    return failed
