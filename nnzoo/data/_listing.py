"""What counts as data in a folder: every entry but the hidden ones, listed in one order.

Hidden entries are what file browsers, notebooks and archivers leave beside the data, never
data: a name that starts with a dot (``.ipynb_checkpoints``, ``.DS_Store``, ``.git``),
``__MACOSX`` (zip files made on macOS), ``Thumbs.db`` and ``desktop.ini`` (Windows). They are
skipped at any depth (a hidden folder is not walked into) and counted, so each reader says at
INFO how many it left out.

Files are listed as ``os.walk`` (and ``keras.utils.image_dataset_from_directory``) reads a
folder: top-down, a folder's own files (sorted) before its sub-folders (sorted), links to
folders below the top not followed. Every folder reader (``image_folder``, ``text_folder``,
``predict``) lists through :class:`FolderListing`, so none can forget a rule.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

__all__ = ["FolderListing", "is_hidden"]

logger = logging.getLogger(__name__)

#: Hidden names that do not start with a dot, compared case-folded (Windows ignores case).
_HIDDEN_NAMES = frozenset({"__macosx", "thumbs.db", "desktop.ini"})


def is_hidden(name: str) -> bool:
    """Whether a file or folder called ``name`` is left out of data: a dot-name, ``__MACOSX``,
    ``Thumbs.db`` or ``desktop.ini``."""
    return name.startswith(".") or name.casefold() in _HIDDEN_NAMES


class FolderListing:
    """Lists the visible sub-folders and data files of a folder, counting the hidden entries
    it skips (``hidden``); :meth:`log_hidden` reports them once."""

    def __init__(self) -> None:
        self.hidden = 0

    def sub_folders(self, folder: Path) -> list[str]:
        """The sorted names of the sub-folders of ``folder`` that are not hidden (links to
        folders count, as folders)."""
        names = []
        for entry in folder.iterdir():
            if is_hidden(entry.name):
                self.hidden += 1
            elif entry.is_dir():
                names.append(entry.name)
        return sorted(names)

    def files(self, folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
        """The files under ``folder``, at any depth, whose names end with one of ``suffixes``
        (any case), in walk order; hidden files and everything in hidden folders left out."""
        found = []
        for directory, subdirs, names in os.walk(folder):
            self.hidden += sum(map(is_hidden, subdirs)) + sum(map(is_hidden, names))
            subdirs[:] = sorted(d for d in subdirs if not is_hidden(d))
            found += [
                Path(directory) / name
                for name in sorted(names)
                if not is_hidden(name) and name.lower().endswith(suffixes)
            ]
        return found

    def log_hidden(self, reader: str, folder: Path) -> None:
        """Say at INFO how many hidden entries ``reader`` skipped in ``folder``, if any."""
        if self.hidden:
            logger.info(
                "%s: skipped %d hidden entr%s (dot-files, __MACOSX, Thumbs.db, desktop.ini) in %s",
                reader,
                self.hidden,
                "y" if self.hidden == 1 else "ies",
                folder,
            )
