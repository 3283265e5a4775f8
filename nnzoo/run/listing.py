"""The runs under a folder, each summarised from its files: what ``nnzoo runs`` lists.

Reads JSON and YAML only (``status.json``, ``metrics.json``, ``config.yaml``) and the sizes of
the files, never a model: listing hundreds of runs imports neither Keras nor TensorFlow. A run
is a folder with a ``status.json``, or with a ``config.yaml`` beside a ``history.csv`` or
``metrics.json`` (``runs/<name>/<run-id>/``, and a study's ``tune/.../trials/<number>/``); the
search does not go below a run. A run whose files cannot be read is listed with the status
``unreadable`` and the reason, never an error.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from nnzoo.errors import NnzooError
from nnzoo.run.directory import (
    CHECKPOINTS,
    CONFIG_FILE,
    HISTORY_FILE,
    METRICS_FILE,
    STATUS_FILE,
    lock_holder,
    read_json,
    read_status,
)

#: The keys of every summary, in this order (``nnzoo runs --json``).
SUMMARY_KEYS = (
    "path",
    "name",
    "run_id",
    "model",
    "data",
    "status",
    "best_epoch",
    "epochs",
    "metric",
    "value",
    "metric_from",
    "test",
    "params",
    "wall_seconds",
    "size_bytes",
    "updated",
    "error",
)

#: The test metric a run is listed by: the first of these its ``metrics.json`` has
#: (classifiers: accuracy; regression: r2, then rmse; language models: perplexity).
HEADLINE_METRICS = ("accuracy", "r2", "rmse", "perplexity", "mae", "loss")
#: Test metrics where lower is better (sorted ascending); any other, descending.
LOWER_IS_BETTER = frozenset({"loss", "rmse", "mae", "mse", "perplexity"})
#: ``--sort`` keys other than a test metric's name, and whether each sorts descending.
SORT_KEYS = {
    "newest": True,
    "oldest": False,
    "name": False,
    "model": False,
    "data": False,
    "status": False,
    "best_epoch": False,
    "wall": True,
    "size": True,
}
_SORT_FIELDS = {"newest": "updated", "oldest": "updated", "wall": "wall_seconds",
                "size": "size_bytes"}  # fmt: skip
_SKIP = {CHECKPOINTS, "tensorboard", "__pycache__"}


def is_run_dir(path: str | Path) -> bool:
    """Whether ``path`` looks like a run directory (see the module docstring)."""
    path = Path(path)
    if (path / STATUS_FILE).is_file():
        return True
    return (path / CONFIG_FILE).is_file() and any(
        (path / name).is_file() for name in (HISTORY_FILE, METRICS_FILE)
    )


def find_runs(root: str | Path) -> list[Path]:
    """The run directories at or below ``root``, sorted by path; none below a run."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        names = set(files)
        if STATUS_FILE in names or (CONFIG_FILE in names and names & {HISTORY_FILE, METRICS_FILE}):
            found.append(Path(folder))
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP)
    return sorted(found)


