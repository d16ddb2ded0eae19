"""The ``archbench`` command line.

Exit codes: 0 success; 1 the sweep ran but some trials failed or their rows could not be written;
2 bad input (nothing written); 3 Ray's head stopped answering mid-sweep (the stored rows are intact,
the same command continues); 130 interrupted.

A command ends on bad input by raising an ``ArchbenchError`` (every module's one-line errors derive from it);
``main()`` prints it as ``error: <message>`` and exits with 2. The sweep's options default to the fields of
``SweepPlan`` and ``Budget``, read from the dataclasses, so each default is declared there once.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Optional

import torch
import typer
from rich.console import Console

import archs
from orchestrator import data, plugins
from orchestrator.atomic import atomic_write_text
from orchestrator.auth import local_token_auth
from orchestrator.errors import ArchbenchError
from orchestrator.export.cli import export_app
from orchestrator.options import RESULTS_DIR, ResultsOpt
from orchestrator.plan import DEFAULT_GPU_FRACTION, SweepPlan
from orchestrator.render import FORMATS, render
from orchestrator.results import ResultsError, ResultStore
from orchestrator.trial import Budget, PlanError

if TYPE_CHECKING:
    from orchestrator.sweep import SweepOutcome

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Which image-classification architecture works best on which dataset: "
                       "the whole grid as one Ray Tune sweep.")
data_app = typer.Typer(no_args_is_help=True, help="Download, import and inspect the datasets.")
app.add_typer(data_app, name="data")
app.add_typer(export_app, name="export")
console = Console(highlight=False)

EXIT_BAD_INPUT = 2
EXIT_HEAD_LOST = 3
SMOKE = {"train_limit": 1024, "test_limit": 128, "epochs": 2, "batch_size": 32}
SWEEP_NAME, SMOKE_SWEEP_NAME = "study", "smoke"
# The sweep's defaults: the fields of the plan and of its budget.
PLAN_DEFAULTS: dict[str, Any] = {f.name: f.default for cls in (SweepPlan, Budget) for f in dataclasses.fields(cls)
                                 if f.default is not dataclasses.MISSING}
# The output formats of `summarize` and `params`, as choices Typer checks: one line naming the valid ones.
Format = Enum("Format", {name: name for name in FORMATS}, type=str)

DataDirOpt = Annotated[Optional[Path], typer.Option(
    "--data-dir", help="Dataset root. Default: $ARCHBENCH_DATA, else the user cache dir.")]
PluginOpt = Annotated[Optional[list[str]], typer.Option(
    "--plugin", help="A module (mypkg.models) or .py file that registers architectures or datasets; repeatable. "
                     "Plugins of the 'archbench.plugins' entry-point group load anyway.")]


def load_plugins(names: list[str] | None) -> tuple[str, ...]:
    """Import the plugins (and the entry-point ones); a bad one raises PluginError naming it."""
    resolved = tuple(plugins.resolve(name) for name in names or ())
    plugins.load(resolved)
    return resolved


def real_datasets(names: list[str]) -> list[str]:
    """``names`` without repeats, each a real dataset; else an error naming the first unknown and the valid ones."""
    valid = data.names()
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ArchbenchError(f"unknown dataset {unknown[0]!r}; valid: {', '.join(valid)}")
    return list(dict.fromkeys(names))


@app.command("archs")
def list_archs(plugin: PluginOpt = None) -> None:
    """List the registered architectures and the datasets."""
    load_plugins(plugin)
    console.print("architectures: " + ", ".join(archs.names()))
    console.print("datasets:      " + ", ".join(data.names()))
    console.print("synthetic:     " + ", ".join(data.names(synthetic=True)))


@app.command()
def params(
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format("table"),
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the table to this file too.")] = None,
    plugin: PluginOpt = None,
) -> None:
    """Print Table 3 (parameter counts) of every registered architecture and dataset, built without training,
    beside the study's Table 4.3."""
    from orchestrator.report import PARAMS_VS_STUDY_TITLE, parameter_counts, params_table

    load_plugins(plugin)
    plugins.check(archs.names(), data.names())
    table = params_table(parameter_counts(), vs_study=True)
    text = render(table, fmt.value, title=PARAMS_VS_STUDY_TITLE)
    typer.echo(text)
    if out is not None:
        _write_out(out, text)


