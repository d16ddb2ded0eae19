"""A small results directory for the export tests, written through ResultStore as a sweep writes it,
and a free port for the servers (TensorBoard, MLflow) those tests start on 127.0.0.1.

Two sweeps; a cell trained twice (two attempts); a diverged attempt whose last epoch has a NaN loss
and no accuracies; a failed attempt with no epochs; one attempt trained without a validation split.
"""

from __future__ import annotations

import math
import socket
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from helpers import make_row

from orchestrator.results import ResultStore
from orchestrator.trial import Budget, EpochRow

STARTED = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def _epochs(count: int, *, validation: bool = True, diverge: bool = False) -> tuple[EpochRow, ...]:
    rows = [EpochRow(epoch=e, train_loss=2.0 / e, val_acc=0.5 + e / 17 if validation else None,
                     test_acc=0.45 + e / 19, epoch_seconds=10.0 + e / 7, images_per_sec=900.0 + e, lr=0.1 / e)
            for e in range(1, count + 1)]
    if diverge:
        rows[-1] = EpochRow(epoch=count, train_loss=math.nan, val_acc=None, test_acc=None, epoch_seconds=9.5,
                            images_per_sec=1000.0, lr=0.05)
    return tuple(rows)


def _row(arch: str, dataset: str, seed: int, history: tuple[EpochRow, ...], status: str = "ok",
         sweep: str = "study", budget: Budget | None = None):
    last = history[-1] if history else None
    outcome = {"epochs_run": len(history), "started_at": STARTED,
               "ended_at": STARTED.replace(hour=13), "train_seconds": sum(e.epoch_seconds for e in history)}
    if status == "ok":
        outcome.update(val_acc=last.val_acc, best_val_acc=last.val_acc, best_epoch=last.epoch if last.val_acc else None,
                       params_total=61_706, images_per_sec=950.5, wall_seconds=42.25)
    row = make_row(arch, dataset, seed, status=status, acc=last.test_acc if last else None, sweep=sweep,
                   budget=budget or Budget(epochs=len(history) or 2), **outcome)
    return replace(row, outcome=replace(row.outcome, history=history))


def write_results(root: Path) -> ResultStore:
    """The results directory: six attempts of five cells in two sweeps."""
    store = ResultStore(root)
    for row in (_row("lenet5", "mnist", 0, _epochs(3)),
                _row("lenet5", "mnist", 0, _epochs(3)),          # the same cell again: attempt 2
                _row("vgg", "synthetic_mnist", 1, _epochs(2, diverge=True), status="diverged"),
                _row("resnet20v1", "mnist", 0, (), status="failed"),
                _row("lenet5", "fashion_mnist", 2, _epochs(2, validation=False), budget=Budget(epochs=2, val_split=0)),
                _row("squeezenet", "mnist", 0, _epochs(1), sweep="quick")):
        store.put_trial(row)
    return store


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
