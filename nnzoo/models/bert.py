"""BERT (Devlin et al. 2018, "BERT: Pre-training of Deep Bidirectional Transformers for Language
Understanding"), with the compact sizes of Turc et al. 2019 ("Well-Read Students Learn Better").

Token + segment + learned position embeddings, an embedding layer norm and dropout, post-norm
encoder layers (GELU in its tanh form, as in the original BERT code and KerasHub) that never
attend to padding, then either

- ``task="classification"`` (default): the tanh pooler on ``[CLS]`` (the first token), dropout
  and a linear head; or
- ``task="masked_lm"``: per-token vocabulary logits ``(B, T, vocabulary_size)`` from BERT's
  transform head (dense + GELU + layer norm) and an output projection tied to the token
  embedding plus a bias.

``bert_base`` reproduces BERT-base: 109,482,240 parameters with the pooler, plus the head;
``bert_large`` BERT-large: 335,141,888. The compact sizes (``bert_tiny`` ... ``bert_medium``)
default to a small vocabulary; their KerasHub presets bring BERT's 30,522 WordPieces.
"""

from __future__ import annotations

import functools
from typing import Any, Literal, get_args

from nnzoo.cards import NumClasses, PositiveInt, Rate, register_model
from nnzoo.models import _counts
from nnzoo.models._common import output_units
from nnzoo.models._rules import check_heads

PAPER = (
    "Devlin et al. 2018, BERT: Pre-training of Deep Bidirectional Transformers for Language "
    "Understanding"
)
SMALL_PAPER = PAPER + "; compact sizes from Turc et al. 2019, Well-Read Students Learn Better"
BertTask = Literal["classification", "masked_lm"]
BERT_TASKS = get_args(BertTask)


def _check_bert(*, hidden_dim: int, num_heads: int, **_: Any) -> None:
    check_heads(hidden_dim, num_heads)


def _count_bert(
    *,
    vocabulary_size: int,
    max_sequence_length: int,
    num_layers: int,
    hidden_dim: int,
    intermediate_dim: int,
    num_segments: int,
    num_classes: int,
    task: str,
    **_: Any,
) -> int:
    embeddings = sum(
        _counts.embedding(rows, hidden_dim)
        for rows in (vocabulary_size, max_sequence_length, num_segments)
    )
    embeddings += _counts.layer_norm(hidden_dim)
    layers = int(num_layers) * _counts.transformer_layer(hidden_dim, intermediate_dim)
    if task == "masked_lm":
        # Transform (dense + layer norm), the tied projection (no weights of its own), a bias.
        transform = _counts.dense(hidden_dim, hidden_dim) + _counts.layer_norm(hidden_dim)
        return embeddings + layers + transform + int(vocabulary_size)
    pooler = _counts.dense(hidden_dim, hidden_dim)
    return embeddings + layers + pooler + _counts.dense(hidden_dim, output_units(num_classes))


