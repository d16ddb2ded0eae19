"""report.cells: per-cell statistics of the ok seeds, counts per status, ranks, display order and curves."""

from __future__ import annotations

import numpy as np
import pytest
from report_frames import EPOCHS, frames, sweep_frames, trial_row

from orchestrator.report import analyze


def test_cell_numbers(summary):
    cells = summary.analysis.cells
    assert cells.loc[("resnet20v1", "mnist"), "acc_std"] == pytest.approx(np.std([0.95, 0.96], ddof=1))
    assert cells.loc[("resnet20v1", "mnist"), ["n", "n_ok", "n_failed"]].tolist() == [3, 2, 1]
    assert cells.loc[("vgg", "cifar10"), "n_diverged"] == 3
    assert np.isnan(cells.loc[("vgg", "cifar10"), "acc_mean"])
    assert np.isnan(cells.loc[("resnet20v2", "mnist"), "acc_std"])


def test_seconds_per_epoch_is_a_number(summary):
    cells = summary.analysis.cells
    assert cells.loc[("resnet20v1", "mnist"), "seconds_per_epoch"] == pytest.approx(200.5 / EPOCHS)
    assert np.isnan(cells.loc[("vgg", "cifar10"), "seconds_per_epoch"])


def test_ranks(summary):
    ranks = summary.analysis.cells["rank"].unstack("dataset")
    assert ranks["mnist"].to_dict() == {"vgg": 1, "lenet5": 2, "resnet20v2": 3, "resnet20v1": 4}
    # a cell without an ok seed has no rank: missing is not worse, so it is not put last
    assert ranks["cifar10"].dropna().to_dict() == {"resnet20v2": 1, "lenet5": 2}
    assert ranks["cifar10"][["vgg", "resnet20v1"]].isna().all()
    assert ranks["svhn"].to_dict() == {"resnet20v2": 1, "resnet20v1": 2, "vgg": 3, "lenet5": 4}


def test_a_dataset_where_nothing_ran_ok_ranks_nobody(nothing_ok_on_svhn):
    assert np.isnan(nothing_ok_on_svhn.analysis.cells.loc[("vgg", "svhn"), "rank"])


def test_a_collapsed_seed_has_no_accuracy(collapsed):
    cells = collapsed.analysis.cells
    assert cells.loc[("vgg", "mnist"), "acc_mean"] == 0.95 and cells.loc[("vgg", "mnist"), "n_collapsed"] == 1
    assert np.isnan(cells.loc[("lenet5", "svhn"), "acc_mean"]) and np.isnan(cells.loc[("lenet5", "svhn"), "rank"])


def test_a_collapsed_seed_names_the_class_it_predicted_most(collapsed):
    found = collapsed.analysis.collapses.set_index(["arch", "dataset", "seed"])
    assert found[["status", "top_class"]].to_dict("index") == {
        ("vgg", "mnist", 1): {"status": "collapsed", "top_class": 3},
        ("lenet5", "svhn", 0): {"status": "collapsed", "top_class": 3}}
    assert found["share"].tolist() == [0.97, 0.97]


def test_a_status_archbench_does_not_know_counts_as_no_accuracy(unknown_status):
    cells = unknown_status.analysis.cells
    assert cells.loc[("vgg", "mnist"), "acc_mean"] == 0.8
    assert cells.loc[("vgg", "mnist"), ["n", "n_ok", "n_timed out"]].tolist() == [2, 1, 1]


def test_synthetic_flag_of_the_trials_marks_a_real_dataset_synthetic():
    analysis = analyze(*sweep_frames("s", {("lenet5", "mnist"): [0.9]}, synthetic=True))
    assert analysis.cells["synthetic"].tolist() == [True] and analysis.synthetic


def test_registered_architectures_and_datasets_come_first():
    rows = [trial_row("s", arch, dataset, 0, 0.9) for arch in ("mynet", "vgg", "lenet5")
            for dataset in ("emnist", "synthetic_mnist", "svhn", "mnist")]
    analysis = analyze(*frames(rows))
    assert analysis.archs == ["lenet5", "vgg", "mynet"]
    assert analysis.datasets == ["mnist", "synthetic_mnist", "svhn", "emnist"]


