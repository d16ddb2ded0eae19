"""Fixtures of the data package's tests: a clean registry per test, tiny real datasets, no network."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from dataset_files import cifar_class, register_tiny, write_cifar, write_mnist, write_svhn

from orchestrator.data import specs


@pytest.fixture(autouse=True)
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Datasets a test registers are forgotten after it."""
    monkeypatch.setattr(specs, "_REGISTRY", dict(specs._REGISTRY))


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
