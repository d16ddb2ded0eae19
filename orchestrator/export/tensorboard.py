"""Attempts as TensorBoard runs: one directory of event files per attempt, under its ``run_name``.

Each run holds the per-epoch metrics (step = epoch), the final metrics as ``final/...`` at the last
epoch, and the hparams plugin's session start: sweep, architecture, dataset, seed, attempt, status
and the setup, so that the HParams view lists one row per attempt with its metrics. Scalars are
float32 tensors: TensorBoard's data server shows no float64 ones. Every run is written into a staging
directory inside the target and then takes the place of the run of the same name, so a re-export
replaces runs, never adds a second copy, and an export that fails leaves the runs it did not reach
as they were.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from tensorboard.plugins.hparams.summary_v2 import hparams_pb
from torch.utils.tensorboard import SummaryWriter

from orchestrator.export import FINAL_PREFIX, ExportedAttempt

STAGING_PREFIX = ".archbench-export-"


def export_tensorboard(attempts: list[ExportedAttempt], directory: Path) -> list[str]:
    """Write each of ``attempts`` as the run ``directory / run_name``, replacing one already there; return the names."""
    directory.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=directory))
    try:
        for number, attempt in enumerate(attempts):
            written = staging / "new" / str(number)
            _write_run(attempt, written)
            target = directory / attempt.run_name
            if target.exists():
                (staging / "old").mkdir(exist_ok=True)
                target.rename(staging / "old" / str(number))
            target.parent.mkdir(parents=True, exist_ok=True)
            written.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [a.run_name for a in attempts]


def _write_run(attempt: ExportedAttempt, where: Path) -> None:
    writer = SummaryWriter(str(where))
    try:
        for epoch, at in zip(attempt.epochs, attempt.epoch_times()):
            for name, value in attempt.epoch_metrics(epoch).items():
                writer.add_scalar(name, value, epoch.epoch, walltime=_seconds(at), new_style=True)
        last_epoch = attempt.epochs[-1].epoch if attempt.epochs else 0
        for name, value in attempt.final.items():
            writer.add_scalar(FINAL_PREFIX + name, value, last_epoch, walltime=_seconds(attempt.ended_at),
                              new_style=True)
        hparams = {"sweep": attempt.sweep, "arch": attempt.arch, "dataset": attempt.dataset, "seed": attempt.seed,
                   "attempt": attempt.attempt, "status": attempt.status, **attempt.setup}
        writer.file_writer.add_summary(hparams_pb(hparams, trial_id=attempt.run_name,
                                                  start_time_secs=_seconds(attempt.started_at)),
                                       walltime=_seconds(attempt.started_at))
    finally:
        writer.close()


def _seconds(at: datetime | None) -> float | None:
    return at.timestamp() if at is not None else None
