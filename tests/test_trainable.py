"""The Ray adapter's checkpoints, without Ray: a checkpoint that cannot be written never fails the trial."""

from orchestrator import trainable
from orchestrator.trial import Cell, TrialSpec


def test_a_checkpoint_that_cannot_be_written_turns_checkpoints_off_and_the_trial_goes_on(monkeypatch, capsys):
    reports = []
    monkeypatch.setattr(trainable.tune, "report", lambda metrics, checkpoint=None: reports.append(metrics))

    def full_disk(state, folder):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(trainable, "save_state", full_disk)
    checkpoint = trainable.Checkpointer(TrialSpec(Cell("lenet5", "mnist")), {"device_key": "n/cpu:"})
    checkpoint(state=None)
    checkpoint(state=None)
    assert not checkpoint.on and reports == []
    assert capsys.readouterr().err.count("checkpoints off for this trial") == 1
