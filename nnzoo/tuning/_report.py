"""One line per finished trial on stderr: its number, how many of the study's trials are now
finished (``3/20``), its state, value, the best value so far, duration and parameters."""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import TrialState
from rich.console import Console
from rich.markup import escape

from nnzoo.tuning._settings import ATTR_FAIL_REASON, ATTR_SURPLUS


def _short_names(keys: list[str]) -> dict[str, str]:
    """``train.optimizer.learning_rate`` -> ``learning_rate`` where that is unambiguous."""
    last = [k.rsplit(".", 1)[-1] for k in keys]
    return {k: (s if last.count(s) == 1 else k) for k, s in zip(keys, last)}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class TrialReporter:
    """Prints each trial once, when it reaches COMPLETE, PRUNED or FAIL.

    Args:
        metric: the tuned metric (the value column's title).
        quiet: print nothing.
        trials: the finished trials the study is to reach (the ``N`` of ``n/N``).
        direction: ``minimize`` or ``maximize``, for the best value so far.
    """

    def __init__(
        self,
        metric: str,
        *,
        quiet: bool = False,
        trials: int | None = None,
        direction: str = "maximize",
    ) -> None:
        self.metric = metric
        self.quiet = quiet
        self.trials = trials
        self.direction = direction
        self.finished = 0  # complete or pruned trials of the study, printed or before
        self.best: float | None = None
        self.seen: set[int] = set()
        self._header = False
        self._console: Console | None = None

    def _print(self, text: str) -> None:
        if self.quiet:
            return
        if self._console is None:
            self._console = Console(stderr=True, highlight=False, soft_wrap=True)
        self._console.print(text)

    def note(self, text: str) -> None:
        self._print(text)

    def skip_existing(self, study: optuna.Study) -> None:
        """Do not print trials finished before this command started (a resumed study)."""
        for t in study.get_trials(deepcopy=False):
            if t.state.is_finished() and t.number not in self.seen:
                self.seen.add(t.number)
                self._count(t)

    def _count(self, trial: optuna.trial.FrozenTrial) -> None:
        if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
            self.finished += 1
        if trial.state == TrialState.COMPLETE and trial.value is not None:
            better = max if self.direction == "maximize" else min
            self.best = trial.value if self.best is None else better(self.best, trial.value)

    def update(self, study: optuna.Study) -> None:
        colours = {
            TrialState.COMPLETE: "green",
            TrialState.PRUNED: "yellow",
            TrialState.FAIL: "red",
        }
        for trial in study.get_trials(deepcopy=False):
            if trial.number in self.seen or not trial.state.is_finished():
                continue
            self.seen.add(trial.number)
            reason = trial.user_attrs.get(ATTR_FAIL_REASON)
            if trial.state == TrialState.FAIL and reason is None:
                if trial.system_attrs.get(ATTR_SURPLUS):
                    continue
                reason = "its worker died; queued again"
            self._count(trial)
            if not self._header:
                self._header = True
                self._print(
                    f"[bold]{'trial':>5}  {'done':>7}  {'state':<8}  {self.metric:>12}  "
                    f"{'best':>8}  {'time':>7}  params"
                )
            names = _short_names(list(trial.params))
            params = escape("  ".join(f"{names[k]}={_fmt(v)}" for k, v in trial.params.items()))
            value = "-" if trial.value is None else f"{trial.value:.4f}"
            seconds = trial.duration.total_seconds() if trial.duration else 0.0
            state = trial.state.name
            done = f"{self.finished}/{self.trials}" if self.trials else str(self.finished)
            best = "-" if self.best is None else f"{self.best:.4f}"
            extra = f"  [dim]({escape(reason)})[/dim]" if reason else ""
            colour = colours.get(trial.state, "white")
            self._print(
                f"{trial.number:>5}  {done:>7}  [{colour}]{state:<8}[/{colour}]  {value:>12}  "
                f"{best:>8}  {seconds:>6.1f}s  {params}{extra}"
            )
