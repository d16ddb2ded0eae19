"""orchestrator.data.synthetic: generated stand-ins, deterministic and learnable."""

from __future__ import annotations

import pytest
import torch

from orchestrator import data


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
