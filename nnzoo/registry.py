"""The catalog: loads the model families and looks their cards up.

Each family module in ``nnzoo.models`` registers its entries at import time with
:func:`nnzoo.cards.register_model` (the layer below, which this module re-exports with
:class:`~nnzoo.cards.ModelCard` and :func:`~nnzoo.cards.plain_value`). Registering never imports
Keras or TensorFlow: family modules import Keras inside their builders only, so
``nnzoo list-models`` and config validation stay fast.

Hyperparameters are checked here before anything is built, in this order, each without Keras:
names (:func:`check_params`), each value against the builder's annotations (also
:func:`check_params`; pydantic, imported only then), the rules between values
(:func:`check_hyperparameters`, the card's ``check``) and the memory the parameters need
(:func:`check_memory`, from the card's closed-form ``count_params``). :func:`build_checked` runs
all four, then builds; every failure is one :class:`~nnzoo.errors.ConfigError` naming the
dotted key and a fix.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import importlib
import os
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

import annotated_types as at

from nnzoo.cards import (
    DATA_FILLED,
    REGISTRY,
    HyperparameterError,
    ModelCard,
    plain_value,
    register_model,
)
from nnzoo.errors import ConfigError, UnknownModelError

__all__ = [
    "FAMILY_MODULES",
    "ModelCard",
    "available_memory_bytes",
    "build_checked",
    "build_model",
    "check_hyperparameters",
    "check_memory",
    "check_params",
    "count_params",
    "estimate_memory_bytes",
    "get_card",
    "list_models",
    "optimizer_slots",
    "plain_value",
    "register_model",
]

#: ``locate(name) -> (file, line)``: where the config sets the parameter ``name``.
Locate = Callable[[str], tuple["str | None", "int | None"]]

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
        pattern: a shell-style wildcard (``"vit_*"``), or a plain word matched anywhere in the
            name, case-insensitively (``"resnet"`` finds ``resnet18`` and ``resnet34``).
            Defaults to all. A pattern that matches nothing gives ``[]``.
        family: keep only this family.
        task: keep only the entries that support this task (any of ``card.tasks``).

    Raises:
        ConfigError: ``family`` or ``task`` is not one the catalog has (with the close match).
    """
    _load()
    _check_known("--family", family, sorted({c.family for c in REGISTRY.values()}))
    _check_known("--task", task, sorted({t for c in REGISTRY.values() for t in c.tasks}))
    return [
        name
        for name, card in REGISTRY.items()
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
    _load()
    word = pattern.strip("*?[]").lower()
    return difflib.get_close_matches(word, list(REGISTRY), n=n, cutoff=0.5)


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
    example = f"e.g. {name}: {_yaml(default)} (the default)"
    if kind == "literal_error":
        choices = [_yaml(c) if not isinstance(c, str) else repr(c) for c in get_args(leaf)]
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


def _yaml(value: Any) -> str:
    """``value`` as it would be written in a YAML config: ``[128, 64]``, ``null``, ``true``."""
    value = plain_value(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
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
        raise _rule_error(
            card, err, params, file=file, key=key, line=line, locate=locate
        ) from None


def _rule_error(
    card: ModelCard,
    err: HyperparameterError,
    params: Mapping[str, Any],
    *,
    file: str | None,
    key: str,
    line: int | None,
    locate: Locate | None,
) -> ConfigError:
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


# --------------------------------------------------------------------------- memory

#: Bytes per parameter: float32 variables (mixed precision keeps float32 variables too).
BYTES_PER_PARAMETER = 4


def optimizer_slots(name: str, *, momentum: float = 0.0) -> int:
    """Variables an optimizer keeps per trainable parameter.

    ``adam`` / ``adamw``: 2 (first and second moments); ``sgd``: 1 with momentum, else 0;
    ``rmsprop``: 1 (the squared-gradient average), 2 with momentum. An unknown name counts 2.
    """
    if name == "sgd":
        return 1 if momentum else 0
    if name == "rmsprop":
        return 2 if momentum else 1
    return 2


def count_params(card: ModelCard, params: Mapping[str, Any]) -> int | None:
    """``model.count_params()`` of the model ``params`` would build, without building it.

    From the card's closed form (every weight, as ``num_params``), on the card's defaults
    overridden by ``params``. ``None`` for an entry without a closed form, or parameters that
    break a rule between them (:func:`check_hyperparameters` reports those).
    """
    if card.count_params is None:
        return None
    try:
        return int(card.count_params(**{**card.defaults, **params}))
    except HyperparameterError:
        return None


def estimate_memory_bytes(
    card: ModelCard, params: Mapping[str, Any], optimizer_slots: int
) -> int | None:
    """Bytes of the model's variables while training: parameters x 4 x (1 + optimizer slots).

    Activations, gradients in flight and the data are not counted; this is the floor that
    refuses a model that cannot fit at all. ``None`` where the card has no closed-form
    ``count_params`` (no estimate: such an entry is built without this check).
    """
    count = count_params(card, params)
    if count is None:
        return None
    return count * BYTES_PER_PARAMETER * (1 + int(optimizer_slots))


def available_memory_bytes() -> int | None:
    """Memory this process can still get: ``MemAvailable`` of ``/proc/meminfo`` (else the free
    pages, ``os.sysconf``), lowered to what the cgroup's limit leaves; ``None`` if unknown."""
    available = None
    try:
        for text in Path("/proc/meminfo").read_text().splitlines():
            if text.startswith("MemAvailable:"):
                available = int(text.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, OSError, ValueError):
            return None
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # cgroup v2
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",  # cgroup v1
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        try:
            limit = int(Path(limit_file).read_text().split()[0])
            usage = int(Path(usage_file).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # no such cgroup, or "max": no limit
        available = min(available, max(limit - usage, 0))
    return available


def check_memory(
    card: ModelCard,
    params: Mapping[str, Any],
    *,
    optimizer_slots: int = 0,
    file: str | None = None,
    key: str = "model.params",
    line: int | None = None,
) -> None:
    """Refuse a model whose variables would take more than half the available memory.

    Building or training it could be killed by the kernel or abort the process, so it is
    refused before it is built, in one :class:`ConfigError` with the estimate and the memory.
    Entries without a closed-form count are not checked (see :func:`estimate_memory_bytes`).

    Args:
        card: the catalog entry.
        params: the parameters (the card's defaults fill the rest).
        optimizer_slots: what :func:`optimizer_slots` says for the optimizer that will train
            it; 0 to build only. Defaults to `0`.
        file, key, line: as for :func:`check_params`.
    """
    needed = estimate_memory_bytes(card, params, optimizer_slots)
    if needed is None:
        return
    available = available_memory_bytes()
    if available is None or needed <= available / 2:
        return
    count = count_params(card, params) or 0
    per_weight = f"{BYTES_PER_PARAMETER} bytes x {1 + optimizer_slots}"
    what = (
        f"its float32 weights and the optimizer's {optimizer_slots} slot(s) per weight "
        f"({per_weight})"
        if optimizer_slots
        else "its float32 weights"
    )
    sizes = [
        f"{n}={_yaml(v)}"
        for n, v in params.items()
        if _is_size(v) and plain_value(v) != plain_value(card.defaults.get(n))
    ]
    fix = (
        f"use smaller sizes than {', '.join(sizes)}"
        if sizes
        else "choose a smaller catalog entry (`nnzoo list-models`)"
    )
    raise ConfigError(
        f"model '{card.name}' would have {count:,} parameters: {_binary_size(needed)} for "
        f"{what}, more than half of the {_binary_size(available)} of memory available",
        file=file,
        key=key,
        line=line,
        fix=fix,
    )


def _is_size(value: Any) -> bool:
    values = value if isinstance(value, list | tuple) else [value]
    return bool(values) and all(isinstance(v, int) and not isinstance(v, bool) for v in values)


def _binary_size(num_bytes: float) -> str:
    """``num_bytes`` in GiB, MiB or KiB, one decimal."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20)):
        if num_bytes >= size:
            return f"{num_bytes / size:.1f} {unit}"
    return f"{num_bytes / 2**10:.1f} KiB"


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
        optimizer_slots: for the memory check: :func:`optimizer_slots` of the optimizer that
            will train the model; 0 to build only. Defaults to `0`.

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
        raise _rule_error(card, err, params, file=file, key=key, line=None, locate=None) from None
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
