"""A sweep as the user asked for it: its grid, the budget every trial shares, and its resources.

``SweepPlan`` checks itself when built (``trial.PlanError`` names the bad field and value), so every
caller, the CLI and the benchmarks alike, gets the same checks and the same defaults. It makes the
spec of each of its cells then, setup included, once; ``trial`` hands those out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable

import archs
from orchestrator import data
from orchestrator.trial import Budget, Cell, PlanError, TrialSetup, TrialSpec

# The GPU share a trial asks for where the cluster has GPUs and the user named none.
DEFAULT_GPU_FRACTION = 0.25


@dataclass(frozen=True)
class SweepPlan:
    """The grid (architectures x datasets x seeds), the shared budget, and what each trial asks of Ray."""

    name: str
    archs: tuple[str, ...]
    datasets: tuple[str, ...]
    seeds: int = 1
    budget: Budget = field(default_factory=Budget)
    data_dir: str | None = None           # absolute, or None: data.default_root() on each node
    download: bool = True                 # fetch a real dataset a node lacks
    plugins: tuple[str, ...] = ()         # as plugins.resolve() gives them
    gpus_per_trial: float | None = None   # None: DEFAULT_GPU_FRACTION when the cluster has GPUs, else 0
    cpus_per_trial: float = 1.0
    max_concurrent: int | None = None
    max_failures: int = 1
    storage: str | None = None            # Ray Tune storage; None: <results>/ray
    force: bool = False
    _specs: dict[Cell, TrialSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "archs", _known("archs", self.archs, archs.names()))
        object.__setattr__(self, "datasets", _known("datasets", self.datasets,
                                                    data.names() + data.names(synthetic=True)))
        if self.seeds < 1:
            raise PlanError("seeds", f"must be at least 1, got {self.seeds}")
        if self.gpus_per_trial is not None and not 0 <= self.gpus_per_trial <= 1:   # False for NaN too
            raise PlanError("gpus_per_trial", f"must be a number from 0 to 1, got {self.gpus_per_trial}")
        if not (math.isfinite(self.cpus_per_trial) and self.cpus_per_trial > 0):
            raise PlanError("cpus_per_trial", f"must be a finite number more than 0, got {self.cpus_per_trial}")
        if self.max_concurrent is not None and self.max_concurrent < 1:
            raise PlanError("max_concurrent", f"must be at least 1, got {self.max_concurrent}")
        if self.max_failures < 0:
            raise PlanError("max_failures", f"must be at least 0, got {self.max_failures}")
        object.__setattr__(self, "_specs", {cell: self._spec(cell) for cell in self.cells()})
        self._check_setups()

    def cells(self) -> list[Cell]:
        return [Cell(a, d, s) for a in self.archs for d in self.datasets for s in range(self.seeds)]

    def in_run_order(self, cells: Iterable[Cell]) -> list[Cell]:
        """``cells`` in the order their trials start: in seed rounds, and the longest first within a round.

        Every cell's first seed starts before any cell's second, so a sweep stopped part-way has whole
        tables at fewer seeds rather than some cells at every seed and others empty. Within a round,
        the cells that train on the most images (the recipe's epochs x the training images) start
        first, so that the longest trials do not start last and leave the other slots idle at the
        end; cells of equal work keep the grid's order (--archs, then --datasets).
        """
        work = {(s.arch, s.dataset): s.epochs * s.train_images for s in self._first_seed_setups()}
        return sorted(cells, key=lambda c: (c.seed, -work[c.arch, c.dataset]))

    def trial(self, cell: Cell) -> TrialSpec:
        """The spec of ``cell``'s trial, made with the plan; a seed beyond ``seeds`` (a stored one) gets its own."""
        return self._specs.get(cell) or self._spec(cell)

    def _spec(self, cell: Cell) -> TrialSpec:
        """The one place a TrialSpec is made (and with it its setup: a recipe's bad value raises here)."""
        return TrialSpec(cell=cell, budget=self.budget, data_dir=self.data_dir, download=self.download,
                         threads=max(int(self.cpus_per_trial), 1), plugins=self.plugins)

    def _first_seed_setups(self) -> list[TrialSetup]:
        return [self._specs[Cell(a, d)].setup for a in self.archs for d in self.datasets]

    def _check_setups(self) -> None:
        """Refuse a training sample smaller than a batch, which would train no step, before anything runs."""
        setups = self._first_seed_setups()
        if self.budget.train_limit is None:
            return
        tight = min(setups, key=lambda s: s.train_images - s.batch_size)
        if tight.train_images < tight.batch_size:
            raise PlanError("train_limit", f"{self.budget.train_limit} leaves {tight.train_images} training images "
                                           f"after the validation split, fewer than the batch size {tight.batch_size}"
                                           "; raise it or lower --batch-size or --val-split")


def _known(what: str, names: tuple[str, ...] | list[str], valid: list[str]) -> tuple[str, ...]:
    """``names`` without repeats, each checked against ``valid``."""
    if not names:
        raise PlanError(what, f"is empty; valid: {', '.join(valid)}")
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise PlanError(what, f"has unknown {unknown[0]!r}; valid: {', '.join(valid)}")
    return tuple(dict.fromkeys(names))
