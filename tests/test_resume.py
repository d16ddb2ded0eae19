"""Resuming a sweep: its ok rows are skipped only when they were set up as this run asks (no Ray here)."""

import pytest
from helpers import make_row

from orchestrator import results
from orchestrator.errors import SweepError
from orchestrator.plan import SweepPlan
from orchestrator.results import ResultStore
from orchestrator.resume import check_same_setup
from orchestrator.trial import Budget, Cell

PLAN = SweepPlan("t", ("lenet5",), ("synthetic_mnist",), budget=Budget(epochs=2, batch_size=32))


def _row(setup=None, seed=0, status="ok"):
    return make_row(dataset="synthetic_mnist", seed=seed, sweep="t", status=status, budget=PLAN.budget, setup=setup)


def test_rows_of_the_same_setup_are_resumed(tmp_path):
    store = ResultStore(tmp_path)
    store.put_trial(_row())
    check_same_setup(PLAN, store)


def test_columns_an_older_schema_did_not_record_count_as_asked(tmp_path):
    # A results dir of schema 3: one trials.parquet, without the columns added since.
    ResultStore(tmp_path / "new").put_trial(_row())
    table = results.pq.read_table(tmp_path / "new" / results.TRIALS_DIR)
    added = [c.name for c in results.TRIAL_COLUMNS if c.since > 3]
    results.pq.write_table(table.drop_columns(added).set_column(
        0, "schema_version", results.pa.array([3], results.pa.int32())), tmp_path / results.TRIALS_FILE)
    check_same_setup(PLAN, ResultStore(tmp_path))


@pytest.mark.parametrize("changes,held,asked", [
    ({"label_smoothing": 0.1}, "label smoothing 0.1", "label smoothing 0.0"),
    ({"optimizer": "sgd"}, "optimizer sgd", "optimizer adamw"),
    ({"augment": "crop"}, "augment crop", "augment none"),
    ({"epochs": 3, "weight_decay": 0.5}, "epochs 3, weight decay 0.5", "epochs 2, weight decay 0.05"),
    ({"train_images": 100}, "train images 100", "train images 54000"),
])
def test_rows_of_another_setup_are_not_resumed_and_the_error_names_what_differs(tmp_path, changes, held, asked):
    store = ResultStore(tmp_path)
    store.put_trial(_row(changes))
    with pytest.raises(SweepError, match=rf"trained with {held}, and this run asks for {asked}: use another --name"):
        check_same_setup(PLAN, store)


def test_counts_are_compared_as_counts_beside_a_failed_row(tmp_path):
    # A failed row stored beside an ok one: the comparison reads typed columns, so no count turns into a float.
    store = ResultStore(tmp_path)
    store.put_trial(_row({"test_images": 100}))
    store.put_trial(_row(seed=1, status="failed"))
    with pytest.raises(SweepError, match=r"trained with test images 100, and this run asks for test images 10000:"):
        check_same_setup(PLAN, store)


def test_cells_outside_the_plan_are_not_compared(tmp_path):
    store = ResultStore(tmp_path)
    store.put_trial(make_row(arch="vgg", dataset="synthetic_mnist", sweep="t", setup={"epochs": 9}))
    check_same_setup(PLAN, store)


def test_another_budget_is_refused_in_a_plan_built_from_it():
    asked = SweepPlan("t", ("lenet5",), ("synthetic_mnist",), budget=Budget(train_limit=1000)).trial(
        Cell("lenet5", "synthetic_mnist")).setup
    assert (asked.train_images, asked.val_images) == (900, 100)


def _leave_checkpoint(storage, run, cell_name, index=1):
    folder = storage / run / f"{cell_name.replace('/', '-')}-ab12_00000" / f"checkpoint_{index:06d}"
    folder.mkdir(parents=True)
    return folder


def test_a_rerun_finds_the_latest_checkpoint_an_interrupted_run_left_for_each_cell(tmp_path):
    from orchestrator.resume import checkpoints_to_resume

    storage, store = tmp_path / "ray", ResultStore(tmp_path / "results")
    cells = PLAN.cells() + [Cell("lenet5", "synthetic_mnist", 1)]
    _leave_checkpoint(storage, "t-20261130-100000", "lenet5/synthetic_mnist/seed0", 1)
    newest = _leave_checkpoint(storage, "t-20261130-110000", "lenet5/synthetic_mnist/seed0", 3)
    _leave_checkpoint(storage, "t-20261130-110000", "lenet5/synthetic_mnist/seed0", 2)
    _leave_checkpoint(storage, "other-20261130-120000", "lenet5/synthetic_mnist/seed1", 1)   # another sweep
    assert checkpoints_to_resume(PLAN, store, str(storage), cells) == {cells[0]: str(newest)}


def test_a_checkpoint_from_before_the_cells_latest_result_is_not_resumed(tmp_path):
    from datetime import datetime, timezone

    from orchestrator.resume import checkpoints_to_resume

    storage, store = tmp_path / "ray", ResultStore(tmp_path / "results")
    _leave_checkpoint(storage, "t-20261130-100000", "lenet5/synthetic_mnist/seed0")
    store.put_trial(make_row(dataset="synthetic_mnist", sweep="t", budget=PLAN.budget, status="failed",
                             ended_at=datetime(2026, 11, 30, 10, 30, tzinfo=timezone.utc)))
    assert checkpoints_to_resume(PLAN, store, str(storage), PLAN.cells()) != {}, "a failed attempt keeps it"
    store.put_trial(make_row(dataset="synthetic_mnist", sweep="t", budget=PLAN.budget,
                             ended_at=datetime(2026, 11, 30, 10, 30, tzinfo=timezone.utc)))
    assert checkpoints_to_resume(PLAN, store, str(storage), PLAN.cells()) == {}
