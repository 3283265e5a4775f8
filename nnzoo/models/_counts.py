"""Closed-form parameter counts of the layers the families use, without Keras.

Each function returns exactly what ``layer.count_params()`` gives in Keras 3 — every weight,
non-trainable ones included — so a family can give its card a ``count_params`` and nnzoo can
estimate a model's memory before building it (``tests/models/test_hyperparameters.py`` checks
each family's formula against Keras on several sizes).
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def dense(inputs: int, units: int, *, bias: bool = True) -> int:
    """``Dense(units)`` on ``inputs`` features: the kernel and the bias."""
    return int(inputs) * int(units) + (int(units) if bias else 0)


def conv2d(kernel_size: int, channels: int, filters: int, *, bias: bool = True) -> int:
    """``Conv2D(filters, kernel_size)`` on ``channels`` input channels."""
    return int(kernel_size) ** 2 * int(channels) * int(filters) + (int(filters) if bias else 0)


def batch_norm(channels: int) -> int:
    """``BatchNormalization``: gamma and beta, plus the moving mean and variance."""
    return 4 * int(channels)


def layer_norm(dim: int) -> int:
    """``LayerNormalization``: gamma and beta."""
    return 2 * int(dim)


def normalization(features: int) -> int:
    """An adaptable ``Normalization`` (axis -1): mean, variance and the sample count."""
    return 2 * int(features) + 1


def embedding(vocabulary_size: int, dim: int) -> int:
    """``Embedding`` / ``ReversibleEmbedding`` (tied), ``PositionEmbedding``: one table."""
    return int(vocabulary_size) * int(dim)


def transformer_layer(hidden_dim: int, intermediate_dim: int) -> int:
    """One :class:`nnzoo.layers.TransformerLayer`, pre- or post-norm, encoder or decoder.

    Attention: query, key, value and output projections, each ``hidden_dim`` x ``hidden_dim``
    plus a bias (``num_heads * key_dim == hidden_dim``); two layer norms; the feed-forward
    ``hidden_dim -> intermediate_dim -> hidden_dim``.
    """
    h, i = int(hidden_dim), int(intermediate_dim)
    attention = 4 * dense(h, h)
    return attention + 2 * layer_norm(h) + dense(h, i) + dense(i, h)


def lstm(inputs: int, units: int) -> int:
    """``LSTM(units)``: four gates, each with input and recurrent kernels and a bias."""
    return 4 * (int(inputs) * int(units) + int(units) ** 2 + int(units))


def gru(inputs: int, units: int) -> int:
    """``GRU(units)`` (Keras 3, ``reset_after=True``): three gates, input and recurrent biases."""
    return 3 * (int(inputs) * int(units) + int(units) ** 2 + 2 * int(units))


def prod(values: Iterable[int]) -> int:
    """The product of ``values`` as a Python int (the size of a flattened shape)."""
    return math.prod(int(v) for v in values)
