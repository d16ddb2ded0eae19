"""The report's words: the notes above the tables and the answers to the study's three questions."""

from __future__ import annotations

import numpy as np

from orchestrator.report.analysis import Analysis
from orchestrator.report.labels import dataset_labels, in_label_order, study_dataset_title, trait_group_label
from orchestrator.report.questions import same_partitions, tuned_cells, unranked_cells
from orchestrator.report.significance import MIN_LEAD, MIN_SEEDS, NO_SPREAD, SIGNIFICANCE, TIE, TOO_FEW, Comparison
from orchestrator.report.tables import MARKS, NO_VALUE, TIME_TO_STUDY, best_text, common_text, order_text

QUESTIONS = (
    "Which architecture works best for a given dataset?",
    "What dataset characteristics make an architecture work well?",
    "Is there an architecture that generally works well for image classification?",
)
SYNTHETIC_NOTE = ("Synthetic data: datasets marked (synthetic) are generated stand-ins; "
                  "their numbers say nothing about the real datasets.")
ATTEMPT_RULE = ("One attempt per seed in every table: the seed's latest result (ok, diverged or collapsed), "
                "else its latest failed attempt")
TABLE_1_LEGEND = ("Table 1: the mean ± std of the ok seeds' test accuracy, then (ok seeds/seeds; the others by "
                  "status); " + "; ".join(f"{mark} {meaning}" for mark, meaning in MARKS.values()) + ".")
TIME_TO_STUDY_NOTE = (f"Table 2's '{TIME_TO_STUDY}': training seconds until the validation accuracy (the test "
                      "accuracy where a seed had no validation split, said so) reached the study's Table 4.1 figure "
                      "and held it at the next epoch (or at the last epoch), mean over the ok seeds that reached it; "
                      "a study figure that is a collapsed run is no target.")


Q2_RULE = ("Descriptive, no test: mean ranks over the few datasets in each group of a trait, not a finding "
           "about any architecture.")
SHARED_WORDS = "; some trials shared their device, so their seconds are not a trial's alone"


def test_rule(tests: int) -> str:
    """The rule by which an answer names a best architecture, with the size of its Holm family."""
    return (f"two-sided Welch t-test, at least {MIN_SEEDS} seeds a side, rejecting at {SIGNIFICANCE:g} after "
            f"Holm's correction over the {tests} test{'s' if tests != 1 else ''} made, with a lead of at least "
            f"{MIN_LEAD:g}; identical seeds "
            "on both sides are not tested")


RANKING_NOTE = ("Ranks (Q1-Q3): on each dataset the stable cells with an ok seed come first by mean test accuracy, "
                f"then the unstable ones ({MARKS['unstable'][0]}) by the mean of their ok seeds; a cell without an "
                "ok seed has no rank (left out, not last); an unstable cell never ranks above a stable one on its "
                "surviving seeds, and stays unstable after a re-training.")


def notes(analysis: Analysis, vs_study: bool = False) -> tuple[str, ...]:
    """Lines to show above the tables: synthetic data, shared devices, the study's collapses, how seeds, marks, ranks
    and times are read, the seeds marked, and the sweep used (last)."""
    lines = [SYNTHETIC_NOTE] if analysis.synthetic else []
    if analysis.shared_devices and analysis.shared_devices > 1:
        lines.append(f"Times come from shared devices: {analysis.shared_trials} of the timed trials ran beside "
                     f"others on their device (up to {analysis.shared_devices} at once), so their seconds and "
                     "images/s are not those of a trial alone.")
    if vs_study:
        lines.extend(_study_collapse_note(analysis, arch, dataset, row)
                     for (arch, dataset), row in zip(analysis.study_collapses.index,
                                                     analysis.study_collapses.itertuples(index=False)))
    lines += [TABLE_1_LEGEND, RANKING_NOTE, TIME_TO_STUDY_NOTE]
    lines += filter(None, [_retrained_note(analysis), _unpredicted_note(analysis)])
    counts = ", ".join(f"{n} {status}" for status, n in analysis.statuses.items())
    seeds = analysis.statuses.sum()
    lines.append(f"{_sweep_note(analysis)}; {seeds} seeds: {counts}. {ATTEMPT_RULE} "
                 f"({analysis.attempts} attempts on record for {seeds} seeds).")
    return tuple(lines)


