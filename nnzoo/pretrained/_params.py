"""The builder parameters of a model started from a preset: what the preset fixes, merged
with what the config gives (:func:`merge_params`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from nnzoo.cards import ModelCard, plain_value
from nnzoo.errors import ConfigError
from nnzoo.pretrained._loading import load

__all__ = ["OVERRIDABLE", "merge_params", "preset_params"]

#: The package's one logger, as before it was split into modules.
log = logging.getLogger("nnzoo.pretrained")

#: Builder parameters a preset sets as defaults only: training choices, not architecture.
OVERRIDABLE = frozenset({"dropout"})


def merge_params(
    card: ModelCard,
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
    card: ModelCard,
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
