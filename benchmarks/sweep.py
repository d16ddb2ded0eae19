"""Wall time of the whole 5 x 4 grid packed several trials to a device, against the trials one by one.

Every cell (architecture x dataset, seed 0) trains for 1 epoch at a fixed budget (default: the real
split sizes, with the synthetic twins' pixels; ``--train-limit`` / ``--test-limit`` shrink it). The
grid runs once per packing level and once one by one:

  - one by one: a single worker process trains the cells in turn; the baseline is the sum of their
    ``wall_seconds`` (each trial from its start to its row: data, model, training, evaluation);
  - packed: N trials at a time share the device, N = 1/fraction for ``--gpus-per-trial`` on CUDA, or
    cores/``--cpus-per-trial`` on CPU. The packing gain is baseline / packed grid wall time.

Two engines run the packed grid:

  --engine processes  no Ray: N spawned worker processes take cells from one shared queue and call
                      ``orchestrator.train.train``; imports only torch, torchvision, numpy, pandas,
                      pyarrow, filelock and archbench's own modules (never ray or orchestrator.sweep).
                      Its level N=1 is the baseline itself.
  --engine ray        ``orchestrator.sweep.run_sweep`` on an in-process Ray (results in a temporary
                      directory), gpus_per_trial = fraction (CUDA) or cpus_per_trial (CPU).
                      The time to start Ray is measured apart and not counted in a level's wall time.

Each trial's ``peak_mem_bytes`` (peak CUDA memory, None on CPU) is recorded, to choose fractions from.

Run from the repository root:
  GPU, the real budget:   python benchmarks/sweep.py --engine processes
                          python benchmarks/sweep.py --engine ray
  CPU, a few minutes:     .venv/bin/python benchmarks/sweep.py --engine processes --quick
                          .venv/bin/python benchmarks/sweep.py --engine ray --quick
Prints a table and appends one JSON line to benchmarks/results/sweep.jsonl.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import queue
import resource
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# Must precede any import of ray (the ray engine imports it later, inside run_ray).
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import torch  # noqa: E402

from common import append_result, close_run, machine_facts  # noqa: E402

import archs  # noqa: E402
from orchestrator import data  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "sweep.jsonl"
ROW_KEYS = ("arch", "dataset", "status", "error", "steps", "train_images", "train_seconds", "wall_seconds",
            "images_per_sec", "peak_mem_bytes", "test_acc")


# ---------------------------------------------------------------- machine


def machine_info(device: str) -> dict:
    on_cuda = device == "cuda"
    return {**machine_facts(), "device": torch.cuda.get_device_name(0) if on_cuda else "cpu",
            "device_memory_bytes": torch.cuda.get_device_properties(0).total_memory if on_cuda else None}


# ---------------------------------------------------------------- the processes engine


def _worker(cells: mp.Queue, out: mp.Queue, threads: int) -> None:
    """A worker process: trains cells from ``cells`` until it gets None, sends each row to ``out``."""
    torch.set_num_threads(threads)
    from orchestrator.train import TrainConfig, train

    out.put({"ready": os.getpid(), "at": time.time()})
    while True:
        cell = cells.get()
        if cell is None:
            return
        if cell.get("device") == "cuda":
            # The worker trains one cell after another: hand back what the caching allocator kept from the
            # last one, so that this trial's peak_mem_bytes (peak reserved memory) is its own.
            torch.cuda.empty_cache()
        try:
            row = train(TrainConfig(**cell))
            row.pop("history", None)
        except Exception as exc:   # a failed trial is a row, not the end of the benchmark
            row = {"arch": cell["arch"], "dataset": cell["dataset"], "status": "failed",
                   "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        row = {k: row.get(k) for k in ROW_KEYS}
        row["pid"] = os.getpid()
        row["worker_max_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        row["ended_at"] = time.time()
        out.put(row)


def run_processes(cells: list[dict], concurrent: int, threads: int) -> dict:
    """Train ``cells`` on ``concurrent`` spawned workers sharing one queue; wall time from the first spawn."""
    ctx = mp.get_context("spawn")            # CUDA cannot be used in forked children
    todo, done = ctx.Queue(), ctx.Queue()
    for cell in cells:
        todo.put(cell)
    for _ in range(concurrent):
        todo.put(None)
    start = time.time()
    workers = [ctx.Process(target=_worker, args=(todo, done, threads), daemon=True) for _ in range(concurrent)]
    for w in workers:
        w.start()
    rows, ready = [], []
    while len(rows) < len(cells):
        try:
            message = done.get(timeout=5)
        except queue.Empty:
            if not any(w.is_alive() for w in workers):
                raise RuntimeError(f"all workers exited with {len(cells) - len(rows)} cells left")
            continue
        if "ready" in message:
            ready.append(message["at"] - start)
        else:
            message["ended_s"] = round(message.pop("ended_at") - start, 3)
            rows.append(message)
    wall = time.time() - start
    for w in workers:
        w.join(timeout=30)
    return {"wall_s": wall, "worker_start_s": ready, "rows": rows}


# ---------------------------------------------------------------- the ray engine


def start_ray() -> float:
    """Start the in-process Ray the way ``archbench sweep --local`` does; returns its start time in seconds."""
    from orchestrator.auth import local_token_auth

    local_token_auth()                       # before the first import of ray
    from orchestrator import sweep as sweeps

    start = time.perf_counter()
    sweeps.connect(local=True, address=None)
    return time.perf_counter() - start


def run_ray(cells: list[dict], template: dict, gpus: float, cpus: float, name: str, verbose: bool) -> dict:
    from orchestrator import sweep as sweeps
    from orchestrator.results import ResultStore
    from orchestrator.train import TrainConfig

    archs_ = list(dict.fromkeys(c["arch"] for c in cells))
    datasets = list(dict.fromkeys(c["dataset"] for c in cells))
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="archbench-bench-") as tmp:
        store = ResultStore(Path(tmp) / "results")
        plan = sweeps.SweepPlan(name=name, archs=archs_, datasets=datasets, seeds=1,
                                train=TrainConfig(arch="", dataset="", **template), gpus_per_trial=gpus,
                                cpus_per_trial=cpus, max_failures=0, storage=str(Path(tmp) / "ray"))
        start = time.perf_counter()
        sweeps.run_sweep(plan, store, local=True, address=None,
                         log=(lambda line: print("   ", line, flush=True)) if verbose else lines.append)
        wall = time.perf_counter() - start
        trials = store.trials()
    rows = [{k: _plain(r.get(k)) for k in ROW_KEYS} for r in trials.to_dict("records")]
    return {"wall_s": wall, "rows": rows}


def _plain(value):
    """A pandas/numpy cell as a JSON-ready Python value (NA and NaN as None)."""
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


# ---------------------------------------------------------------- the run


def level_summary(run: dict, baseline_sum: float, concurrent: int) -> dict:
    rows = run["rows"]
    walls = [r["wall_seconds"] for r in rows if r.get("wall_seconds") is not None]
    mems = [r["peak_mem_bytes"] for r in rows if r.get("peak_mem_bytes")]
    trial_sum = sum(walls)
    return {
        "wall_s": round(run["wall_s"], 2),
        "packing_gain": round(baseline_sum / run["wall_s"], 3) if run["wall_s"] else None,
        "trial_wall_sum_s": round(trial_sum, 2),
        "trial_slowdown": round(trial_sum / baseline_sum, 3) if baseline_sum else None,
        # No schedule of these trials on ``concurrent`` slots can end before this.
        "lower_bound_s": round(max(trial_sum / concurrent, max(walls, default=0)), 2),
        "ok": sum(r.get("status") == "ok" for r in rows), "trials": len(rows),
        "peak_mem_bytes_max": max(mems) if mems else None,
        "worker_start_s": [round(x, 2) for x in run.get("worker_start_s", [])] or None,
    }


def print_tables(result: dict) -> None:
    m, s = result["machine"], result["settings"]
    print(f"\n5x4 grid, 1 epoch, engine {s['engine']}, {m['device']}, {m['cpu_count']} cores, torch {m['torch']}, "
          f"train_limit {s['train_limit']}, test_limit {s['test_limit']}, threads/trial {s['threads']}, "
          f"load {m['load_avg_start']} -> {m['load_avg_end']}")
    if result.get("ray_init_s") is not None:
        print(f"ray start (not in the walls below): {result['ray_init_s']:.2f} s")
    base = result["baseline"]
    print(f"one by one: sum of trial wall_seconds {base['trial_wall_sum_s']:.2f} s "
          f"(the baseline; its own wall {base['wall_s']:.2f} s)")
    print("gain = baseline / wall; vs 1 = wall at 1 at a time (same engine) / wall; slowdown = trial sum / "
          "baseline; bound = max(trial sum / concurrent, longest trial); start = last worker ready")
    one = next((lv["wall_s"] for lv in result["levels"] if lv["concurrent"] == 1), None)
    print(f"{'packing':<10}{'concurrent':>10}{'wall s':>9}{'gain':>7}{'vs 1':>7}{'trial sum s':>12}{'slowdown':>9}"
          f"{'bound s':>9}{'start s':>8}{'ok':>7}{'peak mem':>10}")
    for lv in result["levels"]:
        mem = f"{lv['peak_mem_bytes_max'] / 2**20:.0f} MiB" if lv["peak_mem_bytes_max"] else "-"
        vs_one = f"{one / lv['wall_s']:.2f}" if one else "-"
        start = f"{max(lv['worker_start_s']):.2f}" if lv.get("worker_start_s") else "-"
        print(f"{lv['packing']:<10}{lv['concurrent']:>10}{lv['wall_s']:>9.2f}{lv['packing_gain']:>7.2f}{vs_one:>7}"
              f"{lv['trial_wall_sum_s']:>12.2f}{lv['trial_slowdown']:>9.2f}{lv['lower_bound_s']:>9.2f}{start:>8}"
              f"{lv['ok']:>4}/{lv['trials']:<2}{mem:>10}")
    print("\nper trial, one by one: wall s, train images/s, peak memory")
    for r in result["baseline"]["rows"]:
        mem = f"{r['peak_mem_bytes'] / 2**20:.0f} MiB" if r.get("peak_mem_bytes") else "-"
        ips = f"{r['images_per_sec']:.0f}" if r.get("images_per_sec") else "-"
        print(f"  {r['arch']:<11}{r['dataset']:<24}{r['wall_seconds'] or 0:>8.2f}{ips:>9}{mem:>10}  {r['status']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.split("\n")[1:]))
    parser.add_argument("--engine", choices=("processes", "ray"), required=True)
    parser.add_argument("--device", choices=("cuda", "cpu"), default=None, help="default: cuda when available")
    parser.add_argument("--gpus-per-trial", type=float, nargs="+", default=[1, 0.5, 0.25, 0.2],
                        help="packing levels on CUDA (default: 1 0.5 0.25 0.2)")
    parser.add_argument("--cpus-per-trial", type=float, nargs="+", default=None,
                        help="packing levels on CPU (default: all cores, then half of them)")
    parser.add_argument("--archs", nargs="+", default=None, help="default: all five")
    parser.add_argument("--datasets", nargs="+", default=None,
                        help="default: the synthetic twins of the four (real names need the data on disk)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-limit", type=int, default=None, help="default: the whole training split")
    parser.add_argument("--test-limit", type=int, default=None, help="default: the whole test split")
    parser.add_argument("--batch-size", type=int, default=None, help="default: each recipe's")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads per trial (default: 1 on CPU; cores / concurrent on CUDA)")
    parser.add_argument("--quick", action="store_true", help="CPU preset: --train-limit 512 --test-limit 256")
    parser.add_argument("--verbose", action="store_true", help="show the sweep's own lines (ray engine)")
    parser.add_argument("--no-save", action="store_true", help=f"do not append to {RESULTS.name}")
    args = parser.parse_args()
    if args.quick:
        args.train_limit = args.train_limit or 512
        args.test_limit = args.test_limit or 256
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    cores = os.cpu_count() or 1
    if device == "cuda":
        levels = [(f"{f:g} GPU", max(int(1 / f + 1e-6), 1), f) for f in args.gpus_per_trial]
    else:
        per_trial = args.cpus_per_trial or [float(cores), cores / 2]
        levels = [(f"{c:g} CPU", max(int(cores / c + 1e-6), 1), c) for c in per_trial]
    chosen_archs = args.archs or archs.names()
    chosen_datasets = args.datasets or data.names(synthetic=True)
    for name in chosen_datasets:
        if not data.spec(name).synthetic:
            try:   # nothing is downloaded: the real data must already be in the data root
                data.load_split(name, "test", limit=1)
            except (data.DataUnavailableError, ModuleNotFoundError) as exc:   # no platformdirs: no default root
                parser.error(f"{name}: {exc}; set ARCHBENCH_DATA to a data root that holds it")
    template = {"epochs": args.epochs, "train_limit": args.train_limit, "test_limit": args.test_limit,
                "batch_size": args.batch_size, "device": device}
    cells = [{"arch": a, "dataset": d, "seed": 0} for a in chosen_archs for d in chosen_datasets]

    def threads_for(concurrent: int) -> int:
        if args.threads:
            return args.threads
        return 1 if device == "cpu" else max(cores // concurrent, 1)

    result = {"machine": machine_info(device), "command": " ".join([Path(sys.executable).name, *sys.argv]),
              "settings": {**vars(args), "threads": args.threads or ("1" if device == "cpu" else "cores/concurrent"),
                           "device": device},
              "cells": len(cells), "levels": []}
    started = time.perf_counter()

    # The baseline: one worker process, the cells one by one (in the processes engine, also its level N=1).
    print(f"one by one: {len(cells)} trials in one worker process ...", flush=True)
    base_threads = threads_for(1)
    baseline = run_processes([{**template, **c, "threads": base_threads} for c in cells], 1, base_threads)
    base_sum = sum(r["wall_seconds"] or 0 for r in baseline["rows"])
    result["baseline"] = {"wall_s": round(baseline["wall_s"], 2), "trial_wall_sum_s": round(base_sum, 2),
                          "worker_start_s": [round(x, 2) for x in baseline["worker_start_s"]],
                          "rows": baseline["rows"]}
    print(f"  sum of trial walls {base_sum:.2f} s, wall {baseline['wall_s']:.2f} s", flush=True)

    if args.engine == "ray":
        result["ray_init_s"] = round(start_ray(), 2)
        print(f"ray started in {result['ray_init_s']:.2f} s", flush=True)
    for label, concurrent, amount in levels:
        print(f"packed {label} per trial ({concurrent} at a time) ...", flush=True)
        threads = threads_for(concurrent)
        if args.engine == "processes":
            if concurrent == 1 and threads == base_threads:
                run = baseline
            else:
                run = run_processes([{**template, **c, "threads": threads} for c in cells], concurrent, threads)
        else:
            gpus, cpus = (amount, 1.0) if device == "cuda" else (0.0, amount)
            run = run_ray(cells, {**template, "threads": threads}, gpus, cpus,
                          name=f"bench-{label.replace(' ', '')}", verbose=args.verbose)
        summary = {"packing": label, "concurrent": concurrent, "threads": threads,
                   **level_summary(run, base_sum, concurrent), "rows": run["rows"]}
        result["levels"].append(summary)
        print(f"  wall {summary['wall_s']:.2f} s, gain {summary['packing_gain']:.2f}x, "
              f"{summary['ok']}/{summary['trials']} ok", flush=True)
    if args.engine == "ray":
        import ray

        ray.shutdown()
    close_run(result, started)
    print_tables(result)
    print(f"{result['seconds']} s in all")
    if not args.no_save:
        append_result(RESULTS, result)


if __name__ == "__main__":
    main()
