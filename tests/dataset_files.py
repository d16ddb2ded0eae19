"""Tiny datasets in their official file formats (idx, CIFAR-10 python pickles and tarball, SVHN .mat).

Every writer stores the same pixels and labels (``expected_images``/``expected_labels``), so a test can
check a decoded split exactly. The CIFAR-10 and SVHN writers return torchvision classes carrying the
written files' md5s, since torchvision checks them; ``register_tiny`` registers a built-in dataset read
with such a class. ``blobs`` is a plugin's dataset, read by a callable (``counted_reader``).
"""

from __future__ import annotations

import gzip
import hashlib
import pickle
import struct
import tarfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import scipy.io
import torch
from torchvision import datasets

from orchestrator import data

TRAIN_SIZE, TEST_SIZE = 20, 10
CIFAR_TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]


def expected_images(count: int, channels: int, size: int, first: int = 0) -> np.ndarray:
    """What every writer below stores: pixel (image i, channel c, row h) = (7i + 50c + h) mod 256."""
    i = np.arange(first, first + count)[:, None, None, None]
    c = np.arange(channels)[None, :, None, None]
    h = np.arange(size)[None, None, :, None]
    return np.broadcast_to((7 * i + 50 * c + h) % 256, (count, channels, size, size)).astype(np.uint8)


def expected_labels(count: int, first: int = 0) -> np.ndarray:
    return (np.arange(first, first + count) % 10).astype(np.int64)


def write_idx(path: Path, array: np.ndarray) -> None:
    magic = 0x0800 + array.ndim    # 0x08: unsigned bytes
    path.write_bytes(struct.pack(f">{array.ndim + 1}I", magic, *array.shape) + array.astype(np.uint8).tobytes())


def write_mnist(root: Path, folder: str) -> None:
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    for prefix, count, first in (("train", TRAIN_SIZE, 0), ("t10k", TEST_SIZE, TRAIN_SIZE)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", expected_images(count, 1, 28, first)[:, 0])
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", expected_labels(count, first))


def write_cifar(folder: Path) -> dict[str, str]:
    """CIFAR-10's python batches in ``folder``; returns their md5 checksums by file name."""
    folder.mkdir(parents=True)
    per_batch = TRAIN_SIZE // len(CIFAR_TRAIN_FILES)
    batches = {name: (per_batch, i * per_batch) for i, name in enumerate(CIFAR_TRAIN_FILES)}
    batches["test_batch"] = (TEST_SIZE, TRAIN_SIZE)
    for name, (count, first) in batches.items():
        entry = {"data": expected_images(count, 3, 32, first).reshape(count, -1),
                 "labels": expected_labels(count, first).tolist()}
        (folder / name).write_bytes(pickle.dumps(entry))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"class {i}" for i in range(10)]}))
    return {f.name: hashlib.md5(f.read_bytes()).hexdigest() for f in folder.iterdir()}


def cifar_class(md5s: dict[str, str]) -> type[datasets.CIFAR10]:
    return type("TinyCIFAR10", (datasets.CIFAR10,), {
        "train_list": [[name, md5s[name]] for name in CIFAR_TRAIN_FILES],
        "test_list": [["test_batch", md5s["test_batch"]]],
        "meta": {**datasets.CIFAR10.meta, "md5": md5s["batches.meta"]},
    })


def write_svhn(folder: Path) -> type[datasets.SVHN]:
    """SVHN's .mat files (X [32,32,3,N], y in 1..10 with 10 for digit 0); returns a class with their md5s."""
    folder.mkdir(parents=True)
    split_list = dict(datasets.SVHN.split_list)
    for split, count, first in (("train", TRAIN_SIZE, 0), ("test", TEST_SIZE, TRAIN_SIZE)):
        url, filename, _ = split_list[split]
        digits = expected_labels(count, first)
        stored_labels = np.where(digits == 0, 10, digits).astype(np.uint8)[:, None]
        pixels = expected_images(count, 3, 32, first).transpose(2, 3, 1, 0)
        scipy.io.savemat(folder / filename, {"X": np.ascontiguousarray(pixels), "y": stored_labels})
        split_list[split] = [url, filename, hashlib.md5((folder / filename).read_bytes()).hexdigest()]
    return type("TinySVHN", (datasets.SVHN,), {"split_list": split_list})


IDX_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def write_tarball(batches: Path, tarball: Path) -> str:
    """CIFAR-10's tarball of the folder ``batches`` (cifar-10-batches-py/); returns its md5."""
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(batches, arcname="cifar-10-batches-py")
    return hashlib.md5(tarball.read_bytes()).hexdigest()


def gzip_idx_files(raw: Path, out: Path) -> dict[str, str]:
    """The idx files of ``raw`` gzipped into ``out``, as the official distributions ship them; their content md5s."""
    out.mkdir(parents=True)
    for name in IDX_FILES:
        (out / f"{name}.gz").write_bytes(gzip.compress((raw / name).read_bytes()))
    return {name: hashlib.md5((raw / name).read_bytes()).hexdigest() for name in IDX_FILES}


def register_tiny(name: str, dataset_class: type) -> data.DatasetSpec:
    """``tiny_<name>``: the built-in dataset (same folder, same source) read with ``dataset_class``'s checksums."""
    built_in = data.spec(name)
    return data.register(replace(built_in, name=f"tiny_{name}",
                                 source=replace(built_in.source, dataset_class=dataset_class)))


def counted_reader(calls: list[str], count: int = 30):
    """A plugin's read: ``count`` 1x8x8 images whose pixels all equal their index; labels sorted, 3 classes."""
    def read(split: str, folder: Path, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
        calls.append(split)
        assert folder.name == "blobs" and not download
        index = torch.arange(count)
        return index.view(-1, 1, 1, 1).expand(-1, 1, 8, 8).to(torch.uint8), index * 3 // count
    return read


def blobs(read, **changes) -> data.DatasetSpec:
    """The spec of a plugin's dataset ``blobs`` (30 + 30 1x8x8 images, 3 classes) read by ``read``."""
    return data.DatasetSpec(**{
        "name": "blobs", "title": "Blobs", "channels": 1, "image_size": 8, "num_classes": 3, "train_size": 30,
        "test_size": 30, "mean": (0.5,), "std": (0.25,), "augment": "none", "source": read, **changes})
