"""One sweep's numbers as one tidy table for scripts: a row per number, the columns declared once in COLUMNS.

Made from the ``Analysis`` (never from the tables' text), so ``pandas.read_csv`` of ``to_csv(tidy_table(...))``
gives back the very numbers the tables show rounded, in numeric columns. A row is one number of one of the
summary's tables (``table``: a key of ``report.tables.TITLES``), about one cell (arch and dataset), one dataset
(no arch) or one architecture (no dataset); a cell's row carries the cell's seed counts and marks. What each
``metric`` is: CELL_METRICS (per cell, the ``Analysis.cells`` column it comes from), ``questions.dataset_traits``
and ``questions.overall_stats`` (their columns' names), and for question 1 ``first`` (the first stable cell, the
one compared), ``winner`` (that cell where every comparison separates), and per other stable cell ``lead`` (the
first's mean less its own), ``welch_p`` and ``holm_p`` (where a test was made; see ``report.significance``).
"""

from __future__ import annotations

import pandas as pd

from orchestrator.report.analysis import Analysis
from orchestrator.report.cells import OK
from orchestrator.report.labels import in_label_order, trait_group_label
from orchestrator.report.tables import MARKS

COLUMNS = {  # name -> meaning, in the table's order
    "sweep": "the sweep summarized",
    "table": "the summary's table: accuracy (Table 1), validation, time (Table 2), params (Table 3), best (Q1), "
             "traits (Q2), trait_ranks (Q2), overall (Q3)",
    "metric": "what the number is",
    "arch": "the architecture; empty in a dataset's row",
    "dataset": "the dataset's name; empty in an architecture's row",
    "group": "trait_ranks only: the datasets that share a trait, e.g. '1ch 28px'",
    "mean": "the number: the mean over the seeds in n, or a single figure (a count, a rank, a p-value)",
    "std": "the seeds' sample standard deviation (ddof=1); empty below two seeds and for a single figure",
    "n": "how many seeds the mean is over; empty for a single figure",
    "n_ok": "the cell's ok seeds",
    "n_seeds": "the cell's seeds, one attempt each",
    "n_diverged": "the cell's diverged seeds (likewise n_collapsed, n_failed, and any other status there is)",
    "marks": "the cell's marks, ';'-separated: " + ", ".join(MARKS),
    "synthetic": "a number behind the row came from synthetic data (the cell's, or any of the dataset's or the "
                 "architecture's cells)",
    "study": "the study's figure for the same number, where it has one",
}
# Per cell: table, metric, and the Analysis.cells columns of its mean, std and study figure.
CELL_METRICS = (
    ("accuracy", "test_acc", "acc_mean", "acc_std", "study_acc"),
    ("validation", "val_acc", "val_mean", "val_std", None),
    ("validation", "best_epoch_min", "best_epoch_min", None, None),
    ("validation", "best_epoch_max", "best_epoch_max", None, None),
    ("time", "train_seconds", "seconds", None, "study_seconds"),
    ("time", "seconds_per_epoch", "seconds_per_epoch", None, None),
    ("time", "images_per_sec", "images_per_sec", None, None),
    ("time", "seconds_to_study", "seconds_to_study", None, None),
    ("params", "params_total", "params_total", None, "study_params_total"),
    ("params", "params_trainable", "params_trainable", None, "study_params_trainable"),
    ("params", "params_non_trainable", "params_non_trainable", None, "study_params_non_trainable"),
)
# A per-cell metric that is a mean over seeds -> the trials column whose ok values it averages
SEED_MEANS = {"test_acc": "test_acc", "val_acc": "val_acc", "train_seconds": "train_seconds",
              "seconds_per_epoch": "train_seconds", "images_per_sec": "images_per_sec"}
COUNT_COLUMNS = ("n", "n_ok", "n_seeds")


