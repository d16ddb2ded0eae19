"""orchestrator.study: the study's Tables 4.1-4.3, keyed by archbench's names."""

from __future__ import annotations

import archs
from orchestrator import data, study


def test_every_table_has_a_figure_for_each_of_the_studys_cells():
    cells = {(arch, dataset) for arch in study.ARCHS for dataset in study.DATASETS}
    assert set(study.ACCURACY) == set(study.SECONDS) == set(study.PARAMS) == cells


def test_the_keys_are_archbenchs_registered_names():
    assert set(study.ARCHS) <= set(archs.names()) and set(study.DATASETS) <= set(data.names())


def test_accuracies_are_fractions_and_counts_add_up():
    assert all(0 < accuracy < 1 for accuracy in study.ACCURACY.values())
    assert all(p.total == p.trainable + p.non_trainable for p in study.PARAMS.values())


def test_gray_and_colour_datasets_share_their_parameter_counts():
    for arch in study.ARCHS:
        assert study.PARAMS[(arch, "mnist")] == study.PARAMS[(arch, "fashion_mnist")]
        assert study.PARAMS[(arch, "cifar10")] == study.PARAMS[(arch, "svhn")]
