"""report.conclusions: the study's seven conclusions, each checked against a sweep's own rows."""

from __future__ import annotations

from html import escape

import pytest
from report_frames import EPOCHS, frames, sweep_frames, trial_row

from orchestrator import report, study
from orchestrator.report.conclusions import CONTRADICTED, NOT_TESTABLE, SUPPORTED

SECONDS = {"lenet5": 10.0, "vgg": 100.0, "resnet20v1": 200.0, "resnet20v2": 300.0, "squeezenet": 400.0}
SQUEEZENET_PARAMS = {"params_total": 711_956, "params_trainable": 711_956, "params_non_trainable": 0}


def _study_like(peak_memory: bool = False, alone: bool = True, seeds: int = 3,
                skip: tuple[str, ...] = (), lenet_epochs: int = EPOCHS) -> report.Summary:
    """The study's Table 4.1 as ``seeds`` seeds a cell (± 0.001; ± 0.0005 for resnet20v2), the study's VGG-like on
    SVHN at 0.60 instead of its collapse; each architecture's seconds as in SECONDS, each trial alone on its device
    (``alone``) or beside another; ``skip`` leaves architectures out; lenet5 trains ``lenet_epochs`` epochs, each as
    long as one of the others' three."""
    rows = []
    offsets = {1: (0.0,), 3: (-1, 0.0, 1)}[seeds]
    for (arch, dataset), accuracy in study.ACCURACY.items():
        if arch in skip:
            continue
        accuracy = 0.60 if (arch, dataset) == ("vgg", "svhn") else accuracy
        spread = 0.0005 if arch == "resnet20v2" else 0.001
        for seed, offset in enumerate(offsets):
            epochs = lenet_epochs if arch == "lenet5" else EPOCHS
            extra = {"train_seconds": SECONDS[arch] * epochs / EPOCHS + seed, "epochs_run": epochs,
                     "trials_sharing_device": 1 if alone else 2,
                     "peak_mem_bytes": (5 if arch == "squeezenet" else 1 + seed) * 10**9 if peak_memory else None,
                     **(SQUEEZENET_PARAMS if arch == "squeezenet" else {})}
            rows.append(trial_row("s", arch, dataset, seed, accuracy + offset * spread, **extra))
    return report.summarize(*frames(rows))


def _checks(summary: report.Summary) -> dict:
    return {check.number: check for check in summary.conclusions}


@pytest.fixture(scope="module")
def checks():
    return _checks(_study_like())


def test_there_are_seven_in_the_studys_order_and_words(checks):
    assert [checks[n].claim for n in range(1, 8)] == list(study.CONCLUSIONS)
    assert checks[4].claim == "ResNetV1 works better in digit recognition compared to object recognition."


def test_one_seed_a_cell_tests_nothing_so_every_conclusion_is_not_testable():
    one_seed = _study_like(peak_memory=True, seeds=1)
    assert [c.verdict for c in one_seed.conclusions] == [NOT_TESTABLE] * 7


def test_no_single_best_when_each_architecture_is_beaten_somewhere(checks):
    assert checks[1].verdict == SUPPORTED and "lenet5: MNIST: below vgg by " in checks[1].evidence


def test_a_claim_about_every_architecture_needs_all_five(separable_everywhere):
    """lenet5 is the separable best on both datasets of a two-architecture sweep: that says nothing of all five."""
    one = _checks(separable_everywhere)[1]
    assert one.verdict == NOT_TESTABLE
    assert "no result of architectures resnet20v1, resnet20v2, squeezenet and datasets fashion_mnist, cifar10" \
        in one.evidence
    two = _checks(_study_like(skip=("vgg", "resnet20v2", "squeezenet")))[2]
    assert two.verdict == NOT_TESTABLE and "architectures vgg, resnet20v2, squeezenet" in two.evidence


def test_lenet_is_faster_per_epoch_but_its_memory_is_not_measured_on_cpu_rows(checks):
    """CPU rows carry no peak memory: the memory half is not testable, and a parameter count is a fact, not a
    verdict."""
    assert checks[2].verdict == NOT_TESTABLE
    assert "time: separably faster per epoch in 16 of 16 comparisons" in checks[2].evidence
    assert "memory: not testable: peak_mem_bytes (training memory, activations included) is not recorded" \
        in checks[2].evidence
    assert "fact (no seeds needed, and not the study's memory): lenet5 has the fewest parameters" in checks[2].evidence


def test_trials_that_shared_their_device_decide_no_time_verdict():
    seven = _checks(_study_like(peak_memory=True, alone=False))[7]
    assert seven.verdict == NOT_TESTABLE
    assert "a shared device decides no time verdict" in seven.evidence


def test_time_is_compared_per_epoch_not_per_run():
    """lenet5 trains 30 epochs in 300 s, the others 3 epochs in 100-400 s: its run is longer than vgg's, but each of
    its epochs is the fastest."""
    two = _checks(_study_like(lenet_epochs=30))[2]
    assert "time: separably faster per epoch in 16 of 16 comparisons" in two.evidence


def test_vgg_better_on_grayscale_and_smaller_images_is_one_contrast_of_reversals(checks):
    assert checks[3].verdict == SUPPORTED
    assert ("grayscale, smaller images (MNIST, Fashion-MNIST) against colour, larger (CIFAR-10, SVHN): reversals in "
            "vgg's favour against lenet5, resnet20v1, resnet20v2, squeezenet, against it: none") in checks[3].evidence
    assert checks[3].evidence.endswith("in these datasets grayscale is smaller images: one contrast")


