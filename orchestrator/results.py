"""The result tables: one Parquet row per trial, one per epoch, written atomically under a lock.

Layout of a results directory::

    results/
      trials.parquet    one row per (sweep, arch, dataset, seed): TRIAL_SCHEMA
      history.parquet   one row per (sweep, arch, dataset, seed, epoch): HISTORY_SCHEMA
      .lock             filelock guarding read-merge-write of both files

Every write reads the current file, merges the new rows in (a new row replaces the row of the same
key, so a cell never has two rows), writes a temporary file in the same directory and renames it
over the old one. Readers therefore always see a complete file, and two sweeps writing into one
directory at once keep every row of both.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from filelock import FileLock

from orchestrator.atomic import Writer, atomic_write_all
from orchestrator.trial import TrialRow

SCHEMA_VERSION = 4
TRIALS_FILE = "trials.parquet"
HISTORY_FILE = "history.parquet"
LOCK_FILE = ".lock"

CELL_KEY = ("sweep", "arch", "dataset", "seed")
EPOCH_KEY = (*CELL_KEY, "epoch")

_ts = pa.timestamp("us", tz="UTC")

TRIAL_SCHEMA = pa.schema([
    pa.field("schema_version", pa.int32(), nullable=False),
    pa.field("sweep", pa.string(), nullable=False),
    pa.field("arch", pa.string(), nullable=False),
    pa.field("dataset", pa.string(), nullable=False),
    pa.field("synthetic", pa.bool_(), nullable=False),   # trained on generated data, not the real set
    pa.field("seed", pa.int64(), nullable=False),
    pa.field("status", pa.string(), nullable=False),     # one of trial.STATUSES
    pa.field("error", pa.string()),                      # first line of the error; null when ok
    pa.field("test_acc", pa.float64()),                  # after the last epoch run; null unless ok
    pa.field("best_test_acc", pa.float64()),             # schemas 1-2 only (chosen on the test set); null since 3
    pa.field("val_acc", pa.float64()),                   # after the last epoch run; null without a validation split
    pa.field("best_val_acc", pa.float64()),
    pa.field("best_epoch", pa.int64()),                  # the epoch of best_val_acc
    pa.field("pred_histogram", pa.list_(pa.int64())),    # test predictions per class after the last epoch
    pa.field("epochs", pa.int64()),                      # epochs asked for
    pa.field("epochs_run", pa.int64()),
    pa.field("steps", pa.int64()),                       # optimizer steps taken
    pa.field("train_images", pa.int64()),                # trained on per epoch (after --train-limit and --val-split)
    pa.field("val_images", pa.int64()),                  # held out for validation
    pa.field("test_images", pa.int64()),                 # images test_acc is measured on (after --test-limit)
    pa.field("val_split", pa.float64()),                 # share of the training images held out
    pa.field("train_seconds", pa.float64()),             # training loop only (no data load, no eval)
    pa.field("wall_seconds", pa.float64()),              # whole trial: data load, build, train, eval
    pa.field("images_per_sec", pa.float64()),            # training images / train_seconds
    pa.field("params_total", pa.int64()),
    pa.field("params_trainable", pa.int64()),
    pa.field("params_non_trainable", pa.int64()),
    pa.field("arch_module", pa.string()),                # the module that registered the architecture
    pa.field("batch_size", pa.int64()),
    pa.field("lr", pa.float64()),                        # peak learning rate
    pa.field("optimizer", pa.string()),
    pa.field("weight_decay", pa.float64()),
    pa.field("warmup_epochs", pa.float64()),
    pa.field("label_smoothing", pa.float64()),
    pa.field("augment", pa.string()),                    # the dataset's training augmentation: crop_flip, crop, none
    pa.field("gpu_fraction", pa.float64()),              # GPUs the trial asked Ray for (0 on CPU)
    pa.field("trials_sharing_device", pa.int64()),       # most trials seen at once on its device, itself included
    pa.field("device", pa.string()),                     # e.g. "NVIDIA H200" or "cpu"
    pa.field("peak_mem_bytes", pa.int64()),              # peak device memory; null on CPU
    pa.field("node_id", pa.string()),
    pa.field("hostname", pa.string()),
    pa.field("node_ip", pa.string()),
    pa.field("attempts", pa.int64()),                    # 1 + retries Ray made for this trial
    pa.field("torch_version", pa.string()),
    pa.field("ray_version", pa.string()),
    pa.field("started_at", _ts),
    pa.field("ended_at", _ts),
])

# Columns added after schema 1, with the schema version that added each: older files read them as null.
ADDED_COLUMNS = {"test_images": 2, **dict.fromkeys(
    ("val_acc", "best_val_acc", "best_epoch", "pred_histogram", "val_images", "val_split", "arch_module",
     "trials_sharing_device"), 3),
    **dict.fromkeys(("weight_decay", "warmup_epochs", "label_smoothing", "augment"), 4)}

HISTORY_SCHEMA = pa.schema([
    pa.field("sweep", pa.string(), nullable=False),
    pa.field("arch", pa.string(), nullable=False),
    pa.field("dataset", pa.string(), nullable=False),
    pa.field("seed", pa.int64(), nullable=False),
    pa.field("epoch", pa.int64(), nullable=False),       # 1-based
    pa.field("train_loss", pa.float64()),
    pa.field("val_acc", pa.float64()),                   # null without a validation split (and before schema 3)
    pa.field("test_acc", pa.float64()),
    pa.field("epoch_seconds", pa.float64()),
    pa.field("images_per_sec", pa.float64()),
    pa.field("lr", pa.float64()),                        # after the epoch's last step: the next step's rate
])


class ResultsError(Exception):
    """The results directory cannot be used: the message is one line meant for the user."""


class ResultStore:
    """The two result tables of one results directory."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.trials_path = self.root / TRIALS_FILE
        self.history_path = self.root / HISTORY_FILE
        self._lock = FileLock(str(self.root / LOCK_FILE))

    def __reduce__(self) -> tuple:
        # Ray Tune pickles its callbacks (which hold a store); the lock is rebuilt from the path.
        return (ResultStore, (self.root,))

    def check_writable(self) -> None:
        """Raise ResultsError unless the directory can be written (creating nothing) and its tables are readable."""
        if self.root.exists() and not self.root.is_dir():
            raise ResultsError(f"results dir {self.root} is a file, not a directory")
        existing = next(p for p in (self.root.absolute(), *self.root.absolute().parents) if p.exists())
        if not existing.is_dir():
            raise ResultsError(f"cannot create results dir {self.root}: {existing} is a file")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ResultsError(f"results dir {existing} is not writable")
        self.trials()
        self.history()

    def trials(self) -> pd.DataFrame:
        return _read(self.trials_path, TRIAL_SCHEMA)

    def history(self) -> pd.DataFrame:
        return _read(self.history_path, HISTORY_SCHEMA)

    def done_cells(self, sweep: str) -> set[tuple[str, str, int]]:
        """(arch, dataset, seed) of the cells of ``sweep`` that already have an ok row."""
        df = self.trials()
        df = df[(df["sweep"] == sweep) & (df["status"] == "ok")]
        return {(a, d, int(s)) for a, d, s in zip(df["arch"], df["dataset"], df["seed"])}

    def put_trial(self, row: TrialRow) -> bool:
        """Store one trial's row and its epochs (``row.history``), replacing the earlier rows of the same cell.

        A row that is not ok never replaces an ok one (a forced re-run that fails keeps the good
        result): then nothing is written and the return value is False. Both new files are written
        in full before either replaces its old one, history first, so a failed write (a full disk)
        changes neither, and an ok row has its history even after a crash between the two renames.
        """
        if row.sweep is None:
            raise ValueError(f"the row of {row.cell} has no sweep name")
        history = row.history_records()
        row = {"schema_version": SCHEMA_VERSION, **row.record()}
        cell = {k: row[k] for k in CELL_KEY}
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if row["status"] != "ok" and self._has_ok_row(cell):
                return False
            epochs = _merged(self.history_path, HISTORY_SCHEMA, [{**cell, **h} for h in history], EPOCH_KEY,
                             drop=cell)
            trials = _merged(self.trials_path, TRIAL_SCHEMA, [row], CELL_KEY)
            atomic_write_all([(self.history_path, _parquet(epochs)), (self.trials_path, _parquet(trials))])
        return True

    def _has_ok_row(self, cell: Mapping[str, object]) -> bool:
        df = self.trials()
        mask = df["status"] == "ok"
        for name, value in cell.items():
            mask &= df[name] == value
        return bool(mask.any())


