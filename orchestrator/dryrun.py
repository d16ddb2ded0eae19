"""``archbench sweep --dry-run``: what the same command would do, said without doing it.

``preview`` finds what a run would do through the functions a run uses (``sweep.cells_to_run`` for
the trials, their order and the seeds skipped; ``sweep.storage_of``; ``connection.check_reachable``
for a cluster's address) and times each architecture × input shape (``estimate``); ``describe``
says it. Nothing is written, Ray is not started and no dataset is downloaded: a bad input is
refused with the same one-line error as a run, since the checks are the same.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from orchestrator import data
from orchestrator.connection import RaySite, check_reachable
from orchestrator.estimate import PROBE_STEPS, STARTUPS, Estimate, estimate
from orchestrator.plan import DEFAULT_GPU_FRACTION, SweepPlan
from orchestrator.render import render, wrap
from orchestrator.results import ResultStore
from orchestrator.sweep import cells_to_run, checkpoints_on, storage_of
from orchestrator.trial import Cell

_EPSILON = 1e-9   # a share such as 0.1 fits ten times into 1.0 despite floating point


@dataclass(frozen=True)
class Preview:
    """What a run of ``plan`` would do."""

    plan: SweepPlan
    site: RaySite
    results: Path
    cells: list[Cell]           # the trials to run, in the order they start
    skipped: list[Cell]         # the seeds that have a result
    storage: str                # Ray Tune's storage
    checkpoints: bool
    gpus: float | None          # GPUs per trial; None: decided when the sweep joins the cluster
    slots: int | None           # trials at once; None: not known without joining the cluster
    slots_why: str
    data: list[str]             # one phrase per real dataset to train on
    estimate: Estimate | None   # None when nothing would run, or no trial fits this machine


def preview(plan: SweepPlan, store: ResultStore, site: RaySite) -> Preview:
    """What a run of ``plan`` would do; SweepError or DataUnavailableError where the run would refuse it."""
    cells, skipped = cells_to_run(plan, store)
    phrases = _data(plan, cells, site)
    if cells and not site.local:   # as a run joins the cluster: only when it has trials to run
        check_reachable(site.address)
    if site.local:
        gpus = plan.gpus_per_trial if plan.gpus_per_trial is not None else (
            DEFAULT_GPU_FRACTION if torch.cuda.is_available() else 0.0)
        slots, slots_why = _local_slots(plan, gpus, len(cells))
    else:
        gpus = plan.gpus_per_trial
        slots = plan.max_concurrent
        slots_why = ("--max-concurrent" if slots else
                     "as many as the cluster's free resources allow: not known without joining it")
    device = "cuda" if torch.cuda.is_available() and (gpus is None or gpus > 0) else "cpu"
    timing = estimate(plan, cells, device) if cells and slots != 0 else None
    return Preview(plan=plan, site=site, results=store.root, cells=cells, skipped=skipped,
                   storage=storage_of(plan, store), checkpoints=checkpoints_on(plan, site), gpus=gpus, slots=slots,
                   slots_why=slots_why, data=phrases, estimate=timing)


def describe(preview: Preview) -> str:
    """The preview as text for a terminal: the plan, a table of the trials, their order and the estimate."""
    plan, cells = preview.plan, preview.cells
    lines = ["Dry run: nothing is written, Ray is not started, no dataset is downloaded.",
             "Ray, in a real run: " + preview.site.why.removeprefix("Ray: "),
             (f"sweep {plan.name!r}: {len(cells)} trials to run of {len(plan.cells())} ("
              f"{_count(len(plan.archs), 'architecture')} × {_count(len(plan.datasets), 'dataset')} × "
              f"{_count(plan.seeds, 'seed')}); {len(preview.skipped)} skipped: they have a result (ok, diverged or "
              "collapsed)")]
    gpus = "a GPU share decided when it joins the cluster" if preview.gpus is None else f"{preview.gpus:g} GPU"
    slots = "?" if preview.slots is None else str(preview.slots)
    lines.append(f"each trial: {plan.cpus_per_trial:g} CPU + {gpus}; at most {slots} at once ({preview.slots_why})")
    lines.append(f"results: {preview.results}; Ray storage: {preview.storage} (mid-trial checkpoints "
                 f"{'on' if preview.checkpoints else 'off: a cluster needs --storage that every node reaches'})")
    lines.extend(f"data: {phrase}" for phrase in preview.data)
    lines += ["", _table(preview)]
    if cells:
        order = ", ".join(f"{a}/{d}" for a, d in dict.fromkeys((c.arch, c.dataset) for c in cells))
        lines.append(wrap(f"Order: in seed rounds, every cell's first seed before any cell's second; within a "
                          f"round, the cells that train on the most images (epochs × training images) first: "
                          f"{order}."))
        lines.append(_estimate_text(preview))
    return "\n".join(lines)


def _local_slots(plan: SweepPlan, gpus: float, trials: int) -> tuple[int, str]:
    """How many trials a local Ray runs at once, and why."""
    cpus = os.cpu_count() or 1
    limits = {f"this machine's {cpus} CPUs, {plan.cpus_per_trial:g} a trial":
              int(cpus / plan.cpus_per_trial + _EPSILON)}
    if gpus > 0:
        count = torch.cuda.device_count()
        limits[f"this machine's {count} GPUs, {gpus:g} a trial"] = int(count / gpus + _EPSILON)
    if plan.max_concurrent is not None:
        limits["--max-concurrent"] = plan.max_concurrent
    why, slots = min(limits.items(), key=lambda item: item[1])
    if slots == 0:
        return 0, f"no trial fits: {why}"
    if 0 < trials < slots:
        return trials, f"every trial to run; {why} would allow {slots}"
    return slots, why


def _data(plan: SweepPlan, cells: list[Cell], site: RaySite) -> list[str]:
    """Where each real dataset to train on would come from; DataUnavailableError where the run would stop."""
    real = [name for name in dict.fromkeys(c.dataset for c in cells) if not data.spec(name).synthetic]
    if not real:
        return []
    if not site.local:
        return [f"{', '.join(real)}: each node reads its own data root" +
                (", downloading what it lacks" if plan.download else "")]
    data.check_counts(real, plan.data_dir)    # the run's refusal of files that hold other counts, writing nothing
    found = data.info(plan.data_dir).set_index("name")
    phrases = []
    for name in real:
        folder = Path(found.loc[name, "path"])
        if found.loc[name, "complete"]:
            phrases.append(f"{name} is in {folder}")
        elif plan.download:
            _check_creatable(name, folder)
            phrases.append(f"{name} would be downloaded into {folder}")
        elif not folder.exists():
            # Raises the run's own error without writing: there is nothing to decode.
            data.load_split(name, "test", plan.data_dir, download=False, limit=1)
        else:
            phrases.append(f"{name} would be decoded from the files in {folder}")
    return phrases


def _check_creatable(name: str, folder: Path) -> None:
    """DataUnavailableError, as the download would raise it, unless ``folder`` could be made, without making it."""
    existing = next(p for p in (folder.absolute(), *folder.absolute().parents) if p.exists())
    problem = (errno.ENOTDIR if not existing.is_dir() else
               errno.EACCES if not os.access(existing, os.W_OK | os.X_OK) else None)
    if problem is not None:
        raise data.DataUnavailableError(f"cannot write {name} into the data root {folder.parent}: "
                                        f"{os.strerror(problem)}")


def _table(preview: Preview) -> str:
    """Architectures down, datasets across: the seeds to run, those skipped, and each trial's estimate."""
    plan, timing = preview.plan, preview.estimate
    rows = {}
    for arch in plan.archs:
        row = {}
        for dataset in plan.datasets:
            run = [c.seed for c in preview.cells if (c.arch, c.dataset) == (arch, dataset)]
            done = [c.seed for c in preview.skipped if (c.arch, c.dataset) == (arch, dataset)]
            text = _seeds(run) if run else "none"
            if done:
                text += f" ({_seeds(done)} done)"
            if run and timing is not None:
                seconds = timing.trial_seconds.get(Cell(arch, dataset, run[0]))
                text += f" · {_duration(seconds) if seconds is not None else 'no estimate'}"
            row[data.spec(dataset).title] = text
        rows[arch] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "arch"
    return render(table, "table", title="Trials: the seeds to run (those done) · a trial's estimated time")


