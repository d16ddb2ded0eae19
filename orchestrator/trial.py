"""The trial contract: what goes into one trial and the row that comes out, as named types.

A ``TrialSpec`` (a ``Cell`` and a ``Budget``, plus where the data is) is built once per cell by
``SweepPlan.trial``, travels through Ray Tune unchanged and is what ``train.train`` takes.

The row a trial leaves in the trials table (``results``) has three parts, each declared once, field by field,
as columns (``orchestrator.columns``):

- ``TrialSetup``, how the cell is set up to train: its cell, the resolved recipe, augmentation and
  image counts. The spec builds it once, from the plan alone, and carries it to every consumer (the
  driver's row, the resume check, the trial itself).
- ``TrialOutcome``, what training returned: ``train.train`` builds it (``TrialOutcome.failed`` when
  the trial never returned one), with its ``EpochRow``s.
- ``Placement``, where it ran: the Ray adapter reports it whole (device, node, host, Ray) with
  every report, the driver adds the share, the sharing and the attempts.

``TrialRow`` joins them under the sweep's name; the driver assembles it, the results store writes
it. Follow one trial: ``cli.sweep`` → ``SweepPlan.trial`` → ``trainable.run_trial`` →
``train.train`` → ``sweep.ResultsCallback`` → ``ResultStore.put_trial``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

import pyarrow as pa

import archs
from orchestrator import data
from orchestrator.columns import Column, column, columns_of, values_of
from orchestrator.data.specs import AUGMENTATIONS
from orchestrator.errors import ArchbenchError

STATUSES = ("ok", "diverged", "collapsed", "failed")
# Share of the training images held out for validation, unless a sweep asks for another.
DEFAULT_VAL_SPLIT = 0.1

_TIMESTAMP = pa.timestamp("us", tz="UTC")


class PlanError(ArchbenchError, ValueError):
    """A value of the plan is out of range: names the field (the CLI's option of the same name) and the value."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"{field_name} {problem}")
        self.field_name, self.problem = field_name, problem


def _at_least_one(name: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise PlanError(name, f"must be at least 1, got {value}")


def _finite_positive(name: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise PlanError(name, f"must be a finite number more than 0, got {value}")


@dataclass(frozen=True)
class Cell:
    """One cell of the grid."""

    arch: str
    dataset: str
    seed: int = 0

    def __str__(self) -> str:
        return f"{self.arch}/{self.dataset}/seed{self.seed}"


@dataclass(frozen=True)
class Budget:
    """What a trial may spend, and how: overrides of the recipe (None keeps the recipe's) and switches."""

    epochs: int | None = None
    batch_size: int | None = None      # a new batch size rescales the recipe's learning rate
    lr: float | None = None            # peak learning rate
    train_limit: int | None = None     # a class-stratified sample of this many training images
    test_limit: int | None = None      # a class-stratified sample of this many test images (the same in every cell)
    val_split: float = DEFAULT_VAL_SPLIT   # share of the training images held out, stratified, for validation
    amp: bool = True                   # bf16 autocast on CUDA
    channels_last: bool = True         # where the recipe asks for it (Recipe.channels_last), on every device
    compile: bool = False              # torch.compile the model

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "train_limit", "test_limit"):
            _at_least_one(name, getattr(self, name))
        _finite_positive("lr", self.lr)
        if not (math.isfinite(self.val_split) and 0.0 <= self.val_split < 1.0):
            raise PlanError("val_split", f"must be a number from 0 up to (not including) 1, got {self.val_split}")

    def recipe_for(self, arch: str, dataset: str) -> archs.Recipe:
        """The recipe ``arch`` trains with on ``dataset`` under this budget: the only place a recipe is resolved."""
        return archs.recipe(arch).for_dataset(dataset).with_overrides(epochs=self.epochs, batch_size=self.batch_size,
                                                                      lr=self.lr)


@dataclass(frozen=True, kw_only=True)
class TrialSetup:
    """How a cell is set up to train: everything here follows from the plan, before any data is loaded."""

    arch: str = column(pa.string(), "architecture", since=1, key=True, nullable=False)
    dataset: str = column(pa.string(), "dataset", since=1, key=True, nullable=False)
    seed: int = column(pa.int64(), "seed of the weights and the batch order", since=1, key=True, nullable=False)
    synthetic: bool = column(pa.bool_(), "trained on generated data, not the real set", since=1, nullable=False)
    epochs: int = column(pa.int64(), "epochs asked for", since=1)
    batch_size: int = column(pa.int64(), "batch size", since=1)
    lr: float = column(pa.float64(), "peak learning rate", since=1)
    optimizer: str = column(pa.string(), "sgd or adamw", since=1)
    weight_decay: float = column(pa.float64(), "weight decay, on weights only", since=4)
    warmup_epochs: float = column(pa.float64(), "epochs of linear learning-rate warm-up", since=4)
    label_smoothing: float = column(pa.float64(), "label smoothing of the loss", since=4)
    augment: str = column(pa.string(), "the training augmentation: crop_flip, crop or none (the recipe's for the "
                                       "dataset, else the dataset's)", since=4)
    arch_module: str = column(pa.string(), "the module that registered the architecture", since=3)
    val_split: float = column(pa.float64(), "share of the drawn training images held out for validation", since=3)
    train_images: int = column(pa.int64(), "images trained on per epoch (after --train-limit and the validation split)",
                               since=1, late=True)
    val_images: int = column(pa.int64(), "images held out for validation", since=3)
    test_images: int = column(pa.int64(), "images test_acc is measured on (after --test-limit)", since=2)

    @classmethod
    def of(cls, spec: TrialSpec) -> TrialSetup:
        """The setup of ``spec``: the one place a spec becomes its recorded recipe and image counts."""
        cell, budget, recipe = spec.cell, spec.budget, spec.recipe
        dataset = data.spec(cell.dataset)
        if recipe.augment is not None and recipe.augment not in AUGMENTATIONS:
            raise PlanError("archs", f"has {cell.arch}, whose recipe asks for augmentation {recipe.augment!r} on "
                                     f"{cell.dataset}; valid: {', '.join(AUGMENTATIONS)}")
        drawn = min(budget.train_limit or dataset.train_size, dataset.train_size)
        held_out = data.held_out_count(drawn, budget.val_split)
        return cls(arch=cell.arch, dataset=cell.dataset, seed=cell.seed, synthetic=dataset.synthetic,
                   epochs=recipe.epochs, batch_size=recipe.batch_size, lr=recipe.lr, optimizer=recipe.optimizer,
                   weight_decay=recipe.weight_decay, warmup_epochs=recipe.warmup_epochs,
                   label_smoothing=recipe.label_smoothing, augment=recipe.augment or dataset.augment,
                   arch_module=archs.entry(cell.arch).module, val_split=budget.val_split,
                   train_images=drawn - held_out, val_images=held_out,
                   test_images=min(budget.test_limit or dataset.test_size, dataset.test_size))

    @property
    def cell(self) -> Cell:
        return Cell(self.arch, self.dataset, self.seed)

    def differences(self, recorded: dict[str, object]) -> dict[str, tuple[object, object]]:
        """{column: (recorded, this)} where a stored row's setup differs; a column it did not record counts as equal."""
        return {name: (recorded[name], value) for name, value in values_of(self).items()
                if recorded.get(name) is not None and recorded[name] != value}


@dataclass(frozen=True)
class TrialSpec:
    """Everything one trial needs, on any node."""

    cell: Cell
    budget: Budget = field(default_factory=Budget)
    data_dir: str | None = None        # None: data.default_root() where the trial runs
    download: bool = False
    device: str | None = None          # None: "cuda" when available, else "cpu"
    threads: int | None = None         # torch intra-op threads on CPU
    plugins: tuple[str, ...] = ()      # plugin modules (names or .py paths) the trial's process imports first
    checkpoints: bool = True           # report a checkpoint after every epoch (off where storage is not shared)
    resume_from: str | None = None     # a checkpoint (path or URI) an interrupted earlier run left for this cell
    # Built once, when the spec is made (SweepPlan.trial, on the driver), and carried with it through Ray: every
    # consumer reads this one, and a recipe's bad value is refused before anything runs.
    setup: TrialSetup = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "setup", TrialSetup.of(self))

    @property
    def recipe(self) -> archs.Recipe:
        return self.budget.recipe_for(self.cell.arch, self.cell.dataset)


@dataclass(frozen=True, kw_only=True)
class EpochRow:
    """One epoch of a trial: a row of the history table."""

    epoch: int = column(pa.int64(), "1-based", since=1, key=True, nullable=False)
    train_loss: float = column(pa.float64(), "mean training loss over the epoch's steps", since=1)
    val_acc: float | None = column(pa.float64(), "validation accuracy; null without a validation split, or once "
                                                 "diverged", since=3)
    test_acc: float | None = column(pa.float64(), "test accuracy; null once diverged", since=1)
    epoch_seconds: float = column(pa.float64(), "the training steps of the epoch, not its evaluation", since=1)
    images_per_sec: float | None = column(pa.float64(), "training images per second of the epoch", since=1)
    lr: float = column(pa.float64(), "after the epoch's last step: the next step's rate", since=1)


@dataclass(frozen=True)
class Progress:
    """A heartbeat from a running trial: where it is within its epochs. Shown, never stored."""

    epoch: int                         # the epoch being trained, 1-based
    epochs: int
    step: int                          # steps done in this epoch
    steps: int                         # steps per epoch
    images_per_sec: float
    seconds: float                     # training seconds so far


@dataclass(frozen=True, kw_only=True)
class TrialOutcome:
    """What training returned (``train.train``), or why there is nothing (``failed``), with the epochs run."""

    status: str = column(pa.string(), "ok, diverged, collapsed or failed", since=1, nullable=False)
    error: str | None = column(pa.string(), "why, in one line, unless ok", since=1, default=None)
    test_acc: float | None = column(pa.float64(), "after the last epoch run; null unless ok", since=1, default=None)
    best_test_acc: float | None = column(pa.float64(), "schemas 1-2 only (chosen on the test set); null since 3",
                                         since=1, default=None)
    val_acc: float | None = column(pa.float64(), "after the last epoch run; null without a validation split", since=3,
                                   default=None)
    best_val_acc: float | None = column(pa.float64(), "the best epoch's validation accuracy", since=3, default=None)
    best_epoch: int | None = column(pa.int64(), "the epoch of best_val_acc: the only choice made from a run", since=3,
                                    default=None)
    pred_histogram: list[int] | None = column(pa.list_(pa.int64()), "test predictions per class after the last epoch",
                                              since=3, default=None)
    val_pred_histogram: list[int] | None = column(
        pa.list_(pa.int64()), "validation predictions per class after the last epoch: what collapse is judged on "
                              "where there is a validation split", since=5, default=None)
    train_pred_histogram: list[int] | None = column(
        pa.list_(pa.int64()), "predictions per class of the last epoch's training steps (training mode, counted as "
                              "the weights moved): what collapse is judged on without a validation split", since=6,
        default=None)
    unpredicted_classes: list[int] | None = column(
        pa.list_(pa.int64()), "classes the judged predictions (validation, else training; test in schema 5) never "
                              "named; the run keeps its accuracy but is flagged", since=5, default=None)
    epochs_run: int | None = column(pa.int64(), "epochs trained (fewer than asked once diverged)", since=1,
                                    default=None)
    steps: int | None = column(pa.int64(), "optimizer steps taken", since=1, default=None)
    train_seconds: float | None = column(pa.float64(), "training loop only (no data load, no evaluation)", since=1,
                                         default=None)
    wall_seconds: float | None = column(pa.float64(), "whole trial: data load, build, train, evaluation (of the work "
                                                      "kept: a resumed trial adds its checkpoint's)", since=1,
                                        default=None)
    resumed_from_epoch: int | None = column(pa.int64(), "the epoch whose checkpoint the trial went on from after an "
                                                        "interruption; null when it ran from the start", since=5,
                                            late=True, default=None)
    images_per_sec: float | None = column(pa.float64(), "training images / train_seconds", since=1, default=None)
    params_total: int | None = column(pa.int64(), "parameters, counted as Keras does", since=1, default=None)
    params_trainable: int | None = column(pa.int64(), "parameters that take gradients", since=1, default=None)
    params_non_trainable: int | None = column(pa.int64(), "frozen parameters and BatchNorm statistics", since=1,
                                                default=None)
    peak_mem_bytes: int | None = column(pa.int64(), "peak device memory reserved; null on CPU", since=1, default=None)
    torch_version: str | None = column(pa.string(), "PyTorch that trained it", since=1, default=None)
    started_at: datetime | None = column(_TIMESTAMP, "when training started", since=1, default=None)
    ended_at: datetime | None = column(_TIMESTAMP, "when the trial ended", since=1, default=None)
    history: tuple[EpochRow, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {', '.join(STATUSES)}")

    @classmethod
    def failed(cls, error: str, *, epochs_run: int = 0) -> TrialOutcome:
        """The outcome of a trial that ended without one of its own: it raised, or its worker died."""
        return cls(status="failed", error=error, epochs_run=epochs_run, ended_at=datetime.now(timezone.utc))


@dataclass(frozen=True, kw_only=True)
class Placement:
    """Where a trial ran: the Ray adapter fills the device, node, host and Ray, the driver the rest."""

    device: str | None = column(pa.string(), 'e.g. "NVIDIA H200" or "cpu"', since=1, default=None)
    gpu_fraction: float | None = column(pa.float64(), "GPUs the trial asked Ray for (0 on CPU)", since=1, default=None)
    trials_sharing_device: int | None = column(pa.int64(), "most trials seen at once on its device, itself included",
                                               since=3, default=None)
    node_id: str | None = column(pa.string(), "Ray node", since=1, default=None)
    hostname: str | None = column(pa.string(), "host of the node", since=1, default=None)
    node_ip: str | None = column(pa.string(), "IP address of the node", since=1, default=None)
    attempts: int | None = column(pa.int64(), "1 + retries Ray made for this trial", since=1, default=None)
    ray_version: str | None = column(pa.string(), "Ray that ran it", since=1, default=None)

    def with_(self, **changes: object) -> Placement:
        return replace(self, **changes)


def _first_attempts(table: pa.Table) -> pa.Array:
    # Before attempts were kept, a cell had one row: its first.
    return pa.array([1] * len(table), pa.int64())


@dataclass(frozen=True, kw_only=True)
class TrialRow:
    """One finished attempt of a cell: a row of the trials table, and its epochs in ``outcome.history``."""

    sweep: str = column(pa.string(), "the sweep's name", since=1, key=True, nullable=False)
    setup: TrialSetup
    outcome: TrialOutcome
    placement: Placement = field(default_factory=Placement)
    attempt: int | None = column(pa.int64(), "which finished attempt of the cell this is (1, 2, ...): every attempt "
                                             "stays on record; the store numbers them", key=True, nullable=False,
                                 since=5, derive=_first_attempts, default=None)

    @staticmethod
    def columns() -> tuple[Column, ...]:
        """The row's columns in order: its key (sweep, cell, attempt), then the setup's, the outcome's, the
        placement's."""
        own, setup = columns_of(TrialRow, "key"), columns_of(TrialSetup, "setup")
        key = [*own[:1], *(c for c in setup if c.group == "key"), *own[1:]]
        return (*key, *(c for c in setup if c.group != "key"), *columns_of(TrialOutcome, "outcome"),
                *columns_of(Placement, "placement"))

    @property
    def cell(self) -> Cell:
        return self.setup.cell

    @property
    def status(self) -> str:
        return self.outcome.status

    def record(self) -> dict[str, object]:
        """The row's columns (without the history), as the results store writes them."""
        return {**values_of(self), **values_of(self.setup), **values_of(self.outcome), **values_of(self.placement)}

    def history_records(self) -> list[dict[str, object]]:
        """The epochs as rows of the history table, each with the row's key."""
        record = self.record()
        key = {c.name: record[c.name] for c in self.columns() if c.group == "key"}
        return [{**key, **values_of(epoch)} for epoch in self.outcome.history]
