"""Resolve: bind the data to the model — data source parameters and the builder's parameters.

The data describes itself (:class:`~nnzoo.data.DataSpec`); the model's ``input_shape``,
``num_classes``, ``vocabulary_size`` and ``max_sequence_length`` are filled from it unless the
config sets them, and a value that contradicts the data is a :class:`ConfigError`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from nnzoo.cards import DATA_FILLED, ModelCard
from nnzoo.config import Config
from nnzoo.data import DataSpec, Splits, get_source, load_data
from nnzoo.errors import ConfigError
from nnzoo.registry import get_card

log = logging.getLogger(__name__)


def effective_task(card: ModelCard, params: dict[str, Any]) -> str:
    """The task of a model: its ``task`` parameter where the builder has one, else the card's."""
    return str(params.get("task", card.defaults.get("task", card.task)))


def source_params(
    config: Config, card: ModelCard, task: str, preset: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The data source's parameters, with what the model implies filled in (and, for a
    model started from a KerasHub preset, the preset's tokenizer and sequence length)."""
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
    if preset is not None and card.input_kind.startswith("tokens"):
        _preset_text_params(config, src, params, preset)
    return params


def _preset_text_params(
    config: Config, src: Any, params: dict[str, Any], preset: dict[str, Any]
) -> None:
    """A text model started from a preset reads its data with the preset's own tokenizer
    (its embeddings mean those tokens), in sequences no longer than the preset's positions."""
    from nnzoo.pretrained import PREFIX

    file, accepted = config.source_file, src.parameters
    handle = str(config.model.init_from)[len(PREFIX) :]
    if "tokenizer" not in accepted:
        raise ConfigError(
            f"data source '{config.data.source}' has its own token ids; preset {handle} reads "
            "text with its own tokenizer",
            file=file,
            key="data.source",
            fix="use a text source: text_corpus, stdlib_topics, text_folder or csv (text_column)",
        )
    given = params.get("tokenizer")
    if given is not None and not str(given).endswith(".json"):
        raise ConfigError(
            f"is {given!r}, but a model started from preset {handle} must read its data "
            "with the preset's tokenizer",
            file=file,
            key="data.params.tokenizer",
            fix="remove it (the preset's tokenizer is used and saved in the run)",
        )
    if given is None:
        params["tokenizer"] = preset["tokenizer_file"]
        params.pop("vocabulary_size", None)
    longest = preset["params"].get("max_sequence_length")
    if longest is not None and "sequence_length" in accepted:
        length = params.get("sequence_length", accepted.get("sequence_length"))
        if "sequence_length" in params and int(params["sequence_length"]) > int(longest):
            raise ConfigError(
                f"is {params['sequence_length']}, longer than preset {handle}'s "
                f"{longest} positions",
                file=file,
                key="data.params.sequence_length",
                fix=f"use at most {longest}",
            )
        if length is None or int(length) > int(longest):
            params["sequence_length"] = int(longest)


def preset_inputs(config: Config, card: ModelCard) -> dict[str, Any] | None:
    """``{"params", "tokenizer_file"}`` of the KerasHub preset ``model.init_from`` names (the
    builder parameters: the preset's merged with the config's; its tokenizer as a file), or
    ``None``."""
    from nnzoo import pretrained

    if not pretrained.is_preset(config.model.init_from):
        return None
    value = str(config.model.init_from)
    fixed = pretrained.preset_params(
        card, value, config.model.params, file=config.source_file, locate_param=None
    )
    loaded = pretrained.load(value, card=card, file=config.source_file)
    tokenizer_file = None
    if loaded.tokenizer is not None:
        tokenizer_file = _tokenizer_file(loaded.preset.handle, loaded.tokenizer)
    elif card.input_kind.startswith("tokens"):
        raise ConfigError(
            f"preset {loaded.preset.handle} has no tokenizer, so its token embeddings cannot "
            "be matched to text",
            file=config.source_file,
            key="model.init_from",
            fix="use a preset saved with its tokenizer (a KerasHub task or preprocessor "
            "save_to_preset), or keras_hub.models.<Model>Tokenizer(...).save_to_preset(dir)",
        )
    return {"params": fixed, "tokenizer_file": tokenizer_file}


def _tokenizer_file(handle: str, tokenizer: Any) -> str:
    """The preset's tokenizer as a ``tokenizer.json`` the text sources read (and copy into the
    run), written once per process into a temporary folder removed at exit."""
    import atexit
    import hashlib
    import shutil
    import tempfile

    folder = _TOKENIZER_DIRS.get("dir")
    if folder is None:
        folder = tempfile.mkdtemp(prefix="nnzoo-preset-")
        _TOKENIZER_DIRS["dir"] = folder
        atexit.register(shutil.rmtree, folder, True)
    path = Path(folder) / (hashlib.sha1(handle.encode()).hexdigest()[:16] + ".tokenizer.json")
    if not path.exists():
        tmp = path.with_suffix(".part")
        tmp.write_text(tokenizer.to_json(), encoding="utf-8")
        tmp.replace(path)
    return str(path)


_TOKENIZER_DIRS: dict[str, str] = {}


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
    preset = preset_inputs(config, card)
    splits = load_data(
        config.data.source,
        params=source_params(config, card, task, preset),
        validation_split=config.data.validation_split,
        test_split=config.data.test_split,
        seed=config.seed,
        file=file,
    )
    if config.data.validation_source:
        other = load_data(
            config.data.validation_source,
            params=source_params(config, card, task, preset)
            if config.data.validation_source == config.data.source
            else {},
            seed=config.seed,
            file=file,
        )
        splits.validation = other.test
    given = preset["params"] if preset else config.model.params
    params = fill_model_params(card, given, splits.spec, source=config.data.source, file=file)
    return card, params, splits
