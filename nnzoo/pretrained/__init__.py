"""Published weights: KerasHub presets loaded into nnzoo models, with their tokenizers and
their image preprocessing.

``model.init_from: keras_hub:<preset>`` in a config, or
``nnzoo.build_model(name, weights="keras_hub:<preset>")`` in Python, where ``<preset>`` is

- a KerasHub built-in preset name (``bert_tiny_en_uncased``, ``gpt2_base_en``, ...),
- a Kaggle handle (``kaggle://keras/bert/keras/bert_tiny_en_uncased/3``),
- a Hugging Face handle (``hf://google-bert/bert-base-uncased``: KerasHub converts it), or
- a local preset directory (what KerasHub's ``save_to_preset`` writes).

The architecture's hyperparameters come from the preset's own config (a config that sets a
different value is refused, naming the key); KerasHub builds its backbone from the preset
(downloading through its own code and caches: Kaggle's ``~/.cache/kagglehub``, Hugging Face's
``~/.cache/huggingface``), and a family :class:`~nnzoo.pretrained._adapter.Adapter` copies its
weights into the nnzoo model layer by layer (shape-checked). A new head stays as initialised;
the preset's own head is copied when it has the same shape (an ImageNet classifier for 1000
classes). Text presets bring their tokenizer (converted to a pure-Python nnzoo tokenizer that
encodes as KerasHub's does, saved in the run as ``tokenizer.json``); image presets bring their
resizing and normalisation, which the adapter puts inside the model.

Before anything is downloaded, the preset is checked against the model: a preset of another
architecture (a ViT preset for ``resnet18``) or of another size (``bert_base_en_uncased`` for
``bert_tiny``) is one line naming the right ``model.name``; with the offline switch
(:mod:`nnzoo._offline`) a preset not in its cache is one line naming where it was looked for
and how to provide it. Only :func:`load` imports Keras and KerasHub.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnzoo import _offline
from nnzoo.errors import ConfigError, DataNotAvailableError
from nnzoo.pretrained._adapter import ADAPTERS, Adapter, register_adapter
from nnzoo.pretrained._builtin import BUILTIN_PRESETS

__all__ = [
    "ADAPTERS",
    "PREFIX",
    "Adapter",
    "Loaded",
    "Preset",
    "adapter_for_family",
    "merge_params",
    "is_preset",
    "licence_of",
    "load",
    "load_weights",
    "locate",
    "preset_params",
    "register_adapter",
]

log = logging.getLogger(__name__)

#: What marks a preset in ``model.init_from`` and ``build_model(weights=...)``.
PREFIX = "keras_hub:"

#: Modules that register the family adapters.
ADAPTER_MODULES = (
    "nnzoo.pretrained.bert",
    "nnzoo.pretrained.gpt2",
    "nnzoo.pretrained.vit",
    "nnzoo.pretrained.resnet",
    "nnzoo.pretrained.vgg",
)

#: Builder parameters a preset sets as defaults only: training choices, not architecture.
OVERRIDABLE = frozenset({"dropout"})

#: How a local preset's ``config.json`` names its format (KerasHub, Transformers, timm).
_FORMAT_KEYS = ("registered_name", "model_type", "architecture")

KEY = "model.init_from"


def _load_adapters() -> None:
    for module in ADAPTER_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:  # a family without presets yet
            if err.name != module:
                raise


def adapters() -> dict[str, Adapter]:
    """Every adapter by KerasHub backbone class name."""
    _load_adapters()
    return ADAPTERS


def adapter_for_family(family: str) -> Adapter | None:
    """The adapter of the nnzoo family ``family``, or ``None`` (no presets)."""
    return next((a for a in adapters().values() if a.family == family), None)


def is_preset(value: Any) -> bool:
    """Whether ``value`` names a KerasHub preset (``keras_hub:<preset>``)."""
    return isinstance(value, str) and value.startswith(PREFIX)


# --------------------------------------------------------------------------- locating


@dataclass(frozen=True)
class Preset:
    """A preset as named, before anything is downloaded.

    Attributes:
        handle: what follows ``keras_hub:`` (a local path is made absolute).
        kind: ``builtin``, ``kaggle``, ``hf`` or ``local``.
        backbone: the KerasHub backbone class when known without a download (built-in names
            and local directories), else ``None``.
        adapter: the family adapter for ``backbone``, or ``None``.
        files: a local preset's parsed ``config.json`` (``{}`` otherwise).
    """

    handle: str
    kind: str
    backbone: str | None = None
    adapter: Adapter | None = None
    files: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def name(self) -> str:
        return PREFIX + self.handle

    @property
    def kaggle_handle(self) -> str | None:
        if self.kind == "builtin":
            return BUILTIN_PRESETS[self.handle][1]
        return self.handle if self.kind == "kaggle" else None

    def cache_dir(self) -> Path | None:
        """Where KerasHub's download code keeps (or would keep) this preset's files; the
        directory itself for a local preset; ``None`` for an unversioned handle."""
        if self.kind == "local":
            return Path(self.handle)
        if self.kaggle_handle is not None:
            parts = self.kaggle_handle.removeprefix("kaggle://").split("/")
            if len(parts) != 5:  # no version: Kaggle is asked for the latest
                return None
            root = os.environ.get("KAGGLEHUB_CACHE") or Path.home() / ".cache" / "kagglehub"
            return Path(root, "models", *parts)
        repo = self.handle.removeprefix("hf://")
        hub = os.environ.get("HF_HUB_CACHE") or Path(
            os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface", "hub"
        )
        return Path(hub, "models--" + repo.replace("/", "--"))

    def cached(self) -> bool:
        """Whether the preset's config can be read without a network."""
        where = self.cache_dir()
        if where is None:
            return False
        if self.kind == "hf":
            return any(where.glob("snapshots/*/config.json"))
        return (where / "config.json").is_file()

    def check(self) -> None:
        """Raise :class:`DataNotAvailableError` when offline and the preset is not cached."""
        reason = _offline.offline_reason()
        if reason and not self.cached():
            where = self.cache_dir()
            looked = f"looked in {where}" if where else "an unversioned handle needs Kaggle"
            raise DataNotAvailableError(
                f"preset {self.handle} is not available offline ({reason} is set; {looked}): "
                "run once with a network to download it, or save it with KerasHub's "
                f"save_to_preset and give the directory: --set {KEY}={PREFIX}/path/to/preset"
            )

    def report(self) -> str:
        """One line for ``validate``: which preset, and whether it is cached."""
        if self.kind == "local":
            return f"starts from preset {self.handle} (a local directory)"
        where = self.cache_dir()
        state = f"cached at {where}" if self.cached() else f"will be downloaded to {where}"
        return f"needs preset {self.handle}: {state}"


