import multiprocessing as mp
import os
import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestrator import results
from orchestrator.results import HISTORY_SCHEMA, TRIAL_SCHEMA, ResultsError, ResultStore

from helpers import make_row


def _row(**kwargs):
    return make_row(**kwargs)


def _parts(directory):
    return sorted(p for p in directory.iterdir() if not p.name.startswith("."))


def _files(root):
    """Every file under ``root`` (the lock left out) and its bytes."""
    return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != ".lock"}


def _older_single_files(root, version, rows):
    """Store ``rows`` as an archbench of schema ``version`` did: trials.parquet and history.parquet at ``root``."""
    scratch = ResultStore(root / "scratch")
    for row in rows:
        scratch.put_trial(row)
    trials = pq.read_table(scratch.trials_path).drop_columns(
        [c.name for c in results.TRIAL_COLUMNS if c.since > version])
    trials = trials.set_column(0, "schema_version", pa.array([version] * len(trials), pa.int32()))
    history = pq.read_table(scratch.history_path).drop_columns(
        [c.name for c in results.HISTORY_COLUMNS if c.since > version])
    shutil.rmtree(scratch.root)
    pq.write_table(trials, root / results.TRIALS_FILE)
    pq.write_table(history, root / results.HISTORY_FILE)


def test_put_trial_writes_one_part_to_each_table_with_its_schema(tmp_path):
    store = ResultStore(tmp_path)
    store.put_trial(_row(epochs=2))
    [trial_part], [history_part] = _parts(store.trials_path), _parts(store.history_path)
    assert pq.read_schema(trial_part).names == TRIAL_SCHEMA.names
    assert pq.read_schema(history_part).names == HISTORY_SCHEMA.names
    trials = store.trials()
    assert len(trials) == 1 and trials.loc[0, "test_acc"] == pytest.approx(0.9)
    assert trials.loc[0, "schema_version"] == results.SCHEMA_VERSION
    history = store.history()
    assert list(history["epoch"]) == [1, 2] and set(history["arch"]) == {"lenet5"}


def test_pandas_reads_every_row_from_the_table_directories(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "MERGE_AT", 3)
    store = ResultStore(tmp_path)
    for seed in range(11):
        store.put_trial(_row(seed=seed, epochs=2))
    trials, history = pd.read_parquet(tmp_path / "trials"), pd.read_parquet(tmp_path / "history")
    assert sorted(trials["seed"]) == list(range(11)) and list(trials.columns) == TRIAL_SCHEMA.names
    assert sorted(zip(history["seed"], history["epoch"])) == [(s, e) for s in range(11) for e in (1, 2)]
    pd.testing.assert_frame_equal(trials, store.trials())