def _build_bert(
    *,
    vocabulary_size: PositiveInt = 30522,
    max_sequence_length: PositiveInt = 512,
    num_layers: PositiveInt = 12,
    num_heads: PositiveInt = 12,
    hidden_dim: PositiveInt = 768,
    intermediate_dim: PositiveInt = 3072,
    dropout: Rate = 0.1,
    num_segments: PositiveInt = 2,
    num_classes: NumClasses = 2,
    task: BertTask = "classification",
) -> Any:
    import keras

    from nnzoo.layers import Bias, PositionEmbedding, transformer_stack
    from nnzoo.models._common import classifier_head, token_inputs

    if task not in BERT_TASKS:
        raise ValueError(f"`task` must be one of {', '.join(BERT_TASKS)}. Received: task={task!r}")
    _check_bert(hidden_dim=hidden_dim, num_heads=num_heads)
    init = keras.initializers.TruncatedNormal(stddev=0.02)

    inputs = token_inputs(segments=True)
    token_embedding = keras.layers.ReversibleEmbedding(
        vocabulary_size, hidden_dim, embeddings_initializer=init, name="token_embedding"
    )
    tokens = token_embedding(inputs["token_ids"])  # (B, T, hidden_dim)
    positions = PositionEmbedding(
        max_sequence_length, initializer=init, name="position_embedding"
    )(tokens)
    segments = keras.layers.Embedding(
        num_segments, hidden_dim, embeddings_initializer=init, name="segment_embedding"
    )(inputs["segment_ids"])
    x = keras.layers.Add(name="embeddings_add")([tokens, positions, segments])
    x = keras.layers.LayerNormalization(epsilon=1e-12, name="embeddings_layer_norm")(x)
    x = keras.layers.Dropout(dropout, name="embeddings_dropout")(x)
    x = transformer_stack(
        x,
        num_layers=num_layers,
        padding_mask=inputs["padding_mask"],
        hidden_dim=hidden_dim,
        num_heads=num_heads,
        intermediate_dim=intermediate_dim,
        dropout=dropout,
        activation="gelu_approximate",
        layer_norm_epsilon=1e-12,
        normalize_first=False,
        kernel_initializer=init,
    )  # (B, T, hidden_dim)

    if task == "masked_lm":
        x = keras.layers.Dense(
            hidden_dim, activation="gelu", kernel_initializer=init, name="mlm_transform_dense"
        )(x)
        x = keras.layers.LayerNormalization(epsilon=1e-12, name="mlm_transform_layer_norm")(x)
        # Weight tying: the output projection is the transposed token embedding.
        x = token_embedding(x, reverse=True)  # (B, T, vocabulary_size)
        outputs = Bias(name="mlm_output_bias")(x)
        return keras.Model(inputs, outputs, name="bert_masked_lm")

    x = x[:, 0, :]  # (B, hidden_dim): the [CLS] token
    x = keras.layers.Dense(
        hidden_dim, activation="tanh", kernel_initializer=init, name="pooled_dense"
    )(x)
    x = keras.layers.Dropout(dropout, name="pooled_dropout")(x)
    outputs = classifier_head(x, num_classes)
    return keras.Model(inputs, outputs, name="bert")


_register = functools.partial(
    register_model,
    builder=_build_bert,
    task="classification",
    tasks=BERT_TASKS,
    input_kind="tokens_segments",
    paper=SMALL_PAPER,
    check=_check_bert,
    count_params=_count_bert,
)
SMALL = dict(vocabulary_size=1000, max_sequence_length=128)

_register(
    "bert_tiny",
    summary="BERT-Tiny: 2 layers, 128 hidden, 2 heads; a CPU-sized BERT classifier.",
    num_params=558_081,
    defaults=dict(SMALL, num_layers=2, num_heads=2, hidden_dim=128, intermediate_dim=512),
    presets=("bert_tiny_en_uncased", "bert_tiny_en_uncased_sst2"),
)

_register(
    "bert_mini",
    summary="BERT-Mini: 4 layers, 256 hidden, 4 heads.",
    num_params=3_514_881,
    defaults=dict(SMALL, num_layers=4, num_heads=4, hidden_dim=256, intermediate_dim=1024),
)

_register(
    "bert_small",
    summary="BERT-Small: 4 layers, 512 hidden, 8 heads.",
    num_params=13_452_289,
    defaults=dict(SMALL, num_layers=4, num_heads=8, hidden_dim=512, intermediate_dim=2048),
    presets=("bert_small_en_uncased",),
)

_register(
    "bert_medium",
    summary="BERT-Medium: 8 layers, 512 hidden, 8 heads.",
    num_params=26_061_825,
    defaults=dict(SMALL, num_layers=8, num_heads=8, hidden_dim=512, intermediate_dim=2048),
    presets=("bert_medium_en_uncased",),
)

_register(
    "bert_base",
    paper=PAPER,
    summary="BERT-base: 12 layers, 768 hidden, 12 heads, 30522 WordPiece vocabulary (109.5M).",
    num_params=109_483_009,
    presets=("bert_base_en_uncased", "bert_base_en", "bert_base_zh", "bert_base_multi"),
)

_register(
    "bert_large",
    paper=PAPER,
    summary="BERT-large: 24 layers, 1024 hidden, 16 heads, 30522 WordPiece vocabulary (335.1M).",
    num_params=335_142_913,
    defaults=dict(num_layers=24, num_heads=16, hidden_dim=1024, intermediate_dim=4096),
    presets=("bert_large_en_uncased", "bert_large_en"),
)
