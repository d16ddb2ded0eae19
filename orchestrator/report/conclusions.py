"""The study's seven conclusions (its Discussion), each checked against one sweep's rows.

Each check gives a verdict, SUPPORTED, CONTRADICTED or NOT_TESTABLE (with these rows), the numbers
behind it and its rule in plain words. The rule and its words are one thing, so this module, like
``report.answers``, makes words from an ``Analysis``'s numbers; the tests it makes are those of
``report.significance``.

What the words mean here:

- *best on a dataset*: question 1's separable best (``questions.best_per_dataset``). An architecture
  is *shown not best* on a dataset when one of question 1's tests separates another above it, or it
  has no ok seed there while another architecture has one.
- *better on some datasets than on others*: a mean rank over those datasets better (lower) by at least
  RANK_PLACES place, ranks as in ``report.cells``: the datasets' difficulty, which moves every
  architecture alike, does not count. Ranks closer than that decide nothing. Ranks over a handful of
  datasets are described, not tested.
- *faster*: lower training seconds of the ok seeds, by a Welch test over the seeds (Holm's correction
  over the check's tests); times from shared devices are as recorded.
- *memory*: ``peak_mem_bytes`` (device memory reserved) where every ok seed compared records it;
  else the parameter count (the weights' memory, not the activations'), since the rows of a CPU run
  carry no peak memory.
- *stable*: no collapsed or diverged seed, counting results that a re-training replaced, and a seed
  spread no larger than the other architectures' (median of their mean std over datasets).

A synthetic twin stands in for its real dataset, as it does beside the study's figures; the report's
synthetic-data note then applies to every verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from orchestrator import study
from orchestrator.report.analysis import Analysis
from orchestrator.report.cells import OK, UNSTABLE_STATUSES, dataset_spec, real_dataset
from orchestrator.report.labels import dataset_labels
from orchestrator.report.significance import MIN_SEEDS, Comparison, compare, holm

SUPPORTED, CONTRADICTED, NOT_TESTABLE = "supported", "contradicted", "not testable with these rows"
LENET, VGG, RESNET_V1, RESNET_V2, SQUEEZENET = study.ARCHS
RANK_PLACES = 1.0               # a rank contrast decides only at this many places or more (as Q2's answer)
V2_GAIN_BAND = (0.15, 0.35)      # "around 25%" on Fashion-MNIST: +0.25 ± 0.10 of accuracy
MEMORY_COLUMN = "peak_mem_bytes"


@dataclass(frozen=True)
class Check:
    """One conclusion checked: the study's words, the verdict, the numbers behind it and the rule used."""

    number: int
    claim: str
    verdict: str
    evidence: str
    rule: str


CLAIMS = {number: text for number, text in enumerate(study.CONCLUSIONS, start=1)}


def check_all(analysis: Analysis) -> tuple[Check, ...]:
    """The seven checks, in the study's order."""
    rows = _Rows(analysis)
    return tuple(check(rows) for check in (_no_single_best, _lenet_tester, _vgg_grayscale_small,
                                            _resnet_v1_digits, _resnet_v2_over_v1, _resnet_v2_stable,
                                            _squeezenet_costly))


class _Rows:
    """The numbers the checks share, read once from an ``Analysis``."""

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.cells = analysis.cells
        self.seeds = analysis.seeds
        self.ok = analysis.seeds[analysis.seeds["status"] == OK]
        self.labels = dataset_labels(analysis.cells)
        self.archs = analysis.archs
        self.datasets = analysis.datasets

    def has(self, arch: str) -> bool:
        return arch in self.archs and bool((self.cells.xs(arch, level="arch")["n_ok"] > 0).any())

    def values(self, arch: str, dataset: str, column: str) -> pd.Series:
        found = self.ok[(self.ok["arch"] == arch) & (self.ok["dataset"] == dataset)][column]
        return found.dropna()

    def ok_archs(self, dataset: str) -> list[str]:
        cells = self.cells.xs(dataset, level="dataset")
        return list(cells.index[cells["n_ok"] > 0])

    def shown_not_best(self, arch: str, dataset: str) -> str | None:
        """Why ``arch`` is shown not best on ``dataset`` (a separating test or no ok seed), else None."""
        row = self.analysis.best.loc[dataset]
        for c in row["comparisons"]:
            if c.lower == arch and c.separates:
                return f"{self.labels[dataset]}: below {c.higher} by {c.lead:.4f} ({_n_p(c)})"
        if arch not in self.ok_archs(dataset) and self.ok_archs(dataset):
            return f"{self.labels[dataset]}: no ok seed"
        return None

    def mean_rank(self, arch: str, datasets: Sequence[str]) -> float:
        ranks = self.cells["rank"].xs(arch, level="arch").reindex(list(datasets)).dropna()
        return float(ranks.mean()) if len(ranks) else np.nan

    def memory(self, dataset: str, archs: Sequence[str]) -> tuple[pd.Series, str]:
        """Per arch of ``archs``: its memory on ``dataset`` and what it is (see the module docstring)."""
        peaks = {arch: self.values(arch, dataset, MEMORY_COLUMN) for arch in archs}
        counts = {arch: len(self.ok[(self.ok["arch"] == arch) & (self.ok["dataset"] == dataset)]) for arch in archs}
        if MEMORY_COLUMN in self.ok and all(len(peaks[a]) == counts[a] > 0 for a in archs):
            return pd.Series({arch: float(peaks[arch].mean()) for arch in archs}), "peak memory bytes"
        params = self.cells["params_total"].xs(dataset, level="dataset").reindex(list(archs)).astype(float)
        return params, "parameters"


