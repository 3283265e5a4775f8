"""The Keras cache: where ``keras.utils.get_file`` keeps downloaded files, what is in it, and
the one path by which nnzoo downloads into it.

Keras caches under its home folder, ``$KERAS_HOME``, else ``~/.keras`` (``/tmp/.keras`` when the
home directory is not writable), in a sub-folder per kind of file: ``datasets`` for the
``keras.datasets`` sets, ``models`` for the ``keras.applications`` weights. Data sources and
model builders both look there before anything is downloaded, so this sits below both.

A :class:`Need` is what something (a data set, ImageNet weights) needs from the cache: its
:class:`RemoteFile` s and the offline alternative to suggest. :meth:`Need.fetch` returns the
cached files (hash-checked), downloading the missing ones through ``keras.utils.get_file``
unless the offline switch (:mod:`nnzoo._offline`) or the config forbids it; then it raises
:class:`~nnzoo.errors.DataNotAvailableError` in one line: which file, where to put it, and the
alternative as a pasteable flag. :meth:`Need.check` and :meth:`Need.report` answer the same
questions for ``nnzoo validate`` without importing Keras or reading the files.

Data sources and model families register what a config of theirs needs
(:func:`register_needs`), so ``validate`` asks :func:`needs_of` without knowing them.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnzoo import _offline
from nnzoo._atomic import replace_file
from nnzoo.errors import DataNotAvailableError

__all__ = [
    "Need",
    "RemoteFile",
    "human_size",
    "keras_cache_dirs",
    "keras_homes",
    "needs_of",
    "register_needs",
]

log = logging.getLogger(__name__)


def keras_homes() -> list[Path]:
    """The Keras home folders, in the order Keras uses them: ``$KERAS_HOME`` alone when it is
    set, else ``~/.keras`` and then ``/tmp/.keras``."""
    if os.environ.get("KERAS_HOME"):
        return [Path(os.environ["KERAS_HOME"]).expanduser()]
    return [Path.home() / ".keras", Path("/tmp/.keras")]


def keras_cache_dirs(cache_subdir: str) -> list[Path]:
    """The folder ``cache_subdir`` (e.g. ``models``) of every Keras home, in the same order:
    where ``keras.utils.get_file(..., cache_subdir=cache_subdir)`` keeps its files."""
    return [home / cache_subdir for home in keras_homes()]


def human_size(num_bytes: int) -> str:
    """``170 MB``, ``4.4 MB``, ``30 kB`` (decimal units, as download pages give sizes)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if num_bytes >= scale:
            value = num_bytes / scale
            return f"{value:.1f} {unit}" if value < 9.95 else f"{value:.0f} {unit}"
    return f"{num_bytes} B"


@dataclass(frozen=True)
class RemoteFile:
    """One file as Keras names, downloads and verifies it.

    Attributes:
        fname: the file name in the cache.
        origin: where Keras downloads it from.
        file_hash: its sha256 (or md5; ``None``: not verified).
        cache_subdir: the folder under the Keras home (``datasets``, ``models``).
        size: its size in bytes, said before a download and by ``validate``.
        aliases: other names under which Keras's own loaders cache the same file
            (``get_file(..., extract=True)`` keeps CIFAR's tarball as ``<dir>_archive``).
    """

    fname: str
    origin: str
    file_hash: str | None
    cache_subdir: str = "datasets"
    size: int | None = None
    aliases: tuple[str, ...] = ()

    @property
    def folder(self) -> Path:
        """Where a download goes (the first Keras home)."""
        return keras_homes()[0] / self.cache_subdir

    def cached(self) -> Path | None:
        """The cached copy (under any Keras home, by any of its names), or ``None``."""
        for folder in keras_cache_dirs(self.cache_subdir):
            for name in (self.fname, *self.aliases):
                if (folder / name).is_file():
                    return folder / name
        return None

    def hash_ok(self, path: Path) -> bool:
        """Whether ``path`` has this file's hash (sha256 for 64 hex digits, else md5, as
        ``keras.utils.get_file`` decides)."""
        if self.file_hash is None:
            return True
        digest = hashlib.sha256() if len(self.file_hash) == 64 else hashlib.md5()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest() == self.file_hash


def _files_text(files: Sequence[RemoteFile], *, origin_sep: str) -> str:
    """``a.npz (11 MB, from URL)`` or ``a.gz, b.gz (4.4 MB, from BASE/)``."""
    names = ", ".join(f.fname for f in files)
    sizes = [f.size for f in files]
    size = f"{human_size(sum(sizes))}" if all(s is not None for s in sizes) else ""
    origin = files[0].origin if len(files) == 1 else os.path.dirname(files[0].origin) + "/"
    if origin_sep == ", from ":
        return f"{names} ({size}, from {origin})" if size else f"{names} (from {origin})"
    return f"{names} ({size}) from {origin}" if size else f"{names} from {origin}"


