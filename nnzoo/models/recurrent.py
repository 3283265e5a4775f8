"""Recurrent text classifiers: LSTM (Hochreiter & Schmidhuber 1997, "Long Short-Term Memory")
and GRU (Cho et al. 2014, "Learning Phrase Representations using RNN Encoder-Decoder for
Statistical Machine Translation").

Inputs follow KerasHub: ``token_ids`` and ``padding_mask`` (1 = real token), free sequence
length. The padding mask is passed to every recurrent layer, so padded positions never change
the result: the last recurrent layer returns its state at the last real token.

``lstm`` defaults to the seed's sentiment model, Embedding(10000, 128) -> LSTM 64 (sequences)
-> LSTM 32 -> 1 logit: 1,341,857 parameters. ``gru`` defaults to the seed's comparison model,
Embedding(10000, 128) -> GRU 64 -> 1 logit: 1,317,313 parameters (Keras 3 GRU,
``reset_after=True``, as cuDNN).
"""

from __future__ import annotations

import functools
from typing import Annotated, Any, Literal, get_args

import annotated_types as at

from nnzoo.cards import NonNegativeFloat, NumClasses, PositiveInt, Rate, Sizes, register_model
from nnzoo.models import _counts
from nnzoo.models._common import output_units

Cell = Literal["lstm", "gru"]
CELLS = get_args(Cell)


def _count_recurrent(
    *,
    cell: str,
    vocabulary_size: int,
    num_classes: int,
    embedding_dim: int,
    hidden_units: Sizes,
    bidirectional: bool,
    **_: Any,
) -> int:
    layer = _counts.lstm if cell == "lstm" else _counts.gru
    directions = 2 if bidirectional else 1
    total, width = _counts.embedding(vocabulary_size, embedding_dim), int(embedding_dim)
    for units in hidden_units:
        total += directions * layer(width, units)
        width = directions * int(units)  # the directions are concatenated
    return total + _counts.dense(width, output_units(num_classes))


def _build_recurrent(
    *,
    cell: Cell = "lstm",
    vocabulary_size: PositiveInt = 10000,
    num_classes: NumClasses = 2,
    embedding_dim: PositiveInt = 128,
    hidden_units: Annotated[Sizes, at.MinLen(1)] = (64, 32),
    bidirectional: bool = False,
    dropout: Rate = 0.0,
    l2: NonNegativeFloat = 0.0,
) -> Any:
    """Embedding, a stack of ``cell`` layers of ``hidden_units``, logits.

    ``dropout`` applies to the inputs of every recurrent layer and before the logits;
    ``bidirectional`` concatenates a forward and a backward pass at every layer.
    """
    import keras

    from nnzoo.models._common import classifier_head, regularizer, token_inputs

    if cell not in CELLS:
        raise ValueError(f"`cell` must be one of {', '.join(CELLS)}. Received: cell={cell!r}")
    if not hidden_units:
        raise ValueError(
            f"`hidden_units` must name at least one layer. Received: hidden_units={hidden_units}"
        )
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout}")
    layer_class = keras.layers.LSTM if cell == "lstm" else keras.layers.GRU

    inputs = token_inputs()
    x = keras.layers.Embedding(int(vocabulary_size), int(embedding_dim), name="token_embedding")(
        inputs["token_ids"]
    )  # (B, T, embedding_dim)
    mask = keras.ops.cast(inputs["padding_mask"], "bool")  # (B, T), True = real token
    for i, units in enumerate(hidden_units, start=1):
        last = i == len(hidden_units)
        layer = layer_class(
            int(units),
            return_sequences=not last,  # the last layer returns the state at the last token
            dropout=float(dropout),
            kernel_regularizer=regularizer(l2),
            name=f"{cell}{i}",
        )
        if bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"{cell}{i}_bidirectional")
        x = layer(x, mask=mask)  # (B, T, units) or, last, (B, units); x2 if bidirectional
    if dropout:
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    outputs = classifier_head(x, num_classes, l2=l2)
    return keras.Model(inputs, outputs, name=cell)


_register = functools.partial(
    register_model,
    builder=_build_recurrent,
    task="classification",
    input_kind="tokens",
    count_params=_count_recurrent,
    # Keras's LSTM / GRU with a mask convert to LiteRT only with TensorList ops (the Flex
    # delegate): measured by scripts/export_capabilities.py.
    export_formats={"litert": "flex"},
)

_register(
    "lstm",
    paper="Hochreiter & Schmidhuber 1997, Long Short-Term Memory",
    summary="The seed's sentiment LSTM: Embedding 128, LSTM 64 -> LSTM 32; 1,341,857 params.",
    num_params=1_341_857,
    defaults=dict(cell="lstm", hidden_units=(64, 32)),
)

_register(
    "gru",
    paper="Cho et al. 2014, Learning Phrase Representations using RNN Encoder-Decoder "
    "for Statistical Machine Translation",
    summary="The seed's GRU text classifier: Embedding 128, GRU 64; 1,317,313 params.",
    num_params=1_317_313,
    defaults=dict(cell="gru", hidden_units=(64,)),
)
