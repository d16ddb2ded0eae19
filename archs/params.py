"""Parameter counts in the Keras convention, so that they compare with the study's ``model.summary()``."""

from __future__ import annotations

from typing import NamedTuple

from torch import nn

# Keras counts a BatchNormalization layer's moving mean and variance as non-trainable weights;
# PyTorch keeps them as buffers (next to num_batches_tracked, which Keras has no counterpart for).
_KERAS_WEIGHT_BUFFERS = ("running_mean", "running_var")


class ParamCounts(NamedTuple):
    total: int
    trainable: int
    non_trainable: int


def count_params(model: nn.Module) -> ParamCounts:
    """Trainable = parameters that require grad; non-trainable = frozen parameters + BatchNorm running statistics."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    statistics = sum(
        buffer.numel()
        for name, buffer in model.named_buffers()
        if name.rsplit(".", 1)[-1] in _KERAS_WEIGHT_BUFFERS
    )
    return ParamCounts(trainable + frozen + statistics, trainable, frozen + statistics)