def _size(path: Path) -> int:
    total = 0
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                total += _size(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                total += entry.stat(follow_symlinks=False).st_size
    return total


def headline(test: Mapping[str, Any]) -> tuple[str | None, float | None]:
    """The test metric a run is listed by and its value (see :data:`HEADLINE_METRICS`)."""
    for name in HEADLINE_METRICS:
        if isinstance(test.get(name), (int, float)):
            return name, float(test[name])
    return None, None


def _number(value: Any, kind: type) -> Any:
    """``value`` as ``kind`` if it is a finite number (not a bool), else ``None``: a field a
    hand-edited file got wrong must not break sorting."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return kind(value) if math.isfinite(value) else None


def read_yaml(path: Path) -> Any:
    """A YAML file, with libyaml's loader where installed (a resolved config: milliseconds)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as f:
        return yaml.load(f, Loader=loader)  # noqa: S506 - a safe loader


def _run_id(run_dir: Path, root: Path | None, name: str) -> str:
    """The path of ``run_dir`` below ``root``/``name``; without a ``root``, below its
    nearest parent named ``name`` (``runs/tiny/tune/trials/0003``: ``tune/trials/0003``)."""
    if root is None:
        for parent in run_dir.parents:
            if parent.name == name:
                return run_dir.relative_to(parent).as_posix()
        return run_dir.name
    try:
        parts = run_dir.relative_to(root).parts
    except ValueError:
        parts = ()
    if not parts:
        return run_dir.name
    if parts[0] == name and len(parts) > 1:
        parts = parts[1:]
    return "/".join(parts)


def summarize(run_dir: str | Path, root: str | Path | None = None) -> dict[str, Any]:
    """One run, as ``nnzoo runs`` lists it: a dict with the keys :data:`SUMMARY_KEYS`.

    ``status`` is the run's state (``running`` while a process holds its lock; a run marked
    ``running`` whose process is gone is ``interrupted``, as a resume sees it), or
    ``unreadable`` when its files cannot be read (``error`` says why). ``metric`` and
    ``value``: the headline test metric (:data:`HEADLINE_METRICS`); for a run without test
    metrics (a lean tuning trial), its ``train.monitor`` metric at the best epoch
    (``val_accuracy``), named as such; ``metric_from`` says which (``test``, ``best_epoch``).
    ``run_id`` is the path below ``root``/``name`` (without a ``root``: below the nearest
    parent named ``name``).
    """
    run_dir = Path(run_dir)
    summary: dict[str, Any] = dict.fromkeys(SUMMARY_KEYS)
    summary["path"] = str(run_dir)
    summary["name"] = run_dir.parent.name
    summary["test"] = {}
    try:
        summary["size_bytes"] = _size(run_dir)
        stamp = (run_dir / STATUS_FILE).stat().st_mtime if (run_dir / STATUS_FILE).is_file() \
            else run_dir.stat().st_mtime  # fmt: skip
        summary["updated"] = datetime.fromtimestamp(stamp).isoformat(timespec="seconds")
        status = read_status(run_dir)
        config = read_yaml(run_dir / CONFIG_FILE) if (run_dir / CONFIG_FILE).is_file() else None
        if not isinstance(config, dict):
            raise NnzooError(f"{run_dir / CONFIG_FILE}: missing or not a mapping")
        metrics = read_json(run_dir, METRICS_FILE, required=False) or {}
        if not isinstance(metrics, dict) or not isinstance(status, dict):
            raise NnzooError(f"{run_dir}: metrics.json or status.json is not an object")
        summary["name"] = str(config.get("name") or summary["name"])
        model, data = config.get("model") or {}, config.get("data") or {}
        summary["model"] = str(model["name"]) if model.get("name") is not None else None
        summary["data"] = str(data["source"]) if data.get("source") is not None else None
        state = status.get("state", "unknown")
        if state == "running" and lock_holder(run_dir) is None:
            state = "interrupted"  # its process is gone (killed, or the machine died)
        summary["status"] = state
        summary["updated"] = str(status.get("updated") or summary["updated"])
        best = metrics.get("best") or {}
        summary["best_epoch"] = _number(best.get("epoch"), int) or None
        summary["epochs"] = _number(metrics.get("epochs"), int)
        test = metrics.get("test") or {}
        # A diverged run's NaN is null, so that --json stays JSON that any reader parses.
        summary["test"] = {
            k: (float(v) if math.isfinite(v) else None)
            for k, v in test.items()
            if isinstance(v, (int, float))
        }
        summary["metric"], summary["value"] = headline(summary["test"])
        summary["metric_from"] = "test" if summary["metric"] else None
        monitor = (metrics.get("monitor") or {}).get("metric")
        if summary["metric"] is None and isinstance(best.get(monitor), (int, float)):
            # A lean tuning trial has no test metrics: its monitored value at the best epoch
            # (the one the study ranks it by) is listed instead, under its own name.
            summary["metric"], summary["value"] = monitor, float(best[monitor])
            summary["metric_from"] = "best_epoch"
        summary["params"] = _number(metrics.get("params"), int)
        summary["wall_seconds"] = _number(metrics.get("wall_seconds"), float)
    except yaml.YAMLError:
        summary["status"] = "unreadable"
        summary["error"] = f"{run_dir / CONFIG_FILE}: not valid YAML"
    except (NnzooError, OSError, ValueError, TypeError, AttributeError) as err:
        summary["status"] = "unreadable"
        summary["error"] = " ".join(str(err).split()) or type(err).__name__
    summary["run_id"] = _run_id(run_dir, Path(root) if root is not None else None, summary["name"])
    return summary


def list_runs(root: str | Path = "runs", *, sort: str = "newest") -> list[dict[str, Any]]:
    """Every run at or below ``root``, summarised (:func:`summarize`), sorted by ``sort``.

    Args:
        root: the folder to search. Defaults to ``"runs"``.
        sort: ``newest`` (the default), ``oldest``, ``name``, ``model``, ``data``,
            ``status``, ``best_epoch``, ``wall`` (longest first), ``size`` (largest first),
            or a test metric's name (best first: ascending for a loss or error, descending
            otherwise). Runs without the key come last.
    """
    root = Path(root)
    if not root.is_dir():
        raise NnzooError(
            f"{root}: no such folder, so there are no runs to list. Fix: train one (nnzoo "
            "train CONFIG), or give the folder your runs are in (nnzoo runs DIR)"
        )
    runs = [summarize(path, root) for path in find_runs(root)]
    return sort_runs(runs, sort)


def sort_runs(runs: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    """``runs`` sorted by ``sort`` (see :func:`list_runs`); an unknown key is refused."""
    metrics = {k for run in runs for k in run["test"]}
    if sort in SORT_KEYS:
        field, descending = _SORT_FIELDS.get(sort, sort), SORT_KEYS[sort]

        def value(run: dict[str, Any]) -> Any:
            return run[field]

    elif sort in metrics or sort in HEADLINE_METRICS:
        descending = sort not in LOWER_IS_BETTER

        def value(run: dict[str, Any]) -> Any:
            return run["test"].get(sort)

    else:
        known = ", ".join([*SORT_KEYS, *sorted(metrics)])
        raise NnzooError(
            f"--sort: no run has a key or test metric named {sort!r}. Fix: sort by one of {known}"
        )
    have = [run for run in runs if value(run) is not None]
    lack = [run for run in runs if value(run) is None]
    return [*sorted(have, key=value, reverse=descending), *lack]
