"""The study's seven conclusions (its Discussion), each checked against one sweep's rows.

Each check gives a verdict, SUPPORTED, CONTRADICTED or NOT_TESTABLE (with these rows), the numbers
behind it and its rule in plain words. The rule and its words are one thing, so this module, like
``report.answers``, makes words from an ``Analysis``'s numbers.

A verdict needs evidence. SUPPORTED or CONTRADICTED comes only from comparisons with at least
MIN_SEEDS seeds a side that ``report.significance`` separates (two-sided Welch t-test, Holm's
correction over the tests the check makes, a lead of at least MIN_LEAD); a gap the tests do not
separate, a rank gap and anything seen with fewer seeds decide nothing. So with one seed a cell every
conclusion is NOT_TESTABLE. A fact that needs no seeds (a parameter count) is stated as a fact, never
as a verdict.

What the words mean here:

- *every architecture / dataset*: a claim about all of them ("the most", "on any dataset", "across
  all") is judged only on a sweep holding all of the study's five architectures (or four datasets,
  a synthetic twin standing in for its real dataset) with a result; otherwise it is NOT_TESTABLE,
  naming what is missing.
- *best on a dataset*: question 1's separable best (``questions.best_per_dataset``). An architecture
  is *shown not best* on a dataset when one of question 1's tests separates another above it; having
  no ok seed is no evidence either way.
- *better on some datasets than on others* (C3, C4): a reversal, not a rank gap: another architecture
  that is separably below it on every dataset of one side and separably above it on every dataset of
  the other. The datasets' difficulty moves every architecture alike and makes no reversal. Where the
  datasets are partitioned alike by two of the study's contrasts (grayscale = the smaller images), it
  is one contrast, counted once.
- *faster*: fewer training seconds per epoch (the recipes train different numbers of epochs), by the
  Welch test over the ok seeds of stable cells that ran alone on their device
  (``trials_sharing_device`` = 1): a seed that shared its device, or whose sharing is not recorded,
  decides no time verdict.
- *memory*: training memory, ``peak_mem_bytes`` (the device memory reserved, activations included),
  never a parameter count; it is recorded on CUDA only, so on a CPU sweep that half is not testable.
  Memory compares seeds' ranges (a cell's peak is the same for every seed): separated when the ranges
  do not overlap, with MIN_SEEDS seeds a side.
- *accuracy*: a seed's score (``report.analysis``: a collapsed seed counts as what it scored); C5
  leaves unstable cells out instead.
- *stable*: no collapsed or diverged result on record (counting results a re-training replaced), with
  at least MIN_SEEDS seeds in every cell.

A synthetic twin stands in for its real dataset, as it does beside the study's figures; the report's
synthetic-data note then applies to every verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from orchestrator import study
from orchestrator.report.analysis import SHARING_COLUMN, Analysis
from orchestrator.report.cells import OK, STABLE, UNSTABLE_STATUSES, dataset_spec, real_dataset
from orchestrator.report.labels import dataset_labels
from orchestrator.report.questions import tuned_cells
from orchestrator.report.significance import MIN_SEEDS, Comparison, compare, holm

SUPPORTED, CONTRADICTED, NOT_TESTABLE = "supported", "contradicted", "not testable with these rows"
LENET, VGG, RESNET_V1, RESNET_V2, SQUEEZENET = study.ARCHS
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
        self.labels = dataset_labels(analysis.cells)
        self.archs = analysis.archs
        self.datasets = analysis.datasets
        scored = analysis.seeds.dropna(subset=["score"])
        self.with_result = set(zip(scored["arch"], scored["dataset"]))

    def missing(self, archs: bool = True, datasets: bool = False) -> str:
        """What of the study's architectures (and datasets) has no result in this sweep, in words; '' for none."""
        parts = []
        if archs:
            present = {arch for arch, _ in self.with_result}
            if absent := [arch for arch in study.ARCHS if arch not in present]:
                parts.append(f"architecture{'s' if len(absent) > 1 else ''} {', '.join(absent)}")
        if datasets:
            present = {real_dataset(dataset) for _, dataset in self.with_result}
            if absent := [dataset for dataset in study.DATASETS if dataset not in present]:
                parts.append(f"dataset{'s' if len(absent) > 1 else ''} {', '.join(absent)}")
        return " and ".join(parts)

    def scores(self, arch: str, dataset: str) -> np.ndarray:
        seeds = self.seeds[(self.seeds["arch"] == arch) & (self.seeds["dataset"] == dataset)]
        return seeds["score"].dropna().to_numpy(float)

    def stable(self, arch: str, dataset: str) -> bool:
        return (arch, dataset) in self.cells.index and self.cells.loc[(arch, dataset), "tier"] == STABLE

    def stable_ok(self, arch: str, dataset: str) -> pd.DataFrame:
        """The ok seeds of the cell, none where the cell is unstable (no survivorship)."""
        if not self.stable(arch, dataset):
            return self.seeds.iloc[0:0]
        return self.seeds[(self.seeds["arch"] == arch) & (self.seeds["dataset"] == dataset)
                          & (self.seeds["status"] == OK)]

    def seconds_per_epoch(self, arch: str, dataset: str) -> np.ndarray:
        """Per ok seed of a stable cell that ran alone on its device: training seconds per epoch."""
        seeds = self.stable_ok(arch, dataset)
        alone = (pd.to_numeric(seeds[SHARING_COLUMN], errors="coerce") == 1 if SHARING_COLUMN in seeds
                 else pd.Series(False, index=seeds.index))
        timed = seeds[alone & (seeds["epochs_run"] > 0)]
        return (timed["train_seconds"] / timed["epochs_run"]).dropna().to_numpy(float)

    def peak_memory(self, arch: str, dataset: str) -> np.ndarray | None:
        """Per ok seed of a stable cell: its peak memory; None where a seed did not record one (a CPU run)."""
        seeds = self.stable_ok(arch, dataset)
        if MEMORY_COLUMN not in seeds or seeds[MEMORY_COLUMN].isna().any():
            return None
        return seeds[MEMORY_COLUMN].to_numpy(float)

    def archs_on(self, dataset: str) -> list[str]:
        return [arch for arch in self.archs if (arch, dataset) in self.with_result]

    def shown_not_best(self, arch: str, dataset: str) -> str | None:
        """Why ``arch`` is shown not best on ``dataset`` (one of question 1's tests separates another above it)."""
        for c in self.analysis.best.loc[dataset, "comparisons"]:
            if c.lower == arch and c.separates:
                return f"{self.labels[dataset]}: below {c.higher} by {c.lead:.4f} ({_n_p(c)})"
        return None


