"""Resuming a sweep: its ok rows are skipped only when they were trained as this run asks (no Ray here)."""

import pytest

from orchestrator import data
from orchestrator.results import ResultStore
from orchestrator.sweep import SweepError, SweepPlan, check_same_budget
from orchestrator.trial import Budget, Cell, TrialRow, training_columns


def _row(plan: SweepPlan, **changes) -> TrialRow:
    spec = data.spec("synthetic_mnist")
    columns = training_columns(plan.trial(Cell("lenet5", "synthetic_mnist")))
    fields = {"train_images": spec.train_size, "val_images": 0, "test_images": spec.test_size,
              "val_split": plan.budget.val_split, **columns, **changes}
    return TrialRow(arch="lenet5", dataset="synthetic_mnist", seed=0, synthetic=True, status="ok", sweep="t",
                    test_acc=0.9, **fields)


PLAN = SweepPlan("t", ["lenet5"], ["synthetic_mnist"], budget=Budget(epochs=2, batch_size=32))


def test_rows_of_the_same_budget_and_recipe_are_resumed(tmp_path):
    store = ResultStore(tmp_path)
    store.put_trial(_row(PLAN))
    check_same_budget(PLAN, store)
    # A row of schema 3 did not record the recipe beyond its optimizer and lr: taken as asked.
    store.put_trial(_row(PLAN, weight_decay=None, warmup_epochs=None, label_smoothing=None, augment=None))
    check_same_budget(PLAN, store)


@pytest.mark.parametrize("changes,held,asked", [
    ({"label_smoothing": 0.1}, "label smoothing 0.1", "label smoothing 0.0"),
    ({"optimizer": "sgd"}, "optimizer sgd", "optimizer adamw"),
    ({"augment": "crop"}, "augment crop", "augment none"),
    ({"epochs": 3, "weight_decay": 0.5}, "epochs 3, weight decay 0.5", "epochs 2, weight decay 0.05"),
])
def test_rows_of_another_recipe_are_not_resumed_and_the_error_names_what_differs(tmp_path, changes, held, asked):
    store = ResultStore(tmp_path)
    store.put_trial(_row(PLAN, **changes))
    with pytest.raises(SweepError, match=rf"trained with {held}, and this run asks for {asked}: use another --name"):
        check_same_budget(PLAN, store)


def test_counts_read_back_as_floats_are_shown_as_counts(tmp_path):
    # A failed row has no image counts, so Parquet reads the column back as float64.
    store = ResultStore(tmp_path)
    store.put_trial(_row(PLAN, train_images=100))
    store.put_trial(TrialRow.failed(PLAN.trial(Cell("lenet5", "synthetic_mnist", 1)), "RuntimeError: boom")
                    .with_(sweep="t"))
    assert store.trials()["train_images"].dtype == "float64"
    with pytest.raises(SweepError, match=rf"trained with train images 100, and this run asks for train images "
                                         rf"{data.spec('synthetic_mnist').train_size}:"):
        check_same_budget(PLAN, store)