@dataclass(frozen=True)
class Need:
    """Files something needs from the Keras cache, and what to do without them.

    Attributes:
        what: what the files are, as the error's subject (``cifar10``,
            ``VGG16 ImageNet weights``).
        files: the files, all in one ``cache_subdir``.
        alternative: the offline alternative, ending with a pasteable flag
            (``use an offline source: --set data.source=shapes``).
        plural: ``what`` takes "are" (``VGG16 ImageNet weights are ...``).
        forbidden: why downloads are off for this need alone, or ``None``
            (``data.params.download is false``).
    """

    what: str
    files: tuple[RemoteFile, ...]
    alternative: str
    plural: bool = False
    forbidden: str | None = None

    def missing(self) -> list[RemoteFile]:
        """The files not in the cache (their hashes are not checked)."""
        return [f for f in self.files if f.cached() is None]

    def blocked(self) -> str | None:
        """Why nothing may be downloaded (the offline switch or ``forbidden``), or ``None``."""
        reason = _offline.offline_reason()
        return f"{reason} is set" if reason else self.forbidden

    def message(self, files: Sequence[RemoteFile], reason: str) -> str:
        """The one line: what is missing and why, which files to put where, the alternative."""
        verb = "are" if self.plural else "is"
        what = _files_text(files, origin_sep=", from ")
        return (
            f"{self.what} {verb} not available offline ({reason}): put {what} in "
            f"{files[0].folder}/, or {self.alternative}"
        )

    def check(self) -> None:
        """Raise :class:`DataNotAvailableError` if a file is missing and may not be
        downloaded; reads no file and imports nothing."""
        missing = self.missing()
        reason = self.blocked()
        if missing and reason:
            raise DataNotAvailableError(self.message(missing, reason))

    def report(self) -> str:
        """One line for ``validate``: the files, their size and origin, and whether they are
        cached or will be downloaded (where to)."""
        missing = self.missing()
        files = _files_text(self.files, origin_sep=" from ")
        if not missing:
            cached = self.files[0].cached()
            where = cached if len(self.files) == 1 else cached.parent  # type: ignore[union-attr]
            return f"needs {files}: cached at {where}"
        names = "" if len(missing) == len(self.files) else f" ({len(missing)} of them)"
        return (
            f"needs {files}: not in the cache{names}, will be downloaded to {missing[0].folder}/"
        )

    def fetch(self) -> list[str]:
        """The local path of every file, downloading what is missing (or fails its hash
        check) unless that is blocked; one-line :class:`DataNotAvailableError` otherwise."""
        self.check()
        reason = self.blocked()
        paths = []
        for remote in self.files:
            path = remote.cached()
            if path is not None and remote.hash_ok(path):
                paths.append(str(path))
                continue
            if path is not None and reason:
                detail = f"the cached {path.name} failed its hash check and {reason}"
                raise DataNotAvailableError(self.message([remote], detail))
            try:
                paths.append(str(download(remote, self.what)))
            except Exception as err:
                detail = f"download failed: {' '.join(str(err).split())}"
                raise DataNotAvailableError(self.message([remote], detail)) from err
        return paths


def download(remote: RemoteFile, what: str = "") -> Path:
    """Download ``remote`` into the Keras cache with ``keras.utils.get_file`` (its progress
    bar, its hash check) and return its path. It is written as ``<fname>.part`` and moved
    into place durably once verified (:func:`nnzoo._atomic.replace_file`), so an interrupted
    download (or a power cut) never leaves a torn file under the real name. Says what, how
    big and where first; sockets time out after :data:`nnzoo._offline.CONNECT_TIMEOUT_S`
    without progress."""
    import keras

    target = remote.folder / remote.fname
    size = f" ({human_size(remote.size)})" if remote.size else ""
    log.warning(
        "nnzoo: downloading %s%s%s from %s to %s",
        f"{what}: " if what else "",
        remote.fname,
        size,
        remote.origin,
        target,
    )
    remote.folder.mkdir(parents=True, exist_ok=True)
    with _offline.network_timeout():
        part = keras.utils.get_file(
            fname=f"{remote.fname}.part",
            origin=remote.origin,
            file_hash=remote.file_hash,
            cache_dir=str(keras_homes()[0]),
            cache_subdir=remote.cache_subdir,
            force_download=True,  # a .part file is never a finished download
        )
    final = Path(part).with_name(remote.fname)
    replace_file(part, final)
    return final


#: What a config needs from the cache, by (kind, name): ``kind`` is ``data`` or ``model``.
_NEEDS: dict[tuple[str, str], Callable[[Mapping[str, Any]], list[Need]]] = {}


def register_needs(kind: str, name: str, needs: Callable[[Mapping[str, Any]], list[Need]]) -> None:
    """Declare what data source / model ``name`` needs from the cache, given its params."""
    _NEEDS[(kind, name)] = needs


def needs_of(kind: str, name: str, params: Mapping[str, Any]) -> list[Need]:
    """What data source / model ``name`` with ``params`` needs from the cache (``[]``: none).
    The source or model family must have been imported (``get_source`` / ``get_card``)."""
    needs = _NEEDS.get((kind, name))
    return needs(params) if needs is not None else []
