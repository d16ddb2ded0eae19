"""The training function on its own, without Ray: what the trainable, the tests and the benchmarks call."""

import pytest

from orchestrator.results import TRIAL_SCHEMA
from orchestrator import train as train_module
from orchestrator.train import TrainConfig, train

ADDED_BY_THE_SWEEP = {"schema_version", "sweep", "gpu_fraction", "node_id", "hostname", "node_ip", "attempts",
                      "ray_version"}


def _config(**overrides):
    return TrainConfig(**{"arch": "lenet5", "dataset": "synthetic_mnist", "epochs": 2, "batch_size": 32,
                          "train_limit": 512, "test_limit": 256, "threads": 1, **overrides})


def test_train_returns_a_full_row_and_reports_every_epoch():
    reports = []
    row = train(_config(), report=reports.append)
    assert set(row) - {"history"} == set(TRIAL_SCHEMA.names) - ADDED_BY_THE_SWEEP
    assert row["status"] == "ok" and row["error"] is None and row["synthetic"]
    assert row["epochs_run"] == 2 and row["steps"] == 2 * 512 // 32 and row["train_images"] == 512
    assert row["test_acc"] > 0.3 and row["best_test_acc"] >= row["test_acc"]
    assert 0 < row["train_seconds"] < row["wall_seconds"]
    assert row["images_per_sec"] == pytest.approx(row["steps"] * 32 / row["train_seconds"])
    assert [r["epoch"] for r in reports] == [1, 2] and all(r["epochs"] == 2 for r in reports)
    assert [h["test_acc"] for h in row["history"]] == [r["test_acc"] for r in reports]
    assert row["history"][-1]["lr"] == pytest.approx(0.0, abs=1e-9)


def test_same_seed_same_result():
    first, second = train(_config(epochs=1)), train(_config(epochs=1))
    assert first["history"][0]["train_loss"] == second["history"][0]["train_loss"]
    other = train(_config(epochs=1, seed=1))
    assert other["history"][0]["train_loss"] != first["history"][0]["train_loss"]


def test_nan_loss_is_diverged_without_accuracy():
    row = train(_config(fault="nan"))
    assert row["status"] == "diverged" and row["test_acc"] is None and row["best_test_acc"] is None
    assert row["epochs_run"] == 1 and row["error"] == "training loss became nan at epoch 1"


def test_weights_that_turn_nan_are_diverged():
    # A learning rate this large blows the weights up within the first epoch.
    row = train(_config(arch="vgg", dataset="synthetic_cifar10", epochs=1, lr=1e12, train_limit=128))
    assert row["status"] == "diverged" and row["test_acc"] is None


def test_weights_that_turn_nan_under_a_finite_loss_are_named_as_the_cause(monkeypatch):
    monkeypatch.setattr(train_module, "_weights_finite", lambda model: False)
    row = train(_config())
    assert row["status"] == "diverged" and row["epochs_run"] == 1
    assert row["error"] == "weights became NaN or inf at epoch 1"


def test_raise_fault_raises():
    with pytest.raises(RuntimeError, match="injected fault"):
        train(_config(fault="raise"))


def test_batch_larger_than_the_data_is_an_error():
    with pytest.raises(ValueError, match="batch size 32 is larger than the 16 training images"):
        train(_config(train_limit=16))


def test_compiled_model_trains_like_the_eager_one():
    eager, compiled = train(_config(epochs=1)), train(_config(epochs=1, compile=True))
    assert compiled["status"] == "ok"
    assert compiled["history"][0]["train_loss"] == pytest.approx(eager["history"][0]["train_loss"], rel=1e-3)
    assert compiled["test_acc"] == pytest.approx(eager["test_acc"], abs=0.02)
