"""Throughput of DeviceLoader against torch's DataLoader over torchvision's CIFAR10, on the CPU.

A CIFAR-10 of the real size (50,000 + 10,000 random images in the real pickle format) is written to a
temporary folder and read through archbench's real path (torchvision's CIFAR10, then the decoded
cache). Then, batch 128, train mode with the CIFAR-10 augmentation:

  - DeviceLoader (crop with 4-pixel zero padding + flip, normalise; in one process, batched)
  - DataLoader(CIFAR10(transform=RandomCrop(32, padding=4), RandomHorizontalFlip, ToTensor, Normalize))
    with num_workers 0 and 2

It also times the first read of the split through torchvision (md5 + unpickle) against a load of the
decoded cache, which is what every trial after the first on a node pays.

Run from the repository root:  .venv/bin/python benchmarks/data_loader.py
Prints a table and appends one JSON line to benchmarks/results/data_loader.jsonl.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # archbench from this checkout, installed or not

from common import append_result  # noqa: E402
from orchestrator import data  # noqa: E402
from orchestrator.data import store  # noqa: E402

BATCH_SIZE = 128
TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]
RESULTS = Path(__file__).parent / "results" / "data_loader.jsonl"


def write_fake_cifar10(folder: Path) -> type[datasets.CIFAR10]:
    """Real-size CIFAR-10 pickles of random pixels in ``folder``; returns a CIFAR10 class with their md5s."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [*TRAIN_FILES, "test_batch"]:
        batch = {"data": rng.integers(0, 256, (10_000, 3 * 32 * 32), dtype=np.uint8),
                 "labels": rng.integers(0, 10, 10_000).tolist()}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=4))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [str(i) for i in range(10)]}))
    md5 = {f.name: hashlib.md5(f.read_bytes()).hexdigest() for f in folder.iterdir()}
    return type("FakeCIFAR10", (datasets.CIFAR10,), {
        "train_list": [[name, md5[name]] for name in TRAIN_FILES],
        "test_list": [["test_batch", md5["test_batch"]]],
        "meta": {**datasets.CIFAR10.meta, "md5": md5["batches.meta"]},
    })


def seconds(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def batches_per_second(loader, max_batches: int) -> float:
    """Steady-state rate: the first batch (worker start-up, first shuffle) is not counted."""
    batches = iter(loader)
    next(batches)
    start, count = time.perf_counter(), 0
    for _ in batches:
        count += 1
        if count == max_batches:
            break
    return count / (time.perf_counter() - start)


def torchvision_loader(cifar: type[datasets.CIFAR10], root: Path, workers: int) -> DataLoader:
    spec = data.spec("cifar10")
    augment = transforms.Compose([
        transforms.RandomCrop(32, padding=4),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize(spec.mean, spec.std),
    ])
    return DataLoader(cifar(root, train=True, transform=augment), batch_size=BATCH_SIZE, shuffle=True,
                      drop_last=True, num_workers=workers, persistent_workers=False)


def run(threads: int, max_batches: int) -> dict:
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cifar = write_fake_cifar10(root / "CIFAR10" / "cifar-10-batches-py")
        store.torchvision_datasets()["cifar10"] = cifar
        decode_s = seconds(lambda: data.load_split("cifar10", "train", root))
        torchvision_read_s = seconds(lambda: cifar(root / "CIFAR10", train=True))
        cached_load_s = seconds(lambda: data.load_split("cifar10", "train", root)[0].clone())
        images, labels = data.load_split("cifar10", "train", root)
        device_loader = data.DeviceLoader(images, labels, data.spec("cifar10"), BATCH_SIZE, train=True)
        rates = {"DeviceLoader": batches_per_second(device_loader, max_batches=len(device_loader))}
        for workers in (0, 2):
            loader = torchvision_loader(cifar, root / "CIFAR10", workers)
            rates[f"DataLoader, {workers} workers"] = batches_per_second(loader, max_batches)
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": platform.machine(), "cpu_count": os.cpu_count(), "torch_threads": threads,
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "device": "cpu", "batch_size": BATCH_SIZE, "train_images": len(labels),
        "batches_per_s": {name: round(rate, 1) for name, rate in rates.items()},
        "first_decode_and_cache_s": round(decode_s, 2),
        "torchvision_read_s": round(torchvision_read_s, 2),
        "cached_load_s": round(cached_load_s, 2),
    }


def print_table(result: dict) -> None:
    print(f"CIFAR-10 train, {result['train_images']} images, batch {result['batch_size']}, CPU, "
          f"torch threads {result['torch_threads']} of {result['cpu_count']} cores")
    print(f"{'loader':<28}{'batches/s':>12}{'images/s':>12}")
    for name, rate in result["batches_per_s"].items():
        print(f"{name:<28}{rate:>12.1f}{rate * result['batch_size']:>12.0f}")
    print(f"train split: torchvision read {result['torchvision_read_s']} s, decoded cache load "
          f"{result['cached_load_s']} s, first decode + cache write {result['first_decode_and_cache_s']} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the main process")
    parser.add_argument("--batches", type=int, default=200, help="batches timed per DataLoader")
    args = parser.parse_args()
    result = run(args.threads, args.batches)
    print_table(result)
    append_result(RESULTS, result)


if __name__ == "__main__":
    main()
