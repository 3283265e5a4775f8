"""Turn NumPy splits into what ``model.fit`` consumes.

On the TensorFlow backend: a ``tf.data`` pipeline (cache, shuffle with the run seed, batch,
augment on the training split only, prefetch AUTOTUNE). On JAX / PyTorch: a
``keras.utils.PyDataset`` over the same arrays, so TensorFlow need not be installed.

For ``fit`` the training split is one endless stream of batches: pass ``p`` over the data is
shuffled by ``(seed, p)`` alone, never by how many passes this process has made, and the stream
can start at any step, so a resumed run sees the very batches the uninterrupted run saw.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnzoo.data._prepare import IGNORE_INDEX
from nnzoo.data._sources import num_examples, take


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
    cache: bool = True,
    augment: Any = None,
    shuffle: bool = True,
    start_step: int | None = None,
) -> Any:
    """A batched dataset of ``(x, y)`` for ``fit`` / ``evaluate``.

    Args:
        training: shuffle (seeded) and augment; else keep order.
        augment: an ``AugmentConfig``; applied to image batches in training only.
        start_step: for ``fit``: the training batches as one endless stream from this step
            (the optimizer's iteration count) on, pass ``p`` over the data in the order drawn
            from ``(seed, p)``; ``fit`` then needs ``steps_per_epoch``. Defaults to ``None``:
            one pass, in pass 0's order.
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
    if backend() == "tensorflow":
        return _tf_dataset(x, y, weights, passes, cache, augmenter)
    return ArrayDataset(x, y, weights, passes=passes, augmenter=augmenter)


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


#: In-memory data up to this size is gathered batch-wise from tensors held by the pipeline.
IN_GRAPH_BYTES = 1 << 30


def _row_bytes(parts: tuple[Any, ...]) -> int:
    total = 0
    for part in parts:
        arrays = part.values() if isinstance(part, dict) else [part]
        for a in arrays:
            a = np.asarray(a)
            total += a.dtype.itemsize * int(np.prod(a.shape[1:]))
    return total


def _tf_dataset(x: Any, y: Any, weights: Any, passes: _Passes, cache: bool, augmenter: Any) -> Any:
    import tensorflow as tf

    parts = (x,) if y is None else (x, y) if weights is None else (x, y, weights)
    n, batch_size, seed = passes.n, passes.batch_size, passes.seed
    pass_ids = (
        tf.data.Dataset.counter(passes.first)
        if passes.endless
        else tf.data.Dataset.range(passes.first, passes.first + 1)
    )
    if n * _row_bytes(parts) <= IN_GRAPH_BYTES:
        # Shuffle indices and gather whole batches from in-memory tensors (as Keras's own
        # array adapter does): far cheaper than shuffling examples one by one.
        tensors = tf.nest.map_structure(tf.convert_to_tensor, parts)

        def pass_batches(p: Any) -> Any:
            index = tf.range(n, dtype=tf.int64)
            if passes.shuffle:
                # Stateless: the order is a function of (seed, pass) and nothing else.
                key = tf.stack([tf.constant(seed, tf.int64), p])
                index = tf.random.experimental.stateless_shuffle(index, seed=key)
            return tf.data.Dataset.from_tensor_slices(index).batch(batch_size)

        ds = pass_ids.flat_map(pass_batches).skip(passes.skip)
        ds = ds.map(
            lambda index: tf.nest.map_structure(lambda t: tf.gather(t, index), tensors),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        if y is None:
            ds = ds.map(lambda xb: xb[0] if isinstance(xb, tuple) else xb)
    else:
        examples = tf.data.Dataset.from_tensor_slices(parts if y is not None else x)
        if cache:
            examples = examples.cache()

        def pass_batches(p: Any) -> Any:
            ds = examples
            if passes.shuffle:
                ds = ds.shuffle(min(n, 50_000), seed=seed * 1_000_003 + p)
            return ds.batch(batch_size)

        ds = pass_ids.flat_map(pass_batches).skip(passes.skip)
    if not passes.endless:
        ds = ds.apply(tf.data.experimental.assert_cardinality(passes.batches_per_pass))
    if augmenter is not None:
        # In order, not in parallel: the layers' seed state is shared by every call.
        ds = ds.enumerate(passes.step(0)).map(
            lambda step, batch: (_augment_batch(augmenter, step, batch[0]), *batch[1:])
        )
    return ds.prefetch(tf.data.AUTOTUNE)


def _py_dataset_base() -> type:
    import keras

    return keras.utils.PyDataset


class ArrayDataset:
    """A seeded ``keras.utils.PyDataset`` over in-memory arrays (no TensorFlow): the batches of
    a :class:`_Passes`, each pass's order drawn from ``(seed, pass)``.

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
        def __init__(self, x, y, weights=None, *, passes, augmenter=None):
            super().__init__()
            self.x, self.y, self.weights = x, y, weights
            self.passes = passes
            self.augmenter = augmenter
            self._pass, self._order = None, None

        @property
        def num_batches(self):
            return None if self.passes.endless else self.passes.batches_per_pass

        def __getitem__(self, index):
            p, b = self.passes.locate(index)
            if p != self._pass:
                self._pass, self._order = p, self.passes.order(p)
            size = self.passes.batch_size
            rows = self._order[b * size : (b + 1) * size]
            xb = take(self.x, rows)
            if self.augmenter is not None:
                xb = np.asarray(_augment_batch(self.augmenter, self.passes.step(index), xb))
            if self.y is None:
                return (xb,)
            if self.weights is not None:
                return xb, self.y[rows], self.weights[rows]
            return xb, self.y[rows]

    _ARRAY_DATASET = _ArrayDataset
    return _ArrayDataset
