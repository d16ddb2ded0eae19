"""report.labels: what a reader sees for a dataset, a group of datasets, and the arch x dataset grid."""

from __future__ import annotations

import pytest

from orchestrator.report.labels import dataset_label, grid, in_label_order, study_dataset_title, trait_group_label
from orchestrator.report.questions import CLASSES, DIFFICULTY, IMAGE_FORMAT, TRAIN_SIZE, TraitGroup


@pytest.mark.parametrize("name, synthetic, label", [
    ("mnist", False, "MNIST"),
    ("mnist", True, "MNIST (synthetic)"),                         # the flag wins over a real title
    ("synthetic_cifar10", True, "CIFAR-10 (synthetic)"),          # said once, not twice
    ("emnist", False, "emnist"),                                  # a dataset archbench does not know keeps its name
])
def test_dataset_label(name, synthetic, label):
    assert dataset_label(name, synthetic) == label


def test_the_study_names_its_datasets_by_their_titles():
    assert [study_dataset_title(name) for name in ("svhn", "fashion_mnist", "emnist")] == \
        ["SVHN", "Fashion-MNIST", "emnist"]


@pytest.mark.parametrize("group, label", [
    (TraitGroup(IMAGE_FORMAT, (1, 28)), "1ch 28px"),
    (TraitGroup(CLASSES, (10,)), "10 classes"),
    (TraitGroup(TRAIN_SIZE, (60_000,), above=True), "train ≥ 60,000"),
    (TraitGroup(TRAIN_SIZE, (60_000,), above=False), "train < 60,000"),
    (TraitGroup(DIFFICULTY, (0.8,), above=True), "easier: lenet5 acc ≥ 0.800"),
    (TraitGroup(DIFFICULTY, (0.8,), above=False), "harder: lenet5 acc < 0.800"),
])
def test_trait_group_label(group, label):
    assert trait_group_label(group) == label


def test_groups_stay_with_their_trait_in_label_order():
    groups = [TraitGroup(CLASSES, (100,)), TraitGroup(DIFFICULTY, (0.8,), above=False),
              TraitGroup(CLASSES, (10,)), TraitGroup(DIFFICULTY, (0.8,), above=True)]
    assert [trait_group_label(group) for group in in_label_order(groups)] == \
        ["10 classes", "100 classes", "easier: lenet5 acc ≥ 0.800", "harder: lenet5 acc < 0.800"]


def test_the_grid_is_arch_by_dataset_label_in_display_order(summary):
    accuracy = grid(summary.analysis.cells, "acc_mean")
    assert list(accuracy.index) == ["lenet5", "vgg", "resnet20v1", "resnet20v2"]
    assert list(accuracy.columns) == ["MNIST", "CIFAR-10", "SVHN"]
    assert accuracy.loc["resnet20v2", "SVHN"] == 0.90
