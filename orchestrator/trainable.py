"""The Ray Tune trainable: a thin adapter that runs ``train.train`` and reports to Tune.

``config["cell"]`` names the cell, and ``specs`` (through ``tune.with_parameters``) holds each
cell's ``TrialSpec``. The trial's process imports the sweep's plugins first, so that their
architectures and datasets exist here too. Heartbeats (``"progress"``) and epochs (``"epoch"``) are
reported with ``tune.report`` as they happen, and after each epoch a checkpoint of the trial's state
(``checkpoint.TrainState``); a trial Tune retries, or one an interrupted earlier run left a
checkpoint for (``spec.resume_from``), goes on from that checkpoint. Every report carries the
trial's ``Placement`` (``"placement"``: device, node, host, Ray) and the key of the device it shares
(``"device_key"``); the last carries the ``TrialOutcome`` (``"outcome"``). A trial that raises
reports why, in one line (``"error"``), and raises again, so that Tune counts the failure and
retries it. The driver (``sweep.ResultsCallback``) completes the placement and stores the row, so
no result depends on a worker's disk or on Ray's error files.
"""

from __future__ import annotations

import platform
import sys
import tempfile
from dataclasses import replace

import pyarrow
import ray
import torch
from ray import tune

from orchestrator import plugins
from orchestrator.checkpoint import TrainState, load_state, save_state
from orchestrator.errors import first_line
from orchestrator.progress import heartbeat_seconds
from orchestrator.train import train
from orchestrator.trial import Placement, TrialSpec


def run_trial(config: dict, specs: dict[str, TrialSpec]) -> None:
    """Tune function trainable for the cell ``config["cell"]``."""
    spec = specs[config["cell"]]
    device = spec.device
    if device is None:
        # Ray leaves a GPU visible to a trial that asked for none: train where Ray scheduled us.
        device = "cuda" if ray.get_gpu_ids() else "cpu"
    where: dict[str, object] = {}
    try:
        where = _where(device)
        plugins.load(spec.plugins)
        checkpoint = Checkpointer(spec, where) if spec.checkpoints else None
        outcome = train(replace(spec, device=device),
                        on_epoch=lambda epoch: tune.report({"epoch": epoch, **where}),
                        on_progress=lambda progress: tune.report({"progress": progress, **where}),
                        progress_every=heartbeat_seconds(),
                        on_checkpoint=checkpoint, resume=_state_to_resume(spec))
    except Exception as exc:
        tune.report({"error": first_line(exc, with_type=True), **where})
        raise
    tune.report({"outcome": outcome, **where})


def _where(device: str) -> dict[str, object]:
    """What every report carries: the trial's whole placement, and the key of the device it shares with others."""
    node_id = ray.get_runtime_context().get_node_id()
    placement = Placement(device=torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu",
                          node_id=node_id, hostname=platform.node(), node_ip=ray.util.get_node_ip_address(),
                          ray_version=ray.__version__)
    return {"placement": placement, "device_key": f"{node_id}/{device}:" + ",".join(map(str, ray.get_gpu_ids()))}


class Checkpointer:
    """Hands each epoch's state to Tune as the trial's checkpoint; a checkpoint that cannot be written turns them off.

    A checkpoint is insurance, never a reason for a trial to fail.
    """

    def __init__(self, spec: TrialSpec, where: dict[str, object]) -> None:
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
    """This trial's latest checkpoint (Tune's, on a retry) or the earlier run's; None when there is none of its
    setup."""
    checkpoint = tune.get_checkpoint()
    if checkpoint is None and spec.resume_from:
        checkpoint = tune.Checkpoint(spec.resume_from)
    if checkpoint is None:
        return None
    with checkpoint.as_directory() as folder:
        state = load_state(folder)
    return state if state.setup == spec.setup else None
