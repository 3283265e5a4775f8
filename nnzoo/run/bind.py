"""Bind a config to the catalog and the data: check it, load its data, fill the model's params.

A config read against the schema (:mod:`nnzoo.config`) is bound here, in three steps that
every command shares:

1. :func:`load_config` / :func:`config_from_dict` check what the schema cannot
   (:func:`check_references`): the model name, its parameters with their rules and memory
   estimate, the data source and its parameters, the ``tune.space`` keys. Nothing imports
   Keras. :func:`check_downloads` says what must be downloaded, before anything heavy loads.
2. :func:`prepare` loads the data (:class:`~nnzoo.data.Splits`) with the source parameters the
   model asks for (:func:`source_params`: the task, a preset's tokenizer).
   ``prepare(config, split=...)`` takes the split a run recorded rather than drawing it.
3. The data describes itself (:class:`~nnzoo.data.DataSpec`); the model's ``input_shape``,
   ``num_classes``, ``vocabulary_size`` and ``max_sequence_length`` are filled from it unless
   the config sets them (:func:`fill_model_params`), and a value that contradicts the data is
   a :class:`ConfigError`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from nnzoo._atomic import write_text
from nnzoo._cache import Need, needs_of
from nnzoo.cards import DATA_FILLED, ModelCard, catalog
from nnzoo.config import Config, parse_config, read_config
from nnzoo.config.loader import check_space_key
from nnzoo.data import (
    DataSpec,
    Splits,
    check_required_params,
    check_source_params,
    check_training_split,
    get_source,
    load_data,
)
from nnzoo.errors import ConfigError
from nnzoo.hyperparameters import check_hyperparameters, check_params
from nnzoo.memory import check_image_memory, check_memory, optimizer_slots
from nnzoo.registry import get_card

log = logging.getLogger(__name__)


def load_config(
    path: str | Path,
    overrides: Iterable[str] = (),
    *,
    flags: Mapping[str, Any] | None = None,
    check_catalog: bool = True,
    check_data_files: bool = True,
) -> Config:
    """Load, merge and validate a config file, then check it against the catalog.

    Args:
        path: the YAML file; may start with ``extends: other.yaml``.
        overrides: ``--set``-style ``"a.b.c=value"`` strings; they override everything.
        flags: dotted keys set by command-line flags (``{"train.epochs": 5}``); the file's
            values are overridden by these, and these by ``overrides``.
        check_catalog: also check the model name, its params and the data source
            (:func:`check_references`). Defaults to ``True``.
        check_data_files: also check that a file source's ``data.params.path`` exists (a
            saved run's config is read without: its model is usable without its data).
            Defaults to ``True``.

    Returns:
        The validated :class:`~nnzoo.config.Config`; its file is ``config.source_file``.
    """
    config = read_config(path, overrides, flags=flags)
    if check_catalog:
        check_references(config, check_data_files=check_data_files)
    return config


def config_from_dict(
    data: Mapping[str, Any],
    *,
    label: str = "<config>",
    overrides: Iterable[str] = (),
    flags: Mapping[str, Any] | None = None,
    check_catalog: bool = True,
    check_data_files: bool = True,
) -> Config:
    """Validate a config given as a mapping, then check it (see :func:`load_config`)."""
    config = parse_config(data, label=label, overrides=overrides, flags=flags)
    if check_catalog:
        check_references(config, check_data_files=check_data_files)
    return config


def check_references(config: Config, *, check_data_files: bool = True) -> None:
    """Check what the schema cannot: model name and params, data source and params, space.

    The model's parameters are checked as a build would check them (names, each value's
    choices and range, the rules between them, the memory they need with the configured
    optimizer), except that what the data fills in is not known yet: rules that need a
    data-filled parameter the config leaves out wait for the build, and the memory estimate
    takes the card's default for it. Nothing here imports Keras.
    """

    def where(key: str) -> dict[str, Any]:
        file, line = config.origin(key)
        return {"file": file, "line": line}

    def locate(name: str) -> tuple[str, int | None]:
        return config.origin(f"model.params.{name}")

    card = get_card(config.model.name, **where("model.name"))
    params = dict(config.model.params)
    check_params(card, params, locate=locate)
    check_hyperparameters(card, params, locate=locate, data_filled=False)
    optimizer = config.train.optimizer
    slots = optimizer_slots(optimizer.name, momentum=optimizer.momentum)
    check_memory(card, params, optimizer_slots=slots, **where("model.params"))
    source = get_source(config.data.source, **where("data.source"))
    kinds = {card.input_kind, "any"} | (
        {"tokens"} if card.input_kind == "tokens_segments" else set()
    )
    yields = source.yields(config.data.params)
    if yields not in kinds:
        raise ConfigError(
            f"model '{card.name}' takes {card.input_kind} inputs but data source "
            f"'{source.name}' yields {yields}",
            key="data.source",
            fix=f"choose a source that yields {card.input_kind} (see `nnzoo list-sources`)",
            **where("data.source"),
        )
    for name in config.data.params:
        check_source_params(source, {name: None}, **where(f"data.params.{name}"))
    if "image_size" in config.data.params:  # before a TiB of pixels is asked for
        channels = 1 if config.data.params.get("color_mode") == "grayscale" else 3
        check_image_memory(
            config.data.params["image_size"],
            batch_size=config.data.batch_size,
            channels=channels,
            **where("data.params.image_size"),
        )
    if check_data_files:  # a file source without its file: refused here as train refuses it
        check_required_params(source, config.data.params, **where("data.params.path"))
    if config.data.validation_source:
        get_source(config.data.validation_source, **where("data.validation_source"))
    dumped = config.model_dump()
    for key, space in config.tune.space.items():
        check_space_key(dumped, key, card.parameters, **where(f"tune.space.{key}"))
        parts = key.split(".")
        if parts[:2] == ["model", "params"] and len(parts) == 3:
            # Every value the search may try must be one the model takes.
            values = space.choice or space.float_range or space.int_range or []
            for value in values:
                check_params(
                    card,
                    {parts[2]: value},
                    key="tune.space.model.params",
                    **where(f"tune.space.{key}"),
                )


def config_needs(config: Config) -> list[Need]:
    """What ``config`` needs from the Keras cache: data set files (``data.source``,
    ``data.validation_source``) and model weights (``weights: imagenet``), each with whether
    it is cached (:meth:`~nnzoo._cache.Need.report`). Imports neither Keras nor TensorFlow
    and reads no data file."""
    card = get_card(config.model.name)
    needs = needs_of("model", card.name, {**card.defaults, **config.model.params})
    needs += _preset_needs(config, card)
    sources = {config.data.source: config.data.params}
    if config.data.validation_source and config.data.validation_source not in sources:
        sources[config.data.validation_source] = {}  # it is loaded with its defaults
    for name, params in sources.items():
        get_source(name)
        needs += needs_of("data", name, params)
    return needs


def _preset_needs(config: Config, card: Any) -> list[Any]:
    """The KerasHub preset ``model.init_from`` names, checked against the model (another
    architecture or size is refused here, before any download)."""
    from nnzoo import pretrained

    if not pretrained.is_preset(config.model.init_from):
        return []
    preset = pretrained.locate(str(config.model.init_from), file=config.source_file)
    pretrained.check_card(card, preset, file=config.source_file)
    return [preset]


def check_downloads(config: Config) -> list[Need]:
    """:func:`config_needs`, after checking that each missing file may be downloaded: with
    ``nnzoo --offline`` / ``NNZOO_OFFLINE=1`` (or ``data.params.download: false``) a file not
    in the cache is :class:`~nnzoo.errors.DataNotAvailableError` here, in one line, before
    anything heavy is imported."""
    needs = config_needs(config)
    for need in needs:
        need.check()
    return needs


def effective_task(card: ModelCard, params: dict[str, Any], spec: DataSpec | None = None) -> str:
    """The task of a model: its ``task`` parameter where the config sets one; else, for a card
    of several tasks, the data's task (``spec.task``) where the card supports it; else the
    card's default."""
    if "task" in params:
        return str(params["task"])
    if spec is not None and len(card.tasks) > 1 and spec.task in card.tasks:
        return spec.task
    return str(card.defaults.get("task", card.task))


