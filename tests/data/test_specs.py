"""orchestrator.data.specs: the registry of the study's datasets, their synthetic twins and plugins' datasets."""

from __future__ import annotations

from dataclasses import replace

import pytest
from dataset_files import blobs, counted_reader

from orchestrator import data


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
