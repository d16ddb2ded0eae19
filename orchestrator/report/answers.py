"""The report's words: the notes above the tables and the answers to the study's three questions."""

from __future__ import annotations

import pandas as pd

from orchestrator.report.analysis import Analysis
from orchestrator.report.labels import dataset_labels, in_label_order, study_dataset_title, trait_group_label
from orchestrator.report.questions import same_partitions
from orchestrator.report.tables import common_text, verdict_text

QUESTIONS = (
    "Which architecture works best for a given dataset?",
    "What dataset characteristics make an architecture work well?",
    "Is there an architecture that generally works well for image classification?",
)
SYNTHETIC_NOTE = ("Synthetic data: datasets marked (synthetic) are generated stand-ins; "
                  "their numbers say nothing about the real datasets.")


def notes(analysis: Analysis, vs_study: bool = False) -> tuple[str, ...]:
    """Lines to show above the tables: synthetic data, shared devices, the study's collapses, the sweep used (last)."""
    lines = [SYNTHETIC_NOTE] if analysis.synthetic else []
    if analysis.shared_devices and analysis.shared_devices > 1:
        lines.append(f"Times come from shared devices: {analysis.shared_trials} of the timed trials ran beside "
                     f"others on their device (up to {analysis.shared_devices} at once), so their seconds and "
                     "images/s are not those of a trial alone.")
    if vs_study:
        lines.extend(_study_collapse_note(analysis, arch, dataset, row)
                     for (arch, dataset), row in zip(analysis.study_collapses.index,
                                                     analysis.study_collapses.itertuples(index=False)))
    counts = ", ".join(f"{n} {status}" for status, n in analysis.statuses.items())
    lines.append(f"{_sweep_note(analysis)}; {analysis.statuses.sum()} trials: {counts}.")
    return tuple(lines)


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


def answer_best(analysis: Analysis) -> str:
    """Q1: the best architecture per dataset, its lead and whether the lead exceeds the seed spread."""
    labels = dataset_labels(analysis.cells)
    parts = []
    for dataset, row in analysis.best.iterrows():
        label = labels[dataset]
        if not row["winners"]:
            continue
        if pd.notna(row["runner_up"]) and row["test"].kind == "tie":
            parts.append(f"{label}: {' = '.join(row['winners'])}, tied ({row['best_acc']:.4f})")
            continue
        lead = ""
        if pd.notna(row["runner_up"]):
            lead = f", lead {row['lead']:.4f} over {row['runner_up']}: {verdict_text(row['test'])}"
        parts.append(f"{label}: {row['best']} ({row['best_acc']:.4f}{lead})")
    return "Best per dataset: " + "; ".join(parts) + "."


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
    """Q3: whether one architecture is best everywhere, the best mean rank, the most accuracy per second."""
    overall = analysis.overall
    n_datasets = len(analysis.datasets)
    everywhere = list(overall.index[overall["wins"] == n_datasets])
    if len(everywhere) == 1:
        shared = overall.loc[everywhere[0], "shared_wins"]
        verdict = (f"Yes: {everywhere[0]} is best on every dataset ({n_datasets}"
                   f"{f'; tied with another architecture on {shared}' if shared else ''}).")
    elif everywhere:
        verdict = (f"No single architecture: {' and '.join(everywhere)} tie for best on every dataset "
                   f"({n_datasets}).")
    else:
        verdict = "No single architecture is best on every dataset."
    best_rank = overall["mean_rank"].iloc[0]
    leaders = list(overall.index[overall["mean_rank"] == best_rank])
    who = f"{leaders[0]} has" if len(leaders) == 1 else f"{' and '.join(leaders)} share"
    ranked = (f"{verdict} {who} the best mean rank ({best_rank:.2f} over {n_datasets} "
              f"datasets; an architecture with no ok seed on a dataset ranks last there).")
    per_second = overall["acc_per_second"].dropna()
    if per_second.empty:
        return (f"{ranked} Accuracy per training second is not compared: no dataset has an ok seed "
                f"for every architecture.")
    efficient = per_second.idxmax()
    return (f"{ranked} Most accuracy per training second: {efficient} ({per_second[efficient]:.4g} per s, "
            f"mean accuracy over mean training seconds on {common_text(analysis)}, the datasets where "
            f"every architecture has an ok seed).")


def answers(analysis: Analysis) -> tuple[str, str, str]:
    """The answers to QUESTIONS, in order."""
    return answer_best(analysis), answer_traits(analysis), answer_overall(analysis)