def source_params(
    config: Config, card: ModelCard, task: str, preset: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The data source's parameters, with what the model implies filled in (and, for a
    model started from a KerasHub preset, the preset's tokenizer and sequence length)."""
    src = get_source(config.data.source)
    params = dict(config.data.params)
    accepted = src.parameters
    # A table's labels decide where the config does not (source default "auto"): text and few
    # integers are classes, other numbers a regression target.
    decides = accepted.get("task") == "auto" and "task" not in config.model.params
    if "task" in accepted and "task" not in params and not decides:
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
        write_text(path, tokenizer.to_json())
    return str(path)


_TOKENIZER_DIRS: dict[str, str] = {}


def fill_model_params(
    card: ModelCard, params: dict[str, Any], spec: DataSpec, *, source: str, file: str | None
) -> dict[str, Any]:
    """The builder's parameters: card defaults, then what the data reports, then the config.

    A value the config sets that contradicts the data is a :class:`ConfigError`.
    """
    task = effective_task(card, params, spec)
    if task not in card.tasks:
        raise ConfigError(
            f"is {task!r}, but model '{card.name}' is for {', '.join(card.tasks)}",
            file=file,
            key="model.params.task",
            fix=f"use one of: {', '.join(card.tasks)}",
        )
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
        if spec.task in card.tasks:  # the config chose the other task
            fix = f"remove model.params.task (the data's task, {spec.task}, is then used)"
        else:
            others = [c.name for c in catalog().values() if spec.task in c.tasks]
            some = ", ".join(others[:4]) + (", ..." if len(others) > 4 else "")
            fix = f"choose a {task} data source, or a {spec.task} model ({some})"
        raise ConfigError(
            f"model '{card.name}' is a {task} model but data source '{source}' is for {spec.task}",
            file=file,
            key="data.source",
            fix=fix,
        )
    accepted = card.parameters
    filled = {**card.defaults, **params}
    if "task" in accepted:
        filled["task"] = task  # recorded in the run's config.yaml

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
        # A table with categories or missing cells: how the model's encoder takes each column.
        "table_columns": (spec.table or {}).get("model_columns"),
    }
    for name in DATA_FILLED:
        # A model may take a larger vocabulary or longer sequences than the data has.
        fill(name, reported[name], at_least=name in ("vocabulary_size", "max_sequence_length"))
    return filled


