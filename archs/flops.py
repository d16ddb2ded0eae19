"""Training FLOPs per image (forward + backward), as ``torch.utils.flop_counter.FlopCounterMode`` counts them.

The counter counts the matrix products and convolutions (2 FLOPs per multiply-add), forward and
backward (the gradients of the weights, and of the inputs of every layer but the first, whose input
needs none); it leaves out elementwise work (ReLU, BatchNorm, pooling, the loss, the optimizer's
step), which is a few percent of these nets' arithmetic and runs far from the machine's peak anyway.
Divided into a measured images/s, it gives the achieved FLOP/s that BENCHMARKS.md sets against the
hardware's peak.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from archs._registry import build, names
from archs.params import InputShape

# BatchNorm needs more than one image a batch to train; the counted FLOPs grow linearly with the batch.
_BATCH = 2


def training_flops(model: nn.Module, in_channels: int, image_size: int) -> int:
    """FLOPs of one training image through ``model``: forward and backward, in training mode."""
    images = torch.zeros(_BATCH, in_channels, image_size, image_size)   # the count does not depend on the values
    model.train()
    with FlopCounterMode(display=False) as counter:
        model(images).sum().backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() // _BATCH


def count_flops(shapes: Mapping[str, InputShape],
                arch_names: Sequence[str] | None = None) -> dict[tuple[str, str], int]:
    """(arch, shape name) -> training FLOPs per image of a freshly built model, for each architecture
    (default: every registered one, in registry order) on each of ``shapes``."""
    return {(arch, shape_name): training_flops(build(arch, *shape), shape.in_channels, shape.image_size)
            for arch in arch_names or names() for shape_name, shape in shapes.items()}