def short_notes(analysis: Analysis) -> tuple[str, ...]:
    """The notes in a few lines: synthetic data, shared devices, the sweep and its seeds, the marks."""
    lines = [SYNTHETIC_NOTE] if analysis.synthetic else []
    if analysis.shared_devices and analysis.shared_devices > 1:
        lines.append(f"Shared devices: {analysis.shared_trials} timed trials ran beside others (up to "
                     f"{analysis.shared_devices} at once): their seconds are not a trial's alone.")
    counts = ", ".join(f"{n} {status}" for status, n in analysis.statuses.items())
    lines.append(f"{_sweep_note(analysis)}; {analysis.statuses.sum()} seeds: {counts} ({analysis.attempts} "
                 "attempts on record). Cells: mean ± std of the ok seeds (ok/seeds); "
                 + ", ".join(f"{mark} {meaning.split(':')[0].split(' (')[0]}" for mark, meaning in MARKS.values())
                 + ". --details explains every rule.")
    return tuple(lines)


def _seed_label(analysis: Analysis, arch: str, dataset: str, seed: int) -> str:
    return f"{arch} on {dataset_labels(analysis.cells)[dataset]} seed {seed}"


def _retrained_note(analysis: Analysis) -> str:
    """The seeds re-trained after a collapse or divergence, each with its history, e.g. 'collapsed, then ok'."""
    rows = analysis.retrained
    if rows.empty:
        return ""
    seeds = [f"{_seed_label(analysis, r.arch, r.dataset, r.seed)} ({', '.join([*r.earlier_results, r.status])})"
             for r in rows.itertuples()]
    return (f"Re-trained after a collapse or divergence ({MARKS['retrained'][0]}), results in order, the last "
            f"shown: {'; '.join(seeds)}.")


def _unpredicted_note(analysis: Analysis) -> str:
    """The ok seeds whose judged predictions never named some class."""
    seeds = analysis.seeds
    if "unpredicted_classes" not in seeds:
        return ""
    flagged = seeds[(seeds["status"] == "ok")
                    & seeds["unpredicted_classes"].map(lambda v: np.ndim(v) > 0 and len(v) > 0)]
    if flagged.empty:
        return ""
    parts = [f"{_seed_label(analysis, r.arch, r.dataset, r.seed)} "
             f"(class{'es' if len(r.unpredicted_classes) > 1 else ''} "
             f"{', '.join(map(str, r.unpredicted_classes))})" for r in flagged.itertuples()]
    return (f"Ok seeds that never predicted some class on their validation split (else test set) "
            f"({MARKS['unpredicted'][0]}): {'; '.join(parts)}.")


def _sweep_note(analysis: Analysis) -> str:
    if analysis.chosen_by == "name":
        return f"Sweep {analysis.sweep!r}"
    if analysis.chosen_by == "only":
        return f"Sweep {analysis.sweep!r} (the only one)"
    return (f"Sweep {analysis.sweep!r}: the most recent of {len(analysis.sweeps)} ({', '.join(analysis.sweeps)}); "
            "choose another with --sweep")


def _study_collapse_note(analysis: Analysis, arch: str, dataset: str, row) -> str:
    label = study_dataset_title(dataset)
    return (f"The study's {arch} on {label} scored {row.study_acc:g}, what always answering class "
            f"{row.top_class} scores ({row.class_images:,} of {row.test_images:,} test images): "
            "a collapse of the study's run, not an accuracy to compare with.")


def _claim_text(c: Comparison, subject: str) -> str:
    """One comparison of ``subject`` (a dataset's first architecture) with another, with its n and p, e.g. 'above
    lenet5 by 0.0120 (n = 3 vs 3, Holm p = 0.012)', or 'below vgg † by 0.0100 (not tested: n = 3 vs 2)' where an
    unstable cell scored higher."""
    above = c.higher == subject
    other = c.lower if above else c.higher
    n = f"n = {c.n_higher} vs {c.n_lower}" if above else f"n = {c.n_lower} vs {c.n_higher}"
    if c.kind == TIE:
        return f"tied with {other} ({n})"
    where = f"{'above' if above else 'below'} {other} by {c.lead:.4f}"
    if c.kind == TOO_FEW:
        return f"{where} (not tested: {n})"
    if c.kind == NO_SPREAD:
        return f"{where} (not tested: {n}, identical seeds)"
    return f"{where} ({n}, Holm p = {c.p_holm:.2g})"


