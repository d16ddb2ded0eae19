"""The sweep: one Ray Tune grid over (architecture, dataset, seed), results written as they arrive.

The driver takes the plan's cells (skipping those the results directory already holds a result of, once
``resume`` has checked they were set up alike), connects to Ray where ``connection`` says, submits
one ``tune.Tuner`` grid and blocks. The trials start in seed rounds (``SweepPlan.in_run_order``):
every cell's first seed before any cell's second, and within a round the cells that train on the
most images first, so a sweep stopped part-way has every cell at the seeds it finished.
``ResultsCallback`` runs on the driver and stores every finished trial's row atomically the moment
Tune hands it over, so a driver that dies loses no finished cell and a re-run trains only what is
missing.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from ray import tune
from ray.tune import Callback
from ray.tune.experiment import Trial

from orchestrator import data
from orchestrator.connection import HeadWatch, RaySite, connect, gcs_address, resolve_gpus
from orchestrator.errors import SweepError
from orchestrator.plan import SweepPlan
from orchestrator.progress import LineView
from orchestrator.results import ResultsError, ResultStore
from orchestrator.resume import check_same_setup, checkpoints_to_resume, discard, experiment_name, trial_folder
from orchestrator.trainable import run_trial
from orchestrator.trial import Cell, EpochRow, Placement, TrialOutcome, TrialRow, TrialSpec

# Why a trial failed when its worker reported no error of its own: its process vanished.
WORKER_DIED = "the worker died: its process ended without reporting an error (killed, out of memory, or its node lost)"

__all__ = ["ResultsCallback", "SweepError", "SweepOutcome", "SweepPlan", "cells_to_run", "checkpoints_on", "run_sweep",
           "storage_of"]


@dataclass
class SweepOutcome:
    planned: int          # trials submitted
    skipped: int          # cells that already had a result
    statuses: Counter     # rows stored by this run, by status
    failures: list[str]
    unstored: list[str] = field(default_factory=list)   # trials that ended but whose row could not be written

    @property
    def missing(self) -> int:
        """Submitted trials that ended without a row: the sweep was interrupted."""
        return self.planned - sum(self.statuses.values()) - len(self.unstored)


def run_sweep(plan: SweepPlan, store: ResultStore, site: RaySite, *, view: LineView | None = None,
              on_head_lost: Callable[[SweepOutcome], None] | None = None) -> SweepOutcome:
    """Run the cells of ``plan`` that ``store`` lacks; block until every trial has ended.

    Where the trials run on this machine, their real datasets are made ready first, once, before Ray
    starts (``data.prepare``: fetched or found, their image counts checked; DataUnavailableError if
    not), after the setup check, so that a refused or finished sweep downloads nothing.
    ``on_head_lost`` is called, from another thread, with the outcome so far if Ray's head stops
    answering mid-sweep; it is expected to end the process (Ray would, a minute later).
    """
    view = view or LineView()
    cells, skipped_cells = cells_to_run(plan, store)
    skipped = len(skipped_cells)
    if skipped:
        view.note(f"{skipped} of {len(plan.cells())} cells of sweep {plan.name!r} already have a result (ok, "
                  "diverged or collapsed): skipped; --force trains them again, keeping every attempt")
    if not cells:
        return SweepOutcome(planned=0, skipped=skipped, statuses=Counter(), failures=[])
    if site.local:
        data.prepare([c.dataset for c in cells], plan.data_dir, download=plan.download)

    connect(site)
    _quiet_tune()
    gpus = resolve_gpus(plan.gpus_per_trial, site.local, view.note)
    storage = storage_of(plan, store)
    specs = _specs(plan, store, site, storage, cells, view)
    callback = ResultsCallback(store, plan.name, gpus, view, specs)
    tuner = _tuner(plan, specs, gpus, storage, callback)
    view.note(f"sweep {plan.name!r}: {len(cells)} trials, {plan.cpus_per_trial:g} CPU + {gpus:g} GPU each, "
              f"Ray storage {storage}")

    def outcome() -> SweepOutcome:
        return SweepOutcome(planned=len(cells), skipped=skipped, statuses=callback.statuses,
                            failures=callback.failures, unstored=callback.unstored)

    def head_lost() -> None:
        view.stop()
        on_head_lost(outcome())

    address = gcs_address() if on_head_lost else None
    view.start(len(cells))
    try:
        if address:
            with HeadWatch(address, head_lost):
                tuner.fit()
        else:
            tuner.fit()
    finally:
        view.stop()
    return outcome()


def cells_to_run(plan: SweepPlan, store: ResultStore) -> tuple[list[Cell], list[Cell]]:
    """The cells of ``plan`` a run trains, in the order their trials start (``plan.in_run_order``), and those it
    skips because ``store`` has their result; SweepError where a stored result was set up otherwise (``resume``)."""
    check_same_setup(plan, store)   # --force too: it trains again, it never mixes setups in one sweep
    done = set() if plan.force else store.done_cells(plan.name)
    skipped = [c for c in plan.cells() if (c.arch, c.dataset, c.seed) in done]
    return plan.in_run_order(c for c in plan.cells() if c not in skipped), skipped


def storage_of(plan: SweepPlan, store: ResultStore) -> str:
    """The Ray Tune storage of ``plan``'s trials: ``--storage`` as Tune takes it, else ``<results>/ray``."""
    return _storage_uri(plan.storage) if plan.storage else str((store.root / "ray").resolve())


