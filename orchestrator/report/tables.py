"""The study's tables and the answers' tables as text, made from an ``Analysis``'s numbers.

Tables 1-3 follow the study's layout: architectures down, datasets across. Table 1 and the validation
table have one row per architecture; Tables 2 and 3 one row per architecture and measure. With ``vs_study`` the
study's figures sit below ours in Tables 1 and 2 (rows "study" and "Δ", so that the table stays as
narrow as the datasets are few) and beside them in Table 3 ("MNIST", "MNIST study", "MNIST Δ", ...).
Table 1's Δ is left out beside a synthetic twin (a generated stand-in has no business differing from the
study), and Table 2 gives the study's seconds as context only, with no difference: the study's hardware,
epochs and what its times cover are unknown.
Each cell is a string ready for ``render``; a missing number is NO_VALUE, a cell the study has no
figure for says NO_STUDY_FIGURE.

A Table 1 cell reads "0.9550 ± 0.0071 (2/3; 1 failed) †": the mean ± std of the ok seeds, how many of
the cell's seeds were ok, the others by status, then its marks (MARKS).
"""

from __future__ import annotations

from typing import Callable, Mapping

import pandas as pd

from orchestrator.report.analysis import Analysis
from orchestrator.report.cells import OK, PARAM_COLUMNS
from orchestrator.report.labels import dataset_labels, grid, in_label_order, trait_group_label
from orchestrator.report.questions import DIFFICULTY_ARCH, ranks
from orchestrator.report.significance import NO_SPREAD, TIE, TOO_FEW, Comparison

NO_VALUE = "—"
NOT_RUN = "not run"
NO_STUDY_FIGURE = "no study figure"
NO_VALIDATION = "no validation split"
NOT_REACHED = "not reached"
STUDY_COLLAPSED = "study collapsed"
TITLES = {
    "accuracy": "Table 1: test accuracy",
    "validation": "Validation accuracy: what recipe choices are made on (Table 1 is not)",
    "time": "Table 2: training time",
    "params": "Table 3: parameters",
    "best": "Q1: best architecture per dataset",
    "traits": "Q2: dataset traits and architecture ranks",
    "trait_ranks": "Q2: mean rank by dataset trait",
    "overall": "Q3: architectures across datasets",
}
PARAMS_VS_STUDY_TITLE = f"{TITLES['params']} (ours vs the study's Table 4.3)"   # `archbench params`'s
PARAM_KINDS = dict(zip(("total", "trainable", "non-trainable"), PARAM_COLUMNS))   # row label -> column
TIME_TO_STUDY = "s to study acc"
ON_TEST = "on test acc"
# Table 1's marks: cells column -> mark, and what it means
MARKS = {
    "unstable": ("†", "unstable: a result on record collapsed or diverged (ranked after every stable cell)"),
    "unpredicted": ("‡", "an ok seed never predicted some class (its accuracy stands, flagged)"),
    "retrained": ("§", "a seed was re-trained after a collapse or divergence (its latest result shown; the cell "
                       "stays unstable)"),
}


def fmt(value: object, spec: str) -> str:
    return NO_VALUE if pd.isna(value) else format(value, spec)


def formatter(spec: str) -> Callable[[object], str]:
    return lambda value: fmt(value, spec)


def _study_text(values: pd.Series, spec: str) -> pd.Series:
    return values.map(lambda v: NO_STUDY_FIGURE if pd.isna(v) else format(v, spec))


# --- what happened to the seeds that are not ok --------------------------------------------------

def outcome_texts(analysis: Analysis) -> pd.Series:
    """Per cell: '' when every seed is ok; else e.g. 'diverged' (one seed), 'collapsed (class 3: 97%)',
    or 'diverged 1/3, failed 2/3'."""
    cells = analysis.cells
    statuses = [c.removeprefix("n_") for c in cells.columns if c.startswith("n_") and c != f"n_{OK}"]
    classes = {cell: ", ".join(f"class {c.top_class}: {c.share:.0%}" for c in rows.itertuples())
               for cell, rows in analysis.collapses.groupby(["arch", "dataset", "status"])}

    def text(cell: tuple[str, str], row: pd.Series) -> str:
        parts = []
        for status in statuses:
            if not row[f"n_{status}"]:
                continue
            part = status if row["n"] == 1 else f"{status} {row[f'n_{status}']}/{row['n']}"
            detail = classes.get((*cell, status))
            parts.append(f"{part} ({detail})" if detail else part)
        return ", ".join(parts)

    return pd.Series([text(cell, row) for cell, row in cells.iterrows()], index=cells.index, dtype=object)