def test_a_table_stays_a_few_files_and_keeps_its_rows_in_order(tmp_path, monkeypatch):
    # Three files to a level, merged when a put finds them: puts 1-27 end in one file of level 3.
    monkeypatch.setattr(results, "MERGE_AT", 3)
    store = ResultStore(tmp_path)
    for seed in range(30):
        assert store.put_trial(_row(seed=seed % 10, epochs=1)) == 1 + seed // 10
    for directory in (store.trials_path, store.history_path):
        assert [p.name for p in _parts(directory)] == ["part-000000000001-000000000027-L3.parquet"] + [
            f"part-0000000000{n}-0000000000{n}-L0.parquet" for n in (28, 29, 30)]
    trials = store.trials()
    assert list(zip(trials["seed"], trials["attempt"])) == [(s % 10, 1 + s // 10) for s in range(30)]
    assert list(store.history()["seed"]) == list(trials["seed"])


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


def test_writers_sharing_a_directory_number_one_cells_attempts_in_turn(tmp_path, monkeypatch):
    # Each writer counts the other's parts and merges too, though it read them only once.
    monkeypatch.setattr(results, "MERGE_AT", 2)
    first, second = ResultStore(tmp_path), ResultStore(tmp_path)
    numbers = [(first if i % 2 else second).put_trial(_row(epochs=1)) for i in range(9)]
    assert numbers == list(range(1, 10))
    assert sorted(ResultStore(tmp_path).trials()["attempt"]) == list(range(1, 10))


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


def test_newer_schema_is_refused_and_its_file_left_as_it_is(tmp_path):
    ResultStore(tmp_path).put_trial(_row())
    [part] = _parts(tmp_path / "trials")
    table = pq.read_table(part)
    newer = table.set_column(0, "schema_version", pa.array([results.SCHEMA_VERSION + 1], pa.int32()))
    pq.write_table(newer, part)
    store = ResultStore(tmp_path)
    with pytest.raises(ResultsError, match="newer archbench"):
        store.trials()
    with pytest.raises(ResultsError, match="newer archbench"):
        store.put_trial(_row(seed=1))
    assert pq.read_table(part).equals(newer) and _parts(tmp_path / "trials") == [part]


def test_a_schema_1_file_reads_and_keeps_its_rows(tmp_path):
    # Schema 1 had no test_images column: its rows read it as unknown, and a new row is stored beside them.
    _older_single_files(tmp_path, 1, [_row(seed=0)])
    store = ResultStore(tmp_path)
    assert store.has_results() and store.trials()["test_images"].isna().all()
    store.put_trial(_row(seed=1, setup={"test_images": 256}))
    trials = store.trials().set_index("seed")
    assert trials.loc[0, "schema_version"] == 1 and pd.isna(trials.loc[0, "test_images"])
    assert trials.loc[1, "schema_version"] == results.SCHEMA_VERSION and trials.loc[1, "test_images"] == 256


@pytest.mark.parametrize("version", [2, 3, 4, 5])
def test_an_older_single_file_reads_keeps_its_rows_and_is_never_rewritten(tmp_path, monkeypatch, version):
    # A column added after a file's schema reads as unknown, or derived where it can be: a file from
    # before attempts were kept held one attempt per cell, its first. Schema 5 is the last single file.
    monkeypatch.setattr(results, "MERGE_AT", 2)
    _older_single_files(tmp_path, version, [_row(seed=0, epochs=2)])
    before = _files(tmp_path)
    store = ResultStore(tmp_path)
    added = [c.name for c in results.TRIAL_COLUMNS if c.since > version]
    old = store.trials()
    assert old[[a for a in added if a != "attempt"]].isna().all().all() and list(old["attempt"]) == [1]
    assert list(store.history()["attempt"]) == [1, 1]
    store.put_trial(_row(seed=1, val_acc=0.8, pred_histogram=[1, 2, 3], setup={"label_smoothing": 0.1}, epochs=1))
    for _ in range(3):
        store.put_trial(_row(seed=0, epochs=1))
    trials = store.trials().set_index(["seed", "attempt"])
    assert trials.loc[(0, 1), "schema_version"] == version and trials.loc[(0, 4), "schema_version"] == 5
    assert pd.isna(trials.loc[(0, 1), "label_smoothing"]) == (version < 4)
    assert trials.loc[(1, 1), "val_acc"] == pytest.approx(0.8) and list(trials.loc[(1, 1), "pred_histogram"]) == [1, 2, 3]
    assert trials.loc[(1, 1), "label_smoothing"] == pytest.approx(0.1)
    assert sorted(zip(store.history()["seed"], store.history()["attempt"])) == [
        (0, 1), (0, 1), (0, 2), (0, 3), (0, 4), (1, 1)]
    assert {name: _files(tmp_path)[name] for name in before} == before


def test_a_column_missing_from_a_current_file_is_an_error(tmp_path):
    store = ResultStore(tmp_path)
    store.put_trial(_row())
    [part] = _parts(store.trials_path)
    pq.write_table(pq.read_table(part).drop_columns(["test_images"]), part)
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


def test_a_directory_has_results_once_a_trial_is_stored(tmp_path):
    store = ResultStore(tmp_path / "r")
    assert not store.has_results() and store.trials().empty and store.history().empty
    store.put_trial(_row())
    assert store.has_results()


def test_a_row_needs_its_sweep(tmp_path):
    with pytest.raises(ValueError, match="no sweep name"):
        ResultStore(tmp_path).put_trial(_row(sweep=None))


@pytest.mark.parametrize("where", ["trials.parquet", "trials/part-000000000001-000000000001-L0.parquet"])
def test_corrupt_parquet_is_reported_and_left_in_place(tmp_path, where):
    path = tmp_path / where
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"not parquet at all")
    store = ResultStore(tmp_path)
    with pytest.raises(ResultsError, match="not a readable Parquet file") as error:
        store.check_writable()
    assert str(path) in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(ResultsError):
        store.put_trial(_row())
    assert path.read_bytes() == b"not parquet at all"
    assert [p for p in tmp_path.rglob("*") if p.is_file() and p.name != ".lock"] == [path]


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


def test_a_merge_during_a_read_is_read_again_and_every_row_comes_once(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "MERGE_AT", 2)
    store = ResultStore(tmp_path)
    store.put_trial(_row(seed=0, epochs=1))
    read, merged_during_read = results._read, []

    def read_while_another_writer_merges(path, columns):
        if not merged_during_read:
            merged_during_read.append(path)
            ResultStore(tmp_path).put_trial(_row(seed=1, epochs=1))     # merges the file about to be read
            ResultStore(tmp_path).put_trial(_row(seed=2, epochs=1))
        return read(path, columns)

    monkeypatch.setattr(results, "_read", read_while_another_writer_merges)
    trials = store.trials()
    assert not merged_during_read[0].exists()
    assert sorted(trials["seed"]) == [0, 1, 2]


@pytest.mark.parametrize("puts,missed", [
    (2, {"part-000000000001-000000000001-L0.parquet"}),
    (3, {"part-000000000001-000000000002-L1.parquet"}),
    (3, {"part-000000000001-000000000002-L1.parquet", "part-000000000003-000000000003-L0.parquet"}),
])
def test_a_listing_that_missed_files_added_meanwhile_is_made_again(tmp_path, monkeypatch, puts, missed):
    # A directory listed while files are renamed into it and deleted may lack some of them: the older
    # of two puts, a merged file whose inputs were deleted meanwhile, or every file.
    monkeypatch.setattr(results, "MERGE_AT", 2)
    store = ResultStore(tmp_path)
    for seed in range(puts):
        store.put_trial(_row(seed=seed, epochs=1))
    listdir, listings = os.listdir, []

    def first_listing_misses_files(path):
        names = listdir(path)
        listings.append(names)
        return [n for n in names if n not in missed] if len(listings) == 1 else names

    monkeypatch.setattr(results.os, "listdir", first_listing_misses_files)
    assert sorted(store.trials()["seed"]) == list(range(puts))
    assert len(listings) == 4 and missed <= set(listings[0])


def test_inputs_of_an_interrupted_merge_are_read_once_and_deleted_by_the_next_put(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "MERGE_AT", 2)
    store = ResultStore(tmp_path)
    for seed in range(2):
        store.put_trial(_row(seed=seed, epochs=1))
    inputs = {p.name: p.read_bytes() for p in _parts(store.trials_path)}
    store.put_trial(_row(seed=2, epochs=1))      # merges the two parts, then writes its own
    for name, data in inputs.items():            # as if it had stopped before deleting them
        (store.trials_path / name).write_bytes(data)
    assert len(_parts(store.trials_path)) == 4
    assert sorted(store.trials()["seed"]) == [0, 1, 2]
    assert sorted(pd.read_parquet(store.trials_path)["seed"]) == [0, 0, 1, 1, 2]   # pandas does not skip them
    store.put_trial(_row(seed=3, epochs=1))
    assert not set(inputs) & {p.name for p in _parts(store.trials_path)}
    assert sorted(store.trials()["seed"]) == [0, 1, 2, 3]


def _writer(root, sweep, n, merge_at):
    results.MERGE_AT = merge_at
    store = ResultStore(root)
    for seed in range(n):
        store.put_trial(_row(seed=seed, sweep=sweep, epochs=1))


def test_concurrent_writers_keep_every_row_and_readers_see_each_row_once(tmp_path):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(tmp_path, f"sweep{i}", 15, 3)) for i in range(3)]
    for p in procs:
        p.start()
    store = ResultStore(tmp_path)
    while any(p.is_alive() for p in procs):      # read while they write and merge
        trials = store.trials()
        assert not trials.duplicated(list(results.ATTEMPT_KEY)).any()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    trials, history = store.trials(), store.history()
    assert len(trials) == 45 and not trials.duplicated(list(results.ATTEMPT_KEY)).any()
    assert (trials["attempt"] == 1).all()
    assert len(history) == 45
    assert not list(tmp_path.rglob("*.tmp")), "temporary files left behind"


