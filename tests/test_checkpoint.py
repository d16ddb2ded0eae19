"""A trial's state written to a folder and read back, with plain values and tensors only."""

from datetime import datetime, timezone

import torch

from orchestrator.checkpoint import STATE_FILE, TrainState, load_state, save_state
from orchestrator.trial import Budget, Cell, EpochRow, TrialSpec


def test_a_state_reads_back_as_it_was_written_without_unpickling_objects(tmp_path):
    now = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
    history = tuple(EpochRow(epoch=epoch, train_loss=loss, val_acc=val, test_acc=test, epoch_seconds=1.0,
                             images_per_sec=10.0, lr=lr)
                    for epoch, loss, val, test, lr in [(1, 2.0, 0.5, 0.4, 0.1), (2, 1.0, 0.6, 0.5, 0.05)])
    state = TrainState(setup=TrialSpec(Cell("lenet5", "mnist", 2), Budget(epochs=4)).setup, epoch=2,
                       model={"w": torch.ones(3)}, optimizer={"state": {}, "param_groups": [{"lr": 0.1}]},
                       schedule={"last_epoch": 7}, torch_rng=torch.get_rng_state(), cuda_rng=None,
                       history=history,
                       train_seconds=2.0, wall_seconds=3.0, steps=8, histogram=[1, 2], val_histogram=None,
                       train_histogram=[5, 3], train_correct=6, started_at=now, saved_at=now)
    assert save_state(state, tmp_path / "ckpt") == tmp_path / "ckpt" / STATE_FILE
    back = load_state(tmp_path / "ckpt")
    assert back.setup == state.setup and back.history == state.history and back.started_at == now
    assert torch.equal(back.model["w"], state.model["w"]) and torch.equal(back.torch_rng, state.torch_rng)
    assert (back.epoch, back.steps, back.histogram, back.schedule) == (2, 8, [1, 2], {"last_epoch": 7})
    assert (back.train_histogram, back.train_correct) == ([5, 3], 6)
    # A state saved before the training predictions were counted reads them as unknown.
    plain = torch.load(tmp_path / "ckpt" / STATE_FILE, weights_only=True)
    del plain["train_histogram"], plain["train_correct"]
    torch.save(plain, tmp_path / "ckpt" / STATE_FILE)
    older = load_state(tmp_path / "ckpt")
    assert (older.train_histogram, older.train_correct, older.histogram) == (None, None, [1, 2])