def _n_p(c: Comparison) -> str:
    return f"n = {c.n_higher} vs {c.n_lower}, Holm p = {c.p_holm:.2g}" if c.tested else \
        f"n = {c.n_higher} vs {c.n_lower}, not tested"


def _combine(parts: Sequence[str]) -> str:
    if CONTRADICTED in parts:
        return CONTRADICTED
    return SUPPORTED if parts and all(p == SUPPORTED for p in parts) else NOT_TESTABLE


def _missing(rows: _Rows, *archs: str) -> list[str]:
    return [arch for arch in archs if not rows.has(arch)]


def _no_rows(number: int, rule: str, missing: Sequence[str]) -> Check:
    return Check(number, CLAIMS[number], NOT_TESTABLE, f"no ok seed of {', '.join(missing)} in this sweep", rule)


# --- 1: no single best architecture --------------------------------------------------------------

def _no_single_best(rows: _Rows) -> Check:
    rule = ("supported when every architecture is shown not best on some dataset (question 1's tests); "
            "contradicted when one is the separable best on every dataset (at least 2)")
    winners = rows.analysis.best["winner"]
    if len(rows.datasets) >= 2 and (winners != "").all() and winners.nunique() == 1:
        return Check(1, CLAIMS[1], CONTRADICTED,
                     f"{winners.iloc[0]} is the separable best on all {len(rows.datasets)} datasets", rule)
    reasons = {arch: next(filter(None, (rows.shown_not_best(arch, d) for d in rows.datasets)), None)
               for arch in rows.archs}
    unshown = [arch for arch, why in reasons.items() if why is None]
    shown = "; ".join(f"{arch}: {why}" for arch, why in reasons.items() if why)
    if len(rows.archs) >= 2 and len(rows.datasets) >= 2 and not unshown:
        return Check(1, CLAIMS[1], SUPPORTED, f"each is shown not best somewhere: {shown}", rule)
    evidence = (f"no dataset shows {' or '.join(unshown)} below another" if unshown
                else f"{len(rows.archs)} architectures on {len(rows.datasets)} datasets: too few to compare")
    return Check(1, CLAIMS[1], NOT_TESTABLE, evidence + (f"; shown: {shown}" if shown else ""), rule)


# --- 2 and 7: time and memory --------------------------------------------------------------------

def _time_tests(rows: _Rows, arch: str) -> list[tuple[str, Comparison]]:
    """(dataset, comparison of ``arch``'s training seconds with each other arch's), Holm-corrected together."""
    pairs = [(dataset, other) for dataset in rows.datasets if arch in rows.ok_archs(dataset)
             for other in rows.ok_archs(dataset) if other != arch]
    comparisons = holm([compare(arch, rows.values(arch, d, "train_seconds"), other,
                                rows.values(other, d, "train_seconds")) for d, other in pairs])
    return [(d, c) for (d, _), c in zip(pairs, comparisons)]


