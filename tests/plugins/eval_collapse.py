"""A test plugin: ``eval_collapse`` learns as a linear classifier in training mode and answers class 0 for
every image in eval mode, so its test (and validation) predictions collapse while its training ones do not."""

from __future__ import annotations

import torch
from torch import nn

import archs

RECIPE = archs.Recipe(optimizer="adamw", lr=2e-3, weight_decay=0.0, epochs=2, batch_size=32)


@archs.register("eval_collapse", recipe=RECIPE)
class _EvalCollapse(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, image_size: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * image_size * image_size, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.net(x)
        if self.training:
            return logits
        return torch.zeros_like(logits).index_fill(1, torch.tensor([0], device=x.device), 1.0)
