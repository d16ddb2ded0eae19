"""report.study_figures: the study's figures beside each cell, the time to reach its accuracy, its collapsed runs."""

from __future__ import annotations

import numpy as np
import pytest
from report_frames import epoch_rows, frames, sweep_frames, trial_row

from orchestrator import study
from orchestrator.report import analyze
from orchestrator.report.study_figures import constant_prediction_class


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
    assert cells.loc[("lenet5", "mnist"), "seconds_to_study"] == pytest.approx((20.0 + 21.0) / 2)
    assert cells.loc[("lenet5", "mnist"), ["seeds_reached", "seeds_timed", "seeds_on_test"]].tolist() == [2, 2, 2]
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


def test_time_to_the_studys_accuracy_is_read_on_validation_where_there_is_a_split():
    """Test accuracy reaches lenet5/MNIST's 0.9834 at epoch 1; validation only at epoch 3, the last."""
    rows = [trial_row("s", "lenet5", "mnist", 0, 0.99)]
    history = epoch_rows("lenet5", "mnist", 0, [0.99, 0.99, 0.99], val=[0.97, 0.98, 0.985])
    cells = analyze(*frames(rows, history)).cells
    assert cells.loc[("lenet5", "mnist"), ["seconds_to_study", "seeds_on_test"]].tolist() == [30.0, 0]


@pytest.mark.parametrize("val, reached_at", [([0.99, 0.97, 0.99, 0.99], 30.0),   # a dip: from epoch 3, held
                                             ([0.97, 0.99, 0.97], None)])        # reached once, then lost
def test_an_epoch_counts_only_when_the_next_one_holds_the_target(val, reached_at):
    rows = [trial_row("s", "lenet5", "mnist", 0, 0.99)]
    cells = analyze(*frames(rows, epoch_rows("lenet5", "mnist", 0, [0.5] * len(val), val=val))).cells
    found = cells.loc[("lenet5", "mnist"), "seconds_to_study"]
    assert np.isnan(found) if reached_at is None else found == reached_at


def test_the_chosen_attempts_epochs_are_timed():
    rows = [trial_row("s", "lenet5", "mnist", 0, "collapsed", attempt=1),
            trial_row("s", "lenet5", "mnist", 0, 0.99, attempt=2)]
    history = (epoch_rows("lenet5", "mnist", 0, [0.99, 0.99], attempt=1)
               + epoch_rows("lenet5", "mnist", 0, [0.5, 0.99, 0.99], attempt=2, seconds=5.0))
    cells = analyze(*frames(rows, history)).cells
    assert cells.loc[("lenet5", "mnist"), "seconds_to_study"] == 10.0
