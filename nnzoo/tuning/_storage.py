"""Where a study lives: SQLite by default, a journal file for parallel workers, any RDB URL.

A password in a URL is never printed (:func:`mask_url`, SQLAlchemy's ``hide_password``) and a
database that goes away mid-study ends in one line (:func:`connection_guard`).

Also the crash safety that Optuna's journal storage lacks: each trial records the host and
process running it, and a RUNNING trial whose process on this host is gone is marked FAIL
and queued again (RDB storages additionally use Optuna's heartbeats).
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.util
import logging
import os
import random
import re
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import optuna
import sqlalchemy.event
import sqlalchemy.exc
from optuna.storages import BaseStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from nnzoo.errors import NnzooError
from nnzoo.tuning._settings import (
    ATTR_HOST,
    ATTR_PID,
    ATTR_PID_START,
    ATTR_STALE,
    TuningEnvironmentError,
)

log = logging.getLogger(__name__)

MAX_RETRY = 2

HIDDEN = "***"
_QUERY_PASSWORD = re.compile(r"(?i)[?&]password=([^&]*)")


def _password_parts(url: str) -> list[str]:
    """The password of ``url`` and its ``password=`` query values, as written and decoded.

    Read by hand, so that a URL SQLAlchemy cannot parse (``postgresql//u:pw@h/db``, a password
    holding ``@``) is masked too: the password is whatever lies between the first ``:`` of the
    user part and the last ``@`` before the query.
    """
    body = url.partition("?")[0]
    found = _QUERY_PASSWORD.findall(url)
    at = body.rfind("@")
    if at >= 0:
        user_part = body[:at].rsplit("//", 1)[-1]
        if ":" in user_part:
            found.append(user_part.split(":", 1)[1])
    found += [unquote(part) for part in found]
    return sorted({part for part in found if part}, key=len, reverse=True)


def _parse(url: str) -> URL | None:
    """SQLAlchemy's reading of ``url``; ``None`` where it cannot read it, or not unambiguously
    (an ``@`` in a password makes it take part of the password for the host)."""
    if url.partition("?")[0].split("://", 1)[-1].count("@") > 1:
        return None
    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        return None


def mask_text(text: str, url: str) -> str:
    """``text`` (e.g. a driver's error message) with the password of ``url`` masked."""
    for part in _password_parts(url):
        text = text.replace(part, HIDDEN)
    return text


def mask_url(url: str) -> str:
    """``url`` with its password and any ``password=`` query value hidden (safe to print)."""
    parsed = _parse(url)
    if parsed is None:
        return mask_text(url, url)
    secret = {key: HIDDEN for key in parsed.query if key.lower() == "password"}
    shown = parsed.update_query_dict(secret).render_as_string(hide_password=True)
    return shown.replace(quote(HIDDEN, safe=""), HIDDEN)


def _first_line(err: BaseException, url: str) -> str:
    """``Type: first line of the message``, with the password of ``url`` masked."""
    first = (str(err).strip().splitlines() or [""])[0]
    return mask_text(f"{type(err).__name__}: {first}", url)


@dataclass
class StorageSpec:
    """A resolved storage: what to open, and how to print it."""

    url: str  # "journal:PATH" or an SQLAlchemy URL (may hold a password: never print it)
    kind: str  # "journal" | "rdb"
    note: str | None = None

    @property
    def display(self) -> str:
        return self.url if self.kind == "journal" else mask_url(self.url)

    @property
    def dashboard(self) -> str:
        """The argument optuna-dashboard takes for this storage."""
        return self.url.removeprefix("journal:") if self.kind == "journal" else self.display


def resolve(storage: str | None, *, tune_dir: Path, workers: int) -> StorageSpec:
    """The storage for ``--storage`` (``None``: a file under ``tune_dir``).

    ``env:NAME`` reads the URL from the environment variable ``NAME``, so that a password
    need not be typed on a command line or written in a config file.
    """
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
    if storage.startswith("env:"):
        return resolve(_from_environment(storage), tune_dir=tune_dir, workers=workers)
    if storage.startswith("journal:"):
        path = Path(storage.removeprefix("journal:")).expanduser()
        if not str(path).strip():
            raise NnzooError(
                "--storage journal: needs a file path. Fix: e.g. --storage journal:runs/x.log"
            )
        return StorageSpec(f"journal:{path.resolve()}", "journal")
    _check_url(storage)
    note = None
    if storage.startswith("sqlite:") and workers > 1:
        note = "SQLite is not safe for parallel writers; prefer journal:PATH or PostgreSQL"
    return StorageSpec(_with_driver(storage), "rdb", note=note)


def _from_environment(storage: str) -> str:
    name = storage.removeprefix("env:")
    value = os.environ.get(name, "").strip() if name else ""
    if not value or value.startswith("env:"):
        raise NnzooError(
            f"--storage {storage}: the environment variable {name!r} is not set to a storage "
            f"URL. Fix: export {name or 'NNZOO_STORAGE'}='postgresql://user:PASSWORD@host/db' "
            "(or give the URL without its password and set PGPASSWORD or ~/.pgpass)"
        )
    return value


_URL_FIX = (
    "Fix: give an SQLAlchemy URL (sqlite:///study.db, postgresql://user@host:5432/db) or "
    "journal:PATH; keep the password out of it with PGPASSWORD, ~/.pgpass or --storage env:VAR"
)


def _check_url(url: str) -> None:
    """Refuse a URL SQLAlchemy cannot read, in one line that never shows its password."""
    if "://" not in url:
        raise NnzooError(f"--storage: not a storage URL; received {mask_url(url)!r}. {_URL_FIX}")
    if _parse(url) is None:
        why = "cannot read it"
        if url.partition("?")[0].split("://", 1)[1].count("@") > 1:
            why = "more than one '@' (write an '@' in the password as %40)"
        else:
            try:
                make_url(url)
            except (ArgumentError, ValueError) as err:
                why = _first_line(err, url)
        raise NnzooError(
            f"--storage: not a valid URL, {why}; received {mask_url(url)!r}. {_URL_FIX}"
        )


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
        if _lost(err) is not None:
            raise lost_storage_error(spec, err) from None
        raise NnzooError(
            f"cannot open the study storage {spec.display}: {_first_line(err, spec.url)}. "
            "Fix: check the URL"
        ) from None


def _open(spec: StorageSpec, heartbeat: float) -> BaseStorage:
    if spec.kind == "journal":
        path = Path(spec.url.removeprefix("journal:"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    if spec.url.startswith("sqlite:///"):
        Path(spec.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    interval = max(1, round(heartbeat))
    for attempt in range(_CREATE_ATTEMPTS):
        try:
            storage = optuna.storages.RDBStorage(
                spec.url,
                heartbeat_interval=interval,
                grace_period=max(2 * interval, interval + 1),
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(
                    max_retry=MAX_RETRY
                ),
            )
            break
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.IntegrityError) as err:
            # Workers that open a new database at once race to create its tables ("table
            # study_directions already exists"): the loser opens what the winner made.
            if attempt == _CREATE_ATTEMPTS - 1 or not _creation_race(err):
                raise
            time.sleep(0.05 * (attempt + 1) + random.random() * 0.05)
    if spec.url.startswith("sqlite:"):
        sqlalchemy.event.listen(storage.engine, "connect", _sqlite_wal)
        storage.engine.dispose()  # the connections opened so far: new ones get the pragmas
    return storage


#: Tries at opening a storage whose tables another process is creating at the same time.
_CREATE_ATTEMPTS = 20

#: What the driver says when two processes create the same tables or version row at once.
_RACE_MESSAGES = ("already exists", "unique constraint failed", "duplicate key", "is locked")


def _creation_race(err: BaseException) -> bool:
    return any(m in str(err).lower() for m in _RACE_MESSAGES)


def _sqlite_wal(connection: Any, _record: Any) -> None:
    """SQLite in write-ahead-log mode, syncing at checkpoints: a commit (a trial reports
    each epoch) costs no fsync of its own (a tenth of the time). A killed process loses no
    committed trial; a power cut may lose the last commits, never the database's consistency."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# --------------------------------------------------------------------------- a lost storage

# The database server stopped, the network dropped: SQLAlchemy's errors of the environment.
_CONNECTION_ERRORS = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)


def _lost(err: BaseException) -> BaseException | None:
    """The connection error behind ``err``, if any.

    Optuna hides one: when it cannot record a trial's end it raises UnboundLocalError (or
    StorageInternalError) whose cause or context is the driver's error.
    """
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _CONNECTION_ERRORS):
            return current
        current = current.__cause__ or current.__context__
    return None


def lost_storage_error(spec: StorageSpec, err: BaseException) -> TuningEnvironmentError:
    """One line for a storage that cannot be reached (at the start or mid-study)."""
    cause = _lost(err) or err
    driver = getattr(cause, "orig", None) or cause  # psycopg's own error, without the SQL
    return TuningEnvironmentError(
        f"cannot reach the study storage {spec.display}: {_first_line(driver, spec.url)}. Fix: "
        "check that the database server is running and reachable and that the user and "
        "password are right (PGPASSWORD, ~/.pgpass), then rerun the same command to resume "
        "the study"
    )


@contextlib.contextmanager
def connection_guard(spec: StorageSpec) -> Iterator[None]:
    """Turn a storage that goes away mid-study into one :class:`TuningEnvironmentError` line.

    Also quiets Optuna's heartbeat thread, which would print its own traceback when the
    database goes away; the main thread reports it.
    """
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None and _lost(args.exc_value) is not None:
            log.debug("thread %s: the study storage went away", args.thread)
            return
        previous(args)

    threading.excepthook = hook
    try:
        yield
    except Exception as err:
        if _lost(err) is None:
            raise
        raise lost_storage_error(spec, err) from None
    finally:
        threading.excepthook = previous


# --------------------------------------------------------------------------- stale trials


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (Linux), or ``None``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()


def _proc_start(pid: int) -> str | None:
    """The start time of ``pid`` in clock ticks (Linux), to tell a reused pid apart."""
    fields = _proc_stat(pid)
    return fields[19] if fields else None


def _alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = _proc_stat(pid)
    if fields and fields[0] == "Z":
        # A zombie: dead, not yet reaped (in a container whose PID 1 reaps nothing, never).
        return False
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


#: A RUNNING trial with no owner recorded this long after it started was orphaned by a worker
#: killed between Optuna's creating it and :func:`mark_owner`.
ORPHAN_AFTER_SECONDS = 10.0


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
    now = datetime.datetime.now()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        attrs = trial.system_attrs
        pid = attrs.get(ATTR_PID)
        if pid is None:
            # Killed between Optuna creating the trial and mark_owner (microseconds later):
            # no process owns it, and once it is older than any such gap, none ever will.
            started = trial.datetime_start
            if started is None or (now - started).total_seconds() < ORPHAN_AFTER_SECONDS:
                continue
        elif attrs.get(ATTR_HOST) != host or _alive(int(pid), attrs.get(ATTR_PID_START)):
            continue
        storage = study._storage
        try:
            storage.set_trial_system_attr(trial._trial_id, ATTR_STALE, True)
            if not storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another process got there first
        log.warning(
            "trial %d: its worker (%s) died; marked FAIL and queued again",
            trial.number,
            f"pid {pid}" if pid is not None else "not recorded",
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
