"""Settings from ``tune:`` and flags, what :func:`tune` returns, and the keys of a stored study.

No Optuna here: the settings cross into worker processes as plain values, and
``nnzoo.tuning.TuneResult`` loads without Optuna.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from nnzoo.config import Config
from nnzoo.config.schema import MonitorConfig
from nnzoo.errors import ConfigError, NnzooError

# The attributes nnzoo writes into a study. They are part of the stored format (a study is
# resumed by later versions) and trial user attrs are columns of trials.csv: never rename one.
# Trial user attrs:
ATTR_BASELINE = "baseline"  # the enqueued first trial: the config's own values
ATTR_RUN_DIR = "run_dir"  # the trial's run directory
ATTR_EPOCHS = "epochs"  # epochs the trial trained
ATTR_FAIL_REASON = "fail_reason"  # one line on why nnzoo failed the trial
# Trial system attrs:
ATTR_SURPLUS = "nnzoo:surplus"  # failed unrun: N trials were finished or running already
ATTR_HOST = "nnzoo:host"  # the host and process running the trial, to find dead ones
ATTR_PID = "nnzoo:pid"
ATTR_PID_START = "nnzoo:pid_start"  # the process's start time, to tell a reused pid apart
ATTR_STALE = "nnzoo:stale"  # failed because its process died
ATTR_ARTIFACTS = "nnzoo:artifacts"  # a lean trial that led the study wrote model.keras etc.
# Study user attrs:
STUDY_ATTR_CONFIG = "nnzoo:config"  # the config's name
STUDY_ATTR_METRIC = "nnzoo:metric"
STUDY_ATTR_SPACE = "nnzoo:space"  # tune.space as written when the study was created

# A study name is a folder under runs/<name>/tune/: the rule of the config's own `name`.
STUDY_NAME = re.compile(
    next(m.pattern for m in Config.model_fields["name"].metadata if getattr(m, "pattern", None))
)


class TuningEnvironmentError(NnzooError):
    """The machine failed the study, not the user's input: the storage went away, or every
    worker process died. Exit code 1; rerunning the same command resumes the study."""

    exit_code = 1


@dataclass
class Settings:
    """Everything a worker needs besides the config (plain values: they cross processes)."""

    trials: int
    storage: str | None
    study: str
    workers: int
    timeout: float | None
    max_failures: int
    metric: str
    direction: str
    runs_dir: str
    out_dir: str
    tune_dir: str
    heartbeat: float = 60.0
    keep_artifacts: bool = False
    session_start: str = field(default_factory=lambda: datetime.now().isoformat())

    @property
    def path(self) -> Path:
        return Path(self.out_dir)


@dataclass
class TuneResult:
    """What :func:`tune` returns."""

    study_name: str
    storage: str  # printable: passwords masked
    metric: str
    direction: str
    best_value: float | None
    best_params: dict[str, Any]
    best_trial: int | None
    best_config: Path | None
    out_dir: Path
    complete: int
    pruned: int
    failed: int
    trials_csv: Path | None = None
    plots: list[Path] = field(default_factory=list)
    best_run: Path | None = None  # the best trial's run directory (model.keras, metrics.json)

    @property
    def finished(self) -> int:
        return self.complete + self.pruned


def resolve_settings(
    config: Config,
    *,
    trials: int | None,
    storage: str | None,
    study: str | None,
    workers: int | None,
    timeout: float | None,
    max_failures: int | None,
    runs_dir: str | Path,
    heartbeat: float,
    keep_artifacts: bool = False,
) -> Settings:
    """Arguments (``None``: not given) override ``config.tune``; see :func:`tune`."""
    t = config.tune
    file = config.source_file
    if not t.space:
        raise ConfigError(
            "is empty: there is nothing to tune",
            file=file,
            key="tune.space",
            fix="add dotted keys, e.g. `train.optimizer.learning_rate: "
            "{float: [1.0e-5, 1.0e-1], log: true}`",
        )
    metric = t.metric or config.train.monitor.metric
    if not metric.startswith("val_"):
        raise ConfigError(
            f"trials are compared on validation data; received {metric!r}",
            file=file,
            key="tune.metric" if t.metric else "train.monitor.metric",
            fix=f"use 'val_{metric}'",
        )
    if config.data.validation_split <= 0 and not config.data.validation_source:
        raise ConfigError(
            "tuning needs validation data; received data.validation_split=0",
            file=file,
            key="data.validation_split",
            fix="set it to e.g. 0.1, or set data.validation_source",
        )
    direction = t.direction
    if direction == "auto":
        mode = MonitorConfig(metric=metric, mode="auto").resolved_mode
        direction = "maximize" if mode == "max" else "minimize"
    n = trials if trials is not None else t.trials
    k = workers if workers is not None else t.workers
    for name, value in (("--trials", n), ("--workers", k)):
        if value < 1:
            raise NnzooError(f"{name} must be at least 1; received {value}")
    # `--study ''` is a name given (and refused below), not the default.
    name = next(n for n in (study, t.study, config.name) if n is not None)
    if not STUDY_NAME.fullmatch(name):
        raise NnzooError(
            "--study: a study name is a folder name under --runs-dir (letters, digits, '_', "
            f"'.', '-', starting with a letter or digit); received {name!r}. Fix: e.g. "
            f"--study {config.name}_2"
        )
    tune_dir = Path(runs_dir) / config.name / "tune"
    out_dir = tune_dir if name == config.name else tune_dir / name
    failures = max_failures if max_failures is not None else (t.max_failures or n)
    return Settings(
        trials=n,
        storage=storage if storage is not None else t.storage,
        study=name,
        workers=k,
        timeout=timeout if timeout is not None else t.timeout,
        max_failures=failures,
        metric=metric,
        direction=direction,
        runs_dir=str(runs_dir),
        out_dir=str(out_dir),
        tune_dir=str(tune_dir),
        heartbeat=heartbeat,
        keep_artifacts=keep_artifacts,
    )
