"""Whether the best cell's lead over the runner-up exceeds the spread over seeds: a Welch t-test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
from scipy import stats

SIGNIFICANCE = 0.05              # Welch t-test level for "the lead exceeds the seed spread"


@dataclass(frozen=True)
class LeadTest:
    """The outcome of ``lead_test``.

    ``kind``: "tie" (equal means), "single seed" (a side has one seed), "identical seeds" (no spread
    on either side: the lead exceeds it) or "welch" (``p`` is the Welch t-test's p-value).
    """

    kind: str
    p: float = np.nan

    @property
    def exceeds(self) -> bool:
        return self.kind == "identical seeds" or (self.kind == "welch" and self.p < SIGNIFICANCE)


def lead_test(best: Iterable[float], runner_up: Iterable[float]) -> LeadTest:
    """Whether the lead of ``best`` (accuracies per seed) over ``runner_up`` exceeds the spread over seeds."""
    best, runner_up = np.asarray(list(best), float), np.asarray(list(runner_up), float)
    if best.mean() == runner_up.mean():
        return LeadTest("tie")
    if min(len(best), len(runner_up)) < 2:
        return LeadTest("single seed")
    if np.ptp(best) == 0 and np.ptp(runner_up) == 0:  # the t statistic is undefined
        return LeadTest("identical seeds")
    return LeadTest("welch", float(stats.ttest_ind(best, runner_up, equal_var=False).pvalue))
