"""What each dataset is: shapes, sizes, normalisation statistics and augmentation policy."""

from __future__ import annotations

from dataclasses import dataclass, replace

SYNTHETIC_PREFIX = "synthetic_"
AUGMENTATIONS = ("crop_flip", "crop", "none")


class UnknownDatasetError(ValueError):
    """A dataset name that archbench does not know."""


@dataclass(frozen=True)
class DatasetSpec:
    name: str                  # "cifar10" or "synthetic_cifar10"
    title: str                 # "CIFAR-10" / "CIFAR-10 (synthetic)"
    channels: int
    image_size: int
    num_classes: int
    train_size: int
    test_size: int
    mean: tuple[float, ...]    # per channel, pixel scale [0, 1]
    std: tuple[float, ...]
    augment: str               # one of AUGMENTATIONS; "crop" has no flip: digits must not be mirrored
    synthetic: bool
    # Images per class in the full test split (None where unknown): the accuracy of a model that always
    # answers class k is test_class_counts[k] / test_size, which is how a collapsed run is recognised.
    test_class_counts: tuple[int, ...] | None = None


# Statistics of the training splits; CIFAR-10's std is the true per-pixel one (0.247, ...), not the
# often copied 0.2023 family.
_REAL = (
    DatasetSpec("mnist", "MNIST", 1, 28, 10, 60_000, 10_000, (0.1307,), (0.3081,), "none", False,
                (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)),
    DatasetSpec("fashion_mnist", "Fashion-MNIST", 1, 28, 10, 60_000, 10_000, (0.2860,), (0.3530,), "none", False,
                (1000,) * 10),
    DatasetSpec("cifar10", "CIFAR-10", 3, 32, 10, 50_000, 10_000,
                (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), "crop_flip", False, (1000,) * 10),
    # SVHN's test split: digit 0 (label 10 in the .mat files) is 1,744 of 26,032 images.
    DatasetSpec("svhn", "SVHN", 3, 32, 10, 73_257, 26_032,
                (0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970), "crop", False,
                (1744, 5099, 4149, 2882, 2523, 2384, 1977, 2019, 1660, 1595)),
)


def _synthetic_twin(real: DatasetSpec) -> DatasetSpec:
    return replace(real, name=SYNTHETIC_PREFIX + real.name, title=f"{real.title} (synthetic)", synthetic=True)


_SPECS: dict[str, DatasetSpec] = {s.name: s for s in (*_REAL, *map(_synthetic_twin, _REAL))}


def names(synthetic: bool = False) -> list[str]:
    """Dataset names in study order: the real ones, or with ``synthetic=True`` their generated twins."""
    return [s.name for s in _SPECS.values() if s.synthetic == synthetic]


def spec(name: str) -> DatasetSpec:
    """The spec of ``name``; raises UnknownDatasetError naming the valid names."""
    try:
        return _SPECS[name]
    except KeyError:
        valid = ", ".join(names() + names(synthetic=True))
        raise UnknownDatasetError(f"unknown dataset {name!r}; valid: {valid}") from None
