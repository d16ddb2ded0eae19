"""The real datasets on disk: downloaded once per node under a file lock, decoded once into tensors.

Layout of a data root (default: $ARCHBENCH_DATA, else the user cache dir)::

    <root>/
      .mnist.lock, .cifar10.lock, ...            one file lock per dataset
      MNIST/raw/train-images-idx3-ubyte ...      torchvision's own files and layout, per dataset folder:
      FashionMNIST/raw/...                         MNIST and FashionMNIST as torchvision names them,
      CIFAR10/cifar-10-batches-py/...              CIFAR-10 and SVHN in folders of their own
      SVHN/train_32x32.mat, SVHN/test_32x32.mat
      <dataset folder>/archbench-train.pt        the decoded split: uint8 images [N,C,H,W], int64 labels
      <dataset folder>/archbench-test.pt

torchvision verifies the md5 of every CIFAR-10 and SVHN file, and of the MNIST archives it downloads,
before it reads a split. A decoded file is written (temporary file, then rename) only after
torchvision has read its split, so both decoded files present means the dataset is complete, and a
partial download never is. Later loads map the decoded files into memory: no checksums, no
unpickling, and the trials of a node share one copy in the page cache.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import pandas as pd
import torch
from filelock import FileLock

from orchestrator.atomic import atomic_write
from orchestrator.data import synthetic
from orchestrator.data.specs import names, spec

if TYPE_CHECKING:
    from torchvision.datasets import VisionDataset

SPLITS = ("train", "test")


@functools.cache
def torchvision_datasets() -> dict[str, type[VisionDataset]]:
    """The torchvision class that downloads, verifies and reads each real dataset (the one seam tests swap).

    torchvision is imported here, on first use: a trial on decoded or synthetic data never needs it,
    and importing it costs the CLI about a second (it pulls in torch._dynamo, which only building an
    optimizer would load otherwise).
    """
    from torchvision import datasets

    return {"mnist": datasets.MNIST, "fashion_mnist": datasets.FashionMNIST,
            "cifar10": datasets.CIFAR10, "svhn": datasets.SVHN}


# MNIST and FashionMNIST choose their folder themselves (<root>/<class name>/raw); these match them.
_FOLDERS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "cifar10": "CIFAR10", "svhn": "SVHN"}


class DataUnavailableError(RuntimeError):
    """A real dataset is not on disk and was not (or could not be) downloaded."""


def default_root() -> Path:
    """$ARCHBENCH_DATA, else ``<user cache dir>/archbench/data``."""
    env = os.environ.get("ARCHBENCH_DATA")
    if env:
        return Path(env).expanduser()
    # Imported here, where it is needed: the GPU machine's image (benchmarks) lacks platformdirs.
    import platformdirs

    return Path(platformdirs.user_cache_dir("archbench")) / "data"


def load_split(name: str, split: str, root: str | Path | None = None, *, download: bool = False,
               limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``limit`` (default: all) images, uint8 [N,C,H,W] on the CPU, and int64 labels [N].

    Real datasets come from ``root``; without ``download`` nothing is fetched and missing files raise
    DataUnavailableError. Synthetic datasets are generated (only ``limit`` images when given).
    """
    dataset = spec(name)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    if dataset.synthetic:
        size = dataset.train_size if split == "train" else dataset.test_size
        return synthetic.generate(dataset, split, size if limit is None else min(limit, size))
    root = _resolve(root)
    _ensure_decoded(name, root, download)
    images, labels = _read_decoded(_decoded_path(name, split, root))
    return images[:limit], labels[:limit]


def fetch(names: Sequence[str], root: str | Path | None = None) -> None:
    """Download (train and test) and decode each real dataset in ``names``; synthetic ones need nothing."""
    real = [name for name in names if not spec(name).synthetic]
    for name in real:
        _ensure_decoded(name, _resolve(root), download=True)


def info(root: str | Path | None = None) -> pd.DataFrame:
    """One row per real dataset: name, complete, bytes (on disk, in its folder), path (of the folder)."""
    root = _resolve(root)
    return pd.DataFrame([
        {"name": name, "complete": _is_complete(name, root), "bytes": _bytes_under(_folder(name, root)),
         "path": str(_folder(name, root))}
        for name in names()
    ])


def _resolve(root: str | Path | None) -> Path:
    return default_root() if root is None else Path(root).expanduser()


def _folder(name: str, root: Path) -> Path:
    return root / _FOLDERS[name]


def _decoded_path(name: str, split: str, root: Path) -> Path:
    return _folder(name, root) / f"archbench-{split}.pt"


def _is_complete(name: str, root: Path) -> bool:
    return all(_decoded_path(name, split, root).is_file() for split in SPLITS)


def _ensure_decoded(name: str, root: Path, download: bool) -> None:
    """Make both decoded splits exist; the first process of a node does the work, the others wait for it."""
    if _is_complete(name, root):
        return
    if not download and not _folder(name, root).exists():
        raise _unavailable(name, root, "not downloaded")
    try:
        root.mkdir(parents=True, exist_ok=True)
        with FileLock(root / f".{name}.lock"):
            for split in SPLITS:
                path = _decoded_path(name, split, root)
                if not path.is_file():
                    _write_atomically(_decode(name, split, root, download), path)
    except OSError as err:    # the root cannot be created or written (a file in its path, no permission, full)
        raise DataUnavailableError(f"cannot write {name} into the data root {root}: {err.strerror or err}") from err


def _decode(name: str, split: str, root: Path, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        dataset = _open_torchvision(name, split, root, download)
    except (RuntimeError, OSError) as err:
        reason = f"download failed: {_first_line(err)}" if download else "not downloaded, or incomplete"
        raise _unavailable(name, root, reason) from err
    return _as_tensors(dataset)


def _open_torchvision(name: str, split: str, root: Path, download: bool) -> VisionDataset:
    from torchvision import datasets

    cls = torchvision_datasets()[name]
    if issubclass(cls, datasets.MNIST):
        return cls(root, train=split == "train", download=download)
    if issubclass(cls, datasets.SVHN):
        return cls(_folder(name, root), split=split, download=download)
    return cls(_folder(name, root), train=split == "train", download=download)


def _as_tensors(dataset: VisionDataset) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision import datasets

    if isinstance(dataset, datasets.MNIST):
        images, labels = dataset.data.unsqueeze(1), dataset.targets
    elif isinstance(dataset, datasets.SVHN):    # torchvision has already turned label 10 into digit 0
        images, labels = torch.from_numpy(dataset.data), torch.from_numpy(dataset.labels)
    else:                                        # CIFAR-10: HWC arrays and a list of labels
        images, labels = torch.from_numpy(dataset.data).permute(0, 3, 1, 2), torch.tensor(dataset.targets)
    return images.contiguous(), labels.to(torch.int64).contiguous()


def _write_atomically(split: tuple[torch.Tensor, torch.Tensor], path: Path) -> None:
    images, labels = split
    atomic_write(path, lambda tmp: torch.save({"images": images, "labels": labels}, tmp))


def _read_decoded(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    decoded = torch.load(path, weights_only=True, mmap=True)
    return decoded["images"], decoded["labels"]


def _bytes_under(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def _unavailable(name: str, root: Path, reason: str) -> DataUnavailableError:
    return DataUnavailableError(
        f"{name} is not available in {root} ({reason}); fetch it with `archbench data fetch {name} --data-dir {root}`")
