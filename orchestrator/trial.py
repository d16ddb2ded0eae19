"""The trial contract: what goes into one trial and the row that comes out, as named types.

A ``TrialSpec`` (a ``Cell`` and a ``Budget``, plus where the data is) is built once per cell by the
sweep, travels through Ray Tune unchanged and is what ``train.train`` takes; the recipe it trains
with is resolved in one place, ``Budget.recipe_for``. ``train`` returns a ``TrialRow`` holding its
``EpochRow``s; the Ray adapter adds where it ran, the driver adds the sweep's fields, and the
results store writes it. A trial that never returned a row (it raised, or its worker died) gets
its row from ``TrialRow.failed``. Follow one trial: ``cli.sweep`` → ``SweepPlan.trials()`` →
``trainable.run_trial`` → ``train.train`` → ``sweep.ResultsCallback`` → ``ResultStore.put_trial``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone

import archs
from archs import Recipe
from orchestrator import data

STATUSES = ("ok", "diverged", "collapsed", "failed")
# Share of the training images held out for validation, unless a sweep asks for another.
DEFAULT_VAL_SPLIT = 0.1


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
    val_split: float = 0.0             # share of the training images held out, stratified, for validation
    amp: bool = True                   # bf16 autocast on CUDA
    channels_last: bool = True         # on CUDA
    compile: bool = False              # torch.compile the model

    def __post_init__(self) -> None:
        if not 0.0 <= self.val_split < 1.0:
            raise ValueError(f"val_split must be in [0, 1), got {self.val_split}")

    def recipe_for(self, arch: str, dataset: str) -> Recipe:
        """The recipe ``arch`` trains with on ``dataset`` under this budget: the only place a recipe is resolved."""
        return archs.recipe(arch).for_dataset(dataset).with_overrides(epochs=self.epochs, batch_size=self.batch_size,
                                                                      lr=self.lr)


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

    @property
    def recipe(self) -> Recipe:
        return self.budget.recipe_for(self.cell.arch, self.cell.dataset)


@dataclass(frozen=True)
class EpochRow:
    """One epoch of a trial (a row of history.parquet)."""

    epoch: int                         # 1-based
    train_loss: float
    val_acc: float | None              # None without a validation split, or once diverged
    test_acc: float | None             # None once diverged
    epoch_seconds: float               # the training steps of the epoch, not its evaluation
    images_per_sec: float | None
    lr: float                          # after the epoch's last step: the next step's rate


@dataclass(frozen=True)
class Progress:
    """A heartbeat from a running trial: where it is within its epochs. Shown, never stored."""

    epoch: int                         # the epoch being trained, 1-based
    epochs: int
    step: int                          # steps done in this epoch
    steps: int                         # steps per epoch
    images_per_sec: float
    seconds: float                     # training seconds so far


@dataclass
class TrialRow:
    """One trial's result: a row of trials.parquet (``results.TRIAL_SCHEMA``), and its epochs."""

    arch: str
    dataset: str
    seed: int
    synthetic: bool
    status: str                        # one of STATUSES
    error: str | None = None           # failed/diverged/collapsed: why, in one line
    test_acc: float | None = None      # after the last epoch; None unless ok
    best_test_acc: float | None = None  # schema 1-2 only: choosing on the test set is not done any more
    val_acc: float | None = None       # after the last epoch
    best_val_acc: float | None = None
    best_epoch: int | None = None      # the epoch of best_val_acc: the only choice made from a run
    pred_histogram: list[int] | None = None   # predicted classes over the test images, after the last epoch
    epochs: int | None = None          # asked for
    epochs_run: int | None = None
    steps: int | None = None
    train_images: int | None = None    # trained on per epoch (after --train-limit and the validation split)
    val_images: int | None = None
    test_images: int | None = None
    val_split: float | None = None
    train_seconds: float | None = None
    wall_seconds: float | None = None
    images_per_sec: float | None = None
    params_total: int | None = None
    params_trainable: int | None = None
    params_non_trainable: int | None = None
    arch_module: str | None = None     # the module that registered the architecture (a plugin's, or archs.*)
    batch_size: int | None = None
    lr: float | None = None
    optimizer: str | None = None
    weight_decay: float | None = None
    warmup_epochs: float | None = None
    label_smoothing: float | None = None
    augment: str | None = None         # the dataset's training augmentation (data.AUGMENTATIONS)
    device: str | None = None
    peak_mem_bytes: int | None = None
    torch_version: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    # Filled in by the Ray adapter and the driver:
    sweep: str | None = None
    gpu_fraction: float | None = None
    trials_sharing_device: int | None = None   # most trials seen at once on this trial's device, itself included
    node_id: str | None = None
    hostname: str | None = None
    node_ip: str | None = None
    attempts: int | None = None
    ray_version: str | None = None
    history: list[EpochRow] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {', '.join(STATUSES)}")

    @property
    def cell(self) -> Cell:
        return Cell(self.arch, self.dataset, self.seed)

    @classmethod
    def failed(cls, spec: TrialSpec, error: str, *, epochs_run: int = 0) -> TrialRow:
        """The row of a trial that ended without one of its own: it raised, or its worker died."""
        return cls(
            arch=spec.cell.arch, dataset=spec.cell.dataset, seed=spec.cell.seed,
            synthetic=data.spec(spec.cell.dataset).synthetic, status="failed", error=error,
            epochs_run=epochs_run, val_split=spec.budget.val_split, ended_at=datetime.now(timezone.utc),
            **training_columns(spec))

    def with_(self, **changes: object) -> TrialRow:
        """A copy with ``changes``: the adapter and the driver add their fields this way."""
        return replace(self, **changes)

    def record(self) -> dict[str, object]:
        """The row's columns (without the history), as the results store writes them."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "history"}

    def history_records(self) -> list[dict[str, object]]:
        return [asdict(epoch) for epoch in self.history]


def training_columns(spec: TrialSpec) -> dict[str, object]:
    """The row's columns that say how ``spec`` trains: its resolved recipe, augmentation and architecture's module."""
    recipe = spec.recipe
    return {"epochs": recipe.epochs, "batch_size": recipe.batch_size, "lr": recipe.lr, "optimizer": recipe.optimizer,
            "weight_decay": recipe.weight_decay, "warmup_epochs": recipe.warmup_epochs,
            "label_smoothing": recipe.label_smoothing, "augment": data.spec(spec.cell.dataset).augment,
            "arch_module": archs.entry(spec.cell.arch).module}
