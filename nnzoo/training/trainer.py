"""The trainer: config -> data -> model -> fit -> evaluate -> a self-contained run directory.

``runs/<name>/<run-id>/``: ``config.yaml`` (resolved), ``model.keras`` (the best model by
``train.monitor``), ``history.csv``, ``metrics.json``, ``curves.png``, ``data_spec.json``,
``checkpoints/`` (for ``--resume``), ``tensorboard/`` and any data artifacts (tokenizer).
"""

from __future__ import annotations

import csv
import json
import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from nnzoo.config import Config, config_from_dict, dump_config
from nnzoo.data import DataSpec, Splits, get_source, load_data
from nnzoo.data._sources import num_examples
from nnzoo.errors import ConfigError, NnzooError, RunDirError
from nnzoo.registry import ModelCard, get_card, plain_value
from nnzoo.saving import load_model

log = logging.getLogger(__name__)

STATUS_FILE = "status.json"


class TrainingDivergedError(NnzooError):
    """The loss became NaN or infinite."""


@dataclass
class RunResult:
    """What :func:`train` returns."""

    run_dir: Path
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    model: Any = field(repr=False, default=None)
    already_finished: bool = False


# --------------------------------------------------------------------------- data -> params


def effective_task(card: ModelCard, params: dict[str, Any]) -> str:
    """The task of a model: its ``task`` parameter where the builder has one, else the card's."""
    return str(params.get("task", card.defaults.get("task", card.task)))


def source_params(config: Config, card: ModelCard, task: str) -> dict[str, Any]:
    """The data source's parameters, with what the model implies filled in."""
    src = get_source(config.data.source)
    params = dict(config.data.params)
    accepted = src.parameters
    if "task" in accepted and "task" not in params:
        params["task"] = task
    if "segments" in accepted and "segments" not in params:
        params["segments"] = card.input_kind == "tokens_segments"
    if "input_kind" in accepted and params.get("input_kind", "auto") == "auto":
        params["input_kind"] = card.input_kind
    start = config.model.init_from
    if start and "tokenizer" in accepted and (Path(start) / "tokenizer.json").exists():
        # Loaded embeddings only mean the same tokens with the same tokenizer (as KerasHub's
        # from_preset loads the preset's tokenizer): use the tokenizer of the run we start from.
        given = str(params.get("tokenizer", ""))
        if not given.endswith(".json"):
            params["tokenizer"] = str(Path(start) / "tokenizer.json")
            log.info("data: using the tokenizer of %s (model.init_from)", start)
    return params


def fill_model_params(
    card: ModelCard, params: dict[str, Any], spec: DataSpec, *, source: str, file: str | None
) -> dict[str, Any]:
    """The builder's parameters: card defaults, then what the data reports, then the config.

    A value the config sets that contradicts the data is a :class:`ConfigError`.
    """
    task = effective_task(card, params)
    if spec.input_kind != card.input_kind and not (
        card.input_kind == "tokens_segments" and spec.input_kind == "tokens"
    ):
        raise ConfigError(
            f"model '{card.name}' takes {card.input_kind} inputs but data source '{source}' "
            f"yields {spec.input_kind}",
            file=file,
            key="data.source",
            fix=f"choose a source that yields {card.input_kind} (see `nnzoo init {card.name}`)",
        )
    if spec.task != task:
        raise ConfigError(
            f"model '{card.name}' is a {task} model but data source '{source}' is for {spec.task}",
            file=file,
            key="data.source",
            fix=f"choose a {task} data source",
        )
    accepted = card.parameters
    filled = {**card.defaults, **params}

    def fill(name: str, value: Any, *, at_least: bool = False) -> None:
        if name not in accepted or value is None:
            return
        if name not in params:
            filled[name] = value
            return
        given = params[name]
        if isinstance(value, tuple | list):
            ok = list(given) == list(value)
        else:
            ok = given >= value if at_least else given == value
        if not ok:
            need = f"at least {value}" if at_least else f"{value}"
            raise ConfigError(
                f"is {given} but data source '{source}' needs {need}",
                file=file,
                key=f"model.params.{name}",
                fix="remove it (the data fills it in) or change the data",
            )

    if spec.input_kind in ("features", "image"):
        fill("input_shape", tuple(int(d) for d in spec.input_shape))
    if task == "classification":
        fill("num_classes", spec.num_classes)
    fill("vocabulary_size", spec.vocabulary_size, at_least=True)
    fill("max_sequence_length", spec.sequence_length, at_least=True)
    return filled


