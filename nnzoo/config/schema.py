"""The typed config schema (pydantic v2). Every section forbids unknown keys."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelConfig(_Section):
    """Which catalog entry to build, and how."""

    name: str = Field(description="a catalog name, see `nnzoo list-models`")
    params: dict[str, Any] = Field(
        default_factory=dict, description="builder hyperparameters (others: card defaults)"
    )
    init_from: str | None = Field(
        default=None,
        description="a run directory or .weights.h5 file: load every layer whose name and "
        "shape match, keep the rest freshly initialised",
    )


class AugmentConfig(_Section):
    """Image augmentation, as Keras preprocessing layers applied only in training."""

    flip: Literal["none", "horizontal", "vertical", "horizontal_and_vertical"] = "none"
    rotation: float = Field(0.0, ge=0.0, le=0.5, description="fraction of a full turn")
    translate: float = Field(0.0, ge=0.0, lt=1.0, description="fraction of height / width")
    zoom: float = Field(0.0, ge=0.0, lt=1.0, description="fraction of the image size")
    contrast: float = Field(0.0, ge=0.0, le=1.0, description="contrast factor range")

    @field_validator("flip", mode="before")
    @classmethod
    def _flip_bool(cls, value: Any) -> Any:
        if value is True:
            return "horizontal"
        if value is False or value is None:
            return "none"
        return value

    @property
    def active(self) -> bool:
        return self.flip != "none" or any(
            (self.rotation, self.translate, self.zoom, self.contrast)
        )


class DataConfig(_Section):
    """Where the data comes from and how it is split and batched."""

    source: str = Field(description="a data source, see `nnzoo list-models --help`")
    params: dict[str, Any] = Field(default_factory=dict, description="source parameters")
    batch_size: int = Field(32, ge=1, description="global batch size (split across replicas)")
    validation_split: float = Field(0.1, ge=0.0, lt=1.0)
    test_split: float = Field(0.2, gt=0.0, lt=1.0)
    validation_source: str | None = Field(
        default=None, description="a separate source for validation (its test split is used)"
    )
    shuffle: bool = True
    cache: bool | Literal["disk"] = Field(
        True,
        description="keep decoded image files: true in memory (up to 256 MB a split), "
        "disk in a cache file under the Keras home, false not at all",
    )
    augment: AugmentConfig = Field(
        default_factory=AugmentConfig, description="null or false: no augmentation"
    )

    @field_validator("cache", mode="before")
    @classmethod
    def _cache_choice(cls, value: Any) -> Any:
        if isinstance(value, bool) or value == "disk":
            return value
        raise ValueError(f"must be true, false or disk; received {value!r}")

    @field_validator("augment", mode="before")
    @classmethod
    def _augment_off(cls, value: Any) -> Any:
        # `augment: null` turns off what a base config (extends:) switched on.
        return {} if value is None or value is False else value


class OptimizerConfig(_Section):
    name: Literal["adam", "adamw", "sgd", "rmsprop"] = "adam"
    learning_rate: float = Field(1e-3, gt=0.0)
    weight_decay: float | None = Field(default=None, ge=0.0)
    momentum: float = Field(0.0, ge=0.0, lt=1.0, description="sgd and rmsprop")
    nesterov: bool = False
    clipnorm: float | None = Field(default=None, gt=0.0)
    clipvalue: float | None = Field(default=None, gt=0.0)
    global_clipnorm: float | None = Field(default=None, gt=0.0)


class ScheduleConfig(_Section):
    """Learning-rate schedule; epochs are converted to steps by the trainer."""

    name: Literal["constant", "step", "exponential", "cosine", "constant_then_exp"] = "constant"
    warmup_epochs: float = Field(0.0, ge=0.0, description="linear warm-up (cosine)")
    step_epochs: int = Field(10, ge=1, description="step: decay every this many epochs")
    factor: float = Field(0.1, gt=0.0, le=1.0, description="step / exponential decay factor")
    hold_epochs: int = Field(10, ge=0, description="constant_then_exp: epochs at the initial rate")
    decay: float = Field(0.1, ge=0.0, description="constant_then_exp: lr *= exp(-decay)/epoch")
    min_learning_rate: float = Field(0.0, ge=0.0, description="cosine: final learning rate")


class MonitorConfig(_Section):
    """One monitored metric drives early stopping, the best checkpoint and model.keras."""

    metric: str = "val_loss"
    mode: Literal["auto", "min", "max"] = "auto"

    @property
    def resolved_mode(self) -> str:
        if self.mode != "auto":
            return self.mode
        name = self.metric.removeprefix("val_")
        return (
            "max"
            if any(k in name for k in ("accuracy", "auc", "precision", "recall", "r2"))
            else ("min")
        )


class EarlyStoppingConfig(_Section):
    enabled: bool = True
    patience: int = Field(5, ge=0)
    min_delta: float = Field(0.0, ge=0.0)
    restore_best_weights: bool = True


class CallbacksConfig(_Section):
    early_stopping: EarlyStoppingConfig = Field(
        default_factory=lambda: EarlyStoppingConfig(enabled=False)
    )
    checkpoint: bool = Field(True, description="keep the best model by train.monitor")
    tensorboard: bool = False

    @field_validator("early_stopping", mode="before")
    @classmethod
    def _bool_to_section(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return {"enabled": value}
        if value is None:
            return {"enabled": False}
        if isinstance(value, dict) and "enabled" not in value:
            return {"enabled": True, **value}
        return value


class TrainConfig(_Section):
    epochs: int = Field(10, ge=1)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    loss: str = Field("auto", description="auto: chosen from the task")
    metrics: list[str] = Field(
        default_factory=lambda: ["accuracy"],
        description="default [accuracy]; a regression's default is [mae, rmse, r2]",
    )
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)
    mixed_precision: Literal["none", "mixed_float16", "mixed_bfloat16"] = "none"
    jit_compile: Literal["auto", True, False] = "auto"
    steps_per_epoch: int | None = Field(default=None, ge=1)
    precise_bn: Literal["auto", True, False] = Field(
        "auto",
        description="recompute batch-norm statistics before each evaluation (auto: when the "
        "model has batch norm)",
    )
    callbacks: CallbacksConfig = Field(default_factory=CallbacksConfig)
    checkpoint_every_seconds: float = Field(
        5.0,
        ge=0,
        description="save the resume checkpoint (weights, optimizer, state) at the end of the "
        "first epoch this many seconds after the last one, and of the last epoch; 0: every "
        "epoch. A resume redoes the epochs after the last checkpoint, exactly",
    )

    @field_validator("mixed_precision", mode="before")
    @classmethod
    def _mp_bool(cls, value: Any) -> Any:
        if value is False or value is None:
            return "none"
        if value is True:
            return "mixed_float16"
        return value


class DistributeConfig(_Section):
    strategy: Literal["auto", "none", "one_device", "mirrored", "multi_worker"] = "auto"


class SpaceParam(_Section):
    """One dimension of the search space: exactly one of float, int or choice."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    float_range: list[float] | None = Field(
        default=None, alias="float", min_length=2, max_length=2
    )
    int_range: list[int] | None = Field(default=None, alias="int", min_length=2, max_length=2)
    choice: list[Any] | None = Field(default=None, min_length=1)
    log: bool = False
    step: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _exactly_one(self) -> SpaceParam:
        kinds = [
            k
            for k, v in (
                ("float", self.float_range),
                ("int", self.int_range),
                ("choice", self.choice),
            )
            if v is not None
        ]
        if len(kinds) != 1:
            raise ValueError(
                "give exactly one of float: [low, high], int: [low, high] or choice: [...]"
                f"; received {kinds or 'none'}"
            )
        bounds = self.float_range if self.float_range is not None else self.int_range
        if bounds is not None and bounds[0] >= bounds[1]:
            raise ValueError(f"low must be below high; received {bounds}")
        if self.log and bounds is not None and bounds[0] <= 0:
            raise ValueError(f"log scale needs a positive low bound; received {bounds}")
        return self


