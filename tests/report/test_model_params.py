"""report.model_params: Table 3 without training, the models built now beside the study's Table 4.3."""

from __future__ import annotations

import pandas as pd
import pytest

import archs
from orchestrator import data, study
from orchestrator.report import NO_STUDY_FIGURE, parameter_counts, params_table
from orchestrator.report.study_figures import with_study_figures

KINDS = ("total", "trainable", "non_trainable")
OURS = [f"params_{k}" for k in KINDS]
THEIRS = [f"study_params_{k}" for k in KINDS]


@pytest.fixture(scope="module")
def counts() -> pd.DataFrame:
    return parameter_counts()


def _matching(counts: pd.DataFrame) -> set:
    return set(counts.index[(counts[OURS].to_numpy() == counts[THEIRS].to_numpy()).all(axis=1)])


def test_one_row_per_registered_cell(counts):
    assert list(counts.index) == [(a, d) for a in archs.names() for d in data.names()]
    assert counts.index.names == ["arch", "dataset"]
    assert set(study.PARAMS) <= set(counts.index)


def test_study_columns_are_the_studys_figures(counts):
    for cell, figures in study.PARAMS.items():
        assert tuple(counts.loc[cell, THEIRS]) == tuple(figures)


def test_match_where_the_study_fixes_the_model(counts):
    # The layer tables fix LeNet-5 and the VGG-like net; Keras' cifar10_resnet example fixes the
    # ResNets on colour input. The gray ResNets and SqueezeNet differ (see archs/resnet.py, squeezenet.py).
    matching = {(a, d) for a in ("lenet5", "vgg") for d in study.DATASETS}
    matching |= {(a, d) for a in ("resnet20v1", "resnet20v2") for d in ("cifar10", "svhn")}
    assert _matching(counts.loc[list(study.PARAMS)]) == matching
    assert tuple(counts.loc[("lenet5", "mnist"), OURS]) == (150_742, 150_742, 0)


def test_the_differences_the_table_shows(counts):
    table = params_table(counts, vs_study=True)
    for arch in ("resnet20v1", "resnet20v2"):
        for label in ("MNIST", "Fashion-MNIST"):
            assert table.loc[arch, f"{label} Δ"].tolist() == ["+64", "+32", "+32"]
    extras = {"MNIST": "+14,518", "Fashion-MNIST": "+14,518", "CIFAR-10": "+7,542", "SVHN": "+7,542"}
    for label, extra in extras.items():
        assert table.loc["squeezenet", f"{label} Δ"].tolist() == [extra, extra, "+0"]


def test_the_table_is_the_studys_grid(counts):
    table = params_table(counts, vs_study=True)
    assert list(table.index.get_level_values("arch").unique()) == archs.names()
    assert list(table.loc["lenet5"].index) == ["total", "trainable", "non-trainable"]
    assert list(table.columns[:3]) == ["MNIST", "MNIST study", "MNIST Δ"]
    assert table.loc[("vgg", "total"), ["SVHN", "SVHN study", "SVHN Δ"]].tolist() == ["1,505,610", "1,505,610", "+0"]


def test_a_synthetic_twin_is_compared_with_its_real_dataset():
    counts = parameter_counts(["lenet5"], ["synthetic_cifar10"])
    assert tuple(counts.loc[("lenet5", "synthetic_cifar10"), OURS]) == (204_098, 204_098, 0)
    assert tuple(counts.loc[("lenet5", "synthetic_cifar10"), THEIRS]) == tuple(study.PARAMS[("lenet5", "cifar10")])
    assert list(params_table(counts).columns) == ["CIFAR-10 (synthetic)"]


def test_an_architecture_the_study_lacks_says_no_study_figure(counts):
    mine = counts.loc[["lenet5"]].rename(index={"lenet5": "mynet"})[[*OURS, "synthetic"]]
    table = params_table(with_study_figures(mine), vs_study=True)
    assert table.loc[("mynet", "total"), ["MNIST", "MNIST study", "MNIST Δ"]].tolist() == \
        ["150,742", NO_STUDY_FIGURE, "—"]
