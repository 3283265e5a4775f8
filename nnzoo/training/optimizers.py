"""Optimizers and learning-rate schedules from the config (``keras.optimizers`` only)."""

from __future__ import annotations

from typing import Any

import keras

from nnzoo.config.schema import OptimizerConfig, ScheduleConfig


@keras.saving.register_keras_serializable(package="nnzoo")
class ConstantThenExponential(keras.optimizers.schedules.LearningRateSchedule):
    """The seed's schedule: the initial rate for ``hold_steps``, then ``lr·exp(-decay)`` per
    ``steps_per_epoch`` (the seed multiplied by exp(-0.1) each epoch after epoch 10)."""

    def __init__(
        self, initial_learning_rate: float, hold_steps: int, steps_per_epoch: int, decay: float
    ) -> None:
        self.initial_learning_rate = float(initial_learning_rate)
        self.hold_steps = int(hold_steps)
        self.steps_per_epoch = int(steps_per_epoch)
        self.decay = float(decay)

    def __call__(self, step: Any) -> Any:
        step = keras.ops.cast(step, "float32")
        epochs_past = keras.ops.maximum(
            keras.ops.floor((step - self.hold_steps) / self.steps_per_epoch) + 1.0, 0.0
        )
        epochs_past = keras.ops.where(step < self.hold_steps, 0.0, epochs_past)
        return self.initial_learning_rate * keras.ops.exp(-self.decay * epochs_past)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "hold_steps": self.hold_steps,
            "steps_per_epoch": self.steps_per_epoch,
            "decay": self.decay,
        }


def build_schedule(
    lr: float, schedule: ScheduleConfig, *, steps_per_epoch: int, epochs: int
) -> Any:
    """A learning rate (float) or a ``LearningRateSchedule`` stepping per batch."""
    s = schedule
    spe = max(int(steps_per_epoch), 1)
    if s.name == "constant":
        return lr
    if s.name == "step":
        return keras.optimizers.schedules.ExponentialDecay(
            lr, decay_steps=s.step_epochs * spe, decay_rate=s.factor, staircase=True
        )
    if s.name == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(
            lr, decay_steps=spe, decay_rate=s.factor, staircase=False
        )
    if s.name == "cosine":
        warmup = int(round(s.warmup_epochs * spe))
        total = max(epochs * spe, warmup + 1)
        alpha = s.min_learning_rate / lr if lr else 0.0
        if warmup:
            # Keras's warm-up ramps linearly from initial_learning_rate to warmup_target.
            return keras.optimizers.schedules.CosineDecay(
                initial_learning_rate=0.0,
                decay_steps=total - warmup,
                alpha=alpha,
                warmup_target=lr,
                warmup_steps=warmup,
            )
        return keras.optimizers.schedules.CosineDecay(lr, decay_steps=total, alpha=alpha)
    if s.name == "constant_then_exp":
        return ConstantThenExponential(lr, s.hold_epochs * spe, spe, s.decay)
    raise ValueError(f"Unknown schedule. Received: name={s.name!r}")


def build_optimizer(
    opt: OptimizerConfig, schedule: ScheduleConfig, *, steps_per_epoch: int, epochs: int
) -> keras.optimizers.Optimizer:
    """A Keras optimizer with its schedule and gradient clipping."""
    lr = build_schedule(
        opt.learning_rate, schedule, steps_per_epoch=steps_per_epoch, epochs=epochs
    )
    clip = {
        k: v
        for k, v in (
            ("clipnorm", opt.clipnorm),
            ("clipvalue", opt.clipvalue),
            ("global_clipnorm", opt.global_clipnorm),
        )
        if v is not None
    }
    if opt.name == "adam":
        return keras.optimizers.Adam(lr, weight_decay=opt.weight_decay, **clip)
    if opt.name == "adamw":
        wd = 0.004 if opt.weight_decay is None else opt.weight_decay
        return keras.optimizers.AdamW(lr, weight_decay=wd, **clip)
    if opt.name == "sgd":
        return keras.optimizers.SGD(
            lr, momentum=opt.momentum, nesterov=opt.nesterov, weight_decay=opt.weight_decay, **clip
        )
    if opt.name == "rmsprop":
        return keras.optimizers.RMSprop(
            lr, momentum=opt.momentum, weight_decay=opt.weight_decay, **clip
        )
    raise ValueError(f"Unknown optimizer. Received: name={opt.name!r}")


def learning_rate_at(optimizer: keras.optimizers.Optimizer, step: int) -> float:
    """The learning rate ``optimizer`` uses at ``step`` (for logging and tests)."""
    lr = optimizer._learning_rate  # the schedule or the variable
    if isinstance(lr, keras.optimizers.schedules.LearningRateSchedule):
        return float(keras.ops.convert_to_numpy(lr(step)))
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
