"""Turn splits into what ``model.fit`` consumes: arrays held in memory, or files listed by
the source (:class:`~nnzoo.data.Listing`), read, decoded and resized while training.

On the TensorFlow backend: a ``tf.data`` pipeline (shuffle with the run seed, batch, augment on
the training split only, prefetch AUTOTUNE); listed files go through a parallel, deterministic
map that calls the one image decoder (:func:`~nnzoo.data.decode_image`). On JAX / PyTorch: a
``keras.utils.PyDataset`` over the same arrays, or with worker threads over the same decoder, so
TensorFlow need not be installed.

For ``fit`` the training split is one endless stream of batches: pass ``p`` over the data is
shuffled by ``(seed, p)`` alone, never by how many passes this process has made, and the stream
can start at any step, so a resumed run sees the very batches the uninterrupted run saw.
Under a multi-worker strategy, worker ``i`` of ``n`` streams batches ``i, i + n, ...`` of it
from listed files: it decodes only its share of each pass, and tf.distribute does not shard
it again (it would otherwise read every file on every worker and keep its rows).

``data.cache`` keeps what was decoded from files: ``true`` in memory (up to
:data:`MEMORY_CACHE_BYTES` a split), ``disk`` in a cache file named by the files' fingerprint,
``false`` nowhere. Either is filled as the first pass reads the files, never before training.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from nnzoo._cache import human_size
from nnzoo.data._listed import DecodedRows
from nnzoo.data._prepare import IGNORE_INDEX
from nnzoo.data._sources import is_listing, num_examples, take
from nnzoo.errors import ConfigError

log = logging.getLogger(__name__)

#: ``data.cache: true`` keeps a split's decoded files in memory up to this size (uint8);
#: a larger split is read from its files every pass (``data.cache: disk`` keeps it on disk).
MEMORY_CACHE_BYTES = 256 << 20

#: Worker threads of a ``PyDataset`` that reads files (PIL decodes without the GIL).
FILE_WORKERS = min(8, os.cpu_count() or 1)


def backend() -> str:
    import keras

    return keras.backend.backend()


def augmentation_layers(augment: Any, seed: int) -> Any:
    """A ``keras.Sequential`` of random preprocessing layers for ``augment``, or ``None``."""
    if augment is None or not augment.active:
        return None
    import keras

    layers = []
    if augment.flip != "none":
        layers.append(keras.layers.RandomFlip(augment.flip, seed=seed))
    if augment.rotation:
        layers.append(keras.layers.RandomRotation(augment.rotation, seed=seed + 1))
    if augment.translate:
        layers.append(
            keras.layers.RandomTranslation(augment.translate, augment.translate, seed=seed + 2)
        )
    if augment.zoom:
        layers.append(keras.layers.RandomZoom(augment.zoom, seed=seed + 3))
    if augment.contrast:
        layers.append(keras.layers.RandomContrast(augment.contrast, seed=seed + 4))
    return keras.Sequential(layers, name="augmentation")


def seed_generator_states(layer: Any) -> list[Any]:
    """The state variables of ``layer``'s ``keras.random.SeedGenerator``s, in layer order.

    ``non_trainable_variables`` lists them (``weights`` does not, nor does ``model.save`` in
    Keras 3.15): a dropout or random-augmentation layer's state says what it draws next.
    """
    return [v for v in layer.non_trainable_variables if v.name == "seed_generator_state"]


def _augment_batch(augmenter: Any, step: Any, xb: Any) -> Any:
    """``augmenter`` on the training batch of ``step``, its random draws a function of the
    layers' seeds and ``step`` alone (not of how many batches came before)."""
    import keras

    for state in seed_generator_states(augmenter):
        # A generator draws a few seeds per batch: 64 apart, batches never share one.
        counter = keras.ops.cast((step % 2**26) * 64, state.dtype)
        state.assign(keras.ops.stack([keras.ops.convert_to_tensor(state.value)[0], counter]))
    return augmenter(xb, training=True)


