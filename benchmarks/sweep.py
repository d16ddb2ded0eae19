"""Wall time of the grid through the real ``archbench sweep --local``, trials packed N to a device, against one by one.

Every cell (architecture x dataset, seed 0) trains for ``--epochs`` at a fixed budget
(``--train-limit`` / ``--test-limit``; default: the real split sizes) on the synthetic twins of the
datasets (their real shapes and sizes, generated pixels). For each packing level the script runs the
command line, in a fresh results directory of its own:

  CUDA:  archbench sweep --local --gpus-per-trial F      for each F of --gpus-per-trial (1 = one by one)
  CPU:   archbench sweep --local --gpus-per-trial 0 --cpus-per-trial C   for each C (all cores = one by one)

and reads the stored rows back (``ResultStore.trials()``). Per level: the command's wall time (Python
and Ray start, the trials, the summary), the span of the trials (first ``started_at`` to last
``ended_at``), the sum of the trials' ``wall_seconds`` (their slowdown when packed), the most trials
seen at once on a device, each trial's peak memory, and the statuses. The packing gain is the first
level's wall time / each level's. The levels run in the order given, the first one first: give one
by one first.

``--ray-once`` starts Ray once in this process for all levels, and each level's command joins it
(``--address``): a level's wall time then holds no Ray start. ``--smaller-share`` adds, after the first
level, a share below the last one that still holds MEMORY_HEADROOM times the largest peak memory of the
first level (on CUDA). ``--each`` appends each level's line as it ends.

``--mps`` then runs the fastest level again under CUDA's Multi-Process Service (started with
``nvidia-cuda-mps-control -d`` before the level's trials create their CUDA contexts, stopped after it),
where that command exists; its line says MPS, or why it was skipped.

``--max-seconds`` skips a level that would end after it (estimate: the last level's wall time; packing
only shortens it) and interrupts one still running at it (its stored rows are kept), saying so.

Run from the repository root:
  GPU:  python benchmarks/sweep.py --gpus-per-trial 1 0.5 0.25 0.125
  CPU:  .venv/bin/python benchmarks/sweep.py --quick    (lenet5 on two datasets, 256 images: under a minute)
Prints a table and appends one JSON line to benchmarks/results/sweep.jsonl (or --results).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time

import pandas as pd  # noqa: E402
import torch  # noqa: E402
from common import (
    GRACE,
    add_run_options,
    append_item,
    device_facts,
    finish,
    mib,
    new_result,
    num,
    parse_args,
    plain,
    run_cli,
    script_parser,
)

import archs  # noqa: E402
from orchestrator import data  # noqa: E402
from orchestrator.results import ResultStore  # noqa: E402

MEMORY_HEADROOM = 1.5     # a share must hold this many times the largest peak memory measured
QUICK = {"archs": "lenet5", "datasets": "synthetic_mnist,synthetic_cifar10", "train_limit": 256, "test_limit": 128}


def run_level(flags: list[str], common: list[str], timeout: float | None, site: list[str]) -> dict:
    """One packing level: the command (``site``: --local, or --address of the Ray it joins), then its rows."""
    with tempfile.TemporaryDirectory(prefix="archbench-bench-") as tmp:
        begin = pd.Timestamp.now(tz="UTC")
        run = run_cli(["sweep", *site, *common, *flags, "--results", tmp, "--name", "bench"], timeout=timeout)
        rows = ResultStore(tmp).trials()
    if run["returncode"] not in (0, 1) and rows.empty:     # 1: some trials failed or collapsed; still timed
        raise SystemExit(f"error: archbench sweep {' '.join(flags)} exited {run['returncode']}:\n"
                         f"{run['output'][-3000:]}")
    return summarize_level(run, rows, begin)


def summarize_level(run: dict, rows: pd.DataFrame, begin: pd.Timestamp) -> dict:
    started, ended = rows["started_at"].dropna(), rows["ended_at"].dropna()
    mems = [int(m) for m in rows["peak_mem_bytes"].dropna()]
    return {
        "wall_s": round(run["wall_s"], 2), "returncode": run["returncode"], "cut": run["cut"],
        "to_first_trial_s": round((started.min() - begin).total_seconds(), 2) if len(started) else None,
        "trials_span_s": round((ended.max() - started.min()).total_seconds(), 2) if len(started) else None,
        "trial_wall_sum_s": round(float(rows["wall_seconds"].sum()), 2),
        "most_sharing_a_device": int(rows["trials_sharing_device"].max())
        if "trials_sharing_device" in rows and rows["trials_sharing_device"].notna().any() else None,
        "peak_mem_bytes_max": max(mems) if mems else None,
        "statuses": rows["status"].value_counts().to_dict(),
        "rows": [{k: plain(r.get(k)) for k in ("arch", "dataset", "status", "wall_seconds", "train_seconds",
                                                  "images_per_sec", "peak_mem_bytes", "trials_sharing_device")}
                 for r in rows.to_dict("records")],
    }


def smaller_share(peak_bytes: int | None, memory_bytes: int | None, cells: int, below: float) -> float | None:
    """A share below ``below`` that still holds MEMORY_HEADROOM x ``peak_bytes``; None if none does."""
    if not peak_bytes or not memory_bytes:
        return None
    trials = min(int(memory_bytes // (MEMORY_HEADROOM * peak_bytes)), cells, os.cpu_count() or 1)
    return round(1 / trials, 4) if trials > 1 / below else None


def gains(level: dict, first: dict) -> dict:
    """``level`` against the first level: its gain in wall time and in span, and its trials' slowdown."""
    return {"gain": round(first["wall_s"] / level["wall_s"], 3),
            "span_gain": (round(first["trials_span_s"] / level["trials_span_s"], 3)
                          if first["trials_span_s"] and level["trials_span_s"] else None),
            "slowdown": (round(level["trial_wall_sum_s"] / first["trial_wall_sum_s"], 3)
                         if first["trial_wall_sum_s"] else None)}


