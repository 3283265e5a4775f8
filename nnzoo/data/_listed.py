"""Examples listed, not loaded: a source may yield its files, and the pipeline reads them.

:class:`ImageFiles` is what ``image_folder`` yields as its examples instead of an array: the
image paths and how to read them (size, colour mode). It splits as an array does (``len``,
rows by an index array), so ``load_data`` draws the very same stratified indices over it, and
its rows are read by :func:`~nnzoo.data._prepare.decode_image`, the one decoder of training,
evaluation and ``predict``. Nothing is decoded until a row is asked for.

:class:`DecodedRows` reads a listing's rows for an input pipeline and keeps them once decoded
(``data.cache``): nowhere (``false``), in memory (``true``) or in a cache file (``disk``) named
by the listing's fingerprint, each filled as rows are first read, never ahead of training.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nnzoo._cache import keras_homes
from nnzoo.data import _prepare
from nnzoo.data._sources import Listing

__all__ = ["DecodedRows", "ImageFiles"]

log = logging.getLogger(__name__)

#: Cache files of decoded rows (``data.cache: disk``) go here, under the Keras home.
CACHE_SUBDIR = "nnzoo-decoded"


class ImageFiles(Listing):
    """Image files as examples: ``len``, rows by index (another :class:`ImageFiles`), and
    :meth:`read` to decode rows as the image models take them.

    Args:
        paths: the image files, in example order.
        size: ``(height, width)`` every image is resized to.
        color_mode: ``rgb`` (3 channels) or ``grayscale`` (1).
        key: the config key an unreadable file is reported on.
    """

    def __init__(
        self,
        paths: Sequence[Path | str] | np.ndarray,
        size: tuple[int, int],
        color_mode: str,
        *,
        key: str | None = "data.params.path",
    ) -> None:
        self.paths = np.asarray([str(p) for p in paths], dtype=str)
        self.size = (int(size[0]), int(size[1]))
        self.color_mode = color_mode
        self.channels = 1 if color_mode == "grayscale" else 3
        self.key = key

    @property
    def example_shape(self) -> tuple[int, int, int]:
        """One decoded example's shape, ``(height, width, channels)``."""
        return (*self.size, self.channels)

    @property
    def row_bytes(self) -> int:
        """Bytes of one decoded example (uint8)."""
        return int(np.prod(self.example_shape))

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: Any) -> ImageFiles:
        """The listing of rows ``index`` (an index array or a slice)."""
        if isinstance(index, int | np.integer):
            raise TypeError(f"Index ImageFiles with an array or a slice. Received: {index!r}")
        return ImageFiles(self.paths[index], self.size, self.color_mode, key=self.key)

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        # A silent np.asarray would decode every file at once: the thing a listing avoids.
        raise TypeError("ImageFiles streams its images; read(rows) decodes the rows you need")

    def __repr__(self) -> str:
        return f"ImageFiles({len(self)} files, size={self.size}, color_mode={self.color_mode!r})"

    def decode(self, row: int) -> np.ndarray:
        """Row ``row`` decoded: uint8 ``(height, width, channels)``."""
        return _prepare.decode_image(self.paths[row], self.size, self.color_mode, key=self.key)

    def read(self, rows: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """Rows ``rows`` (default: all; mind the memory) as float32 in [0, 1],
        ``(len(rows), height, width, channels)``."""
        rows = np.arange(len(self)) if rows is None else rows
        return _prepare.image_array(_stacked(self, rows, self.decode))

    def fingerprint(self) -> str:
        """What the decoded rows depend on, hashed: the reading options and each file's
        resolved path, size and modification time (a file replaced or edited changes it)."""
        digest = hashlib.sha256()
        head = {"decoder": 1, "size": self.size, "color_mode": self.color_mode}
        digest.update(json.dumps(head).encode())
        for path in self.paths:
            stat = os.stat(path)
            digest.update(
                f"\n{os.path.realpath(path)}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()
            )
        return digest.hexdigest()


class DecodedRows:
    """The decoded rows of ``files`` for a pipeline, kept once read as ``cache`` says.

    Args:
        files: the listing.
        cache: ``False`` (decode every time), ``"memory"`` (an array filled as rows are read)
            or ``"disk"`` (a file under the Keras home named by :meth:`ImageFiles.fingerprint`;
            complete once every row was read, and then read by every later pipeline and run).

    Safe to call from several threads at once (``tf.data``'s parallel map, ``PyDataset``
    workers): with a cache, a row is decoded once — a thread that asks for a row another
    thread is decoding waits for it (the next pass's batches start while this pass's last
    ones are still decoding) — and each row is written to its own place.
    """

    def __init__(self, files: ImageFiles, cache: str | bool = False) -> None:
        self.files, self.cache = files, cache
        self._lock = threading.Lock()
        self._decoding: dict[int, threading.Event] = {}  # rows a thread is decoding now
        self._filled = np.zeros(len(files), dtype=bool)
        self._count = 0
        self._rows: np.ndarray | None = None
        self._fd: int | None = None
        self.path: Path | None = None
        if cache == "memory":
            # np.zeros maps untouched pages lazily: memory grows as rows are read.
            self._rows = np.zeros(files.shape, dtype=np.uint8)
        elif cache == "disk":
            self._open_file()

    def _open_file(self) -> None:
        folder = keras_homes()[0] / CACHE_SUBDIR
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{self.files.fingerprint()[:32]}.u8"
        size = len(self.files) * self.files.row_bytes
        if self.path.exists() and self.path.stat().st_size == size:
            self._fd = os.open(self.path, os.O_RDONLY)
            weakref.finalize(self, os.close, self._fd)
            self._filled[:] = True
            self._count = len(self.files)
            log.info("data: decoded images read from the cache file %s", self.path)
            return
        for stale in folder.glob(f"{self.path.stem}.*.partial"):
            _discard_if_orphaned(stale)
        partial = folder / f"{self.path.stem}.{os.getpid()}-{id(self)}.partial"
        fd = os.open(partial, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        os.ftruncate(fd, size)
        self._fd, self._partial = fd, partial
        # An unfinished cache file is removed with its pipeline (a finished one is renamed).
        self._cleanup = weakref.finalize(self, _discard, fd, partial)
        log.info("data: decoded images are kept in %s as the first pass reads them", self.path)

    def __len__(self) -> int:
        return len(self.files)

    def row(self, index: int) -> np.ndarray:
        """Row ``index`` as uint8 ``(height, width, channels)``."""
        files = self.files
        if self._filled[index]:
            if self._rows is not None:
                return self._rows[index]
            data = os.pread(self._fd, files.row_bytes, index * files.row_bytes)
            return np.frombuffer(data, dtype=np.uint8).reshape(files.example_shape)
        if not self.cache:
            return files.decode(index)
        with self._lock:
            waiting = None if self._filled[index] else self._decoding.get(index)
            if waiting is None and not self._filled[index]:
                self._decoding[index] = threading.Event()
        if self._filled[index] or waiting is not None:
            if waiting is not None:
                waiting.wait()  # filled now, or its decoder failed and this thread tries
            return self.row(index)
        try:
            pixels = files.decode(index)
            if self.cache == "memory":
                self._rows[index] = pixels
            else:
                os.pwrite(self._fd, pixels.tobytes(), index * files.row_bytes)
            with self._lock:
                self._filled[index] = True
                self._count += 1
                if self._count == len(files) and self.cache == "disk":
                    self._finish_file()
        finally:
            with self._lock:
                self._decoding.pop(index).set()
        return pixels

    def _finish_file(self) -> None:
        """Every row is in the partial file: it becomes the cache file, atomically."""
        os.fsync(self._fd)
        os.replace(self._partial, self.path)
        self._cleanup.detach()
        weakref.finalize(self, os.close, self._fd)
        log.info("data: cache file %s complete", self.path)

    def pixels(self, rows: np.ndarray) -> np.ndarray:
        """Rows ``rows`` as uint8 ``(len(rows), height, width, channels)``."""
        return _stacked(self.files, rows, self.row)

    def read(self, rows: np.ndarray) -> np.ndarray:
        """Rows ``rows`` as float32 in [0, 1] (the model's input)."""
        return _prepare.image_array(self.pixels(rows))


def _stacked(files: ImageFiles, rows: Any, row: Any) -> np.ndarray:
    """``row(i)`` for each of ``rows``, as one uint8 array ``(len(rows), H, W, C)``."""
    x = np.empty((len(rows), *files.example_shape), dtype=np.uint8)
    for i, index in enumerate(rows):
        x[i] = row(int(index))
    return x


def _discard(fd: int, path: Path) -> None:
    os.close(fd)
    path.unlink(missing_ok=True)


def _discard_if_orphaned(partial: Path) -> None:
    """Remove an unfinished cache file whose process is gone (killed while filling it)."""
    try:
        pid = int(partial.name.split(".")[1].split("-")[0])
        os.kill(pid, 0)
    except ProcessLookupError:
        partial.unlink(missing_ok=True)
    except (ValueError, IndexError, PermissionError):
        pass  # not ours, or another user's live process
