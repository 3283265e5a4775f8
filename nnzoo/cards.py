"""What a catalog card is, the registry the family modules write their cards into, and the
catalog: those cards once every family is loaded.

This is the bottom layer of the catalog: the family modules in ``nnzoo.models`` import it to
register their entries, and it imports nothing of nnzoo (nor Keras, nor pydantic): it loads the
families by their module names (:data:`FAMILY_MODULES`, :func:`catalog`). It answers what the
cards alone answer (:func:`card_for_preset`, :func:`cards_of_family`), so ``nnzoo.pretrained``
needs no registry; looking a name up for a user and building is :mod:`nnzoo.registry`.

It also defines the hyperparameter types the builders annotate their parameters with
(:data:`PositiveInt`, :data:`Rate`, :data:`Activation`, ...): choices as ``Literal``, ranges as
``annotated_types`` constraints, which :func:`nnzoo.hyperparameters.check_params` validates
with pydantic before anything is built.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Protocol, get_args

import annotated_types as at

#: Input kinds a card may declare, and what the model's inputs are.
INPUT_KINDS = {
    "features": "a float vector `features` of shape (num_features,)",
    "image": "`images` of shape (H, W, C), float in [0, 1]",
    "tokens": "`token_ids` and `padding_mask` (1 = real token), shape (sequence_length,)",
    "tokens_segments": "`token_ids`, `segment_ids` and `padding_mask`, shape (sequence_length,)",
}

#: Tasks a card may declare.
TASKS = ("classification", "regression", "language_modeling", "masked_lm")

#: Formats ``nnzoo export`` writes, and what each means for a card (``ModelCard.export_formats``):
#: ``yes`` exports and loads in its runtime with the same outputs; for LiteRT, ``builtin``: only
#: LiteRT's builtin operators, ``flex``: needs TensorFlow ops (the Flex delegate, which the LiteRT
#: interpreter ``ai-edge-litert`` does not include), so nnzoo refuses it; ``no``: does not convert.
EXPORT_FORMATS = ("saved_model", "onnx", "litert")
EXPORT_SUPPORT = ("yes", "builtin", "flex", "no")
#: What most cards measure (scripts/export_capabilities.py): every format, LiteRT builtin-only.
EXPORTS_EVERYWHERE = {"saved_model": "yes", "onnx": "yes", "litert": "builtin"}

#: Builder parameters the trainer fills from the data source (DESIGN.md principle 7).
DATA_FILLED = (
    "table_columns",
    "input_shape",
    "num_classes",
    "vocabulary_size",
    "max_sequence_length",
    "feature_normalization",
)

#: The ``keras.layers.Normalization`` layer a features model puts after its input when built
#: with ``feature_normalization=True``: ``nnzoo.data.adapt_preprocessing`` sets its statistics
#: from the training split before ``fit``, and ``model.keras`` keeps them.
FEATURE_NORMALIZATION = "feature_normalization"
#: The name of a table model's encoder layer (:class:`nnzoo.layers.table.TableEncoder`),
#: whose statistics are set from the training split.
TABLE_ENCODER = "table_encoder"

#: The ``nnzoo.layers.TargetScale`` layer that ends a regression model: it maps the standardised
#: prediction to the target's units with the training split's target mean and std, which
#: ``nnzoo.data.adapt_preprocessing`` sets before ``fit`` and ``model.keras`` keeps.
TARGET_SCALE = "target_scale"

# --------------------------------------------------------------------------- hyperparameter types

#: A size or count: a whole number greater than 0.
PositiveInt = Annotated[int, at.Gt(0)]
#: The classes of a classifier: at least 2 (two classes take one logit).
NumClasses = Annotated[int, at.Ge(2)]
#: A dropout rate: 0 <= rate < 1.
Rate = Annotated[float, at.Ge(0.0), at.Lt(1.0)]
#: A penalty such as ``l2``: 0 or more.
NonNegativeFloat = Annotated[float, at.Ge(0.0)]
#: Layer sizes, one per layer (``hidden_units``, ``filters``); may be empty.
Sizes = tuple[PositiveInt, ...]
#: The shape of one example, batch axis excluded (features: ``(num_features,)``).
Shape = Annotated[tuple[PositiveInt, ...], at.MinLen(1)]
#: The shape of one image: ``(height, width, channels)``.
ImageShape = tuple[PositiveInt, PositiveInt, PositiveInt]
#: Keras activation names (``keras.activations.get``), every one present since Keras 3.3.
Activation = Literal[
    "elu",
    "exponential",
    "gelu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "leaky_relu",
    "linear",
    "log_softmax",
    "mish",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "softsign",
    "swish",
    "tanh",
]
ACTIVATIONS: tuple[str, ...] = get_args(Activation)


class HyperparameterError(ValueError):
    """Hyperparameters that do not fit together, e.g. ``num_heads`` not dividing ``hidden_dim``.

    A ``ValueError``, as Keras raises for a bad argument, so a builder called directly raises
    what it always did; :mod:`nnzoo.hyperparameters` turns it into a
    :class:`~nnzoo.errors.ConfigError` on the parameter the user most likely has to change.

    Args:
        message: what is wrong, ending with the values received.
        fixes: for each parameter that could be changed, how to change it; the most likely
            culprit first.
    """

    def __init__(self, message: str, *, fixes: dict[str, str]) -> None:
        super().__init__(message)
        self.message = message
        self.fixes = dict(fixes)


def require_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    """A layer's or builder's own check of a named choice (Keras style: a ``ValueError``)."""
    if value not in choices:
        raise ValueError(
            f"`{name}` must be one of {', '.join(choices)}. Received: {name}={value!r}"
        )


def require_rate(name: str, value: float) -> None:
    """A layer's or builder's own check of a rate in [0, 1) (dropout)."""
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"`{name}` must be in [0, 1). Received: {name}={value}")


# --------------------------------------------------------------------------- cards


class CachedForward(Protocol):
    """A model's forward pass with a key/value cache, which generation steps a token at a time.

    What a card's ``cached_forward`` returns for a model of its family (as KerasHub's
    ``CausalLM.call_with_cache``); :mod:`nnzoo.inference.sampling` compiles its loop around it.

    Attributes:
        model: the Keras model whose layers (and variables) the pass calls.
        max_sequence_length: how many positions the model has (its position table).
        vocabulary_size: the length of the logits' last axis.
    """

    model: Any
    max_sequence_length: int
    vocabulary_size: int

    def init_caches(self, batch_size: Any, length: Any) -> list[Any]:
        """Empty caches for ``batch_size`` rows of ``length`` positions, one per layer."""
        ...

    def call_with_cache(
        self, token_ids: Any, caches: list[Any], cache_update_index: Any
    ) -> tuple[Any, list[Any]]:
        """Logits ``(B, T, vocabulary_size)`` of ``token_ids`` ``(B, T)`` at positions
        ``cache_update_index ..``, reading and updating ``caches``: ``(logits, caches)``."""
        ...


@dataclass(frozen=True)
class ModelCard:
    """What the catalog knows about one entry.

    Attributes:
        name: registered name, e.g. ``resnet18``.
        family: model family: the module that defines the builder, e.g. ``resnet``.
        task: the task the entry builds by default, one of :data:`TASKS`.
        tasks: every task the builder supports, ``task`` first; an entry with more than one
            takes the builder parameter ``task`` (BERT: ``classification``, ``masked_lm``).
        input_kind: one of :data:`INPUT_KINDS`.
        defaults: every hyperparameter of the builder with this entry's default value.
        num_params: ``model.count_params()`` of the model built from ``defaults``, as KerasHub
            presets carry ``params``. That counts every weight, non-trainable ones included
            (batch-norm moving statistics, a frozen base). Papers, and the counts in the README,
            give trainable parameters: ``resnet18`` has 11,689,512 trainable parameters, the
            published count, and ``num_params`` 11,699,112 (its 9,600 batch-norm moving means
            and variances added). The catalog tests build every entry and check this number.
        paper: the reference the architecture follows.
        summary: one line that says what the entry is.
        builder: ``(**hyperparameters) -> keras.Model``; its annotations (the types above)
            give each parameter's choices and range.
        loss: a non-default loss (e.g. ``perceptron``), else ``None`` (chosen from the task).
        check: ``(**hyperparameters) -> None``, the rules between parameters, without Keras
            (the builder calls it too); raises :class:`HyperparameterError`. It gets every
            parameter; a data-filled one (:data:`DATA_FILLED`) may be ``None`` (not known
            yet), and the rules that need it are skipped. ``None``: no such rules.
        count_params: ``(**hyperparameters) -> int``, exactly ``model.count_params()`` of the
            model the builder would build, without Keras (the memory estimate). ``None``: no
            closed form, so no estimate.
        presets: the KerasHub presets with this entry's architecture (published weights,
            loaded with ``model.init_from: keras_hub:<preset>``), smallest first.
        export_formats: for each of :data:`EXPORT_FORMATS`, one of :data:`EXPORT_SUPPORT`, as
            ``scripts/export_capabilities.py`` measured it by exporting the entry and running
            the artifact in its runtime (entries over ~15M parameters: a smaller entry of the
            family, same operators). :func:`export_refusal` turns it into the refusal.
        cached_forward: ``(model) -> CachedForward | None``: the family's forward pass with a
            key/value cache (:class:`CachedForward`), found in ``model`` by its structure, or
            ``None`` where ``model`` does not have it; generation runs it a token at a time.
            ``None``: no cached forward pass, so generation runs the whole context each step.
    """

    name: str
    family: str
    task: str
    tasks: tuple[str, ...]
    input_kind: str
    defaults: dict[str, Any]
    num_params: int
    paper: str
    summary: str
    builder: Callable[..., Any] = field(repr=False, compare=False)
    loss: str | None = None
    check: Callable[..., None] | None = field(default=None, repr=False, compare=False)
    count_params: Callable[..., int] | None = field(default=None, repr=False, compare=False)
    presets: tuple[str, ...] = ()
    export_formats: dict[str, str] = field(default_factory=lambda: dict(EXPORTS_EVERYWHERE))
    cached_forward: Callable[[Any], CachedForward | None] | None = field(
        default=None, repr=False, compare=False
    )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "task": self.task,
            "tasks": list(self.tasks),
            "input_kind": self.input_kind,
            "defaults": plain_value(self.defaults),
            "num_params": self.num_params,
            "paper": self.paper,
            "summary": self.summary,
            "presets": list(self.presets),
            "export_formats": dict(self.export_formats),
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


#: Every registered card by name, in registration order.
REGISTRY: dict[str, ModelCard] = {}


def register_model(
    name: str,
    builder: Callable[..., Any],
    *,
    task: str,
    input_kind: str,
    paper: str,
    summary: str,
    num_params: int,
    tasks: tuple[str, ...] | None = None,
    defaults: dict[str, Any] | None = None,
    loss: str | None = None,
    check: Callable[..., None] | None = None,
    count_params: Callable[..., int] | None = None,
    presets: tuple[str, ...] = (),
    export_formats: dict[str, str] | None = None,
    cached_forward: Callable[[Any], CachedForward | None] | None = None,
) -> ModelCard:
    """Register a catalog entry.

    The family is the name of the module that defines ``builder`` (``resnet`` for
    ``nnzoo.models.resnet``). ``defaults`` override the builder's own keyword defaults
    (timm-style variants: ``dict(base, **overrides)``); the card stores the complete set.
    ``tasks`` defaults to ``(task,)``; a builder that supports several takes a ``task``
    parameter whose default is ``task``. ``check``, ``count_params``, ``presets``,
    ``export_formats`` (default :data:`EXPORTS_EVERYWHERE`; a partial mapping overrides those
    formats) and ``cached_forward``: see :class:`ModelCard`.
    """
    if name in REGISTRY:
        raise ValueError(f"Model {name!r} is registered twice.")
    tasks = tuple(tasks or (task,))
    for t in tasks:
        if t not in TASKS:
            raise ValueError(f"Unknown task for {name!r}. Received: task={t!r}")
    if tasks[0] != task:
        raise ValueError(
            f"The tasks of {name!r} must start with its task. Received: {task=}, {tasks=}"
        )
    if input_kind not in INPUT_KINDS:
        raise ValueError(f"Unknown input kind for {name!r}. Received: input_kind={input_kind!r}")
    exports = {**EXPORTS_EVERYWHERE, **(export_formats or {})}
    for fmt, support in exports.items():
        if fmt not in EXPORT_FORMATS or support not in EXPORT_SUPPORT:
            raise ValueError(
                f"Export formats of {name!r}: each of {', '.join(EXPORT_FORMATS)} takes one of "
                f"{', '.join(EXPORT_SUPPORT)}. Received: export_formats={export_formats!r}"
            )
        if support in ("builtin", "flex") and fmt != "litert":
            raise ValueError(
                f"Export formats of {name!r}: {support!r} is for litert only. Received: "
                f"export_formats={export_formats!r}"
            )
    signature = inspect.signature(builder)
    full: dict[str, Any] = {}
    for p in signature.parameters.values():
        if p.default is not inspect.Parameter.empty:
            full[p.name] = p.default
    unknown = set(defaults or {}) - set(signature.parameters)
    if unknown:
        raise ValueError(f"Defaults of {name!r} name unknown parameters: {sorted(unknown)}")
    full.update(defaults or {})
    if len(tasks) > 1 and full.get("task") != task:
        raise ValueError(
            f"{name!r} lists several tasks, so its builder must take `task`, default {task!r}. "
            f"Received: task={full.get('task')!r}"
        )
    card = ModelCard(
        name=name,
        family=builder.__module__.rsplit(".", 1)[-1],
        task=task,
        tasks=tasks,
        input_kind=input_kind,
        defaults=full,
        num_params=num_params,
        paper=paper,
        summary=summary,
        builder=builder,
        loss=loss,
        check=check,
        count_params=count_params,
        presets=tuple(presets),
        export_formats=exports,
        cached_forward=cached_forward,
    )
    REGISTRY[name] = card
    return card


# --------------------------------------------------------------------------- the catalog

#: Modules that register catalog entries, in catalog order (imported by :func:`catalog`).
FAMILY_MODULES = (
    "nnzoo.models.perceptron",
    "nnzoo.models.mlp",
    "nnzoo.models.ft_transformer",
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


def catalog() -> dict[str, ModelCard]:
    """Every catalog entry by name, in catalog order: :data:`REGISTRY` once every module of
    :data:`FAMILY_MODULES` is imported. A failing family raises on this call and every later
    one."""
    global _LOADED
    if _LOADED:
        return REGISTRY
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
    return REGISTRY


def card_for_preset(handle: str) -> ModelCard | None:
    """The card whose ``presets`` list the KerasHub preset ``handle``, or ``None``."""
    return next((card for card in catalog().values() if handle in card.presets), None)


def cards_of_family(family: str) -> list[ModelCard]:
    """The cards of ``family`` (``"bert"``), in catalog order."""
    return [card for card in catalog().values() if card.family == family]


def export_formats_line(card: ModelCard) -> str:
    """The formats ``card`` exports to, in one line (``nnzoo describe``)."""
    parts = []
    for fmt in EXPORT_FORMATS:
        support = card.export_formats[fmt]
        if support == "yes":
            parts.append(fmt)
        elif support == "builtin":
            parts.append(f"{fmt} (builtin ops only)")
    refused = [
        f"{fmt}: " + ("needs the Flex delegate" if card.export_formats[fmt] == "flex" else "fails")
        for fmt in EXPORT_FORMATS
        if card.export_formats[fmt] in ("flex", "no")
    ]
    line = ", ".join(parts) or "none"
    return line + (f" (not {'; '.join(refused)})" if refused else "")


def export_refusal(card: ModelCard, format: str) -> str | None:
    """Why ``card`` cannot be exported to ``format``, in one line, or ``None`` when it can.

    ``format`` is one of :data:`EXPORT_FORMATS`; ``tf_saved_model`` (Keras's name) is taken for
    ``saved_model``. ``nnzoo export`` asks this before any work.
    """
    fmt = "saved_model" if format == "tf_saved_model" else format
    if fmt not in EXPORT_FORMATS:
        return f"unknown export format {format!r}. Fix: one of {', '.join(EXPORT_FORMATS)}"
    if card.export_formats[fmt] in ("yes", "builtin"):
        return None
    others = [f for f in EXPORT_FORMATS if card.export_formats[f] in ("yes", "builtin")]
    fix = f" Fix: --format {' or '.join(others)}" if others else ""
    return f"{card.name} cannot be exported to {fmt}: {_refusal_reason(card, fmt)}.{fix}"


def _refusal_reason(card: ModelCard, fmt: str) -> str:
    if card.export_formats[fmt] == "flex":
        return (
            "it converts only with TensorFlow ops (the Flex delegate), which the LiteRT "
            "interpreter does not run"
        )
    return f"the {card.family} family does not convert to {fmt}"
