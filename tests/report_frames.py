"""Trials and history frames built by hand, typed as ResultStore reads them: the report's test input (no sweep)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from orchestrator import data, study
from orchestrator.results import HISTORY_DIR, HISTORY_SCHEMA, SCHEMA_VERSION, TRIAL_SCHEMA, TRIALS_DIR, _part_name

BASE_SECONDS = {"lenet5": 10.0, "vgg": 100.0, "resnet20v1": 200.0, "resnet20v2": 300.0}
PARAMS = {  # lenet5 uses the study's own counts, so its differences are zero
    "vgg": (1_500_000, 1_500_000, 0),
    "resnet20v1": (272_474, 272_474, 0),
    "resnet20v2": (571_000, 568_000, 3_000),
}
EPOCHS = 3


def _params(arch: str, dataset: str) -> tuple[int, int, int]:
    base = dataset.removeprefix("synthetic_")
    return PARAMS.get(arch) or tuple(study.PARAMS.get(("lenet5", base), (204_098, 204_098, 0)))


def _train_images(dataset: str) -> int:
    base = dataset.removeprefix("synthetic_")
    return data.spec(base).train_size if base in data.names() else 1000


def trial_row(sweep: str, arch: str, dataset: str, seed: int, outcome: float | str, day: int = 2,
              synthetic: bool = False, **extra: object) -> dict:
    """One trial: ``outcome`` is the final test accuracy of an ok seed, or the status of one that is not ok."""
    ok = not isinstance(outcome, str)
    failed = outcome == "failed"
    total, trainable, non_trainable = (None, None, None) if failed else _params(arch, dataset)
    return {
        "schema_version": SCHEMA_VERSION,
        "sweep": sweep, "arch": arch, "dataset": dataset, "synthetic": synthetic, "seed": seed, "attempt": 1,
        "status": "ok" if ok else outcome, "error": None if ok else f"{outcome}: boom",
        "test_acc": outcome if ok else None,
        "epochs": EPOCHS, "epochs_run": EPOCHS, "train_images": _train_images(dataset) if ok else None,
        "train_seconds": BASE_SECONDS.get(arch, 50.0) + seed if ok else None,
        "images_per_sec": 1000.0 + 100 * seed if ok else None,
        "params_total": total, "params_trainable": trainable, "params_non_trainable": non_trainable,
        "started_at": datetime(2026, 1, day, tzinfo=timezone.utc),
        "ended_at": datetime(2026, 1, day, 1 + seed, tzinfo=timezone.utc),
        **extra,
    }


def history_rows(row: Mapping[str, object]) -> list[dict]:
    """Per-epoch rows of a trial ending at its final accuracy (ok) or at NaN; none for a failed trial."""
    if row["status"] == "failed":
        return []
    final = row["test_acc"] if row["status"] == "ok" else float("nan")
    seconds = (row["train_seconds"] or 3.0) / EPOCHS
    return [{"sweep": row["sweep"], "arch": row["arch"], "dataset": row["dataset"], "seed": row["seed"],
             "attempt": row["attempt"], "epoch": e, "train_loss": 1.0 / e, "test_acc": final - 0.05 * (EPOCHS - e),
             "epoch_seconds": seconds}
            for e in range(1, EPOCHS + 1)]


def epoch_rows(arch: str, dataset: str, seed: int, accuracies: Iterable[float], seconds: float = 10.0,
               sweep: str = "s", val: Iterable[float] | None = None, attempt: int = 1) -> list[dict]:
    """History rows of one seed: its test (and ``val``idation) accuracy after each epoch, each ``seconds`` long."""
    accuracies = list(accuracies)
    val = list(val) if val is not None else [None] * len(accuracies)
    return [{"sweep": sweep, "arch": arch, "dataset": dataset, "seed": seed, "attempt": attempt, "epoch": e,
             "test_acc": acc, "val_acc": v, "epoch_seconds": seconds}
            for e, (acc, v) in enumerate(zip(accuracies, val), start=1)]


def frames(rows: Iterable[Mapping[str, object]],
           history: Iterable[Mapping[str, object]] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(trials, history) as ResultStore.trials() / .history() return them; history defaults to history_rows."""
    rows = list(rows)
    history = [h for row in rows for h in history_rows(row)] if history is None else list(history)
    return (pa.Table.from_pylist(rows, schema=TRIAL_SCHEMA).to_pandas(),
            pa.Table.from_pylist(history, schema=HISTORY_SCHEMA).to_pandas())


def sweep_rows(sweep: str, cells: Mapping[tuple[str, str], list], day: int = 2, synthetic: bool = False) -> list[dict]:
    """Rows of a sweep from (arch, dataset) -> outcome per seed (seed = position)."""
    return [trial_row(sweep, arch, dataset, seed, outcome, day, synthetic)
            for (arch, dataset), outcomes in cells.items() for seed, outcome in enumerate(outcomes)]


def sweep_frames(sweep: str, cells: Mapping[tuple[str, str], list], day: int = 2,
                 synthetic: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    return frames(sweep_rows(sweep, cells, day, synthetic))


def write_results(root: Path, trials: pd.DataFrame, history: pd.DataFrame) -> Path:
    """Write the frames as a results directory (one part file per table, as one put of a sweep leaves them);
    return ``root``."""
    for directory, frame, schema in ((TRIALS_DIR, trials, TRIAL_SCHEMA), (HISTORY_DIR, history, HISTORY_SCHEMA)):
        (root / directory).mkdir(parents=True, exist_ok=True)
        # From records, as the store builds its tables: pyarrow's from_pandas warns on tz-aware columns under pandas 3.
        table = pa.Table.from_pylist(frame.astype(object).where(frame.notna(), None).to_dict("records"), schema=schema)
        pq.write_table(table, root / directory / _part_name(1, 1, 0))
    return root
