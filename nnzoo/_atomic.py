"""Atomic, durable writes: the one way nnzoo replaces a file or a folder.

A file is written under a temporary name beside its target, flushed to the disk
(``os.fsync``), renamed over the target (``os.replace``, atomic on one file system) and then
the folder holding it is flushed too, so that the rename itself is on the disk. A reader, a
``kill -9`` or a power cut therefore finds the old file (or none) or the whole new one, never
half of one; without the two flushes a power cut can leave a renamed file empty. A failure
while writing leaves the old file and removes the temporary one.

Temporary names are hidden and unique to the process: ``.tmp-<pid>.<n>-<name>``. They keep
the target's suffix, which some writers check or read the format from (Keras's savers want
``.keras`` / ``.weights.h5``, Matplotlib's ``savefig`` the image type), and one glob
(``.tmp-*``) finds what a killed process left.

Standard library only: the lowest layer (the Keras cache) uses it.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = [
    "FULL_DISK_ERRNOS",
    "TEMPORARY_PREFIX",
    "check_free_space",
    "atomic_dir",
    "atomic_open",
    "atomic_path",
    "remove_temporaries",
    "replace_dir",
    "replace_file",
    "temporary_path",
    "write_json",
    "write_text",
]

#: A full disk, a full quota, a file-size limit (``ulimit -f``) reached.
FULL_DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)

#: How every temporary name begins (``.tmp-<pid>.<n>-<name>``).
TEMPORARY_PREFIX = ".tmp-"

# Tells apart two temporary names of one process (threads writing beside the same target).
_COUNTER = itertools.count()


def temporary_path(path: str | Path) -> Path:
    """A hidden name beside ``path``, unique to this process and call, that keeps its suffix."""
    path = Path(path)
    return path.with_name(f"{TEMPORARY_PREFIX}{os.getpid()}.{next(_COUNTER)}-{path.name}")


def remove_temporaries(folder: str | Path) -> None:
    """Delete the temporary files and folders (``.tmp-*``) in ``folder`` that killed writers
    left (a torn checkpoint can be as big as the model). Only for a folder no other process
    writes in, such as a run directory under its lock."""
    for path in Path(folder).glob(f"{TEMPORARY_PREFIX}*"):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def check_free_space(path: str | Path, needed: int) -> None:
    """Raise ``OSError(ENOSPC)`` naming ``path`` when its file system has fewer than
    ``needed`` bytes free (plus 1 MiB for the small files written after it), before a writer
    starts: a writer that meets a full disk halfway may not fail cleanly."""
    folder = Path(path).parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # cannot tell: the write itself will say
    if free < needed + 2**20:
        raise OSError(
            errno.ENOSPC,
            f"{os.strerror(errno.ENOSPC)} ({free / 2**20:.1f} MiB free, about "
            f"{needed / 2**20:.1f} MiB needed)",
            str(path),
        )


def _fsync_path(path: Path) -> None:
    """Flush the file ``path`` (written and closed by another writer) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    """Flush the folder ``path`` (the names in it) to the disk, where the platform allows:
    Windows cannot open a folder, and some file systems refuse to flush one."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def replace_file(tmp: str | Path, path: str | Path) -> None:
    """Move the finished file ``tmp`` over ``path`` durably: flush ``tmp``, rename it, flush
    the folder. For a file another library wrote under its own temporary name (Keras's
    ``ModelCheckpoint``, ``get_file``'s ``.part``); :func:`atomic_path` uses it."""
    tmp, path = Path(tmp), Path(path)
    _fsync_path(tmp)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` for a writer to write to, moved over ``path`` (see
    :func:`replace_file`) when the block ends without error; on an error it is removed and the
    old file (or none) stays.

    Example::

        with atomic_path(run_dir / "model.keras") as tmp:
            model.save(tmp)
    """
    path = Path(path)
    tmp = temporary_path(path)
    try:
        yield tmp
        replace_file(tmp, path)
    except OSError as err:
        if err.errno not in FULL_DISK_ERRNOS:
            raise
        # Named by the file the user knows (not the temporary one, nor no file at all, as a
        # failed write() says), in the words of the system (not a library's wrapping).
        raise OSError(err.errno, os.strerror(err.errno), str(path)) from None
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """``open(path, mode, **kwargs)`` for writing, atomically: the file object writes to a
    temporary file that replaces ``path`` durably when the block ends without error (see
    :func:`atomic_path`). ``mode`` is ``"w"`` or ``"wb"``; ``kwargs`` go to :func:`open`
    (``encoding``, ``newline``)."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes a new file: mode is 'w' or 'wb'. Received: {mode=}")
    # The file is closed before atomic_path moves it into place.
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as f:
        yield f


def write_text(path: str | Path, text: str, *, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically and durably (see :func:`atomic_open`)."""
    with atomic_open(path, "w", encoding=encoding) as f:
        f.write(text)


def write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as JSON indented by two spaces (no final newline), atomically and
    durably (see :func:`write_text`)."""
    write_text(path, json.dumps(data, indent=2))


def _fsync_tree(folder: Path) -> None:
    """Flush every file and folder under ``folder`` (and ``folder``) to the disk."""
    for root, _, names in os.walk(folder, topdown=False):
        for name in names:
            entry = Path(root, name)
            if entry.is_file() and not entry.is_symlink():
                _fsync_path(entry)
        _fsync_dir(Path(root))


def replace_dir(work: str | Path, target: str | Path) -> None:
    """Move the finished folder ``work`` over ``target`` (in the same folder) durably: every
    file in it flushed, then renamed into place; an existing ``target`` is first moved aside
    under a temporary name and deleted after. A crash between the two renames leaves the old
    folder under its temporary name and no ``target``, never a mix of the two; a failed rename
    puts the old folder back."""
    work, target = Path(work), Path(target)
    _fsync_tree(work)
    old = None
    if target.exists():
        old = temporary_path(target)
        os.replace(target, old)
    try:
        os.replace(work, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        raise
    _fsync_dir(target.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """A new empty folder beside ``target`` for a writer to fill, moved over ``target`` (see
    :func:`replace_dir`) when the block ends without error; on an error it is deleted and the
    old ``target`` (or none) stays. The parent folder is created when missing."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = temporary_path(target)
    work.mkdir()
    try:
        yield work
        replace_dir(work, target)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
