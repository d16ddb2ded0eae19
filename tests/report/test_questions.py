"""report.questions: the numbers behind the three questions (best per dataset, traits, across datasets)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from orchestrator import data
from orchestrator.report import analyze
from orchestrator.report.questions import DIFFICULTY, IMAGE_FORMAT, TRAIN_SIZE, TraitGroup, same_partitions
from report_frames import frames, trial_row


def test_best_per_dataset(summary):
    best = summary.analysis.best
    assert best.loc["mnist", ["winners", "best", "runner_up"]].tolist() == [("vgg",), "vgg", "lenet5"]
    assert best.loc["mnist", ["best_acc", "runner_up_acc"]].tolist() == [0.992, 0.98]
    assert best.loc["cifar10", ["best", "runner_up"]].tolist() == ["resnet20v2", "lenet5"]
    assert [best.loc[d, "test"].kind for d in ("mnist", "cifar10", "svhn")] == ["welch", "welch", "single seed"]
    assert [best.loc[d, "test"].exceeds for d in ("mnist", "cifar10")] == [False, True]


def test_a_dataset_without_a_runner_up_has_no_test(collapsed, nothing_ok_on_svhn):
    svhn = collapsed.analysis.best.loc["svhn"]
    assert (svhn["winners"], svhn["best"], svhn["test"]) == (("vgg",), "vgg", None) and pd.isna(svhn["runner_up"])
    nobody = nothing_ok_on_svhn.analysis.best.loc["svhn"]
    assert nobody["winners"] == () and pd.isna(nobody["best"]) and pd.isna(nobody["test"])


def test_dataset_traits(summary):
    traits = summary.analysis.traits
    assert list(traits.index) == ["mnist", "cifar10", "svhn"]
    assert traits.loc["mnist", ["channels", "image_size", "classes", "train_size"]].tolist() == [1, 28, 10, 60_000]
    assert traits.loc["cifar10", "pixel_mean"] == np.mean(data.spec("cifar10").mean)
    assert traits["difficulty"].tolist() == [0.98, 0.62, 0.80]    # lenet5's accuracy


def test_splits_by_trait(summary):
    splits = summary.analysis.splits
    # every dataset has 10 classes, so classes is no split
    assert list(splits) == [IMAGE_FORMAT, TRAIN_SIZE, DIFFICULTY]
    assert splits[IMAGE_FORMAT].to_dict() == {"mnist": TraitGroup(IMAGE_FORMAT, (1, 28)),
                                              "cifar10": TraitGroup(IMAGE_FORMAT, (3, 32)),
                                              "svhn": TraitGroup(IMAGE_FORMAT, (3, 32))}
    assert splits[TRAIN_SIZE]["mnist"] == TraitGroup(TRAIN_SIZE, (60_000,), above=True)
    assert splits[DIFFICULTY]["cifar10"] == TraitGroup(DIFFICULTY, (0.80,), above=False)
    assert same_partitions(splits) == [[TRAIN_SIZE, DIFFICULTY]]


def test_mean_rank_by_trait_group(summary):
    ranks = summary.analysis.trait_ranks
    assert ranks[TraitGroup(IMAGE_FORMAT, (3, 32))].tolist() == [3.0, 3.25, 2.75, 1.0]
    assert ranks[TraitGroup(TRAIN_SIZE, (60_000,), above=True)].tolist() == [3.0, 2.0, 3.0, 2.0]
    assert ranks[TraitGroup(DIFFICULTY, (0.80,), above=False)].tolist() == [2.0, 3.5, 3.5, 1.0]


def test_train_size_is_what_the_trials_trained_on():
    # A smoke run trains every dataset on the same 2,048 images: train size then splits nothing.
    rows = [trial_row("smoke", arch, dataset, 0, acc, synthetic=True, train_images=2048)
            for arch, acc in (("lenet5", 0.9), ("vgg", 0.8)) for dataset in ("synthetic_mnist", "synthetic_cifar10")]
    analysis = analyze(*frames(rows))
    assert analysis.traits["train_size"].tolist() == [2048, 2048]
    assert list(analysis.splits) == [IMAGE_FORMAT]


def test_overall(summary):
    overall = summary.analysis.overall
    assert list(overall.index) == ["resnet20v2", "vgg", "lenet5", "resnet20v1"]
    assert overall["wins"].tolist() == [2, 1, 0, 0]
    assert overall[["ok_datasets", "datasets"]].to_numpy().tolist() == [[3, 3], [2, 3], [3, 3], [2, 3]]
    # acc and seconds over MNIST and SVHN only: vgg and resnet20v1 have no ok seed on CIFAR-10
    assert summary.analysis.common == ["mnist", "svhn"]
    assert overall.loc["lenet5", ["mean_acc", "mean_seconds"]].tolist() == [0.89, 10.5]   # not CIFAR-10's 0.62


def test_overall_compares_only_datasets_every_arch_ran_ok(common_only):
    overall = common_only.analysis.overall
    assert overall["mean_rank"].to_dict() == {"vgg": 1.0, "lenet5": 2.0}   # lenet5 still ranks last on CIFAR-10
    assert overall["mean_acc"].to_dict() == {"vgg": 0.98, "lenet5": 0.97}  # both over MNIST, not vgg's 0.79


def test_a_dataset_where_nothing_ran_ok_counts_for_nobody(nothing_ok_on_svhn):
    assert nothing_ok_on_svhn.analysis.overall["mean_rank"].to_dict() == {"lenet5": 1.0, "vgg": 2.0}


def test_a_tie_counts_as_a_win_for_each(tied):
    overall = tied.analysis.overall
    assert overall.loc[["lenet5", "vgg", "resnet20v1"], ["wins", "shared_wins"]].to_numpy().tolist() == \
        [[2, 2], [2, 2], [0, 0]]


def test_a_sole_winner_counts_the_wins_it_shared(sole_winner_with_ties):
    overall = sole_winner_with_ties.analysis.overall
    assert overall[["wins", "shared_wins"]].to_numpy().tolist() == [[2, 1], [1, 1]]
