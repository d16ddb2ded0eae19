"""report.analysis: which sweep is summarized, its statuses and shared devices, and the errors that stop a summary."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from report_frames import frames, sweep_frames, trial_row

from orchestrator.report import ReportError, analyze, summarize
from orchestrator.results import ResultsError, ResultStore


def test_default_sweep_is_the_most_recent(summary, results):
    analysis = summary.analysis
    assert (analysis.sweep, analysis.chosen_by, analysis.sweeps) == ("main", "latest", ("main", "old"))
    assert analysis.statuses.to_dict() == {"ok": 19, "diverged": 3, "failed": 4}   # of this sweep only
    old = analyze(*results, sweep="old")
    assert (old.chosen_by, old.archs, old.datasets) == ("name", ["lenet5"], ["mnist"])
    assert old.cells.loc[("lenet5", "mnist"), "acc_mean"] == 0.5
    assert old.statuses.to_dict() == {"ok": 1}


def test_sweep_without_end_times_counts_as_oldest(results):
    trials, history = results
    unfinished = trials[trials["sweep"] == "main"].assign(sweep="zzz", ended_at=pd.NaT)
    assert analyze(pd.concat([trials, unfinished]), history).sweep == "main"


def test_statuses_archbench_knows_come_first_in_their_order():
    rows = [trial_row("s", "lenet5", "mnist", 0, "timed out"), trial_row("s", "lenet5", "mnist", 1, 0.9),
            trial_row("s", "lenet5", "mnist", 2, "failed"), trial_row("s", "lenet5", "mnist", 3, "diverged")]
    assert list(analyze(*frames(rows)).statuses.index) == ["ok", "diverged", "failed", "timed out"]


def test_shared_devices_count_the_timed_trials_only():
    rows = [trial_row("s", "lenet5", "mnist", 0, 0.9, trials_sharing_device=4),
            trial_row("s", "vgg", "mnist", 0, 0.8, trials_sharing_device=1),
            trial_row("s", "vgg", "svhn", 0, "failed", trials_sharing_device=8)]   # not timed: does not count
    analysis = analyze(*frames(rows))
    assert (analysis.shared_devices, analysis.shared_trials) == (4, 1)


def test_results_of_an_older_schema_record_no_sharing():
    trials, history = frames([trial_row("s", "lenet5", "mnist", 0, 0.9)])
    analysis = analyze(trials.drop(columns=["trials_sharing_device", "pred_histogram"]), history)
    assert (analysis.shared_devices, analysis.shared_trials) == (None, 0)


# --- errors --------------------------------------------------------------------------------------

def _one_line_error(call, *fragments):
    with pytest.raises(ReportError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message and all(fragment in message for fragment in fragments), message


def test_no_results(tmp_path):
    store = ResultStore(tmp_path)   # an empty results directory reads as empty frames
    _one_line_error(lambda: summarize(store.trials(), store.history()), "no trial results")


def test_unknown_sweep_lists_the_sweeps(results):
    _one_line_error(lambda: summarize(*results, sweep="nope"), "'nope'", "main, old")


def test_sweep_without_ok_trials():
    results = sweep_frames("bad", {("lenet5", "mnist"): ["diverged", "failed"]})
    _one_line_error(lambda: summarize(*results),
                    "'bad'", "no ok trials", "1 diverged, 1 failed")


def test_foreign_parquet_is_a_results_error(tmp_path):
    # The CLI turns ResultsError (from reading) and ReportError (from summarizing) into exit code 2.
    pq.write_table(pa.table({"x": [1]}), tmp_path / "trials.parquet")
    with pytest.raises(ResultsError, match="not an archbench table"):
        summarize(ResultStore(tmp_path).trials(), ResultStore(tmp_path).history())


def test_a_sweep_whose_cell_was_trained_with_two_setups_is_refused_in_one_line():
    rows = [trial_row("s", "lenet5", "mnist", 0, 0.9, epochs=3), trial_row("s", "lenet5", "mnist", 1, 0.8, epochs=5),
            trial_row("s", "vgg", "mnist", 0, 0.9, epochs=7)]   # another cell may have another recipe
    with pytest.raises(ReportError) as caught:
        analyze(*frames(rows))
    assert str(caught.value) == ("sweep 's' holds results of lenet5 on mnist trained with different epochs (3, 5); a "
                                 "table never mixes setups: train the cell again under another --name")
    failed_elsewhere = [rows[0], trial_row("s", "lenet5", "mnist", 1, "failed", epochs=5), rows[2]]
    assert analyze(*frames(failed_elsewhere)).statuses.to_dict() == {"ok": 2, "failed": 1}   # a failure is no result


def test_a_collapsed_seed_scores_its_last_epochs_test_accuracy():
    rows = [trial_row("s", "lenet5", "mnist", 0, 0.9), trial_row("s", "lenet5", "mnist", 1, "collapsed"),
            trial_row("s", "lenet5", "mnist", 2, "diverged")]
    history = [{"sweep": "s", "arch": "lenet5", "dataset": "mnist", "seed": 1, "attempt": 1, "epoch": e,
                "test_acc": acc} for e, acc in ((1, 0.3), (2, 0.1))]
    seeds = analyze(*frames(rows, history)).seeds.set_index("seed")
    assert seeds["score"].fillna(-1).tolist() == [0.9, 0.1, -1]