def _tuning_note(analysis: Analysis) -> str:
    """Which architectures had a recipe tuned for a dataset, where others on it did not."""
    labels = dataset_labels(analysis.cells)
    by_dataset: dict[str, list[str]] = {}
    for arch, dataset in tuned_cells(analysis.cells):
        by_dataset.setdefault(dataset, []).append(arch)
    parts = [f"{', '.join(names)} on {labels[dataset]}" for dataset, names in by_dataset.items()
             if len(names) < len(analysis.cells.xs(dataset, level="dataset"))]
    return (f"Tuned for one dataset (an augmentation of their own there, kept after a check): {'; '.join(parts)}; "
            "part of a gap there may be tuning effort." if parts else "")


def _dataset_best(analysis: Analysis, dataset: str, row) -> str:
    labels = dataset_labels(analysis.cells)
    claims = ", ".join(_claim_text(c, row["candidate"]) for c in row["comparisons"])
    if row["winner"]:
        return f"{labels[dataset]}: {row['winner']}, {claims}"
    if row["best_stable"]:
        unstable = ", ".join(row["unstable"])
        return (f"{labels[dataset]}: {row['best_stable']} is the best stable architecture (not separable from the "
                f"unstable {unstable}), {claims}")
    first = f"; {row['order'][0]} {claims}" if claims else ""
    return f"{labels[dataset]}: {best_text(row)}: order {order_text(analysis, dataset)}{first}"


def answer_best(analysis: Analysis) -> str:
    """Q1: per dataset, the best architecture where the tests separate it from every other cell with a score; the best
    stable one where only the stable cells are separated; else the order and why none is named."""
    parts = [_dataset_best(analysis, dataset, row) for dataset, row in analysis.best.iterrows() if row["order"]]
    tuning = _tuning_note(analysis)
    return (f"Best per dataset, named only where separable ({test_rule(analysis.tests)}; an unstable cell's "
            f"collapsed seeds count as what they scored): " + "; ".join(parts) + "."
            + (f" {tuning}" if tuning else ""))


def short_best(analysis: Analysis) -> str:
    """Q1 in a few lines: each dataset's verdict, the rule's name, and the tuning caveat."""
    labels = dataset_labels(analysis.cells)
    parts = []
    for dataset, row in analysis.best.iterrows():
        if not row["order"]:
            parts.append(f"{labels[dataset]}: no ok seed")
            continue
        # a winner is separated from every cell compared, so each of its comparisons was tested
        detail = f" (Holm p <= {max(c.p_holm for c in row['comparisons']):.2g})" if row["winner"] else ""
        parts.append(f"{labels[dataset]}: {best_text(row)}{detail}")
    tuning = _tuning_note(analysis)
    return (f"Named only where separable (Welch, {MIN_SEEDS}+ seeds a side, Holm over {analysis.tests} "
            f"test{'s' if analysis.tests != 1 else ''}). " + "; ".join(parts) + "." + (f" {tuning}" if tuning else ""))


def _lacking(analysis: Analysis) -> str:
    """The cells left out of mean ranks (no ok seed), e.g. 'left out, no ok seed: vgg on CIFAR-10'."""
    labels = dataset_labels(analysis.cells)
    cells = unranked_cells(analysis.cells)
    return ("left out, no ok seed: " + ", ".join(f"{arch} on {labels[dataset]}" for arch, dataset in cells)
            if cells else "")