def tidy_table(analysis: Analysis) -> pd.DataFrame:
    """Every number of the summary's tables, one per row, with the columns of COLUMNS (and ``n_<status>`` for any
    other status the sweep has)."""
    rows = [*_cell_rows(analysis), *_best_rows(analysis), *_traits_rows(analysis), *_overall_rows(analysis)]
    statuses = [column for column in analysis.cells.columns if column.startswith("n_") and column != f"n_{OK}"]
    columns = list(dict.fromkeys([*COLUMNS, *statuses]))
    table = pd.DataFrame(rows).reindex(columns=columns)
    table["sweep"] = analysis.sweep
    for column in [*COUNT_COLUMNS, *statuses]:
        table[column] = table[column].astype("Int64")
    return table.astype({"mean": float, "std": float, "study": float, "synthetic": bool})


def _cell(analysis: Analysis, arch: str, dataset: str, **values: object) -> dict:
    """A row about one cell: ``values`` with the cell's seed counts, marks and synthetic flag."""
    cell = analysis.cells.loc[(arch, dataset)]
    counts = {column: cell[column] for column in cell.index if column.startswith("n_")}
    return {"arch": arch, "dataset": dataset, **values, **counts, "n_seeds": cell["n"],
            "marks": ";".join(flag for flag in MARKS if cell[flag]), "synthetic": bool(cell["synthetic"])}


def _cell_rows(analysis: Analysis) -> list[dict]:
    cells = analysis.cells
    ok = analysis.seeds[analysis.seeds["status"] == OK]
    counted = {metric: ok.groupby(["arch", "dataset"])[column].count() for metric, column in SEED_MEANS.items()}
    counted["seconds_to_study"] = cells["seeds_reached"]
    rows = []
    for table, metric, mean, std, study in CELL_METRICS:
        for arch, dataset in cells.index:
            n = counted[metric].get((arch, dataset), 0) if metric in counted else None
            rows.append(_cell(analysis, arch, dataset, table=table, metric=metric, mean=cells.at[(arch, dataset), mean],
                              std=cells.at[(arch, dataset), std] if std else None, n=n,
                              study=cells.at[(arch, dataset), study] if study else None))
    return rows


def _best_rows(analysis: Analysis) -> list[dict]:
    rows = []
    for dataset, best in analysis.best.iterrows():
        first = best["candidate"]
        if not first:
            continue
        accuracy = {"mean": analysis.cells.at[(first, dataset), "acc_mean"],
                    "std": analysis.cells.at[(first, dataset), "acc_std"],
                    "n": analysis.cells.at[(first, dataset), "n_ok"]}
        rows.append(_cell(analysis, first, dataset, table="best", metric="first", **accuracy))
        if best["winner"]:
            rows.append(_cell(analysis, first, dataset, table="best", metric="winner", **accuracy))
        for c in best["comparisons"]:
            other, lead = (c.lower, c.lead) if c.higher == first else (c.higher, -c.lead)
            rows.append(_cell(analysis, other, dataset, table="best", metric="lead", mean=lead))
            if c.tested:
                rows += [_cell(analysis, other, dataset, table="best", metric="welch_p", mean=c.p),
                         _cell(analysis, other, dataset, table="best", metric="holm_p", mean=c.p_holm)]
    return rows


def _traits_rows(analysis: Analysis) -> list[dict]:
    synthetic = analysis.cells["synthetic"].groupby(level="dataset").any()
    rows = [{"table": "traits", "dataset": dataset, "metric": trait, "mean": value, "synthetic": synthetic[dataset]}
            for trait in analysis.traits.columns for dataset, value in analysis.traits[trait].items()]
    rows += [_cell(analysis, arch, dataset, table="traits", metric="rank", mean=rank)
             for (arch, dataset), rank in analysis.cells["rank"].items()]
    by_arch = analysis.cells["synthetic"].groupby(level="arch").any()
    rows += [{"table": "trait_ranks", "metric": "mean_rank", "arch": arch, "group": trait_group_label(group),
              "mean": analysis.trait_ranks.at[arch, group], "synthetic": by_arch[arch]}
             for group in in_label_order(analysis.trait_ranks.columns) for arch in analysis.trait_ranks.index]
    return rows


def _overall_rows(analysis: Analysis) -> list[dict]:
    synthetic = analysis.cells["synthetic"].groupby(level="arch").any()
    return [{"table": "overall", "metric": metric, "arch": arch, "mean": value, "synthetic": synthetic[arch]}
            for metric in analysis.overall.columns for arch, value in analysis.overall[metric].items()]