def seed_counts_text(row: pd.Series) -> str:
    """E.g. '3/3', '2/3; 1 failed', '0/3; 2 diverged, 1 collapsed': ok seeds of all, then the others by status."""
    statuses = [c.removeprefix("n_") for c in row.index if c.startswith("n_") and c != f"n_{OK}"]
    others = [f"{row[f'n_{status}']} {status}" for status in statuses if row[f"n_{status}"]]
    return "; ".join([f"{row['n_ok']}/{row['n']}", *filter(None, [", ".join(others)])])


def marks_text(row: pd.Series) -> str:
    """The cell's MARKS, e.g. '†§'; '' for none."""
    return "".join(mark for flag, (mark, _) in MARKS.items() if row[flag])


def _accuracy_text(row: pd.Series) -> str:
    """E.g. '0.9183 ± 0.0021 (3/3)', '0.9500 (1/2; 1 collapsed) †', '— (0/3; 3 diverged) †'."""
    accuracy = fmt(row["acc_mean"], ".4f")
    if row["n_ok"] >= 2:
        accuracy += f" ± {row['acc_std']:.4f}"
    marks = marks_text(row)
    return f"{accuracy} ({seed_counts_text(row)})" + (f" {marks}" if marks else "")


def _validation_text(row: pd.Series, outcome: str) -> str:
    """E.g. '0.9143 ± 0.0061 (n=2; best epochs 11-12)': the ok seeds' last-epoch validation accuracy."""
    if row["n_ok"] == 0:
        return outcome
    if row["val_n"] == 0:
        return NO_VALIDATION
    first, last = int(row["best_epoch_min"]), int(row["best_epoch_max"])
    best = f"best epoch {first}" if first == last else f"best epochs {first}-{last}"
    return _seeds_text(row["val_mean"], row["val_std"], row["val_n"], row["n"], [best, outcome])


def _seeds_text(mean: float, std: float, count: int, seeds: int, notes: list[str]) -> str:
    """The mean over ``count`` seeds of ``seeds``, ± their std from two on, then 'n=<count>' and the notes."""
    text = fmt(mean, ".4f")
    if count >= 2:
        text += f" ± {std:.4f}"
    notes = [*([f"n={int(count)}"] if seeds > 1 else []), *filter(None, notes)]
    return f"{text} ({'; '.join(notes)})" if notes else text


# --- layout --------------------------------------------------------------------------------------

