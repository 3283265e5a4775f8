"""Transformer-encoder text classifier (Vaswani et al. 2017, "Attention Is All You Need").

Token embeddings plus learned position embeddings (sized to ``max_sequence_length``), a stack of
post-norm encoder layers (ReLU feed-forward, as in the paper) that never attend to padding, a
mean over the real tokens, dropout and a linear head. This is the seed's Transformer block made
correct: ``key_dim = hidden_dim // num_heads``, positions fit the sequence, the padding mask is
honoured.
"""

from __future__ import annotations

from typing import Any

from nnzoo.cards import NumClasses, PositiveInt, Rate, register_model
from nnzoo.models import _counts
from nnzoo.models._common import output_units
from nnzoo.models._rules import check_heads


def _check_transformer(*, hidden_dim: int, num_heads: int, **_: Any) -> None:
    check_heads(hidden_dim, num_heads)


def _count_transformer(
    *,
    vocabulary_size: int,
    max_sequence_length: int,
    num_layers: int,
    hidden_dim: int,
    intermediate_dim: int,
    num_classes: int,
    **_: Any,
) -> int:
    tokens = _counts.embedding(vocabulary_size, hidden_dim)
    positions = _counts.embedding(max_sequence_length, hidden_dim)
    layers = int(num_layers) * _counts.transformer_layer(hidden_dim, intermediate_dim)
    return tokens + positions + layers + _counts.dense(hidden_dim, output_units(num_classes))


def _build_transformer(
    *,
    vocabulary_size: PositiveInt = 10_000,
    max_sequence_length: PositiveInt = 256,
    num_layers: PositiveInt = 2,
    num_heads: PositiveInt = 2,
    hidden_dim: PositiveInt = 64,
    intermediate_dim: PositiveInt = 128,
    dropout: Rate = 0.1,
    num_classes: NumClasses = 2,
) -> Any:
    import keras

    from nnzoo.layers import MaskedMeanPooling, PositionEmbedding, transformer_stack
    from nnzoo.models._common import classifier_head, token_inputs

    _check_transformer(hidden_dim=hidden_dim, num_heads=num_heads)
    inputs = token_inputs()
    tokens = keras.layers.Embedding(vocabulary_size, hidden_dim, name="token_embedding")(
        inputs["token_ids"]
    )  # (B, T, hidden_dim)
    positions = PositionEmbedding(max_sequence_length, name="position_embedding")(tokens)
    x = keras.layers.Add(name="embeddings_add")([tokens, positions])
    x = keras.layers.Dropout(dropout, name="embeddings_dropout")(x)
    x = transformer_stack(
        x,
        num_layers=num_layers,
        padding_mask=inputs["padding_mask"],
        hidden_dim=hidden_dim,
        num_heads=num_heads,
        intermediate_dim=intermediate_dim,
        dropout=dropout,
        activation="relu",
        normalize_first=False,
    )
    x = MaskedMeanPooling(name="pooling")(x, padding_mask=inputs["padding_mask"])  # (B, hidden)
    x = keras.layers.Dropout(dropout, name="pooled_dropout")(x)
    outputs = classifier_head(x, num_classes)
    return keras.Model(inputs, outputs, name="transformer")


register_model(
    "transformer",
    _build_transformer,
    task="classification",
    input_kind="tokens",
    paper="Vaswani et al. 2017, Attention Is All You Need",
    summary="Small transformer-encoder text classifier: 2 post-norm layers, masked mean pooling.",
    num_params=723_393,
    check=_check_transformer,
    count_params=_count_transformer,
)
