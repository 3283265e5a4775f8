"""The trial model pool: a compiled model and its traced steps reused across a study's trials.

A tuning trial builds a new model, and TensorFlow traces its train and test steps again: most of a
short trial's fixed cost, and what caps how much a pruner can save (its stopped trials still pay
it). Trials of one architecture differ in values only: the learning rate, the dropout rates, the
initial weights their seed draws. A :class:`ModelPool` keeps the recent models that runs trained;
when a later run's freshly built and compiled model has the same structure, compile settings,
optimizer settings, data and number of steps as one of them, the pool hands back that kept model
instead, loaded with everything the fresh one would have started from:

- every variable of the fresh model (initial weights, feature statistics, the dropout layers'
  seed states), and the optimizer's slots as a new optimizer builds them (zeros);
- the dropout rates and the learning rate (or each float of its schedule), which the kept
  model reads from variables: a traced step would otherwise hold the first run's values as
  constants.

A run on a kept model learns exactly what its config trained alone learns (a test compares
their histories): the dropout reads its rate from a variable through the same operations
TensorFlow's stateless dropout applies to a Python rate, and a schedule's floats are
variables only if the kept schedule then gives, step for step, the same learning rates as
the fresh one (checked at steps spread over the run, else the fresh model is used).

TensorFlow only (JAX and PyTorch compile per model as well, but this is where it was
measured). A strategy, mixed precision or a ``Dropout`` subclass is never pooled, and a rate
held in another layer's config (a custom layer's ``dropout``) makes models of different rates
different structures: the fresh model is used as it is.

A :class:`ModelPool` is the :class:`~nnzoo.training.trial.TrialModels` a study's objective
passes the trainer (:func:`~nnzoo.training.trainer.train_trial`): the trainer seeds each trial
through it, and takes a model from it for ``lean`` trials only, which write no resume
checkpoint (a kept optimizer's schedule reads variables).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

# Steps at which a kept schedule's learning rates are compared with the fresh one's.
CHECKED_STEPS = 8
_FLOAT = float  # a schedule's attributes of exactly this type become variables


@dataclass
class _Dropout:
    """A pooled model's dropout layer and the variables its patched ``call`` reads."""

    layer: Any
    rate: Any  # keras.Variable, float32: the rate
    scale: Any  # keras.Variable, float32: 1 / (1 - rate), rounded once, as TensorFlow does


@dataclass
class _Kept:
    signature: str
    model: Any
    splits: Any
    dropouts: list[_Dropout]
    schedule: Any = None  # the _VariableSchedule, or None for a plain float learning rate
    steps: int = 0  # the optimizer steps a run takes (for the schedule check)


class ModelPool:
    """Keeps up to ``size`` compiled, traced models (the most recent, and no more than
    ``max_params`` weights in all but for the last) for later runs of the same structure.

    It implements :class:`~nnzoo.training.trial.TrialModels`. :meth:`take` is called with
    each run's fresh model (built, compiled, its feature statistics set) and returns the model
    to train: a kept one, loaded with the fresh one's starting state, or the fresh one itself
    (kept from then on if it can be).
    """

    def __init__(self, size: int = 4, max_params: int = 25_000_000) -> None:
        self.size = size  # e.g. one model per batch size of a study's space
        self.max_params = max_params  # older models go beyond this many weights in all
        self._kept: list[_Kept] = []
        self.reused = 0  # runs that trained a kept model (for tests and benchmarks)

    def clear_session(self) -> None:
        """``keras.backend.clear_session()`` (no layers, names or graphs of earlier runs), but
        TensorFlow's kernel cache is kept while a model is: clearing it makes the kept
        model's next ``fit`` instantiate its traced steps again (about half of what keeping
        it saves)."""
        import keras

        if not self._kept or keras.backend.backend() != "tensorflow":
            keras.backend.clear_session()
            return
        from tensorflow.python.eager import context

        ctx = context.context()
        ctx.clear_kernel_cache = lambda: None  # this instance only, for this call
        try:
            keras.backend.clear_session()
        finally:
            del ctx.clear_kernel_cache

    def set_random_seed(self, seed: int) -> None:
        """``keras.utils.set_random_seed(seed)``, but while a model is kept, without
        TensorFlow's cache clearing: ``tf.random.set_seed`` empties the kernel cache (to
        restart stateful random kernels, which Keras models do not use: their randomness is
        stateless, from seed generators), and the kept model's next ``fit`` would
        instantiate its steps again. The TensorFlow seed
        and the operation seeds drawn from it are set as ``tf.random.set_seed`` sets them."""
        import keras

        if not self._kept or keras.backend.backend() != "tensorflow":
            keras.utils.set_random_seed(seed)
            return
        import random

        import tensorflow as tf
        from keras.src.backend.common import global_state
        from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR
        from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED
        from tensorflow.python.eager import context

        global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
        global_state.set_global_attribute(GLOBAL_SEED_GENERATOR, None)
        random.seed(seed)
        np.random.seed(seed)
        tf.compat.v1.get_default_graph().seed = seed
        ctx = context.context()
        ctx._seed = seed
        ctx._rng = random.Random(seed)

    def take(self, fresh: Any, splits: Any, *, steps: int) -> Any:
        """The model to train in place of ``fresh`` (see the class); ``steps``: the optimizer
        steps the run will take at most (the learning rate is checked over them)."""
        signature = _signature(fresh, splits)
        if signature is None:
            return fresh
        for i, kept in enumerate(self._kept):
            if kept.signature == signature and kept.splits is splits and kept.steps == steps:
                if _load(kept, fresh):
                    self._kept.append(self._kept.pop(i))  # the most recent last
                    self.reused += 1
                    return kept.model
                del self._kept[i]
                break
        kept = _adopt(fresh, splits, signature, steps)
        if kept is not None:
            self._kept.append(kept)
            del self._kept[: -self.size]
            while len(self._kept) > 1 and self._params() > self.max_params:
                del self._kept[0]
        return fresh

    def _params(self) -> int:
        return sum(kept.model.count_params() for kept in self._kept)


