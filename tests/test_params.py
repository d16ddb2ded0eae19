"""orchestrator.params: Table 4.3 rebuilt from the models, beside the study's figures."""

from __future__ import annotations

import pandas as pd
import pytest

from orchestrator import study
from orchestrator.params import params_table

KINDS = ("total", "trainable", "non_trainable")


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return params_table()


def test_one_row_per_study_cell(table):
    assert len(table) == 20
    assert list(table.index) == [(a, d) for a in study.ARCHS for d in study.DATASETS]
    assert table.index.names == ["arch", "dataset"]
    assert list(table.columns) == [
        *KINDS, *(f"study_{k}" for k in KINDS), *(f"diff_{k}" for k in KINDS), "match",
    ]


def test_study_columns_are_the_studys_figures(table):
    for cell, figures in study.PARAMS.items():
        assert tuple(table.loc[cell, [f"study_{k}" for k in KINDS]]) == tuple(figures)


def test_match_where_the_study_fixes_the_model(table):
    # The layer tables fix LeNet-5 and the VGG-like net; Keras' cifar10_resnet example fixes the
    # ResNets on colour input. The gray ResNets and SqueezeNet differ (see archs/resnet.py, squeezenet.py).
    matching = {(a, d) for a in ("lenet5", "vgg") for d in study.DATASETS}
    matching |= {(a, d) for a in ("resnet20v1", "resnet20v2") for d in ("cifar10", "svhn")}
    assert set(table.index[table["match"]]) == matching
    assert (table.loc[sorted(matching), [f"diff_{k}" for k in KINDS]] == 0).all().all()
    assert tuple(table.loc[("lenet5", "mnist"), list(KINDS)]) == (150_742, 150_742, 0)


def test_the_differences_the_table_shows(table):
    diffs = table[[f"diff_{k}" for k in KINDS]]
    for arch in ("resnet20v1", "resnet20v2"):
        for dataset in ("mnist", "fashion_mnist"):
            assert tuple(diffs.loc[(arch, dataset)]) == (64, 32, 32)
    for dataset, extra in {"mnist": 14_518, "fashion_mnist": 14_518, "cifar10": 7_542, "svhn": 7_542}.items():
        assert tuple(diffs.loc[("squeezenet", dataset)]) == (extra, extra, 0)


def test_a_cell_outside_the_study_has_no_study_figures():
    row = params_table(["lenet5"], ["synthetic_cifar10"]).loc[("lenet5", "synthetic_cifar10")]
    assert row["total"] == 204_098
    assert pd.isna(row["study_total"]) and pd.isna(row["diff_total"])
    assert not row["match"]
