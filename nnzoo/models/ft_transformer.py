"""FT-Transformer (Gorishniy, Rubachevsky, Khrulkov & Babenko 2021, "Revisiting Deep Learning
Models for Tabular Data"): each feature becomes a token, a transformer mixes them, and a head
reads the [CLS] token.

The card is the paper's default configuration (its "FT-Transformer" baseline, as rtdl's
``FTTransformer.get_baseline_transformer_subconfig``): d_token 192, 3 blocks of 8 heads,
attention dropout 0.2, a ReGLU feed-forward network of ``d_token * 4 / 3`` hidden units with
dropout 0.1, residual dropout 0, pre-norm without the first block's first layer norm, and a
LayerNorm -> ReLU -> Linear head on the [CLS] token, appended after the feature tokens as in
rtdl. It takes what ``mlp`` takes: a vector of numeric ``features``.

The layers (feature tokenizer, class token, block) are in :mod:`nnzoo.layers.tabular`; the
tokenizer also embeds categorical features, which this card does not take (yet).
"""

from __future__ import annotations

from typing import Any

from nnzoo.cards import (
    HyperparameterError,
    NumClasses,
    PositiveInt,
    Rate,
    Shape,
    register_model,
)
from nnzoo.models import _counts
from nnzoo.models._common import output_units
from nnzoo.models._rules import divisors_near, multiples_near, or_list


def ffn_hidden_size(d_token: int, ffn_hidden_dim: int | None) -> int:
    """The feed-forward hidden size: ``ffn_hidden_dim``, or the paper's ``d_token * 4 / 3``."""
    return int(ffn_hidden_dim) if ffn_hidden_dim is not None else int(d_token) * 4 // 3


def feature_tokenizer_params(num_numeric: int, category_slots: tuple[int, ...], d: int) -> int:
    """``FeatureTokenizer``: a weight and a bias per numeric feature, the shared category table
    and a bias per categorical feature."""
    slots = tuple(int(s) for s in category_slots)
    return 2 * int(num_numeric) * int(d) + (sum(slots) + len(slots)) * int(d)


def block_params(d: int, ffn_hidden: int, *, first_norm: bool = True) -> int:
    """One ``FTTransformerBlock``: attention (4 projections with biases), the layer norms and
    the ReGLU feed-forward network ``d -> 2 * ffn_hidden``, ``ffn_hidden -> d``."""
    d, h = int(d), int(ffn_hidden)
    norms = (2 if first_norm else 1) * _counts.layer_norm(d)
    return 4 * _counts.dense(d, d) + norms + _counts.dense(d, 2 * h) + _counts.dense(h, d)


def _check_ft_transformer(*, d_token: int, num_heads: int, **_: Any) -> None:
    if int(num_heads) >= 1 and int(d_token) % int(num_heads) == 0:
        return
    raise HyperparameterError(
        "`d_token` must be a positive multiple of `num_heads`. "
        f"Received: d_token={d_token}, num_heads={num_heads}",
        fixes={
            "num_heads": f"use a num_heads that divides d_token={d_token}, e.g. "
            + or_list(divisors_near(int(d_token), int(num_heads))),
            "d_token": f"use a d_token that is a multiple of num_heads={num_heads}, e.g. "
            + or_list(multiples_near(max(int(num_heads), 1), int(d_token))),
        },
    )


def _count_ft_transformer(
    *,
    input_shape: Shape,
    num_classes: int,
    d_token: int,
    num_blocks: int,
    ffn_hidden_dim: int | None = None,
    feature_normalization: bool = False,
    table_columns: list[str] | None = None,
    **_: Any,
) -> int:
    features = _counts.prod(input_shape)
    d = int(d_token)
    hidden = ffn_hidden_size(d, ffn_hidden_dim)
    total = _counts.normalization(features) if feature_normalization else 0
    slots: tuple[int, ...] = ()
    if table_columns:
        from nnzoo.layers.table import encoder_params, token_layout

        numeric, slot_list = token_layout(table_columns)
        features, slots = numeric, tuple(slot_list)
        total = encoder_params(table_columns, embedding_above=None, embedding_dim=1)
    total += feature_tokenizer_params(features, slots, d) + d  # tokens, then the [CLS] vector
    for i in range(int(num_blocks)):
        total += block_params(d, hidden, first_norm=i > 0)
    return total + _counts.layer_norm(d) + _counts.dense(d, output_units(num_classes))