def _n_p(c: Comparison) -> str:
    return f"n = {c.n_higher} vs {c.n_lower}, Holm p = {c.p_holm:.2g}" if c.tested else \
        f"n = {c.n_higher} vs {c.n_lower}, not tested"


def _combine(parts: Sequence[str]) -> str:
    if CONTRADICTED in parts:
        return CONTRADICTED
    return SUPPORTED if parts and all(p == SUPPORTED for p in parts) else NOT_TESTABLE


def _not_testable(number: int, rule: str, missing: str) -> Check:
    return Check(number, CLAIMS[number], NOT_TESTABLE, f"the claim speaks of all of the study's; this sweep has no "
                                                       f"result of {missing}", rule)


def _family(pairs: Sequence[tuple[str, str, str]],
            values: Callable[[str, str], np.ndarray]) -> dict[tuple[str, str, str], Comparison]:
    """(dataset, a, b) -> a's values against b's on dataset, Holm-corrected together; pairs where a side has no value
    are left out."""
    kept = [(d, a, b) for d, a, b in pairs if len(values(a, d)) and len(values(b, d))]
    tests = holm([compare(a, values(a, d), b, values(b, d)) for d, a, b in kept])
    return dict(zip(kept, tests))


def _separable_count(tests: dict) -> str:
    tested = [c for c in tests.values() if c.tested]
    return (f"{sum(c.separates for c in tests.values())} of {len(tests)} comparisons separable, {len(tested)} "
            f"tested with at least {MIN_SEEDS} seeds a side")


# --- 1: no single best architecture --------------------------------------------------------------

