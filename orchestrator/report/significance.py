"""Whether one architecture is above another beyond the spread over seeds: a two-sided Welch t-test,
corrected by Holm's method for the number of tests a claim rests on.

A claim that A is above B needs: at least MIN_SEEDS seeds a side, some spread on at least one side
(identical seeds on both sides are no evidence), a lead of at least MIN_LEAD, and the Welch test
rejecting at SIGNIFICANCE after Holm's correction over the family of tests made for the claim. A
pair that cannot be tested is never a separation.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

import numpy as np

SIGNIFICANCE = 0.05     # family-wise level, after Holm's correction
MIN_SEEDS = 3           # seeds a side before a test is made
MIN_LEAD = 0.001        # a smaller lead (a tenth of a point of accuracy) is never a win, whatever p says

WELCH, TIE, TOO_FEW, NO_SPREAD = "welch", "tie", "too few seeds", "no spread"


@dataclass(frozen=True)
class Comparison:
    """``higher`` (the larger mean) against ``lower`` on the values of their seeds.

    ``kind``: WELCH (tested: ``p`` the two-sided p-value, ``p_holm`` it after Holm's correction),
    TIE (equal means), TOO_FEW (a side has fewer than MIN_SEEDS seeds) or NO_SPREAD (every seed of
    both sides identical). Only WELCH comparisons are in a Holm family.
    """

    higher: str
    lower: str
    n_higher: int
    n_lower: int
    mean_higher: float
    mean_lower: float
    kind: str
    p: float = np.nan
    p_holm: float = np.nan

    @property
    def lead(self) -> float:
        return self.mean_higher - self.mean_lower

    @property
    def tested(self) -> bool:
        return self.kind == WELCH

    @property
    def separates(self) -> bool:
        """Whether ``higher`` is above ``lower`` beyond the seed spread, after Holm's correction."""
        # rounded, so that a lead of exactly MIN_LEAD (0.9130 - 0.9120 is 0.000999... in floats) counts
        return self.tested and self.p_holm < SIGNIFICANCE and round(self.lead, 12) >= MIN_LEAD


def compare(name_a: str, a: Iterable[float], name_b: str, b: Iterable[float]) -> Comparison:
    """The seeds' values of ``a`` against ``b``, the one with the larger mean as ``higher`` (``a`` on a tie).

    ``p_holm`` is ``p`` until ``holm`` corrects a family of comparisons.
    """
    a, b = np.asarray(list(a), float), np.asarray(list(b), float)
    if b.mean() > a.mean():
        (name_a, a), (name_b, b) = (name_b, b), (name_a, a)
    base = dict(higher=name_a, lower=name_b, n_higher=len(a), n_lower=len(b),
                mean_higher=float(a.mean()), mean_lower=float(b.mean()))
    if a.mean() == b.mean():
        return Comparison(**base, kind=TIE)
    if min(len(a), len(b)) < MIN_SEEDS:
        return Comparison(**base, kind=TOO_FEW)
    if np.ptp(a) == 0 and np.ptp(b) == 0:   # the t statistic is undefined
        return Comparison(**base, kind=NO_SPREAD)
    # Imported here: most summaries test nothing, and scipy's import takes seconds.
    from scipy import stats

    with warnings.catch_warnings():   # nearly identical seeds: scipy warns of precision, its p stands
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    return Comparison(**base, kind=WELCH, p=p, p_holm=p)


def holm(comparisons: Sequence[Comparison]) -> list[Comparison]:
    """``comparisons`` in their order, the tested ones with ``p_holm`` corrected over all the tested ones.

    Holm's step-down adjustment: the i-th smallest of m p-values becomes max over j <= i of
    min(1, (m - j + 1) * p_(j)).
    """
    tested = [i for i, c in enumerate(comparisons) if c.tested]
    order = sorted(tested, key=lambda i: comparisons[i].p)
    adjusted, running = {}, 0.0
    for step, i in enumerate(order):
        running = max(running, min(1.0, (len(order) - step) * comparisons[i].p))
        adjusted[i] = running
    return [replace(c, p_holm=adjusted[i]) if i in adjusted else c for i, c in enumerate(comparisons)]
