"""The sweep: one Ray Tune grid over (architecture, dataset, seed), results written as they arrive.

The driver plans the cells (skipping those the results directory already holds as ok), connects
to Ray (in-process with ``local``, or an existing cluster by ``address``), submits one
``tune.Tuner`` grid and blocks. ``ResultsCallback`` runs on the driver and stores every finished
trial's row atomically the moment Tune hands it over, so a driver that dies loses no finished cell
and a re-run trains only what is missing.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

import pandas as pd
import ray
from ray import tune
from ray.tune import Callback
from ray.tune.experiment import Trial

from orchestrator import data
from orchestrator.progress import LineView
from orchestrator.results import ResultsError, ResultStore
from orchestrator.trainable import run_trial
from orchestrator.trial import Budget, Cell, EpochRow, TrialRow, TrialSpec, training_columns

DEFAULT_GPU_FRACTION = 0.25
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Fault|Exit|Interrupt)\b")


class SweepError(Exception):
    """The sweep cannot start: a one-line message for the user."""


@dataclass
class SweepPlan:
    """A sweep as the user asked for it: its grid, the budget every trial shares, and its resources."""

    name: str
    archs: list[str]
    datasets: list[str]
    seeds: int = 1
    budget: Budget = field(default_factory=Budget)
    data_dir: str | None = None           # absolute, or None: data.default_root() on each node
    download: bool = False
    plugins: tuple[str, ...] = ()         # as plugins.resolve() gives them
    gpus_per_trial: float | None = None   # None: DEFAULT_GPU_FRACTION when the cluster has GPUs, else 0
    cpus_per_trial: float = 1.0
    max_concurrent: int | None = None
    max_failures: int = 1
    storage: str | None = None            # Ray Tune storage; None: <results>/ray
    force: bool = False

    def cells(self) -> list[Cell]:
        return [Cell(a, d, s) for a in self.archs for d in self.datasets for s in range(self.seeds)]

    def trial(self, cell: Cell) -> TrialSpec:
        """The spec of ``cell``'s trial: the one place a TrialSpec is made."""
        return TrialSpec(cell=cell, budget=self.budget, data_dir=self.data_dir, download=self.download,
                         threads=max(int(self.cpus_per_trial), 1), plugins=self.plugins)


@dataclass
class SweepOutcome:
    planned: int          # trials submitted
    skipped: int          # cells that already had an ok row
    statuses: Counter     # rows stored by this run, by status
    failures: list[str]
    unstored: list[str] = field(default_factory=list)   # trials that ended but whose row could not be written

    @property
    def missing(self) -> int:
        """Submitted trials that ended without a row: the sweep was interrupted."""
        return self.planned - sum(self.statuses.values()) - len(self.unstored)


def connect(local: bool, address: str | None) -> None:
    """Start Ray in-process (``local``) or join the cluster at ``address``; SweepError if unreachable."""
    if ray.is_initialized():
        return
    if local:
        ray.init(address="local", include_dashboard=False, log_to_driver=False, configure_logging=False)
        return
    _check_reachable(address)
    try:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        # Ray wraps the cause (an AuthenticationError for a missing or wrong token) in a generic error.
        raise SweepError(f"cannot connect to Ray at {address!r}: {_last_line(str(exc.__cause__ or exc))}") from None