def _no_single_best(rows: _Rows) -> Check:
    rule = ("supported when every one of the study's architectures is shown not best on some dataset (question 1's "
            "tests: another separably above it); contradicted when one is question 1's separable best on every "
            "dataset; judged on a sweep holding all five architectures and all four datasets")
    if missing := rows.missing(archs=True, datasets=True):
        return _not_testable(1, rule, missing)
    winners = rows.analysis.best["winner"]
    if (winners != "").all() and winners.nunique() == 1:
        return Check(1, CLAIMS[1], CONTRADICTED,
                     f"{winners.iloc[0]} is the separable best on all {len(rows.datasets)} datasets", rule)
    reasons = {arch: next(filter(None, (rows.shown_not_best(arch, d) for d in rows.datasets)), None)
               for arch in study.ARCHS}
    unshown = [arch for arch, why in reasons.items() if why is None]
    shown = "; ".join(f"{arch}: {why}" for arch, why in reasons.items() if why)
    if not unshown:
        return Check(1, CLAIMS[1], SUPPORTED, f"each is shown not best somewhere: {shown}", rule)
    evidence = f"no test shows {' or '.join(unshown)} below another on any dataset"
    return Check(1, CLAIMS[1], NOT_TESTABLE, evidence + (f"; shown: {shown}" if shown else ""), rule)


# --- 2 and 7: time and memory --------------------------------------------------------------------

def _time_part(rows: _Rows, arch: str, faster: bool) -> tuple[str, str]:
    """Whether ``arch`` is separably the fastest (``faster``) or slowest per epoch against every other, on every
    dataset."""
    pairs = [(d, arch, other) for d in rows.datasets for other in rows.archs if other != arch]
    tests = _family(pairs, rows.seconds_per_epoch)
    word = "faster" if faster else "slower"
    if not tests:
        return NOT_TESTABLE, ("time: no dataset where it and another architecture have ok seeds of stable cells "
                              "that ran alone on their device (a shared device decides no time verdict)")
    # a lower time is the wanted side when ``faster``: the other arch is ``higher`` (slower)
    wanted = (lambda c: c.lower == arch) if faster else (lambda c: c.higher == arch)
    against = [(d, c) for (d, _, _), c in tests.items() if c.separates and not wanted(c)]
    if against:
        d, c = against[0]
        return CONTRADICTED, (f"time: on {rows.labels[d]} {c.lower} ({c.mean_lower:,.2f} s/epoch) is separably "
                              f"faster than {c.higher} ({c.mean_higher:,.2f} s/epoch; {_n_p(c)})")
    complete = len(tests) == len(pairs)
    separated = sum(c.separates and wanted(c) for c in tests.values())
    text = (f"time: separably {word} per epoch in {separated} of {len(pairs)} comparisons with each other "
            f"architecture on each dataset ({_separable_count(tests)})")
    return (SUPPORTED if complete and separated == len(pairs) else NOT_TESTABLE), text


def _memory_part(rows: _Rows, arch: str, least: bool) -> tuple[str, str]:
    """Whether ``arch`` uses the least (``least``) or the most training memory (peak bytes) on every dataset."""
    measured, unmeasured = {}, []
    for dataset in rows.datasets:
        for name in rows.archs_on(dataset):
            peaks = rows.peak_memory(name, dataset)
            if peaks is None or not len(peaks):
                unmeasured.append((name, dataset))
            else:
                measured[(name, dataset)] = peaks
    if unmeasured:
        return NOT_TESTABLE, (f"memory: not testable: {MEMORY_COLUMN} (training memory, activations included) is "
                              f"not recorded for {len(unmeasured)} cells (it is measured on CUDA only, or the cell is "
                              "unstable)")
    verdicts, numbers = [], []
    for dataset in rows.datasets:
        if (arch, dataset) not in measured:
            continue
        mine = measured[(arch, dataset)]
        others = {name: measured[(name, dataset)] for name in rows.archs_on(dataset) if name != arch}
        for name, theirs in others.items():
            if min(len(mine), len(theirs)) < MIN_SEEDS:
                verdicts.append(NOT_TESTABLE)
                continue
            below, above = mine.max() < theirs.min(), mine.min() > theirs.max()
            holds, fails = (below, above) if least else (above, below)
            verdicts.append(SUPPORTED if holds else CONTRADICTED if fails else NOT_TESTABLE)
            if fails:
                numbers.append(f"{rows.labels[dataset]}: {name} {theirs.mean():,.0f} B against {mine.mean():,.0f} B")
    word = "least" if least else "most"
    text = (f"memory: the {word} peak bytes against each other architecture in {verdicts.count(SUPPORTED)} of "
            f"{len(verdicts)} comparisons (seed ranges apart, {MIN_SEEDS}+ seeds a side)")
    return _combine(verdicts), text + (f"; against it: {'; '.join(numbers)}" if numbers else "")


