"""Per-architecture training recipes: optimizer, learning-rate schedule, weight decay, epochs, batch size.

Every recipe warms the learning rate up linearly over the first ``warmup_epochs`` (at most half the
run) and then follows a cosine decay to zero (Loshchilov & Hutter 2017, SGDR), stepped per batch.
Sources and the reasoning for each are in the README ("Training recipes").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import nn


@dataclass(frozen=True)
class Recipe:
    optimizer: str          # "sgd" (Nesterov momentum 0.9) or "adamw"
    lr: float               # peak learning rate at batch_size
    weight_decay: float
    epochs: int
    batch_size: int
    warmup_epochs: float = 1.0

    def with_overrides(self, *, epochs: int | None = None, batch_size: int | None = None,
                       lr: float | None = None) -> Recipe:
        """The recipe with the given fields replaced.

        A new batch size rescales the learning rate: linearly for SGD (Goyal et al. 2017), by the
        square root for AdamW, whose update size does not grow with the gradient's.
        """
        new = self
        if batch_size is not None and batch_size != self.batch_size:
            ratio = batch_size / self.batch_size
            scale = ratio if self.optimizer == "sgd" else math.sqrt(ratio)
            new = replace(new, batch_size=batch_size, lr=self.lr * scale)
        if epochs is not None:
            new = replace(new, epochs=epochs)
        if lr is not None:
            new = replace(new, lr=lr)
        return new


# He et al. 2016 (CIFAR ResNets): SGD momentum 0.9, lr 0.1 at batch 128, weight decay 1e-4 over
# 64k steps (lr 0.1, then 0.01 and 0.001). A cosine decay over 40 epochs (15.6k steps) replaces it.
# The shrinkage weight decay applies grows with the sum of lr x wd over the steps: about 0.34 in theirs,
# 0.08 in 40 cosine epochs at 1e-4. 5e-4 brings it back to about 0.39.
_RESNET = Recipe(optimizer="sgd", lr=0.1, weight_decay=5e-4, epochs=40, batch_size=128, warmup_epochs=2)

# The study trained every model with Keras' Adam; AdamW is its successor with decoupled decay, for the
# nets without BatchNorm, where SGD at a ResNet's lr diverges. AdamW shrinks weights by lr x wd per step,
# so its wd is on another scale than SGD's: 5e-2 (timm's default for AdamW is 5e-2 too) takes off about
# a third of the weights' size over these runs, where 5e-4 would take off under 1%.
_ADAMW_DECAY = 5e-2

RECIPES: dict[str, Recipe] = {
    "lenet5": Recipe(optimizer="adamw", lr=2e-3, weight_decay=_ADAMW_DECAY, epochs=20, batch_size=128),
    "vgg": Recipe(optimizer="adamw", lr=1e-3, weight_decay=_ADAMW_DECAY, epochs=30, batch_size=128),
    "resnet20v1": _RESNET,
    "resnet20v2": _RESNET,
    "squeezenet": Recipe(optimizer="adamw", lr=1e-3, weight_decay=_ADAMW_DECAY, epochs=30, batch_size=128),
}


def recipe_for(arch: str) -> Recipe:
    """The default recipe of ``arch``."""
    if arch not in RECIPES:
        raise ValueError(f"no training recipe for architecture {arch!r}; add one to orchestrator/recipes.py")
    return RECIPES[arch]


def make_optimizer(recipe: Recipe, model: nn.Module) -> torch.optim.Optimizer:
    # Weight decay on weights only: decaying biases and BatchNorm affine parameters only hurts.
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": recipe.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=recipe.lr, momentum=0.9, nesterov=True)
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=recipe.lr)
    raise ValueError(f"unknown optimizer {recipe.optimizer!r}; valid: sgd, adamw")


def make_schedule(recipe: Recipe, optimizer: torch.optim.Optimizer,
                  total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up then cosine decay, as a per-step LambdaLR over ``total_steps``."""
    steps_per_epoch = total_steps / max(recipe.epochs, 1)
    warmup = min(int(recipe.warmup_epochs * steps_per_epoch), total_steps // 2)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(total_steps - warmup, 1)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
