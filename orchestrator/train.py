"""Train one architecture on one dataset: the project's only training loop, with no Ray in it.

``train(spec)`` loads the data, holds out the validation split, builds the model from the registry,
trains with the recipe the spec resolves, evaluates validation and test accuracy after every epoch,
calls ``on_epoch`` with each epoch's row (and ``on_progress`` every few seconds within an epoch) and
returns the trial's ``TrialOutcome``. After each epoch it also hands ``on_checkpoint`` a
``checkpoint.TrainState``; given one as ``resume``, it goes on from there exactly as an uninterrupted
run would have, so an interrupted trial loses at most the epoch it was in. The sweep's trainable, the tests
and the benchmarks all call it.

A trial ends in one of three statuses: ``ok``; ``diverged`` when the training loss or the weights
became NaN/inf (training stops there); ``collapsed`` when, after training, ``collapse.collapse_reason``
finds its loss at the class prior's or its judged predictions degenerate (one class, half the classes
or fewer, or an accuracy no better than the most frequent class's share plus a margin). The judged
split is validation where there is one, else the last epoch's training steps, whose predictions are
counted on the device as they train (read once, at the epoch's end, into ``train_pred_histogram``):
the test set chooses nothing. Only ``ok`` carries a test accuracy; any other failure raises. An
``ok`` run whose judged predictions never name some class keeps its accuracy and lists those
classes in ``unpredicted_classes``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

import torch
from torch import nn

import archs
from orchestrator import data, recipes
from orchestrator.checkpoint import TrainState
from orchestrator.collapse import Judged, collapse_reason, prior_entropy
from orchestrator.trial import EpochRow, Progress, TrialOutcome, TrialSetup, TrialSpec

_DIVERGENCE_CHECK_STEPS = 50
# Like the --test-limit sample (data.load_split), the validation hold-out does not depend on the
# trial's seed: every cell and seed of a sweep is validated on the same images.
SPLIT_SEED = 0
PROGRESS_SECONDS = 5.0

EpochHook = Callable[[EpochRow], None]
ProgressHook = Callable[[Progress], None]
CheckpointHook = Callable[[TrainState], None]


def train(spec: TrialSpec, on_epoch: EpochHook | None = None, on_progress: ProgressHook | None = None,
          progress_every: float = PROGRESS_SECONDS, on_checkpoint: CheckpointHook | None = None,
          resume: TrainState | None = None) -> TrialOutcome:
    """Train ``spec.cell`` within ``spec.budget`` and return its outcome (``outcome.history`` holds the epochs).

    ``resume``: a state of the same setup to go on from (ValueError for another setup). The state
    ``on_checkpoint`` gets holds the live model's and optimizer's tensors: save it during the call.
    """
    setup = spec.setup
    if resume is not None and resume.setup != setup:
        raise ValueError(f"the checkpoint of {spec.cell} was trained as another setup: "
                         f"{', '.join(setup.differences(resume.setup.__dict__))} differ")
    started_at = resume.started_at if resume else datetime.now(timezone.utc)
    wall_start = time.perf_counter()
    cell, budget, recipe = spec.cell, spec.budget, spec.recipe
    torch.manual_seed(cell.seed)
    device = torch.device(spec.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    on_cuda = device.type == "cuda"
    if spec.threads and not on_cuda:
        torch.set_num_threads(spec.threads)
    if on_cuda:
        torch.backends.cudnn.benchmark = True
        # The process may have run another trial before (Ray reuses workers): start from an empty cache.
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)

    dataset = data.spec(cell.dataset)
    channels_last = budget.channels_last and recipe.channels_last
    train_x, train_y = data.load_split(cell.dataset, "train", spec.data_dir, download=spec.download,
                                       limit=budget.train_limit)
    test_x, test_y = data.load_split(cell.dataset, "test", spec.data_dir, download=spec.download,
                                     limit=budget.test_limit)
    val_x = val_y = None
    if budget.val_split:
        keep, held_out = data.stratified_split(train_y, budget.val_split, seed=SPLIT_SEED)
        train_x, train_y, val_x, val_y = train_x[keep], train_y[keep], train_x[held_out], train_y[held_out]

    def loader(images: torch.Tensor, labels: torch.Tensor, train: bool) -> data.DeviceLoader:
        batch = recipe.batch_size if train else max(recipe.batch_size, 256)
        return data.DeviceLoader(images, labels, dataset, batch, device=device, train=train, seed=cell.seed,
                                 channels_last=channels_last, augment=setup.augment)

    train_loader, test_loader = loader(train_x, train_y, True), loader(test_x, test_y, False)
    val_loader = loader(val_x, val_y, False) if val_x is not None and len(val_x) else None
    _check_counts(setup, len(train_x), len(val_x) if val_x is not None else 0, len(test_x))
    if len(train_loader) == 0:
        raise ValueError(f"batch size {recipe.batch_size} is larger than the {len(train_x)} training images")

    model = archs.build(cell.arch, dataset.channels, dataset.num_classes, dataset.image_size)
    counts = archs.count_params(model)
    model = model.to(device, memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    step_model = torch.compile(model) if budget.compile else model
    loss_fn = recipes.make_loss(recipe)
    optimizer = recipes.make_optimizer(recipe, model)
    schedule = recipes.make_schedule(recipe, optimizer, recipe.epochs * len(train_loader))
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=on_cuda and budget.amp)
    heartbeat = _Heartbeat(on_progress, progress_every, recipe.epochs, len(train_loader), recipe.batch_size)

    history: list[EpochRow] = []
    divergence: str | None = None
    histogram: list[int] | None = None
    val_histogram: list[int] | None = None
    train_histogram: list[int] | None = None
    train_correct: int | None = None
    train_seconds, steps, wall_before = 0.0, 0, 0.0
    if resume is not None:
        model.load_state_dict(resume.model)
        optimizer.load_state_dict(resume.optimizer)
        schedule.load_state_dict(resume.schedule)
        torch.set_rng_state(resume.torch_rng)
        if on_cuda and resume.cuda_rng is not None:
            torch.cuda.set_rng_state(resume.cuda_rng, device)
        train_loader.set_epoch(resume.epoch)
        history, histogram, val_histogram = list(resume.history), resume.histogram, resume.val_histogram
        train_histogram, train_correct = resume.train_histogram, resume.train_correct
        train_seconds, steps, wall_before = resume.train_seconds, resume.steps, resume.wall_seconds
    for epoch in range(len(history) + 1, recipe.epochs + 1):
        epoch_start = time.perf_counter()
        heartbeat.start_epoch(epoch, train_seconds)
        # The last epoch's training predictions are counted: what collapse is judged on without validation.
        epoch_pass = _train_epoch(step_model, train_loader, loss_fn, optimizer, schedule, autocast, heartbeat,
                                  dataset.num_classes if epoch == recipe.epochs else None)
        _synchronize(device)
        epoch_seconds = time.perf_counter() - epoch_start
        epoch_steps, train_histogram, train_correct = epoch_pass.steps, epoch_pass.predicted, epoch_pass.correct
        train_seconds += epoch_seconds
        steps += epoch_steps
        train_loss = epoch_pass.loss_sum / max(epoch_steps, 1)
        if not epoch_pass.finite or not math.isfinite(train_loss):
            divergence = f"training loss became {train_loss} at epoch {epoch}"
        elif not _weights_finite(model):
            divergence = f"weights became NaN or inf at epoch {epoch}"
        val_acc = test_acc = None
        if not divergence:
            # The eager model shares the compiled one's weights, and spares recompiling for eval shapes.
            if val_loader:
                val_acc, val_histogram = evaluate(model, val_loader, autocast, dataset.num_classes)
            test_acc, histogram = evaluate(model, test_loader, autocast, dataset.num_classes)
        rate = epoch_steps * recipe.batch_size / epoch_seconds if epoch_seconds else None
        history.append(EpochRow(epoch=epoch, train_loss=train_loss, val_acc=val_acc, test_acc=test_acc,
                                epoch_seconds=epoch_seconds, images_per_sec=rate, lr=optimizer.param_groups[0]["lr"]))
        if on_epoch:
            on_epoch(history[-1])
        if divergence:
            break
        if on_checkpoint:
            on_checkpoint(TrainState(
                setup=setup, epoch=epoch, model=model.state_dict(), optimizer=optimizer.state_dict(),
                schedule=schedule.state_dict(), torch_rng=torch.get_rng_state(),
                cuda_rng=torch.cuda.get_rng_state(device) if on_cuda else None, history=tuple(history),
                train_seconds=train_seconds, wall_seconds=wall_before + time.perf_counter() - wall_start, steps=steps,
                histogram=histogram, val_histogram=val_histogram, train_histogram=train_histogram,
                train_correct=train_correct, started_at=started_at, saved_at=datetime.now(timezone.utc)))

    status, error, unpredicted = "ok", None, None
    if divergence:
        status, error = "diverged", divergence
    else:
        judged = None       # only where a state an older archbench saved after the last epoch has no counts
        if val_loader:
            judged = Judged(split="validation", predicted=val_histogram,
                            true=_label_counts(val_y, dataset.num_classes), accuracy=history[-1].val_acc)
        elif train_histogram is not None:
            judged = Judged(split="training", predicted=train_histogram,
                            true=_label_counts(train_y, dataset.num_classes),
                            accuracy=train_correct / max(sum(train_histogram), 1))
        collapse = collapse_reason(judged, history[-1].train_loss, prior_entropy(train_y))
        if collapse:
            status, error = "collapsed", collapse
        unpredicted = [k for k, count in enumerate(judged.predicted) if count == 0] if judged else None
    best = max((h for h in history if h.val_acc is not None), key=lambda h: h.val_acc, default=None)
    return TrialOutcome(
        status=status, error=error,
        test_acc=history[-1].test_acc if status == "ok" else None,
        val_acc=history[-1].val_acc, best_val_acc=best.val_acc if best else None,
        best_epoch=best.epoch if best else None, pred_histogram=histogram, val_pred_histogram=val_histogram,
        train_pred_histogram=train_histogram, unpredicted_classes=unpredicted,
        epochs_run=len(history), steps=steps, train_seconds=train_seconds,
        wall_seconds=wall_before + time.perf_counter() - wall_start,
        resumed_from_epoch=resume.epoch if resume else None,
        images_per_sec=steps * recipe.batch_size / train_seconds if train_seconds else None,
        params_total=counts.total, params_trainable=counts.trainable, params_non_trainable=counts.non_trainable,
        # Reserved, not allocated: what the caching allocator holds is what a GPU share must fit.
        peak_mem_bytes=torch.cuda.max_memory_reserved(device) if on_cuda else None,
        torch_version=torch.__version__, started_at=started_at, ended_at=datetime.now(timezone.utc),
        history=tuple(history),
    )


def _check_counts(setup: TrialSetup, train_images: int, val_images: int, test_images: int) -> None:
    """ValueError unless the data loaded has the sizes its dataset's spec promised (the row records those)."""
    loaded = (train_images, val_images, test_images)
    promised = (setup.train_images, setup.val_images, setup.test_images)
    if loaded != promised:
        raise ValueError(f"{setup.dataset} gave {loaded[0]} training, {loaded[1]} validation and {loaded[2]} test "
                         f"images; its spec promises {promised[0]}, {promised[1]} and {promised[2]}: fix the "
                         "dataset's train_size and test_size")


