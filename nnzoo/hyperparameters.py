"""The checks of a model's hyperparameters, before anything is built, and their messages.

In this order, each without Keras: names (:func:`check_params`), each value against the
builder's annotations (also :func:`check_params`: the types of :mod:`nnzoo.cards`, validated by
pydantic, imported only then), and the rules between values (:func:`check_hyperparameters`,
the card's ``check``). Each failure is one :class:`~nnzoo.errors.ConfigError` naming the dotted
key, the value received and a fix: pydantic's errors are translated here into what the value
must be (``must be in [0, 1)``, ``must be one of 'imagenet', 'cifar'``) and an example.
The memory the parameters need is checked by :mod:`nnzoo.memory`; :mod:`nnzoo.registry` runs
all of them before a build.
"""

from __future__ import annotations

import difflib
import functools
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, get_args, get_origin

import annotated_types as at

from nnzoo.cards import DATA_FILLED, HyperparameterError, ModelCard, plain_value
from nnzoo.errors import ConfigError

__all__ = [
    "Locate",
    "as_yaml",
    "check_hyperparameters",
    "check_params",
    "rule_error",
]

#: ``locate(name) -> (file, line)``: where the config sets the parameter ``name``.
Locate = Callable[[str], tuple["str | None", "int | None"]]


def check_params(
    card: ModelCard,
    params: Mapping[str, Any],
    *,
    file: str | None = None,
    key: str = "model.params",
    line: int | None = None,
    locate: Locate | None = None,
) -> None:
    """Raise a :class:`ConfigError` for a parameter the builder does not take, or a value outside
    the choices and ranges its annotation gives (``stem: cifr``, ``dropout: 1.5``).

    Args:
        card: the catalog entry.
        params: parameter names and the values given for them.
        file: where the parameters come from. Defaults to `None`.
        key: the dotted key of the parameters, named in the error (``model.params.stem``).
            Defaults to `"model.params"`.
        line: the line in ``file``. Defaults to `None`.
        locate: ``locate(name) -> (file, line)`` of one parameter, overriding ``file`` and
            ``line`` (a config merged from several files and ``--set``). Defaults to `None`.
    """
    allowed = card.parameters
    for name, value in params.items():
        where = dict(file=file, key=f"{key}.{name}", line=line)
        if locate is not None:
            where["file"], where["line"] = locate(name)
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f"did you mean '{close[0]}'?" if close else "allowed: " + ", ".join(allowed)
            raise ConfigError(
                f"model '{card.name}' takes no parameter '{name}'", fix=hint, **where
            )
        hint = _annotations(card.builder).get(name)
        if hint is None:
            continue
        from pydantic import ValidationError

        try:
            _adapter(card.builder, name).validate_python(value)
        except ValidationError as err:
            message, fix = _describe(err.errors()[0], hint, name, card.defaults.get(name))
            raise ConfigError(f"{message}. Received: {name}={value!r}", fix=fix, **where) from None


@functools.cache
def _annotations(builder: Callable[..., Any]) -> dict[str, Any]:
    """The builder's parameter annotations, resolved (``Annotated`` constraints kept)."""
    hints = typing.get_type_hints(builder, include_extras=True)
    hints.pop("return", None)
    return hints


@functools.cache
def _adapter(builder: Callable[..., Any], name: str) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(_annotations(builder)[name])


def _describe(error: Mapping[str, Any], hint: Any, name: str, default: Any) -> tuple[str, str]:
    """``(what the value must be, the fix)`` for one pydantic error on parameter ``name``."""
    kind, loc, ctx = error["type"], tuple(error["loc"]), error.get("ctx") or {}
    leaf, constraints, nullable = _leaf(hint, loc)
    must = "each item must be" if any(isinstance(part, int) for part in loc) else "must be"
    example = f"e.g. {name}: {as_yaml(default)} (the default)"
    if kind == "literal_error":
        choices = [as_yaml(c) if not isinstance(c, str) else repr(c) for c in get_args(leaf)]
        listed = ", ".join(choices) + (" or null" if nullable else "")
        close = difflib.get_close_matches(
            str(error.get("input")), [str(c) for c in get_args(leaf)], n=1
        )
        fix = f"did you mean '{close[0]}'?" if close else "use one of them"
        return f"{must} one of {listed}", fix
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{must} {_bounds(constraints)}", example
    if kind == "too_short":
        least = ctx.get("min_length")
        return f"must have at least {least} item{'' if least == 1 else 's'}", example
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} items", example
    if kind == "missing" and loc:  # a fixed-length tuple given too few items
        return f"must have {len(get_args(_strip(hint)[0]))} items", example
    kinds = {
        "int": "a whole number",
        "float": "a number",
        "bool": "true or false",
        "string": "a string",
        "tuple": "a list",
        "list": "a list",
    }
    for prefix, text in kinds.items():
        if kind.startswith(prefix):
            return f"{must} {text}" + (" or null" if nullable else ""), example
    message = str(error.get("msg", "is not valid")).replace("Input should be", "must be")
    return (message[0].lower() + message[1:]) if message else "is not valid", example