# --------------------------------------------------------------------------- which models


def _signature(model: Any, splits: Any) -> str | None:
    """What must be equal for two fresh models to share traced steps, as text; ``None`` when
    ``model`` cannot be pooled."""
    import keras

    if keras.backend.backend() != "tensorflow" or model._distribute_strategy is not None:
        return None
    if keras.mixed_precision.global_policy().name != "float32" or splits is None:
        return None
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or type(optimizer).__module__.split(".")[0] != "keras":
        return None
    if any(_rate_kind(layer) == "unsupported" for layer in _dropouts(model)):
        return None
    try:
        config = model.get_config()
        compiled = dict(model._compile_config.config)
    except (AttributeError, NotImplementedError):
        return None
    compiled.pop("optimizer", None)
    opt = optimizer.get_config()
    opt.pop("learning_rate", None)
    schedule = _schedule(optimizer)
    parts = {
        "model": _mask_dropout_rates(config),
        "variables": [(v.path, tuple(v.shape), str(v.dtype)) for v in model.variables],
        "compiled": compiled,
        "optimizer": [type(optimizer).__qualname__, opt],
        "schedule": None if schedule is None else _schedule_shape(schedule),
        "steps_per_execution": getattr(model, "steps_per_execution", 1),
    }
    return json.dumps(parts, sort_keys=True, default=repr)


def _dropouts(model: Any) -> list[Any]:
    import keras

    return [
        layer
        for layer in model._flatten_layers(include_self=False)
        if isinstance(layer, keras.layers.Dropout)
    ]


def _rate_kind(layer: Any) -> str:
    """Which of the three paths of Keras's TensorFlow dropout ``layer`` takes, or
    ``"unsupported"``: a subclass may use its rate otherwise, and the patched call rounds
    the scale as TensorFlow does for float32 only."""
    import keras

    if type(layer) is not keras.layers.Dropout or layer.compute_dtype != "float32":
        return "unsupported"
    return _kind(float(layer.rate))


def _kind(rate: float) -> str:
    return "off" if rate == 0.0 else "all" if rate == 1.0 else "some"


def _mask_dropout_rates(value: Any) -> Any:
    """A model config with each ``Dropout`` layer's rate replaced by its kind."""
    if isinstance(value, dict):
        out = {k: _mask_dropout_rates(v) for k, v in value.items()}
        inner = out.get("config")
        if value.get("class_name") == "Dropout" and isinstance(inner, dict) and "rate" in inner:
            inner["rate"] = _kind(float(value["config"]["rate"]))
        return out
    if isinstance(value, list | tuple):
        return [_mask_dropout_rates(v) for v in value]
    return value


def _schedule(optimizer: Any) -> Any:
    import keras

    lr = optimizer._learning_rate
    return lr if isinstance(lr, keras.optimizers.schedules.LearningRateSchedule) else None


def _schedule_floats(schedule: Any) -> dict[str, float]:
    return {k: v for k, v in vars(schedule).items() if type(v) is _FLOAT and not k.startswith("_")}


def _schedule_shape(schedule: Any) -> list[Any]:
    """A schedule's class and its attributes, the floats masked (they become variables)."""
    floats = _schedule_floats(schedule)
    rest = {k: repr(v) for k, v in vars(schedule).items() if k not in floats}
    return [type(schedule).__module__, type(schedule).__qualname__, sorted(floats), rest]


# --------------------------------------------------------------------------- keep, load


def _adopt(fresh: Any, splits: Any, signature: str, steps: int) -> _Kept | None:
    """Make ``fresh`` (not traced yet) read its rates from variables, and keep it; ``None``
    (and ``fresh`` untouched) when its schedule cannot read its floats from variables."""
    import keras

    schedule = None
    original = _schedule(fresh.optimizer)
    if original is not None:
        schedule = _variable_schedule(original)
        if not _same_rates(schedule, original, steps):
            return None
    elif not isinstance(fresh.optimizer._learning_rate, keras.Variable):
        return None
    dropouts = []
    for layer in _dropouts(fresh):
        rate = keras.Variable(0.0, dtype="float32", trainable=False, name="pooled_rate")
        scale = keras.Variable(1.0, dtype="float32", trainable=False, name="pooled_scale")
        dropout = _Dropout(layer, rate, scale)
        _set_rate(dropout, float(layer.rate))
        _patch_dropout(dropout)
        dropouts.append(dropout)
    if schedule is not None:
        fresh.optimizer._learning_rate = schedule
    return _Kept(signature, fresh, splits, dropouts, schedule, steps)


