"""orchestrator.data.sources: each built-in source reads its dataset's real format to the stored pixels and labels.

The files are tiny ones written in the format torchvision reads (see dataset_files); CIFAR-10 and SVHN
are read with classes that carry their checksums (``tiny_cifar10``, ``tiny_svhn``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import scipy.io
import torch
from dataset_files import TEST_SIZE, TRAIN_SIZE, expected_images, expected_labels

from orchestrator import data


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
