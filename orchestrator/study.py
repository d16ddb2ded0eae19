"""The figures of the study archbench re-runs, as data.

Source: Irfan Nur Afif, "Benchmark Studies of Various Deep Learning Architecture": Table 4.1
(test accuracy), Table 4.2 (execution time, seconds) and Table 4.3 (parameter counts, as its Keras-style
layer summaries count them). One figure per cell; the study states no number of runs, seeds or hardware.
``CONCLUSIONS`` quotes its Discussion, whose seven conclusions ``archbench summarize`` checks.
Keys use archbench's registry names (``archs.names()``) and dataset names (``orchestrator.data``).
"""

from __future__ import annotations

from typing import NamedTuple

ARCHS = ("lenet5", "vgg", "resnet20v1", "resnet20v2", "squeezenet")
DATASETS = ("mnist", "fashion_mnist", "cifar10", "svhn")


class StudyParams(NamedTuple):
    total: int
    trainable: int
    non_trainable: int


def _by_cell(rows: dict[str, tuple]) -> dict[tuple[str, str], object]:
    return {(arch, ds): value for arch, values in rows.items() for ds, value in zip(DATASETS, values)}


# Table 4.1: test accuracy.
ACCURACY: dict[tuple[str, str], float] = _by_cell({
    "lenet5": (0.9834, 0.8816, 0.6561, 0.809),
    "vgg": (0.9946, 0.91, 0.4075, 0.067),
    "resnet20v1": (0.9246, 0.592, 0.7567, 0.866),
    "resnet20v2": (0.9222, 0.8425, 0.679, 0.893),
    "squeezenet": (0.9858, 0.8813, 0.555, 0.775),
})

# Table 4.2: execution time in seconds.
SECONDS: dict[tuple[str, str], float] = _by_cell({
    "lenet5": (220, 220, 330, 220),
    "vgg": (4986, 4469, 6816, 6526),
    "resnet20v1": (7970, 7909, 7204, 9310),
    "resnet20v2": (13900, 13910, 12060, 15693),
    "squeezenet": (13800, 13907, 13630, 17550),
})

_GRAY = ("mnist", "fashion_mnist")


def _params(gray: StudyParams, color: StudyParams) -> tuple[StudyParams, ...]:
    return tuple(gray if ds in _GRAY else color for ds in DATASETS)


# Table 4.3: total / trainable / non-trainable parameters.
PARAMS: dict[tuple[str, str], StudyParams] = _by_cell({
    "lenet5": _params(StudyParams(150_742, 150_742, 0), StudyParams(204_098, 204_098, 0)),
    "vgg": _params(StudyParams(1_505_034, 1_505_034, 0), StudyParams(1_505_610, 1_505_610, 0)),
    "resnet20v1": _params(StudyParams(274_090, 272_746, 1_344), StudyParams(274_442, 273_066, 1_376)),
    "resnet20v2": _params(StudyParams(573_738, 570_282, 3_456), StudyParams(574_090, 570_602, 3_488)),
    "squeezenet": _params(StudyParams(711_956, 711_956, 0), StudyParams(720_084, 720_084, 0)),
})

# What the datasets' images show, as conclusion 4 divides them.
DIGITS = ("mnist", "svhn")
OBJECTS = ("fashion_mnist", "cifar10")

# The Discussion's seven conclusions, in the study's words (its spelling kept).
CONCLUSIONS = (
    "There are not a single architecture that gives the best performance across all tested dataset.",
    "LeNet is the most simple yet powerful network. This networks can become the tester network for ian image "
    "dataset because of its low time to train and memory to use.",
    "Simplified VGGNet performs well on grayscale dataset compared to colored-dataset. Also it performs better "
    "on smaller image.",
    "ResNetV1 works better in digit recognition compared to object recognition.",
    "ResNetV2 does not always increase the performance of ResNetv1. However, on Fashion MNIST dataset, the "
    "improvemance is quite huge, around 25% accuracy.",
    "ResNetV2 gives quite good and stable performance compared to other network.",
    "SqueezeNet consumes the most memory and time to train but does not yields the best classication "
    "performance on any dataset.",
)
