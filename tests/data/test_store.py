"""orchestrator.data.store: the data root, decoded once per dataset under its lock, loaded, fetched and listed."""

from __future__ import annotations

import multiprocessing
import pickle
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import filelock
import platformdirs
import pytest
import torch
from dataset_files import TRAIN_SIZE, blobs, cifar_class, counted_reader, expected_labels, register_tiny, write_cifar
from helpers import archbench
from torchvision import datasets

from orchestrator import data
from orchestrator.data import store


def test_default_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ARCHBENCH_DATA", str(tmp_path))
    assert data.default_root() == tmp_path
    monkeypatch.delenv("ARCHBENCH_DATA")
    assert data.default_root() == Path(platformdirs.user_cache_dir("archbench")) / "data"


def test_a_registered_dataset_with_a_read_callable_loads_like_a_built_in(tmp_path: Path) -> None:
    calls: list[str] = []
    data.register(blobs(counted_reader(calls)))
    (tmp_path / "blobs").mkdir()    # where its files would be; nothing to download
    assert "blobs" in data.names() and data.spec("blobs").title == "Blobs"
    images, labels = data.load_split("blobs", "train", tmp_path)
    assert images.shape == (30, 1, 8, 8) and images.dtype == torch.uint8 and labels.dtype == torch.int64
    assert torch.equal(images[:, 0, 0, 0], torch.arange(30).to(torch.uint8))
    again, _ = data.load_split("blobs", "test", tmp_path)
    sample, sample_labels = data.load_split("blobs", "test", tmp_path, limit=6)
    assert calls == ["train", "test"]    # decoded once per split, then read from the decoded files
    assert torch.equal(again, images)
    assert sample_labels.bincount().tolist() == [2, 2, 2]    # the first 6 would all be class 0
    assert torch.equal(sample[:, 0, 0, 0].long() * 3 // 30, sample_labels)
    assert sorted(p.name for p in (tmp_path / "blobs").iterdir()) == [
        "archbench-origin.json", "archbench-test.pt", "archbench-train.pt"]
    row = data.info(tmp_path).set_index("name").loc["blobs"]
    assert row["complete"] and row["origin"] == "files in place" and row["path"] == str(tmp_path / "blobs")


def test_a_source_returning_the_wrong_shape_is_named_and_nothing_is_kept(tmp_path: Path) -> None:
    def read(split: str, folder: Path, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.zeros(4, 3, 8, 8, dtype=torch.uint8), torch.zeros(4, dtype=torch.int64)
    data.register(blobs(read))
    (tmp_path / "blobs").mkdir()
    expected = r"source of blobs returned images of torch.uint8 \[4, 3, 8, 8\].*\[N, 1, 8, 8\]"
    with pytest.raises(ValueError, match=expected):
        data.load_split("blobs", "train", tmp_path)
    assert not data.info(tmp_path).set_index("name").loc["blobs", "complete"]
    assert list((tmp_path / "blobs").iterdir()) == []


def test_limit_takes_the_same_class_stratified_sample_every_time(root: Path) -> None:
    full_images, full_labels = data.load_split("tiny_cifar10", "train", root)
    images, labels = data.load_split("tiny_cifar10", "train", root, limit=10)
    again_images, again_labels = data.load_split("tiny_cifar10", "train", root, limit=10)
    assert labels.bincount(minlength=10).tolist() == [1] * 10    # 2 of each class in the split
    assert torch.equal(images, again_images) and torch.equal(labels, again_labels)
    chosen = data.stratified_sample(full_labels, 10, seed=0)
    assert torch.equal(images, full_images[chosen]) and torch.equal(labels, full_labels[chosen])
    assert not torch.equal(chosen, torch.arange(10))


def test_trial_workers_never_import_torchvision_for_decoded_or_synthetic_data(root: Path) -> None:
    # Importing torchvision costs about a second in a process that builds no optimizer (the CLI, the driver).
    data.load_split("mnist", "test", root)    # decoded here, once
    code = ("import sys; from orchestrator import data, trainable; "
            f"data.load_split('mnist', 'test', {str(root)!r}, limit=5); "
            "data.load_split('synthetic_mnist', 'train', limit=8); "
            "sys.exit('torchvision was imported' if 'torchvision' in sys.modules else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_decoded_splits_are_reused_and_counted_complete(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = data.load_split("tiny_cifar10", "test", root)
    shutil.rmtree(root / "CIFAR10" / "cifar-10-batches-py")    # any read of the raw files would now fail
    again = data.load_split("tiny_cifar10", "test", root)
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    table = data.info(root).set_index("name")
    assert table.loc["tiny_cifar10", "complete"] and not table.loc["mnist", "complete"]
    assert table.loc["tiny_cifar10", "origin"] == "files in place" and table.loc["mnist", "origin"] == ""
    assert table.loc["tiny_cifar10", "bytes"] > 0 and table.loc["tiny_cifar10", "path"] == str(root / "CIFAR10")


def test_missing_data_offline_raises_one_clear_line(tmp_path: Path, offline: None) -> None:
    root = tmp_path / "empty"
    with pytest.raises(data.DataUnavailableError) as caught:
        data.load_split("cifar10", "train", root)
    message = str(caught.value)
    assert "\n" not in message and "cifar10" in message and str(root) in message
    assert f"archbench data fetch cifar10 --data-dir {root}" in message
    assert f"archbench data import cifar10 PATH --data-dir {root}" in message
    assert not root.exists()


def test_a_corrupt_file_is_never_taken_for_complete(root: Path, offline: None) -> None:
    batch = root / "CIFAR10" / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(batch.read_bytes()[:-100])    # as if the download had stopped early
    with pytest.raises(data.DataUnavailableError):
        data.load_split("tiny_cifar10", "train", root)
    assert not data.info(root).set_index("name").loc["tiny_cifar10", "complete"]


def test_a_failed_download_raises_data_unavailable(tmp_path: Path, offline: None) -> None:
    with pytest.raises(data.DataUnavailableError, match="download failed.*archbench data fetch svhn"):
        data.fetch(["svhn"], tmp_path)


def test_fetch_skips_synthetic_and_rejects_unknown_names(tmp_path: Path) -> None:
    data.fetch(["synthetic_cifar10"], tmp_path)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(data.UnknownDatasetError):
        data.fetch(["cifar100"], tmp_path)


class _Payload:
    """Unpickling this would create a file: the decoded cache must never run it."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_decoded_cache_is_loaded_without_running_pickled_code(tmp_path):
    marker = tmp_path / "payload-ran"
    (tmp_path / "CIFAR10").mkdir()
    for split in ("train", "test"):
        path = tmp_path / "CIFAR10" / f"archbench-{split}.pt"
        torch.save({"images": _Payload(marker), "labels": torch.zeros(1)}, path)
    with pytest.raises(pickle.UnpicklingError):
        data.load_split("cifar10", "train", tmp_path)
    assert not marker.exists()


PROCESSES = 3


def downloading_cifar_class(mirror: Path, md5s: dict[str, str], log: Path,
                            waiting: multiprocessing.synchronize.Semaphore) -> type[datasets.CIFAR10]:
    """A CIFAR-10 class that logs each open and download; a download copies ``mirror`` once every other
    process has found the dataset's lock taken (released ``waiting``), so that they all overlap with it."""
    base = cifar_class(md5s)

    class DownloadingCIFAR10(base):
        def __init__(self, *args, **kwargs) -> None:
            with log.open("a") as f:
                f.write("open\n")
            super().__init__(*args, **kwargs)

        def download(self) -> None:
            if self._check_integrity():
                return
            with log.open("a") as f:
                f.write("download\n")
            for _ in range(PROCESSES - 1):
                if not waiting.acquire(timeout=60):
                    raise RuntimeError("another load never found the dataset's lock taken during the download")
            shutil.copytree(mirror, Path(self.root) / self.base_folder)

    return DownloadingCIFAR10


def announcing_lock(waiting: multiprocessing.synchronize.Semaphore):
    """store.lock, announcing on ``waiting`` each time a process finds it taken and waits for it."""
    file_lock_of = store.lock

    @contextmanager
    def lock(dataset: data.DatasetSpec, root: Path) -> Iterator[filelock.FileLock]:
        file_lock = file_lock_of(dataset, root)
        try:
            file_lock.acquire(blocking=False)
        except filelock.Timeout:
            waiting.release()
            file_lock.acquire()
        try:
            yield file_lock
        finally:
            file_lock.release()

    return lock


def first_load_in_a_fresh_process(root: Path, mirror: Path, md5s: dict[str, str], log: Path,
                                  start: multiprocessing.synchronize.Barrier,
                                  waiting: multiprocessing.synchronize.Semaphore,
                                  results: multiprocessing.Queue) -> None:
    register_tiny("cifar10", downloading_cifar_class(mirror, md5s, log, waiting))
    store.lock = announcing_lock(waiting)
    start.wait()
    images, labels = data.load_split("tiny_cifar10", "train", root, download=True)
    results.put((int(images.long().sum()), labels.tolist()))


def test_concurrent_first_loads_download_and_decode_once(tmp_path: Path) -> None:
    mirror, root, log = tmp_path / "mirror", tmp_path / "data", tmp_path / "log.txt"
    md5s = write_cifar(mirror)
    context = multiprocessing.get_context("spawn")
    start, waiting, results = context.Barrier(PROCESSES), context.Semaphore(0), context.Queue()
    processes = [context.Process(target=first_load_in_a_fresh_process,
                                 args=(root, mirror, md5s, log, start, waiting, results)) for _ in range(PROCESSES)]
    try:
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=120)
        assert [process.exitcode for process in processes] == [0] * PROCESSES
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
    outcomes = [results.get(timeout=10) for _ in processes]
    assert log.read_text().splitlines().count("download") == 1
    assert log.read_text().splitlines().count("open") == 2    # train and test decoded once each
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert outcomes[0][1] == expected_labels(TRAIN_SIZE).tolist()
    assert data.info(root).set_index("name").loc["cifar10", "origin"] == "downloaded"


PLUGIN = '''
from pathlib import Path

import torch

from orchestrator import data


def read(split: str, folder: Path, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    count = 12 if split == "train" else 6
    return torch.full((count, 1, 8, 8), 7, dtype=torch.uint8), torch.arange(count) % 3


data.register(data.DatasetSpec(name="plugged", title="Plugged", channels=1, image_size=8, num_classes=3,
                               train_size=12, test_size=6, mean=(0.5,), std=(0.25,), augment="none", source=read))
'''


def test_a_plugin_dataset_is_fetched_and_listed_by_the_data_commands(tmp_path: Path) -> None:
    plugin = tmp_path / "plugged.py"
    plugin.write_text(PLUGIN)
    root = tmp_path / "data"
    done = archbench("data", "fetch", "plugged", "--plugin", str(plugin), "--data-dir", str(root))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (root / "plugged").iterdir()) == [
        "archbench-origin.json", "archbench-test.pt", "archbench-train.pt"]
    done = archbench("data", "info", "--plugin", str(plugin), "--data-dir", str(root))
    assert done.returncode == 0 and "plugged" in done.stdout and "downloaded" in done.stdout, done.stderr
    done = archbench("data", "import", "plugged", str(tmp_path), "--plugin", str(plugin), "--data-dir", str(root))
    assert done.returncode == 2 and "plugged has no official files to import" in done.stderr