def _label_counts(labels: torch.Tensor, num_classes: int) -> list[int]:
    return torch.bincount(labels, minlength=num_classes).tolist()


class _Heartbeat:
    """Calls ``on_progress`` at most every ``every`` seconds of an epoch (a clock read per step, no device sync)."""

    def __init__(self, on_progress: ProgressHook | None, every: float, epochs: int, steps: int, batch: int) -> None:
        self.on_progress, self.every, self.epochs, self.steps, self.batch = on_progress, every, epochs, steps, batch
        self.epoch, self.seconds_before, self.start, self.next = 0, 0.0, 0.0, 0.0

    def start_epoch(self, epoch: int, seconds_before: float) -> None:
        self.epoch, self.seconds_before = epoch, seconds_before
        self.start = time.perf_counter()
        self.next = self.start + self.every

    def step(self, step: int) -> None:
        if self.on_progress is None:
            return
        now = time.perf_counter()
        if now >= self.next:
            self.next = now + self.every
            elapsed = now - self.start
            self.on_progress(Progress(self.epoch, self.epochs, step, self.steps, step * self.batch / elapsed,
                                      self.seconds_before + elapsed))


@dataclass(frozen=True, kw_only=True)
class _EpochPass:
    """What one pass over the training data returned."""

    loss_sum: float
    steps: int
    finite: bool            # the loss stayed finite
    predicted: list[int] | None     # the steps' predictions per class, where counted
    correct: int | None             # the steps' predictions that named the true class, where counted


