"""Train one architecture on one dataset: the project's only training loop, with no Ray in it.

``train(config)`` loads the data, builds the model from the registry, trains with the
architecture's recipe, evaluates after every epoch, calls ``report`` with each epoch's metrics
and returns the trial's result row (the fields of ``results.TRIAL_SCHEMA`` it can know; the Ray
adapter adds where it ran). The sweep's trainable, the tests and the benchmarks all call it.
"""

from __future__ import annotations

import math
import os
import signal
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

import archs
from orchestrator import data, recipes

FAULTS = ("raise", "nan", "kill-once")
_DIVERGENCE_CHECK_STEPS = 50


@dataclass
class TrainConfig:
    arch: str
    dataset: str
    seed: int = 0
    epochs: int | None = None          # None: the recipe's
    batch_size: int | None = None      # None: the recipe's (the lr scales linearly with it)
    lr: float | None = None            # None: the recipe's
    train_limit: int | None = None     # use only the first N training images
    test_limit: int | None = None
    data_dir: str | None = None        # None: data.default_root()
    download: bool = False
    device: str | None = None          # None: "cuda" when available, else "cpu"
    amp: bool = True                   # bf16 autocast on CUDA
    channels_last: bool = True         # on CUDA
    compile: bool = False              # torch.compile the model
    threads: int | None = None         # torch intra-op threads on CPU
    # Fault injection for the fault-tolerance tests: "raise", "nan", or "kill-once:<marker file>"
    # (SIGKILL this process at the first step unless the marker exists; creates the marker).
    fault: str | None = None


class TrialFault(RuntimeError):
    """An injected fault (see TrainConfig.fault)."""


EpochReport = Callable[[dict], None]


def train(config: TrainConfig, report: EpochReport | None = None) -> dict:
    """Train ``config.arch`` on ``config.dataset`` and return the trial's result row.

    The row has ``status`` "ok", or "diverged" when the training loss or the weights became NaN/inf
    (training stops there and no accuracy is given); any other failure raises. ``row["history"]`` holds the epochs.
    ``report`` gets each epoch's history row plus ``epochs``, the number the recipe runs.
    """
    started_at = datetime.now(timezone.utc)
    wall_start = time.perf_counter()
    _check_fault(config.fault)
    torch.manual_seed(config.seed)
    device = torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    on_cuda = device.type == "cuda"
    if config.threads and not on_cuda:
        torch.set_num_threads(config.threads)
    if on_cuda:
        torch.backends.cudnn.benchmark = True
        # The process may have run another trial before (Ray reuses workers): start from an empty cache.
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)

    spec = data.spec(config.dataset)
    recipe = recipes.recipe_for(config.arch).with_overrides(
        epochs=config.epochs, batch_size=config.batch_size, lr=config.lr)
    channels_last = config.channels_last and on_cuda
    train_x, train_y = data.load_split(config.dataset, "train", config.data_dir,
                                       download=config.download, limit=config.train_limit)
    test_x, test_y = data.load_split(config.dataset, "test", config.data_dir,
                                     download=config.download, limit=config.test_limit)
    train_loader = data.DeviceLoader(train_x, train_y, spec, recipe.batch_size, device=device, train=True,
                                     seed=config.seed, channels_last=channels_last)
    test_loader = data.DeviceLoader(test_x, test_y, spec, max(recipe.batch_size, 256), device=device,
                                    train=False, channels_last=channels_last)
    if len(train_loader) == 0:
        raise ValueError(f"batch size {recipe.batch_size} is larger than the {len(train_x)} training images")

    model = archs.build(config.arch, spec.channels, spec.num_classes, spec.image_size)
    counts = archs.count_params(model)
    model = model.to(device, memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    step_model = torch.compile(model) if config.compile else model
    optimizer = recipes.make_optimizer(recipe, model)
    schedule = recipes.make_schedule(recipe, optimizer, recipe.epochs * len(train_loader))
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=on_cuda and config.amp)

    history: list[dict] = []
    divergence: str | None = None
    train_seconds, steps = 0.0, 0
    for epoch in range(1, recipe.epochs + 1):
        epoch_start = time.perf_counter()
        loss_sum, epoch_steps, finite = _train_epoch(step_model, train_loader, optimizer, schedule, autocast,
                                                     config.fault, first_step=steps == 0)
        _synchronize(device)
        epoch_seconds = time.perf_counter() - epoch_start
        train_seconds += epoch_seconds
        steps += epoch_steps
        train_loss = loss_sum / max(epoch_steps, 1)
        if not finite or not math.isfinite(train_loss):
            divergence = f"training loss became {train_loss} at epoch {epoch}"
        elif not _weights_finite(model):
            divergence = f"weights became NaN or inf at epoch {epoch}"
        # The eager model shares the compiled one's weights, and spares recompiling for eval shapes.
        accuracy = None if divergence else evaluate(model, test_loader, autocast)
        history.append(_epoch_row(epoch, train_loss, accuracy, epoch_seconds, epoch_steps, recipe, optimizer))
        if report:
            report({**history[-1], "epochs": recipe.epochs})
        if divergence:
            break

    accuracies = [h["test_acc"] for h in history if h["test_acc"] is not None]
    ok = divergence is None
    return {
        "arch": config.arch,
        "dataset": config.dataset,
        "synthetic": spec.synthetic,
        "seed": config.seed,
        "status": "ok" if ok else "diverged",
        "error": divergence,
        "test_acc": accuracies[-1] if ok else None,
        "best_test_acc": max(accuracies) if ok else None,
        "epochs": recipe.epochs,
        "epochs_run": len(history),
        "steps": steps,
        "train_images": len(train_x),
        "test_images": len(test_x),
        "train_seconds": train_seconds,
        "wall_seconds": time.perf_counter() - wall_start,
        "images_per_sec": steps * recipe.batch_size / train_seconds if train_seconds else None,
        "params_total": counts.total,
        "params_trainable": counts.trainable,
        "params_non_trainable": counts.non_trainable,
        "batch_size": recipe.batch_size,
        "lr": recipe.lr,
        "optimizer": recipe.optimizer,
        "device": torch.cuda.get_device_name(device) if on_cuda else "cpu",
        # Reserved, not allocated: what the caching allocator holds is what a GPU share must fit.
        "peak_mem_bytes": torch.cuda.max_memory_reserved(device) if on_cuda else None,
        "torch_version": torch.__version__,
        "started_at": started_at,
        "ended_at": datetime.now(timezone.utc),
        "history": history,
    }


