"""Per-cell statistics: a cell is one (arch, dataset), its seeds are its trials, one attempt each.

The seeds are ``report.attempts.choose_attempts``' rows: a seed's latest result (ok, diverged or
collapsed), else its latest failed attempt. Accuracy is the final ``test_acc`` of the ok seeds: the
mean, with the sample standard deviation (ddof=1). A seed of any other status (diverged, collapsed,
failed, or one a later archbench adds) contributes no number; the cell counts its seeds per status.

A cell is *unstable* when any result on record for it collapsed or diverged: a seed's shown result,
or an earlier one that a re-training (``--force``) replaced, so a collapse is never washed out. It is
*flagged* when an ok seed never predicted some class (``unpredicted_classes``) and *re-trained* when a
seed's result replaced an earlier collapse or divergence. Ranks order the architectures with an ok
seed on each dataset (1 = best, ties share the average rank): first the stable cells by mean accuracy,
then the unstable ones by the mean of their ok seeds. A cell without an ok seed has no rank (missing
is not worse: it is left out, not put last). So an unstable cell never ranks above a stable one on its
surviving seeds alone.

Display order: architectures as registered (then others by name), datasets as registered, each
synthetic twin after its real dataset, then datasets this archbench does not know, by name.
"""

from __future__ import annotations

from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

import archs
from orchestrator import data
from orchestrator.data.specs import SYNTHETIC_PREFIX, DatasetSpec
from orchestrator.trial import STATUSES

OK = "ok"
PARAM_COLUMNS = {  # trials column -> field of study.StudyParams (and archs.ParamCounts)
    "params_total": "total",
    "params_trainable": "trainable",
    "params_non_trainable": "non_trainable",
}
# Predicted-class counts, in the order a collapse is described from: the validation split's, else the last training
# epoch's (where collapse is judged without a validation split), else the test set's (older rows judged it there);
# absent or null in older schemas.
HISTOGRAM_COLUMNS = ("val_pred_histogram", "train_pred_histogram", "pred_histogram")
UNPREDICTED_COLUMN = "unpredicted_classes"
EARLIER_COLUMN = "earlier_results"           # added by choose_attempts
UNSTABLE_STATUSES = ("collapsed", "diverged")
STABLE, UNSTABLE, NO_OK_SEED = 0, 1, 2       # rank tiers


def dataset_spec(name: str) -> DatasetSpec | None:
    """The spec of ``name``; None for a dataset this version of archbench does not know (results may name one)."""
    try:
        return data.spec(name)
    except ValueError:
        return None


def real_dataset(dataset: str) -> str:
    """The real dataset a synthetic twin stands in for; any other dataset is its own."""
    return dataset.removeprefix(SYNTHETIC_PREFIX)


def ordered_statuses(present: Iterable[str]) -> list[str]:
    """The known STATUSES present (in their order), then any other status by name."""
    present = set(present)
    return [s for s in STATUSES if s in present] + sorted(present - set(STATUSES))


def dataset_key(dataset: str) -> tuple[int, bool, str]:
    """Sort key of a dataset in display order."""
    registered = data.names()
    base = real_dataset(dataset)
    position = registered.index(base) if base in registered else len(registered)
    return position, dataset != base, dataset


