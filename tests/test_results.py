import multiprocessing as mp
import os
from datetime import datetime, timezone

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestrator import results
from orchestrator.atomic import atomic_write_text
from orchestrator.results import HISTORY_SCHEMA, TRIAL_SCHEMA, ResultsError, ResultStore

from helpers import make_row


def _row(**kwargs):
    return make_row(**kwargs)


def test_put_trial_writes_both_tables_with_schema(tmp_path):
    store = ResultStore(tmp_path)
    store.put_trial(_row(epochs=2))
    assert pq.read_schema(store.trials_path).names == TRIAL_SCHEMA.names
    assert pq.read_schema(store.history_path).names == HISTORY_SCHEMA.names
    trials = store.trials()
    assert len(trials) == 1 and trials.loc[0, "test_acc"] == pytest.approx(0.9)
    assert trials.loc[0, "schema_version"] == results.SCHEMA_VERSION
    history = store.history()
    assert list(history["epoch"]) == [1, 2] and set(history["arch"]) == {"lenet5"}


def test_every_attempt_of_a_cell_stays_on_record_numbered_by_the_store(tmp_path):
    store = ResultStore(tmp_path)
    assert store.put_trial(_row(status="failed", epochs=3)) == 1
    assert store.put_trial(_row(status="collapsed", epochs=2)) == 2
    assert store.put_trial(_row(acc=0.95, epochs=1)) == 3
    assert store.put_trial(_row(seed=1)) == 1
    trials = store.trials().sort_values(["seed", "attempt"])
    assert list(zip(trials["seed"], trials["attempt"], trials["status"])) == [
        (0, 1, "failed"), (0, 2, "collapsed"), (0, 3, "ok"), (1, 1, "ok")]
    history = store.history()
    assert sorted(zip(history["attempt"], history["epoch"])) == [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (3, 1)]


def test_the_tables_take_each_seeds_latest_result_and_mark_what_it_replaced(tmp_path):
    store = ResultStore(tmp_path)
    for seed, statuses in {0: ["collapsed", "ok"], 1: ["ok", "failed"], 2: ["failed", "failed"], 3: ["diverged"]}.items():
        for status in statuses:
            store.put_trial(_row(seed=seed, status=status))
    chosen = results.choose_attempts(store.trials()).set_index("seed").sort_index()
    assert list(chosen["status"]) == ["ok", "ok", "failed", "diverged"]
    assert list(chosen["attempt"]) == [2, 1, 2, 1]
    assert list(chosen["earlier_results"]) == [["collapsed"], [], [], []]
    assert list(chosen["attempts_recorded"]) == [2, 2, 2, 1]
    assert results.choose_attempts(store.trials().iloc[:0]).empty


def test_newer_schema_is_refused(tmp_path):
    store = ResultStore(tmp_path)
    store.put_trial(_row())
    table = pq.read_table(store.trials_path)
    newer = table.set_column(0, "schema_version", pa.array([results.SCHEMA_VERSION + 1], pa.int32()))
    pq.write_table(newer, store.trials_path)
    with pytest.raises(ResultsError, match="newer archbench"):
        store.put_trial(_row(seed=1))
    assert pq.read_table(store.trials_path).equals(newer)


def test_a_schema_1_file_reads_and_keeps_its_rows(tmp_path):
    # Schema 1 had no test_images column: its rows read it as unknown, and a new row is stored beside them.
    store = ResultStore(tmp_path)
    store.put_trial(_row(seed=0))
    table = pq.read_table(store.trials_path).drop_columns(["test_images"])
    pq.write_table(table.set_column(0, "schema_version", pa.array([1], pa.int32())), store.trials_path)
    assert store.trials()["test_images"].isna().all()
    store.put_trial(_row(seed=1, setup={"test_images": 256}))
    trials = store.trials().set_index("seed")
    assert trials.loc[0, "schema_version"] == 1 and pd.isna(trials.loc[0, "test_images"])
    assert trials.loc[1, "schema_version"] == results.SCHEMA_VERSION and trials.loc[1, "test_images"] == 256


def test_a_column_missing_from_a_current_file_is_an_error(tmp_path):
    store = ResultStore(tmp_path)
    store.put_trial(_row())
    pq.write_table(pq.read_table(store.trials_path).drop_columns(["test_images"]), store.trials_path)
    with pytest.raises(ResultsError, match="missing columns test_images"):
        store.trials()


def test_rows_of_other_cells_and_sweeps_are_kept(tmp_path):
    store = ResultStore(tmp_path)
    store.put_trial(_row(seed=0))
    store.put_trial(_row(seed=1))
    store.put_trial(_row(seed=0, sweep="other"))
    assert len(store.trials()) == 3
    assert store.done_cells("s") == {("lenet5", "mnist", 0), ("lenet5", "mnist", 1)}


@pytest.mark.parametrize("status,done", [("failed", False), ("diverged", True), ("collapsed", True), ("ok", True)])
def test_a_seed_with_a_result_is_done_and_a_failed_one_is_not(tmp_path, status, done):
    store = ResultStore(tmp_path)
    store.put_trial(_row(seed=0, status=status))
    assert store.done_cells("s") == ({("lenet5", "mnist", 0)} if done else set())


