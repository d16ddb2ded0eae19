"""orchestrator.data: the registry, loading of tiny files in each dataset's real format, sampling, import,
the lock, DeviceLoader.

Nothing here touches the network: every real dataset is a handful of images written in the format
torchvision reads (idx files, CIFAR pickles, SVHN .mat). CIFAR-10 and SVHN are read through their
built-in sources with torchvision classes that carry the tiny files' checksums, registered as
``tiny_cifar10`` and ``tiny_svhn`` for the test that needs them.
"""

from __future__ import annotations

import gzip
import multiprocessing
import pickle
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import platformdirs
import pytest
import scipy.io
import torch
from torchvision import datasets

from dataset_files import (TEST_SIZE, TRAIN_SIZE, cifar_class, expected_images, expected_labels, gzip_idx_files,
                           write_cifar, write_mnist, write_svhn, write_tarball)
from helpers import archbench, error_lines
from orchestrator import data
from orchestrator.data import specs


@pytest.fixture(autouse=True)
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Datasets a test registers are forgotten after it."""
    monkeypatch.setattr(specs, "_REGISTRY", dict(specs._REGISTRY))


def register_tiny(name: str, dataset_class: type) -> data.DatasetSpec:
    """``tiny_<name>``: the built-in dataset (same folder, same source) read with ``dataset_class``'s checksums."""
    built_in = data.spec(name)
    return data.register(replace(built_in, name=f"tiny_{name}",
                                 source=replace(built_in.source, dataset_class=dataset_class)))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A data root holding all four real datasets, tiny; CIFAR-10 and SVHN registered as tiny_cifar10, tiny_svhn."""
    root = tmp_path / "data"
    write_mnist(root, "MNIST")
    write_mnist(root, "FashionMNIST")
    register_tiny("cifar10", cifar_class(write_cifar(root / "CIFAR10" / "cifar-10-batches-py")))
    register_tiny("svhn", write_svhn(root / "SVHN"))
    return root


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise OSError("network access in a test")
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


# ---------------------------------------------------------------- the registry

def test_names_and_specs_agree() -> None:
    assert data.names() == ["mnist", "fashion_mnist", "cifar10", "svhn"]
    assert data.names(synthetic=True) == ["synthetic_" + n for n in data.names()]
    for name in data.names():
        real, twin = data.spec(name), data.spec("synthetic_" + name)
        assert real.name == name and not real.synthetic and twin.synthetic
        assert callable(real.source) and twin.source is None
        assert twin.title == f"{real.title} (synthetic)"
        assert (twin.channels, twin.image_size, twin.num_classes, twin.train_size, twin.test_size) == \
               (real.channels, real.image_size, real.num_classes, real.train_size, real.test_size)
        assert len(real.mean) == len(real.std) == real.channels
        assert sum(real.test_class_counts) == real.test_size
    assert [data.spec(n).augment for n in data.names()] == ["none", "none", "crop_flip", "crop"]
    assert [data.spec(n).directory for n in data.names()] == ["MNIST", "FashionMNIST", "CIFAR10", "SVHN"]


def test_unknown_dataset_names_the_value_and_the_valid_names() -> None:
    with pytest.raises(data.UnknownDatasetError) as caught:
        data.spec("imagenet")
    message = str(caught.value)
    assert isinstance(caught.value, ValueError) and "\n" not in message
    assert all(n in message for n in ["'imagenet'", *data.names(), *data.names(synthetic=True)])


def test_default_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ARCHBENCH_DATA", str(tmp_path))
    assert data.default_root() == tmp_path
    monkeypatch.delenv("ARCHBENCH_DATA")
    assert data.default_root() == Path(platformdirs.user_cache_dir("archbench")) / "data"


def counted_reader(calls: list[str], count: int = 30):
    """A plugin's read: ``count`` 1x8x8 images whose pixels all equal their index; labels sorted, 3 classes."""
    def read(split: str, folder: Path, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
        calls.append(split)
        assert folder.name == "blobs" and not download
        index = torch.arange(count)
        return index.view(-1, 1, 1, 1).expand(-1, 1, 8, 8).to(torch.uint8), index * 3 // count
    return read


def blobs(read, **changes) -> data.DatasetSpec:
    return data.DatasetSpec(**{
        "name": "blobs", "title": "Blobs", "channels": 1, "image_size": 8, "num_classes": 3, "train_size": 30,
        "test_size": 30, "mean": (0.5,), "std": (0.25,), "augment": "none", "source": read, **changes})


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


def test_a_duplicate_or_inconsistent_registration_is_refused_with_its_name() -> None:
    for bad, reason in [(replace(data.spec("mnist")), "already registered"),
                        (blobs(None), "needs a source"),
                        (blobs(counted_reader([]), augment="mixup"), "'mixup'"),
                        (blobs(counted_reader([]), mean=(0.5, 0.5)), "one value per channel"),
                        (blobs(counted_reader([]), name="my data"), "letters, digits")]:
        with pytest.raises(ValueError, match=reason) as caught:
            data.register(bad)
        assert repr(bad.name) in str(caught.value) and "\n" not in str(caught.value)
    assert data.names() == ["mnist", "fashion_mnist", "cifar10", "svhn"]


def test_a_source_returning_the_wrong_shape_is_named_and_nothing_is_kept(tmp_path: Path) -> None:
    def read(split: str, folder: Path, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.zeros(4, 3, 8, 8, dtype=torch.uint8), torch.zeros(4, dtype=torch.int64)
    data.register(blobs(read))
    (tmp_path / "blobs").mkdir()
    with pytest.raises(ValueError, match=r"source of blobs returned images of torch.uint8 \[4, 3, 8, 8\].*\[N, 1, 8, 8\]"):
        data.load_split("blobs", "train", tmp_path)
    assert not data.info(tmp_path).set_index("name").loc["blobs", "complete"]
    assert list((tmp_path / "blobs").iterdir()) == []


# ---------------------------------------------------------------- real datasets from disk

@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "tiny_cifar10", "tiny_svhn"])
def test_real_splits_decode_to_the_stored_pixels_and_labels(root: Path, offline: None, name: str) -> None:
    spec = data.spec(name)
    for split, count, first in (("train", TRAIN_SIZE, 0), ("test", TEST_SIZE, TRAIN_SIZE)):
        images, labels = data.load_split(name, split, root)
        assert images.dtype == torch.uint8 and labels.dtype == torch.int64
        assert images.shape == (count, spec.channels, spec.image_size, spec.image_size)
        assert images.is_contiguous() and images.device.type == "cpu"
        assert torch.equal(images, torch.from_numpy(expected_images(count, spec.channels, spec.image_size, first)))
        assert torch.equal(labels, torch.from_numpy(expected_labels(count, first)))


