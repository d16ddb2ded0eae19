"""The smoke sweep, a newcomer's first command, timed end to end, and where its time goes.

Runs ``archbench sweep --local --smoke`` (any of ``--archs``, ``--datasets``, ``--train-limit``,
``--test-limit``, ``--epochs``, ``--batch-size`` passed on; the default is the whole 20-cell smoke
grid) in a fresh results directory, then ``archbench summarize`` on what it stored, and reads the
stored rows back (the workers' ``started_at`` / ``ended_at``; one machine, one clock). The phases:

  - command start -> the first trial's training starts: Python's and Ray's start, the first worker's
    start and imports, its data and model;
  - the trials, the first training start to the last trial's end, split into the trials' training
    steps (the sum of ``train_seconds``), the rest of their trial time (``wall_seconds`` less
    ``train_seconds``: data, model, evaluation after each epoch, checkpoints), and the slots left
    idle (slots x span less the trials' ``wall_seconds``: scheduling, the workers' start, the tail
    where fewer trials than slots remain);
  - the last trial's end -> the command's exit: the closing tables and Ray's shutdown;
  - ``archbench summarize`` on its own, as a separate command (its imports included).

Every trial that did not end ``ok`` is listed with its status and why.

Run from the repository root:  .venv/bin/python benchmarks/smoke.py   (--quick: LeNet-5 on one dataset)
Prints a table and appends one JSON line to benchmarks/results/smoke.jsonl (or --results).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from common import add_run_options, finish, new_result, parse_args, plain, run_cli, script_parser

from orchestrator.results import ResultStore

PASSED_ON = ("archs", "datasets", "train_limit", "test_limit", "epochs", "batch_size")


def sweep_flags(args: argparse.Namespace, results: str) -> list[str]:
    flags = ["sweep", "--local", "--smoke", "--results", results, "--cpus-per-trial", "1"]
    for name in PASSED_ON:
        if getattr(args, name) is not None:
            flags += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    return flags


def measure(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="archbench-bench-") as tmp:
        begin = time.time()
        sweep = run_cli(sweep_flags(args, tmp))
        end = time.time()
        if sweep["returncode"] != 0:
            raise SystemExit(f"error: the smoke sweep exited {sweep['returncode']}:\n{sweep['output'][-3000:]}")
        summary = run_cli(["summarize", "--results", tmp, "--sweep", "smoke"])
        rows = ResultStore(tmp).trials()
    starts = [t.timestamp() for t in rows["started_at"]]
    ends = [t.timestamp() for t in rows["ended_at"]]
    span = max(ends) - min(starts)
    slots = min(os.cpu_count() or 1, len(rows))
    wall_sum = float(rows["wall_seconds"].sum())
    train_sum = float(rows["train_seconds"].sum())
    return {
        "sweep_wall_s": round(sweep["wall_s"], 2),
        "trials": len(rows),
        "statuses": {str(k): int(v) for k, v in rows["status"].value_counts().items()},
        "slots": slots,
        "phases_s": {
            "command_start_to_first_trial": round(min(starts) - begin, 2),
            "trials_span": round(span, 2),
            "training_steps_sum": round(train_sum, 2),
            "rest_of_trials_sum": round(wall_sum - train_sum, 2),
            "idle_slot_seconds": round(slots * span - wall_sum, 2),
            "last_trial_end_to_exit": round(end - max(ends), 2),
        },
        "summarize_wall_s": round(summary["wall_s"], 2),
        "summarize_returncode": summary["returncode"],
        "not_ok": [{"arch": r.arch, "dataset": r.dataset, "status": r.status, "error": r.error}
                   for r in rows[rows["status"] != "ok"].itertuples()],
        "slowest_trials": [
            {"arch": r.arch, "dataset": r.dataset, "wall_seconds": round(plain(r.wall_seconds), 2),
             "train_seconds": round(plain(r.train_seconds), 2)}
            for r in rows.sort_values("wall_seconds", ascending=False).head(5).itertuples()],
    }


def print_table(result: dict) -> None:
    m, f = result["machine"], result["figures"]
    p = f["phases_s"]
    print(f"\nsmoke sweep: {f['trials']} trials {f['statuses']}, {f['slots']} at a time, {m['cpu_count']} cores, "
          f"load {m['load_avg_start']} -> {m['load_avg_end']}")
    lines = [
        ("archbench sweep --local --smoke: wall", f["sweep_wall_s"]),
        ("  command start -> first trial starts", p["command_start_to_first_trial"]),
        ("  the trials (first start -> last end)", p["trials_span"]),
        ("    training steps (sum over trials)", p["training_steps_sum"]),
        ("    the rest of the trials (sum)", p["rest_of_trials_sum"]),
        ("    slots idle (slots x span - trials)", p["idle_slot_seconds"]),
        ("  last trial ends -> command exits", p["last_trial_end_to_exit"]),
        ("archbench summarize on its own: wall", f["summarize_wall_s"]),
    ]
    for name, value in lines:
        print(f"{name:<44}{value:>10.2f} s")
    for t in f["not_ok"]:
        print(f"{t['status']}: {t['arch']}/{t['dataset']}: {t['error']}")
    print("slowest trials: " + ", ".join(f"{t['arch']}/{t['dataset']} {t['wall_seconds']:.1f} s "
                                         f"({t['train_seconds']:.1f} training)" for t in f["slowest_trials"]))


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--archs", default=None, help="passed on to the sweep (default: all)")
    parser.add_argument("--datasets", default=None, help="passed on to the sweep (default: the smoke's)")
    for name in ("train_limit", "test_limit", "epochs", "batch_size"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=None,
                            help="passed on to the sweep (default: the smoke budget)")
    quick = {"archs": "lenet5", "datasets": "synthetic_mnist"}
    add_run_options(parser, "smoke", quick, "one LeNet-5 cell")
    args = parse_args(parser, quick)
    result = new_result(args, device="cpu")
    started = time.perf_counter()
    print(f"archbench sweep --local --smoke {' '.join(sweep_flags(args, 'DIR')[5:])} ...", flush=True)
    result["figures"] = measure(args)
    finish(result, started, args, "smoke", print_table)


if __name__ == "__main__":
    main()
