"""Attempts as MLflow runs: one parent run per sweep, one child run per attempt, added once.

A child run carries the setup as params, the per-epoch metrics (step = epoch), the final metrics
as ``final/...``, and the tags sweep, arch, dataset, seed, attempt and status (with the error of an
attempt that did not end ok). Its start and end are the attempt's, and a failed attempt ends as a
FAILED run. Every run archbench makes has the tag ``archbench.key``, which names what it holds; an
export first lists the experiment's runs by that tag and adds only what is missing. A child is
created RUNNING and ended last, so a run of ours still RUNNING is one an interrupted export left
half-written: the next export deletes it and writes it again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone

from mlflow.entities import Metric, Param, RunInfo, RunStatus
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from orchestrator.errors import first_line
from orchestrator.export import FINAL_PREFIX, ExportedAttempt, ExportError

KEY_TAG = "archbench.key"
PARENT_TAG = "mlflow.parentRunId"   # MLflow's own: nests a run under its parent in the UI
DEFAULT_EXPERIMENT = "archbench"
# MLflow retries a request 7 times with a doubling backoff (minutes against a server that is down), and
# prints two links per run it ends; the export says in one line what it did. A user's own settings win.
_CLIENT_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10", "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}


@dataclass(frozen=True)
class MlflowExport:
    """What an export did: runs added (parents and children), and attempts already there."""

    experiment_id: str
    parents_added: int
    children_added: int
    already_there: int


def export_mlflow(attempts: list[ExportedAttempt], tracking_uri: str,
                  experiment: str = DEFAULT_EXPERIMENT) -> MlflowExport:
    """Add to ``experiment`` at ``tracking_uri`` the runs of ``attempts`` that it does not hold yet.

    Raises ExportError, with nothing created, when the tracking server does not answer; and when it
    stops answering midway, with the runs added so far whole (the same export goes on from them).
    """
    for name, value in _CLIENT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    try:
        client = MlflowClient(tracking_uri)
        client.search_experiments(max_results=1)
    except (MlflowException, OSError) as exc:
        raise ExportError(f"cannot reach an MLflow tracking store at {tracking_uri}: {first_line(exc)}") from None
    try:
        return _export(client, attempts, experiment)
    except (MlflowException, OSError) as exc:
        raise ExportError(f"tracking URI {tracking_uri} failed during the export ({first_line(exc)}); the runs "
                          "written so far are whole, and the same command adds the rest") from None


def _export(client: MlflowClient, attempts: list[ExportedAttempt], experiment: str) -> MlflowExport:
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found else client.create_experiment(experiment)
    existing = _runs_by_key(client, experiment_id)
    parents_added = children_added = already_there = 0
    for sweep in dict.fromkeys(a.sweep for a in attempts):
        parent = existing.get(_parent_key(sweep))
        if parent is None:
            parent = client.create_run(experiment_id, run_name=sweep,
                                       tags={KEY_TAG: _parent_key(sweep), "sweep": sweep}).info
            parents_added += 1
        for attempt in (a for a in attempts if a.sweep == sweep):
            child = existing.get(_child_key(attempt))
            if child is not None and child.status != RunStatus.to_string(RunStatus.RUNNING):
                already_there += 1
                continue
            if child is not None:
                client.delete_run(child.run_id)
            _add_child(client, experiment_id, parent.run_id, attempt)
            children_added += 1
        if parent.status == RunStatus.to_string(RunStatus.RUNNING):
            client.set_terminated(parent.run_id, "FINISHED")
    return MlflowExport(experiment_id, parents_added, children_added, already_there)


def _add_child(client: MlflowClient, experiment_id: str, parent_id: str, attempt: ExportedAttempt) -> None:
    run_name = attempt.run_name.removeprefix(f"{attempt.sweep}/")
    tags = {KEY_TAG: _child_key(attempt), PARENT_TAG: parent_id, "sweep": attempt.sweep, "arch": attempt.arch,
            "dataset": attempt.dataset, "seed": str(attempt.seed), "attempt": str(attempt.attempt),
            "status": attempt.status}
    if attempt.error:
        tags["error"] = attempt.error
    run = client.create_run(experiment_id, start_time=_millis(attempt.started_at), tags=tags, run_name=run_name)
    metrics = [Metric(name, value, _millis(at), epoch.epoch)
               for epoch, at in zip(attempt.epochs, attempt.epoch_times())
               for name, value in attempt.epoch_metrics(epoch).items()]
    last_epoch = attempt.epochs[-1].epoch if attempt.epochs else 0
    metrics += [Metric(FINAL_PREFIX + name, value, _millis(attempt.ended_at), last_epoch)
                for name, value in attempt.final.items()]
    params = [Param(name, str(value)) for name, value in attempt.setup.items()]
    client.log_batch(run.info.run_id, metrics=metrics, params=params)
    status = "FAILED" if attempt.status == "failed" else "FINISHED"
    client.set_terminated(run.info.run_id, status, end_time=_millis(attempt.ended_at))


def _runs_by_key(client: MlflowClient, experiment_id: str) -> dict[str, RunInfo]:
    """The experiment's live runs that archbench made, by their KEY_TAG, as ``RunInfo``s."""
    runs: dict[str, RunInfo] = {}
    token = None
    while True:
        page = client.search_runs([experiment_id], filter_string=f"tags.`{KEY_TAG}` LIKE '%'", max_results=1000,
                                  page_token=token)
        runs.update({run.data.tags[KEY_TAG]: run.info for run in page})
        token = page.token
        if not token:
            return runs


def _parent_key(sweep: str) -> str:
    return f"sweep={sweep}"


def _child_key(attempt: ExportedAttempt) -> str:
    return (f"sweep={attempt.sweep} arch={attempt.arch} dataset={attempt.dataset} seed={attempt.seed} "
            f"attempt={attempt.attempt}")


def _millis(at: datetime | None) -> int:
    """Milliseconds since the epoch, as MLflow counts time; now where the row does not say."""
    return int((at or datetime.now(timezone.utc)).timestamp() * 1000)
