"""orchestrator.data.imports: `archbench data import` verifies the official files and decodes them atomically."""

from __future__ import annotations

import gzip
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from dataset_files import (
    TEST_SIZE,
    TRAIN_SIZE,
    blobs,
    cifar_class,
    counted_reader,
    expected_images,
    expected_labels,
    gzip_idx_files,
    register_tiny,
    write_cifar,
    write_mnist,
    write_svhn,
    write_tarball,
)
from helpers import archbench, error_lines
from torchvision import datasets

from orchestrator import data


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
