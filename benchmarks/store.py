"""What storing a trial costs as the results grow; what reading them back and `archbench summarize` cost.

One sweep of puts into a fresh results directory: ``ResultStore.put_trial`` of made-up rows (every
architecture x dataset, then the next seed; ``--epochs`` epochs each; all ok, accuracies drawn around
a per-architecture mean), one after another, each timed. At each level of ``--stored`` (trials
already stored) the next ``--window`` puts give the median, mean and slowest put, and the puts so far
their amortised cost (total / count: the merges of part files included). Then, with every put stored:
the files per table, the seconds to read both tables (``ResultStore`` and ``pandas.read_parquet`` of
each table directory, with the rows each returns), and the wall time of ``archbench summarize
--results DIR`` (a fresh process: Python, imports, the read, the report).

Run from the repository root:
  .venv/bin/python benchmarks/store.py            100, 1,000, 10,000 stored, 40 epochs (a few minutes)
  .venv/bin/python benchmarks/store.py --quick    seconds
  --dir DIR keeps the results directory (to profile `archbench summarize` on it).
Prints a one-line summary and appends one JSON line to benchmarks/results/store.jsonl (or --results).
"""

from __future__ import annotations

import random
import resource
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd  # noqa: E402
from common import add_run_options, finish, new_result, parse_args, run_cli, script_parser

import archs  # noqa: E402
from orchestrator import data  # noqa: E402
from orchestrator.results import ResultStore  # noqa: E402
from orchestrator.trial import Budget, Cell, EpochRow, Placement, TrialOutcome, TrialRow, TrialSpec  # noqa: E402