def test_svhn_label_10_is_digit_0(root: Path) -> None:
    stored = scipy.io.loadmat(root / "SVHN" / "train_32x32.mat")["y"].ravel()
    _, labels = data.load_split("tiny_svhn", "train", root)
    assert 10 in stored and 0 not in stored
    assert torch.equal(labels == 0, torch.from_numpy(stored == 10))
    assert labels.min() == 0 and labels.max() == 9


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


# ---------------------------------------------------------------- stratified subsets

def skewed_labels() -> torch.Tensor:
    """1,000 labels of 7 classes with unequal shares (300, 250, ..., 10), shuffled."""
    sizes = [300, 250, 200, 120, 80, 40, 10]
    labels = torch.cat([torch.full((n,), k) for k, n in enumerate(sizes)])
    return labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(3))]


@pytest.mark.parametrize("count", [1, 7, 99, 333, 999])
def test_a_stratified_sample_keeps_every_class_share_within_one_item(count: int) -> None:
    labels = skewed_labels()
    chosen = data.stratified_sample(labels, count, seed=5)
    assert len(chosen) == count and chosen.dtype == torch.int64
    assert torch.equal(chosen, chosen.sort().values) and len(chosen.unique()) == count
    shares = labels.bincount().double() * count / len(labels)
    assert (labels[chosen].bincount(minlength=7).double() - shares).abs().max() < 1


