"""The trial contract: the setup built from a spec, the outcome, the placement, and the row they make."""

from dataclasses import replace
from pathlib import Path

import pytest
from helpers import make_row

from orchestrator import plugins
from orchestrator.columns import values_of
from orchestrator.results import TRIAL_SCHEMA
from orchestrator.trial import Budget, Cell, PlanError, TrialOutcome, TrialRow, TrialSpec

FAULTS = str(Path(__file__).parent / "plugins" / "faults.py")


def test_the_row_has_exactly_the_columns_the_store_writes():
    assert [c.name for c in TrialRow.columns()] == TRIAL_SCHEMA.names[1:]
    assert set(make_row().record()) == set(TRIAL_SCHEMA.names) - {"schema_version"}


def test_the_setup_holds_the_resolved_recipe_and_the_image_counts_before_any_data():
    spec = TrialSpec(Cell("lenet5", "mnist", 3), Budget(epochs=3, batch_size=64, train_limit=1000, test_limit=500,
                                                        val_split=0.2))
    setup = spec.setup
    assert (setup.arch, setup.dataset, setup.seed, setup.synthetic) == ("lenet5", "mnist", 3, False)
    assert (setup.epochs, setup.batch_size, setup.lr, setup.optimizer) == (3, 64, spec.recipe.lr, "adamw")
    assert (setup.train_images, setup.val_images, setup.test_images, setup.val_split) == (800, 200, 500, 0.2)
    assert (setup.weight_decay, setup.warmup_epochs, setup.label_smoothing, setup.augment) == (
        spec.recipe.weight_decay, spec.recipe.warmup_epochs, 0.0, "none")
    assert setup.arch_module == "archs.lenet"
    whole = TrialSpec(Cell("lenet5", "mnist"), Budget(val_split=0)).setup
    assert (whole.train_images, whole.val_images, whole.test_images) == (60_000, 0, 10_000)


def test_a_plugin_architecture_records_its_module_and_recipe():
    plugins.load([FAULTS])
    spec = TrialSpec(Cell("tiny_cnn", "synthetic_cifar10"), Budget(epochs=1, batch_size=32))
    setup, recipe = spec.setup, spec.recipe
    assert (setup.weight_decay, setup.warmup_epochs, setup.label_smoothing) == (
        recipe.weight_decay, recipe.warmup_epochs, recipe.label_smoothing)
    assert setup.augment == "crop_flip" and setup.arch_module.startswith("archbench_plugin_faults")


def test_differences_name_what_a_stored_setup_changed_and_skip_what_it_did_not_record():
    setup = TrialSpec(Cell("lenet5", "mnist")).setup
    recorded = {**values_of(setup), "epochs": 99, "augment": None}
    assert setup.differences(recorded) == {"epochs": (99, setup.epochs)}
    assert setup.differences(values_of(setup)) == {}


def test_a_failed_outcome_has_its_reason_and_no_model():
    outcome = TrialOutcome.failed("RuntimeError: boom", epochs_run=1)
    assert (outcome.status, outcome.error, outcome.epochs_run) == ("failed", "RuntimeError: boom", 1)
    assert outcome.params_total is None and outcome.test_acc is None and outcome.ended_at is not None


def test_a_failed_row_still_says_how_the_cell_was_set_up():
    row = make_row(status="failed", budget=Budget(epochs=3, batch_size=64))
    record = row.record()
    assert (record["status"], record["epochs"], record["batch_size"], record["optimizer"]) == ("failed", 3, 64, "adamw")


def test_an_unknown_status_is_refused():
    with pytest.raises(ValueError, match="status 'great' is not one of ok, diverged, collapsed, failed"):
        TrialOutcome(status="great")


def test_history_rows_carry_the_row_key():
    row = make_row(epochs=2, sweep="s", seed=4)
    assert [(h["sweep"], h["arch"], h["dataset"], h["seed"], h["epoch"]) for h in row.history_records()] == [
        ("s", "lenet5", "mnist", 4, 1), ("s", "lenet5", "mnist", 4, 2)]


@pytest.mark.parametrize("budget,field_name,value", [
    ({"epochs": 0}, "epochs", "0"), ({"batch_size": -1}, "batch_size", "-1"), ({"lr": 0.0}, "lr", "0.0"),
    ({"lr": float("nan")}, "lr", "nan"), ({"lr": float("inf")}, "lr", "inf"), ({"train_limit": 0}, "train_limit", "0"),
    ({"val_split": 1.0}, "val_split", "1.0"), ({"val_split": -0.1}, "val_split", "-0.1"),
    ({"val_split": float("nan")}, "val_split", "nan"),
])
def test_a_budget_refuses_values_out_of_range_naming_field_and_value(budget, field_name, value):
    with pytest.raises(PlanError) as caught:
        Budget(**budget)
    assert caught.value.field_name == field_name and caught.value.problem.endswith(f"got {value}")


def test_a_recipe_may_choose_the_augmentation_per_dataset(monkeypatch):
    import archs
    from archs import _registry

    monkeypatch.setattr(_registry, "_ENTRIES", dict(_registry._ENTRIES))   # these registrations end with the test
    recipe = archs.Recipe(optimizer="sgd", lr=0.1, weight_decay=5e-4, epochs=2, batch_size=32,
                          dataset_augment={"fashion_mnist": "crop_flip"})
    archs.register("_augmenting", recipe=recipe)(archs.entry("lenet5").builder)
    assert TrialSpec(Cell("_augmenting", "fashion_mnist")).setup.augment == "crop_flip"
    assert TrialSpec(Cell("_augmenting", "mnist")).setup.augment == "none"       # the dataset's own
    archs.register("_bad_augment", recipe=replace(recipe, augment="rotate"))(archs.entry("lenet5").builder)
    with pytest.raises(PlanError, match="_bad_augment, whose recipe asks for augmentation 'rotate' on mnist; "
                                        "valid: crop_flip, crop, none"):
        TrialSpec(Cell("_bad_augment", "mnist"))


def test_the_plan_builds_each_setup_once_and_the_spec_carries_it_through_pickling(monkeypatch):
    import pickle

    from orchestrator.plan import SweepPlan
    from orchestrator.trial import TrialSetup

    plan = SweepPlan(name="t", archs=("lenet5",), datasets=("mnist",), seeds=2, budget=Budget(epochs=3))
    spec = plan.trial(Cell("lenet5", "mnist", 1))
    assert plan.trial(Cell("lenet5", "mnist", 1)) is spec and spec.setup.epochs == 3 and spec.setup.seed == 1

    def rebuilt(cls, spec):
        raise AssertionError("the setup was built again")

    monkeypatch.setattr(TrialSetup, "of", classmethod(rebuilt))
    assert pickle.loads(pickle.dumps(spec)).setup == spec.setup    # as Ray hands it to the trial's process
    assert plan.trial(Cell("lenet5", "mnist", 0)).setup.seed == 0
