"""The catalog as users reach it: look entries up and build them.

Each family module in ``nnzoo.models`` registers its entries at import time with
:func:`nnzoo.cards.register_model`; :func:`nnzoo.cards.catalog` loads the families. This module
lists and finds entries (:func:`list_models`, :func:`get_card`, with a "did you mean" for a
mistyped name) and builds them (:func:`build_model`, :func:`build_checked`). Neither imports
Keras or TensorFlow: family modules import Keras inside their builders only, so
``nnzoo list-models`` and config validation stay fast.

Before anything is built, :func:`check_buildable` runs the checks, each without Keras: names and
values (:func:`nnzoo.hyperparameters.check_params`), the rules between values
(:func:`nnzoo.hyperparameters.check_hyperparameters`) and the memory the parameters need
(:func:`nnzoo.memory.check_memory`). Every failure is one :class:`~nnzoo.errors.ConfigError`
naming the dotted key and a fix.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Mapping
from typing import Any

from nnzoo.cards import HyperparameterError, ModelCard, catalog
from nnzoo.errors import ConfigError, UnknownModelError
from nnzoo.hyperparameters import check_hyperparameters, check_params, rule_error
from nnzoo.memory import check_memory

__all__ = [
    "build_checked",
    "build_model",
    "build_unchecked",
    "check_buildable",
    "close_models",
    "get_card",
    "list_models",
]


def list_models(
    pattern: str | None = None, *, family: str | None = None, task: str | None = None
) -> list[str]:
    """Names of the catalog entries, in catalog order.

    Args:
        pattern: a shell-style wildcard (``"vit_*"``), or a plain word matched anywhere in the
            name, case-insensitively (``"resnet"`` finds ``resnet18`` and ``resnet34``).
            Defaults to all. A pattern that matches nothing gives ``[]``.
        family: keep only this family.
        task: keep only the entries that support this task (any of ``card.tasks``).

    Raises:
        ConfigError: ``family`` or ``task`` is not one the catalog has (with the close match).
    """
    cards = catalog()
    _check_known("--family", family, sorted({c.family for c in cards.values()}))
    _check_known("--task", task, sorted({t for c in cards.values() for t in c.tasks}))
    return [
        name
        for name, card in cards.items()
        if _matches(name, pattern)
        and (not family or card.family == family)
        and (not task or task in card.tasks)
    ]


def _matches(name: str, pattern: str | None) -> bool:
    if not pattern:
        return True
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(name, pattern)
    return pattern.lower() in name.lower()


def _check_known(key: str, value: str | None, known: list[str]) -> None:
    if value is None or value in known:
        return
    close = difflib.get_close_matches(str(value), known, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise ConfigError(
        f"no {key.lstrip('-')} '{value}' in the catalog",
        key=key,
        fix=f"{hint}choose one of: {', '.join(known)}",
    )


def close_models(pattern: str, n: int = 3) -> list[str]:
    """Catalog names close to ``pattern`` (its wildcards ignored), for a "did you mean"."""
    word = pattern.strip("*?[]").lower()
    return difflib.get_close_matches(word, list(catalog()), n=n, cutoff=0.5)


def get_card(
    name: str, *, file: str | None = None, key: str = "model.name", line: int | None = None
) -> ModelCard:
    """The card of ``name``; an unknown name raises with a "did you mean" hint."""
    cards = catalog()
    if name in cards:
        return cards[name]
    close = difflib.get_close_matches(str(name), list(cards), n=1)
    fix = f"did you mean '{close[0]}'?" if close else "run `nnzoo list-models` to see the catalog"
    raise UnknownModelError(f"unknown model '{name}'", file=file, key=key, line=line, fix=fix)


# --------------------------------------------------------------------------- building


def check_buildable(
    card: ModelCard,
    params: Mapping[str, Any],
    *,
    file: str | None = None,
    key: str = "model.params",
    optimizer_slots: int = 0,
) -> None:
    """The checks of :func:`build_checked` (names, values, rules, memory), without building:
    what a trainer runs before it creates anything on disk."""
    check_params(card, params, file=file, key=key)
    check_hyperparameters(card, params, file=file, key=key)
    check_memory(card, params, optimizer_slots=optimizer_slots, file=file, key=key)


def build_checked(
    card: ModelCard,
    params: Mapping[str, Any],
    *,
    file: str | None = None,
    key: str = "model.params",
    optimizer_slots: int = 0,
) -> Any:
    """Check ``params`` (names, values, rules, memory), then build the model.

    Every refusal is a :class:`ConfigError` on ``key`` (``model.params.<name>``), before Keras
    builds anything; a ``ValueError`` the builder still raises becomes one too.

    Args:
        card: the catalog entry.
        params: the builder's parameters: all of them, or overrides of the card's defaults.
        file: the config file the parameters come from. Defaults to `None`.
        key: the dotted key of the parameters. Defaults to `"model.params"`.
        optimizer_slots: for the memory check: :func:`nnzoo.memory.optimizer_slots` of the
            optimizer that will train the model; 0 to build only. Defaults to `0`.

    Returns:
        The ``keras.Model``.
    """
    check_buildable(card, params, file=file, key=key, optimizer_slots=optimizer_slots)
    return build_unchecked(card, params, file=file, key=key)


def build_unchecked(
    card: ModelCard,
    params: Mapping[str, Any],
    *,
    file: str | None = None,
    key: str = "model.params",
) -> Any:
    """Build ``card`` with ``params`` already passed through :func:`check_buildable`; a
    ``ValueError`` the builder raises is still a :class:`ConfigError` on ``key``."""
    try:
        return card.builder(**{**card.defaults, **params})
    except HyperparameterError as err:
        raise rule_error(card, err, params, file=file, key=key, line=None, locate=None) from None
    except ValueError as err:
        raise ConfigError(
            f"model '{card.name}' cannot be built with these parameters: "
            + " ".join(str(err).split()),
            file=file,
            key=key,
            fix=f"check them against `nnzoo describe {card.name}`",
        ) from None


def build_model(name: str, *, weights: str | None = None, **params: Any) -> Any:
    """Build catalog entry ``name`` with its defaults overridden by ``params``.

    Parameters are checked first (:func:`build_checked`): a mistake raises a
    :class:`ConfigError` on ``params.<name>``.

    Args:
        name: a catalog name (``nnzoo list-models``).
        weights: ``"keras_hub:<preset>"`` starts from published weights: a KerasHub preset
            name (``nnzoo list-models --pretrained``), a ``kaggle://`` or ``hf://`` handle, or
            a local preset directory. The preset fixes the architecture (``params`` may repeat
            its values, not change them); its weights are copied layer by layer; a new head
            (``num_classes``) stays freshly initialised. This argument is the canonical way to
            load weights; for VGG16 any other value (``"imagenet"``, a weights file) is passed
            to its own ``weights`` hyperparameter (the ``keras.applications`` weights), which
            a config sets as ``model.params.weights``. Defaults to `None` (random).
        **params: hyperparameters of the entry (``nnzoo describe NAME``).

    Returns:
        A ``keras.Model`` that outputs logits.
    """
    card = get_card(name, key="name")
    if weights is None:
        return build_checked(card, params, key="params")
    from nnzoo import pretrained

    if pretrained.is_preset(weights):
        merged = pretrained.preset_params(card, weights, params, key="params")
        model = build_checked(card, merged, key="params")
        pretrained.load_weights(model, weights, card=card)
        return model
    if "weights" in card.parameters:
        return build_checked(card, {**params, "weights": weights}, key="params")
    raise ConfigError(
        f"model '{name}' loads published weights from KerasHub presets only. "
        f"Received: weights={weights!r}",
        key="weights",
        fix="use weights='keras_hub:<preset>' (see `nnzoo list-models --pretrained`)",
    )