def _time_part(rows: _Rows, arch: str, faster: bool) -> tuple[str, str]:
    """Whether ``arch`` is separably the fastest (``faster``) or slowest on every dataset where it ran."""
    tests = _time_tests(rows, arch)
    if not tests:
        return NOT_TESTABLE, "time: no dataset where it and another architecture have an ok seed"
    wanted = (lambda c: c.lower == arch) if faster else (lambda c: c.higher == arch)
    against = [(d, c) for d, c in tests if c.separates and not wanted(c)]
    if against:
        d, c = against[0]
        return CONTRADICTED, (f"time: on {rows.labels[d]} {c.lower} ({c.mean_lower:,.1f} s) is separably faster "
                              f"than {c.higher} ({c.mean_higher:,.1f} s; {_n_p(c)})")
    weakest = max(tests, key=lambda dc: (not dc[1].tested, dc[1].p_holm if dc[1].tested else 0))[1]
    separated = sum(c.separates and wanted(c) for _, c in tests)
    summary = (f"time: {'faster' if faster else 'slower'} than the other in {separated} of {len(tests)} tests "
               f"(weakest: {weakest.higher} {weakest.mean_higher:,.1f} s vs {weakest.lower} "
               f"{weakest.mean_lower:,.1f} s, {_n_p(weakest)})")
    return (SUPPORTED if separated == len(tests) else NOT_TESTABLE), summary


def _memory_part(rows: _Rows, arch: str, least: bool) -> tuple[str, str]:
    """Whether ``arch`` uses the least (``least``) or the most memory on every dataset where it ran."""
    verdicts, kinds, numbers = [], set(), []
    for dataset in rows.datasets:
        archs = rows.ok_archs(dataset)
        if arch not in archs or len(archs) < 2:
            continue
        memory, kind = rows.memory(dataset, archs)
        kinds.add(kind)
        others = memory.drop(arch)
        extreme = others.min() if least else others.max()
        holds = memory[arch] < extreme if least else memory[arch] > extreme
        verdicts.append(SUPPORTED if holds else CONTRADICTED)
        numbers.append(f"{rows.labels[dataset]} {memory[arch]:,.0f} vs {'fewest' if least else 'most'} other "
                       f"{extreme:,.0f} ({others.idxmin() if least else others.idxmax()})")
    if not verdicts:
        return NOT_TESTABLE, "memory: no dataset where it and another architecture have an ok seed"
    what = " and ".join(sorted(kinds))
    if "parameters" in kinds:
        what += f" (the rows carry no {MEMORY_COLUMN}: null on CPU)"
    return _combine(verdicts), f"memory as {what}: {'; '.join(numbers)}"


def _lenet_tester(rows: _Rows) -> Check:
    rule = ("'tester network' read as: the least training time and memory on every dataset where it ran; "
            "supported when LeNet-5 is separably faster than each other architecture and has the least memory "
            "on each; contradicted when another is separably faster or has less memory ('simple yet powerful' "
            "is not tested)")
    if missing := _missing(rows, LENET):
        return _no_rows(2, rule, missing)
    (time_verdict, time_text), (memory_verdict, memory_text) = (_time_part(rows, LENET, faster=True),
                                                                _memory_part(rows, LENET, least=True))
    return Check(2, CLAIMS[2], _combine([time_verdict, memory_verdict]), f"{time_text}; {memory_text}", rule)


def _squeezenet_costly(rows: _Rows) -> Check:
    rule = ("supported when SqueezeNet is separably slower than each other architecture and uses the most "
            "memory on every dataset where it ran, and is shown not best on every dataset; contradicted when "
            "another is separably slower, uses more memory, or SqueezeNet is the separable best somewhere")
    if missing := _missing(rows, SQUEEZENET):
        return _no_rows(7, rule, missing)
    time_verdict, time_text = _time_part(rows, SQUEEZENET, faster=False)
    memory_verdict, memory_text = _memory_part(rows, SQUEEZENET, least=False)
    won = [rows.labels[d] for d, winner in rows.analysis.best["winner"].items() if winner == SQUEEZENET]
    where = [d for d in rows.datasets if SQUEEZENET in rows.cells.xs(d, level="dataset").index]
    reasons = [rows.shown_not_best(SQUEEZENET, d) for d in where]
    if won:
        best_verdict, best_text = CONTRADICTED, f"best: the separable best on {', '.join(won)}"
    else:
        best_verdict = SUPPORTED if reasons and all(reasons) else NOT_TESTABLE
        best_text = (f"best: shown not best on {sum(map(bool, reasons))} of {len(where)} datasets"
                     + (f" ({'; '.join(filter(None, reasons))})" if any(reasons) else ""))
    return Check(7, CLAIMS[7], _combine([time_verdict, memory_verdict, best_verdict]),
                 f"{time_text}; {memory_text}; {best_text}", rule)


