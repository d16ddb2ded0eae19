"""The numbers of one sweep: per-cell statistics, ranks, winners, dataset traits and the overall comparison.

Everything here is a number or a name, never formatted text: ``report.tables`` and ``report.answers``
put it into words, ``orchestrator.plots`` into figures.

Which sweep: ``sweep=NAME`` uses that sweep. Without it, results holding one sweep use it; results
holding several use the one whose last trial ended most recently (a sweep without end times counts
as oldest).

How cells are summarized: a cell is one (arch, dataset); its seeds are its trials. Accuracy is the
final ``test_acc`` of the ok seeds: the mean, with the sample standard deviation (ddof=1). A seed of
any other status (diverged, collapsed, failed, or one a later archbench adds) contributes no number;
the cell counts its seeds per status. Ranks order the architectures on each dataset by mean accuracy
(1 = best, ties share the average rank); an architecture with no ok seed on a dataset ranks last
there, and a dataset where no architecture has an ok seed ranks none. Question 3's mean accuracy,
mean training seconds and accuracy per training second are taken over the common datasets only,
those where every architecture has an ok seed, so that one failing on a hard dataset is not
flattered by its easy ones.

Time to the study's accuracy: per ok seed, the training seconds (the running sum of the history's
``epoch_seconds``) until its ``test_acc`` first reached the study's Table 4.1 figure for the cell;
the cell's figure is the mean over the seeds that reached it.

Synthetic datasets (``synthetic_mnist``, ...) are compared with the study's figures for the real
dataset of the same name. A cell the study has no figure for (another architecture or dataset) has
NaN study columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

import archs
from orchestrator import data, study
from orchestrator.data.specs import SYNTHETIC_PREFIX, DatasetSpec
from orchestrator.trial import STATUSES

OK = "ok"
DIFFICULTY_ARCH = "lenet5"       # its accuracy on a dataset is the difficulty proxy
SIGNIFICANCE = 0.05              # Welch t-test level for "the lead exceeds the seed spread"
PARAM_COLUMNS = {  # trials column -> field of study.StudyParams
    "params_total": "total",
    "params_trainable": "trainable",
    "params_non_trainable": "non_trainable",
}
SHARING_COLUMN = "trials_sharing_device"   # absent or null in rows of older schemas
HISTOGRAM_COLUMN = "pred_histogram"        # predicted-class counts on the test set; absent in older schemas


class ReportError(ValueError):
    """The results cannot be summarized or reported; the message is one line meant for the user."""


@dataclass(frozen=True)
class LeadTest:
    """Whether the best cell's lead over the runner-up exceeds the spread over seeds.

    ``kind``: "tie" (equal means), "single seed" (a side has one seed), "identical seeds" (no spread
    on either side: the lead exceeds it) or "welch" (``p`` is the Welch t-test's p-value).
    """

    kind: str
    p: float = np.nan

    @property
    def exceeds(self) -> bool:
        return self.kind == "identical seeds" or (self.kind == "welch" and self.p < SIGNIFICANCE)


@dataclass(frozen=True)
class Analysis:
    """One sweep in numbers. Frames are in display order: architectures as registered, datasets as registered."""

    sweep: str
    sweeps: tuple[str, ...]          # every sweep in the results
    chosen_by: str                   # "name" (asked for), "only" or "latest"
    statuses: pd.Series              # status -> trials of this sweep, STATUSES first
    cells: pd.DataFrame              # per (arch, dataset); see cell_stats
    collapses: pd.DataFrame          # per trial not ok with a predicted-class histogram; see collapses
    study_collapses: pd.DataFrame    # the study's figures that a constant prediction scores; see study_collapses
    curves: pd.DataFrame             # arch, dataset, label, epoch, mean, std of the ok seeds' test accuracy
    datasets: pd.Series              # dataset name -> label
    best: pd.DataFrame               # per dataset; see best_per_dataset
    traits: pd.DataFrame             # per dataset; see dataset_traits
    splits: dict[str, pd.Series]     # trait -> group per dataset; see trait_splits
    trait_ranks: pd.DataFrame        # arch x trait group: mean rank
    overall: pd.DataFrame            # per arch, best mean rank first; see overall_stats
    common: list[str]                # datasets where every architecture has an ok seed
    shared_devices: int | None       # most trials that ran at once on one device, over the timed trials
    shared_trials: int               # timed trials that shared their device

    @property
    def archs(self) -> list[str]:
        return list(self.cells.index.unique("arch"))

    @property
    def synthetic(self) -> bool:
        return bool(self.cells["synthetic"].any())


def analyze(trials: pd.DataFrame, history: pd.DataFrame, *, sweep: str | None = None) -> Analysis:
    """The numbers of one sweep of ``trials`` / ``history`` (ResultStore frames); see the module docstring."""
    if trials.empty:
        raise ReportError("no trial results to summarize (run `archbench sweep` first)")
    sweeps = tuple(sorted(trials["sweep"].unique()))
    chosen, chosen_by = select_sweep(trials, sweep)
    trials = trials[trials["sweep"] == chosen]
    statuses = status_counts(trials)
    ok = trials[trials["status"] == OK]
    if ok.empty:
        counts = ", ".join(f"{n} {status}" for status, n in statuses.items())
        raise ReportError(f"sweep {chosen!r} has no ok trials ({len(trials)} trials: {counts}): nothing to summarize")
    history = history[history["sweep"] == chosen]
    specs = {name: _spec(name) for name in trials["dataset"].unique()}
    cells = cell_stats(trials, history, specs)
    datasets = dataset_labels(cells)
    traits = dataset_traits(cells, datasets, specs, ok.groupby("dataset")["train_images"].median())
    splits = trait_splits(traits)
    common = common_datasets(cells, datasets)
    best = best_per_dataset(cells, datasets, ok)
    sharing = _sharing(ok[ok["train_seconds"].notna()])
    return Analysis(
        sweep=chosen, sweeps=sweeps, chosen_by=chosen_by, statuses=statuses, cells=cells,
        collapses=collapses(trials), study_collapses=study_collapses(cells),
        curves=accuracy_curves(history, ok, datasets), datasets=datasets, best=best, traits=traits,
        splits=splits, trait_ranks=mean_rank_by_group(cells, datasets, splits),
        overall=overall_stats(cells, best["winners"], common), common=common,
        shared_devices=int(sharing.max()) if len(sharing) else None, shared_trials=int((sharing > 1).sum()),
    )


def select_sweep(trials: pd.DataFrame, sweep: str | None) -> tuple[str, str]:
    """The sweep to summarize and how it was chosen: "name", "only" or "latest"."""
    sweeps = sorted(trials["sweep"].unique())
    if sweep is not None:
        if sweep not in sweeps:
            raise ReportError(f"no sweep {sweep!r} in the results; sweeps: {', '.join(sweeps)}")
        return sweep, "name"
    if len(sweeps) == 1:
        return sweeps[0], "only"
    last_end = trials.groupby("sweep")["ended_at"].max().reindex(sweeps)
    return last_end.sort_values(na_position="first", kind="stable").index[-1], "latest"


def status_counts(trials: pd.DataFrame) -> pd.Series:
    """Status -> trials, the known STATUSES first (in their order), any other status after them by name."""
    counts = trials["status"].value_counts()
    return counts.reindex(_statuses(counts.index)).astype(int)


def _statuses(present: Iterable[str]) -> list[str]:
    present = set(present)
    return [s for s in STATUSES if s in present] + sorted(present - set(STATUSES))


def _sharing(timed: pd.DataFrame) -> pd.Series:
    """The recorded ``trials_sharing_device`` of the timed trials (older schemas have none)."""
    if SHARING_COLUMN not in timed:
        return pd.Series(dtype=float)
    return pd.to_numeric(timed[SHARING_COLUMN], errors="coerce").dropna()


# --- cells ---------------------------------------------------------------------------------------

def _spec(name: str) -> DatasetSpec | None:
    try:
        return data.spec(name)
    except ValueError:  # results may name a dataset this version of archbench does not know
        return None


def study_name(dataset: str) -> str:
    """The study's name for ``dataset``: a synthetic twin is compared with its real dataset."""
    return dataset.removeprefix(SYNTHETIC_PREFIX)


def dataset_label(name: str, spec: DatasetSpec | None, synthetic: bool) -> str:
    """The dataset's title; a synthetic run never reads as a real one, whatever the title says."""
    title = spec.title if spec is not None else name
    if synthetic and "synthetic" not in title.lower():
        title += " (synthetic)"
    return title


def _dataset_key(dataset: str) -> tuple[int, bool, str]:
    registered = data.names()
    base = study_name(dataset)
    position = registered.index(base) if base in registered else len(registered)
    return position, dataset != base, dataset


def display_order(cells: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(arch, dataset) pairs: archs in registry order (then others by name), datasets in registry order."""
    registered = archs.names()

    def key(cell: tuple[str, str]) -> tuple:
        arch, dataset = cell
        return registered.index(arch) if arch in registered else len(registered), arch, _dataset_key(dataset)

    return sorted(cells, key=key)


def cell_stats(trials: pd.DataFrame, history: pd.DataFrame,
               specs: Mapping[str, DatasetSpec | None]) -> pd.DataFrame:
    """Per (arch, dataset), in display order:

    ``n`` seeds and ``n_<status>`` per status; of the ok seeds ``acc_mean``, ``acc_std`` (NaN for one
    seed), ``seconds`` (training), ``seconds_per_epoch``, ``images_per_sec``; the parameter counts;
    ``val_mean``, ``val_std`` and ``val_n`` (the ok seeds' validation accuracy after the last epoch, and
    how many had a validation split), ``best_epoch_min`` and ``best_epoch_max`` (their epochs of best
    validation accuracy); ``synthetic``, ``label``, ``rank``; the study's figures (``study_acc``, ``study_seconds``,
    ``study_params_*``) and ``study_collapse_class`` (the class whose constant prediction scores the
    study's accuracy, else NaN); ``seconds_to_study`` (mean over the ok seeds that reached the study's
    accuracy), ``seeds_reached`` of ``seeds_timed`` (ok seeds with a history).
    """
    keys = ["arch", "dataset"]
    counts = pd.crosstab([trials["arch"], trials["dataset"]], trials["status"])
    statuses = list(dict.fromkeys([*STATUSES, *_statuses(counts.columns)]))
    cells = counts.reindex(columns=statuses, fill_value=0).add_prefix("n_").rename_axis(columns=None)
    cells["n"] = cells.sum(axis=1)
    ok_trials = trials[trials["status"] == OK]
    ok = ok_trials.groupby(keys)
    cells["acc_mean"] = ok["test_acc"].mean()
    cells["acc_std"] = ok["test_acc"].std()  # sample std (ddof=1); NaN for one seed
    cells["val_mean"] = ok["val_acc"].mean()
    cells["val_std"] = ok["val_acc"].std()
    cells["val_n"] = ok["val_acc"].count()
    cells["best_epoch_min"] = ok["best_epoch"].min()
    cells["best_epoch_max"] = ok["best_epoch"].max()
    cells["seconds"] = ok["train_seconds"].mean()
    per_epoch = ok_trials["train_seconds"] / ok_trials["epochs_run"].where(ok_trials["epochs_run"] > 0)
    cells["seconds_per_epoch"] = per_epoch.groupby([ok_trials["arch"], ok_trials["dataset"]]).mean()
    cells["images_per_sec"] = ok["images_per_sec"].mean()
    # Every seed builds the same model, so any row that has the counts will do (failed rows may not).
    for column in PARAM_COLUMNS:
        cells[column] = trials.groupby(keys)[column].first()
    datasets = cells.index.get_level_values("dataset")
    named_synthetic = [name.startswith(SYNTHETIC_PREFIX) or bool(specs[name] and specs[name].synthetic)
                       for name in datasets]
    cells["synthetic"] = trials.groupby(keys)["synthetic"].any() | pd.Series(named_synthetic, index=cells.index)
    cells["label"] = [dataset_label(name, specs[name], synthetic)
                      for name, synthetic in zip(datasets, cells["synthetic"])]
    accuracy = cells.groupby(level="dataset")["acc_mean"]
    ranks = accuracy.rank(ascending=False, na_option="bottom")
    cells["rank"] = ranks.where(accuracy.transform("count") > 0)  # a dataset where nothing ran ok ranks nobody
    cells = with_study_figures(cells.reindex(display_order(cells.index)))
    return cells.join(_time_to_study(history, ok_trials, cells["study_acc"]))


def with_study_figures(cells: pd.DataFrame) -> pd.DataFrame:
    """``cells`` (indexed by arch, dataset) with the study's figures for each; NaN where it has none."""
    study_cells = [(arch, study_name(dataset)) for arch, dataset in cells.index]

    def lookup(figures: Mapping[tuple[str, str], object], field: str | None = None) -> list[float]:
        values = [figures.get(cell) for cell in study_cells]
        return [np.nan if v is None else float(getattr(v, field) if field else v) for v in values]

    cells = cells.copy()
    cells["study_acc"] = lookup(study.ACCURACY)
    cells["study_seconds"] = lookup(study.SECONDS)
    for column, field in PARAM_COLUMNS.items():
        cells[f"study_{column}"] = lookup(study.PARAMS, field)
    cells["study_collapse_class"] = [constant_prediction_class(dataset, figure)
                                     for (_, dataset), figure in zip(study_cells, cells["study_acc"])]
    return cells


def constant_prediction_class(dataset: str, accuracy: float) -> float:
    """The class k whose share of ``dataset``'s test set, rounded as ``accuracy`` is, equals ``accuracy``.

    That accuracy is what a model that always answers k scores: a collapsed run. NaN when no class
    matches or the test set's class counts are unknown.
    """
    spec = _spec(dataset)
    if pd.isna(accuracy) or spec is None or not spec.test_class_counts:
        return np.nan
    decimals = len(repr(float(accuracy)).partition(".")[2])   # the figure's own rounding: 0.067 -> 3
    counts = np.asarray(spec.test_class_counts, dtype=float)
    matches = np.flatnonzero(np.round(counts / counts.sum(), decimals) == round(accuracy, decimals))
    return float(matches[0]) if len(matches) == 1 else np.nan


def _time_to_study(history: pd.DataFrame, ok: pd.DataFrame, study_acc: pd.Series) -> pd.DataFrame:
    """Per cell: ``seconds_to_study``, ``seeds_reached`` and ``seeds_timed`` (see cell_stats)."""
    seeds = ["arch", "dataset", "seed"]
    epochs = history.merge(ok[seeds], on=seeds).sort_values([*seeds, "epoch"])
    epochs["elapsed"] = epochs.groupby(seeds)["epoch_seconds"].cumsum()
    epochs["target"] = [study_acc.get((arch, dataset), np.nan)
                        for arch, dataset in zip(epochs["arch"], epochs["dataset"])]
    reached = epochs[epochs["test_acc"] >= epochs["target"]].groupby(seeds)["elapsed"].first()
    per_seed = pd.DataFrame({"reached": reached}).reindex(epochs.groupby(seeds).size().index)
    by_cell = per_seed.groupby(level=["arch", "dataset"])["reached"]
    frame = pd.DataFrame({"seconds_to_study": by_cell.mean(), "seeds_reached": by_cell.count(),
                          "seeds_timed": by_cell.size()})
    frame = frame.reindex(study_acc.index)
    return frame.fillna({"seeds_reached": 0, "seeds_timed": 0}).astype({"seeds_reached": int, "seeds_timed": int})


def study_collapses(cells: pd.DataFrame) -> pd.DataFrame:
    """Per (arch, study dataset) of ``cells`` whose study accuracy is a constant prediction's: ``study_acc``,
    ``top_class``, ``class_images`` (that class's test images) and ``test_images``."""
    rows = []
    for (arch, dataset), row in cells[cells["study_collapse_class"].notna()].iterrows():
        counts = data.spec(study_name(dataset)).test_class_counts
        top = int(row["study_collapse_class"])
        rows.append((arch, study_name(dataset), row["study_acc"], top, counts[top], sum(counts)))
    columns = ["arch", "dataset", "study_acc", "top_class", "class_images", "test_images"]
    return pd.DataFrame(rows, columns=columns).drop_duplicates(["arch", "dataset"]).set_index(["arch", "dataset"])


def collapses(trials: pd.DataFrame) -> pd.DataFrame:
    """Per trial that is not ok and has a predicted-class histogram: its status, ``top_class`` (the class it
    predicted most) and that class's ``share`` of its test predictions."""
    columns = ["arch", "dataset", "seed", "status", "top_class", "share"]
    if HISTOGRAM_COLUMN not in trials:
        return pd.DataFrame(columns=columns)
    rows = []
    for row in trials[trials["status"] != OK].itertuples(index=False):
        histogram = getattr(row, HISTOGRAM_COLUMN)
        if np.ndim(histogram) == 0 or not np.sum(histogram):   # null, or no prediction counted
            continue
        counts = np.asarray(histogram, dtype=float)
        rows.append((row.arch, row.dataset, row.seed, row.status, int(counts.argmax()), counts.max() / counts.sum()))
    return pd.DataFrame(rows, columns=columns)


def dataset_labels(cells: pd.DataFrame) -> pd.Series:
    """Dataset name -> label, in display order."""
    by_dataset = cells["label"].droplevel("arch")
    by_dataset = by_dataset[~by_dataset.index.duplicated()]
    return by_dataset.reindex(sorted(by_dataset.index, key=_dataset_key))


def grid(cells: pd.DataFrame, values: pd.Series | str, datasets: pd.Series | None = None) -> pd.DataFrame:
    """A per-cell series (or a column of ``cells``) as an arch x dataset-label frame in display order."""
    series = cells[values] if isinstance(values, str) else values
    labels = dataset_labels(cells) if datasets is None else datasets
    arch_names = list(cells.index.unique("arch"))
    return (series.unstack("dataset").reindex(index=arch_names, columns=labels.index)
            .rename(columns=labels).rename_axis(index="arch", columns=None))


# --- parameter counts without training -----------------------------------------------------------

def parameter_counts(arch_names: Sequence[str] | None = None,
                     dataset_names: Sequence[str] | None = None) -> pd.DataFrame:
    """Per (arch, dataset): the parameter counts of a freshly built model, with the study's figures.

    Defaults to every registered architecture on every registered (real) dataset. The columns are
    those of ``cell_stats`` that Table 3 uses: ``params_*``, ``study_params_*``, ``label``, ``synthetic``.
    """
    rows = {}
    for arch in arch_names or archs.names():
        for dataset in dataset_names or data.names():
            spec = data.spec(dataset)
            counts = archs.count_params(archs.build(arch, spec.channels, spec.num_classes, spec.image_size))
            rows[(arch, dataset)] = {
                **{column: getattr(counts, field) for column, field in PARAM_COLUMNS.items()},
                "label": spec.title, "synthetic": spec.synthetic,
            }
    frame = pd.DataFrame.from_dict(rows, orient="index").rename_axis(["arch", "dataset"])
    frame = with_study_figures(frame.reindex(display_order(frame.index)))
    return frame[[*PARAM_COLUMNS, *(f"study_{c}" for c in PARAM_COLUMNS), "label", "synthetic"]]


# --- question 1: the best architecture per dataset -----------------------------------------------

def lead_test(best: Iterable[float], runner_up: Iterable[float]) -> LeadTest:
    """Whether the best cell's lead over the runner-up exceeds the spread over seeds (Welch t-test)."""
    best, runner_up = np.asarray(list(best), float), np.asarray(list(runner_up), float)
    if best.mean() == runner_up.mean():
        return LeadTest("tie")
    if min(len(best), len(runner_up)) < 2:
        return LeadTest("single seed")
    if np.ptp(best) == 0 and np.ptp(runner_up) == 0:  # the t statistic is undefined
        return LeadTest("identical seeds")
    return LeadTest("welch", float(stats.ttest_ind(best, runner_up, equal_var=False).pvalue))


def best_per_dataset(cells: pd.DataFrame, datasets: pd.Series, ok: pd.DataFrame) -> pd.DataFrame:
    """Per dataset: ``winners`` (every arch with the highest mean accuracy; none without an ok seed),
    ``best`` and ``runner_up`` (the two best archs, ties in display order; NaN where missing), their
    accuracies ``best_acc`` / ``runner_up_acc``, ``lead``, and ``test`` (a LeadTest; NaN without a runner-up)."""
    seeds = dict(list(ok.groupby(["arch", "dataset"])["test_acc"]))
    rows = {}
    for dataset in datasets.index:
        accuracy = cells["acc_mean"].xs(dataset, level="dataset").dropna()
        top = list(accuracy.sort_values(ascending=False, kind="stable").index[:2]) + [None, None]
        best, runner_up = top[:2]
        rows[dataset] = {
            "winners": tuple(accuracy.index[accuracy == accuracy.max()]),
            "best": best,
            "runner_up": runner_up,
            "best_acc": accuracy.get(best, np.nan),
            "runner_up_acc": accuracy.get(runner_up, np.nan),
            "lead": accuracy.get(best, np.nan) - accuracy.get(runner_up, np.nan),
            "test": lead_test(seeds[(best, dataset)], seeds[(runner_up, dataset)]) if runner_up else None,
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("dataset")


# --- question 2: dataset traits ------------------------------------------------------------------

def dataset_traits(cells: pd.DataFrame, datasets: pd.Series, specs: Mapping[str, DatasetSpec | None],
                   train_images: pd.Series) -> pd.DataFrame:
    """Per dataset (display order): the spec's traits, the images trained on, the difficulty proxy.

    The train size is what the ok trials trained on (median), not the dataset's full size: under
    --train-limit or --smoke every dataset may have trained on the same number of images.
    """
    has_proxy = DIFFICULTY_ARCH in cells.index.unique("arch")
    difficulty = cells["acc_mean"].xs(DIFFICULTY_ARCH, level="arch") if has_proxy else pd.Series(dtype=float)
    rows = {}
    for dataset in datasets.index:
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
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("dataset")


def ranks(cells: pd.DataFrame, datasets: pd.Series) -> pd.DataFrame:
    """Dataset name x arch ranks, in display order."""
    return cells["rank"].unstack("arch").reindex(index=datasets.index, columns=list(cells.index.unique("arch")))


def _median_split(values: pd.Series, high: str, low: str, spec: str) -> pd.Series:
    """Name each value's group '<high> ≥ median' or '<low> < median'; NaN stays NaN."""
    median = values.median()
    return values.map(lambda v: np.nan if pd.isna(v)
                      else f"{high} ≥ {median:{spec}}" if v >= median else f"{low} < {median:{spec}}")


def trait_splits(traits: pd.DataFrame) -> dict[str, pd.Series]:
    """Ways to split the datasets by one trait: trait -> group name per dataset; one-group splits are dropped."""
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


def mean_rank_by_group(cells: pd.DataFrame, datasets: pd.Series, splits: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Arch x trait group: each architecture's mean rank over the datasets in the group."""
    by_dataset = ranks(cells, datasets)
    columns = {group: by_dataset.loc[members.index].mean()
               for groups in splits.values() for group, members in groups.groupby(groups, sort=True)}
    return pd.DataFrame(columns, index=list(cells.index.unique("arch"))).rename_axis("arch")


def same_partitions(splits: Mapping[str, pd.Series]) -> list[list[str]]:
    """Groups of traits that divide the datasets identically (so their effects cannot be told apart)."""
    by_partition: dict[frozenset, list[str]] = {}
    for name, groups in splits.items():
        partition = frozenset(frozenset(members.index) for _, members in groups.groupby(groups))
        by_partition.setdefault(partition, []).append(name)
    return [names for names in by_partition.values() if len(names) > 1]


# --- question 3: across datasets -----------------------------------------------------------------

def common_datasets(cells: pd.DataFrame, datasets: pd.Series) -> list[str]:
    """The datasets (display order) on which every architecture has an ok seed."""
    accuracy = cells["acc_mean"].unstack("dataset").reindex(index=list(cells.index.unique("arch")),
                                                            columns=datasets.index)
    return list(accuracy.columns[accuracy.notna().all()])


def overall_stats(cells: pd.DataFrame, winners: Iterable[Sequence[str]], common: Sequence[str]) -> pd.DataFrame:
    """Per arch, best mean rank first: ``mean_rank`` (over every dataset), ``wins`` (a tie counts for each
    of the tied, ``winners`` being each dataset's) and of those ``shared_wins``, ``ok_datasets`` of
    ``datasets``, and ``mean_acc``, ``mean_seconds`` and ``acc_per_second`` over the ``common``
    datasets (NaN when there are none)."""
    by_arch = cells.groupby(level="arch", sort=False)
    winners = [tuple(group) for group in winners]
    wins = pd.Series([arch for tied in winners for arch in tied], dtype=object)
    shared = pd.Series([arch for tied in winners if len(tied) > 1 for arch in tied], dtype=object)
    on_common = cells[cells.index.get_level_values("dataset").isin(common)].groupby(level="arch", sort=False)
    names = list(cells.index.unique("arch"))
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
    return frame.sort_values("mean_rank", kind="stable").rename_axis("arch")


# --- curves --------------------------------------------------------------------------------------

def accuracy_curves(history: pd.DataFrame, ok: pd.DataFrame, datasets: pd.Series) -> pd.DataFrame:
    """Mean and std of the per-epoch test accuracy over the ok seeds of each cell, with the dataset label."""
    keys = ["sweep", "arch", "dataset", "seed"]
    ok_history = history.merge(ok[keys], on=keys)
    curves = ok_history.groupby(["arch", "dataset", "epoch"])["test_acc"].agg(["mean", "std"]).reset_index()
    curves["label"] = curves["dataset"].map(datasets)
    return curves