def _train_epoch(model: nn.Module, loader: data.DeviceLoader, loss_fn: nn.Module, optimizer: torch.optim.Optimizer,
                 schedule: torch.optim.lr_scheduler.LRScheduler, autocast: torch.autocast,
                 heartbeat: _Heartbeat, count_classes: int | None = None) -> _EpochPass:
    """One pass over ``loader``; given ``count_classes``, it counts the predictions its steps make."""
    model.train()
    device = next(model.parameters()).device
    loss_sum = torch.zeros((), device=device)
    # Counted on the device and read once at the end: torch.bincount would read the guesses' range back
    # to the host at every step on CUDA, scatter_add_ does not.
    predicted = torch.zeros(count_classes, dtype=torch.int64, device=device) if count_classes else None
    correct = torch.zeros((), dtype=torch.int64, device=device)
    steps = 0
    for images, labels in loader:
        with autocast:
            logits = model(images)
            loss = loss_fn(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        loss_sum += loss.detach().float()
        if predicted is not None:
            guesses = logits.detach().argmax(dim=1)
            predicted.scatter_add_(0, guesses, torch.ones_like(guesses))
            correct += (guesses == labels).sum()
        steps += 1
        heartbeat.step(steps)
        # Checking finiteness syncs the device, so it is done every few dozen steps, not every step.
        if steps % _DIVERGENCE_CHECK_STEPS == 0 and not torch.isfinite(loss_sum):
            return _EpochPass(loss_sum=float(loss_sum), steps=steps, finite=False, predicted=None, correct=None)
    total = float(loss_sum)
    counted = predicted is not None
    return _EpochPass(loss_sum=total, steps=steps, finite=math.isfinite(total),
                      predicted=predicted.tolist() if counted else None, correct=int(correct) if counted else None)


@torch.no_grad()
def evaluate(model: nn.Module, loader: data.DeviceLoader, autocast: torch.autocast | None = None,
             num_classes: int | None = None) -> tuple[float, list[int] | None]:
    """Top-1 accuracy of ``model`` over ``loader`` and, given ``num_classes``, the count of each predicted class."""
    model.eval()
    device = next(model.parameters()).device
    correct = torch.zeros((), dtype=torch.int64, device=device)
    predicted = torch.zeros(num_classes or 1, dtype=torch.int64, device=device)
    seen = 0
    for images, labels in loader:
        if autocast is not None:
            with autocast:
                logits = model(images)
        else:
            logits = model(images)
        guesses = logits.argmax(dim=1)
        correct += (guesses == labels).sum()
        if num_classes:
            predicted += torch.bincount(guesses, minlength=num_classes)[:num_classes]
        seen += labels.numel()
    return float(correct) / max(seen, 1), predicted.tolist() if num_classes else None


def _weights_finite(model: nn.Module) -> bool:
    # The last steps of an epoch can turn the weights NaN after the last loss that was checked.
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
