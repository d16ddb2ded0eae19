"""What a running sweep shows: a live view on a terminal, plain lines elsewhere.

The driver's callback tells a view what happens (a trial started, sent a heartbeat, finished an
epoch, ended); the view decides what to show. ``LiveView`` (a terminal) redraws one line per running
trial with rich: cell, epoch n/N, a bar over the current epoch's steps, images/s, the trial's ETA and
its latest accuracy, under the counts and the sweep's elapsed time and ETA. ``LineView`` (CI, a log
file, ``ray job`` logs) prints one line per finished epoch and per finished trial, plus a heartbeat
line at most once a minute per trial. Nothing here is stored.

How often a trial sends its heartbeat is ``heartbeat_seconds()``: ``ARCHBENCH_HEARTBEAT_SECONDS``
where the trial runs (an environment variable, as it must reach the Ray workers), else
``train.PROGRESS_SECONDS``.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from orchestrator.train import PROGRESS_SECONDS
from orchestrator.trial import EpochRow, Progress

HEARTBEAT_LINE_SECONDS = 60.0
HEARTBEAT_SECONDS_VAR = "ARCHBENCH_HEARTBEAT_SECONDS"


def heartbeat_seconds() -> float:
    """Seconds between a running trial's heartbeats: $ARCHBENCH_HEARTBEAT_SECONDS, else ``PROGRESS_SECONDS``."""
    raw = os.environ.get(HEARTBEAT_SECONDS_VAR)
    if raw is None:
        return PROGRESS_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"{HEARTBEAT_SECONDS_VAR}={raw!r} is not a number of seconds more than 0")
    return seconds


@dataclass
class _Running:
    started: float                      # monotonic
    epoch: int = 0                      # the epoch being trained, 1-based; 0 before the first heartbeat
    epochs: int = 0
    step: int = 0
    steps: int = 0
    images_per_sec: float | None = None
    accuracy: str = ""                  # the latest validation (else test) accuracy, formatted

    @property
    def done(self) -> float:
        """The share of the trial's training done."""
        if not self.epochs:
            return 0.0
        return min(((self.epoch - 1) + (self.step / self.steps if self.steps else 0)) / self.epochs, 1.0)

    def eta(self, now: float) -> float | None:
        done = self.done
        return (now - self.started) * (1 - done) / done if done > 0 else None