def test_resnet_v1_has_no_reversal_between_digits_and_objects_which_decides_nothing(checks):
    """v1 is 4th on MNIST and 2nd on SVHN, 5th on Fashion-MNIST and 1st on CIFAR-10: no other architecture's order
    with it flips between digits and objects."""
    assert checks[4].verdict == NOT_TESTABLE
    assert "reversals in resnet20v1's favour against none, against it: none" in checks[4].evidence
    assert checks[4].evidence.endswith("tuned for one dataset: resnet20v1 on Fashion-MNIST, resnet20v2 on "
                                       "Fashion-MNIST: part of a gap there may be tuning effort")


def test_a_rank_gap_without_tests_decides_nothing_and_a_separable_reversal_contradicts():
    cells = {("resnet20v1", "mnist"): [0.5], ("lenet5", "mnist"): [0.9],
             ("resnet20v1", "cifar10"): [0.9], ("lenet5", "cifar10"): [0.5]}
    assert _checks(report.summarize(*sweep_frames("s", cells)))[4].verdict == NOT_TESTABLE   # one seed a cell
    cells = {("resnet20v1", "mnist"): [0.50, 0.51, 0.52], ("lenet5", "mnist"): [0.90, 0.91, 0.92],
             ("resnet20v1", "cifar10"): [0.90, 0.91, 0.92], ("lenet5", "cifar10"): [0.50, 0.51, 0.52]}
    four = _checks(report.summarize(*sweep_frames("s", cells)))[4]
    assert four.verdict == CONTRADICTED and "against it: lenet5" in four.evidence


def test_resnet_v2_not_always_above_v1_and_about_25_points_on_fashion_mnist(checks):
    assert checks[5].verdict == SUPPORTED
    assert "CIFAR-10: resnet20v1 above resnet20v2 by 0.0777" in checks[5].evidence
    assert "Fashion-MNIST: v2 - v1 = +0.2505, 95% CI [" in checks[5].evidence and "n = 3 vs 3" in checks[5].evidence


def test_an_unstable_cell_is_left_out_of_the_v2_v1_comparison():
    cells = {("resnet20v1", "cifar10"): [0.80, 0.81, 0.82, "collapsed"], ("resnet20v2", "cifar10"): [0.60, 0.61, 0.62]}
    five = _checks(report.summarize(*sweep_frames("s", cells)))[5]
    assert five.verdict == NOT_TESTABLE and "(left out, an unstable cell: CIFAR-10)" in five.evidence


def test_resnet_v2_is_not_good_where_most_are_separably_above_it(checks):
    """On the study's MNIST figures v2 is the last of five, separably: 'quite good' is contradicted."""
    assert checks[6].verdict == CONTRADICTED
    assert checks[6].evidence.startswith("0 collapsed or diverged results in 12 seeds; separably MNIST: above 0, "
                                         "below 4 of 4")


def test_squeezenet_most_memory_needs_peak_memory(checks):
    assert checks[7].verdict == NOT_TESTABLE and "memory: not testable" in checks[7].evidence
    assert "best: shown not best on 4 of 4 datasets" in checks[7].evidence
    assert "squeezenet does not have the most parameters on every dataset" in checks[7].evidence   # vgg has more
    with_peaks = _checks(_study_like(peak_memory=True))[7]
    assert with_peaks.verdict == SUPPORTED
    assert "memory: the most peak bytes against each other architecture in 16 of 16 comparisons" in with_peaks.evidence


def test_a_conclusion_about_an_architecture_not_run_is_not_testable(summary):
    checks = _checks(summary)
    assert checks[7].verdict == NOT_TESTABLE and "no result of architecture squeezenet" in checks[7].evidence
    assert checks[5].verdict == NOT_TESTABLE       # no Fashion-MNIST, single seeds on SVHN


def test_an_instability_that_a_retraining_replaced_still_counts_against_stable():
    rows = [trial_row("s", arch, "mnist", seed, 0.9 + seed / 100) for arch in ("lenet5", "resnet20v2")
            for seed in range(3)]
    rows += [trial_row("s", "resnet20v2", "mnist", 0, "diverged", attempt=2),
             trial_row("s", "resnet20v2", "mnist", 0, 0.95, attempt=3)]
    six = _checks(report.summarize(*frames(rows)))[6]
    assert six.verdict == CONTRADICTED and six.evidence.startswith("1 collapsed or diverged results in 3 seeds")


def test_stability_is_not_judged_on_fewer_than_three_seeds_a_cell():
    rows = [trial_row("s", "resnet20v2", "mnist", 0, "collapsed"), trial_row("s", "lenet5", "mnist", 0, 0.9)]
    six = _checks(report.summarize(*frames(rows)))[6]
    assert six.verdict == NOT_TESTABLE and "fewer than 3" in six.evidence


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv"])
def test_every_verdict_with_its_numbers_and_rule_is_in_each_text_format(fmt):
    summary = _study_like()
    words = " ".join(report.render_summary(summary, fmt, width=400).split())
    if fmt == "csv":   # the CSV is one tidy table of numbers; the words are in the other formats
        return
    for check in summary.conclusions:
        assert check.claim in words and check.evidence in words and check.rule in words
        assert check.verdict.upper() in words


def test_every_verdict_is_on_both_report_pages(summary, report_paths):
    markdown, html = report_paths.markdown.read_text(), report_paths.html.read_text()
    for check in summary.conclusions:
        assert f"**{check.verdict}**: {check.evidence}." in markdown
        assert f'<li id="conclusion-{check.number}">' in html
        assert f'<span class="verdict">{check.verdict}</span>: {escape(check.evidence)}.' in html
