"""Layers of the FT-Transformer (Gorishniy, Rubachevsky, Khrulkov & Babenko 2021, "Revisiting
Deep Learning Models for Tabular Data"): the feature tokenizer, the trailing ``[CLS]`` token and
the transformer block with ReGLU, as in the reference implementation ``yandex-research/rtdl``.

The block is written here rather than as an option of :class:`nnzoo.layers.TransformerLayer`:
it has separate attention, feed-forward and residual dropout rates, a gated feed-forward network
whose first projection is twice as wide, and may leave out its first layer norm, none of which
that layer has.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from nnzoo.cards import require_rate
from nnzoo.layers.transformer import key_dim


def token_initializer(d_token: int) -> Any:
    """``U(-1/sqrt(d_token), 1/sqrt(d_token))``: rtdl's ``uniform`` token initialization."""
    bound = 1.0 / math.sqrt(int(d_token))
    return keras.initializers.RandomUniform(-bound, bound)


@keras.saving.register_keras_serializable(package="nnzoo")
class FeatureTokenizer(keras.layers.Layer):
    """One ``d_token`` vector per feature: ``b_j + x_j * W_j`` for numeric feature ``j``, and
    ``E[c_j] + b_j`` for categorical feature ``j`` (a row of one shared embedding table).

    Args:
        num_numeric: numeric features (the last axis of the numeric input); may be 0.
        category_slots: the number of categories of each categorical feature; their rows lie
            one after the other in one table of ``sum(category_slots)`` rows. Defaults to `()`.
        d_token: size of each token.
        initializer: initializer of every weight. Defaults to `None`: rtdl's
            ``U(-1/sqrt(d_token), 1/sqrt(d_token))``.
        **kwargs: ``keras.layers.Layer`` arguments.

    Call arguments:
        numeric: ``(B, num_numeric)`` floats, or `None` when ``num_numeric`` is 0.
        categories: ``(B, len(category_slots))`` int32 row indices into the shared table (each
            column's codes already offset by the slots of the columns before it), or `None`
            when there are no categorical features. Defaults to `None`.

    Returns ``(B, num_numeric + len(category_slots), d_token)``: numeric tokens first.
    """

    def __init__(
        self,
        num_numeric: int,
        category_slots: Sequence[int] = (),
        d_token: int = 192,
        initializer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.num_numeric = int(num_numeric)
        self.category_slots = tuple(int(s) for s in category_slots)
        self.d_token = int(d_token)
        if self.num_numeric < 0 or self.d_token < 1 or any(s < 1 for s in self.category_slots):
            raise ValueError(
                "`num_numeric` must be 0 or more, `d_token` and each category slot count "
                f"positive. Received: num_numeric={num_numeric}, "
                f"category_slots={tuple(category_slots)}, d_token={d_token}"
            )
        if self.num_numeric + len(self.category_slots) == 0:
            raise ValueError(
                "A FeatureTokenizer needs at least one numeric or categorical feature."
            )
        self.initializer = keras.initializers.get(
            initializer if initializer is not None else token_initializer(self.d_token)
        )

    def _init(self) -> Any:  # each weight gets its own initializer instance
        return keras.initializers.get(keras.initializers.serialize(self.initializer))

    def build(self, numeric_shape: Any = None, categories_shape: Any = None) -> None:
        d = self.d_token
        if self.num_numeric:
            self.numeric_weight = self.add_weight(
                shape=(self.num_numeric, d), initializer=self._init(), name="numeric_weight"
            )
            self.numeric_bias = self.add_weight(
                shape=(self.num_numeric, d), initializer=self._init(), name="numeric_bias"
            )
        if self.category_slots:
            self.category_embeddings = self.add_weight(
                shape=(sum(self.category_slots), d),
                initializer=self._init(),
                name="category_embeddings",
            )
            self.category_bias = self.add_weight(
                shape=(len(self.category_slots), d), initializer=self._init(), name="category_bias"
            )
        self.built = True

    def call(self, numeric: Any = None, categories: Any = None) -> Any:
        tokens = []
        if self.num_numeric:
            if numeric is None:
                raise ValueError(f"This tokenizer takes {self.num_numeric} numeric features.")
            x = ops.cast(numeric, self.compute_dtype)
            # (B, n, 1) * (n, d) + (n, d) -> (B, n, d): a weight and a bias per feature.
            tokens.append(ops.expand_dims(x, -1) * self.numeric_weight + self.numeric_bias)
        if self.category_slots:
            if categories is None:
                raise ValueError(
                    f"This tokenizer takes {len(self.category_slots)} categorical features."
                )
            rows = ops.take(self.category_embeddings, ops.cast(categories, "int32"), axis=0)
            tokens.append(rows + self.category_bias)  # (B, n_cat, d)
        return tokens[0] if len(tokens) == 1 else ops.concatenate(tokens, axis=1)

    def compute_output_shape(self, numeric_shape: Any = None, categories_shape: Any = None):
        batch = (numeric_shape if numeric_shape is not None else categories_shape)[0]
        return (batch, self.num_numeric + len(self.category_slots), self.d_token)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "num_numeric": self.num_numeric,
                "category_slots": list(self.category_slots),
                "d_token": self.d_token,
                "initializer": keras.initializers.serialize(self.initializer),
            }
        )
        return config


