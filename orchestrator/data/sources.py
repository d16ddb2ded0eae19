"""Where a real dataset's images come from: its files, read into tensors, and its official distribution.

A *source* is what ``DatasetSpec.source`` holds: a callable ``read(split, folder, download)`` that
returns one split as uint8 images [N, C, H, W] and int64 labels [N] (on the CPU). ``folder`` is the
dataset's own folder in the data root; the source keeps its raw files there (downloading them first
when ``download`` is true) and raises RuntimeError or OSError when they are missing or corrupt.
The data store calls it once per split, under the dataset's file lock, and keeps what it returns.

A source that also has ``file_counts(folder)`` (the ``Counted`` protocol) says, from its files'
headers alone, how many images each split's files hold, so that a data root with truncated or foreign
files is refused before any trial starts, without decoding them.

A source that also has ``official_files(path)`` (the ``Importable`` protocol) can be imported with
``archbench data import``: it says which files of its official distribution ``path`` must hold,
with the md5 each must have and where each goes in ``folder``, and raises ImportRefusedError when one
is missing. The built-in sources below are all importable. They read through torchvision, imported
on first use: a process that only maps decoded splits never pays for it. The md5s of CIFAR-10 and
SVHN are torchvision's own (its class attributes), those of the idx files are the decompressed
files' (torchvision knows only the md5 of the .gz archives, which differ between mirrors).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal, Mapping, Protocol, runtime_checkable

import torch

from orchestrator.errors import ArchbenchError

if TYPE_CHECKING:
    from torchvision.datasets import VisionDataset

Split = tuple[torch.Tensor, torch.Tensor]
Reader = Callable[[str, Path, bool], Split]
# The files of an MNIST-style dataset, as torchvision's classes name them.
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


class ImportRefusedError(ArchbenchError, ValueError):
    """A file handed to ``archbench data import`` is missing, foreign or corrupt; the message names it."""


@dataclass(frozen=True)
class OfficialFile:
    """One file of a dataset's official distribution, found at ``path`` in what the user handed over."""

    path: Path
    md5: str          # of the file itself; for "gunzip", of its decompressed content
    target: str       # where it goes, relative to the dataset's folder ("." for an archive's members)
    unpack: Literal["copy", "gunzip", "untar"] = "copy"


@dataclass(frozen=True)
class FileCount:
    """How many items (images or labels) of a split a raw file holds, as its header says."""

    path: Path
    split: str        # "train" or "test"
    count: int
    items: str        # "images" or "labels"


@runtime_checkable
class Counted(Protocol):
    def file_counts(self, folder: Path) -> list[FileCount]:
        """The count in each of its files present in the dataset's ``folder``, read from their headers only."""


@runtime_checkable
class Importable(Protocol):
    def official_files(self, path: Path) -> list[OfficialFile]:
        """The official files ``path`` (a directory or an archive) holds; ImportRefusedError if one is missing."""