def _train_epoch(model: nn.Module, loader: data.DeviceLoader, optimizer: torch.optim.Optimizer,
                 schedule: torch.optim.lr_scheduler.LRScheduler, autocast: torch.autocast,
                 fault: str | None, first_step: bool) -> tuple[float, int, bool]:
    """One pass over ``loader``; returns (summed loss, steps, loss stayed finite)."""
    model.train()
    loss_sum = torch.zeros((), device=next(model.parameters()).device)
    steps = 0
    for images, labels in loader:
        with autocast:
            loss = F.cross_entropy(model(images), labels)
        if first_step and steps == 0 and fault:
            loss = _inject(fault, loss)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        loss_sum += loss.detach().float()
        steps += 1
        # Checking finiteness syncs the device, so it is done every few dozen steps, not every step.
        if steps % _DIVERGENCE_CHECK_STEPS == 0 and not torch.isfinite(loss_sum):
            return float(loss_sum), steps, False
    total = float(loss_sum)
    return total, steps, math.isfinite(total)


@torch.no_grad()
def evaluate(model: nn.Module, loader: data.DeviceLoader, autocast: torch.autocast | None = None) -> float:
    """Top-1 accuracy of ``model`` over ``loader``."""
    model.eval()
    correct = torch.zeros((), dtype=torch.int64, device=next(model.parameters()).device)
    seen = 0
    for images, labels in loader:
        if autocast is not None:
            with autocast:
                logits = model(images)
        else:
            logits = model(images)
        correct += (logits.argmax(dim=1) == labels).sum()
        seen += labels.numel()
    return float(correct) / max(seen, 1)


def _epoch_row(epoch: int, train_loss: float, test_acc: float | None, seconds: float, steps: int,
               recipe: recipes.Recipe, optimizer: torch.optim.Optimizer) -> dict:
    return {
        "epoch": epoch,
        "train_loss": train_loss,
        "test_acc": test_acc,
        "epoch_seconds": seconds,
        "images_per_sec": steps * recipe.batch_size / seconds if seconds else None,
        "lr": optimizer.param_groups[0]["lr"],
    }


def _weights_finite(model: nn.Module) -> bool:
    # The last steps of an epoch can turn the weights NaN after the last loss that was checked.
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _check_fault(fault: str | None) -> None:
    if fault is not None and fault.split(":", 1)[0] not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; valid: raise, nan, kill-once:<marker file>")


def _inject(fault: str, loss: torch.Tensor) -> torch.Tensor:
    kind, _, arg = fault.partition(":")
    if kind == "raise":
        raise TrialFault("injected fault: the trial raised on purpose")
    if kind == "nan":
        return loss * float("nan")
    marker = Path(arg)
    if not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return loss