def _read(path: Path, schema: pa.Schema) -> pd.DataFrame:
    """The table at ``path`` in ``schema``'s columns; columns added since the file's schema read as null.

    The trials table says its schema in ``schema_version``; the history, which has no such column,
    fills whichever added column it lacks.
    """
    versioned = "schema_version" in schema.names
    if not path.exists():
        return schema.empty_table().to_pandas()
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise ResultsError(f"{path} is not a readable Parquet file ({_first_line(exc)}); "
                           "move it away or fix it, archbench leaves it as it is") from None
    newest = (pc.max(table["schema_version"]).as_py()
              if "schema_version" in table.column_names and len(table) else None)
    if newest is not None and newest > SCHEMA_VERSION:
        raise ResultsError(f"{path} was written by a newer archbench (schema {newest}, this one reads "
                           f"{SCHEMA_VERSION}); upgrade archbench, it leaves the file as it is")
    for name in schema.names:
        older = newest is not None and newest < ADDED_COLUMNS.get(name, 0)
        if name not in table.column_names and (older or (not versioned and name in ADDED_COLUMNS)):
            table = table.append_column(schema.field(name), pa.nulls(len(table), schema.field(name).type))
    missing = [name for name in schema.names if name not in table.column_names]
    if missing:
        raise ResultsError(f"{path} is not an archbench table: missing columns {', '.join(missing)}")
    try:
        return table.select(schema.names).cast(schema).to_pandas()
    except (pa.ArrowException, ValueError) as exc:
        raise ResultsError(f"{path} has columns of the wrong type ({_first_line(exc)})") from None


def _merged(path: Path, schema: pa.Schema, rows: list[Mapping[str, object]], key: tuple[str, ...],
            drop: Mapping[str, object] | None = None) -> pa.Table:
    """The table at ``path`` without the rows matching ``drop``, with ``rows`` replacing those of the same ``key``."""
    old = _read(path, schema)
    if drop is not None and len(old):
        mask = pd.Series(True, index=old.index)
        for name, value in drop.items():
            mask &= old[name] == value
        old = old[~mask]
    new = pd.DataFrame([{name: r.get(name) for name in schema.names} for r in rows], columns=schema.names)
    merged = pd.concat([df for df in (old, new) if len(df)], ignore_index=True) if len(new) or len(old) else old
    if len(merged):
        merged = merged.drop_duplicates(subset=list(key), keep="last")
    return pa.Table.from_pandas(merged, schema=schema, preserve_index=False)


def _parquet(table: pa.Table) -> Writer:
    return lambda tmp: pq.write_table(table, tmp)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