@keras.saving.register_keras_serializable(package="nnzoo")
class TrailingClassToken(keras.layers.Layer):
    """Appends one learned ``[CLS]`` vector after the tokens of every example (rtdl's
    ``CLSToken``): ``(B, N, d) -> (B, N + 1, d)``.

    Args:
        initializer: initializer of the ``(d,)`` vector. Defaults to `None`: rtdl's
            ``U(-1/sqrt(d), 1/sqrt(d))``.
        **kwargs: ``keras.layers.Layer`` arguments.
    """

    def __init__(self, initializer: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.initializer = None if initializer is None else keras.initializers.get(initializer)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        d = int(input_shape[-1])
        init = self.initializer if self.initializer is not None else token_initializer(d)
        self.token = self.add_weight(shape=(d,), initializer=init, name="token")
        self.built = True

    def call(self, inputs: Any) -> Any:
        shape = ops.shape(inputs)
        token = ops.cast(ops.reshape(self.token, (1, 1, -1)), inputs.dtype)
        token = ops.broadcast_to(token, (shape[0], 1, shape[2]))
        return ops.concatenate([inputs, token], axis=1)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        n = input_shape[1]
        return (input_shape[0], None if n is None else n + 1, input_shape[2])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        init = None if self.initializer is None else keras.initializers.serialize(self.initializer)
        config.update({"initializer": init})
        return config


@keras.saving.register_keras_serializable(package="nnzoo")
class FTTransformerBlock(keras.layers.Layer):
    """A pre-norm transformer block with a ReGLU feed-forward network (rtdl's ``Transformer``
    block, ``prenormalization=True``)::

        x = x + residual_dropout(attention(norm1(x)))      # norm1 left out: first_norm=False
        x = x + residual_dropout(ffn(norm2(x)))
        ffn(x) = dense_out(ffn_dropout(reglu(dense_in(x))))  # dense_in: 2 * ffn_hidden_dim
        reglu([a, b]) = a * relu(b)

    Args:
        d_token: size of the tokens (input and output).
        num_heads: attention heads; each has ``key_dim = d_token // num_heads``.
        ffn_hidden_dim: hidden size of the feed-forward network (after the gate).
        attention_dropout: dropout on the attention probabilities. Defaults to `0.0`.
        ffn_dropout: dropout on the feed-forward hidden units. Defaults to `0.0`.
        residual_dropout: dropout on both branches before their residual sum. Defaults to
            `0.0`.
        first_norm: normalise the attention input; the paper leaves it out of the first block
            (its input is the tokenizer's output). Defaults to `True`.
        layer_norm_epsilon: epsilon of the layer norms. Defaults to `1e-5` (PyTorch's).
        **kwargs: ``keras.layers.Layer`` arguments.
    """

    def __init__(
        self,
        d_token: int,
        num_heads: int,
        ffn_hidden_dim: int,
        attention_dropout: float = 0.0,
        ffn_dropout: float = 0.0,
        residual_dropout: float = 0.0,
        first_norm: bool = True,
        layer_norm_epsilon: float = 1e-5,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        for name, rate in (
            ("attention_dropout", attention_dropout),
            ("ffn_dropout", ffn_dropout),
            ("residual_dropout", residual_dropout),
        ):
            require_rate(name, rate)
        self.d_token = int(d_token)
        self.num_heads = int(num_heads)
        self.key_dim = key_dim(d_token, num_heads)
        self.ffn_hidden_dim = int(ffn_hidden_dim)
        self.attention_dropout = float(attention_dropout)
        self.ffn_dropout = float(ffn_dropout)
        self.residual_dropout = float(residual_dropout)
        self.first_norm = bool(first_norm)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        policy = self.dtype_policy
        self.attention_norm = (
            keras.layers.LayerNormalization(
                epsilon=self.layer_norm_epsilon, dtype=policy, name="attention_norm"
            )
            if self.first_norm
            else None
        )
        self.attention = keras.layers.MultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=self.key_dim,
            dropout=self.attention_dropout,
            dtype=policy,
            name="attention",
        )
        self.attention_residual_dropout = keras.layers.Dropout(
            self.residual_dropout, dtype=policy, name="attention_residual_dropout"
        )
        self.ffn_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="ffn_norm"
        )
        self.ffn_in = keras.layers.Dense(2 * self.ffn_hidden_dim, dtype=policy, name="ffn_in")
        self.ffn_hidden_dropout = keras.layers.Dropout(
            self.ffn_dropout, dtype=policy, name="ffn_dropout"
        )
        self.ffn_out = keras.layers.Dense(self.d_token, dtype=policy, name="ffn_out")
        self.ffn_residual_dropout = keras.layers.Dropout(
            self.residual_dropout, dtype=policy, name="ffn_residual_dropout"
        )

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        if input_shape[-1] != self.d_token:
            raise ValueError(
                "The last axis of the input must be `d_token`. "
                f"Received: input_shape={tuple(input_shape)}, d_token={self.d_token}"
            )
        if self.attention_norm is not None:
            self.attention_norm.build(input_shape)
        self.attention.build(input_shape, input_shape)
        self.ffn_norm.build(input_shape)
        self.ffn_in.build(input_shape)
        self.ffn_out.build((*input_shape[:-1], self.ffn_hidden_dim))
        self.built = True

    def call(self, inputs: Any, training: Any = None) -> Any:
        x = self.attention_norm(inputs) if self.attention_norm is not None else inputs
        x = self.attention(query=x, value=x, training=training)
        x = inputs + self.attention_residual_dropout(x, training=training)

        h = self.ffn_in(self.ffn_norm(x))  # (B, N, 2 * ffn_hidden_dim)
        a, b = h[..., : self.ffn_hidden_dim], h[..., self.ffn_hidden_dim :]
        h = self.ffn_hidden_dropout(a * ops.relu(b), training=training)  # ReGLU
        h = self.ffn_out(h)  # (B, N, d_token)
        return x + self.ffn_residual_dropout(h, training=training)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "d_token": self.d_token,
                "num_heads": self.num_heads,
                "ffn_hidden_dim": self.ffn_hidden_dim,
                "attention_dropout": self.attention_dropout,
                "ffn_dropout": self.ffn_dropout,
                "residual_dropout": self.residual_dropout,
                "first_norm": self.first_norm,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config