@pytest.mark.parametrize("version", [2, 3, 4])
def test_an_older_schema_file_reads_and_keeps_its_rows(tmp_path, version):
    # A column added after a file's schema reads as unknown, or derived where it can be: a file from
    # before attempts were kept held one attempt per cell, its first.
    store = ResultStore(tmp_path)
    store.put_trial(_row(seed=0, epochs=2))
    added = [c.name for c in results.TRIAL_COLUMNS if c.since > version]
    table = pq.read_table(store.trials_path).drop_columns(added)
    pq.write_table(table.set_column(0, "schema_version", pa.array([version], pa.int32())), store.trials_path)
    history_added = [c.name for c in results.HISTORY_COLUMNS if c.since > version]
    pq.write_table(pq.read_table(store.history_path).drop_columns(history_added), store.history_path)
    old = store.trials()
    assert old[[a for a in added if a != "attempt"]].isna().all().all() and list(old["attempt"]) == [1]
    assert list(store.history()["attempt"]) == [1, 1]
    store.put_trial(_row(seed=1, val_acc=0.8, pred_histogram=[1, 2, 3], setup={"label_smoothing": 0.1}, epochs=1))
    store.put_trial(_row(seed=0, epochs=1))
    trials = store.trials().set_index(["seed", "attempt"])
    assert trials.loc[(0, 1), "schema_version"] == version and trials.loc[(0, 2), "schema_version"] == 5
    assert pd.isna(trials.loc[(0, 1), "label_smoothing"]) == (version < 4)
    assert trials.loc[(1, 1), "val_acc"] == pytest.approx(0.8) and list(trials.loc[(1, 1), "pred_histogram"]) == [1, 2, 3]
    assert trials.loc[(1, 1), "label_smoothing"] == pytest.approx(0.1)
    assert sorted(zip(store.history()["seed"], store.history()["attempt"])) == [(0, 1), (0, 1), (0, 2), (1, 1)]


def test_a_row_needs_its_sweep(tmp_path):
    with pytest.raises(ValueError, match="no sweep name"):
        ResultStore(tmp_path).put_trial(_row(sweep=None))


def test_corrupt_parquet_is_reported_and_left_in_place(tmp_path):
    path = tmp_path / "trials.parquet"
    path.write_bytes(b"not parquet at all")
    store = ResultStore(tmp_path)
    with pytest.raises(ResultsError, match="not a readable Parquet file"):
        store.check_writable()
    with pytest.raises(ResultsError):
        store.put_trial(_row())
    assert path.read_bytes() == b"not parquet at all"


def test_foreign_schema_is_reported(tmp_path):
    pq.write_table(pa.table({"x": [1, 2]}), tmp_path / "trials.parquet")
    with pytest.raises(ResultsError, match="missing columns"):
        ResultStore(tmp_path).trials()


def test_results_dir_that_is_a_file(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ResultsError, match="is a file"):
        ResultStore(target).check_writable()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_results_dir(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(ResultsError, match="not writable"):
            ResultStore(tmp_path).check_writable()
    finally:
        tmp_path.chmod(0o700)


def _writer(root, sweep, n):
    store = ResultStore(root)
    for seed in range(n):
        store.put_trial(_row(seed=seed, sweep=sweep, epochs=1))


def test_concurrent_writers_keep_every_row(tmp_path):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(tmp_path, f"sweep{i}", 15)) for i in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = ResultStore(tmp_path)
    assert len(store.trials()) == 45
    assert len(store.history()) == 45
    assert not list(tmp_path.glob("*.tmp")), "temporary files left behind"


def test_atomic_write_text_replaces_whole_file(tmp_path):
    path = tmp_path / "out.md"
    path.write_text("old")
    atomic_write_text(path, "new text")
    assert path.read_text() == "new text"
    assert [p.name for p in tmp_path.iterdir()] == ["out.md"]


def test_atomic_files_get_the_mode_open_would_give(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "out.md", "text")
    finally:
        os.umask(old)
    assert (tmp_path / "out.md").stat().st_mode & 0o777 == 0o640


def test_a_failed_write_changes_neither_table(tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    store.put_trial(_row(acc=0.9, epochs=2))
    before = {p.name: p.read_bytes() for p in (store.trials_path, store.history_path)}
    write_table = pq.write_table

    def full_disk_on_the_trials_file(table, where, *args, **kwargs):
        if ".trials.parquet." in str(where):
            raise OSError(28, "No space left on device")
        write_table(table, where, *args, **kwargs)

    monkeypatch.setattr(results.pq, "write_table", full_disk_on_the_trials_file)
    with pytest.raises(OSError, match="No space left"):
        store.put_trial(_row(acc=0.95, epochs=3))    # its history was written first, then the trials file failed
    assert {p.name: p.read_bytes() for p in (store.trials_path, store.history_path)} == before
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".lock")) == [
        "history.parquet", "trials.parquet"]