@data_app.command("fetch")
def data_fetch(
    names: Annotated[Optional[list[str]], typer.Argument(help="Datasets to download (default: all real ones).")] = None,
    data_dir: DataDirOpt = None,
    plugin: PluginOpt = None,
) -> None:
    """Download datasets into the data root (once per node, under a file lock)."""
    load_plugins(plugin)
    data.fetch(real_datasets(names or data.names()), data_dir)
    typer.echo(render(data.info(data_dir).set_index("name"), "table", title="datasets"))


@data_app.command("import")
def data_import(
    name: Annotated[str, typer.Argument(help="Dataset to import, e.g. mnist.")],
    path: Annotated[Path, typer.Argument(
        help="Its official files: a directory of the idx files (.gz or not), SVHN's train_32x32.mat and "
             "test_32x32.mat, or CIFAR-10's cifar-10-python.tar.gz or extracted cifar-10-batches-py/.")],
    data_dir: DataDirOpt = None,
    plugin: PluginOpt = None,
) -> None:
    """Import a dataset from files copied in (no internet): check each file's md5, decode into the data root."""
    load_plugins(plugin)
    data.import_dataset(real_datasets([name])[0], path, data_dir)
    typer.echo(render(data.info(data_dir).set_index("name"), "table", title="datasets"))


@data_app.command("info")
def data_info(data_dir: DataDirOpt = None, plugin: PluginOpt = None) -> None:
    """Show what the data root holds: datasets, sizes, which are complete, where each came from."""
    load_plugins(plugin)
    typer.echo(render(data.info(data_dir).set_index("name"), "table",
                      title=f"data root {data_dir or data.default_root()}"))


