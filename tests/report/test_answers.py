"""report.answers: the notes above the tables and the answers to the study's three questions."""

from __future__ import annotations

import pytest
from report_frames import frames, sweep_frames, trial_row
from scipy import stats

from orchestrator.report import SYNTHETIC_NOTE, summarize
from orchestrator.report.answers import ATTEMPT_RULE, RANKING_NOTE, TABLE_1_LEGEND, TIME_TO_STUDY_NOTE

# --- notes ---------------------------------------------------------------------------------------


def test_the_last_note_names_the_sweep_counts_its_seeds_and_states_the_attempt_rule(summary, results):
    assert "Sweep 'main': the most recent of 2 (main, old)" in summary.notes[-1]
    assert "; 26 seeds: 19 ok, 3 diverged, 4 failed. " in summary.notes[-1]   # of this sweep only
    assert summarize(*results, sweep="old").notes[-1] == (
        f"Sweep 'old'; 1 seeds: 1 ok. {ATTEMPT_RULE} (1 attempts on record for 1 seeds).")


def test_the_only_sweep_says_so():
    assert summarize(*sweep_frames("s", {("lenet5", "mnist"): [0.9]})).notes[-1].startswith(
        "Sweep 's' (the only one); 1 seeds: 1 ok.")


def test_statuses_are_counted_by_name(collapsed, unknown_status):
    assert "5 seeds: 3 ok, 2 collapsed." in collapsed.notes[-1]
    assert "3 seeds: 2 ok, 1 timed out." in unknown_status.notes[-1]


def test_a_seed_is_counted_once_by_its_chosen_attempt_and_every_attempt_is_on_record(retrained):
    assert "2 seeds: 2 ok." in retrained.notes[-1] and "(4 attempts on record for 2 seeds)" in retrained.notes[-1]


def test_seeds_retrained_after_a_collapse_or_divergence_are_named(retrained):
    assert [n for n in retrained.notes if n.startswith("Re-trained")] == [
        "Re-trained after a collapse or divergence (§), results in order, the last shown: "
        "vgg on MNIST seed 0 (collapsed, diverged, ok)."]


def test_ok_seeds_that_never_predicted_a_class_are_named(unpredicted):
    assert [n for n in unpredicted.notes if n.startswith("Ok seeds")] == [
        "Ok seeds that never predicted some class on their validation split (else test set) (‡): "
        "lenet5 on MNIST seed 1 (classes 3, 7)."]


def test_the_legend_the_ranking_rule_and_the_time_to_target_rule_are_stated(summary):
    assert {TABLE_1_LEGEND, RANKING_NOTE, TIME_TO_STUDY_NOTE} <= set(summary.notes)
    assert all(mark in TABLE_1_LEGEND for mark in "†‡§")
    assert "validation accuracy" in TIME_TO_STUDY_NOTE and "held it at the next epoch" in TIME_TO_STUDY_NOTE


def test_synthetic_data_comes_first(synthetic_summary):
    assert synthetic_summary.notes[0] == SYNTHETIC_NOTE


def test_the_studys_collapsed_run_is_called_a_collapse(study_collapsed):
    note = [n for n in study_collapsed.notes if n.startswith("The study's vgg on SVHN")]
    assert note == ["The study's vgg on SVHN scored 0.067, what always answering class 0 scores (1,744 of "
                    "26,032 test images): a collapse of the study's run, not an accuracy to compare with."]
    assert not any(n.startswith("The study's") for n in summarize(*sweep_frames("s", {("vgg", "svhn"): [0.9]})).notes)


def test_times_from_shared_devices_are_called_so():
    rows = [trial_row("s", "lenet5", "mnist", 0, 0.9, trials_sharing_device=4),
            trial_row("s", "vgg", "mnist", 0, 0.8, trials_sharing_device=1),
            trial_row("s", "vgg", "svhn", 0, "failed", trials_sharing_device=8)]   # not timed: does not count
    notes = summarize(*frames(rows)).notes
    assert [n for n in notes if n.startswith("Times come from shared devices")] == [
        "Times come from shared devices: 1 of the timed trials ran beside others on their device "
        "(up to 4 at once), so their seconds and images/s are not those of a trial alone."]