def checkpoints_on(plan: SweepPlan, site: RaySite) -> bool:
    """Whether trials checkpoint mid-trial: not on a joined cluster without ``--storage``, whose trials run on other
    nodes that see ``<results>/ray`` on their own disks only."""
    return site.local or plan.storage is not None


def _specs(plan: SweepPlan, store: ResultStore, site: RaySite, storage: str, cells: list[Cell],
           view: LineView) -> dict[str, TrialSpec]:
    """The spec of each cell to run, by cell name, with where it goes on from and whether it checkpoints."""
    checkpoints = checkpoints_on(plan, site)
    resume = checkpoints_to_resume(plan, store, storage, cells) if checkpoints else {}
    if not checkpoints:
        view.note("mid-trial checkpoints are off: on a cluster they need storage every node reaches; pass "
                  "--storage s3://BUCKET/PATH (or a shared path) to turn them on")
    elif resume:
        view.note(f"{len(resume)} of {len(cells)} trials go on from the checkpoint an interrupted run left")
    return {str(cell): replace(plan.trial(cell), checkpoints=checkpoints, resume_from=resume.get(cell))
            for cell in cells}


def _tuner(plan: SweepPlan, specs: dict[str, TrialSpec], gpus: float, storage: str,
           callback: ResultsCallback) -> tune.Tuner:
    """One grid over the cells: over their names, plain strings that Tune shows and names trial folders by,
    each trial taking its spec from the table that travels with the trainable. Tune makes and starts the
    trials in the grid's order, which is the order of ``specs``: the run order."""
    return tune.Tuner(
        tune.with_resources(tune.with_parameters(run_trial, specs=specs),
                            {"cpu": plan.cpus_per_trial, "gpu": gpus}),
        param_space={"cell": tune.grid_search(list(specs))},
        # Reusing a trial's worker process for the next trial saves a fresh process's imports of
        # torch, torchvision and Ray Tune, seconds a trial (BENCHMARKS.md, "Sweep overhead": 0.13 s
        # between trials with reuse).
        tune_config=tune.TuneConfig(max_concurrent_trials=plan.max_concurrent, reuse_actors=True,
                                    trial_dirname_creator=_trial_folder),
        run_config=tune.RunConfig(
            name=experiment_name(plan.name, datetime.now(timezone.utc)),
            storage_path=storage,
            failure_config=tune.FailureConfig(max_failures=plan.max_failures),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            callbacks=[callback],
            verbose=0,
        ),
    )


def _trial_folder(trial: Trial) -> str:
    return trial_folder(trial.config["cell"], trial.trial_id)


def _storage_uri(storage: str) -> str:
    """``storage`` as Tune takes it: a URI (``s3://...``) as given, a local path made absolute."""
    return storage if "://" in storage else str(Path(storage).expanduser().resolve())


def _quiet_tune() -> None:
    """Leave the terminal to the sweep's view: no Tune status tables, no trial tracebacks.

    Each failure still gets a line from the callback that names Tune's error file; Tune's other
    warnings (such as trials waiting for resources the cluster lacks) still show.
    """
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")   # the legacy reporter is silent at verbose=0
    # Keeping one checkpoint a trial makes Tune snapshot the experiment after each epoch's checkpoint
    # (a small file), and warn, several lines a time, whenever epochs are shorter than 5 s: by design here.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    for name in ("ray.tune.execution.tune_controller", "ray.tune.tune"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


