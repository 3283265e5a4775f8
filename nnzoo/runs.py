"""A saved run: load it, and evaluate, predict and generate with its best model.

A run directory is self-contained (config, data spec, class names, tokenizer, ``model.keras``),
so these work on a copy of it on another machine. ``predict`` also takes the folder
``nnzoo export`` writes (an artifact, ``data_spec.json`` with an ``export`` entry, the
tokenizer): the same raw inputs are read the same way, and the artifact is run by its own
runtime (:mod:`nnzoo._export_runner`) in place of ``model.keras``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnzoo.config import Config
from nnzoo.data import DataSpec, num_examples
from nnzoo.errors import ConfigError, NnzooError, RunDirError
from nnzoo.training.resolve import effective_task, prepare
from nnzoo.training.run_dir import (
    CONFIG_FILE,
    MODEL_FILE,
    SPEC_FILE,
    check_run_dir,
    load_run_config,
    read_json,
    require_file,
)

__all__ = [
    "LoadedExport",
    "LoadedRun",
    "PredictedBatch",
    "PredictionStream",
    "Predictions",
    "evaluate",
    "generate",
    "generate_batch",
    "is_export_folder",
    "iter_predictions",
    "load_export",
    "load_run",
    "predict",
    "read_prompts",
    "write_generations",
]


@dataclass
class LoadedRun:
    """A finished run: its resolved config, its best model and what its data looked like."""

    run_dir: Path
    config: Config
    model: Any
    spec: DataSpec


def load_run(run_dir: str | Path) -> LoadedRun:
    """Load a finished run: its config, its best model and its data spec."""
    from nnzoo.training.saving import load_model

    run_dir = Path(run_dir)
    if not (run_dir / MODEL_FILE).exists():
        raise RunDirError(
            f"{run_dir}: no {MODEL_FILE} (the run did not finish). Fix: "
            f"`nnzoo train --resume {run_dir}`"
            if (run_dir / CONFIG_FILE).exists()
            else f"{run_dir}: not a run directory. Fix: give a directory under runs/<name>/"
        )
    check_run_dir(run_dir)
    config = load_run_config(run_dir)
    try:
        spec = DataSpec.from_dict(read_json(run_dir, SPEC_FILE))
    except (TypeError, KeyError, AttributeError):
        raise RunDirError(
            f"{run_dir / SPEC_FILE}: does not describe the run's data. Fix: copy the whole run "
            "directory again"
        ) from None
    # model.keras is an inference artifact: no optimizer, no compile settings (older runs
    # saved both; they are not needed either). evaluate compiles it from the run's config.
    return LoadedRun(run_dir, config, load_model(run_dir / MODEL_FILE, compile=False), spec)


#: The entry of an export folder's ``data_spec.json`` that describes its artifact.
EXPORT_KEY = "export"


def is_export_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder ``nnzoo export`` wrote: ``data_spec.json`` with an
    ``export`` entry, and no ``model.keras`` (a run directory has one)."""
    path = Path(path)
    spec_file = path / SPEC_FILE
    if not spec_file.is_file() or (path / MODEL_FILE).exists():
        return False
    try:
        data = json.loads(spec_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and EXPORT_KEY in data


class ExportedModel:
    """The artifact of an export folder as ``predict`` uses a model: ``predict_on_batch``
    runs it with its own runtime (:func:`nnzoo._export_runner.run`), not Keras.

    Args:
        folder: the export folder.
        inputs: the artifact's inputs as ``data_spec.json`` lists them (``name``, ``dtype``).
    """

    def __init__(self, folder: Path, inputs: list[dict[str, Any]]) -> None:
        self.folder = folder
        self.inputs = [(str(i["name"]), str(i.get("dtype", "float32"))) for i in inputs]

    def predict_on_batch(self, x: Any) -> np.ndarray:
        from nnzoo import _export_runner

        if not isinstance(x, dict):  # one input (features, images): the batch is that input
            x = {self.inputs[0][0]: x}
        feed = {name: np.asarray(x[name], dtype=dtype) for name, dtype in self.inputs}
        return np.asarray(_export_runner.run(self.folder, feed))


@dataclass
class LoadedExport:
    """An export folder: its data spec (the run's) and its artifact, run by its runtime."""

    run_dir: Path
    model: ExportedModel
    spec: DataSpec
    export: dict[str, Any]


def load_export(folder: str | Path) -> LoadedExport:
    """Load the folder ``nnzoo export`` wrote, to predict with its artifact."""
    folder = Path(folder)
    data = read_json(folder, SPEC_FILE)
    info = data.pop(EXPORT_KEY, None)
    artifact = folder / str((info or {}).get("artifact", ""))
    if not isinstance(info, dict) or not info.get("inputs") or not artifact.exists():
        raise RunDirError(
            f"{folder}: not a complete export folder (data_spec.json names no artifact, or "
            f"{artifact.name or 'it'} is missing). Fix: export the run again: nnzoo export RUN_DIR"
        )
    try:
        spec = DataSpec.from_dict(data)
    except (TypeError, KeyError, AttributeError):
        raise RunDirError(
            f"{folder / SPEC_FILE}: does not describe the run's data. Fix: export the run again"
        ) from None
    return LoadedExport(folder, ExportedModel(folder, info["inputs"]), spec, info)


def evaluate(
    run_dir: str | Path, *, data: str | None = None, data_params: dict[str, Any] | None = None
) -> dict[str, float]:
    """Metrics of a saved run's model on its test split, or on the test split of ``data``."""
    from nnzoo.data.pipeline import make_dataset
    from nnzoo.training.compile import compile_for_evaluation
    from nnzoo.training.losses import with_perplexity

    run = load_run(run_dir)
    config = run.config
    if data is not None:
        config = config.model_copy(deep=True)
        config.data.source = data
        config.data.params = dict(data_params or {})
    else:
        _check_run_data(run_dir, config)
    config = _self_contained(Path(run_dir), config, run.spec)
    card, _, splits = prepare(config)  # also checks the data against the model
    task = effective_task(card, config.model.params)
    compile_for_evaluation(run.model, run.config, card, task)
    ds = make_dataset(*splits.test, batch_size=config.data.batch_size, training=False)
    result = run.model.evaluate(ds, return_dict=True, verbose=0)
    result = with_perplexity({k: float(v) for k, v in result.items()}, task)
    result["examples"] = int(num_examples(splits.test[0]))
    return result


def _self_contained(run_dir: Path, config: Config, spec: Any) -> Config:
    """The run's config reading its data with the run's own tokenizer, and without what the
    model started from (a KerasHub preset, another run): the trained model is in the run, so
    neither is needed again (a copied run evaluates offline, with empty caches)."""
    from nnzoo.data import get_source

    if not config.model.init_from:
        return config
    config = config.model_copy(deep=True)
    accepted = get_source(config.data.source).parameters
    tokenizer = run_dir / "tokenizer.json"
    if tokenizer.is_file() and "tokenizer" in accepted:
        config.data.params = {**config.data.params, "tokenizer": str(tokenizer)}
        config.data.params.pop("vocabulary_size", None)
        if "sequence_length" in accepted and getattr(spec, "sequence_length", None):
            config.data.params["sequence_length"] = int(spec.sequence_length)
    config.model.init_from = None
    return config


def _check_run_data(run_dir: str | Path, config: Config) -> None:
    """A copied run whose data file stayed behind: say to pass the data to evaluate on."""
    from nnzoo.data import check_required_params, get_source

    source = get_source(config.data.source)
    try:
        check_required_params(source, config.data.params)
    except ConfigError as err:
        raise ConfigError(
            f"the data this run was trained on is not there: {config.data.params.get('path')!r}",
            file=str(Path(run_dir) / CONFIG_FILE),
            key=err.key,
            fix=f"evaluate on your copy of it: nnzoo evaluate {run_dir} --data {source.name} "
            "--set path=PATH",
        ) from None


class Predictions(list):
    """The rows :func:`predict` returns (a list of dicts: ``input``, ``class``, ``index``,
    ``probability``, ``probabilities`` and, where the input has labels, ``label``), with
    ``accuracy`` over the labelled rows (``None`` when the input has no label column)."""

    def __init__(
        self, rows: Iterable[dict[str, Any]] = (), *, accuracy: float | None = None
    ) -> None:
        super().__init__(rows)
        self.accuracy = accuracy


@dataclass
class PredictedBatch:
    """The predictions for one batch of inputs, as arrays (what :class:`PredictionStream`
    makes its rows from; :func:`nnzoo.predict_io.write_predictions` writes them whole).

    Attributes:
        names: what each input is called.
        probabilities: ``(N, K)`` float64 class probabilities.
        best: ``(N,)`` the index of each input's predicted class.
        labels: ``(N,)`` class ids where the input carries labels, else ``None``.
        class_names: the ``K`` class names.
    """

    names: list[str]
    probabilities: np.ndarray
    best: np.ndarray
    labels: np.ndarray | None
    class_names: list[str]

    @property
    def best_probability(self) -> list[float]:
        """Each input's probability of its predicted class."""
        return self.probabilities[np.arange(len(self.best)), self.best].tolist()

    def rows(self) -> Iterator[dict[str, Any]]:
        """One dict per input (see :class:`Predictions`)."""
        names, labels = self.class_names, self.labels
        for i, (name, row) in enumerate(zip(self.names, self.probabilities.tolist())):
            k = int(self.best[i])
            out = {
                "input": name,
                "class": names[k],
                "index": k,
                "probability": row[k],
                "probabilities": dict(zip(names, row)),
            }
            if labels is not None:
                out["label"] = names[int(labels[i])]
            yield out


class PredictionStream:
    """The predictions of a run for some inputs, made batch by batch as they are iterated.

    Iterating gives one dict per input (see :class:`Predictions`); :meth:`batches` gives the
    same predictions a :class:`PredictedBatch` at a time, without a Python object per row.
    After the iteration, ``examples``, ``labelled`` and ``correct`` count the rows and
    ``accuracy`` is ``correct / labelled`` (``None`` when the input had no labels).
    """

    def __init__(self, run: LoadedRun | LoadedExport, batches: Iterable[Any]) -> None:
        self.run, self._batches = run, batches
        self.examples = self.labelled = self.correct = 0

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.labelled if self.labelled else None

    def batches(self) -> Iterator[PredictedBatch]:
        """The predictions a batch at a time (``examples`` counts each batch as it comes).

        The next batch is read and predicted in a worker thread while the caller uses this
        one (the model's runtime releases the GIL: writing the output overlaps predicting);
        at most two batches are held.
        """
        from concurrent.futures import ThreadPoolExecutor

        batches = iter(self._batches)
        with ThreadPoolExecutor(1, thread_name_prefix="nnzoo-predict") as worker:
            pending = worker.submit(self._predict_next, batches)
            try:
                while (done := pending.result()) is not None:
                    pending = worker.submit(self._predict_next, batches)
                    yield done
            finally:
                pending.cancel()  # the caller stopped early: a started batch is waited for

    def _predict_next(self, batches: Iterator[Any]) -> PredictedBatch | None:
        batch = next(batches, None)
        if batch is None:
            return None
        logits = np.asarray(self.run.model.predict_on_batch(batch.x), dtype="float64")
        probs = _probabilities(logits)
        names = self.run.spec.class_names or [str(i) for i in range(probs.shape[-1])]
        best = probs.argmax(axis=-1)
        if batch.labels is not None:
            self.labelled += len(batch.labels)
            self.correct += int((best == batch.labels).sum())
        self.examples += len(best)
        return PredictedBatch(batch.names, probs, best, batch.labels, names)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for batch in self.batches():
            yield from batch.rows()


def _probabilities(logits: np.ndarray) -> np.ndarray:
    """Class probabilities of logits ``(N, K)``; one logit is a binary task (sigmoid)."""
    if logits.shape[-1] == 1:
        p1 = 1.0 / (1.0 + np.exp(-logits[:, 0]))
        return np.stack([1.0 - p1, p1], axis=-1)
    z = logits - logits.max(axis=-1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)


def iter_predictions(
    run_dir: str | Path, inputs: str | Path, *, batch_size: int = 1024
) -> PredictionStream:
    """The predictions of a saved run for ``inputs``, read, predicted and yielded
    ``batch_size`` examples at a time (so a file of any length fits in memory).

    ``run_dir`` is a run directory or a folder ``nnzoo export`` wrote (its artifact then makes
    the predictions, run by its own runtime). ``inputs`` are raw, as the run's data was (see
    :mod:`nnzoo.predict_io`): a CSV in the training file's format with or without its label
    column, ``.npy`` / ``.npz`` arrays, images, or text lines. What can be checked up front is
    checked before this returns.
    """
    from nnzoo.predict_io import read_batches

    run = load_export(run_dir) if is_export_folder(run_dir) else load_run(run_dir)
    batches = read_batches(Path(inputs), run.spec, run.run_dir, batch_size=batch_size)
    return PredictionStream(run, batches)


def predict(run_dir: str | Path, inputs: str | Path, *, batch_size: int = 1024) -> Predictions:
    """Class predictions (name and probabilities) of a saved run, or of an exported one, for
    the examples in ``inputs``, and their ``accuracy`` where ``inputs`` carry the label column
    (see :func:`iter_predictions`).
    """
    stream = iter_predictions(run_dir, inputs, batch_size=batch_size)
    rows = list(stream)
    return Predictions(rows, accuracy=stream.accuracy)


def generate(
    run_dir: str | Path,
    prompt: str = "",
    *,
    max_new_tokens: int = 200,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int | None = None,
    use_cache: bool = True,
) -> str:
    """Text a saved language-model run writes after ``prompt`` (the prompt not included).

    Args:
        run_dir: a finished run of a language model (e.g. ``gpt_nano``).
        prompt: the text to continue. Defaults to ``""``.
        max_new_tokens: how many tokens to sample. Defaults to ``200``.
        temperature: 0 is greedy (deterministic). Defaults to ``1.0``.
        top_k: sample from the ``top_k`` most likely tokens. Defaults to all.
        seed: seed of the sampler. Defaults to a random one.
        use_cache: the key/value cache and compiled loop where the model allows it (see
            :mod:`nnzoo.generation`); greedy text is the same without. Defaults to ``True``.
    """
    return generate_batch(
        run_dir,
        [prompt],
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_k=top_k,
        seed=seed,
        use_cache=use_cache,
    )[0]


def generate_batch(
    run_dir: str | Path,
    prompts: list[str],
    *,
    max_new_tokens: int = 200,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int | None = None,
    use_cache: bool = True,
) -> list[str]:
    """The continuations of several prompts, generated together in one batch (each row from
    its own length, stopping at its own end token), in order; arguments as :func:`generate`.
    """
    import math

    from nnzoo.data.tokenizers import tokenizer_from_json
    from nnzoo.generation import generate_batch as sample_texts

    if not (math.isfinite(temperature) and temperature >= 0):
        raise NnzooError(
            f"--temperature must be a finite number >= 0 (0 is greedy). "
            f"Received: temperature={temperature}"
        )
    run = load_run(run_dir)
    if run.spec.task != "language_modeling":
        raise NnzooError(
            f"{run_dir}: a {run.spec.task} run cannot generate text. Fix: give "
            "the run of a language model (e.g. gpt_nano)"
        )
    tokenizer = tokenizer_from_json(require_file(run_dir, "tokenizer.json").read_text())
    return sample_texts(
        run.model,
        tokenizer,
        list(prompts),
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_k=top_k,
        seed=seed,
        max_sequence_length=run.config.model.params.get("max_sequence_length"),
        use_cache=use_cache,
    )


def read_prompts(path: str | Path) -> list[str]:
    """The prompts of a UTF-8 text file, one per line (the line ending not included).

    Blank lines (empty or only spaces) are skipped, so a file may end with an empty line or
    separate groups of prompts; a prompt keeps its other spaces (``"def "``).

    Raises:
        NnzooError: the file is missing, is not UTF-8, or has no prompt (one line, exit 2).
    """
    path = Path(path)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "no such file"
        raise NnzooError(f"--prompts {path}: {what}. Fix: give a text file, one prompt a line")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise NnzooError(
            f"--prompts {path}: not UTF-8 text (byte {err.start}). Fix: save it as UTF-8"
        ) from None
    prompts = [line for line in text.splitlines() if line.strip()]
    if not prompts:
        raise NnzooError(
            f"--prompts {path}: has no prompt (blank lines are skipped). Fix: write one "
            "prompt a line"
        )
    return prompts


def write_generations(rows: list[dict[str, str]], path: str | Path) -> None:
    """Write ``{"prompt", "text"}`` rows as JSON lines, atomically (a temporary file beside
    ``path``, renamed into place when complete)."""
    import os

    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
