"""Compile a model as its config says: loss and metrics from the task, optimizer, schedule."""

from __future__ import annotations

from typing import Any

from nnzoo.cards import ModelCard
from nnzoo.config import Config
from nnzoo.errors import ConfigError

LOSSES = ("auto", "perceptron", "crossentropy")
#: ``train.loss`` values of a regression (its standardised squared error or Huber loss).
REGRESSION_LOSS_NAMES = ("auto", "mse", "huber")


def compile_model(
    model: Any, config: Config, card: ModelCard, task: str, steps_per_epoch: int
) -> list[str]:
    """Compile ``model`` for ``task``; returns the names of the metrics it will log."""
    from nnzoo.run.losses import run_loss_and_metrics
    from nnzoo.training.optimizers import build_optimizer

    check_loss(config, task)
    check_metrics(config, task)
    loss, metrics = run_loss_and_metrics(model, config, card, task)
    optimizer = build_optimizer(
        config.train.optimizer,
        config.train.schedule,
        steps_per_epoch=steps_per_epoch,
        epochs=config.train.epochs,
    )
    model.compile(
        optimizer=optimizer, loss=loss, metrics=metrics, jit_compile=config.train.jit_compile
    )
    return [m if isinstance(m, str) else m.name for m in metrics]


def check_loss(config: Config, task: str) -> None:
    """``train.loss`` must be a loss of ``task`` (a :class:`ConfigError` if not)."""
    regression = task == "regression"
    allowed = REGRESSION_LOSS_NAMES if regression else LOSSES
    if config.train.loss in allowed:
        return
    known = config.train.loss in LOSSES + REGRESSION_LOSS_NAMES
    raise ConfigError(
        f"{'loss' if known else 'unknown loss'} '{config.train.loss}'"
        + (f" is not for {task}" if known else ""),
        file=config.source_file,
        key="train.loss",
        fix="use auto (from the task), mse or huber"
        if regression
        else "use auto (from the task), crossentropy or perceptron",
    )


def check_metrics(config: Config, task: str) -> None:
    """``train.metrics`` must suit ``task``: a regression has no accuracy."""
    from nnzoo.run.losses import task_metrics

    if task != "regression":
        return
    wrong = [m for m in task_metrics(config.train.metrics, task) if "accuracy" in m or m == "auc"]
    if wrong:
        raise ConfigError(
            f"{wrong[0]!r} is a classification metric, and this run is a regression",
            file=config.source_file,
            key="train.metrics",
            fix="use mae, rmse, r2 or mse (or leave train.metrics out: mae, rmse, r2)",
        )


def build_training_state(model: Any, dataset: Any) -> None:
    """Create the optimizer's slots and the metrics' variables now, eagerly, from the
    ``dataset``'s element spec, as Keras itself does under a distribution strategy and on JAX.

    On TensorFlow without a strategy Keras leaves them to the first trace of ``train_step``;
    a ``tf.function`` that creates variables when first called is traced a second time, so
    every new model paid two traces (a fixed cost of each tuning trial). Nothing numeric changes:
    the variables start at the same zeros.
    """
    import keras

    if keras.backend.backend() != "tensorflow" or model._distribute_strategy is not None:
        return
    model._symbolic_build(data_batch=dataset.element_spec)


def compiled_metric_names(model: Any) -> list[str]:
    """The metric names a loaded, compiled model (a resume checkpoint) will log."""
    compiled = getattr(model, "_compile_config", None)
    names = []
    if compiled is not None:
        for m in compiled.config.get("metrics") or []:
            if isinstance(m, str):
                names.append(m)
            elif isinstance(m, dict):
                names.append(m.get("config", {}).get("name", "metric"))
            else:
                names.append(m.name)
    return names


def check_monitor(
    config: Config,
    metric_names: list[str],
    *,
    has_validation: bool,
    duplicates_dropped: int = 0,
) -> None:
    """``train.monitor.metric`` must be a value the run logs (a :class:`ConfigError` if not).

    ``duplicates_dropped``: validation examples dropped as duplicates of training ones; when
    they emptied the split, the message says so rather than ask for a validation split.
    """
    logged = ["loss", *metric_names]
    available = logged + ([f"val_{n}" for n in logged] if has_validation else [])
    metric = config.train.monitor.metric
    if metric in available:
        return
    fix = "monitor one of: " + ", ".join(available)
    why = ""
    if metric.startswith("val_") and metric[4:] in available and duplicates_dropped:
        why = (
            f": the validation split is empty, its {duplicates_dropped} example(s) were dropped "
            "as duplicates of training examples"
        )
        fix = "give more distinct examples, or " + fix
    elif metric.startswith("val_") and metric[4:] in available:
        fix = "set data.validation_split > 0, or " + fix
    raise ConfigError(
        f"the run will not log '{metric}'{why}",
        file=config.source_file,
        key="train.monitor.metric",
        fix=fix,
    )
