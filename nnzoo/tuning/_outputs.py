"""What a study leaves behind: ``best.yaml``, ``trials.csv`` and Optuna's plots."""

from __future__ import annotations

import csv
import json
import logging
import shutil
import warnings
from pathlib import Path
from typing import Any

import optuna
import yaml
from optuna.trial import TrialState
from rich.markup import escape

from nnzoo.config import Config
from nnzoo.run.report import embed_curves
from nnzoo.training.plots import write_curves
from nnzoo.tuning import _space
from nnzoo.tuning._report import TrialReporter
from nnzoo.tuning._settings import (
    ATTR_ARTIFACTS,
    ATTR_RUN_DIR,
    ATTR_SURPLUS,
    Settings,
    TuneResult,
)
from nnzoo.tuning._storage import StorageSpec
from nnzoo.tuning._study import best_trial

log = logging.getLogger(__name__)


def best_config_yaml(config: Config, values: dict[str, Any], header: str) -> str:
    """The full config with ``values`` filled in, as YAML ``nnzoo train`` takes as it is."""
    best = _space.apply(config, values)
    data = best.model_dump(mode="json")
    data["tune"]["space"] = _space.as_written(best.tune.space)
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return "".join(f"# {line}\n" for line in header.splitlines()) + body


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | dict | tuple):
        return json.dumps(value)
    return value


def write_trials_csv(study: optuna.Study, path: Path) -> Path:
    """The columns of ``study.trials_dataframe()`` (which needs pandas), with the csv module."""
    trials = study.get_trials(deepcopy=False)
    params = sorted({k for t in trials for k in t.params})
    attrs = sorted({k for t in trials for k in t.user_attrs})
    header = ["number", "value", "datetime_start", "datetime_complete", "duration"]
    header += [f"params_{k}" for k in params] + [f"user_attrs_{k}" for k in attrs] + ["state"]
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for t in trials:
            row = [
                t.number,
                t.value,
                t.datetime_start.isoformat(sep=" ") if t.datetime_start else None,
                t.datetime_complete.isoformat(sep=" ") if t.datetime_complete else None,
                round(t.duration.total_seconds(), 3) if t.duration else None,
            ]
            row += [t.params.get(k) for k in params]
            row += [t.user_attrs.get(k) for k in attrs]
            row.append(t.state.name)
            writer.writerow([_cell(v) for v in row])
    return path


#: Trees of the fANOVA forest behind ``param_importances.png``.
IMPORTANCE_TREES = 16