def _build_ft_transformer(
    *,
    input_shape: Shape = (64,),
    num_classes: NumClasses = 10,
    d_token: PositiveInt = 192,
    num_blocks: PositiveInt = 3,
    num_heads: PositiveInt = 8,
    ffn_hidden_dim: PositiveInt | None = None,
    attention_dropout: Rate = 0.2,
    ffn_dropout: Rate = 0.1,
    residual_dropout: Rate = 0.0,
    feature_normalization: bool = False,
    table_columns: list[str] | None = None,
) -> Any:
    """``ffn_hidden_dim``: `None` is the paper's ``d_token * 4 // 3`` (256 at d_token 192).
    ``table_columns`` (filled from a table with categories or missing cells): a
    :class:`~nnzoo.layers.table.TableEncoder` imputes and standardises the numbers (adding
    missing indicators) and gives each category's slot, which the feature tokenizer embeds (a
    token per numeric input and per category, as the paper's categorical embeddings)."""
    import keras

    from nnzoo.layers import FeatureTokenizer, FTTransformerBlock, TrailingClassToken
    from nnzoo.models._common import classifier_head, normalized_features

    _check_ft_transformer(d_token=d_token, num_heads=num_heads)
    d = int(d_token)
    hidden = ffn_hidden_size(d, ffn_hidden_dim)
    inputs = keras.Input(shape=tuple(input_shape), name="features")
    x = keras.layers.Flatten(name="flatten")(inputs) if len(input_shape) > 1 else inputs
    if table_columns:
        from nnzoo.layers.table import TABLE_ENCODER, TableEncoder, token_layout

        numeric, slots = token_layout(table_columns)
        parts = TableEncoder(table_columns, output="tokens", name=TABLE_ENCODER)(x)
        tokenizer = FeatureTokenizer(
            numeric, category_slots=slots, d_token=d, name="feature_tokenizer"
        )
        if numeric and slots:
            x = tokenizer(parts[0], parts[1])
        elif numeric:
            x = tokenizer(parts[0])
        else:
            x = tokenizer(None, parts[0])
    else:
        # Feature scaling learned on the training split (filled from the data; see _common).
        x = normalized_features(x, feature_normalization)
        x = FeatureTokenizer(_counts.prod(input_shape), d_token=d, name="feature_tokenizer")(x)
    x = TrailingClassToken(name="class_token")(x)  # (B, F + 1, d_token)
    for i in range(int(num_blocks)):
        x = FTTransformerBlock(
            d,
            num_heads,
            hidden,
            attention_dropout=attention_dropout,
            ffn_dropout=ffn_dropout,
            residual_dropout=residual_dropout,
            first_norm=i > 0,  # the paper leaves out the first block's first layer norm
            name=f"block{i + 1}",
        )(x)
    x = x[:, -1, :]  # (B, d_token): the [CLS] token's output
    x = keras.layers.LayerNormalization(epsilon=1e-5, name="head_norm")(x)
    x = keras.layers.Activation("relu", name="head_relu")(x)
    outputs = classifier_head(x, num_classes)
    return keras.Model(inputs, outputs, name="ft_transformer")


register_model(
    "ft_transformer",
    _build_ft_transformer,
    task="classification",
    input_kind="features",
    paper=(
        "Gorishniy, Rubachevsky, Khrulkov & Babenko 2021, Revisiting Deep Learning Models for "
        "Tabular Data"
    ),
    summary="Feature-tokenizer transformer for numeric tables; the paper's default config.",
    num_params=918_154,
    check=_check_ft_transformer,
    count_params=_count_ft_transformer,
)
