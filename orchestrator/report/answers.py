"""The report's words: the notes above the tables and the answers to the study's three questions."""

from __future__ import annotations

import numpy as np

from orchestrator.report.analysis import Analysis
from orchestrator.report.labels import dataset_labels, in_label_order, study_dataset_title, trait_group_label
from orchestrator.report.questions import same_partitions
from orchestrator.report.significance import MIN_LEAD, MIN_SEEDS, NO_SPREAD, SIGNIFICANCE, TIE, TOO_FEW, Comparison
from orchestrator.report.tables import MARKS, TIME_TO_STUDY, best_text, common_text, order_text

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


def test_rule(tests: int) -> str:
    """The rule by which an answer names a best architecture, with the size of its Holm family."""
    return (f"two-sided Welch t-test, at least {MIN_SEEDS} seeds a side, rejecting at {SIGNIFICANCE:g} after "
            f"Holm's correction over the {tests} test{'s' if tests != 1 else ''} made, with a lead of at least {MIN_LEAD:g}; identical seeds "
            "on both sides are not tested")


RANKING_NOTE = ("Ranks (Q1-Q3): on each dataset the stable cells with an ok seed come first by mean test accuracy, "
                f"then the unstable ones ({MARKS['unstable'][0]}) by the mean of their ok seeds, then the cells "
                "without an ok seed; an unstable cell never ranks above a stable one on its surviving seeds.")


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
    parts = [f"{_seed_label(analysis, r.arch, r.dataset, r.seed)} (class{'es' if len(r.unpredicted_classes) > 1 else ''} "
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


def _claim_text(c: Comparison) -> str:
    """One comparison of a dataset's first architecture with its n and p, e.g. 'above lenet5 by 0.0120 (n = 3 vs
    3, Holm p = 0.012)'."""
    n = f"n = {c.n_higher} vs {c.n_lower}"
    if c.kind == TIE:
        return f"tied with {c.lower} ({n})"
    if c.kind == TOO_FEW:
        return f"above {c.lower} by {c.lead:.4f} (not tested: {n})"
    if c.kind == NO_SPREAD:
        return f"above {c.lower} by {c.lead:.4f} (not tested: {n}, identical seeds)"
    return f"above {c.lower} by {c.lead:.4f} ({n}, Holm p = {c.p_holm:.2g})"


def answer_best(analysis: Analysis) -> str:
    """Q1: per dataset, the best architecture where the tests separate it from every other stable cell; else the
    order and why none is named."""
    labels = dataset_labels(analysis.cells)
    parts = []
    for dataset, row in analysis.best.iterrows():
        if not row["order"]:
            continue
        claims = ", ".join(map(_claim_text, row["comparisons"]))
        if row["winner"]:
            parts.append(f"{labels[dataset]}: {row['winner']}, {claims}")
        else:
            first = f"; {row['order'][0]} {claims}" if claims else ""
            parts.append(f"{labels[dataset]}: {best_text(row)}: order {order_text(analysis, dataset)}{first}")
    return (f"Best per dataset, named only where separable ({test_rule(analysis.tests)}): "
            + "; ".join(parts) + ".")


def answer_traits(analysis: Analysis) -> str:
    """Q2: for each architecture, the trait that moves its mean rank the most, and which traits are confounded."""
    splits = analysis.splits
    if not splits:
        return "The datasets share every measured trait: nothing to compare across datasets."
    ordered = in_label_order(analysis.trait_ranks.columns)
    lines = []
    for arch, ranks in analysis.trait_ranks.iterrows():
        by_split = [ranks[[group for group in ordered if group.trait == trait]].dropna() for trait in splits]
        by_split = [group_ranks for group_ranks in by_split if len(group_ranks)]
        if not by_split:
            lines.append(f"{arch}: not ranked on any dataset whose traits are known")
            continue
        groups = max(by_split, key=lambda group_ranks: group_ranks.max() - group_ranks.min())
        if groups.max() - groups.min() < 1:
            lines.append(f"{arch}: no trait moves its mean rank by a full place")
        else:
            lines.append(f"{arch} ranks better on {trait_group_label(groups.idxmin())} (mean rank {groups.min():.2f}) "
                         f"than on {trait_group_label(groups.idxmax())} ({groups.max():.2f})")
    confounded = [" and ".join(names) for names in same_partitions(splits)]
    caveat = (" In these datasets " + "; ".join(confounded) + " split the datasets the same way, "
              "so their effects cannot be told apart.") if confounded else ""
    return "; ".join(lines) + "." + caveat


def answer_overall(analysis: Analysis) -> str:
    """Q3: whether one architecture is the separable best on every dataset, the order by mean rank and the most
    accuracy per second, the last two descriptive."""
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
    ranks = ", ".join(f"{arch} {rank:.2f}" for arch, rank in overall["mean_rank"].items())
    ranked = (f"{verdict} Order by mean rank over {n_datasets} datasets (descriptive, no test; "
              f"unstable cells rank after stable ones, cells without an ok seed last): {ranks}.")
    per_second = overall["acc_per_second"].dropna()
    if per_second.empty:
        return (f"{ranked} Accuracy per training second is not compared: no dataset has an ok seed "
                f"for every architecture.")
    efficient = per_second.idxmax()
    return (f"{ranked} Most accuracy per training second (descriptive, no test): {efficient} "
            f"({per_second[efficient]:.4g} per s, mean accuracy over mean training seconds on {common_text(analysis)}, "
            f"the dataset{'s' if len(analysis.common) != 1 else ''} where every architecture has an ok seed).")


def answers(analysis: Analysis) -> tuple[str, str, str]:
    """The answers to QUESTIONS, in order."""
    return answer_best(analysis), answer_traits(analysis), answer_overall(analysis)