def _estimate_text(preview: Preview) -> str:
    timing = preview.estimate
    if timing is None:
        return f"Estimated wall time: none, {preview.slots_why}."
    slots = preview.slots or 1
    where = "this machine's" if preview.site.local else "this machine's (the cluster's nodes may differ)"
    threads = f", {timing.threads} thread{'s' if timing.threads > 1 else ''}" if timing.device == "cpu" else ""
    basis = (f"Basis: each architecture × input shape trained for 2 epochs of {PROBE_STEPS} steps at its batch size "
             f"through archbench's own training (train.train) on {where} {timing.device}{threads}, on generated "
             "images of the dataset's shape; a trial = its setup (data, model, warm-up, as the probe took them) + "
             "epochs × (steps × a warm step + evaluated images × a warm image); the trials started in the run order "
             f"on {slots} slot{'s' if slots > 1 else ''}")
    if preview.slots is None:
        basis += " (the cluster's own count is not known: divide by how many it runs at once)"
    basis += (f"; plus {STARTUPS} start-ups of {_duration(timing.startup_seconds)} (a fresh process's imports, "
              "timed: the driver's, Ray's own start and the first workers') and the closing tables' "
              f"{_duration(timing.closing_seconds)} (their imports, timed). Not counted: retries, downloads, "
              "storage that is not on this machine, trials sharing a device slowing one another, and load on the "
              "machine that comes or goes.")
    total = _duration(timing.wall_seconds(preview.cells, slots))
    lines = [f"Estimated wall time: {total} (an estimate, not a measurement)", wrap(basis)]
    if timing.untimed:
        lines.append(wrap("Not in the estimate: " + "; ".join(f"{a}/{d}: {why}" for (a, d), why in
                                                                timing.untimed.items()) + "."))
    return "\n".join(lines)


def _seeds(seeds: list[int]) -> str:
    seeds = sorted(seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 600:
        return f"{seconds / 60:.1f} min"    # whole minutes would read 89 s as "1 min"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
