"""KerasHub's ``BertBackbone`` presets as nnzoo ``bert`` models, and back.

:func:`to_params` reads the preset's sizes, :func:`copy_weights` copies every backbone tensor
into an nnzoo BERT layer by layer (same layer names as KerasHub's: ``token_embedding``,
``transformer_layer_0``, ``pooled_dense``, ...). A preset with a task brings its head: a
``BertTextClassifier``'s ``logits`` layer when nnzoo's head has the same number of classes (a
two-class head becomes nnzoo's single binary logit exactly: ``softmax([a, b])[1] =
sigmoid(b - a)``), a ``BertMaskedLM``'s head into a ``task="masked_lm"`` model.

:func:`to_keras_hub` goes the other way: an nnzoo BERT and its WordPiece tokenizer become a
KerasHub ``BertMaskedLM`` (or ``BertTextClassifier``) that ``save_to_preset`` writes, so a model
pretrained with nnzoo starts another run through ``model.init_from: keras_hub:<dir>``.
"""

from __future__ import annotations

import logging
from typing import Any

from nnzoo.pretrained._adapter import Adapter, register_adapter
from nnzoo.pretrained._copy import (
    TRANSFORMER_SUBLAYERS,
    copy_arrays,
    copy_encoder,
    copy_layer,
    has_layer,
    transformer_layers,
    transformer_params,
)

__all__ = ["ARCHITECTURE", "copy_weights", "to_keras_hub", "to_params"]

log = logging.getLogger(__name__)

#: The ``BertBackbone`` config keys, each an nnzoo ``bert`` builder parameter of the same name.
ARCHITECTURE = (
    "vocabulary_size",
    "num_layers",
    "num_heads",
    "hidden_dim",
    "intermediate_dim",
    "dropout",
    "max_sequence_length",
    "num_segments",
)
EMBEDDINGS = (
    "token_embedding",
    "position_embedding",
    "segment_embedding",
    "embeddings_layer_norm",
)
#: nnzoo's masked-LM head -> the same weights in KerasHub's ``MaskedLMHead``.
MLM_HEAD = (
    ("mlm_transform_dense", "_intermediate_dense"),
    ("mlm_transform_layer_norm", "_intermediate_layer_norm"),
)


def to_params(config: dict[str, Any]) -> dict[str, Any]:
    """The nnzoo ``bert`` builder parameters of a ``BertBackbone`` config.

    Raises:
        ValueError: the config has a key nnzoo does not reproduce, or heads that do not divide
            the hidden size.
    """
    return transformer_params(config, ARCHITECTURE, "BertBackbone")


def copy_weights(model: Any, backbone: Any, task: Any = None) -> int:
    """Copy a ``BertBackbone`` (and its task's head) into an nnzoo ``bert`` model.

    Args:
        model: an nnzoo BERT (``task="classification"`` or ``"masked_lm"``) with the backbone's
            sizes.
        backbone: KerasHub's ``BertBackbone``.
        task: the preset's task model (``BertTextClassifier``, ``BertMaskedLM``) or ``None``.

    Returns:
        How many tensors were copied.

    Raises:
        ValueError: a layer's weights do not have nnzoo's shapes.
    """
    count = copy_encoder(model, backbone, EMBEDDINGS)
    if has_layer(model, "pooled_dense"):
        count += copy_layer(model.get_layer("pooled_dense"), backbone.pooled_dense, "pooled_dense")
        count += _copy_classifier_head(model, task)
    elif has_layer(model, "mlm_transform_dense"):
        count += _copy_mlm_head(model, task)
    return count


def _copy_classifier_head(model: Any, task: Any) -> int:
    head = getattr(task, "output_dense", None)
    if head is None:
        return 0
    ours = model.get_layer("logits")
    kernel, bias = (w.numpy() for w in head.weights)  # (hidden, C), (C,)
    units = int(ours.weights[1].shape[0])
    if units == kernel.shape[1]:
        return copy_arrays(ours, [kernel, bias], "logits")
    if units == 1 and kernel.shape[1] == 2:
        # Two-class softmax logits [a, b] as one binary logit: P(class 1) = sigmoid(b - a).
        diff = [kernel[:, 1:] - kernel[:, :1], bias[1:] - bias[:1]]
        return copy_arrays(ours, diff, "logits")
    log.info("preset head has %d classes, the model %d: head left fresh", kernel.shape[1], units)
    return 0


def _copy_mlm_head(model: Any, task: Any) -> int:
    head = getattr(task, "masked_lm_head", None)
    if head is None:
        return 0
    count = sum(copy_layer(model.get_layer(a), getattr(head, b), a) for a, b in MLM_HEAD)
    return count + copy_arrays(model.get_layer("mlm_output_bias"), [head._bias.numpy()], "bias")


