"""Precise batch-norm statistics before every evaluation (``train.precise_bn``).

A batch-norm layer normalises with the batch's statistics in training and with its moving
averages in evaluation. The moving averages trail the weights: they mix the statistics of the
last ~``1 / (1 - momentum)`` steps, computed by weights that have changed since. On a short run
(tens of steps, a high learning rate) they describe a network that no longer exists, and the
model evaluates far worse than it trains: ResNet-18 on the 1,797 digits, 2 epochs of 11 steps,
validated at 0.30 accuracy in evaluation mode and 0.92 with the batch's statistics.

PreciseBN (Wu & Johnson 2021, "Rethinking 'Batch' in BatchNorm", Section 3; pycls and
detectron2's ``PreciseBN`` hook) recomputes the statistics with the weights fixed: the exact mean
of the per-batch statistics over a fixed sample of the training split. nnzoo does it before each
validation (and at the end of an epoch without one), so the validation metrics, the checkpoints
and the saved model all carry statistics of their own weights. It costs a forward pass over at
most :data:`MAX_BATCHES` batches an epoch. The sample's rows are drawn once from the run's seed,
so a resumed run repeats the uninterrupted one, and read from the training split a batch at a
time when they are used (listed image files are decoded then, not before training).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import keras
import numpy as np

from nnzoo.config import Config
from nnzoo.data import num_examples, read_rows

#: Batches of the training split the statistics are averaged over, at most.
MAX_BATCHES = 32


def batch_norm_layers(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    """Every ``BatchNormalization`` layer of ``model``, nested ones included."""
    # _flatten_layers is how Keras itself walks nested layers (summary, weights).
    return [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]


def recalibrate(model: keras.Model, batches: Iterable[Any]) -> int:
    """Set every batch-norm layer's moving mean and variance to the mean of its batch statistics
    over ``batches`` (the model's inputs), with the weights unchanged. Returns the number of
    batches used (0: the model has no batch norm)."""
    layers = batch_norm_layers(model)
    if not layers:
        return 0
    momenta = [layer.momentum for layer in layers]
    count = 0
    try:
        for count, x in enumerate(batches, start=1):
            # moving <- moving * (k-1)/k + batch / k: the running mean of the k batches so far.
            for layer in layers:
                layer.momentum = (count - 1) / count
            model(x, training=True)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
    return count


class SampleBatches:
    """Up to :data:`MAX_BATCHES` batches of ``x`` (an array, a dict of arrays or a listing of
    files), drawn once without replacement with ``seed`` (a class-ordered split still gives
    mixed batches) and read from ``x`` each time they are iterated: one batch in memory at a
    time, and nothing read before the first recalibration."""

    def __init__(self, x: Any, batch_size: int, seed: int) -> None:
        self.x = x
        take = np.random.default_rng(seed).permutation(num_examples(x))[: MAX_BATCHES * batch_size]
        self.rows = [take[s : s + batch_size] for s in range(0, len(take), batch_size)]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> Any:
        return read_rows(self.x, self.rows[i])

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]


def sample_batches(x: Any, batch_size: int, seed: int) -> SampleBatches:
    """The :class:`SampleBatches` of ``x``: up to :data:`MAX_BATCHES` batches, drawn with
    ``seed``, read when iterated."""
    return SampleBatches(x, batch_size, seed)


class PreciseBatchNorm(keras.callbacks.Callback):
    """Recomputes the batch-norm statistics before each validation in ``fit`` (or at the end of
    an epoch without one). Put it first among the callbacks, so that early stopping and the
    checkpoints keep the recomputed statistics."""

    def __init__(self, batches: Iterable[Any]) -> None:
        super().__init__()
        self.batches = batches
        self._fitting = False
        self._done = False

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._fitting = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._fitting = False

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._done = False

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self._fitting and not self._done:
            recalibrate(self.model, self.batches)
            self._done = True

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._done:
            recalibrate(self.model, self.batches)
            self._done = True


def precise_bn_callbacks(
    config: Config, model: keras.Model, train_x: Any, replicas: int
) -> list[keras.callbacks.Callback]:
    """``[PreciseBatchNorm]`` when ``train.precise_bn`` asks for it and the model has batch
    norm (``auto``: whenever it has), else ``[]``. Off with several replicas: their moving
    statistics are synchronised by the strategy, not by a call outside it."""
    if config.train.precise_bn is False or replicas > 1 or not batch_norm_layers(model):
        return []
    return [PreciseBatchNorm(sample_batches(train_x, config.data.batch_size, config.seed))]
