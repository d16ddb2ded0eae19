"""The dataset registry: what each dataset is, and where its images come from.

A ``DatasetSpec`` holds everything archbench needs to know about a dataset: shapes, sizes,
normalisation statistics, augmentation policy, and for a real dataset its ``source`` (see
``orchestrator.data.sources``: a callable ``read(split, folder, download) -> (uint8 images
[N,C,H,W], int64 labels [N])``) and the ``folder`` of the data root it lives in. ``register`` adds a
spec; ``names`` and ``spec`` are the only way to look one up. The four datasets of the study and
their synthetic twins are registered here, in study order.

Plugins (a user's module that the driver and every Ray worker import) register their own datasets::

    from orchestrator import data

    def read(split: str, folder: Path, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
        ...    # uint8 images [N, 1, 28, 28], int64 labels [N] in 0..9, read from files in `folder`

    data.register(data.DatasetSpec(
        name="kmnist", title="Kuzushiji-MNIST", channels=1, image_size=28, num_classes=10,
        train_size=60_000, test_size=10_000, mean=(0.19,), std=(0.35,), augment="none", source=read))

From then on the dataset loads, sweeps, stores and summarises like a built-in one: ``load_split``
calls ``read`` once per split (under the dataset's file lock), keeps the result as a decoded file in
``<data root>/<folder>`` and memory-maps it afterwards. Without ``download`` (`--no-download`), a
dataset whose folder does not exist yet is "not downloaded": `archbench data fetch NAME --plugin
MODULE` (which calls ``read`` with ``download=True``) makes it. A source with ``official_files`` (the
``Importable`` protocol) can also be imported with ``archbench data import``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from orchestrator.data.sources import IDX_FILES, CifarSource, IdxSource, Reader, SvhnSource
from orchestrator.errors import ArchbenchError

SYNTHETIC_PREFIX = "synthetic_"
AUGMENTATIONS = ("crop_flip", "crop", "none")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


class UnknownDatasetError(ArchbenchError, ValueError):
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
    synthetic: bool = False    # generated from a seed (no source, no files), never a real result
    # Images per class in the full test split (None where unknown): a model that always answers class k
    # scores test_class_counts[k] / test_size, which is how the report recognises a published figure that
    # is a collapse. A trial's own collapse is judged from its predictions (train.collapse_reason).
    test_class_counts: tuple[int, ...] | None = None
    source: Reader | None = None    # how a real split is read; None for a synthetic dataset
    folder: str = ""                # its folder in the data root; default: the name

    @property
    def directory(self) -> str:
        """The dataset's folder in the data root."""
        return self.folder or self.name


_REGISTRY: dict[str, DatasetSpec] = {}


def register(dataset: DatasetSpec) -> DatasetSpec:
    """Add ``dataset`` to the registry; ValueError (one line naming it) for a duplicate or inconsistent spec."""
    problem = _problem(dataset)
    if problem:
        raise ValueError(f"cannot register dataset {dataset.name!r}: {problem}")
    _REGISTRY[dataset.name] = dataset
    return dataset


def names(synthetic: bool = False) -> list[str]:
    """Registered dataset names in registration order: the real ones, or with ``synthetic=True`` the generated."""
    return [s.name for s in _REGISTRY.values() if s.synthetic == synthetic]


def spec(name: str) -> DatasetSpec:
    """The spec of ``name``; raises UnknownDatasetError naming the valid names."""
    try:
        return _REGISTRY[name]
    except KeyError:
        valid = ", ".join(names() + names(synthetic=True))
        raise UnknownDatasetError(f"unknown dataset {name!r}; valid: {valid}") from None


def _problem(dataset: DatasetSpec) -> str | None:
    if dataset.name in _REGISTRY:
        return "a dataset of that name is already registered"
    if not _NAME.fullmatch(dataset.name):
        return "a name takes letters, digits, '_' and '-' only"
    if dataset.augment not in AUGMENTATIONS:
        return f"unknown augmentation {dataset.augment!r}; valid: {', '.join(AUGMENTATIONS)}"
    if not len(dataset.mean) == len(dataset.std) == dataset.channels:
        return f"mean and std need one value per channel ({dataset.channels})"
    if dataset.synthetic != (dataset.source is None):
        return "a real dataset needs a source, a synthetic one has none"
    if dataset.source is not None and not callable(dataset.source):
        return "its source must be a callable read(split, folder, download)"
    return None


def _synthetic_twin(real: DatasetSpec) -> DatasetSpec:
    return replace(real, name=SYNTHETIC_PREFIX + real.name, title=f"{real.title} (synthetic)", synthetic=True,
                   source=None, folder="")


def _idx_source(torchvision_class: str, *md5s: str) -> IdxSource:
    """An IdxSource given the md5 of each decompressed idx file, in IDX_FILES order."""
    return IdxSource(torchvision_class, dict(zip(IDX_FILES, md5s, strict=True)))


# Statistics of the training splits; CIFAR-10's std is the true per-pixel one (0.247, ...), not the
# often copied 0.2023 family. MNIST and Fashion-MNIST: md5 of each decompressed idx file, the same in
# every distribution (the .gz archives differ between mirrors).
_BUILT_IN = (
    DatasetSpec("mnist", "MNIST", 1, 28, 10, 60_000, 10_000, (0.1307,), (0.3081,), "none",
                test_class_counts=(980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
                source=_idx_source("MNIST", "6bbc9ace898e44ae57da46a324031adb", "a25bea736e30d166cdddb491f175f624",
                                   "2646ac647ad5339dbf082846283269ea", "27ae3e4e09519cfbb04c329615203637"),
                folder="MNIST"),
    DatasetSpec("fashion_mnist", "Fashion-MNIST", 1, 28, 10, 60_000, 10_000, (0.2860,), (0.3530,), "none",
                test_class_counts=(1000,) * 10,
                source=_idx_source("FashionMNIST", "f4a8712d7a061bf5bd6d2ca38dc4d50a",
                                   "9018921c3c673c538a1fc5bad174d6f9", "8181f5470baa50b63fa0f6fddb340f0a",
                                   "15d484375f8d13e6eb1aabb0c3f46965"),
                folder="FashionMNIST"),
    DatasetSpec("cifar10", "CIFAR-10", 3, 32, 10, 50_000, 10_000,
                (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), "crop_flip",
                test_class_counts=(1000,) * 10, source=CifarSource(), folder="CIFAR10"),
    # SVHN's test split: digit 0 (label 10 in the .mat files) is 1,744 of 26,032 images.
    DatasetSpec("svhn", "SVHN", 3, 32, 10, 73_257, 26_032,
                (0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970), "crop",
                test_class_counts=(1744, 5099, 4149, 2882, 2523, 2384, 1977, 2019, 1660, 1595),
                source=SvhnSource(), folder="SVHN"),
)

for _dataset in _BUILT_IN:
    register(_dataset)
for _dataset in _BUILT_IN:
    register(_synthetic_twin(_dataset))
