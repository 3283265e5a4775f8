"""What a run prints while it trains: a live bar on a terminal, one line per epoch otherwise.

On a terminal, each epoch has a bar (``epoch 3/20``, steps done of the epoch's steps, time
left, the running loss and monitored metric, examples per second), redrawn at most
:data:`REFRESH_SECONDS` apart, and ends with its epoch line above the bar. When the output is
not a terminal (a pipe, a file, a CI log) the epoch lines are printed, one per epoch::

    epoch 3/20  loss 0.4123  accuracy 0.8812  val_loss 0.4523  val_accuracy 0.8611  2.1 s

and, so that a long epoch is not silent, a plain step line at most every
:data:`PLAIN_SECONDS` within an epoch (the run's time left at this epoch's pace)::

    epoch 1/4  step 120/500  loss 2.3456  1,234 ex/s  3m 05s left

Epochs are counted from 1, as ``history.csv`` and the summary count them.
"""

from __future__ import annotations

import time
from typing import Any

import keras
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

#: The bar is redrawn at most this often (seconds): reading the logs and drawing cost nothing
#: measurable at this rate, whatever the number of steps.
REFRESH_SECONDS = 0.25

#: Without a terminal, a step line is printed at most this often (seconds) within an epoch.
PLAIN_SECONDS = 30.0


def format_value(value: float) -> str:
    """A logged value as the epoch line shows it: 4 decimals, or 4 significant digits when
    that would show nothing (a tiny learning rate, a huge loss)."""
    value = float(value)
    text = f"{value:.4f}"
    return f"{value:.4g}" if text in ("0.0000", "-0.0000") or abs(value) >= 1e6 else text


def logged_names(logs: dict[str, Any]) -> list[str]:
    """The names an epoch line shows, in order: ``loss`` and the training metrics, then their
    validation values (``learning_rate`` is in ``history.csv``)."""
    train = [k for k in logs if not k.startswith("val_") and k != "learning_rate"]
    train.sort(key=lambda k: k != "loss")
    val = [k for k in logs if k.startswith("val_")]
    val.sort(key=lambda k: k != "val_loss")
    return train + val


def epoch_line(epoch: int, epochs: int, logs: dict[str, Any], seconds: float) -> str:
    """``epoch 3/20  loss 0.4123  ...  2.1 s`` for the 1-based ``epoch`` of ``epochs``."""
    values = "  ".join(f"{k} {format_value(logs[k])}" for k in logged_names(logs))
    return f"epoch {epoch}/{epochs}  {values}  {seconds:.1f} s"


class EpochLines(keras.callbacks.Callback):
    """One line per epoch (see :func:`epoch_line`) on ``console``.

    Args:
        epochs: the run's number of epochs.
        console: where to print. Defaults to a rich console on standard output.
    """

    def __init__(self, *, epochs: int, console: Console | None = None) -> None:
        super().__init__()
        self.epochs = epochs
        self.console = console or Console(highlight=False, soft_wrap=True)
        self._epoch_started = time.monotonic()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch_started = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        seconds = time.monotonic() - self._epoch_started
        self.console.print(epoch_line(epoch + 1, self.epochs, logs or {}, seconds), markup=False)