def test_a_stratified_sample_follows_its_seed_in_every_process(tmp_path: Path) -> None:
    labels = skewed_labels()
    first = data.stratified_sample(labels, 100, seed=0)
    assert torch.equal(first, data.stratified_sample(labels, 100, seed=0))
    assert not torch.equal(first, data.stratified_sample(labels, 100, seed=1))
    torch.save(labels, tmp_path / "labels.pt")
    code = ("import torch; from orchestrator import data; "
            "print(data.stratified_sample(torch.load('labels.pt'), 100, seed=0).tolist())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(first.tolist())
    assert torch.equal(data.stratified_sample(labels, 5000, seed=0), torch.arange(len(labels)))


def test_a_stratified_split_is_disjoint_covers_all_and_holds_out_each_class_in_proportion() -> None:
    labels = skewed_labels()
    kept, held = data.stratified_split(labels, 0.1, seed=0)
    assert len(held) == 100 and len(kept) == 900
    assert torch.equal(torch.cat([kept, held]).sort().values, torch.arange(len(labels)))
    assert torch.equal(kept, kept.sort().values) and torch.equal(held, held.sort().values)
    assert labels[held].bincount(minlength=7).tolist() == [30, 25, 20, 12, 8, 4, 1]
    again = data.stratified_split(labels, 0.1, seed=0)
    assert torch.equal(again[0], kept) and torch.equal(again[1], held)
    assert not torch.equal(data.stratified_split(labels, 0.1, seed=1)[1], held)
    for fraction in (0, 1, 1.5, 0.0001):
        with pytest.raises(ValueError):
            data.stratified_split(labels, fraction, seed=0)


# ---------------------------------------------------------------- import from the official files

def snapshot(root: Path) -> dict[str, bytes] | None:
    """Every file under ``root`` with its content (None when there is no root)."""
    if not root.exists():
        return None
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def official(tmp_path: Path) -> Path:
    """Tiny copies of the official distributions: mnist/ (idx .gz), cifar-10-python.tar.gz, svhn/ (.mat)."""
    official = tmp_path / "official"
    write_mnist(tmp_path / "written", "MNIST")
    tiny_mnist = gzip_idx_files(tmp_path / "written" / "MNIST" / "raw", official / "mnist")
    data.register(replace(data.spec("mnist"), name="tiny_mnist",
                          source=replace(data.spec("mnist").source, md5s=tiny_mnist)))
    md5s = write_cifar(official / "cifar-10-batches-py")
    tgz_md5 = write_tarball(official / "cifar-10-batches-py", official / "cifar-10-python.tar.gz")
    register_tiny("cifar10", type("TinyCIFAR10", (cifar_class(md5s),), {"tgz_md5": tgz_md5}))
    register_tiny("svhn", write_svhn(official / "svhn"))
    return official


@pytest.mark.parametrize("name, given", [
    ("tiny_mnist", "mnist"), ("tiny_mnist", "mnist-decompressed"), ("tiny_cifar10", "cifar-10-python.tar.gz"),
    ("tiny_cifar10", "cifar-10-batches-py"), ("tiny_cifar10", "."), ("tiny_svhn", "svhn")])
def test_an_import_decodes_the_official_files_as_a_download_would(official: Path, tmp_path: Path,
                                                                   offline: None, name: str, given: str) -> None:
    (official / "mnist-decompressed").mkdir()
    for packed in (official / "mnist").iterdir():
        (official / "mnist-decompressed" / packed.stem).write_bytes(gzip.decompress(packed.read_bytes()))
    root = tmp_path / "data"
    data.import_dataset(name, official / given, root)
    row = data.info(root).set_index("name").loc[name]
    assert row["complete"] and row["origin"] == f"imported from {(official / given).resolve()}"
    spec = data.spec(name)
    for split, count, first in (("train", TRAIN_SIZE, 0), ("test", TEST_SIZE, TRAIN_SIZE)):
        images, labels = data.load_split(name, split, root)
        assert torch.equal(images, torch.from_numpy(expected_images(count, spec.channels, spec.image_size, first)))
        assert torch.equal(labels, torch.from_numpy(expected_labels(count, first)))
    assert [p.name for p in root.iterdir() if p.name.startswith(".import")] == []


def test_a_reimport_replaces_the_dataset_and_its_origin(official: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    data.import_dataset("tiny_cifar10", official / "cifar-10-python.tar.gz", root)
    data.import_dataset("tiny_cifar10", official / "cifar-10-batches-py", root)
    assert data.info(root).set_index("name").loc["tiny_cifar10", "origin"] == \
        f"imported from {official / 'cifar-10-batches-py'}"
    assert [p.name for p in root.iterdir() if not p.name.endswith(".lock")] == ["CIFAR10"]


def refused(name: str, path: Path, root: Path) -> str:
    """The one-line refusal of importing ``path`` as ``name``; asserts the data root was left as it was."""
    before = snapshot(root)
    with pytest.raises(data.ImportRefusedError) as caught:
        data.import_dataset(name, path, root)
    assert snapshot(root) == before
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_files_with_another_md5_than_torchvision_knows_are_refused(official: Path, tmp_path: Path) -> None:
    cifar_md5 = dict(datasets.CIFAR10.train_list)["data_batch_1"]
    message = refused("cifar10", official / "cifar-10-batches-py", tmp_path / "data")
    assert "data_batch_1" in message and f"expected {cifar_md5}" in message
    message = refused("cifar10", official / "cifar-10-python.tar.gz", tmp_path / "data")
    assert "cifar-10-python.tar.gz" in message and f"expected {datasets.CIFAR10.tgz_md5}" in message
    message = refused("svhn", official / "svhn", tmp_path / "data")
    assert "train_32x32.mat" in message and datasets.SVHN.split_list["train"][2] in message


def test_a_missing_truncated_or_foreign_file_is_refused_and_nothing_changes(official: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    data.import_dataset("tiny_mnist", official / "mnist", root)    # a complete dataset that must survive
    mnist = official / "mnist"
    labels = mnist / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[:-9])
    assert "t10k-labels-idx1-ubyte.gz: not a valid gzip file" in refused("tiny_mnist", mnist, root)
    labels.unlink()
    message = refused("tiny_mnist", mnist, root)
    assert "holds no t10k-labels-idx1-ubyte or t10k-labels-idx1-ubyte.gz" in message
    shutil.copyfile(official / "cifar-10-batches-py" / "test_batch", mnist / "t10k-labels-idx1-ubyte")
    message = refused("tiny_mnist", mnist, root)
    assert "t10k-labels-idx1-ubyte: md5 of its file is" in message and "another dataset's file" in message
    assert "is a file; expected a directory" in refused("tiny_mnist", official / "cifar-10-python.tar.gz", root)
    assert "holds no data_batch_1" in refused("tiny_cifar10", mnist, root)
    (official / "svhn" / "test_32x32.mat").unlink()
    assert "svhn holds no test_32x32.mat" in refused("tiny_svhn", official / "svhn", root)
    assert "does not exist" in refused("tiny_svhn", tmp_path / "nowhere", root)
    assert data.info(root).set_index("name").loc["tiny_mnist", "complete"]


def test_a_synthetic_or_plugin_dataset_without_official_files_is_refused(official: Path, tmp_path: Path) -> None:
    data.register(blobs(counted_reader([])))
    assert "blobs has no official files to import; importable: mnist" in refused("blobs", official, tmp_path / "d")
    assert "synthetic_mnist has no official files" in refused("synthetic_mnist", official, tmp_path / "d")


def test_the_import_command_refuses_a_foreign_file_in_one_line(official: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    done = archbench("data", "import", "cifar10", str(official / "cifar-10-python.tar.gz"), "--data-dir", str(root))
    assert done.returncode == 2
    assert error_lines(done.stderr) == done.stderr.strip().splitlines()
    assert len(error_lines(done.stderr)) == 1 and "cifar-10-python.tar.gz" in done.stderr
    assert datasets.CIFAR10.tgz_md5 in done.stderr and not root.exists()
    done = archbench("data", "import", "imagenet", str(official), "--data-dir", str(root))
    assert done.returncode == 2 and "unknown dataset 'imagenet'; valid: mnist" in done.stderr


# ---------------------------------------------------------------- one download per node

def downloading_cifar_class(mirror: Path, md5s: dict[str, str], log: Path) -> type[datasets.CIFAR10]:
    """A CIFAR-10 class whose download copies ``mirror`` (slowly) and that logs each open and download."""
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
            time.sleep(0.5)    # long enough for the other processes to arrive while it runs
            shutil.copytree(mirror, Path(self.root) / self.base_folder)

    return DownloadingCIFAR10


def first_load_in_a_fresh_process(root: Path, mirror: Path, md5s: dict[str, str], log: Path,
                                  start: multiprocessing.synchronize.Barrier,
                                  results: multiprocessing.Queue) -> None:
    register_tiny("cifar10", downloading_cifar_class(mirror, md5s, log))
    start.wait()
    images, labels = data.load_split("tiny_cifar10", "train", root, download=True)
    results.put((int(images.long().sum()), labels.tolist()))


def test_concurrent_first_loads_download_and_decode_once(tmp_path: Path) -> None:
    mirror, root, log = tmp_path / "mirror", tmp_path / "data", tmp_path / "log.txt"
    md5s = write_cifar(mirror)
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(3), context.Queue()
    processes = [context.Process(target=first_load_in_a_fresh_process,
                                 args=(root, mirror, md5s, log, start, results)) for _ in range(3)]
    try:
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=120)
        assert [process.exitcode for process in processes] == [0, 0, 0]
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


# ---------------------------------------------------------------- synthetic datasets

def test_synthetic_splits_are_deterministic_prefixes_of_the_real_size() -> None:
    images, labels = data.load_split("synthetic_cifar10", "train", limit=1500)
    again, _ = data.load_split("synthetic_cifar10", "train", limit=1500)
    prefix, prefix_labels = data.load_split("synthetic_cifar10", "train", limit=100)
    test, _ = data.load_split("synthetic_cifar10", "test", limit=100)
    assert images.shape == (1500, 3, 32, 32) and images.dtype == torch.uint8 and labels.dtype == torch.int64
    assert torch.equal(images, again)
    assert torch.equal(prefix, images[:100]) and torch.equal(prefix_labels, labels[:100])
    assert not torch.equal(test, prefix)
    assert set(labels.tolist()) == set(range(10))
    full, full_labels = data.load_split("synthetic_mnist", "test")
    assert full.shape == (10_000, 1, 28, 28) and full_labels.shape == (10_000,)


@pytest.mark.parametrize("name", ["synthetic_cifar10", "synthetic_mnist"])
def test_synthetic_data_is_learnable(name: str) -> None:
    torch.manual_seed(0)
    spec = data.spec(name)
    train = data.DeviceLoader(*data.load_split(name, "train", limit=2048), spec, 64, train=True)
    test_images, test_labels = data.load_split(name, "test", limit=1000)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(spec.channels * spec.image_size ** 2, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for images, labels in train:    # one epoch: 32 steps
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    test = data.DeviceLoader(test_images, test_labels, spec, 500, train=False)
    with torch.no_grad():
        correct = sum(int((model(x).argmax(1) == y).sum()) for x, y in test)
    assert correct / len(test_labels) > 0.5    # chance is 0.1


# ---------------------------------------------------------------- DeviceLoader

def random_split(spec: data.DatasetSpec, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random pixels; label i for image i, so a batch's labels say which images it holds."""
    generator = torch.Generator().manual_seed(1)
    shape = (count, spec.channels, spec.image_size, spec.image_size)
    return torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator), torch.arange(count)


def to_pixels(batch: torch.Tensor, spec: data.DatasetSpec) -> torch.Tensor:
    mean, std = torch.tensor(spec.mean).view(1, -1, 1, 1), torch.tensor(spec.std).view(1, -1, 1, 1)
    return ((batch * std + mean) * 255).round().to(torch.uint8)


@pytest.mark.parametrize("name, train", [("cifar10", False), ("mnist", False), ("mnist", True)])
def test_constant_images_normalise_to_the_spec_statistics(name: str, train: bool) -> None:
    spec = data.spec(name)
    images = torch.full((8, spec.channels, spec.image_size, spec.image_size), 200, dtype=torch.uint8)
    x, y = next(iter(data.DeviceLoader(images, torch.zeros(8, dtype=torch.int64), spec, 4, train=train)))
    expected = (200 / 255 - torch.tensor(spec.mean)) / torch.tensor(spec.std)
    assert x.dtype == torch.float32 and y.dtype == torch.int64 and x.shape == (4, *images.shape[1:])
    torch.testing.assert_close(x, expected.view(1, -1, 1, 1).expand_as(x))


def test_length_and_batch_sizes() -> None:
    spec = data.spec("mnist")
    images, labels = random_split(spec, 10)
    train = data.DeviceLoader(images, labels, spec, 4, train=True)
    test = data.DeviceLoader(images, labels, spec, 4, train=False)
    assert len(train) == 2 and [len(y) for _, y in train] == [4, 4]
    assert len(test) == 3 and [len(y) for _, y in test] == [4, 4, 2]
    assert torch.cat([y for _, y in test]).tolist() == list(range(10))


def test_test_mode_is_in_order_and_unaugmented() -> None:
    spec = data.spec("cifar10")
    images, labels = random_split(spec, 40)
    for _ in range(2):
        batches = list(data.DeviceLoader(images, labels, spec, 16, train=False))
        assert torch.equal(torch.cat([to_pixels(x, spec) for x, _ in batches]), images)


def matching_shift(original: torch.Tensor, augmented: torch.Tensor) -> tuple[int, int, bool] | None:
    """The (down, right, mirrored) crop of the 4-pixel zero-padded ``original`` equal to ``augmented``."""
    padded = torch.nn.functional.pad(original, (4, 4, 4, 4))
    size = original.shape[-1]
    for down in range(-4, 5):
        for right in range(-4, 5):
            window = padded[:, 4 + down:4 + down + size, 4 + right:4 + right + size]
            for mirrored in (False, True):
                if torch.equal(window.flip(-1) if mirrored else window, augmented):
                    return down, right, mirrored
    return None


@pytest.mark.parametrize("name", ["cifar10", "svhn"])
def test_augmentation_is_a_random_padded_crop_and_flip_only_where_allowed(name: str) -> None:
    spec = data.spec(name)
    images, labels = random_split(spec, 64)
    x, y = next(iter(data.DeviceLoader(images, labels, spec, 64, train=True)))
    assert x.shape == images.shape
    augmented = to_pixels(x, spec)
    shifts = [matching_shift(images[i], augmented[k]) for k, i in enumerate(y.tolist())]
    assert None not in shifts
    assert sum(s != (0, 0, False) for s in shifts) > 0.8 * len(shifts)    # pixels change
    assert len({s[:2] for s in shifts}) > 10                                 # offsets differ per image
    assert any(s[2] for s in shifts) == (spec.augment == "crop_flip")


def test_shuffling_follows_seed_and_epoch() -> None:
    spec = data.spec("cifar10")
    images, labels = random_split(spec, 64)

    def epochs(seed: int) -> list[torch.Tensor]:
        loader = data.DeviceLoader(images, labels, spec, 16, train=True, seed=seed)
        return [torch.cat([y for _, y in loader]) for _ in range(2)]

    first, same, other = epochs(0), epochs(0), epochs(1)
    assert torch.equal(first[0], same[0]) and torch.equal(first[1], same[1])
    assert not torch.equal(first[0], other[0])
    assert not torch.equal(first[0], first[1])
    assert sorted(first[0].tolist()) == list(range(64))
    x, _ = next(iter(data.DeviceLoader(images, labels, spec, 16, train=True, seed=0)))
    x_again, _ = next(iter(data.DeviceLoader(images, labels, spec, 16, train=True, seed=0)))
    assert torch.equal(x, x_again)


def test_channels_last() -> None:
    spec = data.spec("svhn")
    images, labels = random_split(spec, 8)
    for train in (True, False):
        x, _ = next(iter(data.DeviceLoader(images, labels, spec, 4, train=train, channels_last=True)))
        assert x.is_contiguous(memory_format=torch.channels_last)


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
