"""``archbench export``: the results, every attempt on record, into TensorBoard or MLflow.

Each exporter's package is an optional extra, imported only when its command runs; without it the
command says in one line which extra to install (exit 2).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Optional

import typer

from orchestrator.export import ExportError, attempts
from orchestrator.options import RESULTS_DIR, ResultsOpt
from orchestrator.results import ResultStore

export_app = typer.Typer(no_args_is_help=True, help="Export every attempt on record to TensorBoard or MLflow.")

SweepOpt = Annotated[Optional[str], typer.Option("--sweep", help="Export this sweep only (default: every sweep).")]


@export_app.command("tensorboard")
def tensorboard(
    directory: Annotated[Path, typer.Argument(
        help="Log directory: one run per attempt under sweep/arch/dataset/seed-N[-attempt-K]; open it with "
             "`tensorboard --logdir DIR`.")],
    results: ResultsOpt = RESULTS_DIR,
    sweep_name: SweepOpt = None,
) -> None:
    """Write TensorBoard event files: per-epoch scalars, final metrics and the HParams view; a re-export replaces."""
    _require("tensorboard", "tensorboard")
    from orchestrator.export.tensorboard import export_tensorboard

    chosen = attempts(ResultStore(results), sweep_name)
    if directory.exists() and not directory.is_dir():
        raise ExportError(f"log directory {directory} is a file, not a directory")
    try:
        runs = export_tensorboard(chosen, directory)
    except OSError as exc:
        raise ExportError(f"cannot write {exc.filename or directory}: {exc.strerror or exc}") from exc
    typer.echo(f"tensorboard: {len(runs)} runs in {directory}; open them with: tensorboard --logdir {directory}")


@export_app.command("mlflow")
def mlflow(
    tracking_uri: Annotated[str, typer.Option(
        "--tracking-uri", help="MLflow tracking server (http://HOST:PORT) or any URI MLflow takes, e.g. "
                               "sqlite:///mlflow.db.")],
    experiment: Annotated[str, typer.Option(
        help="Experiment the runs go into, created when missing.")] = "archbench",
    results: ResultsOpt = RESULTS_DIR,
    sweep_name: SweepOpt = None,
) -> None:
    """Add one parent run per sweep and one child run per attempt to MLflow, leaving out what is already there."""
    _require("mlflow", "mlflow")
    from orchestrator.export.mlflow import export_mlflow

    done = export_mlflow(attempts(ResultStore(results), sweep_name), tracking_uri, experiment)
    typer.echo(f"mlflow: {done.children_added} attempt runs and {done.parents_added} sweep runs added, "
               f"{done.already_there} attempts already there; experiment {experiment!r} (id {done.experiment_id}) "
               f"at {tracking_uri}")


def _require(extra: str, module: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError:
        needed = f"archbench export {extra} needs the optional extra: pip install 'archbench[{extra}]'"
        raise ExportError(needed) from None