def to_keras_hub(model: Any, tokenizer: Any, *, sequence_length: int | None = None) -> Any:
    """An nnzoo BERT and its WordPiece tokenizer as a KerasHub task model with a preprocessor.

    A ``task="masked_lm"`` model becomes a ``BertMaskedLM`` (its head copied; the pooler, which
    masked-LM pretraining does not train, keeps KerasHub's initialisation); a classifier becomes
    a ``BertTextClassifier`` (a binary single-logit head becomes two logits ``[0, z]``). Save it
    with ``task.save_to_preset(directory)``.

    Args:
        model: an nnzoo ``bert`` model.
        tokenizer: the run's :class:`nnzoo.data.tokenizers.WordPieceTokenizer`; the special
            tokens keep their ids.
        sequence_length: the preprocessor's sequence length. Defaults to the model's
            ``max_sequence_length``.

    Returns:
        The KerasHub task model.
    """
    import keras_hub

    from nnzoo.data.tokenizers import SPECIAL_TOKENS

    if getattr(tokenizer, "kind", None) != "wordpiece":
        raise ValueError(
            "a KerasHub BERT preset needs a WordPiece tokenizer. "
            f"Received: tokenizer={getattr(tokenizer, 'kind', type(tokenizer).__name__)!r}"
        )
    layer = transformer_layers(model)[0]
    embedding = model.get_layer("token_embedding")
    positions = model.get_layer("position_embedding")
    sizes = dict(
        vocabulary_size=int(embedding.input_dim),
        num_layers=len(transformer_layers(model)),
        num_heads=int(layer.num_heads),
        hidden_dim=int(layer.hidden_dim),
        intermediate_dim=int(layer.intermediate_dim),
        dropout=float(layer.dropout),
        max_sequence_length=int(positions.weights[0].shape[0]),
        num_segments=int(model.get_layer("segment_embedding").input_dim),
    )
    if tokenizer.vocabulary_size != sizes["vocabulary_size"]:
        raise ValueError(
            "the tokenizer's vocabulary does not fit the model. Received: "
            f"{tokenizer.vocabulary_size} tokens, vocabulary_size={sizes['vocabulary_size']}"
        )
    backbone = keras_hub.models.BertBackbone(**sizes)
    _copy_back(backbone, model)
    theirs = keras_hub.models.BertTokenizer(
        vocabulary=list(SPECIAL_TOKENS) + list(tokenizer.vocabulary),
        lowercase=tokenizer.lowercase,
        strip_accents=tokenizer.strip_accents,
        suffix_indicator=tokenizer.suffix_indicator,
    )
    length = int(sequence_length or sizes["max_sequence_length"])
    if has_layer(model, "mlm_transform_dense"):
        preprocessor = keras_hub.models.BertMaskedLMPreprocessor(theirs, sequence_length=length)
        task = keras_hub.models.BertMaskedLM(backbone, preprocessor=preprocessor)
        head = task.masked_lm_head
        for a, b in MLM_HEAD:
            copy_layer(getattr(head, b), model.get_layer(a), b)
        head._bias.assign(model.get_layer("mlm_output_bias").weights[0].numpy())
        return task
    kernel, bias = (w.numpy() for w in model.get_layer("logits").weights)
    if kernel.shape[1] == 1:  # one binary logit z as two-class logits [0, z]
        kernel = _concat_zero(kernel)
        bias = _concat_zero(bias[None])[0]
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(theirs, sequence_length=length)
    task = keras_hub.models.BertTextClassifier(
        backbone, num_classes=int(kernel.shape[1]), preprocessor=preprocessor
    )
    copy_arrays(task.output_dense, [kernel, bias], "logits")
    return task


def _concat_zero(array: Any) -> Any:
    import numpy as np

    return np.concatenate([np.zeros_like(array), array], axis=-1)


def _copy_back(backbone: Any, model: Any) -> None:
    """nnzoo's encoder weights into a fresh ``BertBackbone`` (the reverse of copy_encoder)."""
    for name in EMBEDDINGS:
        copy_layer(backbone.get_layer(name), model.get_layer(name), name)
    for i in range(backbone.num_layers):
        ours = model.get_layer(f"transformer_layer_{i}")
        theirs = backbone.get_layer(f"transformer_layer_{i}")
        for a, b in TRANSFORMER_SUBLAYERS:
            copy_layer(getattr(theirs, b), getattr(ours, a), f"transformer_layer_{i}.{a}")
    if has_layer(model, "pooled_dense"):
        copy_layer(backbone.pooled_dense, model.get_layer("pooled_dense"), "pooled_dense")


ADAPTER = register_adapter(
    Adapter(
        backbone="BertBackbone",
        family="bert",
        licence="Apache-2.0",
        to_params=to_params,
        copy_weights=copy_weights,
        hf_model_types=("bert",),
    )
)
