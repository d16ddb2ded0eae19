"""The result tables: one Parquet row per finished attempt of a cell, one per epoch, in files never rewritten.

Layout of a results directory::

    results/
      trials/           one row per (sweep, arch, dataset, seed, attempt): TRIAL_SCHEMA, in part files
      history/          one row per (sweep, arch, dataset, seed, attempt, epoch): HISTORY_SCHEMA, likewise
      .lock             filelock that writers take
      trials.parquet    the single files of an older archbench (schemas 1-5), where there are any:
      history.parquet   read as the oldest part of their table, never written

Each table directory is a Parquet dataset: ``pandas.read_parquet("results/trials")`` returns every
row archbench wrote into it (not those of an older single file; ``ResultStore`` reads both).

Nothing stored is ever replaced: each finished attempt of a cell is a row of its own, numbered by
the store (1, 2, ...). Which attempt speaks for a seed in the tables is the report's rule
(``orchestrator.report.attempts``).

Writing: each ``put_trial`` is numbered (1, 2, ... in the directory) and adds one part file to each
table, written under a temporary name, fsynced and renamed into place, history first, so its cost
does not grow with the rows stored. A file is named by the puts it holds and how often it was
merged, ``part-<first>-<last>-L<level>.parquet``. So that a table stays a few dozen files, a level
that holds ``MERGE_AT`` files is merged into one file of the next level before a put writes: each
row is rewritten once per level, log(N) times in all, and the put that merges the largest level is
the slowest. A merged file is renamed into place before its inputs are deleted.

Reading takes no lock: a table is listed, its files are read, and it is listed again. A file whose
puts lie inside another's is a merge's input not yet deleted and is skipped; a read during which a
merge replaced files, or an older put appeared, is done again. Readers therefore see whole files
and every row once, a failed write (a full disk) leaves every file as it was, and sweeps writing
into one directory at once keep every row of all of them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from filelock import FileLock

from orchestrator.atomic import Writer, atomic_write, atomic_write_all
from orchestrator.columns import Column, arrow_schema, column, columns_of, values_of
from orchestrator.errors import ArchbenchError, first_line
from orchestrator.trial import EpochRow, TrialRow

TRIALS_DIR = "trials"
HISTORY_DIR = "history"
TRIALS_FILE = "trials.parquet"      # the single file of schemas 1-5
HISTORY_FILE = "history.parquet"
LOCK_FILE = ".lock"
MERGE_AT = 8            # files a level holds before they are merged into one file of the next level
READ_TRIES = 100        # reads of a table that merges may interrupt before a reader gives up
MERGED_ROW_GROUP = 65_536   # rows gathered into one row group of a merged file (its inputs are read one at a time)
_PART_NAME = re.compile(r"part-(\d+)-(\d+)-L(\d+)\.parquet")


@dataclass(frozen=True, kw_only=True)
class StoredRow:
    """What the store adds to each row of the trials table."""

    schema_version: int = column(pa.int32(), "the schema the row was written in", since=1, nullable=False)


# Every column is declared once, beside the field it stores (orchestrator.trial); the schemas, the
# filling of older files and the documentation's column table all come from these two tuples.
_ROW_COLUMNS = TrialRow.columns()
TRIAL_COLUMNS = (*columns_of(StoredRow, "file"), *_ROW_COLUMNS)
HISTORY_COLUMNS = (*(c for c in _ROW_COLUMNS if c.group == "key"), *columns_of(EpochRow, "epoch"))
# The schema version is that of the newest column: declaring a column with a new ``since`` raises it.
SCHEMA_VERSION = max(c.since for c in (*TRIAL_COLUMNS, *HISTORY_COLUMNS))
TRIAL_SCHEMA = arrow_schema(TRIAL_COLUMNS)
HISTORY_SCHEMA = arrow_schema(HISTORY_COLUMNS)
ATTEMPT_KEY = tuple(c.name for c in TRIAL_COLUMNS if c.group == "key")
EPOCH_KEY = tuple(c.name for c in HISTORY_COLUMNS if c.group == "key")
CELL_KEY = ATTEMPT_KEY[:-1]     # (sweep, arch, dataset, seed)
# Statuses that are results of their seed; "failed" is an infrastructure fault, trained again on a re-run.
RESULTS = ("ok", "diverged", "collapsed")


class ResultsError(ArchbenchError):
    """The results directory cannot be used: the message is one line meant for the user."""


@dataclass(frozen=True)
class _Part:
    """A file of a table: the rows of puts ``first`` to ``last``, merged ``level`` times (None: a single file)."""

    path: Path
    first: int
    last: int
    level: int | None


class _Table:
    """One result table: its directory of part files, and the single file of an older archbench if there is one."""

    def __init__(self, root: Path, directory: str, single_file: str, columns: tuple[Column, ...]) -> None:
        self.directory = root / directory
        self.single_file = root / single_file
        self.columns = columns

    def parts(self) -> list[_Part]:
        """The table's files, the oldest puts first (a merge's inputs not yet deleted among them)."""
        found = [_Part(self.single_file, 0, 0, None)] if self.single_file.is_file() else []
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            names = []
        for name in names:
            if match := _PART_NAME.fullmatch(name):
                found.append(_Part(self.directory / name, int(match[1]), int(match[2]), int(match[3])))
        return sorted(found, key=lambda p: (p.first, -p.last))

    def read(self) -> pa.Table:
        """Every row of the table, each once, as it stood at one moment between the call and its return."""
        for _ in range(READ_TRIES):
            listed = self.parts()
            try:
                tables = [_read(part.path, self.columns) for part in _live(listed)]
            except FileNotFoundError:     # merged away since it was listed
                continue
            if _unchanged(listed, self.parts()):
                return pa.concat_tables(tables) if tables else arrow_schema(self.columns).empty_table()
        raise ResultsError(f"{self.directory} changed during each of {READ_TRIES} reads (merges of other writers); "
                           "try again")

    def part_writer(self, put: int, rows: list[Mapping[str, object]]) -> tuple[Path, Writer]:
        """The new part of put number ``put`` holding ``rows``, as (path, writer) for ``atomic_write_all``."""
        self.directory.mkdir(exist_ok=True)
        table = _table(rows, self.columns)
        return self.directory / _part_name(put, put, 0), lambda tmp: pq.write_table(table, tmp)

    def merge_full_levels(self) -> list[_Part]:
        """Under the writers' lock: merge each level that holds MERGE_AT files into one file of the next level.

        Inputs of a merge that was interrupted before deleting them are deleted first. Returns the
        table's files afterwards.
        """
        listed = self.parts()
        for part in set(listed) - set(_live(listed)):
            part.path.unlink()
        parts = _live(listed)
        level = 0
        while any(p.level is not None and p.level >= level for p in parts):
            full = [p for p in parts if p.level == level]
            if len(full) >= MERGE_AT:
                merged = self._merge(full, level + 1)
                parts = sorted([*(p for p in parts if p not in full), merged], key=lambda p: p.first)
            level += 1
        return parts

    def _merge(self, parts: list[_Part], level: int) -> _Part:
        merged = _Part(self.directory / _part_name(parts[0].first, parts[-1].last, level),
                       parts[0].first, parts[-1].last, level)
        atomic_write(merged.path, lambda tmp: _write_merged((_read(p.path, self.columns) for p in parts),
                                                            arrow_schema(self.columns), tmp))
        for part in parts:
            part.path.unlink()
        return merged


class _AttemptIndex:
    """The highest attempt of each cell in both tables, kept current by reading only the files not read yet.

    Part files are never changed, so after its first use a writer reads only the parts that other
    writers added and the files their merges made. The history counts too: a put that died between
    its history's rename and its row's left epochs of an attempt that has no row, and that number
    is not given again.
    """

    def __init__(self) -> None:
        self._read: set[tuple[str, int, int, int]] = set()
        self._highest: dict[tuple[object, ...], int] = {}

    def update(self, *tables: _Table) -> None:
        """Note the attempts in the files of ``tables`` that were not read yet."""
        current = {}
        for table in tables:
            key = tuple(c for c in table.columns if c.name in ATTEMPT_KEY)
            current.update({_identity(p.path): (p.path, key) for p in _live(table.parts())})
        for identity, (path, key) in current.items():
            if identity not in self._read:
                rows = _read(path, key)
                for *cell, attempt in zip(*(rows[name].to_pylist() for name in ATTEMPT_KEY)):
                    self.note(tuple(cell), attempt)
        self._read = set(current)

    def mark_read(self, paths: Iterable[Path]) -> None:
        """``paths`` hold only rows already noted (this writer's own parts, its merges)."""
        self._read.update(_identity(path) for path in paths)

    def note(self, cell: tuple[object, ...], attempt: int) -> None:
        self._highest[cell] = max(attempt, self._highest.get(cell, 0))

    def highest(self, cell: tuple[object, ...]) -> int:
        return self._highest.get(cell, 0)


class ResultStore:
    """The two result tables of one results directory."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._trials = _Table(self.root, TRIALS_DIR, TRIALS_FILE, TRIAL_COLUMNS)
        self._history = _Table(self.root, HISTORY_DIR, HISTORY_FILE, HISTORY_COLUMNS)
        self.trials_path = self._trials.directory     # the Parquet datasets that pandas reads
        self.history_path = self._history.directory
        self._lock = FileLock(str(self.root / LOCK_FILE))
        self._attempts = _AttemptIndex()

    def __reduce__(self) -> tuple:
        # Ray Tune pickles its callbacks (which hold a store); the lock is rebuilt from the path.
        return (ResultStore, (self.root,))

    def has_results(self) -> bool:
        """Whether any trial is stored, by this archbench or an older one."""
        return bool(self._trials.parts())

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
        return self._trials.read().to_pandas()

    def history(self) -> pd.DataFrame:
        return self._history.read().to_pandas()

    def trial_records(self, sweep: str, statuses: tuple[str, ...] | None = None) -> list[dict[str, object]]:
        """The rows of ``sweep`` (of the given ``statuses``) as dicts of Python values, typed as their columns."""
        table = self._trials.read()
        mask = pc.equal(table["sweep"], sweep)
        if statuses is not None:
            mask = pc.and_(mask, pc.is_in(table["status"], pa.array(statuses)))
        return table.filter(mask).to_pylist()

    def done_cells(self, sweep: str) -> set[tuple[str, str, int]]:
        """(arch, dataset, seed) of the cells of ``sweep`` that have a result (ok, diverged or collapsed)."""
        return {(r["arch"], r["dataset"], r["seed"]) for r in self.trial_records(sweep, RESULTS)}

    def put_trial(self, row: TrialRow) -> int:
        """Store one finished attempt of a cell and its epochs (``row.outcome.history``); return its attempt number.

        Earlier attempts of the cell stay as they are. Both new parts are written in full before
        either is renamed into place, history first, so a failed write (a full disk) adds neither,
        and a row has its history even after a crash between the two renames.
        """
        if row.sweep is None:
            raise ValueError(f"the row of {row.cell} has no sweep name")
        self.root.mkdir(parents=True, exist_ok=True)
        cell = tuple(row.record()[name] for name in CELL_KEY)
        with self._lock:
            self._attempts.update(self._trials, self._history)
            attempt = self._attempts.highest(cell) + 1
            row = replace(row, attempt=attempt)
            history_parts = self._history.merge_full_levels()
            trial_parts = self._trials.merge_full_levels()
            self._attempts.mark_read(p.path for p in (*trial_parts, *history_parts))
            put = 1 + max((p.last for p in (*trial_parts, *history_parts)), default=0)
            history_part = self._history.part_writer(put, row.history_records())
            stored = values_of(StoredRow(schema_version=SCHEMA_VERSION))
            trial_part = self._trials.part_writer(put, [{**stored, **row.record()}])
            atomic_write_all([history_part, trial_part])
            self._attempts.note(cell, attempt)
            self._attempts.mark_read([trial_part[0], history_part[0]])
        return attempt


def _part_name(first: int, last: int, level: int) -> str:
    return f"part-{first:012d}-{last:012d}-L{level}.parquet"


def _live(parts: list[_Part]) -> list[_Part]:
    """``parts`` (listed oldest puts first) without the inputs of a merge that are not deleted yet.

    The merged file holds their rows and is listed first: it starts where its first input does, and ends later.
    """
    live: list[_Part] = []
    for part in parts:
        if not live or part.last > live[-1].last:
            live.append(part)
    return live


def _unchanged(before: list[_Part], after: list[_Part]) -> bool:
    """Whether the files read from listing ``before`` were the table at one moment, given the listing ``after``.

    New puts (level 0, numbered after every put read) may have been added meanwhile; any other
    change means that a merge ran, or that the first listing missed a file added while it was made.
    """
    newest = max((p.last for p in before), default=0)
    return set(before) <= set(after) and all(p.level == 0 and p.first > newest for p in set(after) - set(before))


def _identity(path: Path) -> tuple[str, int, int, int]:
    stat = path.stat()
    return str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns


def _read(path: Path, columns: tuple[Column, ...]) -> pa.Table:
    """The table at ``path`` in ``columns``; a column added after the file was written is derived, or null.

    So is a column declared ``late`` that a file of its ``since`` schema lacks: it was added while
    that schema was current, after some of its files had been written.

    The trials table says its schema in ``schema_version``; the history, which has no such column,
    fills whichever added column it lacks. A file that is gone raises FileNotFoundError.
    """
    schema = arrow_schema(columns)
    try:
        with pq.ParquetFile(path) as file:
            table = file.read(use_threads=False)
    except FileNotFoundError:
        raise
    except (OSError, pa.ArrowException) as exc:
        raise ResultsError(f"{path} is not a readable Parquet file ({first_line(exc)}); "
                           "move it away or fix it, archbench leaves it as it is") from None
    versioned = "schema_version" in schema.names
    newest = (pc.max(table["schema_version"]).as_py()
              if "schema_version" in table.column_names and len(table) else None)
    if newest is not None and newest > SCHEMA_VERSION:
        raise ResultsError(f"{path} was written by a newer archbench (schema {newest}, this one reads "
                           f"{SCHEMA_VERSION}); upgrade archbench, it leaves the file as it is")
    present = set(table.column_names)
    for c in columns:
        if newest is not None:
            added_since = newest < c.since or (c.late and newest == c.since)
        else:
            added_since = not versioned and (c.since > 1 or c.late)
        if c.name not in present and added_since:
            values = c.derive(table) if c.derive else pa.nulls(len(table), c.type)
            table = table.append_column(c.arrow_field(), values)
            present.add(c.name)
    missing = [name for name in schema.names if name not in present]
    if missing:
        raise ResultsError(f"{path} is not an archbench table: missing columns {', '.join(missing)}")
    try:
        return table.select(schema.names).cast(schema)
    except (pa.ArrowException, ValueError) as exc:
        raise ResultsError(f"{path} has columns of the wrong type ({first_line(exc)})") from None


def _table(rows: list[Mapping[str, object]], columns: tuple[Column, ...]) -> pa.Table:
    schema = arrow_schema(columns)
    return pa.Table.from_pylist([{name: r.get(name) for name in schema.names} for r in rows], schema=schema)


def _write_merged(tables: Iterable[pa.Table], schema: pa.Schema, where: str) -> None:
    """Write ``tables`` one after another into one file, gathered into row groups of about MERGED_ROW_GROUP rows."""
    with pq.ParquetWriter(where, schema) as writer:
        gathered: list[pa.Table] = []
        for table in tables:
            gathered.append(table)
            if sum(len(t) for t in gathered) >= MERGED_ROW_GROUP:
                writer.write_table(pa.concat_tables(gathered))
                gathered = []
        if gathered:
            writer.write_table(pa.concat_tables(gathered))
