import hashlib
import multiprocessing as mp
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import make_row, run_in_process

from orchestrator import results
from orchestrator.report import choose_attempts
from orchestrator.results import HISTORY_SCHEMA, TRIAL_SCHEMA, ResultsError, ResultStore

# Results folders written by each schema's own archbench, never regenerated (tests/fixtures/README.md).
FIXTURES = Path(__file__).parent / "fixtures"
FROZEN = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir() and p.name.startswith("schema_v"))
# What each frozen folder holds (sweep "frozen"): seeds by status (each seed's chosen attempt), attempts.
FROZEN_SEEDS = {
    "schema_v1_early": ({"ok": 4, "diverged": 1, "failed": 1}, 6),
    "schema_v1": ({"ok": 4, "diverged": 1, "failed": 1}, 6),
    "schema_v2": ({"ok": 4, "diverged": 1, "failed": 1}, 6),
    "schema_v3": ({"ok": 4, "collapsed": 1, "failed": 1}, 6),
    "schema_v4": ({"ok": 4, "collapsed": 1, "failed": 1}, 6),
    "schema_v5_single_files": ({"ok": 7}, 9),
    "schema_v5_part_files_early": ({"ok": 7}, 9),
    "schema_v5_part_files": ({"ok": 7}, 9),
}


def _row(**kwargs):
    return make_row(**kwargs)


def _parts(directory):
    return sorted(p for p in directory.iterdir() if not p.name.startswith("."))


def _files(root):
    """Every file under ``root`` (the lock left out) and its bytes."""
    return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != ".lock"}


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
    attempts = {0: ["collapsed", "ok"], 1: ["ok", "failed"], 2: ["failed", "failed"], 3: ["diverged"]}
    for seed, statuses in attempts.items():
        for status in statuses:
            store.put_trial(_row(seed=seed, status=status))
    chosen = choose_attempts(store.trials()).set_index("seed").sort_index()
    assert list(chosen["status"]) == ["ok", "ok", "failed", "diverged"]
    assert list(chosen["attempt"]) == [2, 1, 2, 1]
    assert list(chosen["earlier_results"]) == [["collapsed"], [], [], []]
    assert list(chosen["attempts_recorded"]) == [2, 2, 2, 1]
    assert choose_attempts(store.trials().iloc[:0]).empty


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


@pytest.mark.slow   # three writer processes, a minute on two busy cores
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


def _version(folder: str) -> int:
    return int(re.match(r"schema_v(\d+)", folder)[1])


def _frozen_copy(tmp_path, folder):
    """A copy of a frozen folder to read and write: the checked-in files are never touched."""
    return Path(shutil.copytree(FIXTURES / folder, tmp_path / folder))


def _as_written(root, table):
    """A table's rows as its files hold them, read by pyarrow alone, the oldest first."""
    single = root / f"{table}.parquet"
    if single.is_file():
        return pq.read_table(single)
    return pa.concat_tables([pq.read_table(p) for p in sorted((root / table).glob("part-*.parquet"))])


def test_the_frozen_folders_are_the_files_each_schema_wrote():
    # Regenerating one with today's code would prove nothing: the sums catch a rewritten file.
    listed = dict(line.split("  ")[::-1] for line in (FIXTURES / "SHA256SUMS").read_text().splitlines())
    on_disk = {str(p.relative_to(FIXTURES)): hashlib.sha256(p.read_bytes()).hexdigest()
               for p in FIXTURES.rglob("*.parquet")}
    assert on_disk == listed


def test_every_schema_before_this_one_has_a_frozen_folder():
    # Raising SCHEMA_VERSION ships the schema before it: freeze its folder with the commit before (README).
    versions = {_version(folder) for folder in FROZEN}
    assert set(range(1, results.SCHEMA_VERSION)) <= versions and max(versions) <= results.SCHEMA_VERSION
    assert set(FROZEN) == set(FROZEN_SEEDS)


