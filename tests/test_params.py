"""archs.params: parameter counts of every registered architecture built for each input shape.

(``count_params`` itself, the Keras convention, is specified in test_archs.py beside the builders it counts.)
"""

from __future__ import annotations

import pytest

import archs

GRAY = archs.InputShape(in_channels=1, num_classes=10, image_size=28)
COLOR = archs.InputShape(in_channels=3, num_classes=10, image_size=32)


@pytest.fixture(scope="module")
def counts() -> dict:
    return archs.count_built({"gray": GRAY, "color": COLOR}, ["lenet5", "resnet20v1"])


def test_one_count_per_architecture_and_shape_in_registry_order(counts):
    assert list(counts) == [("lenet5", "gray"), ("lenet5", "color"), ("resnet20v1", "gray"), ("resnet20v1", "color")]


def test_each_count_is_that_of_the_model_built_for_the_shape(counts):
    # The study's LeNet-5 (its Table 4.3) on 28×28×1 and 32×32×3 input.
    assert counts[("lenet5", "gray")] == archs.ParamCounts(150_742, 150_742, 0)
    assert counts[("lenet5", "color")] == archs.ParamCounts(204_098, 204_098, 0)
    assert counts[("resnet20v1", "color")] == archs.count_params(archs.build("resnet20v1", 3, 10, 32))


def test_the_shape_is_passed_as_build_takes_it():
    [(_, counts)] = archs.count_built({"100 classes": archs.InputShape(1, 100, 28)}, ["lenet5"]).items()
    assert counts.total == 150_742 + 90 * 257   # the last layer (256 -> classes): 90 more rows of 256 weights + bias


def test_every_registered_architecture_by_default():
    counted = archs.count_built({"gray": GRAY})
    assert [arch for arch, _ in counted] == archs.names()