def _parameter_fact(rows: _Rows, arch: str, fewest: bool) -> str:
    """A fact, not a verdict: whether ``arch`` has the fewest (or most) parameters on every dataset."""
    params = rows.cells["params_total"].dropna()
    if arch not in params.index.unique("arch"):
        return ""
    extreme = params.groupby(level="dataset").idxmin() if fewest else params.groupby(level="dataset").idxmax()
    holds = all(cell[0] == arch for cell in extreme)
    counts = params.xs(arch, level="arch")
    word = "fewest" if fewest else "most"
    return (f"fact (no seeds needed, and not the study's memory): {arch} {'has' if holds else 'does not have'} the "
            f"{word} parameters on every dataset ({int(counts.min()):,} to {int(counts.max()):,})")


def _lenet_tester(rows: _Rows) -> Check:
    rule = ("'tester network' read as: the least training time per epoch and the least training memory on every "
            "dataset; supported when LeNet-5 is separably faster than each other architecture and uses the least "
            "memory on each, contradicted when another is separably faster or uses less; judged on a sweep holding "
            "all five ('simple yet powerful' is not tested)")
    if missing := rows.missing(archs=True):
        return _not_testable(2, rule, missing)
    (time_verdict, time_text), (memory_verdict, memory_text) = (_time_part(rows, LENET, faster=True),
                                                                _memory_part(rows, LENET, least=True))
    fact = _parameter_fact(rows, LENET, fewest=True)
    return Check(2, CLAIMS[2], _combine([time_verdict, memory_verdict]),
                 "; ".join(filter(None, [time_text, memory_text, fact])), rule)


def _squeezenet_costly(rows: _Rows) -> Check:
    rule = ("supported when SqueezeNet is separably slower per epoch than each other architecture, uses the most "
            "training memory on every dataset, and is shown not best on every dataset; contradicted when another is "
            "separably slower, uses more memory, or SqueezeNet is the separable best somewhere; judged on a sweep "
            "holding all five architectures and all four datasets")
    if missing := rows.missing(archs=True, datasets=True):
        return _not_testable(7, rule, missing)
    time_verdict, time_text = _time_part(rows, SQUEEZENET, faster=False)
    memory_verdict, memory_text = _memory_part(rows, SQUEEZENET, least=False)
    won = [rows.labels[d] for d, winner in rows.analysis.best["winner"].items() if winner == SQUEEZENET]
    reasons = [rows.shown_not_best(SQUEEZENET, d) for d in rows.datasets]
    if won:
        best_verdict, best_text = CONTRADICTED, f"best: the separable best on {', '.join(won)}"
    else:
        best_verdict = SUPPORTED if all(reasons) else NOT_TESTABLE
        best_text = (f"best: shown not best on {sum(map(bool, reasons))} of {len(rows.datasets)} datasets"
                     + (f" ({'; '.join(filter(None, reasons))})" if any(reasons) else ""))
    fact = _parameter_fact(rows, SQUEEZENET, fewest=False)
    return Check(7, CLAIMS[7], _combine([time_verdict, memory_verdict, best_verdict]),
                 "; ".join(filter(None, [time_text, memory_text, best_text, fact])), rule)


# --- 3 and 4: an architecture better on some datasets than on others -----------------------------

def _reversal(rows: _Rows, arch: str, better: str, worse: str,
              belongs: Callable[[str], bool | None]) -> tuple[str, str]:
    """Whether another architecture's order with ``arch`` reverses between the datasets where ``belongs`` is True
    (``arch`` separably above it on each) and those where it is False (separably below it on each)."""
    sides = {side: [d for d in rows.datasets if belongs(d) is side and (arch, d) in rows.with_result]
             for side in (True, False)}
    if not sides[True] or not sides[False]:
        return NOT_TESTABLE, f"{better} against {worse}: a side has no dataset with a result of {arch}"
    others = [o for o in rows.archs if o != arch]
    pairs = [(d, arch, o) for d in [*sides[True], *sides[False]] for o in others]
    tests = _family(pairs, rows.scores)

    def standing(d: str, other: str) -> int:
        c = tests.get((d, arch, other))
        return 0 if c is None or not c.separates else 1 if c.higher == arch else -1

    def reverses(other: str, sign: int) -> bool:
        return (all(standing(d, other) == sign for d in sides[True])
                and all(standing(d, other) == -sign for d in sides[False]))

    supporting = [o for o in others if reverses(o, 1)]
    opposing = [o for o in others if reverses(o, -1)]
    names = {side: ", ".join(rows.labels[d] for d in datasets) for side, datasets in sides.items()}
    text = (f"{better} ({names[True]}) against {worse} ({names[False]}): reversals in {arch}'s favour against "
            f"{', '.join(supporting) or 'none'}, against it: {', '.join(opposing) or 'none'} "
            f"({_separable_count(tests)})")
    if supporting and not opposing:
        return SUPPORTED, text
    if opposing and not supporting:
        return CONTRADICTED, text
    return NOT_TESTABLE, text + ("; mixed" if supporting else "")