def _check_training_split(config: Config, splits: Splits) -> None:
    """Refuse a drawn training split too small to learn from (:mod:`nnzoo.data._sizes`)."""
    import numpy as np

    indices = splits.indices
    if indices is None or np.array_equal(indices["train"], indices["test"]):
        return  # no recorded split, or a tiny source trained and tested on every example
    counts = names = None
    labels = [part[1] for part in (splits.train, splits.validation, splits.test) if part]
    if (
        splits.spec.task == "classification"
        and labels
        and all(
            y is not None and np.ndim(y) == 1 and np.asarray(y).dtype.kind in "iu" for y in labels
        )
    ):
        total = np.bincount(np.concatenate(labels).astype("int64"))
        train = np.bincount(np.asarray(labels[0]).astype("int64"), minlength=len(total))
        # Classes the data holds at least 3 of: the fractions, not the data, leave too few.
        enough = total >= 3
        counts = train[enough]
        names = [
            str(splits.spec.class_names[i]) if splits.spec.class_names else str(i)
            for i in np.flatnonzero(enough)
        ]
    check_training_split(
        {name: len(indices[name]) for name in ("train", "validation", "test")},
        batch_size=config.data.batch_size,
        validation_split=config.data.validation_split,
        test_split=config.data.test_split,
        class_counts=counts,
        class_names=names,
        file=config.source_file,
    )


def prepare(
    config: Config, *, split: Mapping[str, Any] | None = None
) -> tuple[ModelCard, dict[str, Any], Splits]:
    """Load the data and resolve the model's parameters from it.

    ``split``: the indices a run recorded (:mod:`nnzoo.run.split`), taken instead of drawing
    the split again. Defaults to ``None``.
    """
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
        split=split,
    )
    if split is None:
        _check_training_split(config, splits)
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
