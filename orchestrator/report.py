"""One sweep's results as the study's three tables, the answers to its three questions, and a report.

How the CLI uses it (every error is a ReportError with a one-line message)::

    summary = summarize(store.trials(), store.history(), sweep=None, vs_study=False)
    print(render_summary(summary, fmt))
    write_report(summary, out_dir)       # out_dir/report.md plus PNG and SVG plots

Which sweep: ``sweep=NAME`` uses that sweep. Without it, results holding one sweep use it; results
holding several use the one whose last trial ended most recently (a sweep without end times counts
as oldest), and ``Summary.notes`` says which was used and which others exist.

How cells are summarized: a cell is one (arch, dataset); its seeds are its trials. Accuracy is the
final ``test_acc`` of the ok seeds: the mean, with the sample standard deviation (ddof=1) and the
seed count when there are several. Diverged and failed seeds never contribute a number; the cell
says how many there were. Ranks order the architectures on each dataset by mean accuracy (1 = best,
ties share the average rank); an architecture with no ok seed on a dataset ranks last there, and a
dataset where no architecture has an ok seed ranks none. Question 3's mean accuracy, mean training
seconds and accuracy per training second are taken over the common datasets only, those where every
architecture has an ok seed, so that one failing on a hard dataset is not flattered by its easy ones;
with no common dataset they are not compared.

Synthetic datasets (``synthetic_mnist``, ...) keep "(synthetic)" in every label, are compared with
the study's figure for the real dataset of the same name, and make the report say so at the top.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd
from scipy import stats

import archs
from orchestrator import data, study
from orchestrator.data.specs import SYNTHETIC_PREFIX, DatasetSpec
from orchestrator.render import render
from orchestrator.atomic import atomic_write_text
from orchestrator.results import STATUSES

DIFFICULTY_ARCH = "lenet5"       # its accuracy on a dataset is the difficulty proxy
SIGNIFICANCE = 0.05              # Welch t-test level for "the lead exceeds the seed spread"
NO_VALUE = "—"
NOT_RUN = "not run"
PARAMS = {  # table column -> (trials column, field of study.StudyParams)
    "total": ("params_total", "total"),
    "trainable": ("params_trainable", "trainable"),
    "non-trainable": ("params_non_trainable", "non_trainable"),
}
QUESTIONS = (
    "Which architecture works best for a given dataset?",
    "What dataset characteristics make an architecture work well?",
    "Is there an architecture that generally works well for image classification?",
)
TITLES = {
    "accuracy": "Table 1: test accuracy",
    "time": "Table 2: training time",
    "params": "Table 3: parameters",
    "best": "Q1: best architecture per dataset",
    "traits": "Q2: dataset traits and architecture ranks",
    "trait_ranks": "Q2: mean rank by dataset trait",
    "overall": "Q3: architectures across datasets",
}
IMAGE_TITLES = {
    "accuracy_heatmap": "Test accuracy per architecture and dataset",
    "training_time": "Training seconds (log scale)",
    "accuracy_vs_time": "Accuracy against training time, Pareto front",
    "accuracy_curves": "Test accuracy per epoch",
}
SYNTHETIC_NOTE = ("Synthetic data: datasets marked (synthetic) are generated stand-ins; "
                  "their numbers say nothing about the real datasets.")


class ReportError(ValueError):
    """The results cannot be summarized or reported; the message is one line meant for the user."""


@dataclass(frozen=True)
class Summary:
    """One sweep summarized. The tables named in TITLES hold strings, ready for ``render``."""

    sweep: str
    notes: tuple[str, ...]            # lines to show above the tables: synthetic data, the sweep used
    synthetic: bool                   # some dataset is a generated stand-in
    cells: pd.DataFrame               # numbers per (arch, dataset), display order; see _cell_stats
    curves: pd.DataFrame              # mean/std test accuracy per (arch, dataset, epoch) of ok seeds
    accuracy: pd.DataFrame
    time: pd.DataFrame
    params: pd.DataFrame
    best: pd.DataFrame
    traits: pd.DataFrame
    trait_ranks: pd.DataFrame
    overall: pd.DataFrame
    answers: tuple[str, str, str]     # one per QUESTIONS

    def tables(self) -> dict[str, pd.DataFrame]:
        """Title -> table, in report order."""
        return {title: getattr(self, name) for name, title in TITLES.items()}


def summarize(trials: pd.DataFrame, history: pd.DataFrame, *, sweep: str | None = None,
              vs_study: bool = False) -> Summary:
    """Summarize one sweep of ``trials`` / ``history`` (ResultStore frames); see the module docstring."""
    if trials.empty:
        raise ReportError("no trial results to summarize (run `archbench sweep` first)")
    chosen, sweep_note = select_sweep(trials, sweep)
    trials = trials[trials["sweep"] == chosen]
    ok = trials[trials["status"] == "ok"]
    if ok.empty:
        raise ReportError(f"sweep {chosen!r} has no ok trials ({_status_counts(trials)}): nothing to summarize")
    specs = {name: _spec(name) for name in trials["dataset"].unique()}
    cells = _cell_stats(trials, specs)
    synthetic = bool(cells["synthetic"].any())
    traits = _dataset_traits(cells, specs, ok.groupby("dataset")["train_images"].median())
    splits = _trait_splits(traits)
    trait_ranks = _mean_rank_by_group(cells, splits)
    overall = _overall(cells)
    best = best_table(cells, ok)
    notes = ((SYNTHETIC_NOTE,) if synthetic else ()) + (f"{sweep_note}; {_status_counts(trials)}.",)
    return Summary(
        sweep=chosen, notes=notes, synthetic=synthetic, cells=cells,
        curves=_curves(history, ok, cells),
        accuracy=accuracy_table(cells, vs_study), time=time_table(cells, vs_study),
        params=params_table(cells, vs_study), best=best, traits=traits_table(cells, traits),
        trait_ranks=trait_ranks.map(_formatter(".2f")).rename_axis("arch"), overall=overall_table(cells, overall),
        answers=(_answer_best(best), _answer_traits(trait_ranks, splits), _answer_overall(cells, overall)),
    )


def select_sweep(trials: pd.DataFrame, sweep: str | None) -> tuple[str, str]:
    """The sweep to summarize and a one-line note saying how it was chosen."""
    sweeps = sorted(trials["sweep"].unique())
    if sweep is not None:
        if sweep not in sweeps:
            raise ReportError(f"no sweep {sweep!r} in the results; sweeps: {', '.join(sweeps)}")
        return sweep, f"Sweep {sweep!r}"
    if len(sweeps) == 1:
        return sweeps[0], f"Sweep {sweeps[0]!r} (the only one)"
    last_end = trials.groupby("sweep")["ended_at"].max().reindex(sweeps)
    latest = last_end.sort_values(na_position="first", kind="stable").index[-1]
    return latest, (f"Sweep {latest!r}: the most recent of {len(sweeps)} ({', '.join(sweeps)}); "
                    "choose another with --sweep")


def _status_counts(trials: pd.DataFrame) -> str:
    counts = trials["status"].value_counts()
    parts = [f"{counts[s]} {s}" for s in STATUSES if s in counts]
    return f"{len(trials)} trials: {', '.join(parts)}"


# --- cells ---------------------------------------------------------------------------------------

def _spec(name: str) -> DatasetSpec | None:
    try:
        return data.spec(name)
    except ValueError:  # results may name a dataset this version of archbench does not know
        return None


def _study_name(dataset: str) -> str:
    return dataset.removeprefix(SYNTHETIC_PREFIX)


def _dataset_label(name: str, spec: DatasetSpec | None, synthetic: bool) -> str:
    title = spec.title if spec is not None else name
    # A synthetic run must never read as a real one, whatever the title says.
    if synthetic and "synthetic" not in title.lower():
        title += " (synthetic)"
    return title


def _dataset_key(dataset: str) -> tuple[int, bool, str]:
    base = _study_name(dataset)
    position = study.DATASETS.index(base) if base in study.DATASETS else len(study.DATASETS)
    return position, dataset != base, dataset


def _display_order(cells: pd.DataFrame) -> list[tuple[str, str]]:
    """Archs in registry order (then the study's, then by name), datasets in the study's order within each."""
    registry = list(archs.names())
    known = registry + [a for a in study.ARCHS if a not in registry]

    def key(cell: tuple[str, str]) -> tuple:
        arch, dataset = cell
        return known.index(arch) if arch in known else len(known), arch, _dataset_key(dataset)

    return sorted(cells.index, key=key)


def _cell_stats(trials: pd.DataFrame, specs: Mapping[str, DatasetSpec | None]) -> pd.DataFrame:
    """Per (arch, dataset): seed counts by status, accuracy / time / params of the ok seeds, rank, study figures."""
    keys = ["arch", "dataset"]
    counts = pd.crosstab([trials["arch"], trials["dataset"]], trials["status"])
    cells = counts.reindex(columns=list(STATUSES), fill_value=0).add_prefix("n_").rename_axis(columns=None)
    cells["n"] = cells.sum(axis=1)
    ok = trials[trials["status"] == "ok"].groupby(keys)
    cells["acc_mean"] = ok["test_acc"].mean()
    cells["acc_std"] = ok["test_acc"].std()  # sample std (ddof=1); NaN for one seed
    cells["seconds"] = ok["train_seconds"].mean()
    cells["images_per_sec"] = ok["images_per_sec"].mean()
    # Every seed builds the same model, so any row that has the counts will do (failed rows may not).
    for column, _ in PARAMS.values():
        cells[column] = trials.groupby(keys)[column].first()
    datasets = cells.index.get_level_values("dataset")
    named_synthetic = [name.startswith(SYNTHETIC_PREFIX) or bool(specs[name] and specs[name].synthetic)
                       for name in datasets]
    cells["synthetic"] = trials.groupby(keys)["synthetic"].any() | pd.Series(named_synthetic, index=cells.index)
    cells["label"] = [_dataset_label(name, specs[name], synthetic)
                      for name, synthetic in zip(datasets, cells["synthetic"])]
    cells["failures"] = cells.apply(_failure_text, axis=1)
    accuracy = cells.groupby(level="dataset")["acc_mean"]
    ranks = accuracy.rank(ascending=False, na_option="bottom")
    cells["rank"] = ranks.where(accuracy.transform("count") > 0)  # a dataset where nothing ran ok ranks nobody
    cells = cells.reindex(_display_order(cells))
    return _add_study_figures(cells)


def _failure_text(cell: pd.Series) -> str:
    """'' when every seed is ok; else e.g. 'diverged' (one seed) or 'diverged 1/3, failed 2/3'."""
    bad = [status for status in ("diverged", "failed") if cell[f"n_{status}"]]
    if cell["n"] == 1:
        return ", ".join(bad)
    return ", ".join(f"{status} {cell[f'n_{status}']}/{cell['n']}" for status in bad)


def _add_study_figures(cells: pd.DataFrame) -> pd.DataFrame:
    study_cells = [(arch, _study_name(dataset)) for arch, dataset in cells.index]

    def lookup(figures: Mapping[tuple[str, str], object], field: str | None = None) -> list[float]:
        values = [figures.get(cell) for cell in study_cells]
        return [np.nan if v is None else float(getattr(v, field) if field else v) for v in values]

    cells = cells.copy()
    cells["study_acc"] = lookup(study.ACCURACY)
    cells["study_seconds"] = lookup(study.SECONDS)
    for column, field in PARAMS.values():
        cells[f"study_{column}"] = lookup(study.PARAMS, field)
    return cells


def _archs(cells: pd.DataFrame) -> list[str]:
    return list(cells.index.unique("arch"))


def _labels(cells: pd.DataFrame) -> pd.Series:
    """Dataset name -> label, in display order."""
    by_dataset = cells["label"].droplevel("arch")
    by_dataset = by_dataset[~by_dataset.index.duplicated()]
    return by_dataset.reindex(sorted(by_dataset.index, key=_dataset_key))


def _matrix(cells: pd.DataFrame, values: pd.Series | str) -> pd.DataFrame:
    """A per-cell series (or a column of ``cells``) as an arch x dataset-label table in display order."""
    series = cells[values] if isinstance(values, str) else values
    labels = _labels(cells)
    return (series.unstack("dataset").reindex(index=_archs(cells), columns=labels.index)
            .rename(columns=labels).rename_axis(index="arch", columns=None))


# --- the study's tables --------------------------------------------------------------------------

def _fmt(value: object, spec: str) -> str:
    return NO_VALUE if pd.isna(value) else format(value, spec)


def _formatter(spec: str) -> Callable[[object], str]:
    return lambda value: _fmt(value, spec)


def _accuracy_text(cell: pd.Series) -> str:
    """E.g. '0.9183', '0.9183 ± 0.0021 (n=3)', '0.9500 ± 0.0071 (n=2; failed 1/3)', 'diverged 3/3'."""
    if cell["n_ok"] == 0:
        return cell["failures"]
    text = _fmt(cell["acc_mean"], ".4f")
    if cell["n_ok"] >= 2:
        text += f" ± {cell['acc_std']:.4f}"
    notes = []
    if cell["n"] > 1:
        notes.append(f"n={cell['n_ok']}")
    if cell["failures"]:
        notes.append(cell["failures"])
    return f"{text} ({'; '.join(notes)})" if notes else text


def _side_by_side(parts: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Arch x dataset tables merged column by column: 'MNIST', 'MNIST study', 'MNIST Δ', 'CIFAR-10', ..."""
    first = next(iter(parts.values()))
    columns = {f"{label}{suffix}": part[label] for label in first.columns for suffix, part in parts.items()}
    return pd.DataFrame(columns, index=first.index)


def accuracy_table(cells: pd.DataFrame, vs_study: bool = False) -> pd.DataFrame:
    """Table 1: arch x dataset test accuracy of the ok seeds; with ``vs_study`` the study's figure and the difference."""
    parts = {"": _matrix(cells, cells.apply(_accuracy_text, axis=1)).fillna(NOT_RUN)}
    if vs_study:
        parts[" study"] = _matrix(cells, "study_acc").map(_formatter(".4f"))
        parts[" Δ"] = _matrix(cells, cells["acc_mean"] - cells["study_acc"]).map(_formatter("+.4f"))
    return _side_by_side(parts)


def _long_table(cells: pd.DataFrame, columns: Mapping[str, pd.Series]) -> pd.DataFrame:
    """One row per cell, indexed by arch, the dataset label first."""
    table = pd.DataFrame({"dataset": cells["label"], **columns})
    return table.droplevel("dataset").rename_axis("arch")


def time_table(cells: pd.DataFrame, vs_study: bool = False) -> pd.DataFrame:
    """Table 2: mean training seconds and images/s of the ok seeds per cell (the failures where none is ok)."""
    seconds = cells["seconds"].map(_formatter(".1f")).where(cells["n_ok"] > 0, cells["failures"])
    columns = {"train s": seconds, "images/s": cells["images_per_sec"].map(_formatter(",.0f"))}
    if vs_study:
        columns["study s"] = cells["study_seconds"].map(_formatter(",.0f"))
        columns["Δ s"] = (cells["seconds"] - cells["study_seconds"]).map(_formatter("+,.1f"))
    return _long_table(cells, columns)


def params_table(cells: pd.DataFrame, vs_study: bool = False) -> pd.DataFrame:
    """Table 3: total / trainable / non-trainable parameters per cell."""
    columns = {}
    for kind, (column, _) in PARAMS.items():
        columns[kind] = cells[column].map(_formatter(",.0f"))
        if vs_study:
            columns[f"study {kind}"] = cells[f"study_{column}"].map(_formatter(",.0f"))
            columns[f"Δ {kind}"] = (cells[column] - cells[f"study_{column}"]).map(_formatter("+,.0f"))
    return _long_table(cells, columns)


# --- question 1: the best architecture per dataset -----------------------------------------------

def spread_verdict(best: Iterable[float], runner_up: Iterable[float]) -> str:
    """Whether the best cell's lead over the runner-up exceeds the spread over seeds (Welch t-test)."""
    best, runner_up = np.asarray(list(best), float), np.asarray(list(runner_up), float)
    if best.mean() == runner_up.mean():
        return "tie"
    if min(len(best), len(runner_up)) < 2:
        return "single seed: spread unknown"
    if np.ptp(best) == 0 and np.ptp(runner_up) == 0:  # the t statistic is undefined
        return "lead exceeds seed spread (no spread: seeds identical)"
    p = stats.ttest_ind(best, runner_up, equal_var=False).pvalue
    verdict = "lead exceeds seed spread" if p < SIGNIFICANCE else "lead within seed spread"
    return f"{verdict} (Welch t-test, p={p:.3f})"


def _podium(cells: pd.DataFrame) -> dict[str, list[str]]:
    """Dataset -> its (up to) two best archs with an ok seed, best first; ties keep the display order."""
    podium = {}
    for dataset in _labels(cells).index:
        accuracy = cells["acc_mean"].xs(dataset, level="dataset").dropna()
        podium[dataset] = list(accuracy.sort_values(ascending=False, kind="stable").index[:2])
    return podium


def _winners(cells: pd.DataFrame) -> dict[str, list[str]]:
    """Dataset -> the archs with its highest mean accuracy: several on a tie, none without an ok seed."""
    winners = {}
    for dataset in _labels(cells).index:
        accuracy = cells["acc_mean"].xs(dataset, level="dataset").dropna()
        winners[dataset] = list(accuracy.index[accuracy == accuracy.max()])
    return winners


def _best_row(cells: pd.DataFrame, dataset: str, top: list[str], winners: list[str],
              seeds: Mapping[tuple[str, str], pd.Series]) -> dict[str, str]:
    accuracy = [cells.loc[(arch, dataset), "acc_mean"] for arch in top] + [np.nan] * (2 - len(top))
    if len(top) == 2:
        verdict = spread_verdict(*(seeds[(arch, dataset)] for arch in top))
    else:
        verdict = "no runner-up with an ok seed" if top else "no ok seed"
    return {
        "best": " = ".join(winners) if winners else NO_VALUE,
        "accuracy": _fmt(accuracy[0], ".4f"),
        "runner-up": top[1] if len(top) == 2 else NO_VALUE,
        "runner-up accuracy": _fmt(accuracy[1], ".4f"),
        "lead": _fmt(accuracy[0] - accuracy[1], ".4f"),
        "lead vs spread": verdict,
    }


def best_table(cells: pd.DataFrame, ok: pd.DataFrame) -> pd.DataFrame:
    """Q1: per dataset the best arch, the runner-up, the lead and whether it exceeds the seed spread."""
    seeds = dict(list(ok.groupby(["arch", "dataset"])["test_acc"]))
    labels = _labels(cells)
    winners = _winners(cells)
    rows = {labels[dataset]: _best_row(cells, dataset, top, winners[dataset], seeds)
            for dataset, top in _podium(cells).items()}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("dataset")


def _answer_best(best: pd.DataFrame) -> str:
    parts = []
    for label, row in best[best["best"] != NO_VALUE].iterrows():
        if row["lead vs spread"] == "tie":
            parts.append(f"{label}: {row['best']}, tied ({row['accuracy']})")
            continue
        lead = ""
        if row["lead"] != NO_VALUE:
            lead = f", lead {row['lead']} over {row['runner-up']}: {row['lead vs spread']}"
        parts.append(f"{label}: {row['best']} ({row['accuracy']}{lead})")
    return "Best per dataset: " + "; ".join(parts) + "."


# --- question 2: dataset traits ------------------------------------------------------------------

def _dataset_traits(cells: pd.DataFrame, specs: Mapping[str, DatasetSpec | None],
                    train_images: pd.Series) -> pd.DataFrame:
    """Per dataset (display order): the spec's traits, the images trained on, the difficulty proxy; numbers.

    The train size is what the ok trials trained on (median), not the dataset's full size: under
    --train-limit or --smoke every dataset may have trained on the same number of images.
    """
    difficulty = cells["acc_mean"].xs(DIFFICULTY_ARCH, level="arch") if DIFFICULTY_ARCH in _archs(cells) else {}
    rows = {}
    for dataset in _labels(cells).index:
        spec = specs[dataset]
        rows[dataset] = {
            "channels": spec.channels if spec else np.nan,
            "image_size": spec.image_size if spec else np.nan,
            "classes": spec.num_classes if spec else np.nan,
            "train_size": train_images.get(dataset, np.nan),
            "pixel_mean": float(np.mean(spec.mean)) if spec else np.nan,  # averaged over channels
            "pixel_std": float(np.mean(spec.std)) if spec else np.nan,
            "difficulty": difficulty.get(dataset, np.nan),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def _ranks(cells: pd.DataFrame) -> pd.DataFrame:
    """Dataset name x arch ranks, in display order."""
    return cells["rank"].unstack("arch").reindex(index=_labels(cells).index, columns=_archs(cells))


def traits_table(cells: pd.DataFrame, traits: pd.DataFrame) -> pd.DataFrame:
    """Q2: each dataset's traits beside each architecture's rank on it."""
    table = pd.DataFrame({
        "channels": traits["channels"].map(_formatter(".0f")),
        "resolution": traits["image_size"].map(lambda s: NO_VALUE if pd.isna(s) else f"{s:.0f}×{s:.0f}"),
        "classes": traits["classes"].map(_formatter(".0f")),
        "train size": traits["train_size"].map(_formatter(",.0f")),
        "pixel mean": traits["pixel_mean"].map(_formatter(".3f")),
        "pixel std": traits["pixel_std"].map(_formatter(".3f")),
        f"{DIFFICULTY_ARCH} acc": traits["difficulty"].map(_formatter(".4f")),
    })
    ranks = _ranks(cells).map(_formatter("g")).add_prefix("rank ")
    return table.join(ranks).rename(index=_labels(cells)).rename_axis("dataset")


def _median_split(values: pd.Series, high: str, low: str, spec: str) -> pd.Series:
    """Label each value '<high> ≥ median' or '<low> < median'; NaN stays NaN."""
    median = values.median()
    return values.map(lambda v: np.nan if pd.isna(v)
                      else f"{high} ≥ {median:{spec}}" if v >= median else f"{low} < {median:{spec}}")


def _trait_splits(traits: pd.DataFrame) -> dict[str, pd.Series]:
    """Ways to split the datasets by one trait: name -> group label per dataset; splits leaving one group are dropped."""
    shape = traits.apply(lambda t: np.nan if pd.isna(t["channels"])
                         else f"{t['channels']:.0f}ch {t['image_size']:.0f}px", axis=1)
    splits = {
        "image format": shape,
        "classes": traits["classes"].map(lambda c: np.nan if pd.isna(c) else f"{c:.0f} classes"),
        "train size": _median_split(traits["train_size"], "train", "train", ",.0f"),
        "difficulty": _median_split(traits["difficulty"], f"easier: {DIFFICULTY_ARCH} acc",
                                    f"harder: {DIFFICULTY_ARCH} acc", ".3f"),
    }
    return {name: groups for name, groups in splits.items() if groups.dropna().nunique() > 1}


def _mean_rank_by_group(cells: pd.DataFrame, splits: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Arch x trait group: each architecture's mean rank over the datasets in the group."""
    ranks = _ranks(cells)
    columns = {group: ranks.loc[members.index].mean()
               for groups in splits.values() for group, members in groups.groupby(groups, sort=True)}
    return pd.DataFrame(columns, index=_archs(cells))


def _same_partitions(splits: Mapping[str, pd.Series]) -> list[list[str]]:
    """Groups of split names that divide the datasets identically (so their effects cannot be told apart)."""
    by_partition: dict[frozenset, list[str]] = {}
    for name, groups in splits.items():
        partition = frozenset(frozenset(members.index) for _, members in groups.groupby(groups))
        by_partition.setdefault(partition, []).append(name)
    return [names for names in by_partition.values() if len(names) > 1]


def _answer_traits(trait_ranks: pd.DataFrame, splits: Mapping[str, pd.Series]) -> str:
    if not splits:
        return "The datasets share every measured trait: nothing to compare across datasets."
    lines = []
    for arch, ranks in trait_ranks.iterrows():
        by_split = [ranks[sorted(groups.dropna().unique())] for groups in splits.values()]
        groups = max(by_split, key=lambda group_ranks: group_ranks.max() - group_ranks.min())
        if groups.max() - groups.min() < 1:
            lines.append(f"{arch}: no trait moves its mean rank by a full place")
        else:
            lines.append(f"{arch} ranks better on {groups.idxmin()} (mean rank {groups.min():.2f}) "
                         f"than on {groups.idxmax()} ({groups.max():.2f})")
    confounded = [" and ".join(names) for names in _same_partitions(splits)]
    caveat = (" In these datasets " + "; ".join(confounded) + " split the datasets the same way, "
              "so their effects cannot be told apart.") if confounded else ""
    return "; ".join(lines) + "." + caveat


# --- question 3: across datasets -----------------------------------------------------------------

def _common_datasets(cells: pd.DataFrame) -> list[str]:
    """The datasets (display order) on which every architecture has an ok seed."""
    accuracy = cells["acc_mean"].unstack("dataset").reindex(index=_archs(cells), columns=_labels(cells).index)
    return list(accuracy.columns[accuracy.notna().all()])


def _overall(cells: pd.DataFrame) -> pd.DataFrame:
    """Per arch, best mean rank first: mean rank (over every dataset), datasets won (a tie counts for each
    of the tied) and of those the ones won tied, datasets with an ok seed, and mean accuracy, mean train
    seconds and accuracy per train second over the common datasets (``_common_datasets``; NaN when
    there are none)."""
    by_arch = cells.groupby(level="arch", sort=False)
    winners = _winners(cells).values()
    wins = pd.Series([arch for tied in winners for arch in tied], dtype=object)
    shared = pd.Series([arch for tied in winners if len(tied) > 1 for arch in tied], dtype=object)
    common = _common_datasets(cells)
    on_common = cells[cells.index.get_level_values("dataset").isin(common)].groupby(level="arch", sort=False)
    names = _archs(cells)
    frame = pd.DataFrame({
        "mean_rank": by_arch["rank"].mean(),
        "wins": wins.value_counts().reindex(names, fill_value=0),
        "shared_wins": shared.value_counts().reindex(names, fill_value=0),
        "ok_datasets": by_arch["n_ok"].agg(lambda n: (n > 0).sum()),
        "datasets": by_arch.size(),
        "mean_acc": on_common["acc_mean"].mean().reindex(names),
        "mean_seconds": on_common["seconds"].mean().reindex(names),
    })
    frame["acc_per_second"] = frame["mean_acc"] / frame["mean_seconds"]
    return frame.sort_values("mean_rank", kind="stable")


def _common_text(cells: pd.DataFrame) -> str:
    """The common datasets' labels, e.g. 'MNIST, SVHN'; NO_VALUE when there are none."""
    labels = _labels(cells)
    return ", ".join(labels[dataset] for dataset in _common_datasets(cells)) or NO_VALUE


def overall_table(cells: pd.DataFrame, overall: pd.DataFrame) -> pd.DataFrame:
    """Q3 for render; mean acc, mean train s and acc per train s are over the datasets in 'compared over'."""
    return pd.DataFrame({
        "mean rank": overall["mean_rank"].map(_formatter(".2f")),
        "best on": overall["wins"].astype(str),
        "ok on": overall["ok_datasets"].astype(str) + "/" + overall["datasets"].astype(str),
        "mean acc": overall["mean_acc"].map(_formatter(".4f")),
        "mean train s": overall["mean_seconds"].map(_formatter(".1f")),
        "acc per train s": overall["acc_per_second"].map(_formatter(".4g")),
        "compared over": _common_text(cells),
    }, index=overall.index).rename_axis("arch")


def _answer_overall(cells: pd.DataFrame, overall: pd.DataFrame) -> str:
    n_datasets = len(_labels(cells))
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
            f"mean accuracy over mean training seconds on {_common_text(cells)}, the datasets where "
            f"every architecture has an ok seed).")


# --- curves, rendering, the report ---------------------------------------------------------------

def _curves(history: pd.DataFrame, ok: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """Mean and std of the per-epoch test accuracy over the ok seeds of each cell, with the dataset label."""
    keys = ["sweep", "arch", "dataset", "seed"]
    ok_history = history.merge(ok[keys], on=keys)
    curves = ok_history.groupby(["arch", "dataset", "epoch"])["test_acc"].agg(["mean", "std"]).reset_index()
    curves["label"] = curves["dataset"].map(_labels(cells))
    return curves


def render_summary(summary: Summary, fmt: str = "table") -> str:
    """The notes, every table and the answers as one text in ``fmt`` (see ``render.FORMATS``).

    In CSV, each table is a block under a ``# <title>`` line, a missing value is an empty field, and
    the notes and answers are ``#`` lines.
    """
    answers = [f"Q{i}. {question}\n{answer}" for i, (question, answer) in
               enumerate(zip(QUESTIONS, summary.answers), start=1)]
    if fmt == "csv":
        tables = [f"# {title}\n" + render(df.replace(NO_VALUE, ""), fmt) for title, df in summary.tables().items()]
        return "\n".join([*map(_comment, summary.notes), *tables, *map(_comment, answers)]) + "\n"
    tables = [render(df, fmt, title) for title, df in summary.tables().items()]
    return "\n\n".join([*summary.notes, *tables, *answers]) + "\n"


def _comment(text: str) -> str:
    return "\n".join(f"# {line}" for line in text.splitlines())


def write_report(summary: Summary, out_dir: str | os.PathLike[str]) -> Path:
    """Write the plots (PNG and SVG) and a one-page ``report.md`` linking them into ``out_dir``; return its path."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        images = _write_plots(summary, out)
        path = out / "report.md"
        atomic_write_text(path, _report_markdown(summary, images))
    except OSError as exc:
        raise ReportError(f"cannot write the report to {out}: {exc.strerror or exc}") from None
    return path


def _write_plots(summary: Summary, out: Path) -> dict[str, Path]:
    # matplotlib is imported only to draw: its import builds a font cache in the user's home, which
    # a sweep (it prints these tables too) must not touch.
    from orchestrator import plots

    cells = summary.cells
    accuracy = _matrix(cells, "acc_mean")
    figures = {
        "accuracy_heatmap": plots.accuracy_heatmap(accuracy, _matrix(cells, "failures").fillna(NOT_RUN)),
        "training_time": plots.training_time_bars(_matrix(cells, "seconds")),
        "accuracy_vs_time": plots.accuracy_vs_time(accuracy, _matrix(cells, "acc_std"), _matrix(cells, "seconds")),
    }
    if not summary.curves.empty:
        figures["accuracy_curves"] = plots.accuracy_curves(summary.curves, _archs(cells), list(_labels(cells)))
    return {name: plots.save(figure, out, name) for name, figure in figures.items()}


def _report_markdown(summary: Summary, images: Mapping[str, Path]) -> str:
    def table(name: str) -> str:
        return render(getattr(summary, name), "markdown", TITLES[name])

    def image(name: str) -> str:
        return f"![{IMAGE_TITLES[name]}]({images[name].name})" if name in images else ""

    notes = [f"> **{note}**" if note == SYNTHETIC_NOTE else note for note in summary.notes]
    answer_tables = (["best"], ["traits", "trait_ranks"], ["overall"])
    answers = [[f"### {number}. {question}", answer, *map(table, names)] for number, question, answer, names
               in zip((1, 2, 3), QUESTIONS, summary.answers, answer_tables)]
    sections = [
        f"# archbench report: sweep `{summary.sweep}`", *notes,
        "## Results", table("accuracy"), image("accuracy_heatmap"), table("time"), image("training_time"),
        image("accuracy_vs_time"), table("params"),
        "## The study's questions", *(part for block in answers for part in block),
        image("accuracy_curves"),
    ]
    return "\n\n".join(section.strip() for section in sections if section) + "\n"