@pytest.mark.parametrize("folder", FROZEN)
def test_each_columns_since_is_the_first_schema_whose_files_have_it(folder):
    # A column declared with the wrong ``since`` (or none) is read as present in files that lack it; one
    # added while its schema was current (``late``) may be missing from that schema's earlier files.
    version, root = _version(folder), FIXTURES / folder
    for table, columns in (("trials", results.TRIAL_COLUMNS), ("history", results.HISTORY_COLUMNS)):
        written = set(_as_written(root, table).column_names)
        wrong = [f"{c.name} (since {c.since})" for c in columns
                 if (c.name in written) != (c.since <= version) and not (c.late and c.since == version)]
        assert not wrong, f"{folder}/{table}: declared since does not match the files: {', '.join(wrong)}"
        assert written <= {c.name for c in columns}, f"{folder}/{table}: columns no longer declared"


@pytest.mark.parametrize("folder", FROZEN)
def test_a_frozen_folder_reads_with_every_value_it_holds(tmp_path, folder):
    root, version = _frozen_copy(tmp_path, folder), _version(folder)
    store = ResultStore(root)
    trials, written = store.trial_records("frozen"), _as_written(root, "trials").to_pylist()
    assert [{name: row[name] for name in old} for row, old in zip(trials, written)] == written
    assert len(trials) == len(written)
    added = [c.name for c in results.TRIAL_COLUMNS if c.since > version and c.name != "attempt"]
    assert all(row[name] is None for row in trials for name in added)
    if version < 5:     # one attempt per cell then: its first
        assert [row["attempt"] for row in trials] == [1] * len(trials)
    history, written = store.history(), _as_written(root, "history").to_pandas()
    pd.testing.assert_frame_equal(history[written.columns], written, check_dtype=False)


@pytest.mark.parametrize("folder", FROZEN)
def test_a_frozen_folder_is_summarized(tmp_path, folder):
    from orchestrator.report import summarize

    store = ResultStore(_frozen_copy(tmp_path, folder))
    analysis = summarize(store.trials(), store.history()).analysis
    seeds, attempts = FROZEN_SEEDS[folder]
    assert {status: n for status, n in analysis.statuses.items() if n} == seeds
    assert (analysis.sweep, analysis.attempts) == ("frozen", attempts)


@pytest.mark.parametrize("folder", ["schema_v1_early", "schema_v5_part_files"])
def test_archbench_summarize_prints_the_oldest_and_the_newest_frozen_folder(tmp_path, monkeypatch, capsys, folder):
    code, out, err = run_in_process(monkeypatch, capsys, "summarize", "--results", str(_frozen_copy(tmp_path, folder)))
    assert code in (0, None) and "Sweep 'frozen'" in out and "Table 1" in out and not err


@pytest.mark.parametrize("folder", FROZEN)
def test_a_row_added_to_a_frozen_folder_keeps_every_row_it_had(tmp_path, folder):
    root = _frozen_copy(tmp_path, folder)
    store = ResultStore(root)
    before, history_before, files_before = store.trial_records("frozen"), store.history(), _files(root)
    earlier = [r for r in before if (r["arch"], r["dataset"], r["seed"]) == ("lenet5", "mnist", 1)]
    attempt = store.put_trial(_row(sweep="frozen", seed=1, epochs=1, val_acc=0.8, setup={"label_smoothing": 0.1}))
    assert attempt == len(earlier) + 1
    after, history_after = ResultStore(root).trial_records("frozen"), ResultStore(root).history()
    assert after[:len(before)] == before
    pd.testing.assert_frame_equal(history_after.iloc[:len(history_before)], history_before, check_dtype=False)
    [new] = after[len(before):]
    assert (new["schema_version"], new["label_smoothing"], new["attempt"]) == (results.SCHEMA_VERSION, 0.1, attempt)
    assert list(history_after.iloc[len(history_before):]["attempt"]) == [attempt]
    assert {name: _files(root)[name] for name in files_before} == files_before   # no file rewritten
