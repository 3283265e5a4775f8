"""A preset as named (``keras_hub:<preset>``), located and checked against a model before
anything is downloaded: which backbone it is, whether it is cached, which card owns it (asked
of the catalog, :mod:`nnzoo.cards`)."""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnzoo import _offline
from nnzoo.cards import ModelCard, card_for_preset, cards_of_family
from nnzoo.errors import ConfigError, DataNotAvailableError
from nnzoo.pretrained._adapter import Adapter, adapters
from nnzoo.pretrained._builtin import BUILTIN_PRESETS

__all__ = [
    "KEY",
    "PREFIX",
    "Preset",
    "backbone_of",
    "check_backbone",
    "check_card",
    "families_text",
    "is_preset",
    "locate",
]

#: What marks a preset in ``model.init_from`` and ``build_model(weights=...)``.
PREFIX = "keras_hub:"

#: The config key that names a preset.
KEY = "model.init_from"


def is_preset(value: Any) -> bool:
    """Whether ``value`` names a KerasHub preset (``keras_hub:<preset>``)."""
    return isinstance(value, str) and value.startswith(PREFIX)


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
    backbone = backbone_of(config)
    return Preset(str(path.resolve()), "local", backbone, adapters().get(backbone), config)


def backbone_of(config: Mapping[str, Any]) -> str | None:
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


def families_text() -> str:
    """The KerasHub backbones nnzoo loads presets of, for a fix."""
    return ", ".join(sorted(a.backbone for a in adapters().values()))


def check_card(
    card: ModelCard, preset: Preset, *, file: str | None = None, key: str = KEY
) -> None:
    """Refuse, before any download, a preset of another architecture or size than ``card``.

    The architecture is known without a download for built-in names and local directories;
    Kaggle and Hugging Face handles are checked in :func:`~nnzoo.pretrained.load` (their
    config comes first).
    """
    if preset.backbone is None:
        return
    check_backbone(card, preset.backbone, preset.handle, file=file, key=key)
    if preset.kind != "builtin" or preset.handle in card.presets:
        return
    owner = card_for_preset(preset.handle)
    if owner is not None and owner.name != card.name:
        raise ConfigError(
            f"preset {preset.handle} has the architecture of {owner.name}, not {card.name}",
            file=file,
            key="model.name",
            fix=f"use model.name: {owner.name} (the preset fixes the sizes)",
        )


def check_backbone(
    card: ModelCard, backbone: str, handle: str, *, file: str | None, key: str
) -> Adapter:
    """The adapter of KerasHub ``backbone``, after refusing one nnzoo cannot load or one of
    another family than ``card``'s."""
    adapter = adapters().get(backbone)
    if adapter is None:
        raise ConfigError(
            f"preset {handle} is a {backbone.strip('<>')}, which nnzoo cannot load",
            file=file,
            key=key,
            fix=f"nnzoo loads presets of {families_text()}",
        )
    if adapter.family != card.family:
        owner = card_for_preset(handle) or cards_of_family(adapter.family)[0]
        raise ConfigError(
            f"preset {handle} is a {backbone} ({adapter.family}), but model '{card.name}' is "
            f"a {card.family}",
            file=file,
            key="model.name",
            fix=f"use model.name: {owner.name}, or a {card.family} preset" + _presets_hint(card),
        )
    return adapter


def _presets_hint(card: ModelCard) -> str:
    if card.presets:
        return " (" + ", ".join(card.presets) + ")"
    return ""
