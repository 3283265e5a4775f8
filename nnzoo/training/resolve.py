"""Resolve: bind the data to the model — data source parameters and the builder's parameters.

The data describes itself (:class:`~nnzoo.data.DataSpec`); the model's ``input_shape``,
``num_classes``, ``vocabulary_size`` and ``max_sequence_length`` are filled from it unless the
config sets them, and a value that contradicts the data is a :class:`ConfigError`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from nnzoo.cards import DATA_FILLED
from nnzoo.config import Config
from nnzoo.data import DataSpec, Splits, get_source, load_data
from nnzoo.errors import ConfigError
from nnzoo.registry import ModelCard, get_card

log = logging.getLogger(__name__)


def effective_task(card: ModelCard, params: dict[str, Any]) -> str:
    """The task of a model: its ``task`` parameter where the builder has one, else the card's."""
    return str(params.get("task", card.defaults.get("task", card.task)))


def source_params(config: Config, card: ModelCard, task: str) -> dict[str, Any]:
    """The data source's parameters, with what the model implies filled in."""
    src = get_source(config.data.source)
    params = dict(config.data.params)
    accepted = src.parameters
    if "task" in accepted and "task" not in params:
        params["task"] = task
    if "segments" in accepted and "segments" not in params:
        params["segments"] = card.input_kind == "tokens_segments"
    if "input_kind" in accepted and params.get("input_kind", "auto") == "auto":
        params["input_kind"] = card.input_kind
    start = config.model.init_from
    if start and "tokenizer" in accepted and (Path(start) / "tokenizer.json").exists():
        # Loaded embeddings only mean the same tokens with the same tokenizer (as KerasHub's
        # from_preset loads the preset's tokenizer): use the tokenizer of the run we start from.
        given = str(params.get("tokenizer", ""))
        if not given.endswith(".json"):
            params["tokenizer"] = str(Path(start) / "tokenizer.json")
            log.info("data: using the tokenizer of %s (model.init_from)", start)
    return params


def fill_model_params(
    card: ModelCard, params: dict[str, Any], spec: DataSpec, *, source: str, file: str | None
) -> dict[str, Any]:
    """The builder's parameters: card defaults, then what the data reports, then the config.

    A value the config sets that contradicts the data is a :class:`ConfigError`.
    """
    task = effective_task(card, params)
    if spec.input_kind != card.input_kind and not (
        card.input_kind == "tokens_segments" and spec.input_kind == "tokens"
    ):
        raise ConfigError(
            f"model '{card.name}' takes {card.input_kind} inputs but data source '{source}' "
            f"yields {spec.input_kind}",
            file=file,
            key="data.source",
            fix=f"choose a source that yields {card.input_kind} (see `nnzoo init {card.name}`)",
        )
    if spec.task != task:
        raise ConfigError(
            f"model '{card.name}' is a {task} model but data source '{source}' is for {spec.task}",
            file=file,
            key="data.source",
            fix=f"choose a {task} data source",
        )
    accepted = card.parameters
    filled = {**card.defaults, **params}

    def fill(name: str, value: Any, *, at_least: bool = False) -> None:
        if name not in accepted or value is None:
            return
        if name not in params:
            filled[name] = value
            return
        given = params[name]
        if isinstance(value, tuple | list):
            ok = list(given) == list(value)
        else:
            ok = given >= value if at_least else given == value
        if not ok:
            need = f"at least {value}" if at_least else f"{value}"
            raise ConfigError(
                f"is {given} but data source '{source}' needs {need}",
                file=file,
                key=f"model.params.{name}",
                fix="remove it (the data fills it in) or change the data",
            )

    reported = {
        "input_shape": tuple(int(d) for d in spec.input_shape)
        if spec.input_kind in ("features", "image")
        else None,
        "num_classes": spec.num_classes if task == "classification" else None,
        "vocabulary_size": spec.vocabulary_size,
        "max_sequence_length": spec.sequence_length,
        # Feature scaling inside the model, its statistics from the training split.
        "feature_normalization": True if spec.feature_scaling is not None else None,
    }
    for name in DATA_FILLED:
        # A model may take a larger vocabulary or longer sequences than the data has.
        fill(name, reported[name], at_least=name in ("vocabulary_size", "max_sequence_length"))
    return filled


def prepare(config: Config) -> tuple[ModelCard, dict[str, Any], Splits]:
    """Load the data and resolve the model's parameters from it."""
    file = config.source_file
    card = get_card(config.model.name, file=file)
    task = effective_task(card, config.model.params)
    splits = load_data(
        config.data.source,
        params=source_params(config, card, task),
        validation_split=config.data.validation_split,
        test_split=config.data.test_split,
        seed=config.seed,
        file=file,
    )
    if config.data.validation_source:
        other = load_data(
            config.data.validation_source,
            params=source_params(config, card, task)
            if config.data.validation_source == config.data.source
            else {},
            seed=config.seed,
            file=file,
        )
        splits.validation = other.test
    params = fill_model_params(
        card, config.model.params, splits.spec, source=config.data.source, file=file
    )
    return card, params, splits
