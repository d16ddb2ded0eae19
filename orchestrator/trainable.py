"""The Ray Tune trainable: a thin adapter that runs ``train.train`` and reports to Tune.

Each epoch is reported with ``tune.report``; the last report carries the whole result row with
``final=True`` and where the trial ran. The driver (``sweep.ResultsCallback``) turns those reports
into Parquet rows, so no result depends on a worker's disk.
"""

from __future__ import annotations

import ray
from ray import tune

from orchestrator.train import TrainConfig, train


def run_trial(config: dict) -> None:
    """Tune function trainable. ``config`` = {"cell": {arch, dataset, seed}, "train": TrainConfig fields}."""
    cell = config["cell"]
    train_config = TrainConfig(**{**config["train"], **cell, "fault": config.get("faults", {}).get(
        f"{cell['arch']}/{cell['dataset']}")})
    if train_config.device is None:
        # Ray leaves a GPU visible to a trial that asked for none: train where Ray scheduled us.
        train_config.device = "cuda" if ray.get_gpu_ids() else "cpu"
    row = train(train_config, report=lambda epoch: tune.report({"final": False, **epoch}))
    context = ray.get_runtime_context()
    row.pop("history")
    row.update(
        node_id=context.get_node_id(),   # Tune adds hostname and node_ip to every report itself
        ray_version=ray.__version__,
        started_at=row["started_at"].isoformat(),
        ended_at=row["ended_at"].isoformat(),
    )
    tune.report({"final": True, **row})
