"""Parameter counts in the Keras convention, so that they compare with the study's ``model.summary()``."""

from __future__ import annotations

from typing import Mapping, NamedTuple, Sequence

from torch import nn

from archs._registry import build, names

# Keras counts a BatchNormalization layer's moving mean and variance as non-trainable weights;
# PyTorch keeps them as buffers (next to num_batches_tracked, which Keras has no counterpart for).
_KERAS_WEIGHT_BUFFERS = ("running_mean", "running_var")


class ParamCounts(NamedTuple):
    total: int
    trainable: int
    non_trainable: int


class InputShape(NamedTuple):
    """What a builder needs to know of a dataset: ``build(name, *shape)``."""

    in_channels: int
    num_classes: int
    image_size: int


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


def count_built(shapes: Mapping[str, InputShape],
                arch_names: Sequence[str] | None = None) -> dict[tuple[str, str], ParamCounts]:
    """(arch, shape name) -> the counts of a freshly built model, for each architecture (default: every
    registered one, in registry order) on each of ``shapes``."""
    return {(arch, shape_name): count_params(build(arch, *shape))
            for arch in arch_names or names() for shape_name, shape in shapes.items()}