def _spec_value(dataset: str, field: str) -> float | None:
    spec = dataset_spec(dataset)
    return getattr(spec, field) if spec is not None else None


def _vgg_grayscale_small(rows: _Rows) -> Check:
    rule = ("'better on X than on Y' read as a reversal: some other architecture is separably below the VGG-like on "
            "every X dataset and separably above it on every Y dataset (scores, Holm over the check's tests); "
            "supported when such reversals favour grayscale (and the smaller images) and none goes the other way, "
            "contradicted when reversals go only the other way; where grayscale and smaller images split the "
            "datasets alike it is one contrast, counted once")
    if VGG not in rows.archs:
        return _not_testable(3, rule, f"architecture {VGG}")
    sizes = [s for s in (_spec_value(d, "image_size") for d in rows.datasets) if s is not None]

    def grayscale(d: str) -> bool | None:
        channels = _spec_value(d, "channels")
        return None if channels is None else channels == 1

    def smaller(d: str) -> bool | None:
        size = _spec_value(d, "image_size")
        return None if size is None else size < max(sizes)

    if [grayscale(d) for d in rows.datasets] == [smaller(d) for d in rows.datasets]:
        verdict, text = _reversal(rows, VGG, "grayscale, smaller images", "colour, larger", grayscale)
        return Check(3, CLAIMS[3], verdict, text + "; in these datasets grayscale is smaller images: one contrast",
                     rule)
    gray_verdict, gray_text = _reversal(rows, VGG, "grayscale", "colour", grayscale)
    small_verdict, small_text = _reversal(rows, VGG, "smaller images", "larger", smaller)
    return Check(3, CLAIMS[3], _combine([gray_verdict, small_verdict]), f"{gray_text}; {small_text}", rule)


def _resnet_v1_digits(rows: _Rows) -> Check:
    rule = (f"digits = {', '.join(study.DIGITS)}, objects = {', '.join(study.OBJECTS)} (a synthetic twin as its "
            "real dataset); read as a reversal: some other architecture is separably below ResNet20 v1 on every "
            "digit dataset and separably above it on every object dataset (scores, Holm over the check's tests); "
            "supported when such reversals exist and none goes the other way, contradicted when only the other way")
    if RESNET_V1 not in rows.archs:
        return _not_testable(4, rule, f"architecture {RESNET_V1}")

    def digits(d: str) -> bool | None:
        base = real_dataset(d)
        return True if base in study.DIGITS else False if base in study.OBJECTS else None

    verdict, text = _reversal(rows, RESNET_V1, "digits", "objects", digits)
    tuned = [f"{arch} on {rows.labels[dataset]}" for arch, dataset in tuned_cells(rows.cells)
             if digits(dataset) is not None]
    if tuned:
        text += f"; tuned for one dataset: {', '.join(tuned)}: part of a gap there may be tuning effort"
    return Check(4, CLAIMS[4], verdict, text, rule)


# --- 5 and 6: ResNet20 v2 ------------------------------------------------------------------------

