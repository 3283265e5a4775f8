"""The catalog: a registry of model builders and their cards.

Each model family module in ``nnzoo.models`` registers its entries at import time with
:func:`register_model`. Registering never imports Keras or TensorFlow: family modules import
Keras inside their builders only, so ``nnzoo list-models`` and config validation stay fast.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nnzoo.errors import ConfigError, UnknownModelError

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

#: Input kinds a card may declare, and what the model's inputs are.
INPUT_KINDS = {
    "features": "a float vector `features` of shape (num_features,)",
    "image": "`images` of shape (H, W, C), float in [0, 1]",
    "tokens": "`token_ids` and `padding_mask` (1 = real token), shape (sequence_length,)",
    "tokens_segments": "`token_ids`, `segment_ids` and `padding_mask`, shape (sequence_length,)",
}

#: Tasks a card may declare.
TASKS = ("classification", "language_modeling", "masked_lm")


@dataclass(frozen=True)
class ModelCard:
    """What the catalog knows about one entry.

    Attributes:
        name: registered name, e.g. ``resnet18``.
        family: model family, e.g. ``resnet``.
        task: one of :data:`TASKS`.
        input_kind: one of :data:`INPUT_KINDS`.
        defaults: every hyperparameter of the builder with this entry's default value.
        paper: the reference the architecture follows.
        summary: one line that says what the entry is.
        builder: ``(**hyperparameters) -> keras.Model``.
        loss: a non-default loss (e.g. ``perceptron``), else ``None`` (chosen from the task).
    """

    name: str
    family: str
    task: str
    input_kind: str
    defaults: dict[str, Any]
    paper: str
    summary: str
    builder: Callable[..., Any] = field(repr=False, compare=False)
    loss: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "task": self.task,
            "input_kind": self.input_kind,
            "defaults": plain_value(self.defaults),
            "paper": self.paper,
            "summary": self.summary,
        }

    @property
    def parameters(self) -> tuple[str, ...]:
        """Names of the hyperparameters the builder takes."""
        return tuple(
            p.name
            for p in inspect.signature(self.builder).parameters.values()
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        )


def plain_value(value: Any) -> Any:
    """``value`` as plain JSON / YAML data: tuples become lists, NumPy scalars Python ones."""
    if isinstance(value, tuple | list):
        return [plain_value(v) for v in value]
    if isinstance(value, dict):
        return {k: plain_value(v) for k, v in value.items()}
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return value.item()
    return value


_REGISTRY: dict[str, ModelCard] = {}
_LOADED = False


def register_model(
    name: str,
    builder: Callable[..., Any],
    *,
    family: str,
    task: str,
    input_kind: str,
    paper: str,
    summary: str,
    defaults: dict[str, Any] | None = None,
    loss: str | None = None,
) -> ModelCard:
    """Register a catalog entry.

    ``defaults`` override the builder's own keyword defaults (timm-style variants:
    ``dict(base, **overrides)``); the card stores the complete set.
    """
    if name in _REGISTRY:
        raise ValueError(f"Model {name!r} is registered twice.")
    if task not in TASKS:
        raise ValueError(f"Unknown task for {name!r}. Received: task={task!r}")
    if input_kind not in INPUT_KINDS:
        raise ValueError(f"Unknown input kind for {name!r}. Received: input_kind={input_kind!r}")
    signature = inspect.signature(builder)
    full: dict[str, Any] = {}
    for p in signature.parameters.values():
        if p.default is not inspect.Parameter.empty:
            full[p.name] = p.default
    unknown = set(defaults or {}) - set(signature.parameters)
    if unknown:
        raise ValueError(f"Defaults of {name!r} name unknown parameters: {sorted(unknown)}")
    full.update(defaults or {})
    card = ModelCard(
        name=name,
        family=family,
        task=task,
        input_kind=input_kind,
        defaults=full,
        paper=paper,
        summary=summary,
        builder=builder,
        loss=loss,
    )
    _REGISTRY[name] = card
    return card


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for module in FAMILY_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:  # a family not written yet
            if err.name != module:
                raise


def list_models(
    pattern: str | None = None, *, family: str | None = None, task: str | None = None
) -> list[str]:
    """Names of the catalog entries, in catalog order.

    Args:
        pattern: a shell-style wildcard, e.g. ``"vit_*"``. Defaults to all.
        family: keep only this family.
        task: keep only this task.
    """
    _load()
    names = []
    for name, card in _REGISTRY.items():
        if pattern and not fnmatch.fnmatchcase(name, pattern):
            continue
        if family and card.family != family:
            continue
        if task and card.task != task:
            continue
        names.append(name)
    return names


def get_card(
    name: str, *, file: str | None = None, key: str = "model.name", line: int | None = None
) -> ModelCard:
    """The card of ``name``; an unknown name raises with a "did you mean" hint."""
    _load()
    if name in _REGISTRY:
        return _REGISTRY[name]
    close = difflib.get_close_matches(str(name), list(_REGISTRY), n=1)
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
