"""Turn NumPy splits into what ``model.fit`` consumes.

On the TensorFlow backend: a ``tf.data`` pipeline (cache, shuffle with the run seed, batch,
augment on the training split only, prefetch AUTOTUNE). On JAX / PyTorch: a
``keras.utils.PyDataset`` over the same arrays, so TensorFlow need not be installed.
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
) -> Any:
    """A batched dataset of ``(x, y)`` for ``fit`` / ``evaluate``.

    Args:
        training: shuffle (seeded, reshuffled each epoch) and augment; else keep order.
        augment: an ``AugmentConfig``; applied to image batches in training only.
    """
    augmenter = augmentation_layers(augment, seed) if training else None
    weights = sequence_weights(y)
    if backend() == "tensorflow":
        return _tf_dataset(x, y, weights, batch_size, training and shuffle, seed, cache, augmenter)
    return ArrayDataset(
        x,
        y,
        weights,
        batch_size=batch_size,
        shuffle=training and shuffle,
        seed=seed,
        augmenter=augmenter,
    )


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


def _tf_dataset(
    x: Any,
    y: Any,
    weights: Any,
    batch_size: int,
    shuffle: bool,
    seed: int,
    cache: bool,
    augmenter: Any,
) -> Any:
    import tensorflow as tf

    parts = (x,) if y is None else (x, y) if weights is None else (x, y, weights)
    n = num_examples(x)
    if n * _row_bytes(parts) <= IN_GRAPH_BYTES:
        # Shuffle indices and gather whole batches from in-memory tensors (as Keras's own
        # array adapter does): far cheaper than shuffling examples one by one.
        tensors = tf.nest.map_structure(tf.convert_to_tensor, parts)
        ds = tf.data.Dataset.range(n)
        if shuffle:
            ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size).map(
            lambda index: tf.nest.map_structure(lambda t: tf.gather(t, index), tensors),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        if y is None:
            ds = ds.map(lambda xb: xb[0] if isinstance(xb, tuple) else xb)
    else:
        ds = tf.data.Dataset.from_tensor_slices(parts if y is not None else x)
        if cache:
            ds = ds.cache()
        if shuffle:
            ds = ds.shuffle(min(n, 50_000), seed=seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size)
    if augmenter is not None:
        ds = ds.map(
            lambda xb, *rest: (augmenter(xb, training=True), *rest),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return ds.prefetch(tf.data.AUTOTUNE)


def _py_dataset_base() -> type:
    import keras

    return keras.utils.PyDataset


class ArrayDataset:
    """A seeded, shuffling ``keras.utils.PyDataset`` over in-memory arrays (no TensorFlow).

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
        def __init__(self, x, y, weights=None, *, batch_size, shuffle, seed, augmenter=None):
            super().__init__()
            self.x, self.y, self.weights = x, y, weights
            self.batch_size = batch_size
            self.shuffle = shuffle
            self.augmenter = augmenter
            self._rng = np.random.default_rng(seed)
            self._n = num_examples(x)
            self._order = np.arange(self._n)
            if shuffle:
                self._rng.shuffle(self._order)

        def __len__(self):
            return math.ceil(self._n / self.batch_size)

        def __getitem__(self, index):
            rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
            xb = take(self.x, rows)
            if self.augmenter is not None:
                xb = np.asarray(self.augmenter(xb, training=True))
            if self.y is None:
                return (xb,)
            if self.weights is not None:
                return xb, self.y[rows], self.weights[rows]
            return xb, self.y[rows]

        def on_epoch_end(self):
            if self.shuffle:
                self._rng.shuffle(self._order)

    _ARRAY_DATASET = _ArrayDataset
    return _ArrayDataset