def answer_traits(analysis: Analysis) -> str:
    """Q2, descriptive: how each architecture's mean rank differs between the groups of each trait, no test and no
    finding picked; which traits are confounded; which cells had no rank."""
    splits = analysis.splits
    if not splits:
        return "Descriptive: the datasets share every measured trait: nothing to compare across datasets."
    ordered = in_label_order(analysis.trait_ranks.columns)
    lines = []
    for trait in splits:
        groups = [group for group in ordered if group.trait == trait]
        ranks = analysis.trait_ranks[groups]
        per_arch = [f"{arch} " + " vs ".join(NO_VALUE if np.isnan(r) else f"{r:.2f}" for r in row)
                    for arch, row in ranks.iterrows()]
        lines.append(f"{trait} ({' vs '.join(map(trait_group_label, groups))}): {', '.join(per_arch)}")
    confounded = [" and ".join(names) for names in same_partitions(splits)]
    caveat = (" In these datasets " + "; ".join(confounded) + " split the datasets the same way, "
              "so their effects cannot be told apart.") if confounded else ""
    lacking = _lacking(analysis)
    return (f"{Q2_RULE} " + "; ".join(lines) + "." + caveat + (f" Ranks {lacking}." if lacking else ""))


def short_traits(analysis: Analysis) -> str:
    confounded = [" and ".join(names) for names in same_partitions(analysis.splits)]
    return (f"{Q2_RULE} {len(analysis.splits)} trait split{'s' if len(analysis.splits) != 1 else ''} of "
            f"{len(analysis.datasets)} datasets (table 'Q2: mean rank by dataset trait' with --details)"
            + (f"; {', '.join(confounded)} split them alike" if confounded else "") + ".")


def answer_overall(analysis: Analysis) -> str:
    """Q3: whether one architecture is the separable best on every dataset, the order by mean rank and the most
    accuracy per second of an epoch, the last two descriptive."""
    overall = analysis.overall
    n_datasets = len(analysis.datasets)
    everywhere = list(overall.index[overall["wins"] == n_datasets])
    labels = dataset_labels(analysis.cells)
    winners = [f"{labels[dataset]}: {winner}" for dataset, winner in analysis.best["winner"].items() if winner]
    if everywhere:
        verdict = (f"Yes: {everywhere[0]} is the separable best on every dataset ({n_datasets}; "
                   f"{test_rule(analysis.tests)}).")
    else:
        named = f"separable winners: {', '.join(winners)}" if winners else "no dataset has a separable winner"
        verdict = f"Not shown: no architecture is the separable best on every dataset ({named})."
    ranks = ", ".join(f"{arch} {rank:.2f} ({int(n)} datasets)" for arch, rank, n
                      in zip(overall.index, overall["mean_rank"], overall["ranked"]) if not np.isnan(rank))
    lacking = _lacking(analysis)
    ranked = (f"{verdict} Order by mean rank over the datasets where each has a rank (descriptive, no test; "
              f"unstable cells rank after stable ones{'; ' + lacking if lacking else ''}): {ranks}.")
    per_second = overall["acc_per_second"].dropna()
    if per_second.empty:
        return (f"{ranked} Accuracy per second of an epoch is not compared: no dataset has a stable cell with an "
                "ok seed for every architecture.")
    efficient = per_second.idxmax()
    return (f"{ranked} Most accuracy per second of an epoch (descriptive, no test; per epoch because the recipes "
            f"train different numbers of epochs{SHARED_WORDS if analysis.shared_trials else ''}): {efficient} "
            f"({per_second[efficient]:.4g}, mean accuracy over mean seconds per epoch on {common_text(analysis)}, "
            f"the dataset{'s' if len(analysis.common) != 1 else ''} where every architecture has a stable cell).")


def short_overall(analysis: Analysis) -> str:
    overall = analysis.overall
    everywhere = list(overall.index[overall["wins"] == len(analysis.datasets)])
    verdict = (f"Yes: {everywhere[0]} is the separable best on every dataset." if everywhere else
               "Not shown: no architecture is the separable best on every dataset.")
    ranks = ", ".join(f"{arch} {rank:.2f}" for arch, rank in overall["mean_rank"].items() if not np.isnan(rank))
    return f"{verdict} Mean rank (descriptive): {ranks}."


def answers(analysis: Analysis) -> tuple[str, str, str]:
    """The answers to QUESTIONS, in order."""
    return answer_best(analysis), answer_traits(analysis), answer_overall(analysis)


def short_answers(analysis: Analysis) -> tuple[str, str, str]:
    """The answers to QUESTIONS in a few lines each, for the default print."""
    return short_best(analysis), short_traits(analysis), short_overall(analysis)
