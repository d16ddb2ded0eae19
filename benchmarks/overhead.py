"""The fixed cost of a sweep around its trials: Python and Ray start, scheduling and storing rows.

The same N small trials (default 20: lenet5 on synthetic_mnist, 64 train and 64 test images, 1
epoch, batch 32, seeds 0..N-1) run twice:

  - in-process: ``orchestrator.train.train`` one by one, after one untimed warm-up trial; the sum of
    the rows' ``wall_seconds`` is the work itself;
  - as ``archbench sweep --local --seeds N --max-concurrent 1`` (the same work in the same order),
    in a fresh results directory: the command's wall time, and from the stored rows (the workers'
    ``started_at`` / ``ended_at``; one machine, one clock) where the rest goes: command start to the
    first trial's start (Python, Ray and the first worker), each gap from one trial's end to the
    next one's start (the result to the driver, its row stored, the next trial scheduled), and the
    last trial's end to the command's exit (the summary, Ray's shutdown).

overhead = command wall - in-process sum. Last, ``ResultStore.put_trial`` of the in-process rows is
timed on its own, into a fresh results directory.

Run from the repository root:  .venv/bin/python benchmarks/overhead.py   (--quick: 3 trials)
Prints a table and appends one JSON line to benchmarks/results/overhead.jsonl (or --results).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import pandas as pd  # noqa: E402
import torch  # noqa: E402
from common import add_run_options, finish, new_result, parse_args, run_cli, script_parser

from orchestrator.results import ResultStore  # noqa: E402
from orchestrator.train import train  # noqa: E402
from orchestrator.trial import Budget, Cell, Placement, TrialRow, TrialSpec  # noqa: E402


def spec(args: argparse.Namespace, seed: int) -> TrialSpec:
    budget = Budget(epochs=args.epochs, batch_size=args.batch_size, train_limit=args.train_limit,
                    test_limit=args.test_limit)
    return TrialSpec(Cell(args.arch, args.dataset, seed), budget, device="cpu", threads=args.threads)


def in_process(args: argparse.Namespace) -> list[TrialRow]:
    train(spec(args, 0))                       # warm-up, untimed
    specs = [spec(args, seed) for seed in range(args.trials)]
    return [TrialRow(sweep="bench", setup=s.setup, outcome=train(s),
                     placement=Placement(gpu_fraction=0.0, attempts=1)) for s in specs]


def put_trials(rows: list[TrialRow]) -> list[float]:
    """Seconds of each put_trial of ``rows`` into a fresh results directory."""
    times = []
    with tempfile.TemporaryDirectory(prefix="archbench-bench-") as tmp:
        store = ResultStore(tmp)
        for row in rows:
            start = time.perf_counter()
            store.put_trial(row)
            times.append(time.perf_counter() - start)
    return times


def through_sweep(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="archbench-bench-") as tmp:
        flags = ["sweep", "--local", "--archs", args.arch, "--datasets", args.dataset, "--seeds", str(args.trials),
                 "--epochs", str(args.epochs), "--batch-size", str(args.batch_size), "--train-limit",
                 str(args.train_limit), "--test-limit", str(args.test_limit), "--gpus-per-trial", "0",
                 "--cpus-per-trial", "1", "--max-concurrent", "1", "--results", tmp, "--name", "overhead"]
        begin = pd.Timestamp.now(tz="UTC")
        run = run_cli(flags)
        end = pd.Timestamp.now(tz="UTC")
        rows = ResultStore(tmp).trials().sort_values("started_at")
    if rows.empty:
        raise SystemExit(f"error: the sweep stored no rows (exit {run['returncode']}):\n{run['output'][-3000:]}")
    starts, ends = list(rows["started_at"]), list(rows["ended_at"])
    return {"wall_s": run["wall_s"], "returncode": run["returncode"], "trials": len(rows),
            "trial_wall_sum_s": float(rows["wall_seconds"].sum()),
            "to_first_trial_s": (starts[0] - begin).total_seconds(),
            "gaps_s": [(b - a).total_seconds() for a, b in zip(ends, starts[1:])],
            "last_trial_to_exit_s": (end - ends[-1]).total_seconds()}


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None


def summarize(args: argparse.Namespace, rows: list[TrialRow], sweep: dict, puts: list[float]) -> dict:
    local_sum = sum(r.outcome.wall_seconds for r in rows)
    overhead = sweep["wall_s"] - local_sum
    return {
        "trials": args.trials,
        "in_process_trial_wall_sum_s": round(local_sum, 3),
        "in_process_trial_wall_median_s": _median([r.outcome.wall_seconds for r in rows]),
        "sweep_wall_s": round(sweep["wall_s"], 3),
        "sweep_trial_wall_sum_s": round(sweep["trial_wall_sum_s"], 3),
        "overhead_s": round(overhead, 3),
        "overhead_per_trial_s": round(overhead / args.trials, 3),
        "overhead_share_of_sweep_wall": round(overhead / sweep["wall_s"], 4),
        "phases_s": {
            "command_start_to_first_trial": round(sweep["to_first_trial_s"], 3),
            "trial_end_to_next_start_median": _median(sweep["gaps_s"]),
            "trial_end_to_next_start_sum": round(sum(sweep["gaps_s"]), 3),
            "last_trial_end_to_exit": round(sweep["last_trial_to_exit_s"], 3),
        },
        "put_trial_alone": {"total_s": round(sum(puts), 4), "median_s": _median(puts)},
        "stored_rows": sweep["trials"], "sweep_returncode": sweep["returncode"],
    }


def print_table(result: dict) -> None:
    m, s, f = result["machine"], result["settings"], result["figures"]
    print(f"\nsweep overhead: {f['trials']} x {s['arch']} on {s['dataset']} (train {s['train_limit']}, test "
          f"{s['test_limit']}, batch {s['batch_size']}, {s['epochs']} epoch), one at a time, "
          f"{m['cpu_count']} cores, load {m['load_avg_start']} -> {m['load_avg_end']}")
    lines = [
        ("in-process: sum of trial wall_seconds", f["in_process_trial_wall_sum_s"]),
        ("archbench sweep --local: wall", f["sweep_wall_s"]),
        ("overhead (sweep wall - in-process sum)", f["overhead_s"]),
        ("  per trial", f["overhead_per_trial_s"]),
        ("  command start -> first trial starts", f["phases_s"]["command_start_to_first_trial"]),
        ("  trial ends -> next starts (sum)", f["phases_s"]["trial_end_to_next_start_sum"]),
        ("  trial ends -> next starts (median)", f["phases_s"]["trial_end_to_next_start_median"]),
        ("  last trial ends -> command exits", f["phases_s"]["last_trial_end_to_exit"]),
        ("put_trial x N on its own", f["put_trial_alone"]["total_s"]),
    ]
    for name, value in lines:
        print(f"{name:<42}{'-' if value is None else format(value, '.3f'):>10} s")
    print(f"overhead share of the sweep's wall time: {100 * f['overhead_share_of_sweep_wall']:.1f}%")


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--trials", type=int, default=None, help="seeds 0..N-1 (default 20)")
    parser.add_argument("--arch", default="lenet5")
    parser.add_argument("--dataset", default="synthetic_mnist")
    parser.add_argument("--train-limit", type=int, default=64)
    parser.add_argument("--test-limit", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the in-process trials")
    add_run_options(parser, "overhead", {"trials": 3}, "seconds")
    args = parse_args(parser, {"trials": 3})
    args.trials = args.trials or 20
    torch.set_num_threads(args.threads)
    result = new_result(args, device="cpu")
    started = time.perf_counter()
    print(f"in-process: {args.trials} trials ...", flush=True)
    rows = in_process(args)
    print("put_trial on its own ...", flush=True)
    puts = put_trials(rows)
    print(f"archbench sweep --local: {args.trials} trials ...", flush=True)
    sweep = through_sweep(args)
    result["figures"] = summarize(args, rows, sweep, puts)
    finish(result, started, args, "overhead", print_table)


if __name__ == "__main__":
    main()
