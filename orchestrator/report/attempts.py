"""Which attempt speaks for each seed in the report's tables: a rule of the report, not of the store, which keeps
every attempt."""

from __future__ import annotations

import pandas as pd

from orchestrator.results import CELL_KEY, RESULTS


def choose_attempts(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per seed (sweep, arch, dataset, seed): the attempt the tables use.

    The rule: a seed's latest result (ok, diverged or collapsed) speaks for it; a seed with no
    result is shown by its latest failed attempt. A forced re-run's result therefore replaces the
    earlier one in the tables, and ``earlier_results`` lists the statuses of the results it
    replaced (empty when none), so that a seed trained again after a collapse or a divergence is
    marked, never hidden. ``attempts_recorded`` counts every attempt on record.
    """
    if trials.empty:
        return trials.assign(earlier_results=pd.Series(dtype=object), attempts_recorded=pd.Series(dtype="int64"))
    cell = list(CELL_KEY)
    ordered = trials.assign(_result=trials["status"].isin(RESULTS)).sort_values([*cell, "_result", "attempt"])
    chosen = ordered.groupby(cell, sort=False).tail(1)
    results = ordered[ordered["_result"]]
    earlier = (results.groupby(cell)["status"].agg(lambda statuses: list(statuses)[:-1])
               .rename("earlier_results").reset_index())
    counts = ordered.groupby(cell).size().rename("attempts_recorded").reset_index()
    chosen = chosen.drop(columns="_result").merge(earlier, on=cell, how="left").merge(counts, on=cell)
    chosen["earlier_results"] = chosen["earlier_results"].apply(lambda v: v if isinstance(v, list) else [])
    return chosen.reset_index(drop=True)
