"""Throughput of DeviceLoader against torch's DataLoader over torchvision's CIFAR10, on the CPU.

A CIFAR-10 of the real size (50,000 + 10,000 random images in the real pickle format; ``--quick``:
2,000 + 500) is written to a temporary folder and registered as a dataset of its own through the
public registry (``data.register``, as a plugin would, with a source that reads it through
torchvision's CIFAR10 and its md5 checks). Then, batch 128, train mode with the CIFAR-10 augmentation:

  - DeviceLoader (crop with 4-pixel zero padding + flip, normalise; in one process, batched) over
    the split as ``data.load_split`` returns it
  - DataLoader(CIFAR10(transform=RandomCrop(32, padding=4), RandomHorizontalFlip, ToTensor, Normalize))
    with num_workers 0 and 2

It also times ``data.load_split`` of the train split the first time (torchvision's read: md5 +
unpickle, then the decoded file written) against a later one (the decoded file mapped into memory),
which is what every trial after the first on a node pays.

Run from the repository root:  .venv/bin/python benchmarks/data_loader.py   (--quick: seconds)
Prints a table and appends one JSON line to benchmarks/results/data_loader.jsonl (or --results).
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torchvision  # noqa: E402
from common import add_run_options, finish, new_result, parse_args, script_parser
from torch.utils.data import DataLoader  # noqa: E402
from torchvision import datasets, transforms  # noqa: E402

from orchestrator import data  # noqa: E402

BATCH_SIZE = 128
TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]
NAME = "bench_cifar10"
QUICK = {"train_images": 2000, "test_images": 500, "batches": 10, "workers": [0]}


def write_fake_cifar10(folder: Path, train_images: int, test_images: int) -> type[datasets.CIFAR10]:
    """CIFAR-10 pickles of random pixels in ``folder``; returns a CIFAR10 class that checks their md5s."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, count in [*((f, train_images // len(TRAIN_FILES)) for f in TRAIN_FILES), ("test_batch", test_images)]:
        batch = {"data": rng.integers(0, 256, (count, 3 * 32 * 32), dtype=np.uint8),
                 "labels": rng.integers(0, 10, count).tolist()}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=4))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [str(i) for i in range(10)]}))
    md5 = {f.name: hashlib.md5(f.read_bytes()).hexdigest() for f in folder.iterdir()}
    return type("FakeCIFAR10", (datasets.CIFAR10,), {
        "train_list": [[name, md5[name]] for name in TRAIN_FILES],
        "test_list": [["test_batch", md5["test_batch"]]],
        "meta": {**datasets.CIFAR10.meta, "md5": md5["batches.meta"]},
    })


def register_fake(cifar: type[datasets.CIFAR10]) -> None:
    """The fake files as a dataset of the registry: CIFAR-10's spec with a source that reads them."""
    def read(split: str, folder: Path, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
        split_data = cifar(folder, train=split == "train")
        images = torch.from_numpy(split_data.data).permute(0, 3, 1, 2).contiguous()
        return images, torch.tensor(split_data.targets, dtype=torch.int64)

    data.register(replace(data.spec("cifar10"), name=NAME, title="CIFAR-10 (benchmark's random pixels)",
                          test_class_counts=None, source=read, folder=NAME))


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


def torchvision_loader(cifar: type[datasets.CIFAR10], folder: Path, workers: int) -> DataLoader:
    spec = data.spec("cifar10")
    augment = transforms.Compose([
        transforms.RandomCrop(32, padding=4),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize(spec.mean, spec.std),
    ])
    return DataLoader(cifar(folder, train=True, transform=augment), batch_size=BATCH_SIZE, shuffle=True,
                      drop_last=True, num_workers=workers, persistent_workers=False)


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cifar = write_fake_cifar10(root / NAME / "cifar-10-batches-py", args.train_images, args.test_images)
        register_fake(cifar)
        first_load_s = seconds(lambda: data.load_split(NAME, "train", root))
        cached_load_s = seconds(lambda: data.load_split(NAME, "train", root)[0].clone())
        torchvision_read_s = seconds(lambda: cifar(root / NAME, train=True))
        images, labels = data.load_split(NAME, "train", root)
        device_loader = data.DeviceLoader(images, labels, data.spec(NAME), BATCH_SIZE, train=True)
        rates = {"DeviceLoader": batches_per_second(device_loader, max_batches=len(device_loader))}
        for workers in args.workers:
            loader = torchvision_loader(cifar, root / NAME, workers)
            rates[f"DataLoader, {workers} workers"] = batches_per_second(loader, args.batches)
    return {
        "torchvision": torchvision.__version__, "torch_threads": args.threads, "device": "cpu",
        "batch_size": BATCH_SIZE, "train_images": len(labels),
        "batches_per_s": {name: round(rate, 1) for name, rate in rates.items()},
        "first_load_s": round(first_load_s, 2), "cached_load_s": round(cached_load_s, 2),
        "torchvision_read_s": round(torchvision_read_s, 2),
    }


def print_table(result: dict) -> None:
    f = result["figures"]
    print(f"CIFAR-10 train, {f['train_images']} images, batch {f['batch_size']}, CPU, "
          f"torch threads {f['torch_threads']} of {result['machine']['cpu_count']} cores")
    print(f"{'loader':<28}{'batches/s':>12}{'images/s':>12}")
    for name, rate in f["batches_per_s"].items():
        print(f"{name:<28}{rate:>12.1f}{rate * f['batch_size']:>12.0f}")
    print(f"train split: data.load_split first {f['first_load_s']} s (torchvision read + decoded file written), "
          f"then {f['cached_load_s']} s (decoded file); torchvision's read alone {f['torchvision_read_s']} s")


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the main process")
    parser.add_argument("--batches", type=int, default=None, help="batches timed per DataLoader (default 200)")
    parser.add_argument("--train-images", type=int, default=None, help="default 50,000")
    parser.add_argument("--test-images", type=int, default=None, help="default 10,000")
    parser.add_argument("--workers", type=int, nargs="+", default=None, help="DataLoader worker counts (default 0 2)")
    add_run_options(parser, "data_loader", QUICK, "seconds")
    args = parse_args(parser, QUICK)
    args.train_images, args.test_images = args.train_images or 50_000, args.test_images or 10_000
    args.batches, args.workers = args.batches or 200, args.workers or [0, 2]
    result = new_result(args, device="cpu")
    started = time.perf_counter()
    result["figures"] = run(args)
    finish(result, started, args, "data_loader", print_table)


if __name__ == "__main__":
    main()