def _side_by_side(parts: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Tables of the same shape merged column by column: 'MNIST', 'MNIST study', 'MNIST Δ', 'CIFAR-10', ..."""
    first = next(iter(parts.values()))
    columns = {f"{label}{suffix}": part[label] for label in first.columns for suffix, part in parts.items()}
    return pd.DataFrame(columns, index=first.index)


def _stacked(measures: Mapping[str, pd.DataFrame], index_name: str) -> pd.DataFrame:
    """Arch x dataset tables, one per measure, as one table indexed (arch, measure), each arch's measures together."""
    first = next(iter(measures.values()))
    stacked = pd.concat(measures, names=[index_name, "arch"]).swaplevel()
    order = pd.MultiIndex.from_product([first.index, list(measures)], names=["arch", index_name])
    return stacked.reindex(order)


# --- Tables 1-3 ----------------------------------------------------------------------------------

def accuracy_table(analysis: Analysis, vs_study: bool = False) -> pd.DataFrame:
    """Table 1: arch x dataset test accuracy of the ok seeds with the seeds' statuses and the cell's marks; with
    ``vs_study`` rows for the study's figure and the difference below each architecture's.

    A study figure that equals a constant prediction's accuracy says so: '0.0670 (collapsed: class 0)'.
    """
    cells = analysis.cells
    ours = grid(cells, cells.apply(_accuracy_text, axis=1)).fillna(NOT_RUN)
    if not vs_study:
        return ours
    study = _study_text(cells["study_acc"], ".4f")
    collapsed = cells["study_collapse_class"].notna()
    study[collapsed] = [f"{text} (collapsed: class {k:.0f})"
                        for text, k in zip(study[collapsed], cells.loc[collapsed, "study_collapse_class"])]
    difference = (cells["acc_mean"] - cells["study_acc"]).where(~cells["synthetic"])
    measures = {"test acc": ours, "study": grid(cells, study), "Δ": grid(cells, difference).map(formatter("+.4f"))}
    return _stacked(measures, "figure").fillna(NO_VALUE)


def validation_table(analysis: Analysis) -> pd.DataFrame:
    """Arch x dataset validation accuracy after the last epoch, with the epochs of best validation accuracy."""
    cells = analysis.cells
    outcomes = outcome_texts(analysis)
    texts = pd.Series([_validation_text(row, outcomes[cell]) for cell, row in cells.iterrows()], index=cells.index)
    return grid(cells, texts).fillna(NOT_RUN)


def _time_to_study_text(row: pd.Series) -> str:
    if pd.isna(row["study_acc"]):
        return NO_STUDY_FIGURE
    if pd.notna(row["study_collapse_class"]):   # a constant prediction's accuracy is no target
        return STUDY_COLLAPSED
    if row["n_ok"] == 0 or row["seeds_timed"] == 0:
        return NO_VALUE
    reached, timed, on_test = row["seeds_reached"], row["seeds_timed"], row["seeds_on_test"]
    notes = [f"{reached}/{timed} seeds"] if 0 < reached < timed else []
    if on_test:
        notes.append(ON_TEST if on_test == timed else f"{on_test}/{timed} {ON_TEST}")
    text = f"{row['seconds_to_study']:,.1f}" if reached else NOT_REACHED
    return f"{text} ({'; '.join(notes)})" if notes else text


def time_table(analysis: Analysis, vs_study: bool = False) -> pd.DataFrame:
    """Table 2: per arch and dataset, the ok seeds' mean training seconds (the outcome where none is ok), seconds
    per epoch, images/s and seconds to the study's accuracy (on validation accuracy, held at the next epoch: see
    ``report.study_figures``); with ``vs_study`` the study's seconds, as context (no difference: see above).
    """
    cells = analysis.cells
    seconds = cells["seconds"].map(formatter(",.1f")).where(cells["n_ok"] > 0, outcome_texts(analysis))
    measures = {"train s": grid(cells, seconds).fillna(NOT_RUN)}
    if vs_study:
        measures["study s"] = grid(cells, _study_text(cells["study_seconds"], ",.0f"))
    measures["s/epoch"] = grid(cells, "seconds_per_epoch").map(formatter(",.2f"))
    measures["images/s"] = grid(cells, "images_per_sec").map(formatter(",.0f"))
    measures[TIME_TO_STUDY] = grid(cells, cells.apply(_time_to_study_text, axis=1))
    return _stacked(measures, "measure").fillna(NO_VALUE)


def params_table(counts: pd.DataFrame, vs_study: bool = False) -> pd.DataFrame:
    """Table 3: total / trainable / non-trainable parameters per arch and dataset; with ``vs_study`` the study's
    figures and the differences.

    ``counts`` is indexed (arch, dataset) in display order, with the columns ``params_*``, ``study_params_*``
    and ``synthetic``: ``Analysis.cells`` (the counts the trials recorded) or ``model_params.parameter_counts()``
    (the models built now, for ``archbench params``).
    """
    measures = {}
    for kind, column in PARAM_KINDS.items():
        parts = {"": grid(counts, counts[column].map(formatter(",.0f")))}
        if vs_study:
            parts[" study"] = grid(counts, _study_text(counts[f"study_{column}"], ",.0f"))
            parts[" Δ"] = grid(counts, counts[column] - counts[f"study_{column}"]).map(formatter("+,.0f"))
        measures[kind] = _side_by_side(parts)
    return _stacked(measures, "params").fillna(NO_VALUE)


# --- question 1 ----------------------------------------------------------------------------------

def comparison_text(comparison: Comparison) -> str:
    """E.g. 'vgg − lenet5 = +0.0120, n = 3 vs 3, Welch p = 0.0041, Holm p = 0.012: separable'."""
    c = comparison
    head = f"{c.higher} − {c.lower} = {c.lead:+.4f}, n = {c.n_higher} vs {c.n_lower}"
    if c.kind == TIE:
        return f"{head}: tied"
    if c.kind == TOO_FEW:
        return f"{head}: not tested: n = {min(c.n_higher, c.n_lower)}"
    if c.kind == NO_SPREAD:
        return f"{head}: not tested: identical seeds on both sides (zero spread is no evidence)"
    verdict = "separable" if c.separates else "not separable"
    return f"{head}, Welch p = {c.p:.2g}, Holm p = {c.p_holm:.2g}: {verdict}"


def best_text(row: pd.Series) -> str:
    """A dataset's verdict in a few words: the winner, 'vgg (best stable)', 'not separable', 'not tested: n = 2'..."""
    if row["winner"]:
        return row["winner"]
    if row["best_stable"]:
        return f"{row['best_stable']} (best stable)"
    if not row["order"]:
        return "no ok seed"
    if not row["candidate"]:
        return "no stable cell"
    comparisons = row["comparisons"]
    if not comparisons:
        return "only cell: nothing to test"
    if any(c.kind == TIE for c in comparisons):
        return "tied: not separable"
    untested = [c for c in comparisons if c.kind == TOO_FEW]
    if untested and not any(c.tested for c in comparisons):
        return f"not tested: n = {min(min(c.n_higher, c.n_lower) for c in untested)}"
    if not any(c.tested for c in comparisons):
        return "not tested: no spread"
    return "not separable"


def order_text(analysis: Analysis, dataset: str) -> str:
    """E.g. 'vgg 0.9920 = lenet5 0.9920 > resnet20v1 0.9900 †': the ranked cells with an ok seed, marked; '=' between
    equal means, '>' otherwise (an unstable cell, marked, ranks after a stable one whatever its mean)."""
    cells = analysis.cells.xs(dataset, level="dataset")
    text, before = "", None
    for arch in analysis.best.loc[dataset, "order"]:
        row = cells.loc[arch]
        marks = marks_text(row)
        if before is not None:
            text += " = " if row["acc_mean"] == before["acc_mean"] else " > "
        text += f"{arch} {row['acc_mean']:.4f}" + (f" {marks}" if marks else "")
        before = row
    return text or NO_VALUE


def best_table(analysis: Analysis) -> pd.DataFrame:
    """Q1: per dataset the best arch (only where separable), the order of the architectures and the tests."""
    best = analysis.best
    return pd.DataFrame({
        "best": [best_text(row) for _, row in best.iterrows()],
        "order (mean test acc)": [order_text(analysis, dataset) for dataset in best.index],
        "tests (first against each other cell with a score)":
            ["; ".join(map(comparison_text, comparisons)) or NO_VALUE for comparisons in best["comparisons"]],
    }, index=best.index).rename(index=dataset_labels(analysis.cells)).rename_axis("dataset")


# --- question 2 ----------------------------------------------------------------------------------

def traits_table(analysis: Analysis) -> pd.DataFrame:
    """Q2: each dataset's traits beside each architecture's rank on it."""
    traits = analysis.traits
    table = pd.DataFrame({
        "channels": traits["channels"].map(formatter(".0f")),
        "resolution": traits["image_size"].map(lambda s: NO_VALUE if pd.isna(s) else f"{s:.0f}×{s:.0f}"),
        "classes": traits["classes"].map(formatter(".0f")),
        "train size": traits["train_size"].map(formatter(",.0f")),
        "pixel mean": traits["pixel_mean"].map(formatter(".3f")),
        "pixel std": traits["pixel_std"].map(formatter(".3f")),
        f"{DIFFICULTY_ARCH} acc": traits["difficulty"].map(formatter(".4f")),
    })
    by_dataset = ranks(analysis.cells, analysis.datasets).map(formatter("g")).add_prefix("rank ")
    return table.join(by_dataset).rename(index=dataset_labels(analysis.cells)).rename_axis("dataset")


def trait_ranks_table(analysis: Analysis) -> pd.DataFrame:
    """Q2: each architecture's mean rank per group of datasets that share a trait, each trait's groups by label."""
    groups = in_label_order(analysis.trait_ranks.columns)
    by_label = analysis.trait_ranks[groups].set_axis([trait_group_label(group) for group in groups], axis=1)
    return by_label.map(formatter(".2f"))


# --- question 3 ----------------------------------------------------------------------------------

def common_text(analysis: Analysis) -> str:
    """The common datasets' labels, e.g. 'MNIST, SVHN'; NO_VALUE when there are none."""
    labels = dataset_labels(analysis.cells)
    return ", ".join(labels[dataset] for dataset in analysis.common) or NO_VALUE


def overall_table(analysis: Analysis) -> pd.DataFrame:
    """Q3 (descriptive); mean acc, mean s/epoch and acc per s/epoch are over the datasets in 'compared over'."""
    overall = analysis.overall
    return pd.DataFrame({
        "mean rank": overall["mean_rank"].map(formatter(".2f")),
        "ranked on": overall["ranked"].astype(str),
        "best on": overall["wins"].astype(str),
        "unstable on": overall["unstable"].astype(str),
        "ok on": overall["ok_datasets"].astype(str) + "/" + overall["datasets"].astype(str),
        "mean acc": overall["mean_acc"].map(formatter(".4f")),
        "mean s/epoch": overall["mean_seconds"].map(formatter(".2f")),
        "acc per s/epoch": overall["acc_per_second"].map(formatter(".4g")),
        "compared over": common_text(analysis),
    }, index=overall.index).rename_axis("arch")


def heatmap_notes(analysis: Analysis) -> pd.DataFrame:
    """Arch x dataset: what a cell without an accuracy shows in the heatmap (its outcome, or 'not run')."""
    return grid(analysis.cells, outcome_texts(analysis)).fillna(NOT_RUN)