@pytest.mark.parametrize("sharing", [1, None, "absent"])
def test_times_from_a_device_alone_or_unrecorded_say_nothing_of_sharing(sharing):
    rows = [trial_row("s", "lenet5", "mnist", 0, 0.9, trials_sharing_device=None if sharing == "absent" else sharing)]
    trials, history = frames(rows)
    if sharing == "absent":   # a results file of an older schema has no such column
        trials = trials.drop(columns=["trials_sharing_device", "pred_histogram"])
    notes = summarize(trials, history).notes
    assert not any("shared" in n for n in notes) and notes[0] == TABLE_1_LEGEND


# --- Q1 ------------------------------------------------------------------------------------------

def test_a_best_is_named_only_where_welch_and_holm_separate_it(summary):
    p = stats.ttest_ind([0.70, 0.71, 0.72], [0.60, 0.62, 0.64], equal_var=False).pvalue
    answer = summary.answers[0]
    assert "after Holm's correction over the 2 tests made" in answer
    assert f"CIFAR-10: resnet20v2, above lenet5 by 0.0900 (n = 3 vs 3, Holm p = {2 * p:.2g})" in answer


def test_a_lead_within_the_spread_names_no_best_and_prints_the_order(summary):
    p = stats.ttest_ind([0.990, 0.992, 0.994], [0.98, 0.97, 0.99], equal_var=False).pvalue   # the larger of 2
    assert ("MNIST: not separable: order vgg 0.9920 > lenet5 0.9800 > resnet20v2 0.9700 > resnet20v1 0.9550; "
            f"vgg above lenet5 by 0.0120 (n = 3 vs 3, Holm p = {p:.2g}), "
            "above resnet20v2 by 0.0220 (not tested: n = 3 vs 1)") in summary.answers[0]


def test_single_seeds_are_not_tested(summary):
    assert "SVHN: not tested: n = 1: order resnet20v2 0.9000 > resnet20v1 0.8800" in summary.answers[0]


def test_a_tie_for_best_is_called_a_tie(tied):
    assert "MNIST: tied: not separable: order lenet5 1.0000 = vgg 1.0000 > resnet20v1" in tied.answers[0]


def test_identical_seeds_are_no_evidence(identical_seeds):
    assert ("MNIST: not tested: no spread: order lenet5 0.9000 > vgg 0.8000; "
            "lenet5 above vgg by 0.1000 (not tested: n = 3 vs 3, identical seeds)") in identical_seeds.answers[0]


def test_an_unstable_cell_never_ranks_above_a_stable_one(unstable_above):
    """vgg's two surviving seeds beat lenet5, its third diverged: lenet5 comes first, vgg after it."""
    assert unstable_above.analysis.cells["rank"].xs("mnist", level="dataset").to_dict() == {"lenet5": 1, "vgg": 2}
    assert ("MNIST: not tested: n = 2: order lenet5 0.9000 > vgg 0.9900 †; lenet5 below vgg by 0.0900 (not tested: "
            "n = 3 vs 2)") in unstable_above.answers[0]


def test_a_collapsed_seed_is_no_contender(collapsed):
    # lenet5's one SVHN seed collapsed with no test accuracy on record: no rank and no score to compare
    assert "SVHN: only cell: nothing to test: order vgg 0.5000" in collapsed.answers[0]


# --- Q2 ------------------------------------------------------------------------------------------

def test_q2_is_descriptive_and_picks_no_finding(summary):
    """Every architecture's mean rank in each group of each trait, labelled descriptive; no 'ranks better on' finding
    picked from its largest split; the cells without a rank named."""
    answer = summary.answers[1]
    assert answer.startswith("Descriptive, no test: mean ranks over the few datasets in each group of a trait")
    assert "ranks better on" not in answer
    assert ("image format (1ch 28px vs 3ch 32px): lenet5 2.00 vs 3.00, vgg 1.00 vs 3.00, resnet20v1 4.00 vs 2.00, "
            "resnet20v2 3.00 vs 1.00") in answer
    assert "train size and difficulty split the datasets the same way" in answer
    assert answer.endswith("Ranks left out, no ok seed: vgg on CIFAR-10, resnet20v1 on CIFAR-10.")


