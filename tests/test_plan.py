"""The sweep plan checks itself when built: the one place its values are validated, named by field."""

import pytest

from orchestrator.plan import SweepPlan
from orchestrator.trial import Budget, Cell, PlanError


def _plan(**changes):
    return SweepPlan(**{"name": "t", "archs": ("lenet5",), "datasets": ("mnist",), **changes})


def test_a_plan_lists_its_cells_and_makes_their_specs():
    plan = _plan(archs=("lenet5", "vgg", "lenet5"), seeds=2, cpus_per_trial=2.5)
    assert plan.archs == ("lenet5", "vgg")
    assert plan.cells() == [Cell("lenet5", "mnist", 0), Cell("lenet5", "mnist", 1), Cell("vgg", "mnist", 0),
                            Cell("vgg", "mnist", 1)]
    spec = plan.trial(Cell("vgg", "mnist", 1))
    assert spec.budget is plan.budget and spec.threads == 2


@pytest.mark.parametrize("changes,field_name,needle", [
    ({"archs": ()}, "archs", "is empty; valid: lenet5, vgg"),
    ({"archs": ("alexnet",)}, "archs", "has unknown 'alexnet'; valid: lenet5"),
    ({"datasets": ("imagenet",)}, "datasets", "has unknown 'imagenet'; valid: mnist"),
    ({"seeds": 0}, "seeds", "got 0"),
    ({"gpus_per_trial": 1.5}, "gpus_per_trial", "got 1.5"),
    ({"gpus_per_trial": float("nan")}, "gpus_per_trial", "got nan"),
    ({"cpus_per_trial": 0.0}, "cpus_per_trial", "got 0.0"),
    ({"max_concurrent": 0}, "max_concurrent", "got 0"),
    ({"max_failures": -1}, "max_failures", "got -1"),
])
def test_a_bad_value_is_refused_naming_its_field(changes, field_name, needle):
    with pytest.raises(PlanError) as caught:
        _plan(**changes)
    assert caught.value.field_name == field_name and needle in caught.value.problem


def test_a_training_sample_smaller_than_a_batch_is_refused_before_anything_runs():
    with pytest.raises(PlanError, match=r"train_limit 100 leaves 90 training images after the validation split, "
                                        r"fewer than the batch size 128"):
        _plan(budget=Budget(train_limit=100, batch_size=128))
    _plan(budget=Budget(train_limit=100, batch_size=90))
