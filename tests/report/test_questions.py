"""report.questions: the numbers behind the three questions (best per dataset, traits, across datasets)."""

from __future__ import annotations

import numpy as np
import pytest
from report_frames import frames, history_rows, sweep_frames, trial_row
from scipy import stats

from orchestrator import data
from orchestrator.report import analyze
from orchestrator.report.questions import DIFFICULTY, IMAGE_FORMAT, TRAIN_SIZE, TraitGroup, same_partitions
from orchestrator.report.significance import TOO_FEW, WELCH


def test_best_per_dataset(summary):
    best = summary.analysis.best
    assert best["order"].to_dict() == {"mnist": ("vgg", "lenet5", "resnet20v2", "resnet20v1"),
                                       "cifar10": ("resnet20v2", "lenet5"),
                                       "svhn": ("resnet20v2", "resnet20v1", "vgg", "lenet5")}
    assert best["candidate"].tolist() == ["vgg", "resnet20v2", "resnet20v2"]
    assert best["winner"].tolist() == ["", "resnet20v2", ""]
    mnist = best.loc["mnist", "comparisons"]
    assert [(c.lower, c.kind) for c in mnist] == [("lenet5", WELCH), ("resnet20v2", TOO_FEW), ("resnet20v1", TOO_FEW)]
    assert summary.analysis.tests == 2


def test_the_holm_family_is_every_test_question_1_made(summary):
    p_mnist = stats.ttest_ind([0.990, 0.992, 0.994], [0.98, 0.97, 0.99], equal_var=False).pvalue
    p_cifar = stats.ttest_ind([0.70, 0.71, 0.72], [0.60, 0.62, 0.64], equal_var=False).pvalue
    best = summary.analysis.best
    assert best.loc["cifar10", "comparisons"][0].p_holm == pytest.approx(2 * p_cifar)
    assert best.loc["mnist", "comparisons"][0].p_holm == pytest.approx(max(2 * p_cifar, p_mnist))


def test_a_dataset_without_a_second_stable_cell_names_no_winner(collapsed, nothing_ok_on_svhn, unstable_above):
    svhn = collapsed.analysis.best.loc["svhn"]
    assert (svhn["order"], svhn["candidate"], svhn["comparisons"], svhn["winner"]) == (("vgg",), "vgg", (), "")
    nobody = nothing_ok_on_svhn.analysis.best.loc["svhn"]
    assert (nobody["order"], nobody["candidate"], nobody["winner"]) == ((), "", "")
    # the unstable vgg is compared on its scores (two ok seeds, too few to test): no winner, and no best stable
    mnist = unstable_above.analysis.best.loc["mnist"]
    assert (mnist["order"], mnist["unstable"], mnist["winner"], mnist["best_stable"]) == (("lenet5", "vgg"), ("vgg",),
                                                                                         "", "")
    assert [(c.higher, c.lower, c.kind) for c in mnist["comparisons"]] == [("vgg", "lenet5", TOO_FEW)]


def test_a_best_unstable_cell_is_no_candidate():
    analysis = analyze(*sweep_frames("s", {("lenet5", "mnist"): ["diverged", 0.9, 0.9],
                                           ("vgg", "mnist"): [0.8, "collapsed", 0.8]}))
    assert analysis.best.loc["mnist", ["order", "candidate", "winner"]].tolist() == [("lenet5", "vgg"), "", ""]


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
    # vgg and resnet20v1 have no ok seed on CIFAR-10: no rank there, so their means are over SVHN alone
    assert ranks[TraitGroup(IMAGE_FORMAT, (3, 32))].tolist() == [3.0, 3.0, 2.0, 1.0]
    assert ranks[TraitGroup(TRAIN_SIZE, (60_000,), above=True)].tolist() == [3.0, 2.0, 3.0, 2.0]
    assert ranks[TraitGroup(DIFFICULTY, (0.80,), above=False)].fillna(0).tolist() == [2.0, 0, 0, 1.0]


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
    assert overall["wins"].tolist() == [1, 0, 0, 0]   # resnet20v2 on CIFAR-10, the only separable lead
    assert overall[["ok_datasets", "datasets"]].to_numpy().tolist() == [[3, 3], [2, 3], [3, 3], [2, 3]]
    # acc and seconds over MNIST and SVHN only: vgg and resnet20v1 have no ok seed on CIFAR-10
    assert summary.analysis.common == ["mnist", "svhn"]
    # seconds per epoch (the recipes train different numbers of epochs): lenet5 trains 10-12 s over 3 epochs
    assert overall.loc["lenet5", ["mean_acc", "mean_seconds"]].tolist() == pytest.approx([0.89, 3.5])