@dataclass(frozen=True)
class IdxSource:
    """MNIST-style idx files, read by a torchvision class that keeps them in <data root>/<class name>/raw.

    Such a class chooses its folder itself, so the dataset's folder must be named like the class.
    """

    dataset_class: str | type[VisionDataset]    # the class, or its name in torchvision.datasets
    md5s: Mapping[str, str]    # decompressed md5 per idx file name

    def __call__(self, split: str, folder: Path, download: bool) -> Split:
        cls = _torchvision_class(self.dataset_class)
        if folder.name != cls.__name__:
            raise ValueError(f"{cls.__name__} keeps its files in a folder named {cls.__name__}, not {folder.name}")
        dataset = cls(folder.parent, train=split == "train", download=download)
        return dataset.data.unsqueeze(1).contiguous(), dataset.targets.to(torch.int64)

    def file_counts(self, folder: Path) -> list[FileCount]:
        """Each idx file's first dimension, from its 8-byte header; a file too short or not idx is left to decoding."""
        counts = []
        for name in self.md5s:
            path = folder / "raw" / name
            try:
                with open(path, "rb") as file:
                    header = file.read(8)
            except OSError:
                continue
            if len(header) < 8:
                continue
            magic, count = struct.unpack(">II", header)
            if magic >> 8 == 0x08:    # idx: two zero bytes, 0x08 (unsigned bytes), the number of dimensions
                counts.append(FileCount(path, "train" if name.startswith("train") else "test", count,
                                        "labels" if "labels" in name else "images"))
        return counts

    def official_files(self, path: Path) -> list[OfficialFile]:
        expected = ", ".join(f"{name}[.gz]" for name in self.md5s)
        _require_directory(path, f"the idx files {expected}")
        files = []
        for name, md5 in self.md5s.items():
            plain, packed = path / name, path / f"{name}.gz"
            if plain.is_file():
                files.append(OfficialFile(plain, md5, f"raw/{name}"))
            elif packed.is_file():
                files.append(OfficialFile(packed, md5, f"raw/{name}", "gunzip"))
            else:
                raise ImportRefusedError(f"{path} holds no {name} or {name}.gz (expected the idx files {expected})")
        return files


@dataclass(frozen=True)
class CifarSource:
    """CIFAR-10's python batches (torchvision's CIFAR10, or a class with the same attributes)."""

    dataset_class: str | type[VisionDataset] = "CIFAR10"

    def __call__(self, split: str, folder: Path, download: bool) -> Split:
        dataset = _torchvision_class(self.dataset_class)(folder, train=split == "train", download=download)
        images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2)    # stored as HWC arrays
        return images.contiguous(), torch.tensor(dataset.targets, dtype=torch.int64)

    def official_files(self, path: Path) -> list[OfficialFile]:
        cls = _torchvision_class(self.dataset_class)
        expected = f"{cls.filename} or its extracted {cls.base_folder}/"
        if path.is_file():    # the tarball, whose members are <base_folder>/<batch>
            return [OfficialFile(path, cls.tgz_md5, ".", "untar")]
        _require_directory(path, expected)
        batches = path / cls.base_folder if (path / cls.base_folder).is_dir() else path
        listed = [*cls.train_list, *cls.test_list, (cls.meta["filename"], cls.meta["md5"])]
        return [OfficialFile(_existing(batches / name, expected), md5, f"{cls.base_folder}/{name}")
                for name, md5 in listed]


@dataclass(frozen=True)
class SvhnSource:
    """SVHN's cropped-digit .mat files (torchvision's SVHN, which turns label 10 into digit 0)."""

    dataset_class: str | type[VisionDataset] = "SVHN"

    def __call__(self, split: str, folder: Path, download: bool) -> Split:
        dataset = _torchvision_class(self.dataset_class)(folder, split=split, download=download)
        return torch.from_numpy(dataset.data).contiguous(), torch.from_numpy(dataset.labels).to(torch.int64)

    def official_files(self, path: Path) -> list[OfficialFile]:
        cls = _torchvision_class(self.dataset_class)
        names = [cls.split_list[split][1] for split in ("train", "test")]
        _require_directory(path, " and ".join(names))
        return [OfficialFile(_existing(path / name, " and ".join(names)), cls.split_list[split][2], name)
                for split, name in zip(("train", "test"), names)]


def _torchvision_class(dataset_class: str | type[VisionDataset]) -> type[VisionDataset]:
    """The class itself, or the one of that name in torchvision.datasets (imported here, on first use)."""
    if not isinstance(dataset_class, str):
        return dataset_class
    from torchvision import datasets

    return getattr(datasets, dataset_class)


def _require_directory(path: Path, expected: str) -> None:
    if not path.is_dir():
        what = "is a file" if path.is_file() else "does not exist"
        raise ImportRefusedError(f"{path} {what}; expected a directory holding {expected}")


def _existing(path: Path, expected: str) -> Path:
    if not path.is_file():
        raise ImportRefusedError(f"{path.parent} holds no {path.name} (expected {expected})")
    return path