def make_dataset(
    x: Any,
    y: Any,
    *,
    batch_size: int,
    training: bool,
    seed: int = 0,
    cache: bool | str = True,
    augment: Any = None,
    shuffle: bool = True,
    start_step: int | None = None,
    shard: tuple[int, int] | None = None,
) -> Any:
    """A batched dataset of ``(x, y)`` for ``fit`` / ``evaluate``.

    Args:
        x: the examples: an array, a dict of arrays, or a :class:`~nnzoo.data.Listing` of
            files, read while the dataset is iterated.
        training: shuffle (seeded) and augment; else keep order.
        cache: ``data.cache``: keep what is decoded from listed files in memory (``True``,
            up to :data:`MEMORY_CACHE_BYTES`), in a cache file (``"disk"``) or nowhere
            (``False``).
        augment: an ``AugmentConfig``; applied to image batches in training only.
        start_step: for ``fit``: the training batches as one endless stream from this step
            (the optimizer's iteration count) on, pass ``p`` over the data in the order drawn
            from ``(seed, p)``; ``fit`` then needs ``steps_per_epoch``. Defaults to ``None``:
            one pass, in pass 0's order.
        shard: ``(worker, workers)`` under a multi-worker strategy: a training stream of
            listed files (TensorFlow) yields only batches ``worker, worker + workers, ...`` of
            the stream, so a worker decodes its share of each pass and no file another reads;
            the dataset then asks tf.distribute not to shard it again. Ignored otherwise.
    """
    augmenter = augmentation_layers(augment, seed) if training else None
    weights = sequence_weights(y)
    passes = _Passes(
        num_examples(x),
        batch_size,
        seed,
        shuffle=training and shuffle,
        start_step=start_step if training else None,
    )
    if is_listing(x):
        rows = DecodedRows(x, _cache_mode(x, cache))
        if backend() == "tensorflow":
            shard = shard if passes.endless and shard and shard[1] > 1 else None
            return _tf_file_dataset(rows, y, passes, augmenter, shard)
        return ArrayDataset(rows, y, passes=passes, augmenter=augmenter, workers=FILE_WORKERS)
    if backend() == "tensorflow":
        return _tf_dataset(x, y, weights, passes, cache, augmenter)
    return ArrayDataset(x, y, weights, passes=passes, augmenter=augmenter)


def _cache_mode(files: Any, cache: bool | str) -> str | bool:
    """Where a pipeline keeps the rows it decodes from ``files``: ``"memory"``, ``"disk"``
    or ``False``."""
    if cache == "disk" or not cache:
        return cache
    size = len(files) * files.row_bytes
    if size <= MEMORY_CACHE_BYTES:
        return "memory"
    log.info(
        "data.cache: %d decoded images (%s) would exceed the %s kept in memory: read from the "
        "files every pass (data.cache: disk keeps them in a cache file)",
        len(files),
        human_size(size),
        human_size(MEMORY_CACHE_BYTES),
    )
    return False


#: Files a pipeline could not read, for :func:`read_errors` (TensorFlow re-raises a Python
#: function's error as one of its own, whose text is a traceback).
_FAILED_READS: list[ConfigError] = []


@contextlib.contextmanager
def read_errors(file: str | None = None) -> Iterator[None]:
    """Around ``fit`` / ``evaluate``: a listed file that cannot be read while the pipeline
    streams it stops them with the :class:`ConfigError` that names the file (and ``file``,
    the config that set the data)."""
    _FAILED_READS.clear()
    try:
        yield
    except Exception as raised:
        # From tf.data, TensorFlow's own error; from a PyDataset, the ConfigError itself.
        err = _FAILED_READS[0] if _FAILED_READS else raised
        if not isinstance(err, ConfigError):
            raise
        raise ConfigError(
            err.message, file=err.file or file, key=err.key, line=err.line, fix=err.fix
        ) from None


class _Passes:
    """Which examples each batch holds: passes over ``n`` examples, pass ``p`` permuted by
    ``(seed, p)``; endlessly from step ``start_step`` on, or pass 0 alone when it is ``None``.
    """

    def __init__(
        self, n: int, batch_size: int, seed: int, *, shuffle: bool, start_step: int | None
    ) -> None:
        self.n, self.batch_size, self.seed, self.shuffle = n, batch_size, seed, shuffle
        self.batches_per_pass = math.ceil(n / batch_size)
        self.endless = start_step is not None
        # The stream starts at batch `skip` of pass `first`.
        self.first, self.skip = divmod(int(start_step or 0), max(self.batches_per_pass, 1))

    def order(self, p: int) -> np.ndarray:
        """The example indices of pass ``p``, in order (NumPy; the JAX / PyTorch path)."""
        if not self.shuffle:
            return np.arange(self.n)
        return np.random.default_rng([self.seed, p]).permutation(self.n)

    def step(self, index: int) -> int:
        """The training step of the stream's ``index``-th batch (counted from pass 0)."""
        return self.first * self.batches_per_pass + self.skip + index

    def locate(self, index: int) -> tuple[int, int]:
        """``(pass, batch within it)`` of the stream's ``index``-th batch."""
        return divmod(self.step(index), self.batches_per_pass)


