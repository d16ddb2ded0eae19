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
from orchestrator.columns import Column, arrow_schema, columns_of
from orchestrator.errors import first_line
from orchestrator.trial import EpochRow, TrialRow

TRIALS_FILE = "trials.parquet"
HISTORY_FILE = "history.parquet"
LOCK_FILE = ".lock"

# Every column is declared once, beside the field it stores (orchestrator.trial); the schemas, the
# filling of older files and the documentation's column table all come from these two tuples.
_ROW_COLUMNS = TrialRow.columns()
# The schema version is that of the newest column: declaring a column with a new ``since`` raises it.
SCHEMA_VERSION = max(c.since for c in _ROW_COLUMNS)
TRIAL_COLUMNS = (Column("schema_version", pa.int32(), "the schema the row was written in", 1, "file",
                        nullable=False), *_ROW_COLUMNS)
HISTORY_COLUMNS = (*(c for c in _ROW_COLUMNS if c.group == "key"), *columns_of(EpochRow, "epoch"))
TRIAL_SCHEMA = arrow_schema(TRIAL_COLUMNS)
HISTORY_SCHEMA = arrow_schema(HISTORY_COLUMNS)
CELL_KEY = tuple(c.name for c in TRIAL_COLUMNS if c.group == "key")
EPOCH_KEY = tuple(c.name for c in HISTORY_COLUMNS if c.group == "key")


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
        return _read(self.trials_path, TRIAL_COLUMNS).to_pandas()

    def history(self) -> pd.DataFrame:
        return _read(self.history_path, HISTORY_COLUMNS).to_pandas()

    def trial_records(self, sweep: str, status: str | None = None) -> list[dict[str, object]]:
        """The rows of ``sweep`` (of one ``status`` if given) as dicts of Python values, typed as their columns."""
        table = _read(self.trials_path, TRIAL_COLUMNS)
        mask = pc.equal(table["sweep"], sweep)
        if status is not None:
            mask = pc.and_(mask, pc.equal(table["status"], status))
        return table.filter(mask).to_pylist()

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
            epochs = _merged(self.history_path, HISTORY_COLUMNS, history, EPOCH_KEY, drop=cell)
            trials = _merged(self.trials_path, TRIAL_COLUMNS, [row], CELL_KEY)
            atomic_write_all([(self.history_path, _parquet(epochs)), (self.trials_path, _parquet(trials))])
        return True

    def _has_ok_row(self, cell: Mapping[str, object]) -> bool:
        df = self.trials()
        mask = df["status"] == "ok"
        for name, value in cell.items():
            mask &= df[name] == value
        return bool(mask.any())


def _read(path: Path, columns: tuple[Column, ...]) -> pa.Table:
    """The table at ``path`` in ``columns``; a column added after the file was written is derived, or null.

    The trials table says its schema in ``schema_version``; the history, which has no such column,
    fills whichever added column it lacks.
    """
    schema = arrow_schema(columns)
    if not path.exists():
        return schema.empty_table()
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise ResultsError(f"{path} is not a readable Parquet file ({first_line(exc)}); "
                           "move it away or fix it, archbench leaves it as it is") from None
    versioned = "schema_version" in schema.names
    newest = (pc.max(table["schema_version"]).as_py()
              if "schema_version" in table.column_names and len(table) else None)
    if newest is not None and newest > SCHEMA_VERSION:
        raise ResultsError(f"{path} was written by a newer archbench (schema {newest}, this one reads "
                           f"{SCHEMA_VERSION}); upgrade archbench, it leaves the file as it is")
    for c in columns:
        added_since = newest < c.since if newest is not None else not versioned and c.since > 1
        if c.name not in table.column_names and added_since:
            values = c.derive(table) if c.derive else pa.nulls(len(table), c.type)
            table = table.append_column(c.arrow_field(), values)
    missing = [name for name in schema.names if name not in table.column_names]
    if missing:
        raise ResultsError(f"{path} is not an archbench table: missing columns {', '.join(missing)}")
    try:
        return table.select(schema.names).cast(schema)
    except (pa.ArrowException, ValueError) as exc:
        raise ResultsError(f"{path} has columns of the wrong type ({first_line(exc)})") from None


def _merged(path: Path, columns: tuple[Column, ...], rows: list[Mapping[str, object]], key: tuple[str, ...],
            drop: Mapping[str, object] | None = None) -> pa.Table:
    """The table at ``path`` without the rows matching ``drop``, with ``rows`` replacing those of the same ``key``."""
    schema = arrow_schema(columns)
    old = _read(path, columns).to_pandas()
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
