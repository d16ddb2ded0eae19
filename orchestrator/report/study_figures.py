"""The study's figures beside each cell: its accuracy, seconds and parameter counts, the time our seeds
took to reach its accuracy, and the study's runs whose accuracy is a constant prediction's.

A synthetic dataset (``synthetic_mnist``, ...) is compared with the study's figures for the real
dataset of the same name. A cell the study has no figure for (another architecture or dataset) has
NaN study columns.

Time to the study's accuracy: per ok seed, the training seconds (the running sum of the history's
``epoch_seconds``) until the end of the first epoch whose accuracy reached the study's Table 4.1
figure for the cell and stayed at or above it at the next epoch (or was the last epoch). The
accuracy is the validation accuracy (the history's ``val_acc``) where the seed trained with a
validation split, else its test accuracy. The cell's figure is the mean over the seeds that reached
it. A study figure that is a constant prediction's accuracy (a collapsed run of the study) is no target.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from orchestrator import study
from orchestrator.report.cells import PARAM_COLUMNS, dataset_spec, real_dataset


def with_study_figures(cells: pd.DataFrame) -> pd.DataFrame:
    """``cells`` (indexed by arch, dataset) with the study's ``study_acc``, ``study_seconds`` and
    ``study_params_*``, and ``study_collapse_class`` (the class whose constant prediction scores the study's
    accuracy, else NaN)."""
    study_cells = [(arch, real_dataset(dataset)) for arch, dataset in cells.index]

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
    spec = dataset_spec(dataset)
    if pd.isna(accuracy) or spec is None or not spec.test_class_counts:
        return np.nan
    decimals = len(repr(float(accuracy)).partition(".")[2])   # the figure's own rounding: 0.067 -> 3
    counts = np.asarray(spec.test_class_counts, dtype=float)
    matches = np.flatnonzero(np.round(counts / counts.sum(), decimals) == round(accuracy, decimals))
    return float(matches[0]) if len(matches) == 1 else np.nan


def time_to_study(history: pd.DataFrame, ok: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """Per cell of ``cells`` (with ``study_acc`` and ``study_collapse_class``): ``seconds_to_study`` (the mean
    over the ok seeds that reached the study's accuracy, see the module docstring), ``seeds_reached`` of
    ``seeds_timed`` (the ok seeds with a history) and ``seeds_on_test`` (timed on test accuracy: no split)."""
    seeds = ["arch", "dataset", "seed", "attempt"]
    targets = cells["study_acc"].where(cells["study_collapse_class"].isna())
    epochs = history.merge(ok[seeds], on=seeds).sort_values([*seeds, "epoch"])
    by_seed = epochs.groupby(seeds)
    epochs["elapsed"] = by_seed["epoch_seconds"].cumsum()
    epochs["on_val"] = epochs["val_acc"].notna().groupby([epochs[c] for c in seeds]).transform("all")
    accuracy = epochs["val_acc"].where(epochs["on_val"], epochs["test_acc"])
    target = targets.reindex(pd.MultiIndex.from_arrays([epochs["arch"], epochs["dataset"]])).to_numpy()
    epochs["at_target"] = accuracy >= target
    after = epochs.groupby(seeds)["at_target"].shift(-1)
    held = epochs["at_target"] & (after.isna() | (after == True))   # noqa: E712 (NaN: the last epoch)
    reached = epochs[held].groupby(seeds)["elapsed"].first()
    per_seed = pd.DataFrame({"reached": reached}).reindex(by_seed.size().index)
    per_seed["on_test"] = ~epochs.groupby(seeds)["on_val"].first()
    by_cell = per_seed.groupby(level=["arch", "dataset"])
    frame = pd.DataFrame({"seconds_to_study": by_cell["reached"].mean(), "seeds_reached": by_cell["reached"].count(),
                          "seeds_timed": by_cell.size(), "seeds_on_test": by_cell["on_test"].sum()})
    counts = {"seeds_reached": 0, "seeds_timed": 0, "seeds_on_test": 0}
    return frame.reindex(cells.index).fillna(counts).astype({name: int for name in counts})


def study_collapses(cells: pd.DataFrame) -> pd.DataFrame:
    """Per (arch, study dataset) of ``cells`` whose study accuracy is a constant prediction's: ``study_acc``,
    ``top_class``, ``class_images`` (that class's test images) and ``test_images``."""
    rows = []
    for (arch, dataset), row in cells[cells["study_collapse_class"].notna()].iterrows():
        counts = dataset_spec(real_dataset(dataset)).test_class_counts
        top = int(row["study_collapse_class"])
        rows.append((arch, real_dataset(dataset), row["study_acc"], top, counts[top], sum(counts)))
    columns = ["arch", "dataset", "study_acc", "top_class", "class_images", "test_images"]
    return pd.DataFrame(rows, columns=columns).drop_duplicates(["arch", "dataset"]).set_index(["arch", "dataset"])