def _load(kept: _Kept, fresh: Any) -> bool:
    """Load ``fresh``'s starting state into the kept model; ``False`` if its learning rates
    would differ (the kept model is then dropped)."""
    if kept.schedule is not None:
        original = _schedule(fresh.optimizer)
        kept.schedule.assign(original)
        if not _same_rates(kept.schedule, original, kept.steps):
            return False
    else:
        kept.model.optimizer._learning_rate.assign(fresh.optimizer._learning_rate)
    model = kept.model
    for mine, theirs in zip(model.variables, fresh.variables, strict=True):
        mine.assign(theirs)
    # The optimizer's slots as a new optimizer starts them.
    fresh.optimizer.build(fresh.trainable_variables)
    built = [v for v in fresh.optimizer.variables if v is not fresh.optimizer._learning_rate]
    slots = [v for v in model.optimizer.variables if v is not model.optimizer._learning_rate]
    for mine, theirs in zip(slots, built, strict=True):
        mine.assign(theirs)
    for dropout, layer in zip(kept.dropouts, _dropouts(fresh), strict=True):
        _set_rate(dropout, float(layer.rate))
    model.reset_metrics()
    model.stop_training = False
    model._eval_epoch_iterator = None  # a pruned run leaves its validation iterator behind
    return True


# --------------------------------------------------------------------------- dropout


def _set_rate(dropout: _Dropout, rate: float) -> None:
    dropout.layer.rate = rate  # what get_config (and so a saved model) says
    dropout.rate.assign(np.float32(rate))
    if 0.0 < rate < 1.0:
        dropout.scale.assign(np.float32(1 / (1 - rate)))


def _patch_dropout(dropout: _Dropout) -> None:
    """``layer.call`` reading the rate from variables: TensorFlow's stateless dropout with a
    Python rate (``x * (1 / (1 - rate))`` with the factor rounded from float64, a uniform
    draw kept where ``>= rate``), operation for operation, so results are bit for bit those
    of the layer's own call."""
    import tensorflow as tf
    from keras.src.backend.tensorflow.random import (
        _cast_seed,
        _get_concrete_noise_shape,
        draw_seed,
    )

    layer = dropout.layer

    def call(inputs: Any, training: Any = False) -> Any:
        if not (training and layer.rate > 0):
            return inputs
        if layer.rate == 1.0:
            return tf.zeros_like(inputs)
        seed = _cast_seed(draw_seed(layer.seed_generator))
        noise_shape = _get_concrete_noise_shape(inputs, layer.noise_shape)
        x = tf.convert_to_tensor(inputs)
        scaled = tf.math.multiply(x, tf.cast(dropout.scale.value, x.dtype))
        shape = tf.shape(x) if noise_shape is None else noise_shape
        uniform = tf.random.stateless_uniform(shape, seed=seed, dtype=x.dtype)
        keep = uniform >= tf.cast(dropout.rate.value, x.dtype)
        out = tf.where(keep, scaled, tf.constant(0, dtype=x.dtype))
        out.set_shape(x.shape)
        return out

    layer.call = call


# --------------------------------------------------------------------------- schedules


def _variable_schedule(schedule: Any) -> Any:
    """A copy of ``schedule`` whose float attributes are float32 variables."""
    import copy

    import keras

    class _VariableSchedule(keras.optimizers.schedules.LearningRateSchedule):
        def __init__(self, base: Any) -> None:
            self.base = copy.copy(base)
            self.floats = {
                k: keras.Variable(v, dtype="float32", trainable=False, name=f"pooled_{k}")
                for k, v in _schedule_floats(base).items()
            }
            for k, var in self.floats.items():
                setattr(self.base, k, var)

        def assign(self, other: Any) -> None:
            for k, v in _schedule_floats(other).items():
                self.floats[k].assign(np.float32(v))

        def __call__(self, step: Any) -> Any:
            return self.base(step)

        def get_config(self) -> dict[str, Any]:
            config = self.base.get_config()
            for k, var in self.floats.items():
                if k in config:
                    config[k] = float(var.numpy())
            return config

    return _VariableSchedule(schedule)


def _same_rates(schedule: Any, original: Any, steps: int) -> bool:
    """Whether ``schedule`` gives the learning rates of ``original``, bit for bit, at
    :data:`CHECKED_STEPS` steps spread over the run's ``steps`` (its first and last among
    them; every step of a shorter run). One call per step: a schedule may branch on it."""
    import keras

    at = np.unique(np.linspace(0, steps, num=min(CHECKED_STEPS, steps + 1)).round())
    for step in at.astype("int64"):
        mine = keras.ops.convert_to_numpy(schedule(step))
        theirs = keras.ops.convert_to_numpy(original(step))
        if not np.array_equal(mine, theirs):
            return False
    return True
