"""The Ray Tune trainable: a thin adapter that runs ``train.train`` and reports to Tune.

``config["trial"]`` is the cell's ``TrialSpec``. The trial's process imports the sweep's plugins
first, so that their architectures and datasets exist here too. Heartbeats (``"progress"``) and
epochs (``"epoch"``) are reported with ``tune.report`` as they happen; the last report carries the
``TrialOutcome`` (``"outcome"``) and the ``Placement`` (``"placement"``: node, device, Ray). The
driver (``sweep.ResultsCallback``) completes the placement and stores the row, so no result depends
on a worker's disk.
"""

from __future__ import annotations

from dataclasses import replace

import ray
import torch
from ray import tune

from orchestrator import plugins
from orchestrator.train import train
from orchestrator.trial import Placement, TrialSpec


def run_trial(config: dict) -> None:
    """Tune function trainable for one ``TrialSpec``."""
    spec: TrialSpec = config["trial"]
    plugins.load(spec.plugins)
    device = spec.device
    if device is None:
        # Ray leaves a GPU visible to a trial that asked for none: train where Ray scheduled us.
        device = "cuda" if ray.get_gpu_ids() else "cpu"
    node_id = ray.get_runtime_context().get_node_id()
    where = {"device_key": f"{node_id}/{device}:" + ",".join(map(str, ray.get_gpu_ids()))}
    outcome = train(replace(spec, device=device),
                    on_epoch=lambda epoch: tune.report({"epoch": epoch, **where}),
                    on_progress=lambda progress: tune.report({"progress": progress, **where}))
    placement = Placement(device=torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu",
                          node_id=node_id, ray_version=ray.__version__)
    tune.report({"outcome": outcome, "placement": placement, **where})