def _resnet_v2_over_v1(rows: _Rows) -> Check:
    low, high = V2_GAIN_BAND
    rule = ("'not always': supported when a Welch test (Holm over the datasets) puts v1 separably above v2 on "
            "some dataset, contradicted when v2 is separably above v1 on every one of the study's datasets; '+25 "
            f"points on Fashion-MNIST': supported when the 95% Welch confidence interval of v2 - v1 lies within "
            f"[{low:+.2f}, {high:+.2f}], contradicted when it lies outside; {MIN_SEEDS} seeds a side at least; "
            "unstable cells are left out")
    both = [d for d in rows.datasets if rows.stable(RESNET_V1, d) and rows.stable(RESNET_V2, d)]
    left_out = [rows.labels[d] for d in rows.datasets
                if {(RESNET_V1, d), (RESNET_V2, d)} <= rows.with_result and d not in both]
    tests = holm([compare(RESNET_V2, rows.scores(RESNET_V2, d), RESNET_V1, rows.scores(RESNET_V1, d))
                  for d in both])
    v1_above = [c for c in tests if c.separates and c.higher == RESNET_V1]
    v2_above = [c for c in tests if c.separates and c.higher == RESNET_V2]
    listed = "; ".join(f"{rows.labels[d]}: {c.higher} above {c.lower} by {c.lead:.4f} ({_n_p(c)})"
                       for d, c in zip(both, tests)) or "no dataset where both cells are stable with an ok seed"
    if left_out:
        listed += f" (left out, an unstable cell: {', '.join(left_out)})"
    if v1_above:
        always = SUPPORTED
    elif both and len(v2_above) == len(both) and not rows.missing(archs=False, datasets=True) and not left_out:
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
    label = rows.labels[dataset]
    if not (rows.stable(RESNET_V2, dataset) and rows.stable(RESNET_V1, dataset)):
        return NOT_TESTABLE, f"{label}: a cell is unstable or has no ok seed: left out"
    v2, v1 = rows.scores(RESNET_V2, dataset), rows.scores(RESNET_V1, dataset)
    if min(len(v2), len(v1)) < MIN_SEEDS or (np.ptp(v2) == 0 and np.ptp(v1) == 0):
        return NOT_TESTABLE, f"{label}: v2 - v1 not tested (n = {len(v2)} vs {len(v1)})"
    # Imported here: most summaries test nothing, and scipy's import takes seconds.
    from scipy import stats

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
    rule = (f"'stable' = no collapsed or diverged result on record (counting results a re-training replaced), with at "
            f"least {MIN_SEEDS} seeds in every ResNet20 v2 cell; 'quite good' = on every dataset separably above at "
            "least one other architecture and separably below at most half of them (scores, Holm over the check's "
            "tests); supported when both hold on all four datasets beside all five architectures, contradicted when "
            "a result collapsed or diverged, or more than half are separably above it somewhere")
    if RESNET_V2 not in rows.archs:
        return _not_testable(6, rule, f"architecture {RESNET_V2}")
    seeds = rows.seeds[rows.seeds["arch"] == RESNET_V2]
    per_cell = seeds.groupby("dataset").size()
    if per_cell.min() < MIN_SEEDS:
        return Check(6, CLAIMS[6], NOT_TESTABLE, f"{per_cell.min()} seed(s) in a ResNet20 v2 cell: fewer than "
                                                 f"{MIN_SEEDS}, too few to judge stability", rule)
    unstable = sum(status in UNSTABLE_STATUSES for status in seeds["status"])
    unstable += sum(s in UNSTABLE_STATUSES for earlier in seeds["earlier_results"] for s in earlier)
    stable_verdict = CONTRADICTED if unstable else SUPPORTED
    others = [o for o in rows.archs if o != RESNET_V2]
    datasets = [d for d in rows.datasets if (RESNET_V2, d) in rows.with_result]
    tests = _family([(d, RESNET_V2, o) for d in datasets for o in others], rows.scores)
    good_parts, numbers = [], []
    for d in datasets:
        here = [c for (dataset, _, _), c in tests.items() if dataset == d]
        above = sum(c.separates and c.higher == RESNET_V2 for c in here)
        below = sum(c.separates and c.lower == RESNET_V2 for c in here)
        numbers.append(f"{rows.labels[d]}: above {above}, below {below} of {len(others)}")
        good_parts.append(CONTRADICTED if below > len(others) / 2 else SUPPORTED if above >= 1 else NOT_TESTABLE)
    good_verdict = _combine(good_parts)
    if good_verdict == SUPPORTED and (missing := rows.missing(archs=True, datasets=True)):
        good_verdict = NOT_TESTABLE
        numbers.append(f"the sweep lacks {missing}")
    text = (f"{unstable} collapsed or diverged results in {len(seeds)} seeds; separably {'; '.join(numbers)} "
            f"({_separable_count(tests)})")
    return Check(6, CLAIMS[6], _combine([stable_verdict, good_verdict]), text, rule)