def _strip(hint: Any) -> tuple[Any, list[Any], bool]:
    """``(type, its Annotated constraints, whether None is allowed)`` of ``hint``."""
    constraints: list[Any] = []
    nullable = False
    while True:
        if get_origin(hint) is typing.Annotated:
            constraints.extend(hint.__metadata__)
            hint = hint.__origin__
            continue
        args = get_args(hint)
        if get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
            nullable = True
            rest = [a for a in args if a is not type(None)]
            if len(rest) == 1:
                hint = rest[0]
                continue
        return hint, constraints, nullable


def _leaf(hint: Any, loc: tuple[Any, ...]) -> tuple[Any, list[Any], bool]:
    """The type an error location points at inside ``hint``: ``(type, constraints, nullable)``."""
    hint, constraints, nullable = _strip(hint)
    for part in loc:
        if not isinstance(part, int) or get_origin(hint) is not tuple:
            break
        args = get_args(hint)
        item = (
            args[0] if len(args) == 2 and args[1] is Ellipsis else args[min(part, len(args) - 1)]
        )
        hint, constraints, nullable = _strip(item)
    return hint, constraints, nullable


def _bounds(constraints: list[Any]) -> str:
    """``[Ge(0), Lt(1)]`` as ``"in [0, 1)"``; ``[Gt(0)]`` as ``"greater than 0"``."""
    low = high = None
    for c in constraints:
        if isinstance(c, at.Gt | at.Ge):
            low = ("(" if isinstance(c, at.Gt) else "[", c.gt if isinstance(c, at.Gt) else c.ge)
        if isinstance(c, at.Lt | at.Le):
            high = (")" if isinstance(c, at.Lt) else "]", c.lt if isinstance(c, at.Lt) else c.le)
    if low and high:
        return f"in {low[0]}{_number(low[1])}, {_number(high[1])}{high[0]}"
    if low:
        return ("greater than " if low[0] == "(" else "at least ") + _number(low[1])
    if high:
        return ("less than " if high[0] == ")" else "at most ") + _number(high[1])
    return "in range"


def _number(value: Any) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def as_yaml(value: Any) -> str:
    """``value`` as it would be written in a YAML config: ``[128, 64]``, ``null``, ``true``
    (what an error message quotes)."""
    value = plain_value(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(as_yaml(v) for v in value) + "]"
    return str(value)


def check_hyperparameters(
    card: ModelCard,
    params: Mapping[str, Any],
    *,
    file: str | None = None,
    key: str = "model.params",
    line: int | None = None,
    locate: Locate | None = None,
    data_filled: bool = True,
) -> None:
    """Raise a :class:`ConfigError` when ``params`` break a rule between parameters.

    The card's ``check`` (``num_heads`` divides ``hidden_dim``, ``patch_size`` divides the image,
    ...) runs on the card's defaults overridden by ``params``; the error names the parameter
    most likely to change: the first of the rule's candidates that ``params`` set to something
    other than its default. Run :func:`check_params` first (this takes the values as valid).

    Args:
        data_filled: whether ``params`` hold what the data fills in (``input_shape``,
            ``num_classes``, ...: :data:`nnzoo.cards.DATA_FILLED`). ``False`` before the data
            is loaded (``nnzoo validate``): those the config leaves out are unknown, and the
            rules that need them wait for the build. Defaults to `True`.
        file, key, line, locate: as for :func:`check_params`.
    """
    if card.check is None:
        return
    full = {**card.defaults, **params}
    if not data_filled:
        full.update({n: None for n in DATA_FILLED if n in card.defaults and n not in params})
    try:
        card.check(**full)
    except HyperparameterError as err:
        raise rule_error(card, err, params, file=file, key=key, line=line, locate=locate) from None


def rule_error(
    card: ModelCard,
    err: HyperparameterError,
    params: Mapping[str, Any],
    *,
    file: str | None,
    key: str,
    line: int | None,
    locate: Locate | None,
) -> ConfigError:
    """The :class:`ConfigError` for a rule between parameters that ``params`` break (``err``,
    from the card's ``check`` or its builder), on the parameter most likely to change."""
    candidates = list(err.fixes)

    def changed(name: str) -> bool:
        value = params.get(name)
        return value is not None and plain_value(value) != plain_value(card.defaults.get(name))

    name = next(
        (n for n in candidates if changed(n)),
        next((n for n in candidates if n in params), candidates[0]),
    )
    if locate is not None and name in params:
        file, line = locate(name)
    return ConfigError(err.message, file=file, key=f"{key}.{name}", line=line, fix=err.fixes[name])