class TuneConfig(_Section):
    trials: int = Field(20, ge=1)
    metric: str | None = Field(default=None, description="default: train.monitor.metric")
    direction: Literal["auto", "maximize", "minimize"] = "auto"
    sampler: Literal["tpe", "random", "cmaes", "grid"] = "tpe"
    pruner: Literal["median", "successive_halving", "hyperband", "none"] = "median"
    timeout: float | None = Field(default=None, gt=0)
    max_failures: int | None = Field(default=None, ge=1)
    storage: str | None = None
    study: str | None = None
    workers: int = Field(1, ge=1)
    space: dict[str, SpaceParam] = Field(default_factory=dict)


class Config(_Section):
    """A whole nnzoo config: what to build, on what data, how to train and tune it."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    seed: int = Field(42, ge=0, lt=2**32)  # NumPy's and TensorFlow's seeds are uint32
    model: ModelConfig
    data: DataConfig
    train: TrainConfig = Field(default_factory=TrainConfig)
    distribute: DistributeConfig = Field(default_factory=DistributeConfig)
    tune: TuneConfig = Field(default_factory=TuneConfig)

    # Where the config came from (a file, ``--set``, a run's config.yaml), for error messages.
    # A private attribute: not a key of the file, and it survives ``model_copy``.
    _source_file: str | None = PrivateAttr(default=None)
    # Where each dotted key was last set: (file, "--set" or "command line"; line or None).
    _origins: dict[str, tuple[str, int | None]] = PrivateAttr(default_factory=dict)

    @property
    def source_file(self) -> str | None:
        """The file this config was loaded from (``None`` when built in code)."""
        return self._source_file

    def __eq__(self, other: object) -> bool:
        # Two configs are equal when they say the same thing, wherever they were loaded from.
        if not isinstance(other, Config):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]  # mutable, as pydantic models are

    def with_source(
        self,
        source_file: str | None,
        origins: dict[str, tuple[str, int | None]] | None = None,
    ) -> Config:
        """Record where this config came from (and, when given, where each dotted key was
        set); returns ``self``."""
        self._source_file = source_file
        if origins is not None:
            self._origins = dict(origins)
        return self

    def origin(self, key: str) -> tuple[str, int | None]:
        """``(file, line)`` where the dotted ``key`` (or the nearest key above it) was set: the
        file and line of a YAML file, ``--set`` or ``command line``; else the config's file."""
        parts = key.split(".")
        while parts:
            found = self._origins.get(".".join(parts))
            if found:
                return found
            parts.pop()
        return self._source_file or "<config>", None