# --- 3 and 4: an architecture better on some datasets than on others -----------------------------

def _rank_contrast(rows: _Rows, arch: str, better: str, worse: str,
                   belongs: Callable[[str], bool | None]) -> tuple[str, str]:
    """Whether ``arch``'s mean rank over the datasets where ``belongs`` is True beats that where it is False."""
    sides = {side: [d for d in rows.datasets if belongs(d) is side and not np.isnan(rows.mean_rank(arch, [d]))]
             for side in (True, False)}
    if not sides[True] or not sides[False]:
        return NOT_TESTABLE, f"{better} against {worse}: a side has no ranked dataset"
    mean = {side: rows.mean_rank(arch, datasets) for side, datasets in sides.items()}
    names = {side: ", ".join(rows.labels[d] for d in datasets) for side, datasets in sides.items()}
    text = (f"{better} ({names[True]}): mean rank {mean[True]:.2f} against {worse} ({names[False]}): "
            f"{mean[False]:.2f} of {len(rows.archs)} (n = {len(sides[True])} vs {len(sides[False])} datasets, "
            "descriptive, no test)")
    if abs(mean[True] - mean[False]) < RANK_PLACES:
        return NOT_TESTABLE, text + f"; within {RANK_PLACES:g} place: decides nothing"
    return (SUPPORTED if mean[True] < mean[False] else CONTRADICTED), text


def _spec_value(dataset: str, field: str) -> float | None:
    spec = dataset_spec(dataset)
    return getattr(spec, field) if spec is not None else None


def _vgg_grayscale_small(rows: _Rows) -> Check:
    rule = ("'better' = a mean rank among the architectures run better by at least one place; supported when the "
            "VGG-like's mean rank on grayscale datasets is better than on colour ones, and on the smaller images "
            "better than on the larger; contradicted when either is worse by at least one place")
    if missing := _missing(rows, VGG):
        return _no_rows(3, rule, missing)
    sizes = [s for s in (_spec_value(d, "image_size") for d in rows.datasets) if s is not None]

    def grayscale(d: str) -> bool | None:
        channels = _spec_value(d, "channels")
        return None if channels is None else channels == 1

    def smaller(d: str) -> bool | None:
        size = _spec_value(d, "image_size")
        return None if size is None else size < max(sizes)

    gray_verdict, gray_text = _rank_contrast(rows, VGG, "grayscale", "colour", grayscale)
    small_verdict, small_text = _rank_contrast(rows, VGG, "smaller images", "larger", smaller)
    same = [grayscale(d) for d in rows.datasets] == [smaller(d) for d in rows.datasets]
    caveat = "; in these datasets the grayscale ones are the smaller ones: one contrast, not two" if same else ""
    return Check(3, CLAIMS[3], _combine([gray_verdict, small_verdict]), f"{gray_text}; {small_text}{caveat}", rule)


def _resnet_v1_digits(rows: _Rows) -> Check:
    rule = (f"digits = {', '.join(study.DIGITS)}, objects = {', '.join(study.OBJECTS)} (a synthetic twin as its "
            "real dataset); supported when ResNet20 v1's mean rank on digits is better than on objects by at least "
            "one place, contradicted when it is worse by at least one place")
    if missing := _missing(rows, RESNET_V1):
        return _no_rows(4, rule, missing)

    def digits(d: str) -> bool | None:
        base = real_dataset(d)
        return True if base in study.DIGITS else False if base in study.OBJECTS else None

    verdict, text = _rank_contrast(rows, RESNET_V1, "digits", "objects", digits)
    return Check(4, CLAIMS[4], verdict, text, rule)


# --- 5 and 6: ResNet20 v2 ------------------------------------------------------------------------