class LineView:
    """The events of a sweep, shown as plain lines; ``LiveView`` shows them as a live table instead."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.console = Console(file=out or sys.stdout, soft_wrap=True, highlight=False)
        self.running: dict[str, _Running] = {}
        self.total = 0
        self.ended = 0
        self.failed = 0
        self.started_at = time.monotonic()
        self._last_heartbeat_line: dict[str, float] = {}

    def __reduce__(self) -> tuple:
        # Ray Tune pickles its callbacks (which hold a view) into its own state: a fresh view stands in.
        return (type(self), ())

    def start(self, total: int) -> None:
        self.total, self.ended, self.failed = total, 0, 0
        self.started_at = time.monotonic()

    def stop(self) -> None:
        """The sweep is over."""

    def note(self, line: str) -> None:
        """A line that is always shown: a retry, a failure's details, a row that could not be stored."""
        self.console.print(line)

    def trial_started(self, name: str) -> None:
        self.running[name] = _Running(started=time.monotonic())

    def heartbeat(self, name: str, progress: Progress) -> None:
        trial = self.running.setdefault(name, _Running(started=time.monotonic() - progress.seconds))
        trial.epoch, trial.epochs = progress.epoch, progress.epochs
        trial.step, trial.steps = progress.step, progress.steps
        trial.images_per_sec = progress.images_per_sec
        now = time.monotonic()
        if now - self._last_heartbeat_line.get(name, -HEARTBEAT_LINE_SECONDS) >= HEARTBEAT_LINE_SECONDS:
            self._last_heartbeat_line[name] = now
            self._heartbeat_line(name, trial, now)

    def epoch(self, name: str, row: EpochRow, epochs: int, best: float | None) -> None:
        trial = self.running.setdefault(name, _Running(started=time.monotonic()))
        trial.epoch, trial.epochs, trial.step = row.epoch + 1, epochs, 0
        trial.images_per_sec = row.images_per_sec or trial.images_per_sec
        trial.accuracy = _accuracy(row)
        self._epoch_line(name, row, epochs, best)

    def trial_ended(self, name: str, line: str, failed: bool) -> None:
        self.running.pop(name, None)
        self._last_heartbeat_line.pop(name, None)
        self.ended += 1
        self.failed += failed
        self.console.print(f"{line} | {self.counts()}")

    def counts(self) -> str:
        running = len(self.running)
        pending = max(self.total - self.ended - running, 0)
        return f"{pending} pending, {running} running, {self.ended} done ({self.failed} failed)"

    def sweep_eta(self, now: float) -> float | None:
        """Seconds left, from the share of all trials' training done so far."""
        if not self.total:
            return None
        done = (self.ended + sum(t.done for t in self.running.values())) / self.total
        return (now - self.started_at) * (1 - done) / done if done > 0 else None

    def _heartbeat_line(self, name: str, trial: _Running, now: float) -> None:
        self.console.print(f"{name}: epoch {trial.epoch}/{trial.epochs}, step {trial.step}/{trial.steps}, "
                           f"{_rate(trial.images_per_sec)}, ETA {_duration(trial.eta(now))} | {self.counts()}")

    def _epoch_line(self, name: str, row: EpochRow, epochs: int, best: float | None) -> None:
        self.console.print(f"{name}: epoch {row.epoch}/{epochs} loss {row.train_loss:.4f} {_accuracy(row) or 'acc nan'}"
                           f" (best {'nan' if best is None else f'{best:.4f}'}) | {self.counts()}")


class LiveView(LineView):
    """On a terminal: a table of the running trials, redrawn a few times a second, above the finished lines."""

    def __init__(self, out: TextIO | None = None) -> None:
        super().__init__(out)
        self._live = Live(console=self.console, get_renderable=self._render, refresh_per_second=4, transient=True)

    def start(self, total: int) -> None:
        super().start(total)
        self._live.start()

    def stop(self) -> None:
        self._live.stop()

    def refresh(self) -> None:
        """Redraw the table now, without waiting for the next of its regular redraws."""
        self._live.refresh()

    def _heartbeat_line(self, name: str, trial: _Running, now: float) -> None:
        """The live table shows every heartbeat."""

    def _epoch_line(self, name: str, row: EpochRow, epochs: int, best: float | None) -> None:
        """The live table shows the epoch; a line per finished trial is enough above it."""

    def _render(self) -> Group:
        now = time.monotonic()
        table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
        for column in ("trial", "epoch", "progress", "img/s", "ETA", "accuracy"):
            table.add_column(column, no_wrap=True, justify="left" if column in ("trial", "progress") else "right")
        for name, trial in sorted(self.running.items()):
            bar = ProgressBar(total=trial.steps or 1, completed=trial.step, width=24)
            epoch = f"{trial.epoch}/{trial.epochs}" if trial.epochs else "starting"
            table.add_row(name, epoch, bar, _rate(trial.images_per_sec, unit=""), _duration(trial.eta(now)),
                          trial.accuracy)
        footer = Text(f"{self.counts()} · elapsed {_duration(now - self.started_at)} · "
                      f"ETA {_duration(self.sweep_eta(now))}", style="dim")
        return Group(table, footer)


def make_view(out: TextIO | None = None) -> LineView:
    """A live view when ``out`` (default stdout) is a terminal, else plain lines."""
    stream = out or sys.stdout
    return LiveView(stream) if stream.isatty() else LineView(stream)


def _accuracy(row: EpochRow) -> str:
    if row.val_acc is not None:
        return f"val {row.val_acc:.4f}"
    return f"acc {row.test_acc:.4f}" if row.test_acc is not None else ""


def _rate(images_per_sec: float | None, unit: str = " img/s") -> str:
    return "" if images_per_sec is None else f"{images_per_sec:,.0f}{unit}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
