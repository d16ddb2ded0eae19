"""The names a reader sees: datasets by their titles, the study's datasets, groups of datasets that share a trait,
and the arch x dataset grid every table and figure is laid out on."""

from __future__ import annotations

from typing import Iterable

import pandas as pd

from orchestrator.report.cells import dataset_spec, datasets_in_order
from orchestrator.report.questions import CLASSES, DIFFICULTY, DIFFICULTY_ARCH, IMAGE_FORMAT, TRAIN_SIZE, TraitGroup

MEDIAN_SPLIT_WORDS = {  # trait -> (group at or above the median, group below, the median's format)
    TRAIN_SIZE: ("train", "train", ",.0f"),
    DIFFICULTY: (f"easier: {DIFFICULTY_ARCH} acc", f"harder: {DIFFICULTY_ARCH} acc", ".3f"),
}


def dataset_label(name: str, synthetic: bool) -> str:
    """The dataset's title (its name where archbench does not know it); a synthetic run never reads as a real one,
    whatever the title says."""
    spec = dataset_spec(name)
    title = spec.title if spec is not None else name
    if synthetic and "synthetic" not in title.lower():
        title += " (synthetic)"
    return title


def dataset_labels(cells: pd.DataFrame) -> pd.Series:
    """Dataset name -> label, in display order, for ``cells`` indexed (arch, dataset) with a ``synthetic`` column
    (a dataset's first cell decides)."""
    synthetic = cells["synthetic"].droplevel("arch")
    synthetic = synthetic[~synthetic.index.duplicated()]
    return pd.Series({name: dataset_label(name, bool(synthetic[name])) for name in datasets_in_order(cells)},
                     dtype=object)


def study_dataset_title(dataset: str) -> str:
    """The study dataset's title ("SVHN"), or its name where this archbench does not know it."""
    return dataset_label(dataset, synthetic=False)


def grid(cells: pd.DataFrame, values: pd.Series | str) -> pd.DataFrame:
    """A per-cell series (or a column of ``cells``) as an arch x dataset-label frame in display order."""
    series = cells[values] if isinstance(values, str) else values
    labels = dataset_labels(cells)
    arch_names = list(cells.index.unique("arch"))
    return (series.unstack("dataset").reindex(index=arch_names, columns=labels.index)
            .rename(columns=labels).rename_axis(index="arch", columns=None))


def trait_group_label(group: TraitGroup) -> str:
    """E.g. '1ch 28px', '10 classes', 'train ≥ 60,000', 'harder: lenet5 acc < 0.800'."""
    if group.trait == IMAGE_FORMAT:
        channels, image_size = group.values
        return f"{channels:.0f}ch {image_size:.0f}px"
    if group.trait == CLASSES:
        return f"{group.values[0]:.0f} classes"
    high, low, spec = MEDIAN_SPLIT_WORDS[group.trait]
    median = group.values[0]
    return f"{high} ≥ {median:{spec}}" if group.above else f"{low} < {median:{spec}}"


def in_label_order(groups: Iterable[TraitGroup]) -> list[TraitGroup]:
    """``groups`` with each trait's groups together, traits in the order they first come, each trait's by label."""
    groups = list(groups)
    traits = list(dict.fromkeys(group.trait for group in groups))
    return sorted(groups, key=lambda group: (traits.index(group.trait), trait_group_label(group)))