def _check_reachable(address: str | None) -> None:
    """Fail fast, before Ray's own minute of retries, when a host:port address does not answer."""
    if not address or address == "auto":
        return
    try:
        parsed = urlparse(address if "://" in address else f"ray://{address}")
        host, port = parsed.hostname, parsed.port   # ValueError: bad IPv6 brackets, port not in 0..65535
    except ValueError:
        host = port = None
    if host is None or port is None:
        raise SweepError(f"bad --address {address!r}; valid: auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        raise SweepError(f"cannot reach Ray at {address!r}: {exc.strerror or exc}") from None


def resolve_gpus(requested: float | None, local: bool, log: Callable[[str], None]) -> float:
    """The GPU share per trial: as requested, else DEFAULT_GPU_FRACTION where the cluster has GPUs, else 0."""
    if requested is not None:
        return requested
    if ray.cluster_resources().get("GPU", 0):
        return DEFAULT_GPU_FRACTION
    if not local:
        log("the cluster has no GPU now, so trials run on CPU; an autoscaling cluster adds GPU nodes only "
            f"for trials that ask for them: pass --gpus-per-trial {DEFAULT_GPU_FRACTION}")
    return 0.0


def run_sweep(plan: SweepPlan, store: ResultStore, *, local: bool, address: str | None,
              view: LineView | None = None,
              prepare: Callable[[list[Cell]], None] | None = None) -> SweepOutcome:
    """Run the cells of ``plan`` that ``store`` lacks; block until every trial has ended.

    ``prepare`` is called with the cells that will run, after the budget check and before Ray starts
    (the CLI fetches their datasets there, so a refused or finished sweep downloads nothing).
    """
    view = view or LineView()
    if not plan.force:
        check_same_budget(plan, store)
    done = set() if plan.force else store.done_cells(plan.name)
    cells = [c for c in plan.cells() if (c.arch, c.dataset, c.seed) not in done]
    skipped = len(plan.cells()) - len(cells)
    if skipped:
        view.note(f"{skipped} of {len(plan.cells())} cells of sweep {plan.name!r} already have an ok row: skipped")
    if not cells:
        return SweepOutcome(planned=0, skipped=skipped, statuses=Counter(), failures=[])
    if prepare is not None:
        prepare(cells)

    connect(local, address)
    _quiet_tune()
    gpus = resolve_gpus(plan.gpus_per_trial, local, view.note)
    storage = _storage_uri(plan.storage) if plan.storage else str((store.root / "ray").resolve())
    callback = ResultsCallback(store, plan.name, gpus, view)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    tuner = tune.Tuner(
        tune.with_resources(run_trial, {"cpu": plan.cpus_per_trial, "gpu": gpus}),
        param_space={"trial": tune.grid_search([plan.trial(cell) for cell in cells])},
        # Reusing a trial's worker process for the next trial saves a fresh process's imports
        # (torch, torchvision, Ray Tune: about 3.5 s a trial; BENCHMARKS.md, "Sweep overhead").
        tune_config=tune.TuneConfig(max_concurrent_trials=plan.max_concurrent, reuse_actors=True),
        run_config=tune.RunConfig(
            name=f"{plan.name}-{stamp}",
            storage_path=storage,
            failure_config=tune.FailureConfig(max_failures=plan.max_failures),
            callbacks=[callback],
            verbose=0,
        ),
    )
    view.note(f"sweep {plan.name!r}: {len(cells)} trials, {plan.cpus_per_trial:g} CPU + {gpus:g} GPU each, "
              f"Ray storage {storage}")
    view.start(len(cells))
    try:
        tuner.fit()
    finally:
        view.stop()
    return SweepOutcome(planned=len(cells), skipped=skipped, statuses=callback.statuses,
                        failures=callback.failures, unstored=callback.unstored)


def _storage_uri(storage: str) -> str:
    """``storage`` as Tune takes it: a URI (``s3://...``) as given, a local path made absolute."""
    return storage if "://" in storage else str(Path(storage).expanduser().resolve())


# What a resumed row must share with this run, by column, and how the refusal names each.
_COMPARED = {"epochs": "epochs", "batch_size": "batch size", "lr": "lr", "optimizer": "optimizer",
             "train_images": "train images", "test_images": "test images", "val_split": "val split",
             "weight_decay": "weight decay", "warmup_epochs": "warm-up epochs",
             "label_smoothing": "label smoothing", "augment": "augment"}
_COUNTS = ("epochs", "batch_size", "train_images", "test_images")


def check_same_budget(plan: SweepPlan, store: ResultStore) -> None:
    """SweepError if the sweep's ok rows were trained on another budget or recipe than this run asks for.

    Skipping them would mix budgets in one table; a new --name or --force is the user's call. The
    images compared are those drawn from each split (a training sample includes its validation part).
    A column an older schema did not record is taken as asked.
    """
    trials = store.trials()
    ok = trials[(trials["sweep"] == plan.name) & (trials["status"] == "ok")
                & trials["arch"].isin(plan.archs) & trials["dataset"].isin(plan.datasets)]
    budget = plan.budget
    for row in ok.itertuples():
        spec = data.spec(row.dataset)
        asked = {**training_columns(plan.trial(Cell(row.arch, row.dataset, row.seed))),
                 "train_images": min(budget.train_limit or spec.train_size, spec.train_size),
                 "test_images": min(budget.test_limit or spec.test_size, spec.test_size),
                 "val_split": budget.val_split}
        recorded = {column: getattr(row, column) for column in _COMPARED}
        recorded["train_images"] += 0 if pd.isna(row.val_images) else row.val_images
        # Counts read back as floats where a failed row left its column null: show them as counts.
        recorded |= {name: int(recorded[name]) for name in _COUNTS if not pd.isna(recorded[name])}
        asked["lr"], recorded["lr"] = round(asked["lr"], 12), round(recorded["lr"], 12)
        differ = [name for name, value in recorded.items() if not pd.isna(value) and value != asked[name]]
        if differ:
            held = ", ".join(f"{_COMPARED[name]} {recorded[name]}" for name in differ)
            wanted = ", ".join(f"{_COMPARED[name]} {asked[name]}" for name in differ)
            raise SweepError(
                f"sweep {plan.name!r} already has {row.arch}/{row.dataset}/seed{row.seed} trained with {held}, "
                f"and this run asks for {wanted}: use another --name, or --force to train those cells again")


def _quiet_tune() -> None:
    """Leave the terminal to the sweep's view: no Tune status tables, no trial tracebacks.

    Each failure still gets a line from the callback that names Tune's error file; Tune's other
    warnings (such as trials waiting for resources the cluster lacks) still show.
    """
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")   # the legacy reporter is silent at verbose=0
    for name in ("ray.tune.execution.tune_controller", "ray.tune.tune"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


class ResultsCallback(Callback):
    """Runs on the driver: feeds the view and stores each trial's row as soon as it ends."""

    def __init__(self, store: ResultStore, sweep: str, gpu_fraction: float, view: LineView) -> None:
        self.store = store
        self.sweep = sweep
        self.gpu_fraction = gpu_fraction
        self.view = view
        self.epochs_seen: Counter = Counter()
        self.attempts: Counter = Counter()
        self.best: dict[str, float] = {}
        self.devices: dict[str, str] = {}        # trial id -> its device ("node/cpu:", "node/cuda:0"), while running
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
        self.view.note(f"{_cell_name(trial)}: {_error_line(trial)}; retrying (details: {trial.error_file})")

    def on_trial_result(self, iteration: int, trials: list[Trial], trial: Trial, result: dict, **info) -> None:
        name = _cell_name(trial)
        self._seen_on(trial.trial_id, result.get("device_key"))
        if "row" in result:
            row: TrialRow = result["row"]
            self._store(trial, row.with_(hostname=result.get("hostname"), node_ip=result.get("node_ip")))
        elif "epoch" in result:
            epoch: EpochRow = result["epoch"]
            self.epochs_seen[trial.trial_id] += 1
            score = epoch.val_acc if epoch.val_acc is not None else epoch.test_acc
            if score is not None:
                self.best[name] = max(self.best.get(name, 0.0), score)
            self.view.epoch(name, epoch, _spec(trial).recipe.epochs, self.best.get(name))
        elif "progress" in result:
            self.view.heartbeat(name, result["progress"])

    def on_trial_error(self, iteration: int, trials: list[Trial], trial: Trial, **info) -> None:
        self._store(trial, TrialRow.failed(_spec(trial), _error_line(trial),
                                           epochs_run=self.epochs_seen[trial.trial_id]))

    def _seen_on(self, trial_id: str, device: str | None) -> None:
        """Count the trials running on ``device`` now; each of them has shared it with at least that many."""
        if device is None:
            return
        self.devices[trial_id] = device
        together = [t for t, d in self.devices.items() if d == device]
        for other in together:
            self.sharing[other] = max(self.sharing[other], len(together))

    def _store(self, trial: Trial, row: TrialRow) -> None:
        self.devices.pop(trial.trial_id, None)
        if trial.trial_id in self.stored:
            return   # a retry after the row was stored (the worker died after its final report)
        row = row.with_(sweep=self.sweep, gpu_fraction=self.gpu_fraction,
                        attempts=max(self.attempts[trial.trial_id], 1),
                        trials_sharing_device=self.sharing.get(trial.trial_id) or None)
        name = _cell_name(trial)
        try:
            kept = self.store.put_trial(row)
        except (ResultsError, OSError) as exc:
            # Raising here would make Tune stop every running trial; the other cells go on instead.
            self.unstored.append(f"{name}: {exc}")
            self.view.trial_ended(name, f"{name}: {row.status}, but its row could not be stored: {exc}", failed=True)
            return
        self.stored.add(trial.trial_id)
        self.statuses[row.status] += 1
        if not kept:
            self.view.note(f"{name}: {row.status} this time; the cell's earlier ok row is kept")
        if row.status == "failed":
            self.failures.append(f"{name}: {row.error}")
            self.view.note(f"{name}: details in {trial.error_file}")
        acc = f" acc {row.test_acc:.4f}" if row.test_acc is not None else ""
        self.view.trial_ended(name, f"{name}: {row.status}{acc}{' — ' + row.error if row.error else ''}",
                              failed=row.status != "ok")


def _spec(trial: Trial) -> TrialSpec:
    return trial.config["trial"]


def _cell_name(trial: Trial) -> str:
    return str(_spec(trial).cell)


def _error_line(trial: Trial) -> str:
    """The exception line (``Type: message``) of the trial's latest failure, from Tune's error.txt.

    Read as text from the driver's copy: ``trial.get_error()`` reads storage, which Tune has not yet
    synced when the callback runs, and the pickled error is never loaded.
    """
    try:
        text = Path(trial.error_file).read_text(errors="replace")
    except (OSError, TypeError):
        return "trial failed (Ray recorded no error text)"
    latest = re.split(r"^Failure # \d+.*$", text, flags=re.M)[-1]
    lines = [_ANSI.sub("", line).rstrip() for line in latest.splitlines()]
    lines = [line for line in lines if line and not line[0].isspace()]
    for line in lines:
        if _EXCEPTION_LINE.match(line) and not line.startswith("ray.exceptions.RayTaskError"):
            return re.sub(r"^(\w+\.)+(?=\w+:)", "", line)
    return next((line for line in lines if not line.startswith("ray::")), "trial failed")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
