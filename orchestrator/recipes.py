"""A recipe (``archs.Recipe``, registered beside each architecture) made into a loss, an optimizer and a schedule."""

from __future__ import annotations

import math

import torch
from torch import nn

from archs import Recipe


def make_loss(recipe: Recipe) -> nn.Module:
    return nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)


def make_optimizer(recipe: Recipe, model: nn.Module) -> torch.optim.Optimizer:
    # Weight decay on weights only: decaying biases and BatchNorm affine parameters only hurts.
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": recipe.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=recipe.lr, momentum=0.9, nesterov=True)
    return torch.optim.AdamW(groups, lr=recipe.lr)


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
