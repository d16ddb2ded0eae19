"""The numbers behind the study's three questions: the best architecture per dataset, how the ranks
move with the datasets' traits, and the architectures compared across datasets.

Question 1 names a best architecture on a dataset only where ``report.significance`` separates the
first stable cell from every other cell with a score there (``report.analysis``: an unstable cell's
collapsed seeds count as what they scored), the tests of every dataset forming one Holm family; an
unstable cell is never first (see ``report.cells``). Separated from every other stable cell but not
from some unstable one, it is the *best stable* architecture, and said so.

Question 3's mean accuracy, mean seconds per epoch and accuracy per second of an epoch are taken over
the common datasets only, those where every architecture has a stable cell with an ok seed, so that
one failing on a hard dataset is not flattered by its easy ones and no collapse is survived by its
other seeds. Seconds per epoch, not per run: the recipes train different numbers of epochs. Mean
ranks are over the datasets where the architecture has a rank (an ok seed), never counting a missing
cell as last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

import archs
from orchestrator.data.specs import DatasetSpec
from orchestrator.report.cells import NO_OK_SEED, STABLE, real_dataset
from orchestrator.report.significance import compare, holm

DIFFICULTY_ARCH = "lenet5"       # its accuracy on a dataset is the difficulty proxy
IMAGE_FORMAT, CLASSES, TRAIN_SIZE, DIFFICULTY = "image format", "classes", "train size", "difficulty"
MEDIAN_SPLITS = {TRAIN_SIZE: "train_size", DIFFICULTY: "difficulty"}   # trait -> column of dataset_traits


# --- question 1: the best architecture per dataset -----------------------------------------------

def best_per_dataset(cells: pd.DataFrame, datasets: Sequence[str], seeds: pd.DataFrame) -> pd.DataFrame:
    """Per dataset: ``order`` (the archs with an ok seed, by rank: see ``report.cells``), ``candidate`` (the first
    of them if its cell is stable, else ''), ``comparisons`` (Comparisons of the candidate's scores with those of
    every other cell with a score, stable ones first, Holm-corrected over every dataset's tests), ``unstable``
    (the archs compared whose cells are unstable), ``winner`` (the candidate where each comparison separates it,
    else '') and ``best_stable`` (the candidate where it is separated from every other stable cell but not from
    every unstable one, else '').

    A candidate with no other cell to compare with is no winner: nothing was tested.
    """
    scored = seeds.dropna(subset=["score"])
    scores = dict(list(scored.groupby(["arch", "dataset"])["score"]))
    rows = {}
    for dataset in datasets:
        cell = cells.xs(dataset, level="dataset")
        ranked = cell[cell["tier"] != NO_OK_SEED].sort_values("rank", kind="stable")
        order = tuple(ranked.index)
        candidate = order[0] if order and ranked["tier"].iloc[0] == STABLE else ""
        with_score = [arch for arch in cell.index if (arch, dataset) in scores and arch != candidate]
        stable = [arch for arch in with_score if cell.loc[arch, "tier"] == STABLE]
        unstable = [arch for arch in with_score if cell.loc[arch, "tier"] != STABLE]
        others = sorted(stable, key=order.index) + unstable if candidate else []
        rows[dataset] = {"order": order, "candidate": candidate, "unstable": tuple(unstable) if candidate else (),
                         "comparisons": [compare(candidate, scores[(candidate, dataset)], arch, scores[(arch, dataset)])
                                         for arch in others]}
    flat = holm([c for row in rows.values() for c in row["comparisons"]])
    for row in rows.values():
        row["comparisons"], flat = tuple(flat[:len(row["comparisons"])]), flat[len(row["comparisons"]):]
        above = [c.separates and c.higher == row["candidate"] for c in row["comparisons"]]
        # the candidate is stable, so a comparison with a stable cell is one whose other side is not unstable
        above_stable = [a for a, c in zip(above, row["comparisons"])
                        if c.lower not in row["unstable"] and c.higher not in row["unstable"]]
        row["winner"] = row["candidate"] if above and all(above) else ""
        row["best_stable"] = row["candidate"] if not row["winner"] and above_stable and all(above_stable) else ""
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("dataset")


def tests_made(best: pd.DataFrame) -> int:
    """How many Welch tests question 1 made: the size of its Holm family."""
    return sum(c.tested for comparisons in best["comparisons"] for c in comparisons)


def tuned_cells(cells: pd.DataFrame) -> list[tuple[str, str]]:
    """The (arch, dataset) cells whose recipe was tuned for that dataset: an augmentation of its own there, kept after
    a check on that dataset (a dataset's own epoch count only shortens a run that a longer one did not beat)."""
    tuned = []
    for arch, dataset in cells.index:
        try:
            recipe = archs.entry(arch).recipe
        except ValueError:   # an architecture this archbench does not know
            continue
        base = real_dataset(dataset)
        if base in recipe.dataset_augment:
            tuned.append((arch, dataset))
    return tuned


# --- question 2: dataset traits ------------------------------------------------------------------

@dataclass(frozen=True)
class TraitGroup:
    """One group of datasets in a split by ``trait``.

    ``values`` is what its datasets share: channels and image size (IMAGE_FORMAT), the number of
    classes (CLASSES); in a median split (MEDIAN_SPLITS) the median, with ``above`` saying whether the
    group's datasets are at or above it.
    """

    trait: str
    values: tuple[float, ...]
    above: bool | None = None


def dataset_traits(cells: pd.DataFrame, datasets: Sequence[str], specs: Mapping[str, DatasetSpec | None],
                   train_images: pd.Series) -> pd.DataFrame:
    """Per dataset (display order): the spec's traits, the images trained on, the difficulty proxy.

    The train size is what the ok trials trained on (median), not the dataset's full size: under
    --train-limit or --smoke every dataset may have trained on the same number of images.
    """
    has_proxy = DIFFICULTY_ARCH in cells.index.unique("arch")
    difficulty = cells["acc_mean"].xs(DIFFICULTY_ARCH, level="arch") if has_proxy else pd.Series(dtype=float)
    rows = {}
    for dataset in datasets:
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


def ranks(cells: pd.DataFrame, datasets: Sequence[str]) -> pd.DataFrame:
    """Dataset name x arch ranks, in display order."""
    return cells["rank"].unstack("arch").reindex(index=list(datasets), columns=list(cells.index.unique("arch")))


def _groups(traits: pd.DataFrame, trait: str, columns: Sequence[str]) -> pd.Series:
    """Per dataset: the TraitGroup of the datasets that share its ``columns``; NaN where one is unknown."""
    rows = traits[list(columns)]
    return pd.Series([np.nan if row.isna().any() else TraitGroup(trait, tuple(row)) for _, row in rows.iterrows()],
                     index=traits.index, dtype=object)


def _median_split(traits: pd.DataFrame, trait: str) -> pd.Series:
    """Per dataset: the TraitGroup at or above the median of the trait's column, or the one below; NaN stays NaN."""
    values = traits[MEDIAN_SPLITS[trait]]
    median = values.median()
    return pd.Series([np.nan if pd.isna(v) else TraitGroup(trait, (median,), v >= median) for v in values],
                     index=traits.index, dtype=object)


def trait_splits(traits: pd.DataFrame) -> dict[str, pd.Series]:
    """Ways to split the datasets by one trait: trait -> TraitGroup per dataset; one-group splits are dropped."""
    splits = {
        IMAGE_FORMAT: _groups(traits, IMAGE_FORMAT, ["channels", "image_size"]),
        CLASSES: _groups(traits, CLASSES, ["classes"]),
        **{trait: _median_split(traits, trait) for trait in MEDIAN_SPLITS},
    }
    return {name: groups for name, groups in splits.items() if groups.dropna().nunique() > 1}


def mean_rank_by_group(cells: pd.DataFrame, datasets: Sequence[str],
                       splits: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Arch x TraitGroup: each architecture's mean rank over the datasets in the group."""
    by_dataset = ranks(cells, datasets)
    columns = {group: by_dataset.loc[members.index].mean()
               for groups in splits.values() for group, members in groups.groupby(groups, sort=False)}
    return pd.DataFrame(columns, index=list(cells.index.unique("arch"))).rename_axis("arch")


def same_partitions(splits: Mapping[str, pd.Series]) -> list[list[str]]:
    """Groups of traits that divide the datasets identically (so their effects cannot be told apart)."""
    by_partition: dict[frozenset, list[str]] = {}
    for name, groups in splits.items():
        partition = frozenset(frozenset(members.index) for _, members in groups.groupby(groups, sort=False))
        by_partition.setdefault(partition, []).append(name)
    return [names for names in by_partition.values() if len(names) > 1]


# --- question 3: across datasets -----------------------------------------------------------------

def common_datasets(cells: pd.DataFrame, datasets: Sequence[str]) -> list[str]:
    """The datasets (display order) on which every architecture has a stable cell with an ok seed."""
    stable = cells["acc_mean"].where(cells["tier"] == STABLE)
    accuracy = stable.unstack("dataset").reindex(index=list(cells.index.unique("arch")), columns=list(datasets))
    return list(accuracy.columns[accuracy.notna().all()])


def unranked_cells(cells: pd.DataFrame) -> list[tuple[str, str]]:
    """The (arch, dataset) cells on record without a rank (no ok seed), in display order."""
    return list(cells.index[cells["rank"].isna()])


def overall_stats(cells: pd.DataFrame, winners: Iterable[str], common: Sequence[str]) -> pd.DataFrame:
    """Per arch, best mean rank first: ``mean_rank`` (over the datasets where it has a rank), ``ranked`` (how
    many those are), ``wins`` (datasets where it is question 1's winner, ``winners`` being each dataset's or
    ''), ``unstable`` (datasets where its cell is unstable), ``ok_datasets`` of ``datasets``, and ``mean_acc``,
    ``mean_seconds`` (per epoch) and ``acc_per_second`` (mean accuracy over mean seconds per epoch) over the
    ``common`` datasets (NaN when there are none)."""
    by_arch = cells.groupby(level="arch", sort=False)
    wins = pd.Series([arch for arch in winners if arch], dtype=object)
    on_common = cells[cells.index.get_level_values("dataset").isin(common)].groupby(level="arch", sort=False)
    names = list(cells.index.unique("arch"))
    frame = pd.DataFrame({
        "mean_rank": by_arch["rank"].mean(),
        "ranked": by_arch["rank"].count(),
        "wins": wins.value_counts().reindex(names, fill_value=0),
        "unstable": by_arch["unstable"].sum(),
        "ok_datasets": by_arch["n_ok"].agg(lambda n: (n > 0).sum()),
        "datasets": by_arch.size(),
        "mean_acc": on_common["acc_mean"].mean().reindex(names),
        "mean_seconds": on_common["seconds_per_epoch"].mean().reindex(names),
    })
    frame["acc_per_second"] = frame["mean_acc"] / frame["mean_seconds"]
    return frame.sort_values("mean_rank", kind="stable").rename_axis("arch")
