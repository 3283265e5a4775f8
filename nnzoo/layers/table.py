"""A table's features as a model's first layer: missing numbers imputed, numbers standardised,
categories one-hot or embedded, all learned on the training split and saved with the model.

The input is one float32 row per example (see :mod:`nnzoo.data._columns`): a numeric feature
is its number, NaN where missing; a category feature is its index in the training vocabulary,
-1 for a value the training split never had, NaN where missing. Each column is described by a
string (``model.params.table_columns``, filled from the data): ``numeric``, ``numeric+missing``
(a missing-indicator input as well: the column had missing cells in training) or
``category:V`` (V training values; the encoder adds a "missing" and an "unseen" slot, V + 2 in
all, as Keras's ``StringLookup`` keeps an out-of-vocabulary index).

Statistics (:meth:`TableEncoder.set_statistics`) are the training split's mean and variance of
each numeric column over its present cells (a missing cell becomes the mean, i.e. 0 after
standardising, as scikit-learn's ``SimpleImputer`` + ``StandardScaler``). Only ``keras.ops``:
it runs on every backend and exports as the rest of the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from nnzoo.cards import TABLE_ENCODER

__all__ = [
    "TABLE_ENCODER",
    "TableEncoder",
    "encoded_width",
    "encoder_params",
    "parse_columns",
    "token_layout",
]


def parse_columns(columns: Sequence[str]) -> list[tuple[str, int]]:
    """``[(kind, size)]`` of column descriptions: ``("numeric", 0)``, ``("missing", 0)`` (a
    numeric column with an indicator) or ``("category", V)``."""
    out = []
    for text in columns:
        text = str(text)
        if text == "numeric":
            out.append(("numeric", 0))
        elif text == "numeric+missing":
            out.append(("missing", 0))
        elif text.startswith("category:") and text[9:].isdigit():
            out.append(("category", int(text[9:])))
        else:
            raise ValueError(
                "Each of `table_columns` must be 'numeric', 'numeric+missing' or "
                f"'category:<size>'. Received: {text!r}"
            )
    return out


def encoded_width(
    columns: Sequence[str], *, embedding_above: int | None, embedding_dim: int
) -> int:
    """The width of the encoder's output for ``columns``."""
    width = 0
    for kind, size in parse_columns(columns):
        if kind == "category":
            width += embedding_dim if _embedded(size, embedding_above) else size + 2
        else:
            width += 2 if kind == "missing" else 1
    return width


def encoder_params(
    columns: Sequence[str], *, embedding_above: int | None, embedding_dim: int
) -> int:
    """The encoder's weights: mean and variance per numeric column (non-trainable) and one
    embedding table per embedded category."""
    kinds = parse_columns(columns)
    total = 2 * max(sum(kind != "category" for kind, _ in kinds), 1)
    for kind, size in kinds:
        if kind == "category" and _embedded(size, embedding_above):
            total += (size + 2) * embedding_dim
    return total


def token_layout(columns: Sequence[str]) -> tuple[int, list[int]]:
    """``(numeric inputs, slots of each category)`` of the encoder's ``tokens`` output: the
    numeric columns and their missing indicators, and ``V + 2`` slots per category."""
    kinds = parse_columns(columns)
    numeric = sum(1 + (kind == "missing") for kind, _ in kinds if kind != "category")
    return numeric, [size + 2 for kind, size in kinds if kind == "category"]


def _embedded(size: int, embedding_above: int | None) -> bool:
    return embedding_above is not None and size > int(embedding_above)