def test_curves_use_ok_seeds_of_the_sweep(summary):
    curves = summary.analysis.curves.set_index(["arch", "dataset", "epoch"])
    assert curves.loc[("lenet5", "mnist", 3), "mean"] == pytest.approx(0.98)   # the old sweep's 0.5 is not in
    assert curves.loc[("lenet5", "mnist", 1), "mean"] == pytest.approx(0.88)
    assert curves.loc[("vgg", "mnist", 3), "std"] == pytest.approx(0.002)
    assert ("vgg", "cifar10", 1) not in curves.index
    assert curves.loc[("resnet20v1", "mnist", 3), "mean"] == pytest.approx(0.955)


def test_an_unstable_cell_ranks_after_every_stable_one_and_a_cell_without_an_ok_seed_has_no_rank():
    analysis = analyze(*sweep_frames("s", {("lenet5", "mnist"): [0.80], ("vgg", "mnist"): [0.99, "diverged"],
                                           ("resnet20v1", "mnist"): ["failed"], ("resnet20v2", "mnist"): [0.70]}))
    cells = analysis.cells.xs("mnist", level="dataset")
    assert cells["rank"].dropna().to_dict() == {"lenet5": 1, "vgg": 3, "resnet20v2": 2}
    assert np.isnan(cells.loc["resnet20v1", "rank"])
    assert cells["unstable"].to_dict() == {"lenet5": False, "vgg": True, "resnet20v1": False, "resnet20v2": False}


def test_a_cell_is_flagged_by_its_ok_seeds_unpredicted_classes_only(unpredicted):
    rows = [trial_row("s", "lenet5", "mnist", 0, "collapsed", unpredicted_classes=[1, 2]),
            trial_row("s", "lenet5", "mnist", 1, 0.9, unpredicted_classes=[])]
    assert not analyze(*frames(rows)).cells.loc[("lenet5", "mnist"), "unpredicted"]
    assert unpredicted.analysis.cells["unpredicted"].to_dict() == {("lenet5", "mnist"): True, ("vgg", "mnist"): False}


def test_each_seed_counts_once_by_its_chosen_attempt(retrained):
    cells = retrained.analysis.cells
    assert cells.loc[("vgg", "mnist"), ["n", "n_ok", "n_collapsed", "n_diverged"]].tolist() == [1, 1, 0, 0]
    assert cells["retrained"].to_dict() == {("lenet5", "mnist"): False, ("vgg", "mnist"): True}
    assert retrained.analysis.retrained[["arch", "seed", "status"]].values.tolist() == [["vgg", 0, "ok"]]


def test_a_seed_retrained_after_a_failure_only_is_not_marked():
    rows = [trial_row("s", "lenet5", "mnist", 0, "failed", attempt=1), trial_row("s", "lenet5", "mnist", 0, 0.9,
                                                                                 attempt=2)]
    assert not analyze(*frames(rows)).cells.loc[("lenet5", "mnist"), "retrained"]


def test_a_cell_stays_unstable_after_its_collapse_was_re_trained_ok():
    """A collapse, then --force re-trained the seed ok: the cell is still unstable (†) and re-trained (§), and ranks
    after the stable cell although its shown seed scores higher."""
    rows = [trial_row("s", "lenet5", "mnist", 0, 0.90),
            trial_row("s", "vgg", "mnist", 0, "collapsed", attempt=1),
            trial_row("s", "vgg", "mnist", 0, 0.99, attempt=2)]
    cells = analyze(*frames(rows)).cells.xs("mnist", level="dataset")
    assert cells.loc["vgg", "n_collapsed"] == 0 and cells.loc["vgg", "n_ok"] == 1   # the shown result is ok
    assert cells.loc["vgg", "unstable"] and cells.loc["vgg", "retrained"]
    assert cells["rank"].to_dict() == {"lenet5": 1, "vgg": 2}