@app.command()
def sweep(
    local: Annotated[bool, typer.Option(
        "--local", help="Start Ray in-process on this machine (the default when RAY_ADDRESS is not set).")] = False,
    address: Annotated[Optional[str], typer.Option(
        "--address", help="Join a running Ray cluster: 'auto' (the cluster this node is in), HOST:PORT, "
                          "or ray://HOST:10001 (default: $RAY_ADDRESS when set).")] = None,
    arch_list: Annotated[Optional[str], typer.Option(
        "--archs", help="Comma list of architectures (default: all).")] = None,
    dataset_list: Annotated[Optional[str], typer.Option(
        "--datasets",
        help="Comma list of datasets (default: the four real ones; synthetic_* for offline runs).")] = None,
    seeds: Annotated[int, typer.Option(help="Seeds per (architecture, dataset) cell.")] = PLAN_DEFAULTS["seeds"],
    epochs: Annotated[Optional[int], typer.Option(
        help="Epochs per trial (default: each recipe's).")] = PLAN_DEFAULTS["epochs"],
    batch_size: Annotated[Optional[int], typer.Option(
        help="Batch size (default: each recipe's; the learning rate scales with it).",
    )] = PLAN_DEFAULTS["batch_size"],
    lr: Annotated[Optional[float], typer.Option(
        help="Peak learning rate (default: each recipe's).")] = PLAN_DEFAULTS["lr"],
    val_split: Annotated[float, typer.Option(
        help="Share of the training images held out (class-stratified, the same in every cell) and scored every "
             "epoch; the best epoch is chosen on it, never on the test set. 0 trains on all of them.",
    )] = PLAN_DEFAULTS["val_split"],
    gpus_per_trial: Annotated[Optional[float], typer.Option(
        help="GPU share per trial, e.g. 0.25 packs four trials on a GPU; 0 = CPU only "
             f"(default: {DEFAULT_GPU_FRACTION} when the cluster has GPUs, else 0).",
    )] = PLAN_DEFAULTS["gpus_per_trial"],
    cpus_per_trial: Annotated[float, typer.Option(
        help="CPUs per trial (more than 0).")] = PLAN_DEFAULTS["cpus_per_trial"],
    max_concurrent: Annotated[Optional[int], typer.Option(
        help="At most this many trials at once (default: as many as resources allow).",
    )] = PLAN_DEFAULTS["max_concurrent"],
    max_failures: Annotated[int, typer.Option(
        help="Retries of a failed trial before it is recorded as failed.")] = PLAN_DEFAULTS["max_failures"],
    results: ResultsOpt = RESULTS_DIR,
    name: Annotated[Optional[str], typer.Option(
        help="Sweep name; a re-run of the same name skips the seeds that already have a result: ok, diverged or "
             f"collapsed (default: {SWEEP_NAME!r}, or {SMOKE_SWEEP_NAME!r} with --smoke).")] = None,
    storage: Annotated[Optional[str], typer.Option(
        help="Ray Tune storage for trial state: a path or s3://... / NFS (default: <results>/ray).",
    )] = PLAN_DEFAULTS["storage"],
    data_dir: DataDirOpt = None,
    download: Annotated[bool, typer.Option(help="Download missing datasets.")] = PLAN_DEFAULTS["download"],
    train_limit: Annotated[Optional[int], typer.Option(
        help="Train on a class-stratified sample of N images (the validation split is taken from it).",
    )] = PLAN_DEFAULTS["train_limit"],
    test_limit: Annotated[Optional[int], typer.Option(
        help="Test on a class-stratified sample of N images, the same sample in every cell.",
    )] = PLAN_DEFAULTS["test_limit"],
    compile_model: Annotated[bool, typer.Option(
        "--compile", help="torch.compile each model.")] = PLAN_DEFAULTS["compile"],
    smoke: Annotated[bool, typer.Option(
        "--smoke", help=f"Smoke run: a tiny budget ({SMOKE['train_limit']:,} train / {SMOKE['test_limit']:,} test "
                        f"images, {SMOKE['epochs']} epochs, batch {SMOKE['batch_size']}); the datasets default to "
                        "the synthetic twins of the real shapes, so it runs offline.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Train again the seeds that already have a result; every earlier attempt stays on record, "
                        "and the report marks a seed trained again after a collapse or divergence.",
    )] = PLAN_DEFAULTS["force"],
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print what this command would do (where, the trials and the seeds it skips, resources, "
                          "storage, data) and an estimated wall time from a short timing probe on this machine; "
                          "write nothing, start no Ray, download nothing.")] = False,
    plugin: PluginOpt = None,
) -> None:
    """Train every (architecture, dataset, seed) cell as one Ray Tune grid; results go to Parquet.

    The trials start in seed rounds: every cell's first seed before any cell's second, and within a round the
    cells that train on the most images (epochs x training images) first.
    """
    from orchestrator.connection import choose_site

    site = choose_site(local, address, os.environ)
    if site.local:
        local_token_auth()   # before Ray is first imported
    from orchestrator import sweep as sweeps
    from orchestrator.progress import make_view

    loaded = load_plugins(plugin)
    limits = dict(SMOKE) if smoke else {}
    overrides = {"epochs": epochs, "batch_size": batch_size, "train_limit": train_limit, "test_limit": test_limit}
    limits.update({k: v for k, v in overrides.items() if v is not None})
    if data_dir is not None:
        # Absolute: Ray Tune runs each trial in its own working directory.
        data_dir = data_dir.expanduser().resolve()
    try:
        plan = SweepPlan(
            name=name or (SMOKE_SWEEP_NAME if smoke else SWEEP_NAME),
            archs=_names(arch_list, archs.names()),
            datasets=_names(dataset_list, data.names(synthetic=True) if smoke else data.names()),
            seeds=seeds, budget=Budget(lr=lr, val_split=val_split, compile=compile_model, **limits),
            data_dir=str(data_dir) if data_dir else None, download=download, plugins=loaded,
            gpus_per_trial=gpus_per_trial, cpus_per_trial=cpus_per_trial, max_concurrent=max_concurrent,
            max_failures=max_failures, storage=storage, force=force)
    except PlanError as exc:   # named as the option of the same name
        raise ArchbenchError(f"--{exc.field_name.replace('_', '-')} {exc.problem}") from exc
    if site.local and plan.gpus_per_trial and not torch.cuda.is_available():
        raise ArchbenchError(f"--gpus-per-trial {plan.gpus_per_trial:g} asks for GPUs, but this machine has none; "
                             "use 0")
    plugins.check(list(plan.archs), list(plan.datasets))
    store = ResultStore(results)
    store.check_writable()
    if dry_run:
        from orchestrator import dryrun

        typer.echo(dryrun.describe(dryrun.preview(plan, store, site)))
        return
    view = make_view()
    view.note(site.why)
    outcome = sweeps.run_sweep(plan, store, site, view=view, on_head_lost=lambda so_far: _head_lost(so_far, results))
    _print_summary(store, plan.name)
    counts = ", ".join(f"{n} {s}" for s, n in sorted(outcome.statuses.items())) or "nothing to run"
    typer.echo(f"sweep {plan.name!r}: {counts} ({outcome.skipped} skipped: they have a result); results in {results}")
    if outcome.missing:
        typer.echo(f"error: interrupted: {outcome.missing} of {outcome.planned} trials have no row; "
                   "run the same command again to train them", err=True)
        raise typer.Exit(130)
    if outcome.unstored:
        typer.echo(f"error: the rows of {len(outcome.unstored)} trial(s) could not be stored, so the same command "
                   "trains them again: " + "; ".join(outcome.unstored), err=True)
        raise typer.Exit(1)
    if outcome.failures:
        typer.echo(f"error: {len(outcome.failures)} trial(s) failed: " + "; ".join(outcome.failures), err=True)
        raise typer.Exit(1)