def under_mps(label: str, flags: list[str], common: list[str], timeout: float, site: list[str]) -> dict:
    """The level ``flags`` again with CUDA MPS running; skipped, saying why, where MPS is not at hand."""
    label = f"{label} MPS"
    control = shutil.which("nvidia-cuda-mps-control")
    if control is None:
        return {"packing": label, "mps": True, "skipped": "no nvidia-cuda-mps-control here"}
    try:
        started = subprocess.run([control, "-d"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return {"packing": label, "mps": True, "skipped": "MPS did not start within 30 s"}
    if started.returncode != 0:
        why = (started.stderr or started.stdout).strip().splitlines() or [f"exit {started.returncode}"]
        return {"packing": label, "mps": True, "skipped": f"MPS did not start: {why[-1]}"}
    try:
        return {"packing": label, "mps": True, **run_level(flags, common, timeout, site)}
    finally:
        try:
            subprocess.run([control], input="quit\n", capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            print("warning: MPS did not quit within 30 s", flush=True)


def start_ray(on_cuda: bool) -> str:
    """Start Ray in this process for every level to join; its address."""
    import ray

    ray.init(num_gpus=1 if on_cuda else 0, include_dashboard=False, log_to_driver=False, configure_logging=False)
    return ray.get_runtime_context().gcs_address


def print_table(result: dict) -> None:
    m, s = result["machine"], result["settings"]
    print(f"\n{result['cells']} cells through `archbench sweep`, {s['epochs']} epoch(s), train_limit "
          f"{s['train_limit']}, test_limit {s['test_limit']}, {m['device']}, {m['cpu_count']} cores, "
          f"load {m['load_avg_start']} -> {m['load_avg_end']}")
    print("gain = the first level's wall (or span) / this one's; slowdown = trial wall sum / the first level's; "
          "to first = command start to the first trial's start (Python, Ray, first worker)")
    print(f"{'packing':<14}{'wall s':>8}{'gain':>7}{'to first s':>11}{'span s':>8}{'gain':>7}{'trial sum s':>12}"
          f"{'slowdown':>9}{'at once':>8}{'peak MiB':>9}  statuses")
    for lv in result["levels"]:
        if "skipped" in lv:
            print(f"{lv['packing']:<14}skipped: {lv['skipped']}")
            continue
        print(f"{lv['packing']:<14}{lv['wall_s']:>8.1f}{lv['gain']:>7.2f}{num(lv['to_first_trial_s']):>11}"
              f"{num(lv['trials_span_s']):>8}{num(lv['span_gain']):>7}{lv['trial_wall_sum_s']:>12.1f}"
              f"{num(lv['slowdown']):>9}{num(lv['most_sharing_a_device'], 'd'):>8}{mib(lv['peak_mem_bytes_max']):>9}  "
              + ", ".join(f"{n} {k}" for k, n in lv["statuses"].items()) + (" (cut at the limit)" if lv["cut"] else ""))


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--gpus-per-trial", type=float, nargs="+", default=None,
                        help="packing levels on CUDA (default: 1 0.5 0.25 0.125)")
    parser.add_argument("--cpus-per-trial", type=float, nargs="+", default=None,
                        help="packing levels without a GPU (default: all cores, then half of them)")
    parser.add_argument("--archs", default=None, help="comma list (default: all)")
    parser.add_argument("--datasets", default=None, help="comma list (default: the synthetic twins of the four)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-limit", type=int, default=None, help="default: the whole training split")
    parser.add_argument("--test-limit", type=int, default=None, help="default: the whole test split")
    parser.add_argument("--batch-size", type=int, default=None, help="default: each recipe's")
    parser.add_argument("--ray-once", action="store_true", help="start Ray once here; every level joins it")
    parser.add_argument("--smaller-share", action="store_true",
                        help="add a smaller share, chosen from the first level's peak memory (CUDA)")
    parser.add_argument("--mps", action="store_true",
                        help="then the fastest level again under CUDA MPS, where nvidia-cuda-mps-control exists")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="skip levels that would end after this, interrupt one running at it")
    add_run_options(parser, "sweep", QUICK, "CPU check")
    args = parse_args(parser, QUICK)
    on_cuda = torch.cuda.is_available()
    cores = os.cpu_count() or 1
    if on_cuda:
        shares = args.gpus_per_trial or [1, 0.5, 0.25, 0.125]
        levels = [(f"{f:g} GPU", ["--gpus-per-trial", f"{f:g}"]) for f in shares]
    else:
        per_trial = args.cpus_per_trial or [float(cores), cores / 2]
        levels = [(f"{c:g} CPU", ["--gpus-per-trial", "0", "--cpus-per-trial", f"{c:g}"]) for c in per_trial]
    chosen_archs = args.archs or ",".join(archs.names())
    chosen_datasets = args.datasets or ",".join(data.names(synthetic=True))
    common = ["--archs", chosen_archs, "--datasets", chosen_datasets, "--epochs", str(args.epochs), "--no-download"]
    for flag, value in (("--train-limit", args.train_limit), ("--test-limit", args.test_limit),
                        ("--batch-size", args.batch_size)):
        if value is not None:
            common += [flag, str(value)]
    result = {**new_result(args, **device_facts()),
              "cells": len(chosen_archs.split(",")) * len(chosen_datasets.split(",")), "levels": []}
    started = time.perf_counter()
    site = ["--address", start_ray(on_cuda)] if args.ray_once else ["--local"]
    first = last = None
    for label, flags in levels:     # --smaller-share may add one while they run
        left = None if args.max_seconds is None else args.max_seconds - (time.perf_counter() - started)
        if left is not None and last is not None and last["wall_s"] > left:
            level = {"packing": label, "skipped": f"{left:.0f} s left, the last level took {last['wall_s']:.0f} s"}
        elif left is not None and left < GRACE + 20:
            level = {"packing": label, "skipped": f"{left:.0f} s left"}
        else:
            print(f"{label} per trial ...", flush=True)
            # Interrupted early enough that its grace period too ends within --max-seconds.
            level = {"packing": label, **run_level(flags, common, None if left is None else left - GRACE, site)}
            if first is None and args.smaller_share and on_cuda:
                extra = smaller_share(level["peak_mem_bytes_max"], device_facts()["device_memory_bytes"],
                                      result["cells"], below=min(shares))
                if extra:
                    levels.append((f"{extra:g} GPU", ["--gpus-per-trial", f"{extra:g}"]))
            first, last = first or level, level
            level.update(gains(level, first))
            print(f"  wall {level['wall_s']:.1f} s, gain {level['gain']:.2f}x, {level['statuses']}", flush=True)
        result["levels"].append(level)
        append_item(args, level)
    timed = [lv for lv in result["levels"] if "wall_s" in lv and not lv["cut"]]
    if args.mps and on_cuda and timed:
        best = min(timed, key=lambda lv: lv["wall_s"])
        left = None if args.max_seconds is None else args.max_seconds - (time.perf_counter() - started)
        if left is not None and best["wall_s"] > left - GRACE:
            level = {"packing": f"{best['packing']} MPS", "mps": True, "skipped": f"{left:.0f} s left"}
        else:
            flags = dict(levels)[best["packing"]]
            level = under_mps(best["packing"], flags, common, None if left is None else left - GRACE, site)
            if "wall_s" in level:
                level.update(gains(level, first))
        result["levels"].append(level)
        append_item(args, level)
    finish(result, started, args, "sweep", print_table)


if __name__ == "__main__":
    main()
