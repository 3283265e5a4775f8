"""Losses and metrics chosen from a card's task (a classifier outputs logits, a regression
model its prediction in the target's units).

Training compiles with them (:mod:`nnzoo.training.compile` adds the optimizer) and
``evaluate`` compiles a run's saved model with the same ones (:func:`compile_for_evaluation`),
so both report the same numbers."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import keras

from nnzoo.cards import TARGET_SCALE
from nnzoo.data import IGNORE_INDEX

if TYPE_CHECKING:
    from nnzoo.cards import ModelCard
    from nnzoo.config import Config


@keras.saving.register_keras_serializable(package="nnzoo")
class PerceptronLoss(keras.losses.Loss):
    """The perceptron criterion max(0, -y·z) with 0/1 labels mapped to y = ±1.

    With SGD, learning rate η and batch size 1 its gradient step is Rosenblatt's rule:
    ``w += η·y·x`` when ``y·z <= 0`` and no change otherwise.
    """

    def __init__(self, name: str = "perceptron_loss", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        y = 2.0 * keras.ops.cast(keras.ops.reshape(y_true, (-1,)), y_pred.dtype) - 1.0
        z = keras.ops.reshape(y_pred, (-1,))
        # y·z <= 0 is a mistake, z == 0 (undecided) included: its gradient -y·x is nonzero
        # there, so training starts from zero weights as Rosenblatt's rule does.
        return keras.ops.where(y * z > 0, keras.ops.zeros_like(z), -y * z)


@keras.saving.register_keras_serializable(package="nnzoo")
class TokenAccuracy(keras.metrics.SparseCategoricalAccuracy):
    """Accuracy over the positions that have a target: those labelled ``IGNORE_INDEX``
    (padding; the unmasked tokens of masked-LM) count for nothing, as in the loss. Plain
    ``SparseCategoricalAccuracy`` counts them as misses, so a masked-LM run reporting 0.02
    predicts 0.16 of its masked tokens."""

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        y_true = keras.ops.convert_to_tensor(y_true)
        weight = keras.ops.cast(keras.ops.not_equal(y_true, IGNORE_INDEX), "float32")
        if sample_weight is not None:
            weight = weight * keras.ops.cast(sample_weight, "float32")
        return super().update_state(keras.ops.maximum(y_true, 0), y_pred, sample_weight=weight)


@keras.saving.register_keras_serializable(package="nnzoo")
class StandardizedError(keras.losses.Loss):
    """Squared error (or Huber) of a regression on the standardised scale: of
    ``(y_pred - y_true) / scale``, with ``scale`` the training split's target std, so the loss
    (and the learning rate that suits it) does not depend on the target's units.

    Args:
        scale: the target's standard deviation. Defaults to `1.0`.
        kind: ``"mse"`` (mean squared error) or ``"huber"`` (Huber, delta 1 standard
            deviation). Defaults to `"mse"`.
        name: the loss's name. Defaults to `"standardized_error"`.
    """

    def __init__(
        self, scale: float = 1.0, kind: str = "mse", name: str = "standardized_error", **kwargs
    ) -> None:
        super().__init__(name=name, **kwargs)
        if not float(scale) > 0.0:
            raise ValueError(f"`scale` must be positive. Received: scale={scale}")
        if kind not in REGRESSION_LOSSES:
            raise ValueError(
                f"`kind` must be one of {', '.join(REGRESSION_LOSSES)}. Received: kind={kind!r}"
            )
        self.scale = float(scale)
        self.kind = kind

    def call(self, y_true: Any, y_pred: Any) -> Any:
        y_pred = keras.ops.reshape(y_pred, (-1,))  # (B,)
        y_true = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), y_pred.dtype)
        error = (y_pred - y_true) / self.scale  # in standard deviations of the target
        if self.kind == "huber":
            absolute = keras.ops.abs(error)
            return keras.ops.where(absolute <= 1.0, 0.5 * error**2, absolute - 0.5)
        return error**2

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"scale": self.scale, "kind": self.kind})
        return config


def _columns(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    """One target per example as a column ``(B, 1)``: Keras's per-sample regression metrics
    reduce the last axis, so ``(B,)`` would make each batch one sample."""
    y_true = keras.ops.reshape(keras.ops.convert_to_tensor(y_true), (-1, 1))
    y_pred = keras.ops.reshape(keras.ops.convert_to_tensor(y_pred), (-1, 1))
    return y_true, y_pred


@keras.saving.register_keras_serializable(package="nnzoo")
class TargetMeanAbsoluteError(keras.metrics.MeanAbsoluteError):
    """MAE of one target per example ``(B,)``, averaged over examples (Keras's own averages
    ``(B,)`` inputs per batch: a short last batch would weigh as much as a full one)."""

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        y_true, y_pred = _columns(y_true, y_pred)
        return super().update_state(y_true, y_pred, sample_weight=sample_weight)


@keras.saving.register_keras_serializable(package="nnzoo")
class TargetMeanSquaredError(keras.metrics.MeanSquaredError):
    """MSE of one target per example ``(B,)``, averaged over examples (as
    :class:`TargetMeanAbsoluteError`)."""

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        y_true, y_pred = _columns(y_true, y_pred)
        return super().update_state(y_true, y_pred, sample_weight=sample_weight)


@keras.saving.register_keras_serializable(package="nnzoo")
class TargetR2Score(keras.metrics.R2Score):
    """R² (the coefficient of determination) of one target per example: Keras's ``R2Score``
    takes ``(B, outputs)``, a regression model here predicts ``(B,)``."""

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        y_true, y_pred = _columns(y_true, y_pred)
        return super().update_state(y_true, y_pred, sample_weight=sample_weight)


#: ``train.loss`` values of a regression (``auto`` is ``mse``).
REGRESSION_LOSSES = ("mse", "huber")
#: The metrics a regression reports when ``train.metrics`` is left at its default.
REGRESSION_METRICS = ("mae", "rmse", "r2")


def task_metrics(metrics: list[str] | None, task: str) -> list[str]:
    """``train.metrics`` for ``task``: the schema's default (``[accuracy]``) means
    :data:`REGRESSION_METRICS` for a regression."""
    metrics = ["accuracy"] if metrics is None else list(metrics)
    if task == "regression" and metrics == ["accuracy"]:
        return list(REGRESSION_METRICS)
    return metrics


def _regression_metric(name: str) -> Any:
    named = {
        "mae": lambda: TargetMeanAbsoluteError(name="mae"),
        "mse": lambda: TargetMeanSquaredError(name="mse"),
        "rmse": lambda: keras.metrics.RootMeanSquaredError(name="rmse"),
        "r2": lambda: TargetR2Score(name="r2"),
    }
    return named[name]() if name in named else name


def target_scale(model: Any) -> float:
    """The target std a regression model's ``TargetScale`` layer holds (1 without one)."""
    try:
        layer = model.get_layer(TARGET_SCALE)
    except ValueError:
        return 1.0
    return float(keras.ops.convert_to_numpy(layer.std))


