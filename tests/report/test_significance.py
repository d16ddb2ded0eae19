"""report.significance: whether a lead exceeds the spread over seeds."""

from __future__ import annotations

import pytest
from scipy import stats

from orchestrator.report.significance import LeadTest, lead_test


@pytest.mark.parametrize("best, runner_up, kind, exceeds", [
    ([0.9, 0.8], [0.8, 0.9], "tie", False),
    ([0.9], [0.8, 0.7], "single seed", False),
    ([0.9, 0.9], [0.8, 0.8], "identical seeds", True),   # no spread: the t statistic is undefined
])
def test_a_lead_that_the_t_test_cannot_judge(best, runner_up, kind, exceeds):
    test = lead_test(best, runner_up)
    assert (test.kind, test.exceeds) == (kind, exceeds)


@pytest.mark.parametrize("best, runner_up", [([0.990, 0.992, 0.994], [0.98, 0.97, 0.99]),
                                             ([0.70, 0.71, 0.72], [0.60, 0.62, 0.64])])
def test_a_lead_exceeds_the_spread_when_welchs_p_is_under_the_level(best, runner_up):
    p = stats.ttest_ind(best, runner_up, equal_var=False).pvalue
    assert lead_test(best, runner_up) == LeadTest("welch", pytest.approx(p))
    assert lead_test(best, runner_up).exceeds == (p < 0.05)
