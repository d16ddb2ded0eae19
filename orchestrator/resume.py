"""Resuming a sweep: the seeds that have a result are skipped only when they were set up as this run asks.

Skipping rows of another setup would mix budgets or recipes in one table; a new ``--name`` or
``--force`` is the user's call. The comparison is setup against setup (``TrialSetup``): the stored
row's columns as recorded, the plan's as built, every column of the setup compared. A column an
older schema did not record counts as asked.
"""

from __future__ import annotations

from orchestrator.errors import SweepError
from orchestrator.plan import SweepPlan
from orchestrator.results import RESULTS, ResultStore
from orchestrator.trial import Cell


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
                "use another --name, or --force to train those cells again")


def _words(column: str) -> str:
    return column.replace("_", " ")