def sequence_weights(y: Any) -> Any:
    """Per-token sample weights for sequence targets: 0 where the label is :data:`IGNORE_INDEX`.

    The loss already ignores those labels; the weights make the metrics (token accuracy)
    count only the positions that are scored (real next tokens, masked MLM positions).
    """
    if y is None or np.ndim(y) != 2 or not np.issubdtype(np.asarray(y).dtype, np.integer):
        return None
    return (np.asarray(y) != IGNORE_INDEX).astype("float32")


#: In-memory data up to this size is gathered batch-wise from tensors held by the pipeline;
#: larger arrays are gathered from NumPy (not copied into the graph: memory stays one copy).
IN_GRAPH_BYTES = 1 << 26


def _row_bytes(parts: tuple[Any, ...]) -> int:
    total = 0
    for part in parts:
        arrays = part.values() if isinstance(part, dict) else [part]
        for a in arrays:
            a = np.asarray(a)
            total += a.dtype.itemsize * int(np.prod(a.shape[1:]))
    return total


def _tf_dataset(
    x: Any, y: Any, weights: Any, passes: _Passes, cache: bool | str, augmenter: Any
) -> Any:
    import tensorflow as tf

    parts = (x,) if y is None else (x, y) if weights is None else (x, y, weights)
    n = passes.n
    if n * _row_bytes(parts) <= IN_GRAPH_BYTES:
        # Shuffle indices and gather whole batches from in-memory tensors (as Keras's own
        # array adapter does): far cheaper than shuffling examples one by one.
        tensors = tf.nest.map_structure(tf.convert_to_tensor, parts)
        ds = _index_batches(passes).map(
            lambda index: tf.nest.map_structure(lambda t: tf.gather(t, index), tensors),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
    else:
        # Larger arrays stay where they are (no copy into the graph): the same batches of
        # indices gather their rows from NumPy, one Python call a batch.
        arrays = [np.asarray(a) for a in tf.nest.flatten(parts)]

        def gather(index: np.ndarray) -> list[np.ndarray]:
            return [a[index] for a in arrays]

        def batch(index: Any) -> Any:
            dtypes = [tf.as_dtype(a.dtype) for a in arrays]
            out = tf.numpy_function(gather, [index], dtypes, stateful=False)
            for tensor, a in zip(out, arrays, strict=True):
                tensor.set_shape((None, *a.shape[1:]))
            return tf.nest.pack_sequence_as(parts, out)

        ds = _index_batches(passes).map(
            batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        )
    if y is None:
        ds = ds.map(lambda xb: xb[0] if isinstance(xb, tuple) else xb)
    return _finish(ds, passes, augmenter)


def _graph_as_written(fn: Any) -> Any:
    """``fn`` traced by ``tf.data`` as written, without AutoGraph: it has no Python control
    flow on tensors, and converting its source costs each new process ~0.1 s of a pass."""
    import tensorflow as tf

    return tf.autograph.experimental.do_not_convert(fn)


def _index_batches(passes: _Passes, shard: tuple[int, int] | None = None) -> Any:
    """The example indices of each batch of the stream (the ``tf.data`` paths): pass ``p``
    in the order drawn from ``(seed, p)`` (stateless: nothing else decides it), from batch
    ``passes.skip`` of pass ``passes.first`` on; endlessly, or that pass alone. With ``shard``
    ``(worker, workers)``, that worker's batches alone: ``worker, worker + workers, ...``."""
    import tensorflow as tf

    @_graph_as_written
    def pass_batches(p: Any) -> Any:
        index = tf.range(passes.n, dtype=tf.int64)
        if passes.shuffle:
            key = tf.stack([tf.constant(passes.seed, tf.int64), p])
            index = tf.random.experimental.stateless_shuffle(index, seed=key)
        return tf.data.Dataset.from_tensor_slices(index).batch(passes.batch_size)

    if passes.endless:
        pass_ids = tf.data.Dataset.counter(passes.first)
    else:
        pass_ids = tf.data.Dataset.range(passes.first, passes.first + 1)
    ds = pass_ids.flat_map(pass_batches).skip(passes.skip)
    return ds if shard is None else ds.shard(shard[1], shard[0])


def _finish(ds: Any, passes: _Passes, augmenter: Any, shard: tuple[int, int] | None = None) -> Any:
    """The batches of ``ds`` with their known count (one pass), augmented, prefetched; a
    worker's ``shard`` of the stream is its own and not to be sharded again."""
    import tensorflow as tf

    if not passes.endless:
        ds = ds.apply(tf.data.experimental.assert_cardinality(passes.batches_per_pass))
    if augmenter is not None:
        worker, workers = shard or (0, 1)
        # In order, not in parallel: the layers' seed state is shared by every call. The
        # k-th batch (of a worker's shard) is the stream's step step(0) + worker + k * workers.
        ds = ds.enumerate().map(
            lambda k, batch: (
                _augment_batch(augmenter, passes.step(0) + worker + k * workers, batch[0]),
                *batch[1:],
            )
        )
    ds = ds.prefetch(tf.data.AUTOTUNE)
    if shard is not None:
        # Each worker holds its own batches: tf.distribute's DATA auto-sharding would decode
        # every file on every worker and drop the other workers' rows.
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.OFF
        )
        ds = ds.with_options(options)
    return ds


