"""The Ray Tune trainable: a thin adapter that runs ``train.train`` and reports to Tune.

``config["cell"]`` names the cell, and ``specs`` (through ``tune.with_parameters``) holds each
cell's ``TrialSpec``. The trial's process imports the sweep's plugins first, so that their
architectures and datasets exist here too. Heartbeats (``"progress"``) and epochs (``"epoch"``) are
reported with ``tune.report`` as they happen, and after each epoch a checkpoint of the trial's state
(``checkpoint.TrainState``); a trial Tune retries, or one an interrupted earlier run left a
checkpoint for (``spec.resume_from``), goes on from that checkpoint. The last
report carries the ``TrialOutcome`` (``"outcome"``) and the ``Placement`` (``"placement"``: node,
device, Ray). The driver (``sweep.ResultsCallback``) completes the placement and stores the row, so
no result depends on a worker's disk.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace

import pyarrow
import ray
import torch
from ray import tune

from orchestrator import plugins
from orchestrator.checkpoint import TrainState, load_state, save_state
from orchestrator.progress import heartbeat_seconds
from orchestrator.train import train
from orchestrator.trial import Placement, TrialSpec


def run_trial(config: dict, specs: dict[str, TrialSpec]) -> None:
    """Tune function trainable for the cell ``config["cell"]``."""
    spec = specs[config["cell"]]
    plugins.load(spec.plugins)
    device = spec.device
    if device is None:
        # Ray leaves a GPU visible to a trial that asked for none: train where Ray scheduled us.
        device = "cuda" if ray.get_gpu_ids() else "cpu"
    node_id = ray.get_runtime_context().get_node_id()
    where = {"device_key": f"{node_id}/{device}:" + ",".join(map(str, ray.get_gpu_ids()))}

    checkpoint = Checkpointer(spec, where) if spec.checkpoints else None
    outcome = train(replace(spec, device=device),
                    on_epoch=lambda epoch: tune.report({"epoch": epoch, **where}),
                    on_progress=lambda progress: tune.report({"progress": progress, **where}),
                    progress_every=heartbeat_seconds(),
                    on_checkpoint=checkpoint, resume=_state_to_resume(spec))
    placement = Placement(device=torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu",
                          node_id=node_id, ray_version=ray.__version__)
    tune.report({"outcome": outcome, "placement": placement, **where})


class Checkpointer:
    """Hands each epoch's state to Tune as the trial's checkpoint; a checkpoint that cannot be written turns them off.

    A checkpoint is insurance, never a reason for a trial to fail.
    """

    def __init__(self, spec: TrialSpec, where: dict[str, str]) -> None:
        self.spec, self.where, self.on = spec, where, True

    def __call__(self, state: TrainState) -> None:
        if not self.on:
            return
        try:
            with tempfile.TemporaryDirectory(prefix="archbench-checkpoint-") as folder:
                save_state(state, folder)
                tune.report({"checkpoint_epoch": state.epoch, **self.where},
                            checkpoint=tune.Checkpoint.from_directory(folder))
        except (OSError, pyarrow.ArrowException) as exc:
            self.on = False
            print(f"{self.spec.cell}: checkpoints off for this trial, one could not be written: {exc}",
                  file=sys.stderr)


def _state_to_resume(spec: TrialSpec) -> TrainState | None:
    """This trial's latest checkpoint (Tune's, on a retry) or the earlier run's; None when there is none of its setup."""
    checkpoint = tune.get_checkpoint()
    if checkpoint is None and spec.resume_from:
        checkpoint = tune.Checkpoint(spec.resume_from)
    if checkpoint is None:
        return None
    with checkpoint.as_directory() as folder:
        state = load_state(folder)
    return state if state.setup == spec.setup else None