def loss_and_metrics(
    *,
    task: str,
    output_units: int,
    loss: str | None = None,
    metrics: list[str] | None = None,
    scale: float = 1.0,
) -> tuple[Any, list[Any]]:
    """The Keras loss and metrics for a model's task and output width.

    One logit means a binary task: binary cross-entropy on logits and accuracy at threshold 0
    (a logit of 0 is probability 0.5). A regression: :class:`StandardizedError` with the target
    std ``scale`` (``loss``: ``mse``, the default, or ``huber``), and MAE, RMSE and R² in the
    target's units unless ``metrics`` name others.
    """
    metrics = task_metrics(metrics, task)
    if task == "regression":
        kind = "mse" if loss in (None, "auto") else loss
        return StandardizedError(scale=scale, kind=kind), [_regression_metric(m) for m in metrics]
    if task in ("language_modeling", "masked_lm"):
        fn = keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, ignore_class=IGNORE_INDEX
        )
        out = []
        for m in metrics:
            if m == "accuracy":
                out.append(TokenAccuracy(name="accuracy"))
            else:
                out.append(m)
        return fn, out
    binary = output_units == 1
    if loss == "perceptron":
        fn: Any = PerceptronLoss()
    elif binary:
        fn = keras.losses.BinaryCrossentropy(from_logits=True)
    else:
        fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    out = []
    for m in metrics:
        if m == "accuracy":
            out.append(
                keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)
                if binary
                else keras.metrics.SparseCategoricalAccuracy(name="accuracy")
            )
        elif m == "auc" and binary:
            out.append(keras.metrics.AUC(name="auc", from_logits=True))
        elif m == "top5_accuracy":
            out.append(keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="top5_accuracy"))
        else:
            out.append(m)
    return fn, out


#: Tasks whose loss is a per-token cross-entropy, reported with its perplexity.
SEQUENCE_TASKS = ("language_modeling", "masked_lm")


def with_perplexity(metrics: dict[str, float], task: str) -> dict[str, float]:
    """``metrics`` plus ``perplexity`` = exp(loss) for the sequence tasks (capped at e^50)."""
    if task not in SEQUENCE_TASKS:
        return metrics
    return {**metrics, "perplexity": float(math.exp(min(metrics["loss"], 50.0)))}


def run_loss_and_metrics(
    model: Any, config: Config, card: ModelCard, task: str
) -> tuple[Any, list]:
    """The loss and metrics a run's config asks for (``train.loss: auto`` is the card's)."""
    units = int(model.output_shape[-1]) if task == "classification" else 0
    return loss_and_metrics(
        task=task,
        output_units=units,
        loss=card.loss if config.train.loss == "auto" else config.train.loss,
        metrics=config.train.metrics,
        scale=target_scale(model) if task == "regression" else 1.0,
    )


def compile_for_evaluation(model: Any, config: Config, card: ModelCard, task: str) -> None:
    """Compile a run's ``model.keras`` (saved without optimizer or compile settings) with the
    loss and metrics its training had (no optimizer), so ``evaluate`` reports what training
    did."""
    loss, metrics = run_loss_and_metrics(model, config, card, task)
    model.compile(loss=loss, metrics=metrics, jit_compile=config.train.jit_compile)