def _tf_file_dataset(
    rows: DecodedRows,
    y: Any,
    passes: _Passes,
    augmenter: Any,
    shard: tuple[int, int] | None = None,
) -> Any:
    """Batches of listed files on TensorFlow: each batch's files read by the one decoder in a
    parallel, ordered map (one Python call a batch: PIL decodes without the GIL, so batches
    decode side by side), 8-bit until batched, then scaled to [0, 1] in the graph."""
    import tensorflow as tf

    labels = None if y is None else tf.convert_to_tensor(np.asarray(y))
    shape = rows.files.example_shape
    read = _batch_reader(rows)

    @_graph_as_written
    def batch(index: Any) -> Any:
        pixels = tf.numpy_function(read, [index], tf.uint8, stateful=False)
        pixels.set_shape((None, *shape))  # (B, H, W, C)
        x = tf.cast(pixels, tf.float32) / 255.0  # as image_array: 8-bit divided by 255
        return x if labels is None else (x, tf.gather(labels, index))

    # Skipped batches of a resumed stream are indices only: their files are not read.
    ds = _index_batches(passes, shard)
    ds = ds.map(batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return _finish(ds, passes, augmenter, shard)


def _batch_reader(rows: DecodedRows) -> Any:
    """``rows.pixels`` for ``tf.numpy_function``, keeping a file's :class:`ConfigError` for
    :func:`read_errors`."""

    def read(index: np.ndarray) -> np.ndarray:
        try:
            return rows.pixels(index)
        except ConfigError as err:
            _FAILED_READS.append(err)
            raise

    return read


def _py_dataset_base() -> type:
    import keras

    return keras.utils.PyDataset


class ArrayDataset:
    """A seeded ``keras.utils.PyDataset`` over in-memory arrays or listed files (no
    TensorFlow): the batches of a :class:`_Passes`, each pass's order drawn from ``(seed,
    pass)``; files are read by ``workers`` threads, the batches kept in order.

    Created through :func:`make_dataset`; the class is built lazily so that importing this
    module does not import Keras.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        return _array_dataset_class()(*args, **kwargs)


_ARRAY_DATASET: type | None = None


def _array_dataset_class() -> type:
    global _ARRAY_DATASET
    if _ARRAY_DATASET is not None:
        return _ARRAY_DATASET
    base = _py_dataset_base()

    class _ArrayDataset(base):  # type: ignore[misc, valid-type]
        def __init__(self, x, y, weights=None, *, passes, augmenter=None, workers=1):
            super().__init__(workers=workers, max_queue_size=max(10, 2 * workers))
            self.x, self.y, self.weights = x, y, weights
            self.passes = passes
            self.augmenter = augmenter
            # Read by worker threads: one attribute, replaced whole.
            self._order = (None, None)  # (pass, its order)
            self._augmenting = threading.Lock()

        @property
        def num_batches(self):
            return None if self.passes.endless else self.passes.batches_per_pass

        def __getitem__(self, index):
            p, b = self.passes.locate(index)
            if self._order[0] != p:
                self._order = (p, self.passes.order(p))
            size = self.passes.batch_size
            rows = self._order[1][b * size : (b + 1) * size]
            xb = self.x.read(rows) if isinstance(self.x, DecodedRows) else take(self.x, rows)
            if self.augmenter is not None:
                # Seeded from the step in one go: the layers' state is shared by the workers.
                with self._augmenting:
                    step = self.passes.step(index)
                    xb = np.asarray(_augment_batch(self.augmenter, step, xb))
            if self.y is None:
                return (xb,)
            if self.weights is not None:
                return xb, self.y[rows], self.weights[rows]
            return xb, self.y[rows]

    _ARRAY_DATASET = _ArrayDataset
    return _ArrayDataset