def display_order(cells: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(arch, dataset) pairs in display order."""
    registered = archs.names()

    def key(cell: tuple[str, str]) -> tuple:
        arch, dataset = cell
        return registered.index(arch) if arch in registered else len(registered), arch, dataset_key(dataset)

    return sorted(cells, key=key)


def datasets_in_order(cells: pd.DataFrame) -> list[str]:
    """The datasets of ``cells`` (indexed by arch, dataset) in display order."""
    return sorted(cells.index.unique("dataset"), key=dataset_key)


def cell_stats(trials: pd.DataFrame, specs: Mapping[str, DatasetSpec | None]) -> pd.DataFrame:
    """Per (arch, dataset), in display order:

    ``n`` seeds and ``n_<status>`` per status; of the ok seeds ``acc_mean``, ``acc_std`` (NaN for one
    seed), ``seconds`` (training), ``seconds_per_epoch``, ``images_per_sec``; the parameter counts;
    ``val_mean``, ``val_std`` and ``val_n`` (the ok seeds' validation accuracy after the last epoch, and
    how many had a validation split), ``best_epoch_min`` and ``best_epoch_max`` (their epochs of best
    validation accuracy); ``synthetic`` (a trial says so, or the dataset is a synthetic one); ``unstable``,
    ``unpredicted`` and ``retrained`` (see the module docstring), ``tier`` (STABLE, UNSTABLE or NO_OK_SEED)
    and ``rank``. ``trials`` holds one row per seed; ``specs`` maps each dataset to its spec (None where unknown).
    """
    keys = ["arch", "dataset"]
    counts = pd.crosstab([trials["arch"], trials["dataset"]], trials["status"])
    statuses = list(dict.fromkeys([*STATUSES, *ordered_statuses(counts.columns)]))
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
    cells["unpredicted"] = _any_per_cell(ok_trials, UNPREDICTED_COLUMN, lambda v: np.size(v) > 0, cells.index)
    cells["retrained"] = _any_per_cell(trials, EARLIER_COLUMN,
                                       lambda v: any(s in UNSTABLE_STATUSES for s in v), cells.index)
    cells["unstable"] = (cells[[f"n_{status}" for status in UNSTABLE_STATUSES]].sum(axis=1) > 0) | cells["retrained"]
    cells["tier"] = np.where(cells["acc_mean"].isna(), NO_OK_SEED, np.where(cells["unstable"], UNSTABLE, STABLE))
    # tiers first, then accuracy within a tier; a cell without an ok seed is not ranked
    order_key = (cells["tier"] * 10 + (1 - cells["acc_mean"])).where(cells["tier"] != NO_OK_SEED)
    cells["rank"] = order_key.groupby(level="dataset").rank(method="average")
    return cells.reindex(display_order(cells.index))


def _any_per_cell(trials: pd.DataFrame, column: str, test: Callable[[object], bool],
                  index: pd.Index) -> pd.Series:
    """Per (arch, dataset) of ``index``: whether ``test`` holds for a list value of ``column`` in any of its rows
    (False where the column is absent)."""
    if column not in trials or trials.empty:
        return pd.Series(False, index=index)
    hits = [np.ndim(value) > 0 and bool(test(value)) for value in trials[column]]   # null: no
    found = pd.Series(hits, index=pd.MultiIndex.from_frame(trials[["arch", "dataset"]]), dtype=bool)
    return found.groupby(level=["arch", "dataset"]).any().reindex(index, fill_value=False)


def collapses(trials: pd.DataFrame) -> pd.DataFrame:
    """Per trial that is not ok and has a predicted-class histogram: its status, ``top_class`` (the class it
    predicted most) and that class's ``share`` of its predictions (see HISTOGRAM_COLUMNS)."""
    columns = ["arch", "dataset", "seed", "status", "top_class", "share"]
    present = [column for column in HISTOGRAM_COLUMNS if column in trials]
    rows = []
    for row in trials[trials["status"] != OK].to_dict("records"):
        histogram = next((row[c] for c in present if np.ndim(row[c]) and np.sum(row[c])), None)
        if histogram is None:   # null, or no prediction counted
            continue
        counts = np.asarray(histogram, dtype=float)
        rows.append((row["arch"], row["dataset"], row["seed"], row["status"], int(counts.argmax()),
                     counts.max() / counts.sum()))
    return pd.DataFrame(rows, columns=columns)


def accuracy_curves(history: pd.DataFrame, ok: pd.DataFrame) -> pd.DataFrame:
    """Per (arch, dataset, epoch): ``mean`` and ``std`` of the test accuracy of the cell's ok seeds (the chosen
    attempt's epochs)."""
    keys = ["sweep", "arch", "dataset", "seed", "attempt"]
    ok_history = history.merge(ok[keys], on=keys)
    return ok_history.groupby(["arch", "dataset", "epoch"])["test_acc"].agg(["mean", "std"]).reset_index()
