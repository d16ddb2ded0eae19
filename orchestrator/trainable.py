"""The Ray Tune trainable: a thin adapter that runs ``train.train`` and reports to Tune.

``config["trial"]`` is the cell's ``TrialSpec``. The trial's process imports the sweep's plugins
first, so that their architectures and datasets exist here too. Heartbeats (``"progress"``) and
epochs (``"epoch"``) are reported with ``tune.report`` as they happen; the last report carries the
``TrialRow`` (``"row"``) with where the trial ran. The driver (``sweep.ResultsCallback``) stores
the rows, so no result depends on a worker's disk.
"""

from __future__ import annotations

from dataclasses import replace

import ray
from ray import tune

from orchestrator import plugins
from orchestrator.train import train
from orchestrator.trial import TrialSpec


def run_trial(config: dict) -> None:
    """Tune function trainable for one ``TrialSpec``."""
    spec: TrialSpec = config["trial"]
    plugins.load(spec.plugins)
    device = spec.device
    if device is None:
        # Ray leaves a GPU visible to a trial that asked for none: train where Ray scheduled us.
        device = "cuda" if ray.get_gpu_ids() else "cpu"
    context = ray.get_runtime_context()
    where = {"node_id": context.get_node_id(), "device_key": f"{context.get_node_id()}/{device}:"
             + ",".join(map(str, ray.get_gpu_ids()))}
    row = train(replace(spec, device=device),
                on_epoch=lambda epoch: tune.report({"epoch": epoch, **where}),
                on_progress=lambda progress: tune.report({"progress": progress, **where}))
    tune.report({"row": row.with_(node_id=where["node_id"], ray_version=ray.__version__), **where})
