"""Resuming a sweep: what a re-run skips, and where it goes on from.

The seeds that have a result are skipped, but only when they were set up as this run asks:
skipping rows of another setup would mix budgets or recipes in one table, so a sweep that asks for
another setup is refused, ``--force`` or not (it trains a sweep's cells again with their setup) and a
new ``--name`` is the user's call. The comparison is setup against setup (``TrialSetup``): the stored
row's columns as recorded, the plan's as built, every column of the setup compared. A column an
older schema did not record counts as asked.

The seeds that run go on from the checkpoint an interrupted earlier run of the sweep left in the
Ray storage (``checkpoints_to_resume``), so a killed driver costs at most an epoch a trial.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import pyarrow.fs as pafs

from orchestrator.errors import SweepError
from orchestrator.plan import SweepPlan
from orchestrator.results import RESULTS, ResultStore
from orchestrator.trial import Cell

if TYPE_CHECKING:
    from ray import tune


def check_same_setup(plan: SweepPlan, store: ResultStore) -> None:
    """SweepError naming what differs, if a result of the plan's cells was set up otherwise than asked."""
    for recorded in store.trial_records(plan.name, RESULTS):
        cell = Cell(recorded["arch"], recorded["dataset"], recorded["seed"])
        if cell.arch not in plan.archs or cell.dataset not in plan.datasets:
            continue
        differ = plan.trial(cell).setup.differences(recorded)
        if differ:
            held = ", ".join(f"{_words(name)} {stored}" for name, (stored, _) in differ.items())
            wanted = ", ".join(f"{_words(name)} {asked}" for name, (_, asked) in differ.items())
            raise SweepError(
                f"sweep {plan.name!r} already has {cell} trained with {held}, and this run asks for {wanted}: "
                "use another --name (--force trains a sweep's cells again only with the setup they had)")


def _words(column: str) -> str:
    return column.replace("_", " ")


def experiment_name(sweep: str, started: datetime) -> str:
    """The Tune experiment folder of one run of ``sweep`` in the storage: the sweep's name and the run's start."""
    return f"{sweep}-{started:%Y%m%d-%H%M%S}"


def trial_folder(cell: Cell | str, trial_id: str) -> str:
    """The Tune trial folder of ``cell`` (or its name): named by the cell, so that a later run finds its checkpoints."""
    return f"{str(cell).replace('/', '-')}-{trial_id}"


def checkpoints_to_resume(plan: SweepPlan, store: ResultStore, storage: str, cells: list[Cell]) -> dict[Cell, str]:
    """For each of ``cells``, the latest checkpoint an interrupted earlier run of the sweep left in ``storage``.

    A checkpoint counts only if its run started after the cell's latest stored result: one from
    before was either stored already or replaced by a later result. Failed attempts do not count,
    so a seed whose trial failed goes on from its last epoch.
    """
    filesystem, root = _filesystem(storage)
    stored = {}
    for record in store.trial_records(plan.name, RESULTS):
        cell = Cell(record["arch"], record["dataset"], record["seed"])
        ended = record["ended_at"]
        if ended is not None and (cell not in stored or ended > stored[cell]):
            stored[cell] = ended
    pattern = re.compile(rf"^{re.escape(plan.name)}-(\d{{8}}-\d{{6}})$")
    runs = []
    for info in _folders(filesystem, root):
        match = pattern.match(info.base_name)
        if match:
            runs.append((datetime.strptime(match[1], "%Y%m%d-%H%M%S").replace(tzinfo=timezone.utc), info.path))
    found: dict[Cell, str] = {}
    for started, run in sorted(runs, reverse=True):
        for info in _folders(filesystem, run):
            cell = next((c for c in cells if info.base_name.startswith(trial_folder(c, ""))), None)
            if cell is None or cell in found or (cell in stored and stored[cell] >= started):
                continue
            latest = max((c.path for c in _folders(filesystem, info.path) if c.base_name.startswith("checkpoint_")),
                         default=None)
            if latest is not None:
                found[cell] = storage.rstrip("/") + "/" + latest[len(root):].lstrip("/")
    return found


def discard(checkpoint: "tune.Checkpoint") -> None:
    """Remove a checkpoint that is no longer needed (its trial's row is stored)."""
    checkpoint.filesystem.delete_dir(checkpoint.path)


def _filesystem(storage: str) -> tuple[pafs.FileSystem, str]:
    if "://" in storage:
        return pafs.FileSystem.from_uri(storage)
    return pafs.LocalFileSystem(), storage


def _folders(filesystem: pafs.FileSystem, path: str) -> list[pafs.FileInfo]:
    infos = filesystem.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    return [info for info in infos if info.type == pafs.FileType.Directory]