def duration(seconds: float) -> str:
    """``45s``, ``3m 05s`` or ``2h 01m`` for a time left."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


class PlainLines(EpochLines):
    """The epoch lines, and a plain step line at most every :data:`PLAIN_SECONDS` within an
    epoch (for a pipe, a file, a CI log)::

        epoch 1/4  step 120/500  loss 2.3456  1,234 ex/s  3m 05s left

    The time left is the rest of the run (this epoch's steps and the later epochs') at this
    epoch's pace. Between two lines a step costs one clock reading.

    Args:
        epochs: the run's number of epochs.
        steps: training steps per epoch.
        batch_size: examples per step (for examples per second).
        console: where to print. Defaults to standard output.
        every: seconds between step lines. Defaults to :data:`PLAIN_SECONDS`.
    """

    async_safe = True

    def __init__(
        self,
        *,
        epochs: int,
        steps: int,
        batch_size: int,
        console: Console | None = None,
        every: float = PLAIN_SECONDS,
    ) -> None:
        super().__init__(epochs=epochs, console=console)
        self.steps = steps
        self.batch_size = batch_size
        self.every = every
        self._epoch = 0
        self._last_line = self._epoch_started

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        super().on_epoch_begin(epoch, logs)
        self._epoch = epoch
        self._last_line = self._epoch_started

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        now = time.monotonic()
        if now - self._last_line < self.every:
            return
        self._last_line = now
        self.console.print(self.step_line(batch + 1, logs or {}, now), markup=False)

    def step_line(self, done: int, logs: dict[str, Any], now: float) -> str:
        """``epoch 1/4  step 120/500  loss 2.3456  1,234 ex/s  3m 05s left``."""
        parts = [f"epoch {self._epoch + 1}/{self.epochs}", f"step {done}/{self.steps}"]
        if "loss" in logs:
            parts.append(f"loss {format_value(logs['loss'])}")
        seconds = now - self._epoch_started
        if seconds > 0:
            parts.append(f"{done * self.batch_size / seconds:,.0f} ex/s")
            left_steps = max(0, self.steps - done) + self.steps * (self.epochs - self._epoch - 1)
            parts.append(f"{duration(left_steps * seconds / done)} left")
        return "  ".join(parts)


class LiveProgress(EpochLines):
    """A live bar over each epoch's steps, and the epoch lines above it (for a terminal).

    The bar is drawn at the start of an epoch and of its validation, and from
    :meth:`on_train_batch_end` at most every :data:`REFRESH_SECONDS`; between two draws a step
    costs one clock reading. The epoch lines print above the bar, which goes at the end. Keras
    may call the batch hooks from a thread of its own (``async_safe``): rich's progress is
    thread-safe.

    Args:
        epochs: the run's number of epochs.
        steps: training steps per epoch.
        batch_size: examples per step (for examples per second).
        monitor: ``train.monitor.metric``; its running training value is shown beside the loss
            (the validation value comes at the end of the epoch).
        console: a terminal console. Defaults to standard output.
    """

    async_safe = True

    def __init__(
        self,
        *,
        epochs: int,
        steps: int,
        batch_size: int,
        monitor: str = "val_loss",
        console: Console | None = None,
    ) -> None:
        super().__init__(epochs=epochs, console=console)
        self.steps = steps
        self.batch_size = batch_size
        running = monitor.removeprefix("val_")
        self.shown = ["loss"] if running == "loss" else ["loss", running]
        self.refreshes = 0  # bars drawn (tests count them)
        self._progress: Progress | None = None
        self._task: Any = None
        self._last_draw = 0.0
        self._stats = ""

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[stats]}"),
            console=self.console,
            auto_refresh=False,  # drawn from the batch hook only, throttled
            transient=True,
        )
        self._task = self._progress.add_task("", total=self.steps, stats="")
        self._progress.start()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        super().on_epoch_begin(epoch, logs)
        if self._progress is None:
            return
        self._stats = ""
        self._progress.reset(
            self._task, total=self.steps, description=f"epoch {epoch + 1}/{self.epochs}", stats=""
        )
        self._draw()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        now = time.monotonic()
        if self._progress is None or now - self._last_draw < REFRESH_SECONDS:
            return
        logs = logs or {}
        done = batch + 1
        stats = [f"{k} {format_value(logs[k])}" for k in self.shown if k in logs]
        seconds = now - self._epoch_started
        if seconds > 0:
            stats.append(f"{done * self.batch_size / seconds:,.0f} ex/s")
        self._stats = "  ".join(stats)
        self._progress.update(self._task, completed=done, stats=self._stats)
        self._draw(now)

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self._progress is not None:  # the epoch's steps are done: validation runs
            stats = f"{self._stats}  validating" if self._stats else "validating"
            self._progress.update(self._task, completed=self.steps, stats=stats)
            self._draw()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _draw(self, now: float | None = None) -> None:
        if self._progress is None:
            return
        self._progress.refresh()
        self.refreshes += 1
        self._last_draw = time.monotonic() if now is None else now


def progress_callback(
    *,
    quiet: bool,
    epochs: int,
    steps: int,
    batch_size: int,
    monitor: str,
    console: Console | None = None,
) -> keras.callbacks.Callback | None:
    """The progress a run prints: nothing when ``quiet``, :class:`LiveProgress` on a terminal,
    :class:`PlainLines` otherwise."""
    if quiet:
        return None
    console = console or Console(highlight=False, soft_wrap=True)
    if console.is_terminal:
        return LiveProgress(
            epochs=epochs, steps=steps, batch_size=batch_size, monitor=monitor, console=console
        )
    return PlainLines(epochs=epochs, steps=steps, batch_size=batch_size, console=console)
