"""``nnzoo init``: a complete, commented starting config for a catalog entry."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from nnzoo.cards import DATA_FILLED, ModelCard, plain_value
from nnzoo.data import get_source
from nnzoo.errors import ConfigError, NnzooError
from nnzoo.memory import InsufficientMemoryError
from nnzoo.registry import get_card
from nnzoo.run.bind import config_from_dict

_SPECIAL_SOURCES = {"perceptron": "and", "mlp_xor": "xor"}


def default_source(card: ModelCard) -> str:
    """An offline data source that fits the model's input kind and task."""
    if card.name in _SPECIAL_SOURCES:
        return _SPECIAL_SOURCES[card.name]
    if card.input_kind == "features":
        return "digits"
    if card.input_kind == "image":
        return "shapes"
    if card.task == "classification":
        return "stdlib_topics"
    return "text_corpus"


def _flow(value: Any) -> str:
    return (
        yaml.safe_dump(value, default_flow_style=True, width=1000)
        .strip()
        .removesuffix("\n...")
        .removesuffix("...")
        .strip()
    )


def config_template(
    name: str,
    *,
    source: str | None = None,
    data_params: Mapping[str, Any] | None = None,
    notes: list[str] | None = None,
) -> str:
    """YAML text with every section, commented, for ``name`` on ``source``.

    ``data_params`` are the source's parameters (``data.params``: a file source's ``path``).
    The text is checked as ``nnzoo validate`` checks a file, so ``init`` writes only configs
    that ``train`` accepts; one it cannot complete is refused, saying what to add. A model
    too large for this machine's memory is written all the same (another machine may train
    it): ``notes``, where given, gets a line saying so.
    """

    card = get_card(name, key="NAME")
    if source is not None:
        get_source(source, key="--data")
    source = source or default_source(card)
    text = _template(card, source, dict(data_params or {}))
    command = f"nnzoo init {card.name} --data {source}"
    try:
        config_from_dict(yaml.safe_load(text), label=command)
    except InsufficientMemoryError as err:
        if notes is not None:
            notes.append(f"this machine cannot train it: {err.message}")
    except ConfigError as err:
        if err.key == "data.source":  # the model cannot take this source's inputs
            raise ConfigError(err.message, key="--data", fix=err.fix) from None
        if err.key and err.key.startswith("data.params."):
            value = "PATH" if err.key.endswith("path") else "VALUE"
            fix = f"{command} --set {err.key}={value} ({(err.fix or '').rstrip('.')})"
            raise ConfigError(err.message, file=command, key=err.key, fix=fix) from None
        raise
    return text


def write_config(path: str | Path, text: str) -> Path:
    """Write the config ``text`` to the new file ``path``; an existing file is refused and
    left as it is (``init`` never overwrites a config)."""
    path = Path(path)
    if path.exists():
        raise NnzooError(
            f"{path}: already exists; nothing was written. Fix: choose a new file name"
        )
    path.write_text(text)
    return path


def _template(card: ModelCard, source: str, data_params: dict[str, Any]) -> str:
    small = card.input_kind == "features"
    epochs = 20 if small else 5
    lines = [
        f"# nnzoo config for {card.name}: {card.summary}",
        f"# Paper: {card.paper}",
        "# Train it:   nnzoo train THIS.yaml     (override any key: --set train.epochs=3)",
        f"name: {card.name}-{source}",
        "seed: 42                      # makes the run reproducible",
        "model:",
        f"  name: {card.name}",
        f"  # {', '.join(p for p in DATA_FILLED if p in card.parameters) or 'nothing'}: "
        "filled from the data unless set here",
        "  params:",
    ]
    several = len(card.tasks) > 1
    params = {
        k: v
        for k, v in card.defaults.items()
        if k not in DATA_FILLED and not (several and k == "task")
    }
    if params:
        for k, v in params.items():
            lines.append(f"    {k}: {_flow(plain_value(v))}")
    else:
        lines[-1] = "  params: {}"
    if several:  # the data's task where the card supports it, else the card's (no new line:
        # the line numbers of the keys below stay those of every other card's template)
        lines[-len(params) - 1] += (
            f"   # task: {' | '.join(card.tasks)} (default: the data's, else {card.task})"
        )
    lines += [
        "  init_from: null             # a run dir or .weights.h5 to start from",
        "data:",
        f"  source: {source}              # see `nnzoo list-sources`",
        f"  params: {_flow(plain_value(data_params)) if data_params else '{}'}"
        f"{' ' * max(1, 18 - len(_flow(data_params)))}# source parameters: "
        "see `nnzoo list-sources`",
        "  batch_size: " + ("1" if card.loss == "perceptron" else "32"),
        "  validation_split: 0.1       # fraction of the training data held out",
        "  test_split: 0.2             # fraction held out for the final test",
    ]
    if card.input_kind == "image":
        lines += [
            "  augment:                    # applied in training only",
            "    flip: horizontal",
            "    rotation: 0.05            # fraction of a full turn",
            "    translate: 0.1",
            "    zoom: 0.1",
            "    contrast: 0.0",
        ]
    optimizer = (
        "{name: sgd, learning_rate: 1.0}"
        if card.loss == "perceptron"
        else "{name: adam, learning_rate: 0.001}"
    )
    # val_loss, not val_accuracy: on small validation sets accuracy moves in coarse steps
    # and ties, so early stopping on it stops early and keeps an early epoch.
    patience = max(3, epochs // 4)
    lines += [
        "train:",
        f"  epochs: {epochs}",
        f"  optimizer: {optimizer}   # adam | adamw | sgd | rmsprop",
        "  schedule: {name: constant}  # constant | step | exponential | cosine | "
        "constant_then_exp",
        "  loss: auto                  # from the task (logits, from_logits=True)",
        "  metrics: [accuracy]"
        + (
            "          # a regression's default: [mae, rmse, r2]"
            if "regression" in card.tasks
            else ""
        ),
        "  monitor: {metric: val_loss, mode: auto}   # early stopping + the best model",
        "  callbacks:",
        f"    early_stopping: {{enabled: true, patience: {patience}, restore_best_weights: true}}",
        "    checkpoint: true",
        "    tensorboard: false",
        "  mixed_precision: none       # none | mixed_float16 | mixed_bfloat16",
        "  jit_compile: auto",
        "distribute:",
        "  strategy: auto              # auto | none | one_device | mirrored | multi_worker",
    ]
    return "\n".join(lines) + "\n"
