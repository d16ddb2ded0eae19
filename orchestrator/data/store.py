"""The real datasets on disk: downloaded (or imported) once per node under a file lock, decoded once into tensors.

Layout of a data root (default: $ARCHBENCH_DATA, else the user cache dir)::

    <root>/
      .mnist.lock, .cifar10.lock, ...            one file lock per dataset
      MNIST/raw/train-images-idx3-ubyte ...      each dataset in its spec's folder, its raw files as its
      FashionMNIST/raw/...                         source keeps them (for the built-ins: torchvision's
      CIFAR10/cifar-10-batches-py/...              own files and layout)
      SVHN/train_32x32.mat, SVHN/test_32x32.mat
      <dataset folder>/archbench-train.pt        the decoded split: uint8 images [N,C,H,W], int64 labels
      <dataset folder>/archbench-test.pt
      <dataset folder>/archbench-origin.json     where the files came from: downloaded, imported from PATH

The built-in sources read through torchvision, which verifies the md5 of every CIFAR-10 and SVHN
file, and of the MNIST archives it downloads, before it reads a split. A decoded file is written
(temporary file, then rename) only after the source has read its split, so both decoded files
present means the dataset is complete, and a partial download never is. Later loads map the decoded
files into memory: no checksums, no unpickling, and the trials of a node share one copy in the page
cache.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import pandas as pd
import torch
from filelock import FileLock

from orchestrator.atomic import atomic_write, atomic_write_text
from orchestrator.data import synthetic
from orchestrator.data.sampling import stratified_sample
from orchestrator.data.sources import Counted, Importable
from orchestrator.data.specs import DatasetSpec, names, spec
from orchestrator.errors import ArchbenchError, first_line

SPLITS = ("train", "test")
LIMIT_SEED = 0    # every trial of a sweep, on every node, tests on the same `limit` images
ORIGIN_FILE = "archbench-origin.json"


class DataUnavailableError(ArchbenchError, RuntimeError):
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
    """A split: uint8 images [N,C,H,W] on the CPU and int64 labels [N]; ``limit`` N keeps N of them.

    Real datasets come from ``root``; without ``download`` nothing is fetched and missing files raise
    DataUnavailableError. Their ``limit`` subset is ``stratified_sample(labels, N, seed=LIMIT_SEED)``:
    every class in proportion, the same images in every trial. Synthetic datasets are generated, and
    their ``limit`` subset is the first N images: those are drawn i.i.d., so a prefix is already a
    fair sample (and only N images are generated).
    """
    dataset = spec(name)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    if dataset.synthetic:
        size = dataset.train_size if split == "train" else dataset.test_size
        return synthetic.generate(dataset, split, size if limit is None else min(limit, size))
    root = _resolve(root)
    _ensure_decoded(dataset, root, download)
    images, labels = _read_decoded(_decoded_path(_folder(dataset, root), split))
    if limit is None or limit >= len(labels):
        return images, labels
    chosen = stratified_sample(labels, limit, seed=LIMIT_SEED)
    return images[chosen], labels[chosen]


def prepare(names: Sequence[str], root: str | Path | None = None, *, download: bool = False) -> None:
    """Make the real datasets among ``names`` ready on this machine before a sweep's trials start.

    Each is downloaded (with ``download``) or found, decoded once, and must hold as many images as its
    spec promises (``check_counts``, before decoding and after). Synthetic datasets need nothing.
    """
    root = _resolve(root)
    for dataset in _real(names):
        _check_counts(dataset, root)
        _ensure_decoded(dataset, root, download)
        _check_counts(dataset, root)


def check_counts(names: Sequence[str], root: str | Path | None = None) -> None:
    """DataUnavailableError unless each real dataset among ``names`` holds the images its spec promises, as far as
    can be told without writing anything: from its decoded splits where they exist (memory-mapped, not read),
    else from its files' headers (``sources.Counted``); a dataset with neither passes. The error is one line
    naming the dataset, the file, the count found and the count expected."""
    root = _resolve(root)
    for dataset in _real(names):
        _check_counts(dataset, root)


def _real(names: Sequence[str]) -> list[DatasetSpec]:
    return [dataset for dataset in map(spec, dict.fromkeys(names)) if not dataset.synthetic]


def _check_counts(dataset: DatasetSpec, root: Path) -> None:
    folder = _folder(dataset, root)
    if is_complete(folder):
        for split in SPLITS:
            path = _decoded_path(folder, split)
            _check_count(dataset, root, path, split, len(_read_decoded(path)[1]), "images")
    elif isinstance(dataset.source, Counted):
        for counted in dataset.source.file_counts(folder):
            _check_count(dataset, root, counted.path, counted.split, counted.count, counted.items)


def fetch(names: Sequence[str], root: str | Path | None = None) -> None:
    """Download (train and test) and decode each real dataset in ``names``; synthetic ones need nothing."""
    for dataset in map(spec, names):
        if not dataset.synthetic:
            _ensure_decoded(dataset, _resolve(root), download=True)


def info(root: str | Path | None = None) -> pd.DataFrame:
    """One row per real dataset: name, complete, origin, bytes (in its folder), path (of the folder).

    ``origin`` says where a complete dataset's files came from ("downloaded", "imported from PATH",
    "files in place" when they were put there by hand); empty while it is incomplete.
    """
    root = _resolve(root)
    rows = []
    for dataset in map(spec, names()):
        folder = _folder(dataset, root)
        complete = is_complete(folder)
        rows.append({"name": dataset.name, "complete": complete, "origin": read_origin(folder) if complete else "",
                     "bytes": _bytes_under(folder), "path": str(folder)})
    return pd.DataFrame(rows)


def is_complete(folder: Path) -> bool:
    """Whether both decoded splits are in the dataset folder ``folder``."""
    return all(_decoded_path(folder, split).is_file() for split in SPLITS)


def decode(dataset: DatasetSpec, folder: Path, download: bool) -> None:
    """Read each split that is not decoded yet through the dataset's source; write it beside its files.

    The caller holds the dataset's lock. The source's errors (RuntimeError, OSError) pass through.
    """
    for split in SPLITS:
        path = _decoded_path(folder, split)
        if not path.is_file():
            images, labels = _checked(dataset, split, *dataset.source(split, folder, download))
            atomic_write(path, lambda tmp: torch.save({"images": images, "labels": labels}, tmp))


def lock(dataset: DatasetSpec, root: Path) -> FileLock:
    """The file lock that every download, import and decode of ``dataset`` in ``root`` holds."""
    return FileLock(root / f".{dataset.name}.lock")


def write_origin(folder: Path, origin: str) -> None:
    atomic_write_text(folder / ORIGIN_FILE, json.dumps({"origin": origin}) + "\n")


def read_origin(folder: Path) -> str:
    try:
        return json.loads((folder / ORIGIN_FILE).read_text(encoding="utf-8"))["origin"]
    except (OSError, ValueError, KeyError, TypeError):
        return "unknown"


def _resolve(root: str | Path | None) -> Path:
    return default_root() if root is None else Path(root).expanduser()


def _folder(dataset: DatasetSpec, root: Path) -> Path:
    return root / dataset.directory


def _decoded_path(folder: Path, split: str) -> Path:
    return folder / f"archbench-{split}.pt"


def _ensure_decoded(dataset: DatasetSpec, root: Path, download: bool) -> None:
    """Make both decoded splits exist; the first process of a node does the work, the others wait for it."""
    folder = _folder(dataset, root)
    if is_complete(folder):
        return
    if not download and not folder.exists():
        raise _unavailable(dataset, root, "not downloaded")
    try:
        root.mkdir(parents=True, exist_ok=True)
        with lock(dataset, root):
            if is_complete(folder):
                return
            folder.mkdir(exist_ok=True)
            try:
                decode(dataset, folder, download)
            except (RuntimeError, OSError) as err:
                reason = f"download failed: {first_line(err)}" if download else "not downloaded, or incomplete"
                raise _unavailable(dataset, root, reason) from err
            write_origin(folder, "downloaded" if download else "files in place")
    except OSError as err:    # the root cannot be created or written (a file in its path, no permission, full)
        raise DataUnavailableError(
            f"cannot write {dataset.name} into the data root {root}: {err.strerror or err}") from err


def _checked(dataset: DatasetSpec, split: str, images: torch.Tensor,
             labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The source's split, if it has the spec's shape, dtype and label range; else a ValueError naming it."""
    shape = (dataset.channels, dataset.image_size, dataset.image_size)
    problem = None
    if images.dtype != torch.uint8 or images.dim() != 4 or tuple(images.shape[1:]) != shape:
        problem = f"images of {images.dtype} {list(images.shape)}, expected uint8 [N, {', '.join(map(str, shape))}]"
    elif labels.dim() != 1 or len(labels) != len(images) or labels.is_floating_point():
        problem = f"labels of {labels.dtype} {list(labels.shape)}, expected int64 [{len(images)}]"
    elif len(labels) and not 0 <= int(labels.min()) <= int(labels.max()) < dataset.num_classes:
        problem = f"labels outside 0..{dataset.num_classes - 1}"
    if problem:
        raise ValueError(f"the source of {dataset.name} returned {problem} for its {split} split")
    return images.contiguous(), labels.to(torch.int64).contiguous()


def _read_decoded(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    decoded = torch.load(path, weights_only=True, mmap=True)
    return decoded["images"], decoded["labels"]


def _bytes_under(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _check_count(dataset: DatasetSpec, root: Path, path: Path, split: str, found: int, items: str) -> None:
    expected = dataset.train_size if split == "train" else dataset.test_size
    if found == expected:
        return
    if isinstance(dataset.source, Importable):
        how = f"replace its files with the official ones: `archbench data import {dataset.name} PATH --data-dir {root}`"
    else:
        how = f"mend its files, or its spec's {split}_size if that is what is wrong"
    raise DataUnavailableError(f"{dataset.name}: {path} holds {found:,} {split} {items} where {dataset.title} has "
                               f"{expected:,}; {how}")


def _unavailable(dataset: DatasetSpec, root: Path, reason: str) -> DataUnavailableError:
    how = f"fetch it with `archbench data fetch {dataset.name} --data-dir {root}`"
    if isinstance(dataset.source, Importable):
        how += f", or import its files with `archbench data import {dataset.name} PATH --data-dir {root}`"
    return DataUnavailableError(f"{dataset.name} is not available in {root} ({reason}); {how}")
