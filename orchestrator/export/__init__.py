"""The results, every attempt on record, as runs for the trackers researchers already use.

``attempts`` reads the result store into one ``ExportedAttempt`` per stored attempt (not only the
one the tables choose): its key, the setup it trained with, its epochs and its final metrics. The
exporters (``tensorboard``, ``mlflow``) turn those into runs named by ``run_name``, so that a run
in either tool is found by the same name; their dependencies are optional extras, imported only
by the command that needs them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from orchestrator.errors import ArchbenchError
from orchestrator.results import ATTEMPT_KEY, TRIAL_COLUMNS, ResultStore
from orchestrator.trial import EpochRow

# The setup an attempt trained with: each column the trials table declares in the "setup" group.
SETUP_COLUMNS = tuple(c.name for c in TRIAL_COLUMNS if c.group == "setup")
# Per-epoch metrics, named as their history columns; step = epoch.
EPOCH_METRICS = ("train_loss", "val_acc", "test_acc", "lr", "epoch_seconds")
# The attempt's own numbers, from its trials row, logged once as FINAL_PREFIX + name.
FINAL_METRICS = ("test_acc", "val_acc", "best_val_acc", "best_epoch", "epochs_run", "train_seconds", "wall_seconds",
                 "images_per_sec", "params_total")
FINAL_PREFIX = "final/"


class ExportError(ArchbenchError):
    """The export cannot be made as asked: the message is one line meant for the user."""


@dataclass(frozen=True)
class ExportedAttempt:
    """One stored attempt of a cell, as the exporters write it."""

    sweep: str
    arch: str
    dataset: str
    seed: int
    attempt: int
    status: str
    error: str | None
    setup: dict[str, bool | int | float | str]     # SETUP_COLUMNS the row recorded (an older schema has fewer)
    final: dict[str, float]                        # FINAL_METRICS the row has a value for
    epochs: tuple[EpochRow, ...]
    started_at: datetime | None
    ended_at: datetime | None

    @property
    def run_name(self) -> str:
        """``sweep/arch/dataset/seed-N``, with ``-attempt-K`` from a cell's second attempt on."""
        suffix = f"-attempt-{self.attempt}" if self.attempt > 1 else ""
        return f"{self.sweep}/{self.arch}/{self.dataset}/seed-{self.seed}{suffix}"

    def epoch_metrics(self, epoch: EpochRow) -> dict[str, float]:
        """EPOCH_METRICS of ``epoch`` that were measured (no validation split, or after a divergence, has none)."""
        values = {name: getattr(epoch, name) for name in EPOCH_METRICS}
        return {name: float(value) for name, value in values.items() if value is not None}

    def epoch_times(self) -> list[datetime | None]:
        """When each epoch's training ended, as far as the row tells: its start plus the epochs' training seconds."""
        if self.started_at is None:
            return [None] * len(self.epochs)
        elapsed, times = 0.0, []
        for epoch in self.epochs:
            elapsed += epoch.epoch_seconds if _number(epoch.epoch_seconds) else 0.0
            times.append(self.started_at + timedelta(seconds=elapsed))
        return times


def attempts(store: ResultStore, sweep: str | None = None) -> list[ExportedAttempt]:
    """Every attempt stored in ``store`` (of ``sweep`` only, when given), in key order, with its epochs.

    Raises ExportError when the store holds no trial or no sweep of that name, and ResultsError when it
    cannot be read.
    """
    sweeps = sorted(set(store.trials()["sweep"])) if store.has_results() else []
    if not sweeps:
        raise ExportError(f"no results in {store.root}: no trial is stored there (run `archbench sweep` first)")
    if sweep is not None and sweep not in sweeps:
        raise ExportError(f"unknown sweep {sweep!r} in {store.root}; valid: {', '.join(sweeps)}")
    history = _epochs_by_attempt(store)
    found = []
    for name in [sweep] if sweep is not None else sweeps:
        for row in store.trial_records(name):
            key = tuple(row[c] for c in ATTEMPT_KEY)
            found.append(ExportedAttempt(
                sweep=row["sweep"], arch=row["arch"], dataset=row["dataset"], seed=row["seed"],
                attempt=row["attempt"], status=row["status"], error=row["error"],
                setup={c: row[c] for c in SETUP_COLUMNS if row.get(c) is not None},
                final={m: float(row[m]) for m in FINAL_METRICS if _number(row.get(m))},
                epochs=tuple(sorted(history.get(key, ()), key=lambda e: e.epoch)),
                started_at=row["started_at"], ended_at=row["ended_at"]))
    return sorted(found, key=lambda a: (a.sweep, a.arch, a.dataset, a.seed, a.attempt))


def _epochs_by_attempt(store: ResultStore) -> dict[tuple[object, ...], list[EpochRow]]:
    frame = store.history()
    by_attempt: dict[tuple[object, ...], list[EpochRow]] = {}
    for record in frame.to_dict("records"):
        key = tuple(_plain(record[c]) for c in ATTEMPT_KEY)
        by_attempt.setdefault(key, []).append(EpochRow(
            epoch=int(record["epoch"]), train_loss=float(record["train_loss"]),
            # pandas reads a null as NaN; an accuracy is null where it was not measured, never NaN.
            val_acc=_measured(record["val_acc"]), test_acc=_measured(record["test_acc"]),
            epoch_seconds=float(record["epoch_seconds"]), images_per_sec=_measured(record["images_per_sec"]),
            lr=float(record["lr"])))
    return by_attempt


def _plain(value: object) -> object:
    """A numpy scalar from pandas as the Python value the trials records hold."""
    return value.item() if hasattr(value, "item") else value


def _measured(value: object) -> float | None:
    return float(value) if _number(value) else None


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)
