"""report.study_figures: the study's figures beside each cell, the time to reach its accuracy, its collapsed runs."""

from __future__ import annotations

import numpy as np
import pytest

from orchestrator import study
from orchestrator.report import analyze
from orchestrator.report.study_figures import constant_prediction_class
from report_frames import frames, sweep_frames, trial_row


def test_a_cell_gets_the_studys_figures(summary):
    cells = summary.analysis.cells
    assert cells.loc[("lenet5", "mnist"), ["study_acc", "study_seconds"]].tolist() == [0.9834, 220]
    params = ["study_params_total", "study_params_trainable", "study_params_non_trainable"]
    assert tuple(cells.loc[("resnet20v1", "svhn"), params]) == study.PARAMS[("resnet20v1", "svhn")]


def test_a_synthetic_twin_gets_the_figures_of_its_real_dataset():
    cells = analyze(*sweep_frames("s", {("lenet5", "synthetic_mnist"): [0.5]}, synthetic=True)).cells
    assert cells.loc[("lenet5", "synthetic_mnist"), "study_acc"] == study.ACCURACY[("lenet5", "mnist")]


def test_a_cell_the_study_lacks_has_nan_figures():
    rows = [trial_row("s", "mynet", "mnist", 0, 0.99), trial_row("s", "lenet5", "emnist", 0, 0.9)]
    cells = analyze(*frames(rows)).cells
    assert cells[["study_acc", "study_seconds", "study_params_total"]].isna().all(axis=None)


def test_time_to_the_studys_accuracy(timed_to_study):
    cells = timed_to_study.analysis.cells
    assert cells.loc[("lenet5", "mnist"), "seconds_to_study"] == pytest.approx((20.0 + 7.0) / 2)
    assert cells.loc[("lenet5", "mnist"), ["seeds_reached", "seeds_timed"]].tolist() == [2, 2]
    assert np.isnan(cells.loc[("vgg", "mnist"), "seconds_to_study"])
    assert cells.loc[("vgg", "mnist"), ["seeds_reached", "seeds_timed"]].tolist() == [0, 2]


def test_the_studys_collapsed_run_is_found_with_its_class(study_collapsed):
    analysis = study_collapsed.analysis
    assert analysis.cells.loc[("vgg", "svhn"), "study_collapse_class"] == 0
    assert np.isnan(analysis.cells.loc[("lenet5", "svhn"), "study_collapse_class"])
    assert analysis.study_collapses.loc[("vgg", "svhn")].tolist() == [0.067, 0, 1_744, 26_032]
    assert list(analysis.study_collapses.index) == [("vgg", "svhn")]


@pytest.mark.parametrize("dataset, accuracy, expected", [
    ("svhn", 0.067, 0), ("svhn", 0.0670, 0), ("svhn", 0.196, 1), ("svhn", 0.809, None), ("mnist", 0.9834, None),
    ("cifar10", 0.1, None),   # every class is 10%: no single class to name
])
def test_a_constant_predictions_accuracy_is_recognised_at_the_figures_rounding(dataset, accuracy, expected):
    found = constant_prediction_class(dataset, accuracy)
    assert (np.isnan(found) if expected is None else found == expected)