def test_a_failed_write_changes_neither_table(tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    store.put_trial(_row(acc=0.9, epochs=2))
    before = _files(tmp_path)
    write_table = pq.write_table

    def full_disk_on_the_trials_part(table, where, *args, **kwargs):
        if f"{os.sep}trials{os.sep}" in str(where):
            raise OSError(28, "No space left on device")
        write_table(table, where, *args, **kwargs)

    monkeypatch.setattr(results.pq, "write_table", full_disk_on_the_trials_part)
    with pytest.raises(OSError, match="No space left"):
        store.put_trial(_row(acc=0.95, epochs=3))    # its history part was written first, then the trials part failed
    assert _files(tmp_path) == before


def test_a_failed_merge_stores_nothing_and_changes_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "MERGE_AT", 2)
    store = ResultStore(tmp_path)
    for seed in range(2):
        store.put_trial(_row(seed=seed, epochs=1))
    before = _files(tmp_path)

    def full_disk(tables, schema, where):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(results, "_write_merged", full_disk)
    with pytest.raises(OSError, match="No space left"):
        store.put_trial(_row(seed=2, epochs=1))
    assert _files(tmp_path) == before
    assert sorted(store.trials()["seed"]) == [0, 1]


def test_an_attempt_whose_row_never_landed_keeps_its_number_taken(tmp_path):
    # A put that died between renaming its history part and its trials part left epochs without a row:
    # the next attempt of the cell gets a number of its own, so no epoch is ever stored twice under one key.
    store = ResultStore(tmp_path)
    store.put_trial(_row(epochs=2))
    for part in (tmp_path / "trials").iterdir():
        part.unlink()
    assert ResultStore(tmp_path).put_trial(_row(epochs=1)) == 2
    history = ResultStore(tmp_path).history()
    assert not history.duplicated(list(results.EPOCH_KEY)).any()