def write_plots(study: optuna.Study, out_dir: Path) -> list[Path]:
    """Optimisation history, intermediate values and (with >= 2 complete trials) importances."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.importance import FanovaImportanceEvaluator
    from optuna.visualization import matplotlib as ovm

    def importances(study: optuna.Study) -> Any:
        # Optuna's default evaluator (fANOVA), seeded so that the plot is the same each time,
        # with 16 trees instead of 64: the same ranking at about a quarter of the time.
        evaluator = FanovaImportanceEvaluator(n_trees=IMPORTANCE_TREES, seed=0)
        return ovm.plot_param_importances(study, evaluator=evaluator)

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    plots = [
        ("optimization_history.png", ovm.plot_optimization_history, 1),
        ("intermediate_values.png", ovm.plot_intermediate_values, 1),
        ("param_importances.png", importances, 2),
    ]
    written = []
    for name, plot, needed in plots:
        path = out_dir / name
        if len(complete) < needed:
            path.unlink(missing_ok=True)
            continue
        try:
            # Optuna's plots set the ggplot style for the whole process: keep it to them.
            with warnings.catch_warnings(), matplotlib.rc_context():
                warnings.simplefilter("ignore")
                ax = plot(study)
            fig = getattr(ax, "figure", None) or ax.flat[0].figure
            fig.set_size_inches(8, 5)
            fig.tight_layout()
            fig.savefig(path, dpi=100)
            plt.close(fig)
            written.append(path)
        except Exception as err:  # e.g. importances when no parameter varied
            log.info("no %s: %s", name, err)
            path.unlink(missing_ok=True)
    return written


#: What a lean trial that led the study wrote and loses when another trial is the best (its
#: metrics.json keeps its test metrics).
SUPERSEDED = ("model.keras", "curves.png")


def drop_superseded(study: optuna.Study, best: optuna.trial.FrozenTrial | None) -> None:
    """Remove the model, plot and report of the lean trials that led the study when they finished
    but are not its best now (``--keep-artifacts`` trials are not lean: they keep theirs)."""
    for trial in study.get_trials(deepcopy=False):
        if not trial.system_attrs.get(ATTR_ARTIFACTS):
            continue
        if best is not None and trial.number == best.number:
            continue
        run_dir = trial.user_attrs.get(ATTR_RUN_DIR)
        for name in SUPERSEDED if run_dir else ():
            (Path(run_dir) / name).unlink(missing_ok=True)
        if run_dir:
            shutil.rmtree(Path(run_dir) / "report", ignore_errors=True)


def write_outputs(
    study: optuna.Study, config: Config, settings: Settings, spec: StorageSpec
) -> TuneResult:
    """Write best.yaml, trials.csv and plots into ``settings.path``; the :class:`TuneResult`."""
    out_dir = settings.path
    out_dir.mkdir(parents=True, exist_ok=True)
    trials = study.get_trials(deepcopy=False)
    count = {s: sum(t.state == s for t in trials) for s in TrialState}
    failed = sum(
        t.state == TrialState.FAIL and not t.system_attrs.get(ATTR_SURPLUS) for t in trials
    )
    csv_path = write_trials_csv(study, out_dir / "trials.csv")
    best_path = None
    best_value = best_number = best_run = None
    best_params: dict[str, Any] = {}
    best = best_trial(study, settings.direction)
    drop_superseded(study, best)
    if best is not None and best.value is not None:
        best_value, best_number = best.value, best.number
        best_params = _space.decode_params(config.tune.space, best.params)
        run = best.user_attrs.get(ATTR_RUN_DIR)
        best_run = Path(run) if run else None
        drawn = best_run is not None and (best_run / "curves.png").exists()
        if best_run is not None and best.system_attrs.get(ATTR_ARTIFACTS) and not drawn:
            write_curves(best_run)  # a lean trial's, drawn once it is known to be the best
            embed_curves(best_run)  # into the report its artifacts wrote
        header = (
            f"nnzoo tune: best trial {best.number} of study '{settings.study}' "
            f"({settings.metric} = {best.value:.6g}, {settings.direction})\n"
            f"storage: {spec.display}\n"
            + (f"its run (model.keras, metrics.json): {best_run}\n" if best_run else "")
            + "train it: nnzoo train best.yaml\n"
        )
        best_path = out_dir / "best.yaml"
        best_path.write_text(best_config_yaml(config, best_params, header))
    plots = write_plots(study, out_dir)
    return TuneResult(
        study_name=settings.study,
        storage=spec.display,
        metric=settings.metric,
        direction=settings.direction,
        best_value=best_value,
        best_params=best_params,
        best_trial=best_number,
        best_config=best_path,
        out_dir=out_dir,
        complete=count[TrialState.COMPLETE],
        pruned=count[TrialState.PRUNED],
        failed=failed,
        trials_csv=csv_path,
        plots=plots,
        best_run=best_run,
    )


def print_summary(result: TuneResult, spec: StorageSpec, reporter: TrialReporter) -> None:
    """The study's totals and best trial (``nnzoo tune`` then prints the best config's path,
    once, on standard output)."""
    reporter.note(
        f"[bold]{result.finished} finished[/bold] ({result.complete} complete, "
        f"{result.pruned} pruned), {result.failed} failed"
    )
    if result.best_trial is None:
        reporter.note("no trial completed: no best.yaml")
    else:
        params = ", ".join(f"{k}={v}" for k, v in result.best_params.items())
        reporter.note(
            f"best trial {result.best_trial}: {result.metric} = {result.best_value:.4f}  "
            f"{escape(params)}"
        )
    reporter.note(f"trials: {result.trials_csv}; plots: {len(result.plots)} in {result.out_dir}")
    reporter.note(dashboard_line(spec.dashboard))


def dashboard_line(storage: str) -> str:
    """``dashboard: optuna-dashboard STORAGE``, saying how to install it where it is not."""
    import importlib.util

    line = f"dashboard: optuna-dashboard {escape(storage)}"
    if importlib.util.find_spec("optuna_dashboard") is None:
        line += " (install it first: pip install optuna-dashboard)"
    return line