def locate(value: str, *, file: str | None = None, key: str = KEY) -> Preset:
    """Parse ``keras_hub:<preset>`` without downloading anything.

    Raises:
        ConfigError: an empty or unknown name, or a local directory without ``config.json``.
    """
    handle = value[len(PREFIX) :].strip() if is_preset(value) else str(value).strip()
    if not handle:
        raise ConfigError(
            "names no preset", file=file, key=key, fix="e.g. keras_hub:bert_tiny_en_uncased"
        )
    if handle in BUILTIN_PRESETS:
        backbone = BUILTIN_PRESETS[handle][0]
        return Preset(handle, "builtin", backbone, adapters().get(backbone))
    scheme = handle.split("://", 1)[0].lower() if "://" in handle else None
    if scheme in ("kaggle", "hf"):
        return Preset(handle, scheme)
    path = Path(handle).expanduser()
    looks_like_path = os.sep in handle or handle.startswith((".", "~")) or path.exists()
    if not looks_like_path:
        close = difflib.get_close_matches(handle, list(BUILTIN_PRESETS), n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ConfigError(
            f"unknown preset '{handle}'",
            file=file,
            key=key,
            fix=f"{hint}see `nnzoo list-models --pretrained`, or give a kaggle:// or hf:// "
            "handle or a local preset directory",
        )
    config_file = path / "config.json"
    if not config_file.is_file():
        raise ConfigError(
            f"no preset at {path} (no config.json)",
            file=file,
            key=key,
            fix="give a directory written by KerasHub's save_to_preset (or a Hugging Face "
            "checkpoint folder), or a preset name",
        )
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(
            f"{config_file} is not a readable preset config ({type(err).__name__}: {err})",
            file=file,
            key=key,
            fix="save the preset again with KerasHub's save_to_preset",
        ) from None
    if not isinstance(config, dict):
        raise ConfigError(
            f"{config_file} is not a preset config (a JSON object)",
            file=file,
            key=key,
            fix="save the preset again with KerasHub's save_to_preset",
        )
    backbone = _backbone_of(config)
    return Preset(str(path.resolve()), "local", backbone, adapters().get(backbone), config)


def _backbone_of(config: Mapping[str, Any]) -> str | None:
    """The KerasHub backbone class a ``config.json`` describes (KerasHub, Transformers or
    timm format), or ``None`` if nnzoo has no adapter that reads it."""
    registered = config.get("registered_name")
    if registered:
        return str(registered).rsplit(">", 1)[-1]
    for adapter in adapters().values():
        if config.get("model_type") in adapter.hf_model_types:
            return adapter.backbone
        arch = str(config.get("architecture", ""))
        if arch and any(arch.startswith(p) for p in adapter.timm_architectures):
            return adapter.backbone
    kind = config.get("model_type") or config.get("architecture")
    return f"<{kind}>" if kind else None


def _families_text() -> str:
    return ", ".join(sorted(a.backbone for a in adapters().values()))


def check_card(card: Any, preset: Preset, *, file: str | None = None, key: str = KEY) -> None:
    """Refuse, before any download, a preset of another architecture or size than ``card``.

    The architecture is known without a download for built-in names and local directories;
    Kaggle and Hugging Face handles are checked in :func:`load` (their config comes first).
    """
    if preset.backbone is None:
        return
    _check_backbone(card, preset.backbone, preset.handle, file=file, key=key)
    if preset.kind != "builtin" or preset.handle in card.presets:
        return
    from nnzoo.registry import REGISTRY, list_models

    list_models()
    owner = next((c.name for c in REGISTRY.values() if preset.handle in c.presets), None)
    if owner is not None and owner != card.name:
        raise ConfigError(
            f"preset {preset.handle} has the architecture of {owner}, not {card.name}",
            file=file,
            key="model.name",
            fix=f"use model.name: {owner} (the preset fixes the sizes)",
        )


def _check_backbone(
    card: Any, backbone: str, handle: str, *, file: str | None, key: str
) -> Adapter:
    adapter = adapters().get(backbone)
    if adapter is None:
        raise ConfigError(
            f"preset {handle} is a {backbone.strip('<>')}, which nnzoo cannot load",
            file=file,
            key=key,
            fix=f"nnzoo loads presets of {_families_text()}",
        )
    if adapter.family != card.family:
        from nnzoo.registry import REGISTRY, list_models

        list_models()
        fits = [c.name for c in REGISTRY.values() if c.family == adapter.family]
        owner = next((c.name for c in REGISTRY.values() if handle in c.presets), None)
        raise ConfigError(
            f"preset {handle} is a {backbone} ({adapter.family}), but model '{card.name}' is "
            f"a {card.family}",
            file=file,
            key="model.name",
            fix=f"use model.name: {owner or fits[0]}, or a {card.family} preset"
            + _presets_hint(card),
        )
    return adapter


def _presets_hint(card: Any) -> str:
    if card.presets:
        return " (" + ", ".join(card.presets) + ")"
    return ""


# --------------------------------------------------------------------------- loading


@dataclass
class Loaded:
    """A preset loaded by KerasHub.

    Attributes:
        preset: the preset.
        adapter: its family adapter.
        backbone: KerasHub's backbone, with the preset's weights.
        task: KerasHub's task model when the preset has one (its head), else ``None``.
        params: the nnzoo builder's parameters the preset fixes (sizes, preprocessing).
        tokenizer: the preset's tokenizer as an nnzoo tokenizer (text presets), else ``None``.
    """

    preset: Preset
    adapter: Adapter
    backbone: Any
    task: Any | None
    params: dict[str, Any]
    tokenizer: Any | None = None


def load(
    value: str, *, card: Any | None = None, file: str | None = None, key: str = KEY
) -> Loaded:
    """Load the preset ``value`` with KerasHub (downloading through its caches unless
    offline); checked against ``card`` first. Cached per process: tuning trials and the
    build after ``prepare`` load a preset once."""
    preset = locate(value, file=file, key=key)
    if card is not None:
        check_card(card, preset, file=file, key=key)
    preset.check()
    if card is not None and preset.backbone is None:
        # A Kaggle or Hugging Face handle: its config.json (a small file) says what it is,
        # before the weights are downloaded.
        _check_backbone(card, _remote_backbone(preset.handle), preset.handle, file=file, key=key)
    loaded = _load(preset.handle, preset.kind)
    if card is not None:
        _check_backbone(card, loaded.adapter.backbone, preset.handle, file=file, key=key)
    return loaded


@functools.lru_cache(maxsize=8)
def _remote_backbone(handle: str) -> str:
    """The backbone class of a remote preset, from its ``config.json`` alone."""
    from nnzoo._cli_options import import_keras_quietly

    import_keras_quietly()
    from keras_hub.src.utils import preset_utils

    try:
        with _offline.network_timeout():
            config = preset_utils.load_json(handle, preset_utils.CONFIG_FILE)
    except (OSError, ValueError, RuntimeError) as err:
        raise _download_error(locate(PREFIX + handle), err) from err
    return _backbone_of(config) or "<unknown>"


def _download_error(preset: Preset, err: BaseException) -> Exception:
    if not _is_network_error(err):
        return ConfigError(
            f"cannot load preset {preset.handle}: {str(err).splitlines()[0][:200]}",
            key=KEY,
            fix="give a KerasHub preset (a name from `nnzoo list-models --pretrained`, a "
            "kaggle:// or hf:// handle, or a save_to_preset directory)",
        )
    return DataNotAvailableError(
        f"preset {preset.handle} could not be downloaded ({type(err).__name__}: "
        f"{str(err).splitlines()[0][:120]}; looked in {preset.cache_dir()}): check the network, "
        f"or give a local preset directory: --set {KEY}={PREFIX}/path/to/preset"
    )


@functools.lru_cache(maxsize=2)
def _load(handle: str, kind: str) -> Loaded:
    if _offline.is_offline():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # read when huggingface_hub is imported
    from nnzoo._cli_options import import_keras_quietly

    import_keras_quietly()
    import keras_hub
    from keras_hub.src.utils import preset_utils

    preset = locate(PREFIX + handle)
    try:
        with _offline.network_timeout():
            return _load_with_keras_hub(preset, keras_hub, preset_utils)
    except (ConfigError, DataNotAvailableError):
        raise
    except (OSError, ValueError, RuntimeError) as err:
        raise _download_error(preset, err) from err


def _is_network_error(err: BaseException) -> bool:
    names = {type(e).__name__ for e in _chain(err)}
    network = {"ConnectionError", "Timeout", "ConnectTimeout", "ReadTimeout", "timeout",
               "URLError", "gaierror", "MaxRetryError", "NewConnectionError",
               "OfflineModeIsEnabled", "LocalEntryNotFoundError"}  # fmt: skip
    return bool(names & network) or isinstance(err, ConnectionError | TimeoutError)


def _chain(err: BaseException | None) -> list[BaseException]:
    out = []
    while err is not None and err not in out:
        out.append(err)
        err = err.__cause__ or err.__context__
    return out


def _load_with_keras_hub(preset: Preset, keras_hub: Any, preset_utils: Any) -> Loaded:
    handle = preset.handle
    config = preset_utils.load_json(handle, preset_utils.CONFIG_FILE)
    backbone_name = _backbone_of(config) or "?"
    adapter = adapters().get(backbone_name)
    if adapter is None:
        raise ConfigError(
            f"preset {handle} is a {backbone_name.strip('<>')}, which nnzoo cannot load",
            key=KEY,
            fix=f"nnzoo loads presets of {_families_text()}",
        )
    task = None
    if preset_utils.check_file_exists(handle, preset_utils.TASK_CONFIG_FILE):
        # KerasHub loads a task through its own class (named in task.json) only.
        task_config = preset_utils.load_json(handle, preset_utils.TASK_CONFIG_FILE)
        task = preset_utils.check_config_class(task_config).from_preset(handle)
        backbone = task.backbone
    else:
        backbone = keras_hub.models.Backbone.from_preset(handle)
    params = dict(adapter.to_params(backbone.get_config()))
    tokenizer = None
    if adapter.preprocessing is not None:
        converter = _image_converter(handle, task, keras_hub, preset_utils)
        params.update(adapter.preprocessing(converter))
    else:
        tokenizer = _tokenizer(handle, task, keras_hub, preset_utils)
    log.info("preset %s: %s", handle, type(backbone).__name__)
    return Loaded(preset, adapter, backbone, task, params, tokenizer)


def _image_converter(handle: str, task: Any, keras_hub: Any, preset_utils: Any) -> Any:
    preprocessor = getattr(task, "preprocessor", None)
    if preprocessor is not None and getattr(preprocessor, "image_converter", None) is not None:
        return preprocessor.image_converter
    if preset_utils.check_file_exists(handle, preset_utils.IMAGE_CONVERTER_CONFIG_FILE):
        return keras_hub.layers.ImageConverter.from_preset(handle)
    return None


def _tokenizer(handle: str, task: Any, keras_hub: Any, preset_utils: Any) -> Any:
    from nnzoo.data.tokenizers import from_keras_hub

    theirs = getattr(getattr(task, "preprocessor", None), "tokenizer", None)
    if theirs is None:
        try:  # a backbone saved alone has no tokenizer: build_model does not need one
            theirs = keras_hub.tokenizers.Tokenizer.from_preset(handle)
        except (FileNotFoundError, ValueError) as err:
            log.info("preset %s: no tokenizer (%s)", handle, err)
            return None
    return from_keras_hub(theirs)


# --------------------------------------------------------------------------- using


def merge_params(
    card: Any,
    preset_fixed: Mapping[str, Any],
    given: Mapping[str, Any],
    handle: str,
    *,
    file: str | None = None,
    key: str = "model.params",
    locate_param: Any = None,
) -> dict[str, Any]:
    """The builder parameters: the preset's, then ``given`` (the config's ``model.params``).

    ``given`` may repeat the preset's values and set :data:`OVERRIDABLE` ones (``dropout``);
    a value that is the card's default (a config written by ``nnzoo init`` lists them all) is
    replaced by the preset's, said in the log; any other value the preset contradicts is a
    :class:`ConfigError` naming the key.
    """
    from nnzoo.cards import plain_value

    merged = dict(preset_fixed)
    for name, value in given.items():
        theirs = preset_fixed.get(name)
        if name in OVERRIDABLE or name not in preset_fixed:
            merged[name] = value
        elif plain_value(value) == plain_value(theirs):
            continue
        elif plain_value(value) == plain_value(card.defaults.get(name)):
            log.warning(
                "%s.%s: %r is %s's default; preset %s has %r, which is used",
                key, name, plain_value(value), card.name, handle, plain_value(theirs),
            )  # fmt: skip
        else:
            where: dict[str, Any] = {"file": file, "line": None}
            if locate_param is not None:
                where["file"], where["line"] = locate_param(name)
            raise ConfigError(
                f"is {plain_value(value)!r} but preset {handle} has {plain_value(theirs)!r}",
                key=f"{key}.{name}",
                fix="remove it: the preset fixes the architecture",
                **where,
            )
    return merged


def preset_params(
    card: Any,
    value: str,
    given: Mapping[str, Any],
    *,
    file: str | None = None,
    key: str = "model.params",
    locate_param: Any = None,
) -> dict[str, Any]:
    """The builder parameters for ``card`` started from preset ``value``: what the preset
    fixes, with ``given`` (the config's ``model.params``) merged by :func:`merge_params`."""
    loaded = load(value, card=card, file=file)
    return merge_params(
        card,
        loaded.params,
        given,
        loaded.preset.handle,
        file=file,
        key=key,
        locate_param=locate_param,
    )


def load_weights(model: Any, value: str, *, card: Any | None = None) -> dict[str, Any]:
    """Copy preset ``value``'s weights into ``model`` (built with :func:`preset_params`).

    Returns:
        ``{"preset", "backbone", "licence", "tensors"}``: what was loaded, for the run's
        ``metrics.json`` and the model card.
    """
    loaded = load(value, card=card)
    try:
        count = loaded.adapter.copy_weights(model, loaded.backbone, loaded.task)
    except ValueError as err:
        raise ConfigError(
            f"preset {loaded.preset.handle} does not fit model '{model.name}': {err}",
            key=KEY,
            fix="leave the architecture to the preset (remove model.params it sets)",
        ) from err
    log.info("init_from %s: loaded %d tensors", loaded.preset.name, count)
    return {
        "preset": loaded.preset.handle,
        "backbone": loaded.adapter.backbone,
        "licence": loaded.adapter.licence,
        "tensors": int(count),
    }


def licence_of(family: str) -> str | None:
    """The licence of ``family``'s published presets, or ``None``."""
    adapter = adapter_for_family(family)
    return adapter.licence if adapter else None
