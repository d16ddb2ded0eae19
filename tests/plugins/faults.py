"""A test plugin, loaded with ``--plugin`` like a user's: architectures that fail on purpose, and one that works.

Each faulty model behaves in eval mode (so the plugin check before Ray starts passes) and fails
once it trains: ``fault_raise`` raises, ``fault_nan`` returns NaN logits, ``fault_kill_once`` kills
its own process the first time (it creates the file named by $ARCHBENCH_TEST_KILL_MARKER, and
trains normally once that file exists), ``fault_kill_at_step`` does the same at its training step
$ARCHBENCH_TEST_KILL_AT_STEP (counted from 1 in its process), ``fault_collapse`` can only learn the class prior, so it
answers one class for every image. ``tiny_cnn`` is a plain working model.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import torch
from torch import nn

import archs

RECIPE = archs.Recipe(optimizer="adamw", lr=2e-3, weight_decay=0.0, epochs=2, batch_size=32)


class _Linear(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, image_size: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * image_size * image_size, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.fault()
        return self.net(x)

    def fault(self) -> None:
        """Nothing: subclasses fail here."""


class _Raises(_Linear):
    def fault(self) -> None:
        raise RuntimeError("injected fault: the trial raised on purpose")


class _Nan(_Linear):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = super().forward(x)
        return logits * float("nan") if self.training else logits


class _KillsOnce(_Linear):
    def fault(self) -> None:
        marker = Path(os.environ["ARCHBENCH_TEST_KILL_MARKER"])
        if not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)


class _KillsAtStep(_Linear):
    def __init__(self, in_channels: int, num_classes: int, image_size: int) -> None:
        super().__init__(in_channels, num_classes, image_size)
        self.steps = 0

    def fault(self) -> None:
        self.steps += 1
        marker = Path(os.environ["ARCHBENCH_TEST_KILL_MARKER"])
        if self.steps == int(os.environ["ARCHBENCH_TEST_KILL_AT_STEP"]) and not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)


class _Collapses(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, image_size: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bias.expand(len(x), -1) + 0 * x.flatten(1)[:, :1]


class _TinyCNN(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, image_size: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(in_channels, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4),
                                 nn.Flatten(), nn.Linear(8 * 16, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


for _name, _model in (("fault_raise", _Raises), ("fault_nan", _Nan), ("fault_kill_once", _KillsOnce),
                      ("fault_kill_at_step", _KillsAtStep), ("fault_collapse", _Collapses), ("tiny_cnn", _TinyCNN)):
    archs.register(_name, recipe=RECIPE)(_model)
