"""What a run prints while it trains: the run directory first, a live bar on a terminal
(refreshed within the first epoch, at most every 0.25 s), one line per epoch otherwise, and
nothing with -q; Ctrl-C names the resume command."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from nnzoo.cli import cli
from nnzoo.training import progress
from nnzoo.training.progress import (
    LiveProgress,
    PlainLines,
    duration,
    epoch_line,
    progress_callback,
)

TINY = ["--set", "model.params.hidden_units=[8]", "--set", "train.schedule.name=constant"]
EPOCH_LINE = re.compile(
    r"epoch (\d+)/2  loss \d+\.\d{4}  accuracy \d\.\d{4}  val_loss \d+\.\d{4}  "
    r"val_accuracy \d\.\d{4}  \d+\.\d s"
)


def test_an_epoch_line_counts_from_1_and_orders_loss_first():
    logs = {
        "accuracy": 0.88123,
        "loss": 0.41234,
        "learning_rate": 0.001,
        "val_accuracy": 0.86111,
        "val_loss": 0.45234,
    }
    assert epoch_line(3, 20, logs, 2.14) == (
        "epoch 3/20  loss 0.4123  accuracy 0.8812  val_loss 0.4523  val_accuracy 0.8611  2.1 s"
    )
    assert epoch_line(1, 1, {"loss": 1.5e-7}, 0.04) == "epoch 1/1  loss 1.5e-07  0.0 s"


def test_piped_output_is_the_run_then_one_line_per_epoch(tmp_path):
    args = ["train", "configs/quickstart.yaml", "--epochs", "2", "--runs-dir", str(tmp_path)]
    result = CliRunner().invoke(cli, [*args, *TINY])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    run_dir = next((tmp_path / "quickstart").iterdir())
    assert lines[0] == f"run: {run_dir}"
    assert (
        lines[1] == "data: classification, 10 classes (0, 1, 2, 3, 4, 5, 6, 7, ...); features 64"
    )
    assert lines[2] == "split: train 1,293 / validation 144 / test 360"
    epochs = [m.group(1) for m in map(EPOCH_LINE.fullmatch, lines) if m]
    assert epochs == ["1", "2"]
    assert lines[3:5] == [line for line in lines if EPOCH_LINE.fullmatch(line)]
    assert not any(line.startswith("Epoch ") for line in lines)  # Keras's own progress is off


def test_quiet_prints_no_progress_only_the_summary(tmp_path):
    args = ["train", "configs/quickstart.yaml", "--epochs", "2", "--runs-dir", str(tmp_path)]
    result = CliRunner().invoke(cli, [*args, *TINY, "-q"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].strip() == "test metrics"
    assert not [line for line in result.output.splitlines() if line.startswith("epoch ")]
    assert progress_callback(quiet=True, epochs=2, steps=3, batch_size=4, monitor="loss") is None


def test_ctrl_c_after_the_run_directory_exists_names_the_resume_command(tmp_path, monkeypatch):
    def interrupted(config, *, quiet, on_run_dir, **kwargs):
        on_run_dir(tmp_path / "runs" / "quickstart" / "20260101-000000")
        raise KeyboardInterrupt

    monkeypatch.setattr("nnzoo.training.train", interrupted)
    result = CliRunner().invoke(cli, ["train", "configs/quickstart.yaml"])
    assert result.exit_code == 130
    run_dir = tmp_path / "runs" / "quickstart" / "20260101-000000"
    assert result.output == (
        f"run: {run_dir}\nnnzoo: interrupted — resume with: nnzoo train --resume {run_dir}\n"
    )


class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def _live(monkeypatch, steps=40):
    clock = _Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    callback = progress_callback(
        quiet=False, epochs=3, steps=steps, batch_size=32, monitor="val_accuracy", console=console
    )
    assert isinstance(callback, LiveProgress)
    return callback, clock, out


def test_the_bar_is_redrawn_at_most_every_quarter_second(monkeypatch):
    callback, clock, out = _live(monkeypatch)
    callback.on_train_begin()
    callback.on_epoch_begin(0)
    for step in range(40):  # 1/16 s a step: 2.5 s in all
        clock.now += 0.0625
        callback.on_train_batch_end(step, {"loss": 0.5, "accuracy": 0.75})
    # The draw at the epoch's start, then one every 4 steps (0.25 s).
    assert callback.refreshes == 1 + 10
    text = out.getvalue()
    assert "epoch 1/3" in text
    assert "20/40" in text and "40/40" in text
    assert "loss 0.5000  accuracy 0.7500  512 ex/s" in text
    callback.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.75, "val_accuracy": 0.7})
    callback.on_train_end()
    assert "epoch 1/3  loss 0.5000  accuracy 0.7500  val_accuracy 0.7000  2.5 s" in out.getvalue()


def test_a_step_between_draws_costs_one_clock_reading(monkeypatch):
    callback, clock, _ = _live(monkeypatch, steps=100_000)
    callback.on_train_begin()
    callback.on_epoch_begin(0)
    for step in range(100_000):  # all within 0.25 s of the last draw
        callback.on_train_batch_end(step, {"loss": 0.5})
    assert callback.refreshes == 1
    callback.on_train_end()


@pytest.mark.slow
def test_in_a_terminal_the_bar_moves_within_the_first_epoch(tmp_path):
    """A real terminal (a pseudo-terminal): a 1-epoch run of ~1,300 steps of one example, on a
    model wide enough that the epoch lasts several redraw intervals on a fast, idle machine (324
    steps of [8] hidden units ran in 0.2 s after the first step, leaving no mid-epoch draw)."""
    cmd = [sys.executable, "-m", "nnzoo.cli", "train", "configs/quickstart.yaml", "--epochs", "1"]
    cmd += ["--runs-dir", str(tmp_path), "--set", "data.batch_size=1", *TINY]
    cmd += ["--set", "model.params.hidden_units=[512,512]"]
    pid, fd = pty.fork()
    if pid == 0:  # the child: its stdout is the terminal
        os.chdir(Path(__file__).resolve().parents[2])
        os.execv(cmd[0], cmd)
    output = b""
    while select.select([fd], [], [], 300)[0]:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    text = output.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text[-2000:]
    drawn = {(int(n), int(total)) for n, total in re.findall(r"epoch 1/1 .*?(\d+)/(\d+)", text)}
    (total,) = {total for _, total in drawn}  # one epoch: one number of steps (~1,296)
    assert total > 1000, text[-2000:]
    assert len([n for n, _ in drawn if 0 < n < total]) >= 2, text[-2000:]  # redrawn mid-epoch
    assert re.search(r"epoch 1/1  loss \d\.\d{4}  accuracy \d\.\d{4}  val_loss", text)
    assert text.index("run: ") < text.index("epoch 1/1")


def _plain(monkeypatch, *, epochs=2, steps=1000):
    clock = _Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200, color_system=None)
    callback = progress_callback(
        quiet=False, epochs=epochs, steps=steps, batch_size=8, monitor="val_loss", console=console
    )
    assert isinstance(callback, PlainLines)
    return callback, clock, out


def test_piped_a_long_epoch_prints_a_step_line_at_most_every_30_seconds(monkeypatch):
    """Issue 27, item 11: gpt_nano printed nothing for 151 s when piped."""
    callback, clock, out = _plain(monkeypatch)
    callback.on_train_begin()
    callback.on_epoch_begin(0)
    for step in range(1000):  # 1/8 s a step: 125 s for the epoch
        clock.now += 0.125
        callback.on_train_batch_end(step, {"loss": 2.5 - step / 1000})
    lines = out.getvalue().splitlines()
    assert lines == [
        "epoch 1/2  step 240/1000  loss 2.2610  64 ex/s  3m 40s left",
        "epoch 1/2  step 480/1000  loss 2.0210  64 ex/s  3m 10s left",
        "epoch 1/2  step 720/1000  loss 1.7810  64 ex/s  2m 40s left",
        "epoch 1/2  step 960/1000  loss 1.5410  64 ex/s  2m 10s left",
    ]
    callback.on_epoch_end(0, {"loss": 1.5})
    callback.on_epoch_begin(1)  # the clock restarts with the epoch: no line at its first step
    clock.now += 0.125
    callback.on_train_batch_end(0, {"loss": 1.5})
    assert out.getvalue().splitlines()[4:] == ["epoch 1/2  loss 1.5000  125.0 s"]


def test_a_time_left_reads_in_seconds_minutes_or_hours():
    assert [duration(s) for s in (4.6, 185, 7260)] == ["5s", "3m 05s", "2h 01m"]