@keras.saving.register_keras_serializable(package="nnzoo")
class TableEncoder(keras.layers.Layer):
    """Impute, standardise and encode a table row (module docstring).

    Args:
        columns: one description per input column.
        embedding_above: a category with more training values than this is embedded (a
            trainable ``embedding_dim`` vector per value) instead of one-hot; ``None``: never.
        embedding_dim: the size of those vectors.
        output: ``concat`` (one vector per row: the numbers, indicators, one-hot and embedded
            categories) or ``tokens`` (``[numbers and indicators (B, n), category slots
            (B, c) int32]``, each category's slot offset past the previous ones' ``V + 2``:
            what a feature tokenizer embeds, as FT-Transformer does); a part with no column
            is left out of the list.
    """

    def __init__(
        self,
        columns: Sequence[str],
        *,
        embedding_above: int | None = 16,
        embedding_dim: int = 8,
        output: str = "concat",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if output not in ("concat", "tokens"):
            raise ValueError(f"`output` must be 'concat' or 'tokens'. Received: {output!r}")
        self.output_mode = output
        self.columns = [str(c) for c in columns]
        self.kinds = parse_columns(self.columns)
        self.embedding_above = None if embedding_above is None else int(embedding_above)
        self.embedding_dim = int(embedding_dim)
        self.numeric = [j for j, (k, _) in enumerate(self.kinds) if k != "category"]
        self.indicators = [j for j, (k, _) in enumerate(self.kinds) if k == "missing"]
        self.categories = [(j, s) for j, (k, s) in enumerate(self.kinds) if k == "category"]

    def build(self, input_shape: Any) -> None:
        n = max(len(self.numeric), 1)  # with no numeric column, unused (one shape always)
        self.mean = self.add_weight(shape=(n,), initializer="zeros", trainable=False, name="mean")
        self.variance = self.add_weight(
            shape=(n,), initializer="ones", trainable=False, name="variance"
        )
        self.embeddings = {}
        for j, size in self.categories:
            if self.output_mode == "concat" and _embedded(size, self.embedding_above):
                self.embeddings[j] = self.add_weight(
                    shape=(size + 2, self.embedding_dim),
                    initializer="uniform",
                    name=f"embedding_{j}",
                )
        self.built = True

    def set_statistics(self, mean: Any, variance: Any) -> None:
        """The training split's mean and variance of each numeric column (in order)."""
        if self.numeric:
            self.mean.assign(ops.convert_to_tensor(mean, "float32"))
            self.variance.assign(ops.convert_to_tensor(variance, "float32"))

    def call(self, inputs: Any) -> Any:
        x = ops.cast(inputs, "float32")
        parts = []
        if self.numeric:
            values = ops.take(x, self.numeric, axis=1)
            missing = ops.isnan(values)
            filled = ops.where(missing, ops.expand_dims(self.mean, 0), values)
            scale = ops.sqrt(ops.maximum(self.variance, 1e-12))
            parts.append((filled - self.mean) / scale)
            if self.indicators:
                at = [self.numeric.index(j) for j in self.indicators]
                parts.append(ops.cast(ops.take(missing, at, axis=1), "float32"))
        slots, offset = [], 0
        for j, size in self.categories:
            codes = x[:, j]
            slot = ops.where(ops.isnan(codes), float(size), codes)
            slot = ops.where(slot < 0, float(size + 1), slot)
            slot = ops.cast(ops.clip(slot, 0, size + 1), "int32")
            if self.output_mode == "tokens":
                slots.append(slot + offset)
                offset += size + 2
            elif j in self.embeddings:
                parts.append(ops.take(self.embeddings[j], slot, axis=0))
            else:
                parts.append(ops.one_hot(slot, size + 2))
        if self.output_mode == "tokens":  # the parts there are: numbers, then category slots
            out = (
                [ops.concatenate(parts, axis=-1) if len(parts) > 1 else parts[0]] if parts else []
            )
            return out + ([ops.stack(slots, axis=1)] if slots else [])
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self.output_mode == "tokens":
            numeric, slots = token_layout(self.columns)
            shapes = [(input_shape[0], numeric)] if numeric else []
            return shapes + ([(input_shape[0], len(slots))] if slots else [])
        width = encoded_width(
            self.columns, embedding_above=self.embedding_above, embedding_dim=self.embedding_dim
        )
        return (input_shape[0], width)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "columns": list(self.columns),
            "embedding_above": self.embedding_above,
            "embedding_dim": self.embedding_dim,
            "output": self.output_mode,
        }
