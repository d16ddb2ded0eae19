"""report.significance: a lead separates only by a Welch test with enough seeds, Holm-corrected."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from scipy import stats

from orchestrator.report.significance import NO_SPREAD, TIE, TOO_FEW, WELCH, compare, holm

SPREAD_A = [0.990, 0.992, 0.994]
SPREAD_B = [0.970, 0.975, 0.972]


@pytest.mark.parametrize("a, b, kind", [
    ([0.9, 0.8, 0.7], [0.8, 0.9, 0.7], TIE),
    ([0.99, 0.98], [0.5, 0.6, 0.55], TOO_FEW),               # a huge lead, but n = 2
    ([0.9, 0.9, 0.9], [0.8, 0.8, 0.8], NO_SPREAD),          # zero spread is never evidence
])
def test_a_pair_the_t_test_cannot_judge_never_separates(a, b, kind):
    comparison = compare("a", a, "b", b)
    assert comparison.kind == kind and not comparison.tested and not comparison.separates


def test_the_higher_mean_is_named_higher_whichever_side_it_was_given():
    comparison = compare("low", SPREAD_B, "high", SPREAD_A)
    assert (comparison.higher, comparison.lower, comparison.kind) == ("high", "low", WELCH)
    assert comparison.lead == pytest.approx(0.992 - sum(SPREAD_B) / 3)
    assert comparison.p == pytest.approx(stats.ttest_ind(SPREAD_A, SPREAD_B, equal_var=False).pvalue)


def test_one_side_without_spread_is_still_tested():
    assert compare("a", [0.9, 0.9, 0.9], "b", [0.80, 0.81, 0.79]).kind == WELCH


def test_a_lead_under_the_minimum_is_no_separation_whatever_p_says():
    tiny = compare("a", [0.90040, 0.90041, 0.90042], "b", [0.90000, 0.90001, 0.90002])
    assert tiny.p < 1e-4 and tiny.lead < 0.001 and not tiny.separates


def test_holm_multiplies_the_smallest_p_by_the_family_size_and_keeps_the_order_monotone():
    comparisons = [compare("a", SPREAD_A, "b", SPREAD_B), compare("c", [0.5, 0.7, 0.6], "d", [0.55, 0.65, 0.5]),
                   compare("e", [0.9], "f", [0.8])]                     # not tested: not in the family
    raw = sorted(c.p for c in comparisons[:2])
    corrected = holm(comparisons)
    assert corrected[2] == comparisons[2]
    assert sorted(c.p_holm for c in corrected[:2]) == pytest.approx([2 * raw[0], max(2 * raw[0], raw[1])])


@pytest.mark.parametrize("p, family, separates", [(0.02, 1, True), (0.02, 3, False)])
def test_a_p_that_passes_alone_can_fail_in_a_family(p, family, separates):
    clear = compare("a", SPREAD_A, "b", SPREAD_B)
    clear = type(clear)(**{**clear.__dict__, "p": p, "p_holm": p})
    others = [type(clear)(**{**clear.__dict__, "p": 0.5, "p_holm": 0.5})] * (family - 1)
    assert holm([clear, *others])[0].separates == separates


SUMMARIZE_AND_SAY_IF_SCIPY_CAME = """
import sys
from report_frames import sweep_frames
from orchestrator import report
seeds = int(sys.argv[1])
cells = {(arch, dataset): [0.90 + 0.01 * i + 0.002 * s for s in range(seeds)]
         for i, (arch, dataset) in enumerate([("lenet5", "mnist"), ("vgg", "mnist"), ("resnet20v1", "mnist")])}
report.render_short(report.summarize(*sweep_frames("s", cells), sweep=None, vs_study=False), width=100)
print("scipy" in sys.modules)
"""


@pytest.mark.parametrize("seeds, imported", [(1, False), (3, True)])
def test_scipy_is_imported_only_by_a_summary_with_seeds_enough_to_test(seeds, imported):
    """What the dry run's estimate of a sweep's closing tables counts on (``estimate.closing_seconds``)."""
    tests_dir = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", SUMMARIZE_AND_SAY_IF_SCIPY_CAME, str(seeds)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(tests_dir)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[-1] == str(imported)
