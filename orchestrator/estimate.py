"""How long a sweep's trials take on this machine: a short probe through the product's own training.

``probe(spec)`` runs ``train.train``, the code every trial runs, on the device and with the threads
the trial would have, for two epochs of ``PROBE_STEPS`` steps at the recipe's batch size, on
generated images of the dataset's shape (``stand_in``: a probe reads no dataset and downloads
nothing, and datasets of one shape share it), tested on ``PROBE_EVAL_IMAGES`` images. Its warm
second epoch gives a training step's seconds and an evaluated image's; what the first epoch took
beyond a warm one, with the data's generation and the model's build, is a trial's setup.
``StepTimes.trial_seconds`` scales that to a setup's recipe (epochs x steps, plus the validation
and test images of every epoch), ``makespan`` starts the trials in order on a number of slots, as
Tune does, ``startup_seconds`` times a fresh Python process's imports of what a Ray worker
imports to run a trial, and ``closing_seconds`` those of the tables a sweep ends by printing.
"""

from __future__ import annotations

import heapq
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from orchestrator import data
from orchestrator.errors import first_line
from orchestrator.plan import SweepPlan
from orchestrator.report.significance import MIN_SEEDS
from orchestrator.train import train
from orchestrator.trial import Cell, TrialSetup, TrialSpec

PROBE_STEPS = 3              # training steps per probe epoch
PROBE_EVAL_IMAGES = 256      # images a probe evaluates after each epoch
# The driver's imports, Ray's own start and the first workers' imports, each counted as one timed start-up:
# a dry run starts no Ray, so Ray's start is not timed.
STARTUPS = 3


@dataclass(frozen=True)
class StepTimes:
    """One architecture timed on one input shape and batch size."""

    setup_seconds: float         # per trial: data, model build, the first steps' warm-up
    step_seconds: float          # one training step, warm
    eval_image_seconds: float    # one image evaluated, warm

    def trial_seconds(self, setup: TrialSetup) -> float:
        """The seconds of a trial set up as ``setup``: its setup, then every epoch's steps and evaluation."""
        steps = setup.train_images // setup.batch_size
        evaluated = setup.val_images + setup.test_images
        return self.setup_seconds + setup.epochs * (steps * self.step_seconds + evaluated * self.eval_image_seconds)


@dataclass(frozen=True)
class Estimate:
    """The probes of a sweep's cells and what they say of each trial."""

    device: str                                   # "cpu" or "cuda": where the probes ran
    threads: int                                  # torch threads on CPU
    probes: dict[tuple[str, str, int], StepTimes]  # (arch, generated dataset, batch size) -> its timing
    trial_seconds: dict[Cell, float]              # each timed cell's trial
    untimed: dict[tuple[str, str], str]           # (arch, dataset) -> why it has no estimate
    startup_seconds: float                        # one fresh process's imports
    closing_seconds: float                        # a fresh process's imports of the closing tables

    def wall_seconds(self, cells: Sequence[Cell], slots: int) -> float:
        """The sweep's seconds: the start-ups, the timed ``cells``' trials started in order on ``slots``, the
        closing tables."""
        timed = [self.trial_seconds[c] for c in cells if c in self.trial_seconds]
        return STARTUPS * self.startup_seconds + makespan(timed, slots) + self.closing_seconds


def estimate(plan: SweepPlan, cells: Sequence[Cell], device: str) -> Estimate:
    """Probe each architecture x input shape of ``cells`` (at least one) once on ``device``; estimate each trial."""
    probes: dict[tuple[str, str, int], StepTimes] = {}
    failed: dict[tuple[str, str, int], str] = {}
    trial_seconds: dict[Cell, float] = {}
    untimed: dict[tuple[str, str], str] = {}
    warm = False
    for cell in cells:
        spec = replace(plan.trial(cell), device=device)
        generated = stand_in(cell.dataset)
        if generated is None:
            untimed[cell.arch, cell.dataset] = f"no generated dataset has {cell.dataset}'s shape to time it on"
            continue
        key = (cell.arch, generated, spec.recipe.batch_size)
        if key not in probes and key not in failed:
            try:
                if not warm:
                    # The first training in a process also pays its one-time warm-up, which a Ray worker pays
                    # once, not each trial: a one-step probe, not timed, pays it first.
                    probe(replace(spec, cell=Cell(cell.arch, generated)), steps=1)
                    warm = True
                probes[key] = probe(replace(spec, cell=Cell(cell.arch, generated)))
            except Exception as exc:   # a plugin's model or recipe that fails here fails its trial the same way
                failed[key] = f"its probe failed: {first_line(exc, with_type=True)}"
        if key in failed:
            untimed[cell.arch, cell.dataset] = failed[key]
        else:
            trial_seconds[cell] = probes[key].trial_seconds(spec.setup)
    threads = plan.trial(cells[0]).threads or 1
    return Estimate(device, threads, probes, trial_seconds, untimed, startup_seconds(),
                    closing_seconds(tests=plan.seeds >= MIN_SEEDS))


def probe(spec: TrialSpec, steps: int = PROBE_STEPS) -> StepTimes:
    """Time ``spec``'s architecture through ``train.train``: two epochs of ``steps`` steps at its batch size."""
    batch = spec.recipe.batch_size
    budget = replace(spec.budget, epochs=2, batch_size=batch, train_limit=steps * batch,
                     test_limit=PROBE_EVAL_IMAGES, val_split=0.0)
    spec = replace(spec, budget=budget, checkpoints=False, resume_from=None)
    ends: list[float] = []
    start = time.perf_counter()
    outcome = train(spec, on_epoch=lambda _: ends.append(time.perf_counter()))
    if len(outcome.history) < 2:
        raise RuntimeError(f"the probe of {spec.cell} {outcome.status}: {outcome.error}")
    warm = outcome.history[1]
    warm_epoch = ends[1] - ends[0]
    return StepTimes(setup_seconds=max(ends[0] - start - warm_epoch, 0.0),
                     step_seconds=warm.epoch_seconds / steps,
                     eval_image_seconds=max(warm_epoch - warm.epoch_seconds, 0.0) / spec.setup.test_images)


def stand_in(dataset: str) -> str | None:
    """The first generated dataset of ``dataset``'s shape (channels, size, classes): all of a shape share a probe."""
    shape = _shape(dataset)
    return next((name for name in data.names(synthetic=True) if _shape(name) == shape), None)


def _shape(dataset: str) -> tuple[int, int, int]:
    spec = data.spec(dataset)
    return spec.channels, spec.image_size, spec.num_classes


def makespan(seconds: Sequence[float], slots: int) -> float:
    """When the last of trials lasting ``seconds`` ends, each started in order on the first of ``slots`` to be free."""
    free = [0.0] * slots
    for duration in seconds:
        heapq.heapreplace(free, free[0] + duration)
    return max(free)


def startup_seconds() -> float:
    """Wall seconds a fresh Python process takes to import what a Ray worker imports to run a trial."""
    return _import_seconds("import orchestrator.trainable")


def closing_seconds(tests: bool) -> float:
    """Wall seconds a fresh Python process takes to import what the tables a sweep ends with need; with ``tests``
    (seeds enough for them), the significance tests' scipy too."""
    return _import_seconds("import orchestrator.report" + (", scipy.stats" if tests else ""))


def _import_seconds(statement: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True, capture_output=True)
    return time.perf_counter() - start
