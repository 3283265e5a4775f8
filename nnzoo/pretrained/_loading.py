"""Loading a preset with KerasHub (downloading through its caches unless offline), the
errors a download gives, and copying the preset's weights into an nnzoo model. :func:`load` is
where the package imports Keras and KerasHub, when a preset loads."""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from typing import Any

from nnzoo import _offline
from nnzoo.cards import ModelCard
from nnzoo.errors import ConfigError, DataNotAvailableError
from nnzoo.pretrained._adapter import Adapter, adapters
from nnzoo.pretrained._presets import (
    KEY,
    PREFIX,
    Preset,
    backbone_of,
    check_backbone,
    check_card,
    families_text,
    locate,
)

__all__ = ["Loaded", "load", "load_weights"]

#: The package's one logger, as before it was split into modules.
log = logging.getLogger("nnzoo.pretrained")


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
    value: str, *, card: ModelCard | None = None, file: str | None = None, key: str = KEY
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
        check_backbone(card, _remote_backbone(preset.handle), preset.handle, file=file, key=key)
    loaded = _load(preset.handle, preset.kind)
    if card is not None:
        check_backbone(card, loaded.adapter.backbone, preset.handle, file=file, key=key)
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
    return backbone_of(config) or "<unknown>"


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
    backbone_name = backbone_of(config) or "?"
    adapter = adapters().get(backbone_name)
    if adapter is None:
        raise ConfigError(
            f"preset {handle} is a {backbone_name.strip('<>')}, which nnzoo cannot load",
            key=KEY,
            fix=f"nnzoo loads presets of {families_text()}",
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


def load_weights(model: Any, value: str, *, card: ModelCard | None = None) -> dict[str, Any]:
    """Copy preset ``value``'s weights into ``model`` (built with
    :func:`~nnzoo.pretrained.preset_params`).

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