def _head_lost(outcome: SweepOutcome, results: Path) -> NoReturn:
    """End at once with one line: Ray's own client would print its internals and end the process a minute later."""
    stored = sum(outcome.statuses.values())
    typer.echo(f"error: Ray's head stopped answering mid-sweep: {stored} of the {outcome.planned} trials this run "
               f"started have their rows stored in {results} and {outcome.missing} are unfinished; run the same "
               "command again once the cluster is back to continue them (Ray's logs on the head node say why)",
               err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_HEAD_LOST)


def _names(value: str | None, default: list[str]) -> tuple[str, ...]:
    """A comma list as names (the plan checks them), or ``default`` when the option was not given: the CLI's one
    comma-list parser."""
    if value is None:
        return tuple(default)
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _print_summary(store: ResultStore, sweep_name: str) -> None:
    from orchestrator import report

    try:
        summary = report.summarize(store.trials(), store.history(), sweep=sweep_name)
    except (report.ReportError, ResultsError) as exc:
        typer.echo(f"no tables: {exc}", err=True)
        return
    typer.echo(report.render_short(summary))


@app.command()
def summarize(
    results: ResultsOpt = RESULTS_DIR,
    sweep_name: Annotated[Optional[str], typer.Option(
        "--sweep", help="Sweep to summarize (default: the only one, else the most recent).")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Table format.")] = Format("table"),
    out: Annotated[Optional[Path], typer.Option(
        "--out", help="Directory for report.md, a self-contained report.html and the plots (PNG, SVG).")] = None,
    vs_study: Annotated[bool, typer.Option("--vs-study", help="Show the study's figure beside each cell.")] = False,
    details: Annotated[bool, typer.Option(
        "--details", help="Print everything: every note and rule, the validation and answers' tables, the answers "
                          "and conclusions in full (the default table print is the short form; other formats and "
                          "--out always have everything).")] = False,
    plugin: PluginOpt = None,
) -> None:
    """Turn the results into the study's three tables, answers to its questions, and plots."""
    from orchestrator import report

    load_plugins(plugin)   # a plugin dataset's title and traits come from its spec
    store = ResultStore(results)
    if not store.has_results():
        raise ArchbenchError(f"no results in {results}: no trial is stored there (run `archbench sweep` first)")
    summary = report.summarize(store.trials(), store.history(), sweep=sweep_name, vs_study=vs_study)
    short = fmt == Format("table") and not details
    typer.echo(report.render_short(summary) if short else report.render_summary(summary, fmt.value))
    if out is not None:
        paths = report.write_report(summary, out)
        typer.echo(f"report: {paths.markdown}, {paths.html}")


def _write_out(path: Path, text: str) -> None:
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise ArchbenchError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _usage_line(exc: Exception) -> str:
    """Typer's usage error as one line that also names the rejected value."""
    message = " ".join((exc.format_message() if hasattr(exc, "format_message") else str(exc)).split())
    errors = getattr(exc.__cause__, "errors", None)   # typer validates option values with pydantic
    if callable(errors) and errors() and "input" in errors()[0]:
        message += f" (got {errors()[0]['input']!r})"
    return message


def main() -> None:
    """Console entry point: usage errors and every ArchbenchError become one line on stderr and exit code 2."""
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors: bad option values, unknown options
        typer.echo(f"error: {_usage_line(exc)}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except ArchbenchError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    sys.exit(code if isinstance(code, int) else 0)
