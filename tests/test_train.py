"""The training function on its own, without Ray: what the trainable, the tests and the benchmarks call."""

from pathlib import Path

import pytest
import torch

import archs
from orchestrator import plugins
from orchestrator import train as train_module
from orchestrator.columns import values_of
from orchestrator.train import train
from orchestrator.trial import Budget, Cell, TrialSpec

FAULTS = str(Path(__file__).parent / "plugins" / "faults.py")
EVAL_COLLAPSE = str(Path(__file__).parent / "plugins" / "eval_collapse.py")
NOT_SET_SINCE_SCHEMA_3 = {"best_test_acc"}
NOT_SET_ON_CPU = {"peak_mem_bytes"}


def _spec(arch="lenet5", dataset="synthetic_mnist", seed=0, **budget):
    limits = {"epochs": 2, "batch_size": 32, "train_limit": 512, "test_limit": 256, **budget}
    return TrialSpec(Cell(arch, dataset, seed), Budget(**limits), threads=1)


def test_train_returns_a_full_outcome_and_reports_every_epoch():
    epochs, beats = [], []
    row = train(_spec(val_split=0.1), on_epoch=epochs.append, on_progress=beats.append, progress_every=0.0)
    filled = {k for k, v in values_of(row).items() if v is not None}
    assert filled == set(values_of(row)) - NOT_SET_SINCE_SCHEMA_3 - NOT_SET_ON_CPU - {"error", "resumed_from_epoch"}
    assert row.status == "ok" and row.error is None
    assert row.epochs_run == 2 and row.steps == 2 * (461 // 32)
    assert row.test_acc > 0.3 and row.val_acc > 0.3 and row.best_test_acc is None
    assert row.best_epoch in (1, 2) and row.best_val_acc == max(e.val_acc for e in row.history)
    assert sum(row.pred_histogram) == 256 and len(row.pred_histogram) == 10 and sum(row.val_pred_histogram) == 51
    assert row.unpredicted_classes == [k for k, n in enumerate(row.val_pred_histogram) if n == 0]
    assert 0 < row.train_seconds < row.wall_seconds
    assert row.images_per_sec == pytest.approx(row.steps * 32 / row.train_seconds)
    assert tuple(epochs) == row.history and [e.epoch for e in epochs] == [1, 2]
    assert row.history[-1].lr == pytest.approx(0.0, abs=1e-9)
    assert beats and all(1 <= b.step <= b.steps == 14 and b.epochs == 2 for b in beats)
    assert beats[-1].epoch == 2


def test_without_a_validation_split_there_is_no_best_epoch():
    row = train(_spec(epochs=1, val_split=0))
    assert row.val_acc is None and row.best_epoch is None and row.steps == 512 // 32
    assert all(e.val_acc is None for e in row.history)


def test_same_seed_same_result():
    first, second = train(_spec(epochs=1)), train(_spec(epochs=1))
    assert first.history[0].train_loss == second.history[0].train_loss
    other = train(_spec(epochs=1, seed=1))
    assert other.history[0].train_loss != first.history[0].train_loss


def test_nan_loss_is_diverged_without_accuracy():
    plugins.load([FAULTS])
    row = train(_spec(arch="fault_nan"))
    assert row.status == "diverged" and row.test_acc is None
    assert row.epochs_run == 1 and row.error == "training loss became nan at epoch 1"


def test_weights_that_turn_nan_are_diverged():
    # A learning rate this large blows the weights up within the first epoch.
    row = train(_spec(arch="vgg", dataset="synthetic_cifar10", epochs=1, lr=1e12, train_limit=128))
    assert row.status == "diverged" and row.test_acc is None


def test_weights_that_turn_nan_under_a_finite_loss_are_named_as_the_cause(monkeypatch):
    monkeypatch.setattr(train_module, "_weights_finite", lambda model: False)
    row = train(_spec())
    assert row.status == "diverged" and row.epochs_run == 1
    assert row.error == "weights became NaN or inf at epoch 1"


def test_a_model_that_answers_one_class_is_collapsed_without_accuracy():
    plugins.load([FAULTS])
    row = train(_spec(arch="fault_collapse"))
    assert row.status == "collapsed" and row.test_acc is None and row.epochs_run == 2
    assert max(row.pred_histogram) == 256, row.pred_histogram
    assert "chance level" in row.error or "of the validation predictions are class" in row.error


def test_collapse_is_judged_on_validation_and_never_predicted_classes_are_flagged():
    plugins.load([FAULTS])
    row = train(_spec(arch="fault_collapse"))
    assert row.status == "collapsed" and ("validation predictions" in row.error or "chance level" in row.error)
    assert sum(row.val_pred_histogram) == 51 and sum(row.pred_histogram) == 256
    assert len(row.unpredicted_classes) == 9


def test_without_a_validation_split_collapse_is_judged_on_the_training_predictions_never_the_test_set():
    # This model answers class 0 for every test image (eval mode) but learns in training mode: the test
    # set would call it collapsed, its training predictions do not.
    plugins.load([EVAL_COLLAPSE])
    row = train(_spec(arch="eval_collapse", val_split=0))
    assert row.pred_histogram == [256] + [0] * 9
    assert row.status == "ok" and row.error is None and row.val_pred_histogram is None
    assert len(row.train_pred_histogram) == 10 and sum(row.train_pred_histogram) == row.steps // 2 * 32
    assert row.unpredicted_classes == [k for k, n in enumerate(row.train_pred_histogram) if n == 0]
    # With a validation split it is judged there, and collapses.
    judged_on_validation = train(_spec(arch="eval_collapse", val_split=0.1))
    assert judged_on_validation.status == "collapsed"
    assert judged_on_validation.error.startswith("100.0% of the validation predictions are class 0")


def test_a_run_collapsed_in_training_is_collapsed_without_a_validation_split():
    plugins.load([FAULTS])
    row = train(_spec(arch="fault_collapse", val_split=0))
    assert row.status == "collapsed" and row.test_acc is None
    assert sum(row.train_pred_histogram) == 16 * 32 and len(row.unpredicted_classes) >= 8


def test_a_raising_model_raises():
    plugins.load([FAULTS])
    with pytest.raises(RuntimeError, match="injected fault"):
        train(_spec(arch="fault_raise"))


def test_batch_larger_than_the_data_is_an_error():
    with pytest.raises(ValueError, match="batch size 32 is larger than the 14 training images"):
        train(_spec(train_limit=16))


def test_a_dataset_smaller_than_its_spec_says_is_an_error(monkeypatch):
    from orchestrator import data

    real = data.load_split
    monkeypatch.setattr(train_module.data, "load_split", lambda *a, **k: tuple(t[:100] for t in real(*a, **k)))
    with pytest.raises(ValueError, match="gave 90 training, 10 validation and 100 test images; its spec promises "
                                         "461, 51 and 256"):
        train(_spec())


def test_compiled_model_trains_like_the_eager_one():
    # Two epochs: after one, LeNet-5 names too few classes to count as healthy.
    eager, compiled = train(_spec()), train(_spec(compile=True))
    assert compiled.status == eager.status == "ok"
    assert compiled.history[0].train_loss == pytest.approx(eager.history[0].train_loss, rel=1e-3)
    assert compiled.test_acc == pytest.approx(eager.test_acc, abs=0.02)


def test_a_run_resumed_from_a_checkpoint_goes_on_as_if_uninterrupted(tmp_path):
    from orchestrator.checkpoint import load_state, save_state

    # A state holds the live model's tensors: it is saved during the call, as the Ray adapter does.
    saved = []
    whole = train(_spec(epochs=3), on_checkpoint=lambda s: saved.append(save_state(s, tmp_path / f"epoch{s.epoch}")))
    assert len(saved) == 3 and whole.resumed_from_epoch is None
    resumed = train(_spec(epochs=3), resume=load_state(tmp_path / "epoch1"))
    assert resumed.resumed_from_epoch == 1 and [e.epoch for e in resumed.history] == [1, 2, 3]
    assert [e.train_loss for e in resumed.history] == [e.train_loss for e in whole.history]
    assert (resumed.test_acc, resumed.val_acc, resumed.steps) == (whole.test_acc, whole.val_acc, whole.steps)
    assert resumed.started_at == whole.started_at and resumed.train_pred_histogram == whole.train_pred_histogram
    # Resumed after its last epoch, it trains nothing and is judged as the uninterrupted run was.
    ended = train(_spec(epochs=3, val_split=0), on_checkpoint=lambda s: save_state(s, tmp_path / "last"))
    after_last = train(_spec(epochs=3, val_split=0), resume=load_state(tmp_path / "last"))
    assert after_last.steps == ended.steps and after_last.train_pred_histogram == ended.train_pred_histogram
    assert (after_last.status, after_last.error) == (ended.status, ended.error)


def test_a_checkpoint_of_another_setup_is_refused():
    states = []
    train(_spec(epochs=1), on_checkpoint=states.append)
    with pytest.raises(ValueError, match="trained as another setup: epochs differ"):
        train(_spec(epochs=2), resume=states[0])


def test_channels_last_trains_the_same_losses_as_the_contiguous_format():
    # ResNet20 v1's recipe trains channels-last; Budget(channels_last=False) keeps the contiguous format.
    assert archs.recipe("resnet20v1").channels_last
    losses, layouts = {}, {}
    for channels_last in (True, False):
        def layout(state, key=channels_last):
            layouts[key] = state.model["stages.0.residual.0.0.weight"].is_contiguous(memory_format=torch.channels_last)

        row = train(_spec("resnet20v1", epochs=1, train_limit=160, test_limit=64, channels_last=channels_last),
                    on_checkpoint=layout)
        losses[channels_last] = row.history[0].train_loss
    assert layouts == {True: True, False: False}
    # The first step's loss agrees to 1e-7; the two layouts' kernels round differently in float32 (each
    # about as far from a float64 run), and over the epoch's 4 steps the mean loss drifts by up to 7e-4
    # (10 seeds, 1 and 2 threads). A layout bug changes the loss itself.
    assert losses[True] == pytest.approx(losses[False], rel=3e-3)