def test_overall_compares_only_datasets_every_arch_ran_ok(common_only):
    overall = common_only.analysis.overall
    assert overall["mean_rank"].to_dict() == {"vgg": 1.0, "lenet5": 2.0}   # lenet5 still ranks last on CIFAR-10
    assert overall["mean_acc"].to_dict() == {"vgg": 0.98, "lenet5": 0.97}  # both over MNIST, not vgg's 0.79


def test_a_dataset_where_nothing_ran_ok_counts_for_nobody(nothing_ok_on_svhn):
    assert nothing_ok_on_svhn.analysis.overall["mean_rank"].to_dict() == {"lenet5": 1.0, "vgg": 2.0}


def test_a_tie_is_a_win_for_nobody(tied):
    assert tied.analysis.overall["wins"].tolist() == [0, 0, 0]


def test_only_separable_wins_count(separable_everywhere, sole_winner):
    assert separable_everywhere.analysis.overall["wins"].to_dict() == {"lenet5": 2, "vgg": 0}
    assert sole_winner.analysis.overall["wins"].to_dict() == {"lenet5": 0, "vgg": 0}   # one seed a side


def test_unstable_datasets_are_counted_per_architecture(unstable_above):
    assert unstable_above.analysis.overall["unstable"].to_dict() == {"lenet5": 0, "vgg": 1}


def test_a_best_stable_architecture_is_named_so_where_an_unstable_cell_is_not_separated():
    """vgg is separably above lenet5, but resnet20v1's cell is unstable: its two ok seeds score near vgg's and its
    collapsed seed counts as what it scored (0.10), so vgg is not separated from it: best stable, not best."""
    rows = [trial_row("s", "lenet5", "mnist", seed, acc) for seed, acc in enumerate([0.80, 0.81, 0.82])]
    rows += [trial_row("s", "vgg", "mnist", seed, acc) for seed, acc in enumerate([0.95, 0.96, 0.97])]
    rows += [trial_row("s", "resnet20v1", "mnist", seed, acc) for seed, acc in enumerate([0.99, 0.98])]
    rows.append(trial_row("s", "resnet20v1", "mnist", 2, "collapsed"))
    history = [h for row in rows for h in history_rows(row)]
    for h in history:   # the collapsed seed's last epoch scored 0.10 on the test set
        if h["arch"] == "resnet20v1" and h["seed"] == 2:
            h["test_acc"] = 0.10
    best = analyze(*frames(rows, history)).best.loc["mnist"]
    assert (best["candidate"], best["winner"], best["best_stable"]) == ("vgg", "", "vgg")
    resnet = next(c for c in best["comparisons"] if "resnet20v1" in (c.higher, c.lower))
    assert resnet.n_lower == 3 and resnet.mean_lower == pytest.approx((0.99 + 0.98 + 0.10) / 3)


def test_the_best_is_named_only_when_separated_from_every_cell_with_a_score():
    cells = {("lenet5", "mnist"): [0.80, 0.81, 0.82], ("vgg", "mnist"): [0.95, 0.96, 0.97],
             ("resnet20v1", "mnist"): [0.50, 0.52, "diverged"]}
    best = analyze(*sweep_frames("s", cells)).best.loc["mnist"]
    # resnet20v1's two ok seeds are too few to test: vgg is only the best stable one
    assert (best["winner"], best["best_stable"]) == ("", "vgg")
    cells[("resnet20v1", "mnist")] = [0.50, 0.52, 0.51, "diverged"]
    best = analyze(*sweep_frames("s", cells)).best.loc["mnist"]
    assert (best["winner"], best["best_stable"]) == ("vgg", "")


def test_a_lead_of_exactly_the_threshold_separates():
    from orchestrator.report.significance import MIN_LEAD, compare
    c = compare("a", [0.9130, 0.9131, 0.9129], "b", [0.9120, 0.9121, 0.9119])
    assert c.lead < MIN_LEAD    # 0.000999... in floats
    assert c.separates