def prepare(config: Config) -> tuple[ModelCard, dict[str, Any], Splits]:
    """Load the data and resolve the model's parameters from it."""
    file = config.source_file
    card = get_card(config.model.name, file=file)
    task = effective_task(card, config.model.params)
    splits = load_data(
        config.data.source,
        params=source_params(config, card, task),
        validation_split=config.data.validation_split,
        test_split=config.data.test_split,
        seed=config.seed,
        file=file,
    )
    if config.data.validation_source:
        other = load_data(
            config.data.validation_source,
            params=source_params(config, card, task)
            if config.data.validation_source == config.data.source
            else {},
            seed=config.seed,
            file=file,
        )
        splits.validation = other.test
    params = fill_model_params(
        card, config.model.params, splits.spec, source=config.data.source, file=file
    )
    return card, params, splits


# --------------------------------------------------------------------------- run dirs


def new_run_dir(runs_dir: str | Path, name: str) -> Path:
    """A fresh ``runs/<name>/<run-id>``; an existing run is never overwritten."""
    base = Path(runs_dir) / name
    base.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for i in range(1000):
        path = base / (stamp if i == 0 else f"{stamp}-{i}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RunDirError(f"{base}: could not create a new run directory")


def _write_status(run_dir: Path, state: str, **extra: Any) -> None:
    from nnzoo.training.callbacks import write_json_atomic

    data = {"state": state, "updated": datetime.now().isoformat(timespec="seconds"), **extra}
    write_json_atomic(run_dir / STATUS_FILE, data)


def read_status(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / STATUS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def _read_history(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return [
            {k: (float(v) if k != "epoch" else int(v)) for k, v in row.items() if v != ""}
            for row in csv.DictReader(f)
        ]


def _truncate_history(path: Path, epochs: int) -> None:
    """Keep the rows of the first ``epochs`` epochs (a killed run may have written more)."""
    if not path.exists():
        return
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    header, body = rows[0], [r for r in rows[1:] if r and int(r[0]) < epochs]
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(body)


# --------------------------------------------------------------------------- compile


def _monitor_names(loss_metrics: list[Any], has_validation: bool) -> list[str]:
    names = ["loss"] + [m if isinstance(m, str) else m.name for m in loss_metrics]
    return names + ([f"val_{n}" for n in names] if has_validation else [])


def _check_monitor(config: Config, available: list[str], file: str | None) -> None:
    metric = config.train.monitor.metric
    if metric in available:
        return
    fix = "monitor one of: " + ", ".join(available)
    if metric.startswith("val_") and metric[4:] in available:
        fix = "set data.validation_split > 0, or " + fix
    raise ConfigError(
        f"the run will not log '{metric}'", file=file, key="train.monitor.metric", fix=fix
    )


def _compile(model: Any, config: Config, card: ModelCard, task: str, steps_per_epoch: int):
    from nnzoo.training.losses import loss_and_metrics
    from nnzoo.training.optimizers import build_optimizer

    units = int(model.output_shape[-1]) if task == "classification" else 0
    loss_name = config.train.loss
    if loss_name not in ("auto", "perceptron", "crossentropy"):
        raise ConfigError(
            f"unknown loss '{loss_name}'",
            file=config.source_file,
            key="train.loss",
            fix="use auto (from the task), crossentropy or perceptron",
        )
    loss, metrics = loss_and_metrics(
        task=task,
        output_units=units,
        loss=card.loss if loss_name == "auto" else loss_name,
        metrics=config.train.metrics,
    )
    optimizer = build_optimizer(
        config.train.optimizer,
        config.train.schedule,
        steps_per_epoch=steps_per_epoch,
        epochs=config.train.epochs,
    )
    model.compile(
        optimizer=optimizer, loss=loss, metrics=metrics, jit_compile=config.train.jit_compile
    )
    return metrics


# --------------------------------------------------------------------------- train


def train(
    config: Config,
    *,
    runs_dir: str | Path = "runs",
    quiet: bool = False,
    callbacks: Iterable[Any] = (),
    run_dir: str | Path | None = None,
) -> RunResult:
    """Train ``config`` and write a run directory.

    Args:
        config: a validated :class:`~nnzoo.config.Config` (see :func:`nnzoo.load_config`).
        runs_dir: where ``<name>/<run-id>/`` is created. Defaults to ``runs``.
        quiet: no per-epoch progress.
        callbacks: extra Keras callbacks (e.g. a pruning callback).
        run_dir: write into this (new, empty) directory instead of a fresh run id.
    """
    if run_dir is None:
        if not _is_chief(config):
            # Other workers of a multi-worker run write to a scratch directory: the chief
            # (worker 0) owns the run directory.
            import tempfile

            runs_dir = tempfile.mkdtemp(prefix="nnzoo-worker-")

        def make_run_dir() -> Path:
            return new_run_dir(runs_dir, config.name)
    else:

        def make_run_dir() -> Path:
            Path(run_dir).mkdir(parents=True, exist_ok=True)
            return Path(run_dir)

    # The run directory is created once the data is loaded and checked against the model, so a
    # config or data mistake leaves no empty run behind.
    return _fit(config, make_run_dir, quiet=quiet, extra_callbacks=list(callbacks))


def _is_chief(config: Config) -> bool:
    import os

    if config.distribute.strategy != "multi_worker" or "TF_CONFIG" not in os.environ:
        return True
    tf_config = json.loads(os.environ["TF_CONFIG"])
    task = tf_config.get("task", {})
    kind = task.get("type", "worker")
    # The chief is the "chief" task, or worker 0 when the cluster names no chief.
    return kind == "chief" or (
        kind == "worker"
        and int(task.get("index", 0)) == 0
        and "chief" not in tf_config.get("cluster", {})
    )


def resume(
    run_dir: str | Path, *, quiet: bool = False, callbacks: Iterable[Any] = ()
) -> RunResult:
    """Continue an interrupted run from its last completed epoch (``train --resume``)."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").exists():
        raise RunDirError(
            f"{run_dir}: not a run directory (no config.yaml). Fix: give a directory under "
            "runs/<name>/"
        )
    status = read_status(run_dir)
    if status.get("state") == "finished":
        metrics = json.loads((run_dir / "metrics.json").read_text())
        return RunResult(
            run_dir, metrics, _read_history(run_dir / "history.csv"), already_finished=True
        )
    config = load_run_config(run_dir)
    return _fit(
        config, lambda: run_dir, quiet=quiet, extra_callbacks=list(callbacks), resuming=True
    )


def load_run_config(run_dir: str | Path) -> Config:
    import yaml

    path = Path(run_dir) / "config.yaml"
    data = yaml.safe_load(path.read_text())
    return config_from_dict(data, label=str(path))


def _fit(
    config: Config,
    make_run_dir: Any,
    *,
    quiet: bool,
    extra_callbacks: list[Any],
    resuming: bool = False,
) -> RunResult:
    import keras

    from nnzoo.data.pipeline import make_dataset
    from nnzoo.training import callbacks as cb
    from nnzoo.training.distribute import strategy_scope

    file = config.source_file
    started = time.perf_counter()
    # The strategy first: MultiWorkerMirroredStrategy must exist before other TF ops.
    scope, replicas = strategy_scope(config.distribute.strategy, file=file)
    keras.utils.set_random_seed(config.seed)
    _check_environment(config, file)
    card, params, splits = prepare(config)
    task = effective_task(card, params)
    run_dir = Path(make_run_dir())

    # The resolved config: every model parameter and data parameter written out.
    resolved = config.model_copy(deep=True)
    resolved.model.params = plain_value(params)
    resolved.data.params = source_params(config, card, task)
    if not resuming:
        (run_dir / "config.yaml").write_text(dump_config(resolved))
        (run_dir / "data_spec.json").write_text(json.dumps(splits.spec.to_dict(), indent=2))
        for name, text in splits.artifacts.items():
            (run_dir / name).write_text(text)
    _write_status(run_dir, "running")

    batch = config.data.batch_size
    train_ds = make_dataset(
        *splits.train,
        batch_size=batch,
        training=True,
        seed=config.seed,
        cache=config.data.cache,
        augment=config.data.augment,
        shuffle=config.data.shuffle,
    )
    val_ds = None
    if splits.validation is not None and num_examples(splits.validation[0]) > 0:
        val_ds = make_dataset(*splits.validation, batch_size=batch, training=False)
    test_ds = make_dataset(*splits.test, batch_size=batch, training=False)
    steps_per_epoch = config.train.steps_per_epoch or math.ceil(
        num_examples(splits.train[0]) / batch
    )

    policy = "float32" if config.train.mixed_precision == "none" else config.train.mixed_precision
    keras.mixed_precision.set_global_policy(policy)
    ckdir = run_dir / "checkpoints"
    state = cb.read_state(ckdir) if resuming else None
    init_report = None
    with scope:
        if state is not None:
            # Weights, optimizer state and compile settings as at the end of the epoch.
            model = load_model(ckdir / state["model_file"])
            metric_objs = _compiled_metrics(model)
        else:
            model = card.builder(**params)
            if config.model.init_from:
                from nnzoo.training.transfer import load_matching_weights

                init_report = load_matching_weights(model, config.model.init_from)
            metric_objs = _compile(model, config, card, task, steps_per_epoch)
    _check_monitor(config, _monitor_names(metric_objs, val_ds is not None), file)
    if config.distribute.strategy == "multi_worker" and keras.backend.backend() == "tensorflow":
        from nnzoo.training.distribute import patch_keras_for_multi_worker

        patch_keras_for_multi_worker(model, train_ds)

    monitor = config.train.monitor
    mode = monitor.resolved_mode
    callbacks: list[Any] = [cb.LearningRateLogger(), keras.callbacks.TerminateOnNaN()]
    checkpoint = None
    if config.train.callbacks.checkpoint:
        checkpoint = keras.callbacks.ModelCheckpoint(
            str(ckdir / "best.weights.h5"),
            monitor=monitor.metric,
            mode=mode,
            save_best_only=True,
            save_weights_only=True,
            verbose=0,
        )
        callbacks.append(checkpoint)
    early = None
    es_cfg = config.train.callbacks.early_stopping
    if es_cfg.enabled:
        early = keras.callbacks.EarlyStopping(
            monitor=monitor.metric,
            mode=mode,
            patience=es_cfg.patience,
            min_delta=es_cfg.min_delta,
            restore_best_weights=es_cfg.restore_best_weights,
        )
        callbacks.append(early)
    callbacks.append(keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True))
    callbacks.append(
        cb.ResumeState(ckdir, early_stopping=early, checkpoint=checkpoint, restore=state)
    )
    if config.train.callbacks.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "tensorboard")))
    callbacks.extend(extra_callbacks)

    initial_epoch = 0
    if state is not None:
        initial_epoch = int(state["epochs_completed"])
        _truncate_history(run_dir / "history.csv", initial_epoch)
    elif resuming:
        (run_dir / "history.csv").unlink(missing_ok=True)

    if initial_epoch < config.train.epochs:
        history = model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=config.train.epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=config.train.steps_per_epoch,
            callbacks=callbacks,
            shuffle=False,  # the pipeline shuffles, seeded
            verbose=0 if quiet else 2,
        )
        losses = history.history.get("loss", [])
    else:
        losses = []
    rows = _read_history(run_dir / "history.csv")
    if losses and not np.isfinite(losses[-1]):
        epoch = initial_epoch + len(losses)
        _write_status(run_dir, "failed", reason=f"loss became NaN at epoch {epoch}")
        raise TrainingDivergedError(
            f"{run_dir}: the loss became NaN at epoch {epoch}; training stopped and the last "
            f"good state is in {ckdir}. Fix: lower train.optimizer.learning_rate or set "
            "train.optimizer.clipnorm"
        )

    best_path = ckdir / "best.weights.h5"
    if checkpoint is not None and best_path.exists():
        model.load_weights(best_path)
    model.save(run_dir / "model.keras")
    test = model.evaluate(test_ds, return_dict=True, verbose=0)
    test = {k: float(v) for k, v in test.items()}
    if task in ("language_modeling", "masked_lm"):
        test["perplexity"] = float(math.exp(min(test["loss"], 50.0)))
    best_epoch = _best_epoch(rows, monitor.metric, mode)
    wall = time.perf_counter() - started + float((state or {}).get("wall_seconds", 0.0))
    result_metrics = {
        "test": test,
        "best": {**(rows[best_epoch - 1] if best_epoch else {}), "epoch": best_epoch},
        "monitor": {"metric": monitor.metric, "mode": mode},
        "params": int(model.count_params()),
        "trainable_params": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "epochs": len(rows),
        "stopped_early": bool(len(rows) < config.train.epochs),
        "wall_seconds": round(wall, 3),
        "backend": keras.backend.backend(),
        "replicas": int(replicas),
    }
    if init_report is not None:
        result_metrics["init_from"] = {k: len(v) for k, v in init_report.items()}
    (run_dir / "metrics.json").write_text(json.dumps(result_metrics, indent=2))
    from nnzoo.training.plots import plot_history

    plot_history(rows, run_dir / "curves.png")
    _write_status(run_dir, "finished")
    keras.mixed_precision.set_global_policy("float32")
    return RunResult(run_dir, result_metrics, rows, model)


def _check_environment(config: Config, file: str | None) -> None:
    """Packages a config asks for, checked before anything is written."""
    import importlib.util

    if config.train.callbacks.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise ConfigError(
            "TensorBoard logging needs the tensorboard package",
            file=file,
            key="train.callbacks.tensorboard",
            fix="pip install 'nnzoo[tensorboard]', or set it to false",
        )


def _compiled_metrics(model: Any) -> list[Any]:
    compiled = getattr(model, "_compile_config", None)
    names = []
    if compiled is not None:
        for m in compiled.config.get("metrics") or []:
            if isinstance(m, str):
                names.append(m)
            elif isinstance(m, dict):
                names.append(m.get("config", {}).get("name", "metric"))
            else:
                names.append(m.name)
    return names


def _best_epoch(rows: list[dict[str, Any]], metric: str, mode: str) -> int | None:
    values = [(i + 1, r[metric]) for i, r in enumerate(rows) if metric in r]
    values = [(e, v) for e, v in values if np.isfinite(v)]
    if not values:
        return None
    pick = max if mode == "max" else min
    return pick(values, key=lambda ev: ev[1])[0]


# --------------------------------------------------------------------------- saved runs


@dataclass
class LoadedRun:
    run_dir: Path
    config: Config
    model: Any
    spec: DataSpec


def load_run(run_dir: str | Path) -> LoadedRun:
    """Load a finished run: its config, its best model and its data spec."""
    run_dir = Path(run_dir)
    path = run_dir / "model.keras"
    if not path.exists():
        raise RunDirError(
            f"{run_dir}: no model.keras (the run did not finish). Fix: "
            f"`nnzoo train --resume {run_dir}`"
            if (run_dir / "config.yaml").exists()
            else f"{run_dir}: not a run directory. Fix: give a directory under runs/<name>/"
        )
    config = load_run_config(run_dir)
    spec = DataSpec.from_dict(json.loads((run_dir / "data_spec.json").read_text()))
    model = load_model(path)
    return LoadedRun(run_dir, config, model, spec)


def evaluate(
    run_dir: str | Path, *, data: str | None = None, data_params: dict[str, Any] | None = None
) -> dict[str, float]:
    """Metrics of a saved run's model on its test split, or on the test split of ``data``."""
    from nnzoo.data.pipeline import make_dataset

    run = load_run(run_dir)
    config = run.config
    if data is not None:
        config = config.model_copy(deep=True)
        config.data.source = data
        config.data.params = dict(data_params or {})
    card, _, splits = prepare(config)  # also checks the data against the model
    task = effective_task(card, config.model.params)
    ds = make_dataset(*splits.test, batch_size=config.data.batch_size, training=False)
    result = run.model.evaluate(ds, return_dict=True, verbose=0)
    result = {k: float(v) for k, v in result.items()}
    if task in ("language_modeling", "masked_lm"):
        result["perplexity"] = float(math.exp(min(result["loss"], 50.0)))
    result["examples"] = int(num_examples(splits.test[0]))
    return result


def predict(run_dir: str | Path, inputs: str | Path) -> list[dict[str, Any]]:
    """Class predictions (name and probabilities) of a saved run for the examples in ``inputs``."""
    from nnzoo.predict_io import read_inputs

    run = load_run(run_dir)
    x, labels = read_inputs(Path(inputs), run)
    logits = np.asarray(run.model.predict(x, verbose=0), dtype="float64")
    if logits.shape[-1] == 1:
        p1 = 1.0 / (1.0 + np.exp(-logits[:, 0]))
        probs = np.stack([1.0 - p1, p1], axis=-1)
    else:
        z = logits - logits.max(axis=-1, keepdims=True)
        probs = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    names = run.spec.class_names or [str(i) for i in range(probs.shape[-1])]
    out = []
    for label, row in zip(labels, probs):
        k = int(row.argmax())
        out.append(
            {
                "input": label,
                "class": names[k],
                "index": k,
                "probability": float(row[k]),
                "probabilities": {n: float(p) for n, p in zip(names, row)},
            }
        )
    return out