def _resnet_v2_over_v1(rows: _Rows) -> Check:
    low, high = V2_GAIN_BAND
    rule = ("'not always': supported when a Welch test (Holm over the datasets) puts v1 separably above v2 on "
            "some dataset, contradicted when v2 is separably above v1 on every dataset; '+25 points on "
            f"Fashion-MNIST': supported when the 95% Welch confidence interval of v2 - v1 lies within "
            f"[{low:+.2f}, {high:+.2f}], contradicted when it lies outside; {MIN_SEEDS} seeds a side at least")
    if missing := _missing(rows, RESNET_V1, RESNET_V2):
        return _no_rows(5, rule, missing)
    both = [d for d in rows.datasets if {RESNET_V1, RESNET_V2} <= set(rows.ok_archs(d))]
    tests = holm([compare(RESNET_V2, rows.values(RESNET_V2, d, "test_acc"), RESNET_V1,
                          rows.values(RESNET_V1, d, "test_acc")) for d in both])
    v1_above = [(d, c) for d, c in zip(both, tests) if c.separates and c.higher == RESNET_V1]
    v2_above = [(d, c) for d, c in zip(both, tests) if c.separates and c.higher == RESNET_V2]
    listed = "; ".join(f"{rows.labels[d]}: {c.higher} above {c.lower} by {c.lead:.4f} ({_n_p(c)})"
                       for d, c in zip(both, tests)) or "no dataset where both have an ok seed"
    if v1_above:
        always = SUPPORTED
    elif both and len(v2_above) == len(both):
        always = CONTRADICTED
    else:
        always = NOT_TESTABLE
    gain_verdict, gain_text = _v2_gain(rows)
    return Check(5, CLAIMS[5], _combine([always, gain_verdict]), f"{listed}; {gain_text}", rule)


def _v2_gain(rows: _Rows) -> tuple[str, str]:
    """v2 - v1 on Fashion-MNIST (or its twin) against V2_GAIN_BAND, by a 95% Welch confidence interval."""
    fashion = [d for d in rows.datasets if real_dataset(d) == "fashion_mnist"]
    if not fashion:
        return NOT_TESTABLE, "Fashion-MNIST: not in this sweep"
    dataset = fashion[0]
    v2, v1 = rows.values(RESNET_V2, dataset, "test_acc"), rows.values(RESNET_V1, dataset, "test_acc")
    label = rows.labels[dataset]
    if min(len(v2), len(v1)) < MIN_SEEDS or (np.ptp(v2) == 0 and np.ptp(v1) == 0):
        return NOT_TESTABLE, f"{label}: v2 - v1 not tested (n = {len(v2)} vs {len(v1)})"
    result = stats.ttest_ind(v2, v1, equal_var=False)
    interval = result.confidence_interval(0.95)
    low, high = V2_GAIN_BAND
    text = (f"{label}: v2 - v1 = {v2.mean() - v1.mean():+.4f}, 95% CI [{interval.low:+.4f}, {interval.high:+.4f}], "
            f"n = {len(v2)} vs {len(v1)}, Welch p = {result.pvalue:.2g}")
    if low <= interval.low and interval.high <= high:
        return SUPPORTED, text
    if interval.high < low or interval.low > high:
        return CONTRADICTED, text
    return NOT_TESTABLE, text + " (the interval straddles the band)"


def _resnet_v2_stable(rows: _Rows) -> Check:
    rule = ("'good' = a mean rank (over every dataset) no worse than the middle of the architectures; 'stable' = "
            "no collapsed or diverged seed, counting results a re-training replaced, and a mean seed std no larger "
            "than the median of the other architectures'; supported when both hold, contradicted when either "
            "fails (descriptive, no test)")
    if missing := _missing(rows, RESNET_V2):
        return _no_rows(6, rule, missing)
    seeds = rows.seeds[rows.seeds["arch"] == RESNET_V2]
    unstable = sum(status in UNSTABLE_STATUSES for status in seeds["status"])
    unstable += sum(s in UNSTABLE_STATUSES for earlier in seeds["earlier_results"] for s in earlier)
    rank = rows.analysis.overall["mean_rank"]
    middle = (len(rank.dropna()) + 1) / 2
    spread = rows.cells["acc_std"].groupby(level="arch").mean()
    others = spread.drop(RESNET_V2, errors="ignore").dropna()
    parts = [CONTRADICTED if unstable else SUPPORTED, SUPPORTED if rank[RESNET_V2] <= middle else CONTRADICTED]
    text = (f"{unstable} collapsed or diverged results in {len(seeds)} seeds; mean rank {rank[RESNET_V2]:.2f} "
            f"(middle {middle:.1f} of {len(rank.dropna())})")
    if np.isnan(spread.get(RESNET_V2, np.nan)) or others.empty:
        parts.append(NOT_TESTABLE)
        text += "; seed spread unknown (fewer than 2 ok seeds a cell, or no other architecture's)"
    else:
        parts.append(SUPPORTED if spread[RESNET_V2] <= others.median() else CONTRADICTED)
        text += (f"; mean seed std {spread[RESNET_V2]:.4f} against the others' median {others.median():.4f} "
                 f"({len(others)} architectures)")
    return Check(6, CLAIMS[6], _combine(parts), text, rule)
