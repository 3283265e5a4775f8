"""The catalog: loads the model families and looks their cards up.

Each family module in ``nnzoo.models`` registers its entries at import time with
:func:`nnzoo.cards.register_model` (the layer below, which this module re-exports with
:class:`~nnzoo.cards.ModelCard` and :func:`~nnzoo.cards.plain_value`). Registering never imports
Keras or TensorFlow: family modules import Keras inside their builders only, so
``nnzoo list-models`` and config validation stay fast.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
from typing import Any

from nnzoo.cards import REGISTRY, ModelCard, plain_value, register_model
from nnzoo.errors import ConfigError, UnknownModelError

__all__ = [
    "FAMILY_MODULES",
    "ModelCard",
    "build_model",
    "check_params",
    "get_card",
    "list_models",
    "plain_value",
    "register_model",
]

#: Modules that register catalog entries, in catalog order.
FAMILY_MODULES = (
    "nnzoo.models.perceptron",
    "nnzoo.models.mlp",
    "nnzoo.models.cnn",
    "nnzoo.models.vgg",
    "nnzoo.models.resnet",
    "nnzoo.models.vit",
    "nnzoo.models.recurrent",
    "nnzoo.models.transformer",
    "nnzoo.models.bert",
    "nnzoo.models.gpt",
)

_LOADED = False


def _load() -> None:
    """Import every family module; a failing one raises on this call and on every later one."""
    global _LOADED
    if _LOADED:
        return
    for module in FAMILY_MODULES:
        before = set(REGISTRY)
        try:
            importlib.import_module(module)
        except BaseException:
            # Python forgets a module whose import failed, so the next call imports it again:
            # drop what it registered before failing, or that import would fail on "registered
            # twice" instead of the real error.
            for name in set(REGISTRY) - before:
                del REGISTRY[name]
            raise
    _LOADED = True  # only now: a catalog with a family missing is never served


def list_models(
    pattern: str | None = None, *, family: str | None = None, task: str | None = None
) -> list[str]:
    """Names of the catalog entries, in catalog order.

    Args:
        pattern: a shell-style wildcard, e.g. ``"vit_*"``. Defaults to all.
        family: keep only this family.
        task: keep only the entries that support this task (any of ``card.tasks``).
    """
    _load()
    names = []
    for name, card in REGISTRY.items():
        if pattern and not fnmatch.fnmatchcase(name, pattern):
            continue
        if family and card.family != family:
            continue
        if task and task not in card.tasks:
            continue
        names.append(name)
    return names


def get_card(
    name: str, *, file: str | None = None, key: str = "model.name", line: int | None = None
) -> ModelCard:
    """The card of ``name``; an unknown name raises with a "did you mean" hint."""
    _load()
    if name in REGISTRY:
        return REGISTRY[name]
    close = difflib.get_close_matches(str(name), list(REGISTRY), n=1)
    fix = f"did you mean '{close[0]}'?" if close else "run `nnzoo list-models` to see the catalog"
    raise UnknownModelError(f"unknown model '{name}'", file=file, key=key, line=line, fix=fix)


def check_params(
    card: ModelCard,
    params: dict[str, Any],
    *,
    file: str | None = None,
    key: str = "model.params",
    line: int | None = None,
) -> None:
    """Raise a :class:`ConfigError` for a parameter ``card``'s builder does not take."""
    allowed = card.parameters
    for name in params:
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f"did you mean '{close[0]}'?" if close else "allowed: " + ", ".join(allowed)
            raise ConfigError(
                f"model '{card.name}' takes no parameter '{name}'",
                file=file,
                key=f"{key}.{name}",
                line=line,
                fix=hint,
            )


def build_model(name: str, **params: Any) -> Any:
    """Build catalog entry ``name`` with its defaults overridden by ``params``.

    Returns:
        A ``keras.Model`` that outputs logits.
    """
    card = get_card(name, key="name")
    check_params(card, params, key="params")
    return card.builder(**{**card.defaults, **params})
