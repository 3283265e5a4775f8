"""``nnzoo evaluate``: the metrics of a run's best model on its test split, or on other data.

Which examples are scored (:attr:`Evaluation.scored`):

- ``recorded test split``: the test examples the run recorded (``split.npz``, see
  :mod:`nnzoo.run.split`). Without ``data``, after checking that the run's data is still what
  it was trained on (a changed file is refused in one line, saying what changed); with ``data``
  whose fingerprint is the run's (a copy of its data, anywhere).
- ``test split``: a run saved before splits were recorded draws its split again, as it did.
- ``whole file``: any other data from files, every example, read as ``predict`` reads it
  (:mod:`nnzoo.inference.readers`: the run's image size and colour mode, its tokenizer, columns
  and class names). Each example must carry a label of one of the run's classes.
- ``whole source``: any other data of a source without files (bundled, generated), every
  example, loaded with the run's tokenizer, sequence length and image size.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from nnzoo.config import Config
from nnzoo.data import (
    check_source_params,
    data_fingerprint,
    fingerprint_changes,
    get_source,
    num_examples,
)
from nnzoo.errors import ConfigError, NnzooError
from nnzoo.inference.load import LoadedRun, load_run, self_contained
from nnzoo.registry import get_card
from nnzoo.run.bind import effective_task, prepare, source_params
from nnzoo.run.directory import CONFIG_FILE
from nnzoo.run.split import RecordedSplit, check_data, read_split

__all__ = ["Evaluation", "evaluate"]

RECORDED = "recorded test split"
DRAWN = "test split"
WHOLE_FILE = "whole file"
WHOLE_SOURCE = "whole source"
#: The parameters that name the files a source reads: what ``--data`` may change in them.
PATH_PARAMS = ("path", "test_path")


class Evaluation(dict):
    """The metrics :func:`evaluate` returns, by name, and ``examples`` (how many were
    scored), with :attr:`scored`: which examples they were (``"recorded test split"``,
    ``"test split"``, ``"whole file"`` or ``"whole source"``; see the module docstring), and
    :attr:`summary`: the report's numbers (:func:`nnzoo.run.report.summarise`, per class for a
    classifier) where ``evaluate`` was asked for them, else ``None``."""

    def __init__(self, metrics: dict[str, Any], *, scored: str) -> None:
        super().__init__(metrics)
        self.scored = scored
        self.summary: dict[str, Any] | None = None


def evaluate(
    run_dir: str | Path,
    *,
    data: str | None = None,
    data_params: dict[str, Any] | None = None,
    per_class: bool = False,
    report: str | Path | None = None,
) -> Evaluation:
    """Metrics of a saved run's model on its test split, or on the data source ``data`` read
    with ``data_params``: its recorded test split where that data is the run's (a copy of it),
    else every example (see the module docstring).

    Args:
        run_dir: the run.
        data: other data to score. Defaults to ``None``: the run's own test split.
        data_params: the parameters of ``data``. Defaults to ``None``.
        per_class: also predict the scored examples once for :attr:`Evaluation.summary`
            (per-class precision, recall, F1 and support). Defaults to ``False``.
        report: write a report (:mod:`nnzoo.run.report`) of the scored examples into this
            folder, outside the run. Defaults to ``None``: none.
    """
    run = load_run(run_dir)
    task = effective_task(get_card(run.config.model.name), run.config.model.params)
    if per_class and task != "classification":
        raise ConfigError(
            f"--per-class results are a classifier's, and this run's task is {task}",
            fix="drop --per-class (--report DIR writes this task's own pictures and numbers)",
        )
    if report is not None:
        _check_report_dir(run.run_dir, Path(report))
    want = per_class or report is not None
    recorded = read_split(run.run_dir)
    if data is None:
        _check_run_data(run_dir, run.config)
        if recorded is not None:
            check_data(run_dir, run.config, recorded, fix=_other_data_fix(run_dir, run.config))
        scored = _score_split(run, run.config, recorded, want)
    else:
        config = _with_data(run, data, dict(data_params or {}))
        same = recorded is not None and not fingerprint_changes(
            recorded.fingerprint, data_fingerprint(config.data.source, config.data.params)
        )
        if same:
            scored = _score_split(run, config, recorded, want)
        else:
            scored = _score_whole(run, config, dict(data_params or {}), want)
    evaluation, predicted = scored
    if want:
        _summarise(run, evaluation, predicted, report)
    return evaluation


def _check_report_dir(run_dir: Path, report: Path) -> None:
    """A report of other data never goes into the run (its own ``report/`` is the run's)."""
    inside = report.resolve()
    if inside == run_dir.resolve() or run_dir.resolve() in inside.parents:
        raise ConfigError(
            f"--report {report} is inside the run {run_dir}, whose own report/ is the run's",
            fix="write it elsewhere: --report DIR outside the run directory",
        )


def _summarise(
    run: LoadedRun,
    evaluation: Evaluation,
    predicted: tuple[Any, Any] | None,
    report: str | Path | None,
) -> None:
    """:attr:`Evaluation.summary` from the predictions, and the report where asked."""
    from nnzoo.run import report as reporting

    card = get_card(run.config.model.name)
    task = effective_task(card, run.config.model.params)
    labels, outputs = predicted if predicted is not None else (None, None)
    evaluation.summary = reporting.summarise(
        task, labels, outputs, class_names=run.spec.class_names, test=dict(evaluation)
    )
    if report is not None:
        reporting.write_report(
            report,
            evaluation.summary,
            labels=labels,
            outputs=outputs,
            title=f"{run.run_dir.parent.name} / {run.run_dir.name}: {evaluation.scored}",
            run_dir=run.run_dir,
            about=reporting.about_run(card, run.spec),
        )


def _predicted(model: Any, batches: Any, task: str, want: bool) -> tuple[Any, Any] | None:
    """``(labels, outputs)`` of one predict pass where the report needs them."""
    from nnzoo.run.report import PREDICTED_TASKS, predict_batches

    if not want or task not in PREDICTED_TASKS:
        return None
    return predict_batches(model, batches)


def _check_run_data(run_dir: str | Path, config: Config) -> None:
    """A copied run whose data file stayed behind: say to pass the data to evaluate on."""
    from nnzoo.data import check_required_params

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


def _other_data_fix(run_dir: str | Path, config: Config) -> str:
    """What to do when the run's data changed: restore it, or evaluate it as other data."""
    path = config.data.params.get("path")
    if path:
        return (
            f"restore it, or score it as other data, every example: nnzoo evaluate {run_dir} "
            f"--data {config.data.source} --set path={path}"
        )
    return (
        f"restore data.params in {Path(run_dir) / CONFIG_FILE}, or score other data: nnzoo "
        f"evaluate {run_dir} --data SOURCE --set PARAM=VALUE"
    )


def _with_data(run: LoadedRun, data: str, given: dict[str, Any]) -> Config:
    """The run's config reading ``data`` with ``given`` parameters: over the run's own where
    ``data`` is its source. Data from files is read as the run read its own (its readers), so
    a given parameter other than a path must be the run's."""
    source = get_source(data)
    check_source_params(source, given)
    same = data == run.config.data.source
    own = dict(run.config.data.params) if same else {}
    if source.path_kind is not None:
        read = {**source.parameters, **own} if same else {}  # how the run read its data
        for key, value in given.items():
            if key not in PATH_PARAMS and read.get(key, _MISSING) != value:
                _refuse_param(key, value, read.get(key, _MISSING))
    config = run.config.model_copy(deep=True)
    config.data.source = data
    config.data.params = {**own, **given}
    config.data.validation_source = None  # nothing here is trained or validated
    return config


_MISSING = object()


def _refuse_param(key: str, value: Any, own: Any) -> None:
    was = "" if own is _MISSING else f" (the run's: {own!r})"
    raise ConfigError(
        f"evaluate reads other data as the run read its own (as predict does), and "
        f"{key}={value!r} would read it otherwise{was}",
        key=f"data.params.{key}",
        fix=f"drop --set {key}",
    )


def _score_split(
    run: LoadedRun, config: Config, recorded: RecordedSplit | None, want: bool = False
) -> tuple[Evaluation, tuple[Any, Any] | None]:
    """The metrics on the test split: the recorded one, or (a run from before splits were
    recorded) drawn again."""
    from nnzoo.data.pipeline import make_dataset, read_errors

    config = self_contained(run.run_dir, config, run.spec)
    if recorded is None:
        card, _, splits = prepare(config)  # also checks the data against the model
    else:
        card, _, splits = prepare(config, split=recorded.indices)
    ds = make_dataset(*splits.test, batch_size=config.data.batch_size, training=False, cache=False)
    task = effective_task(card, run.config.model.params)
    with read_errors():  # an unreadable listed file: one line naming it
        logs = _compiled(run, card).evaluate(ds, return_dict=True, verbose=0)
        predicted = _predicted(run.model, ds, task, want)
    scored = DRAWN if recorded is None else RECORDED
    return _evaluation(logs, task, num_examples(splits.test[0]), scored), predicted


def _compiled(run: LoadedRun, card: Any) -> Any:
    """The run's model compiled with its training's loss and metrics."""
    from nnzoo.run.losses import compile_for_evaluation

    task = effective_task(card, run.config.model.params)
    compile_for_evaluation(run.model, run.config, card, task)
    return run.model


def _evaluation(logs: dict[str, Any], task: str, examples: int, scored: str) -> Evaluation:
    from nnzoo.run.losses import with_perplexity

    metrics = with_perplexity({k: float(v) for k, v in logs.items()}, task)
    metrics["examples"] = int(examples)
    return Evaluation(metrics, scored=scored)


def _score_whole(
    run: LoadedRun, config: Config, given: dict[str, Any], want: bool = False
) -> tuple[Evaluation, tuple[Any, Any] | None]:
    """The metrics on every example of other data: the files ``given`` names (else the run's
    ``path``) read by ``predict``'s readers, or a source without files loaded whole with the
    run's reading parameters."""
    card = get_card(run.config.model.name)
    task = effective_task(card, run.config.model.params)
    if get_source(config.data.source).path_kind is None:
        from nnzoo.data.pipeline import make_dataset

        x, y = _whole_source(run, config, given, card, task)
        ds = make_dataset(x, y, batch_size=config.data.batch_size, training=False)
        logs = _compiled(run, card).evaluate(ds, return_dict=True, verbose=0)
        predicted = _predicted(run.model, ds, task, want)
        return _evaluation(logs, task, num_examples(x), WHOLE_SOURCE), predicted
    from nnzoo.inference.readers import read_batches

    paths = [key for key in PATH_PARAMS if key in given] or ["path"]

    def streams() -> list[Iterator[Any]]:
        return [
            read_batches(
                Path(str(config.data.params[key])),
                run.spec,
                run.run_dir,
                batch_size=config.data.batch_size,
                labelled=True,
            )
            for key in paths
        ]

    batches = _Labelled(streams())
    model = _compiled(run, card)
    try:
        with warnings.catch_warnings():
            # Keras warns whenever a stream of unknown length ends: here, every time.
            warnings.filterwarnings("ignore", message="Your input ran out of data")
            logs = model.evaluate(batches(), return_dict=True, verbose=0)
    except Exception:
        if batches.error is None:
            raise
    if batches.error is not None:  # raised here, not through TensorFlow's reading thread
        raise batches.error
    # The files again, for the report: read as evaluate read them (errors were raised above).
    predicted = _predicted(model, _Labelled(streams())(), task, want)
    return _evaluation(logs, task, batches.examples, WHOLE_FILE), predicted


class _Labelled:
    """The batches of some readers as ``(x, labels)`` for Keras's ``evaluate``, counted. An
    error in the input (a label the run never saw, a bad cell) ends the batches and is kept in
    :attr:`error`, to be raised as it is once ``evaluate`` returns."""

    def __init__(self, streams: Iterable[Iterator[Any]]) -> None:
        self.streams = streams
        self.examples = 0
        self.error: NnzooError | None = None

    def __call__(self) -> Iterator[tuple[Any, np.ndarray]]:
        try:
            for stream in self.streams:
                for batch in stream:
                    self.examples += len(batch.labels)
                    yield batch.x, batch.labels
        except NnzooError as err:
            self.error = err


def _whole_source(
    run: LoadedRun, config: Config, given: dict[str, Any], card: Any, task: str
) -> tuple[Any, Any]:
    """Every example of a source without files, read with the run's tokenizer, sequence
    length and image size, labelled with the run's class ids."""
    from nnzoo.data import load_data

    source = get_source(config.data.source)
    params = source_params(config, card, task)
    for key, value in _run_reading(run, source.parameters).items():
        if key in given and given[key] != value:
            _refuse_param(key, given[key], value)
        params[key] = value
    if str(params.get("tokenizer", "")).endswith(".json"):
        params.pop("vocabulary_size", None)  # the run's tokenizer has its own
    splits = load_data(source.name, params=params, seed=config.seed, whole=True)
    spec, want = splits.spec, run.spec
    if (spec.input_kind, tuple(spec.input_shape)) != (want.input_kind, tuple(want.input_shape)):
        raise ConfigError(
            f"data source '{source.name}' yields {spec.input_kind} of shape "
            f"{tuple(spec.input_shape)}, but this run's model takes {want.input_kind} of shape "
            f"{tuple(want.input_shape)}",
            key="data.source",
            fix="evaluate data of the kind the run was trained on",
        )
    x, y = splits.test
    return x, _run_labels(y, spec.class_names, want.class_names, source.name)


def _run_reading(run: LoadedRun, accepted: dict[str, Any]) -> dict[str, Any]:
    """The source parameters that make data read as the run read its own: its tokenizer,
    sequence length and image size (where the source takes them)."""
    spec, reading = run.spec, {}
    tokenizer = run.run_dir / "tokenizer.json"
    if "tokenizer" in accepted and tokenizer.is_file():
        reading["tokenizer"] = str(tokenizer)
    if "sequence_length" in accepted and spec.sequence_length:
        reading["sequence_length"] = int(spec.sequence_length)
    if "image_size" in accepted and spec.input_kind == "image":
        h, w = (int(d) for d in spec.input_shape[:2])
        reading["image_size"] = h if h == w else [h, w]
    return reading


def _run_labels(y: Any, names: list[str] | None, run_names: list[str] | None, source: str) -> Any:
    """Labels ``y`` (ids of ``names``) as ids of the run's classes ``run_names``; a class the
    run never saw is refused."""
    if names is None or run_names is None or list(names) == list(run_names):
        return y
    index = {name: i for i, name in enumerate(run_names)}
    present = [names[i] for i in np.unique(np.asarray(y))]
    unknown = [name for name in present if name not in index]
    if unknown:
        raise ConfigError(
            f"data source '{source}' has labels this run never saw: {unknown[:5]} (its "
            f"classes: {', '.join(run_names[:10])})",
            key="data.source",
            fix="evaluate data of the run's classes",
        )
    mapping = np.asarray([index.get(name, -1) for name in names], dtype="int32")
    return mapping[np.asarray(y)]