QUICK = {"stored": [10, 30], "window": 10, "epochs": 3}
SWEEP = "store-bench"
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def grid_rows(count: int, epochs: int) -> list[TrialRow]:
    """``count`` finished trials: each cell of the study's grid at seed 0, then at seed 1, and so on."""
    setups = [TrialSpec(Cell(arch, dataset), Budget(epochs=epochs)).setup
              for arch in archs.names() for dataset in data.names()]
    means = {arch: 0.6 + 0.05 * i for i, arch in enumerate(archs.names())}
    rows = []
    for i in range(count):
        setup = replace(setups[i % len(setups)], seed=i // len(setups))
        draw = random.Random(i)
        acc = min(0.99, means[setup.arch] + draw.gauss(0, 0.02))
        history = tuple(EpochRow(epoch=e, train_loss=2.0 / e, val_acc=acc * e / epochs, test_acc=acc * e / epochs,
                                 epoch_seconds=1.5, images_per_sec=40_000.0, lr=0.1 / e) for e in range(1, epochs + 1))
        started = START + timedelta(minutes=i)
        outcome = TrialOutcome(status="ok", test_acc=acc, val_acc=acc, best_val_acc=acc, best_epoch=epochs,
                               epochs_run=epochs, steps=100 * epochs, train_seconds=1.5 * epochs,
                               wall_seconds=2.0 * epochs, images_per_sec=40_000.0, params_total=100_000,
                               params_trainable=100_000, params_non_trainable=0, torch_version="bench",
                               started_at=started, ended_at=started + timedelta(seconds=2 * epochs), history=history)
        rows.append(TrialRow(sweep=SWEEP, setup=setup, outcome=outcome,
                             placement=Placement(device="cpu", gpu_fraction=0.0, attempts=1)))
    return rows


def put_all(store: ResultStore, rows: list[TrialRow]) -> tuple[list[float], list[float]]:
    """Wall seconds and CPU seconds of this process (what a busy machine's other work does not add) of each put."""
    seconds, cpu = [], []
    for row in rows:
        start, start_cpu = time.perf_counter(), time.process_time()
        store.put_trial(row)
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return seconds, cpu


def level_figures(seconds: list[float], cpu: list[float], stored: int, window: int) -> dict:
    """The puts made with ``stored`` trials already stored (the next ``window``), and the amortised cost so far."""
    puts, puts_cpu = seconds[stored:stored + window], cpu[stored:stored + window]
    return {"stored": stored, "puts": len(puts), "median_ms": round(1e3 * statistics.median(puts), 2),
            "mean_ms": round(1e3 * statistics.mean(puts), 2), "max_ms": round(1e3 * max(puts), 2),
            "amortised_ms": round(1e3 * sum(seconds[:stored + window]) / (stored + window), 2),
            "cpu_median_ms": round(1e3 * statistics.median(puts_cpu), 2), "cpu_max_ms": round(1e3 * max(puts_cpu), 2),
            "cpu_amortised_ms": round(1e3 * sum(cpu[:stored + window]) / (stored + window), 2)}


def timed(read):
    start = time.perf_counter()
    frame = read()
    return round(time.perf_counter() - start, 3), len(frame)


def measure(root: Path, args) -> dict:
    count = max(args.stored) + args.window
    rows = grid_rows(count, args.epochs)
    store = ResultStore(root)
    seconds, cpu = put_all(store, rows)
    reads = {"trials": timed(store.trials), "history": timed(store.history),
             "pandas_trials": timed(lambda: pd.read_parquet(store.trials_path)),
             "pandas_history": timed(lambda: pd.read_parquet(store.history_path))}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = run_cli(["summarize", "--results", str(root.absolute())])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    return {
        "levels": [level_figures(seconds, cpu, stored, args.window) for stored in args.stored],
        "puts": count, "puts_total_s": round(sum(seconds), 2), "max_ms": round(1e3 * max(seconds), 2),
        "slowest_put": seconds.index(max(seconds)) + 1,
        "files": {"trials": len(list(store.trials_path.glob("*.parquet"))),
                  "history": len(list(store.history_path.glob("*.parquet")))},
        "read_s": {name: s for name, (s, _) in reads.items()},
        "rows": {name: n for name, (_, n) in reads.items()},
        "summarize": {"wall_s": round(summary["wall_s"], 2), "cpu_s": round(summary_cpu, 2),
                      "returncode": summary["returncode"],
                      "output_tail": summary["output"][-2000:] if summary["returncode"] else ""},
    }


def print_summary(result: dict) -> None:
    f = result["figures"]
    levels = f["levels"]
    stored = " / ".join(f"{level['stored']:,}" for level in levels)

    def each(key: str) -> str:
        return " / ".join(f"{level[key]:.1f}" for level in levels)

    print(f"put_trial at {stored} stored: median {each('median_ms')} ms, max {each('max_ms')} ms, amortised "
          f"{each('amortised_ms')} ms (CPU: {each('cpu_median_ms')}, {each('cpu_max_ms')}, "
          f"{each('cpu_amortised_ms')} ms); slowest of {f['puts']:,} puts {f['max_ms']:.0f} ms "
          f"(put {f['slowest_put']:,}); "
          f"read {f['read_s']['trials']} + {f['read_s']['history']} s ({f['files']['trials']} + "
          f"{f['files']['history']} files); summarize {f['rows']['trials']:,} x {result['settings']['epochs']} epochs "
          f"{f['summarize']['wall_s']} s ({f['summarize']['cpu_s']} s CPU; exit {f['summarize']['returncode']})")


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--stored", type=int, nargs="+", default=None,
                        help="trials stored before each timed window (default: 100 1000 10000)")
    parser.add_argument("--window", type=int, default=None, help="puts timed at each level (default: 100)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (history rows) per trial (default: 40)")
    parser.add_argument("--dir", type=Path, default=None, help="build the results here and keep them "
                                                              "(default: a temporary directory)")
    add_run_options(parser, "store", QUICK, "a few seconds")
    args = parse_args(parser, QUICK)
    args.stored, args.window, args.epochs = args.stored or [100, 1000, 10_000], args.window or 100, args.epochs or 40
    if args.dir is not None and args.dir.exists() and any(args.dir.iterdir()):
        raise SystemExit(f"error: --dir {args.dir} is not empty; the benchmark needs a fresh results directory")
    result = new_result(args)
    started = time.perf_counter()
    if args.dir is not None:
        result["figures"] = measure(args.dir, args)
    else:
        with tempfile.TemporaryDirectory(prefix="archbench-store-") as tmp:
            result["figures"] = measure(Path(tmp), args)
    finish(result, started, args, "store", print_summary)


if __name__ == "__main__":
    main()
