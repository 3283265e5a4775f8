"""The search space: ``tune.space`` entries -> Optuna suggestions -> a trial's config."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nnzoo.config import Config
from nnzoo.config.loader import get_dotted, set_dotted
from nnzoo.config.schema import SpaceParam
from nnzoo.errors import ConfigError
from nnzoo.registry import get_card
from nnzoo.run.bind import config_from_dict

if TYPE_CHECKING:
    import optuna

_PRIMITIVE = (type(None), bool, int, float, str)


def _encode(value: Any) -> Any:
    """Optuna's categorical values are primitives; lists and mappings travel as JSON text."""
    return value if isinstance(value, _PRIMITIVE) else json.dumps(value)


def _decode(param: SpaceParam, value: Any) -> Any:
    if param.choice is not None and isinstance(value, str):
        for option in param.choice:
            if not isinstance(option, _PRIMITIVE) and json.dumps(option) == value:
                return option
    return value


def _int_step(param: SpaceParam) -> int:
    return int(param.step) if param.step is not None else 1


def suggest(trial: optuna.Trial, space: Mapping[str, SpaceParam]) -> dict[str, Any]:
    """Ask ``trial`` for one value per dotted key of ``space``; returns config values."""
    values: dict[str, Any] = {}
    for key, param in space.items():
        if param.float_range is not None:
            low, high = param.float_range
            value = trial.suggest_float(key, low, high, log=param.log, step=param.step)
        elif param.int_range is not None:
            low, high = param.int_range
            value = trial.suggest_int(key, low, high, step=_int_step(param), log=param.log)
        else:
            value = trial.suggest_categorical(key, [_encode(c) for c in param.choice or []])
        values[key] = _decode(param, value)
    return values


def decode_params(space: Mapping[str, SpaceParam], params: Mapping[str, Any]) -> dict[str, Any]:
    """A finished trial's ``params`` as config values (JSON-encoded choices decoded)."""
    return {k: _decode(space[k], v) if k in space else v for k, v in params.items()}


def grid(space: Mapping[str, SpaceParam], *, file: str | None = None) -> dict[str, list[Any]]:
    """Every value of each dimension, for Optuna's GridSampler."""
    out: dict[str, list[Any]] = {}
    for key, param in space.items():
        if param.choice is not None:
            out[key] = [_encode(c) for c in param.choice]
        elif param.int_range is not None:
            low, high = param.int_range
            out[key] = list(range(low, high + 1, _int_step(param)))
        elif param.step is not None and param.float_range is not None:
            low, high = param.float_range
            count = int(math.floor((high - low) / param.step + 1e-9)) + 1
            out[key] = [round(low + i * param.step, 12) for i in range(count)]
        else:
            raise ConfigError(
                "the grid sampler needs a finite set of values; received a float range "
                "without a step",
                file=file,
                key=f"tune.space.{key}",
                fix="add `step:` or use `choice: [...]`, or set tune.sampler to tpe",
            )
    return out


def as_written(space: Mapping[str, SpaceParam]) -> dict[str, dict[str, Any]]:
    """``space`` as it is written in a config (``float:``, not the field name), as JSON values."""
    return {
        key: param.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
        for key, param in space.items()
    }


def changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The keys of two :func:`as_written` spaces that differ, were added or were removed."""
    return sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))


def _contains(param: SpaceParam, value: Any) -> bool:
    if param.choice is not None:
        return _encode(value) in [_encode(c) for c in param.choice]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    low, high = param.float_range or param.int_range or (0, 0)
    if not low <= value <= high:
        return False
    if param.int_range is not None:
        return float(value).is_integer() and (int(value) - low) % _int_step(param) == 0
    if param.step is not None:
        return abs((value - low) / param.step - round((value - low) / param.step)) < 1e-6
    return True


def baseline(config: Config) -> dict[str, Any]:
    """The config's own value for each dimension that it has and that lies in the space.

    Model parameters the config leaves out take the catalog card's default. The result is
    what :meth:`optuna.Study.enqueue_trial` gets, so the study starts from the baseline.
    """
    dumped = config.model_dump(mode="json")
    defaults = get_card(config.model.name).defaults
    out: dict[str, Any] = {}
    for key, param in config.tune.space.items():
        parts = key.split(".")
        try:
            value = get_dotted(dumped, key)
        except (KeyError, TypeError):
            if parts[:2] != ["model", "params"] or parts[2] not in defaults:
                continue
            value = defaults[parts[2]]
        if isinstance(value, tuple):
            value = list(value)
        if _contains(param, value):
            out[key] = _encode(value)
    return out


def apply(config: Config, values: Mapping[str, Any]) -> Config:
    """A copy of ``config`` with ``values`` set on their dotted keys, validated again."""
    data = config.model_dump(mode="json")
    for key, value in values.items():
        set_dotted(data, key, value, origin="tune.space")
    label = config.source_file or "<config>"
    return config_from_dict(data, label=label, check_catalog=False)