class ResultsCallback(Callback):
    """Runs on the driver: feeds the view and stores each trial's row as soon as it ends."""

    def __init__(self, store: ResultStore, sweep: str, gpu_fraction: float, view: LineView,
                 specs: dict[str, TrialSpec]) -> None:
        self.store = store
        self.specs = specs                        # cell name -> its trial's spec
        self.sweep = sweep
        self.gpu_fraction = gpu_fraction
        self.view = view
        self.epochs_seen: Counter = Counter()
        self.attempts: Counter = Counter()
        self.best: dict[str, float] = {}
        self.devices: dict[str, str] = {}        # trial id -> its device ("node/cpu:", "node/cuda:0"), while running
        self.placements: dict[str, Placement] = {}   # trial id -> where its worker said it runs
        self.errors: dict[str, str] = {}          # trial id -> the error line its worker reported before raising
        self.sharing: Counter = Counter()         # trial id -> most trials seen at once on its device
        self.statuses: Counter = Counter()
        self.failures: list[str] = []
        self.unstored: list[str] = []     # "cell: why" of each row that could not be written
        self.stored: set[str] = set()     # trial ids whose row is stored

    def on_trial_start(self, iteration: int, trials: list[Trial], trial: Trial, **info) -> None:
        self.attempts[trial.trial_id] += 1
        self.epochs_seen[trial.trial_id] = 0
        self.best.pop(_cell_name(trial), None)
        self.view.trial_started(_cell_name(trial))

    def on_trial_recover(self, iteration: int, trials: list[Trial], trial: Trial, **info) -> None:
        self.devices.pop(trial.trial_id, None)
        self.placements.pop(trial.trial_id, None)
        self.view.note(f"{_cell_name(trial)}: {self._error(trial)}; retrying (details: {trial.error_file})")

    def on_trial_result(self, iteration: int, trials: list[Trial], trial: Trial, result: dict, **info) -> None:
        name = _cell_name(trial)
        self._seen_on(trial.trial_id, result.get("device_key"))
        if "placement" in result:
            self.placements[trial.trial_id] = result["placement"]
        if "outcome" in result:
            self._store(trial, result["outcome"])
        elif "error" in result:
            self.errors[trial.trial_id] = result["error"]
        elif "epoch" in result:
            epoch: EpochRow = result["epoch"]
            self.epochs_seen[trial.trial_id] += 1
            score = epoch.val_acc if epoch.val_acc is not None else epoch.test_acc
            if score is not None:
                self.best[name] = max(self.best.get(name, 0.0), score)
            self.view.epoch(name, epoch, self.specs[name].setup.epochs, self.best.get(name))
        elif "progress" in result:
            self.view.heartbeat(name, result["progress"])

    def on_trial_error(self, iteration: int, trials: list[Trial], trial: Trial, **info) -> None:
        self._store(trial, TrialOutcome.failed(self._error(trial), epochs_run=self.epochs_seen[trial.trial_id]))

    def _error(self, trial: Trial) -> str:
        """Why the trial's attempt failed: the line its worker reported, else its worker died without a word."""
        return self.errors.pop(trial.trial_id, WORKER_DIED)

    def _seen_on(self, trial_id: str, device: str | None) -> None:
        """Count the trials running on ``device`` now; each of them has shared it with at least that many."""
        if device is None:
            return
        self.devices[trial_id] = device
        together = [t for t, d in self.devices.items() if d == device]
        for other in together:
            self.sharing[other] = max(self.sharing[other], len(together))

    def _store(self, trial: Trial, outcome: TrialOutcome) -> None:
        """Join the trial's setup, outcome and placement into its row (the one place a row is made) and store it."""
        self.devices.pop(trial.trial_id, None)
        placement = self.placements.pop(trial.trial_id, None) or Placement()
        if trial.trial_id in self.stored:
            return   # a retry after the row was stored (the worker died after its final report)
        placement = placement.with_(gpu_fraction=self.gpu_fraction, attempts=max(self.attempts[trial.trial_id], 1),
                                    trials_sharing_device=self.sharing.get(trial.trial_id) or None)
        name = _cell_name(trial)
        row = TrialRow(sweep=self.sweep, setup=self.specs[name].setup, outcome=outcome, placement=placement)
        try:
            attempt = self.store.put_trial(row)
        except (ResultsError, OSError) as exc:
            # Raising here would make Tune stop every running trial; the other cells go on instead.
            self.unstored.append(f"{name}: {exc}")
            self.view.trial_ended(name, f"{name}: {row.status}, but its row could not be stored: {exc}", failed=True)
            return
        self.stored.add(trial.trial_id)
        self.statuses[row.status] += 1
        if row.status != "failed":
            self._discard_checkpoints(trial)
        if attempt > 1:
            self.view.note(f"{name}: stored as attempt {attempt}; the earlier attempts stay on record")
        if row.status == "failed":
            self.failures.append(f"{name}: {outcome.error}")
            self.view.note(f"{name}: details in {trial.error_file}")
        acc = f" acc {outcome.test_acc:.4f}" if outcome.test_acc is not None else ""
        if outcome.resumed_from_epoch:
            acc += f" (went on from its epoch-{outcome.resumed_from_epoch} checkpoint)"
        self.view.trial_ended(name, f"{name}: {outcome.status}{acc}{' — ' + outcome.error if outcome.error else ''}",
                              failed=outcome.status != "ok")


    def _discard_checkpoints(self, trial: Trial) -> None:
        """Remove the stored trial's checkpoints, its own and the one it went on from: they are not needed again."""
        spec = self.specs[_cell_name(trial)]
        try:
            if trial.checkpoint is not None:
                discard(trial.checkpoint)
            if spec.resume_from:
                discard(tune.Checkpoint(spec.resume_from))
        except OSError as exc:
            self.view.note(f"{spec.cell}: its checkpoints could not be removed ({exc}); they take space, nothing else")


def _cell_name(trial: Trial) -> str:
    return trial.config["cell"]
