import math

import pytest
import torch

import archs
from orchestrator import recipes


@pytest.mark.parametrize("name", archs.names())
def test_every_registered_architecture_has_a_recipe(name):
    assert archs.recipe(name).epochs > 0 and archs.recipe(name).optimizer in ("sgd", "adamw")


def test_unknown_architecture_has_no_recipe():
    with pytest.raises(archs.UnknownArchError, match="unknown architecture 'alexnet'; valid: lenet5, vgg"):
        archs.recipe("alexnet")


@pytest.mark.parametrize("bad", [{"optimizer": "rmsprop"}, {"lr": float("nan")}, {"epochs": 0},
                                 {"label_smoothing": 0.6}, {"label_smoothing": -0.1}])
def test_a_bad_recipe_is_refused_where_it_is_written(bad):
    fields = {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.0, "epochs": 1, "batch_size": 32, **bad}
    with pytest.raises(ValueError):
        archs.Recipe(**fields)


def test_the_budget_resolves_the_recipe():
    from orchestrator.trial import Budget

    assert Budget().recipe_for("vgg", "mnist") == archs.recipe("vgg")
    resolved = Budget(epochs=3, batch_size=256).recipe_for("resnet20v1", "cifar10")
    assert (resolved.epochs, resolved.batch_size, resolved.lr) == (3, 256, pytest.approx(0.2))


def test_batch_size_rescales_the_learning_rate():
    sgd = archs.recipe("resnet20v1")
    assert sgd.with_overrides(batch_size=256).lr == pytest.approx(sgd.lr * 2)
    adam = archs.recipe("lenet5")
    assert adam.with_overrides(batch_size=32).lr == pytest.approx(adam.lr * math.sqrt(32 / 128))
    assert adam.with_overrides(batch_size=32, lr=0.5).lr == 0.5


def _lrs(recipe, total_steps):
    model = torch.nn.Linear(2, 2)
    optimizer = recipes.make_optimizer(recipe, model)
    schedule = recipes.make_schedule(recipe, optimizer, total_steps)
    lrs = []
    for _ in range(total_steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    return lrs


def test_schedule_warms_up_then_decays_to_zero():
    recipe = archs.recipe("resnet20v1").with_overrides(epochs=10)   # 2 warm-up epochs
    lrs = _lrs(recipe, total_steps=100)
    assert lrs[0] == pytest.approx(recipe.lr / 20)
    assert max(lrs) == pytest.approx(recipe.lr) and lrs.index(max(lrs)) == 19
    assert all(a >= b for a, b in zip(lrs[19:], lrs[20:]))
    assert lrs[-1] < recipe.lr * 0.01


def test_weight_decay_spares_biases():
    optimizer = recipes.make_optimizer(archs.recipe("resnet20v1"), torch.nn.Linear(2, 2))
    decays = {p.ndim: g["weight_decay"] for g in optimizer.param_groups for p in g["params"]}
    assert decays == {2: 5e-4, 1: 0.0}


def test_a_dataset_can_have_its_own_epochs_and_the_budget_still_wins():
    # LeNet-5 on MNIST: 10 epochs, within seed noise of 20 on the validation split (ACCURACY.md); Fashion-MNIST 20.
    from orchestrator.trial import Budget

    assert Budget().recipe_for("lenet5", "mnist").epochs == 10
    assert Budget().recipe_for("lenet5", "synthetic_mnist").epochs == 20
    assert Budget().recipe_for("lenet5", "fashion_mnist").epochs == 20
    assert Budget(epochs=3).recipe_for("lenet5", "mnist").epochs == 3


def test_the_loss_smooths_the_targets_as_the_recipe_says():
    logits = torch.tensor([[20.0, 0.0, 0.0]])
    target = torch.tensor([0])
    plain = recipes.make_loss(archs.recipe("resnet20v1"))(logits, target)
    smoothed = recipes.make_loss(archs.Recipe("sgd", 0.1, 0.0, 1, 32, label_smoothing=0.3))(logits, target)
    # A confident right answer costs almost nothing against one-hot targets; against targets that put
    # 0.1 on each wrong class it costs 0.1 x 20 nats for each of the two.
    assert plain.item() < 1e-6
    assert smoothed.item() == pytest.approx(2 * 0.1 * 20, rel=1e-3)
