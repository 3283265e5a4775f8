"""What identifies the data a run was trained on, so that a changed file is noticed.

:func:`data_fingerprint` describes the data ``data.source`` with ``data.params`` reads:

- a source of files (``csv``, ``npz``; ``image_folder``, ``text_folder``): each file or folder
  it reads, by the parameter that names it (``path``, ``test_path``) — a file's size and the
  SHA-256 of its bytes; a folder's files (their paths inside it and sizes, sorted) and one
  SHA-256 of their bytes in that order. Only what the source reads counts (not the other files
  of a folder), and neither the folder's own name nor any time: a copy elsewhere, or on another
  machine, has the fingerprint of the original.
- any other source (bundled, generated, downloaded): its name and parameters.

:func:`fingerprint_changes` says, in words, how two fingerprints differ.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nnzoo.data._sources import get_source

__all__ = ["data_fingerprint", "fingerprint_changes"]

#: The layout of a fingerprint this nnzoo writes.
FINGERPRINT_VERSION = 1
#: Bytes read from a file at a time while it is hashed (memory stays flat in file size).
_CHUNK = 1 << 20
#: Paths named in a description of what changed, at most.
_SHOWN = 3


def data_fingerprint(source: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The fingerprint of what ``source`` reads with ``params`` (see the module docstring), as
    JSON: ``{"version", "source", "files": {param: entry}}`` for a source of files (an entry
    is ``{"name", "size", "sha256"}`` for a file, ``{"name", "entries": [[path, size], ...],
    "sha256"}`` for a folder), ``{"version", "source", "params"}`` otherwise."""
    src = get_source(source)
    listed = src.files(dict(params))
    if not listed:
        return {"version": FINGERPRINT_VERSION, "source": src.name, "params": dict(params)}
    files = {}
    for key, paths in listed.items():
        root = Path(str(params[key])).expanduser()
        files[key] = _file_entry(root) if root.is_file() else _folder_entry(root, paths)
    return {"version": FINGERPRINT_VERSION, "source": src.name, "files": files}


def _file_entry(path: Path) -> dict[str, Any]:
    return {"name": path.name, "size": path.stat().st_size, "sha256": _sha256([path])}


def _folder_entry(root: Path, paths: Sequence[Path]) -> dict[str, Any]:
    ordered = sorted(paths, key=lambda p: p.relative_to(root).as_posix())
    entries = [[p.relative_to(root).as_posix(), p.stat().st_size] for p in ordered]
    return {"name": root.name, "entries": entries, "sha256": _sha256(ordered)}


def _sha256(paths: Sequence[Path]) -> str:
    """The SHA-256 of the bytes of ``paths``, one after another, read a chunk at a time."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def fingerprint_changes(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """How the data of fingerprint ``now`` differs from ``before``, one phrase per change
    (``[]``: the same data). A file or folder is named by its parameter
    (``3 files added: cats/9.png, ...``; ``test_path: ...`` for another than ``path``)."""
    if before.get("source") != now.get("source"):
        return [f"data.source is {now.get('source')!r}, not {before.get('source')!r}"]
    if "files" not in before or "files" not in now:
        was, is_ = dict(before.get("params", {})), dict(now.get("params", {}))
        return [
            f"data.params.{key} is {is_.get(key)!r}, not {was.get(key)!r}"
            for key in sorted(was.keys() | is_.keys())
            if was.get(key) != is_.get(key)
        ]
    changes = []
    was_files, now_files = before["files"], now["files"]
    for key in sorted(was_files.keys() | now_files.keys()):
        was, is_ = was_files.get(key), now_files.get(key)
        named = "" if key == "path" else f"{key}: "  # the data.params key that names it
        if was is None or is_ is None:
            changes.append(f"{key} {'is no longer given' if is_ is None else 'is new'}")
        elif ("entries" in was) != ("entries" in is_):
            changes.append(f"{named}a {'folder' if 'entries' in is_ else 'file'} now")
        elif "entries" in was:
            changes += [named + change for change in _folder_changes(was, is_)]
        elif was["size"] != is_["size"]:
            changes.append(f"{named}{is_['size']} bytes, not {was['size']}")
        elif was["sha256"] != is_["sha256"]:
            changes.append(f"{named}the same size, other content: re-ordered or edited")
    return changes


def _folder_changes(was: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    before, after = dict(map(tuple, was["entries"])), dict(map(tuple, now["entries"]))
    changes = []
    for what, names in (
        ("added", [n for n in after if n not in before]),
        ("removed", [n for n in before if n not in after]),
        ("of another size", [n for n in after if n in before and after[n] != before[n]]),
    ):
        if names:
            shown = ", ".join(names[:_SHOWN]) + (", ..." if len(names) > _SHOWN else "")
            changes.append(f"{len(names)} file{'s' * (len(names) > 1)} {what}: {shown}")
    if not changes and was["sha256"] != now["sha256"]:
        changes.append("other content in files of the same names and sizes")
    return changes
