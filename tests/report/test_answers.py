"""report.answers: the notes above the tables and the answers to the study's three questions."""

from __future__ import annotations

import pytest
from scipy import stats

from orchestrator.report import SYNTHETIC_NOTE, summarize
from report_frames import frames, sweep_frames, trial_row

# --- notes ---------------------------------------------------------------------------------------


def test_the_last_note_names_the_sweep_and_counts_its_trials(summary, results):
    assert "Sweep 'main': the most recent of 2 (main, old)" in summary.notes[-1]
    assert summary.notes[-1].endswith("26 trials: 19 ok, 3 diverged, 4 failed.")   # of this sweep only
    assert summarize(*results, sweep="old").notes == ("Sweep 'old'; 1 trials: 1 ok.",)


def test_the_only_sweep_says_so():
    assert summarize(*sweep_frames("s", {("lenet5", "mnist"): [0.9]})).notes[-1] == \
        "Sweep 's' (the only one); 1 trials: 1 ok."


def test_statuses_are_counted_by_name(collapsed, unknown_status):
    assert collapsed.notes[-1].endswith("5 trials: 3 ok, 2 collapsed.")
    assert unknown_status.notes[-1].endswith("3 trials: 2 ok, 1 timed out.")


def test_synthetic_data_comes_first(synthetic_summary):
    assert synthetic_summary.notes[0] == SYNTHETIC_NOTE


def test_the_studys_collapsed_run_is_called_a_collapse(study_collapsed):
    note = [n for n in study_collapsed.notes if n.startswith("The study's vgg on SVHN")]
    assert note == ["The study's vgg on SVHN scored 0.067, what always answering class 0 scores (1,744 of "
                    "26,032 test images): a collapse of the study's run, not an accuracy to compare with."]
    assert not any("collapse" in n for n in summarize(*sweep_frames("s", {("vgg", "svhn"): [0.9]})).notes)


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
    assert not any("shared" in n for n in notes) and len(notes) == 1


# --- Q1 ------------------------------------------------------------------------------------------

def test_the_best_per_dataset(summary):
    p_mnist = stats.ttest_ind([0.990, 0.992, 0.994], [0.98, 0.97, 0.99], equal_var=False).pvalue
    assert summary.answers[0].startswith("Best per dataset: MNIST: vgg (0.9920, lead 0.0120 over lenet5: "
                                         f"lead within seed spread (Welch t-test, p={p_mnist:.3f}))")


def test_a_tie_for_best_is_called_a_tie(tied):
    assert tied.answers[0] == ("Best per dataset: MNIST: lenet5 = vgg, tied (1.0000); "
                               "SVHN: lenet5 = vgg, tied (0.9500).")


def test_a_collapsed_seed_is_no_contender(collapsed):
    assert "collapsed" not in collapsed.answers[0] and "SVHN: vgg (0.5000)" in collapsed.answers[0]


# --- Q2 ------------------------------------------------------------------------------------------

def test_the_trait_that_moves_each_rank_most(summary):
    answer = summary.answers[1]
    assert "vgg ranks better on 1ch 28px (mean rank 1.00) than on 3ch 32px (3.25)" in answer
    assert "resnet20v1 ranks better on 3ch 32px (mean rank 2.75) than on 1ch 28px (4.00)" in answer
    assert "train size and difficulty split the datasets the same way" in answer


def test_no_trait_that_moves_a_rank_by_a_full_place(sole_winner):
    assert sole_winner.answers[1].startswith("lenet5: no trait moves its mean rank by a full place")


def test_an_architecture_ranked_in_no_group_of_a_trait_is_compared_by_the_others():
    summary = summarize(*sweep_frames("s", {("lenet5", "mnist"): [0.9], ("lenet5", "svhn"): [0.8],
                                            ("lenet5", "emnist"): [0.6], ("mynet", "emnist"): [0.7]}))
    assert "; mynet: no trait moves its mean rank by a full place." in summary.answers[1]


def test_an_architecture_ranked_nowhere_is_not_compared():
    summary = summarize(*sweep_frames("s", {("lenet5", "mnist"): [0.9], ("lenet5", "svhn"): [0.8],
                                            ("mynet", "cifar10"): ["diverged"]}))
    assert "; mynet: not ranked on any dataset whose traits are known." in summary.answers[1]


def test_datasets_that_share_every_trait_compare_nothing():
    summary = summarize(*sweep_frames("s", {("lenet5", "mnist"): [0.9], ("vgg", "mnist"): [0.8]}))
    assert summary.answers[1] == "The datasets share every measured trait: nothing to compare across datasets."


# --- Q3 ------------------------------------------------------------------------------------------

def test_overall(summary):
    answer = summary.answers[2]
    assert answer.startswith("No single architecture is best on every dataset. resnet20v2 has the best mean rank (1.67")
    assert (f"Most accuracy per training second: lenet5 ({0.89 / 10.5:.4g} per s, mean accuracy over mean "
            "training seconds on MNIST, SVHN, the datasets where every architecture has an ok seed)") in answer


def test_overall_compares_only_datasets_every_arch_ran_ok(common_only):
    assert "Most accuracy per training second: vgg (0.098 per s" in common_only.answers[2]
    assert "on MNIST, the datasets where every architecture has an ok seed" in common_only.answers[2]


def test_overall_without_common_datasets_compares_no_accuracy_per_second(no_common):
    assert no_common.answers[2].endswith("Accuracy per training second is not compared: no dataset has an ok seed "
                                         "for every architecture.")


@pytest.mark.parametrize("scenario, start", [
    ("sole_winner", "Yes: lenet5 is best on every dataset (2)."),
    ("sole_winner_with_ties", "Yes: lenet5 is best on every dataset (2; tied with another architecture on 1). "
                              "lenet5 has the best mean rank (1.25"),
    ("tied", "No single architecture: lenet5 and vgg tie for best on every dataset (2). "
             "lenet5 and vgg share the best mean rank (1.50 over 2 datasets"),
])
def test_an_architecture_best_on_every_dataset(request, scenario, start):
    assert request.getfixturevalue(scenario).answers[2].startswith(start)
