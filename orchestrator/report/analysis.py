"""One sweep in numbers: which sweep, its statuses, its cells beside the study's figures, and the
numbers behind the three questions, gathered in one ``Analysis``.

Everything here is a number or a name, never text for a reader: ``report.labels``, ``report.tables``
and ``report.answers`` put it into words, ``orchestrator.plots`` into figures. ``report.cells``,
``report.study_figures`` and ``report.questions`` say how each number is computed.

Which sweep: ``sweep=NAME`` uses that sweep. Without it, results holding one sweep use it; results
holding several use the one whose last trial ended most recently (a sweep without end times counts
as oldest).

Which attempt: every table uses one attempt per seed, the one ``report.attempts.choose_attempts``
chooses (the seed's latest result, ok, diverged or collapsed, else its latest failed attempt); its
epochs are the history rows of that attempt. Every result on record still counts for stability (see
``report.cells``).

One setup a cell: a table never mixes budgets, so the results (ok, diverged or collapsed) of one cell
must all have been trained with one setup (every ``TrialSetup`` column but the seed); ``analyze``
refuses a sweep whose rows do not, naming the cell and the column.

A seed's *score* is what its model scored on the test set: an ok seed's ``test_acc``, a collapsed
seed's test accuracy after its last epoch (what a collapse costs); a diverged or failed seed scores
nothing. Question 1 compares scores, so that an unstable cell's collapsed seeds count as what they scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from orchestrator.columns import columns_of
from orchestrator.errors import ArchbenchError
from orchestrator.report import cells as per_cell
from orchestrator.report import questions, study_figures
from orchestrator.report.attempts import choose_attempts
from orchestrator.report.cells import OK, UNSTABLE_STATUSES
from orchestrator.results import ATTEMPT_KEY, RESULTS
from orchestrator.trial import TrialSetup

SHARING_COLUMN = "trials_sharing_device"   # absent or null in rows of older schemas


class ReportError(ArchbenchError, ValueError):
    """The results cannot be summarized or reported; the message is one line meant for the user."""


@dataclass(frozen=True)
class Analysis:
    """One sweep in numbers. Frames are in display order (see ``report.cells``)."""

    sweep: str
    sweeps: tuple[str, ...]          # every sweep in the results
    chosen_by: str                   # "name" (asked for), "only" or "latest"
    statuses: pd.Series              # status -> seeds of this sweep (their chosen attempts), STATUSES first
    attempts: int                    # attempts on record for this sweep's seeds
    seeds: pd.DataFrame              # one row per seed: its chosen attempt (see choose_attempts)
    retrained: pd.DataFrame          # seeds whose result replaced a collapse or divergence; see retrained_seeds
    cells: pd.DataFrame              # per (arch, dataset); see cells.cell_stats and study_figures
    collapses: pd.DataFrame          # per trial not ok with a predicted-class histogram; see cells.collapses
    study_collapses: pd.DataFrame    # the study's figures that a constant prediction scores
    curves: pd.DataFrame             # arch, dataset, epoch, mean, std of the ok seeds' test accuracy
    datasets: list[str]              # dataset names
    best: pd.DataFrame               # per dataset; see questions.best_per_dataset
    tests: int                       # Welch tests question 1 made (its Holm family)
    traits: pd.DataFrame             # per dataset; see questions.dataset_traits
    splits: dict[str, pd.Series]     # trait -> TraitGroup per dataset; see questions.trait_splits
    trait_ranks: pd.DataFrame        # arch x TraitGroup: mean rank
    overall: pd.DataFrame            # per arch, best mean rank first; see questions.overall_stats
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
    attempts = trials[trials["sweep"] == chosen]
    check_one_setup(attempts, chosen)
    history = history[history["sweep"] == chosen]
    trials = with_scores(choose_attempts(attempts), history)
    statuses = status_counts(trials)
    ok = trials[trials["status"] == OK]
    if ok.empty:
        counts = ", ".join(f"{n} {status}" for status, n in statuses.items())
        raise ReportError(f"sweep {chosen!r} has no ok trials ({len(trials)} seeds: {counts}): nothing to summarize")
    specs = {name: per_cell.dataset_spec(name) for name in trials["dataset"].unique()}
    cells = study_figures.with_study_figures(per_cell.cell_stats(trials, specs))
    cells = cells.join(study_figures.time_to_study(history, ok, cells))
    datasets = per_cell.datasets_in_order(cells)
    traits = questions.dataset_traits(cells, datasets, specs, ok.groupby("dataset")["train_images"].median())
    splits = questions.trait_splits(traits)
    common = questions.common_datasets(cells, datasets)
    best = questions.best_per_dataset(cells, datasets, trials)
    sharing = _sharing(ok[ok["train_seconds"].notna()])
    return Analysis(
        sweep=chosen, sweeps=sweeps, chosen_by=chosen_by, statuses=statuses, attempts=len(attempts), seeds=trials,
        retrained=retrained_seeds(trials), cells=cells,
        collapses=per_cell.collapses(trials), study_collapses=study_figures.study_collapses(cells),
        curves=per_cell.accuracy_curves(history, ok), datasets=datasets, best=best, tests=questions.tests_made(best),
        traits=traits, splits=splits, trait_ranks=questions.mean_rank_by_group(cells, datasets, splits),
        overall=questions.overall_stats(cells, best["winner"], common), common=common,
        shared_devices=int(sharing.max()) if len(sharing) else None, shared_trials=int((sharing > 1).sum()),
    )


SETUP_COLUMNS = tuple(c.name for c in columns_of(TrialSetup, "setup") if c.group != "key")


def check_one_setup(attempts: pd.DataFrame, sweep: str) -> None:
    """ReportError naming the first cell of ``sweep`` whose results were trained with more than one setup."""
    results = attempts[attempts["status"].isin(RESULTS)]
    for column in (c for c in SETUP_COLUMNS if c in results):
        values = results.dropna(subset=[column]).groupby(["arch", "dataset"])[column].unique()
        mixed = values[values.map(len) > 1]
        if len(mixed):
            (arch, dataset), found = mixed.index[0], sorted(mixed.iloc[0], key=str)
            raise ReportError(f"sweep {sweep!r} holds results of {arch} on {dataset} trained with different "
                              f"{column.replace('_', ' ')} ({', '.join(map(str, found))}); a table never mixes "
                              "setups: train the cell again under another --name")


def with_scores(seeds: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """``seeds`` with ``score``: the seed's test accuracy if ok, its last epoch's if collapsed, else NaN."""
    keys = list(ATTEMPT_KEY)
    last = (history.sort_values("epoch").groupby(keys)["test_acc"].last().rename("_last").reset_index()
            if len(history) else pd.DataFrame(columns=[*keys, "_last"]))
    merged = seeds.merge(last, on=keys, how="left")
    score = merged["test_acc"].where(merged["status"] == OK,
                                     merged["_last"].where(merged["status"] == "collapsed"))
    return merged.drop(columns="_last").assign(score=pd.to_numeric(score, errors="coerce"))


def retrained_seeds(seeds: pd.DataFrame) -> pd.DataFrame:
    """The seeds (arch, dataset, seed, status, earlier_results) whose shown result replaced a collapse or a
    divergence, in display order."""
    replaced = seeds["earlier_results"].map(lambda earlier: any(s in UNSTABLE_STATUSES for s in earlier))
    rows = seeds.loc[replaced, ["arch", "dataset", "seed", "status", "earlier_results"]]
    order = {cell: position for position, cell in enumerate(per_cell.display_order(set(zip(rows["arch"],
                                                                                          rows["dataset"]))))}
    return (rows.assign(_at=[order[cell] for cell in zip(rows["arch"], rows["dataset"])])
            .sort_values(["_at", "seed"]).drop(columns="_at").reset_index(drop=True))


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
    return counts.reindex(per_cell.ordered_statuses(counts.index)).astype(int)


def _sharing(timed: pd.DataFrame) -> pd.Series:
    """The recorded ``trials_sharing_device`` of the timed trials (older schemas have none)."""
    if SHARING_COLUMN not in timed:
        return pd.Series(dtype=float)
    return pd.to_numeric(timed[SHARING_COLUMN], errors="coerce").dropna()
