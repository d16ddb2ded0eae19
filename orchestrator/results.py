"""The result tables: one Parquet row per finished attempt of a cell, one per epoch, written atomically.

Layout of a results directory::

    results/
      trials.parquet    one row per (sweep, arch, dataset, seed, attempt): TRIAL_SCHEMA
      history.parquet   one row per (sweep, arch, dataset, seed, attempt, epoch): HISTORY_SCHEMA
      .lock             filelock guarding read-merge-write of both files

Nothing stored is ever replaced: each finished attempt of a cell is a row of its own, numbered by
the store (1, 2, ...). Which attempt speaks for a seed in the tables is ``choose_attempts``' rule.
Every write reads the current file, adds the new rows, writes a temporary file in the same
directory and renames it over the old one. Readers therefore always see a complete file, and two
sweeps writing into one directory at once keep every row of both.
"""

from __future__ import annotations

import os
from dataclasses import replace
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
ATTEMPT_KEY = tuple(c.name for c in TRIAL_COLUMNS if c.group == "key")
EPOCH_KEY = tuple(c.name for c in HISTORY_COLUMNS if c.group == "key")
CELL_KEY = ATTEMPT_KEY[:-1]     # (sweep, arch, dataset, seed)
# Statuses that are results of their seed; "failed" is an infrastructure fault, trained again on a re-run.
RESULTS = ("ok", "diverged", "collapsed")


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

    def trial_records(self, sweep: str, statuses: tuple[str, ...] | None = None) -> list[dict[str, object]]:
        """The rows of ``sweep`` (of the given ``statuses``) as dicts of Python values, typed as their columns."""
        table = _read(self.trials_path, TRIAL_COLUMNS)
        mask = pc.equal(table["sweep"], sweep)
        if statuses is not None:
            mask = pc.and_(mask, pc.is_in(table["status"], pa.array(statuses)))
        return table.filter(mask).to_pylist()

    def done_cells(self, sweep: str) -> set[tuple[str, str, int]]:
        """(arch, dataset, seed) of the cells of ``sweep`` that have a result (ok, diverged or collapsed)."""
        return {(r["arch"], r["dataset"], r["seed"]) for r in self.trial_records(sweep, RESULTS)}

    def put_trial(self, row: TrialRow) -> int:
        """Store one finished attempt of a cell and its epochs (``row.outcome.history``); return its attempt number.

        Earlier attempts of the cell stay as they are. Both new files are written in full before
        either replaces its old one, history first, so a failed write (a full disk) changes neither,
        and a row has its history even after a crash between the two renames.
        """
        if row.sweep is None:
            raise ValueError(f"the row of {row.cell} has no sweep name")
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock:
            old_trials = _read(self.trials_path, TRIAL_COLUMNS)
            attempt = _attempts_of(old_trials, row) + 1
            row = replace(row, attempt=attempt)
            trials = pa.concat_tables([old_trials, _table([{"schema_version": SCHEMA_VERSION, **row.record()}],
                                                          TRIAL_COLUMNS)])
            history = pa.concat_tables([_read(self.history_path, HISTORY_COLUMNS),
                                        _table(row.history_records(), HISTORY_COLUMNS)])
            atomic_write_all([(self.history_path, _parquet(history)), (self.trials_path, _parquet(trials))])
        return attempt


def choose_attempts(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per seed (sweep, arch, dataset, seed): the attempt the tables use.

    The rule: a seed's latest result (ok, diverged or collapsed) speaks for it; a seed with no
    result is shown by its latest failed attempt. A forced re-run's result therefore replaces the
    earlier one in the tables, and ``earlier_results`` lists the statuses of the results it
    replaced (empty when none), so that a seed trained again after a collapse or a divergence is
    marked, never hidden. ``attempts_recorded`` counts every attempt on record.
    """
    if trials.empty:
        return trials.assign(earlier_results=pd.Series(dtype=object), attempts_recorded=pd.Series(dtype="int64"))
    cell = list(CELL_KEY)
    ordered = trials.assign(_result=trials["status"].isin(RESULTS)).sort_values([*cell, "_result", "attempt"])
    chosen = ordered.groupby(cell, sort=False).tail(1)
    results = ordered[ordered["_result"]]
    earlier = (results.groupby(cell)["status"].agg(lambda statuses: list(statuses)[:-1])
               .rename("earlier_results").reset_index())
    counts = ordered.groupby(cell).size().rename("attempts_recorded").reset_index()
    chosen = chosen.drop(columns="_result").merge(earlier, on=cell, how="left").merge(counts, on=cell)
    chosen["earlier_results"] = chosen["earlier_results"].apply(lambda v: v if isinstance(v, list) else [])
    return chosen.reset_index(drop=True)


def _attempts_of(trials: pa.Table, row: TrialRow) -> int:
    """The highest attempt number ``row``'s cell has in ``trials`` (0 when none)."""
    record = row.record()
    mask = pc.equal(trials["sweep"], row.sweep)
    for name in CELL_KEY[1:]:
        mask = pc.and_(mask, pc.equal(trials[name], record[name]))
    return pc.max(trials.filter(mask)["attempt"]).as_py() or 0


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


def _table(rows: list[Mapping[str, object]], columns: tuple[Column, ...]) -> pa.Table:
    schema = arrow_schema(columns)
    return pa.Table.from_pylist([{name: r.get(name) for name in schema.names} for r in rows], schema=schema)


def _parquet(table: pa.Table) -> Writer:
    return lambda tmp: pq.write_table(table, tmp)