def test_an_architecture_ranked_in_no_group_of_a_trait_shows_no_value_there():
    summary = summarize(*sweep_frames("s", {("lenet5", "mnist"): [0.9], ("lenet5", "svhn"): [0.8],
                                            ("mynet", "cifar10"): ["diverged"]}))
    assert "mynet — vs —" in summary.answers[1]


def test_datasets_that_share_every_trait_compare_nothing():
    summary = summarize(*sweep_frames("s", {("lenet5", "mnist"): [0.9], ("vgg", "mnist"): [0.8]}))
    assert summary.answers[1] == ("Descriptive: the datasets share every measured trait: nothing to compare across "
                                  "datasets.")


# --- Q3 ------------------------------------------------------------------------------------------

def test_overall(summary):
    answer = summary.answers[2]
    # a cell without an ok seed has no rank: vgg and resnet20v1 are ranked on MNIST and SVHN only, not put last
    assert answer.startswith("Not shown: no architecture is the separable best on every dataset "
                             "(separable winners: CIFAR-10: resnet20v2). Order by mean rank over the datasets where "
                             "each has a rank (descriptive, no test; unstable cells rank after stable ones; left out, "
                             "no ok seed: vgg on CIFAR-10, resnet20v1 on CIFAR-10): resnet20v2 1.67 (3 datasets), "
                             "vgg 2.00 (2 datasets), lenet5 2.67 (3 datasets), resnet20v1 3.00 (2 datasets).")
    assert (f"Most accuracy per second of an epoch (descriptive, no test; per epoch because the recipes train "
            f"different numbers of epochs): lenet5 ({0.89 / 3.5:.4g}, mean accuracy over mean seconds per epoch on "
            "MNIST, SVHN, the datasets where every architecture has a stable cell)") in answer


def test_overall_compares_only_datasets_every_arch_ran_ok(common_only):
    assert "different numbers of epochs): vgg (0.294," in common_only.answers[2]
    assert "on MNIST, the dataset where every architecture has a stable cell" in common_only.answers[2]


def test_overall_without_common_datasets_compares_no_accuracy_per_second(no_common):
    assert no_common.answers[2].endswith("Accuracy per second of an epoch is not compared: no dataset has a stable "
                                         "cell with an ok seed for every architecture.")


def test_a_separable_best_on_every_dataset_is_a_yes(separable_everywhere):
    assert separable_everywhere.answers[2].startswith("Yes: lenet5 is the separable best on every dataset (2; "
                                                      "two-sided Welch t-test")


@pytest.mark.parametrize("scenario", ["sole_winner", "sole_winner_with_ties", "tied"])
def test_a_top_place_on_every_dataset_without_a_test_is_no_yes(request, scenario):
    answer = request.getfixturevalue(scenario).answers[2]
    assert answer.startswith("Not shown: no architecture is the separable best on every dataset "
                             "(no dataset has a separable winner).")


def test_q1_says_where_only_some_architectures_were_tuned_for_a_dataset():
    tuned = summarize(*sweep_frames("s", {("lenet5", "fashion_mnist"): [0.90], ("resnet20v1", "fashion_mnist"): [0.92],
                                          ("lenet5", "mnist"): [0.99], ("resnet20v1", "mnist"): [0.99]}))
    assert tuned.answers[0].endswith("Tuned for one dataset (an augmentation of their own there, kept after a check): "
                                     "resnet20v1 on Fashion-MNIST; part of a gap there may be tuning effort.")
    assert "Tuned" not in summarize(*sweep_frames("s", {("lenet5", "mnist"): [0.99]})).answers[0]
