"""The fixed overhead of a sweep: Ray start, scheduling and result writing, around 20 trivial trials.

The same 20 trials (default: lenet5 on synthetic_mnist, 64 train and 64 test images, 1 epoch, batch
32, seeds 0..19) run twice:

  - in-process, one by one, after one untimed warm-up trial: the sum of the rows' ``wall_seconds``
    is the work itself;
  - as one sweep through ``orchestrator.sweep.run_sweep`` on an in-process Ray (results in a temporary
    directory), by default one trial at a time (``--max-concurrent 1``) so that both do the same
    work in the same order.

overhead = sweep wall - in-process sum (per trial: / 20); Ray's start (``connect``, i.e. ``ray.init``)
is timed apart. For where the time goes, the driver's ``ResultsCallback`` is wrapped (in this
process only, archbench's code is unchanged) to timestamp each trial's start as Tune announces it,
the arrival of its final result and the ``ResultStore.put_trial`` call that stores it; the worker's
own ``started_at``/``ended_at`` (from ``train()``) sit between them. Last, 20 ``put_trial`` calls
are timed on their own, into a fresh results directory.

Run from the repository root:  .venv/bin/python benchmarks/overhead.py
Prints a table and appends one JSON line to benchmarks/results/overhead.jsonl.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# Both before the first import of ray (orchestrator.sweep imports it).
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
from orchestrator.auth import local_token_auth  # noqa: E402

local_token_auth()

import torch  # noqa: E402
from common import append_result, close_run, machine_facts  # noqa: E402

from orchestrator import sweep as sweeps  # noqa: E402
from orchestrator.results import ResultStore  # noqa: E402
from orchestrator.train import TrainConfig, train  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "overhead.jsonl"


def machine_info(device: str) -> dict:
    import ray

    return {**machine_facts(), "ray": ray.__version__,
            "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu"}


def _ts(value) -> float:
    """A row's started_at/ended_at (datetime or ISO string) as a Unix time."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.timestamp()


# ---------------------------------------------------------------- instrumenting the driver's callback


class Probe:
    """Wraps ResultsCallback's methods for the length of one sweep; records driver-side timestamps."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}     # trial id -> when Tune announced its start
        self.final: dict[str, float] = {}       # trial id -> when its final result reached the driver
        self.stored: dict[str, tuple[float, float]] = {}   # trial id -> put_trial (start, seconds)
        self.cells: dict[str, dict] = {}
        self._saved: dict[str, object] = {}

    def __enter__(self) -> Probe:
        cls = sweeps.ResultsCallback
        probe = self
        for name in ("on_trial_start", "on_trial_result", "_store"):
            self._saved[name] = cls.__dict__[name]
        saved_start, saved_result, saved_store = (self._saved[n] for n in ("on_trial_start", "on_trial_result",
                                                                            "_store"))

        def on_trial_start(cb, iteration, trials, trial, **info):
            probe.started.setdefault(trial.trial_id, time.time())
            probe.cells[trial.trial_id] = trial.config["cell"]
            return saved_start(cb, iteration, trials, trial, **info)

        def on_trial_result(cb, iteration, trials, trial, result, **info):
            if result.get("final"):
                probe.final[trial.trial_id] = time.time()
            return saved_result(cb, iteration, trials, trial, result, **info)

        def _store(cb, trial, row):
            begin = time.time()
            try:
                return saved_store(cb, trial, row)
            finally:
                probe.stored[trial.trial_id] = (begin, time.time() - begin)

        cls.on_trial_start, cls.on_trial_result, cls._store = on_trial_start, on_trial_result, _store
        return self

    def __exit__(self, *exc) -> None:
        for name, method in self._saved.items():
            setattr(sweeps.ResultsCallback, name, method)


# ---------------------------------------------------------------- the run


def config(args: argparse.Namespace, seed: int) -> TrainConfig:
    return TrainConfig(arch=args.arch, dataset=args.dataset, seed=seed, epochs=args.epochs,
                       batch_size=args.batch_size, train_limit=args.train_limit, test_limit=args.test_limit,
                       threads=args.threads, device=args.device)


def in_process(args: argparse.Namespace) -> tuple[list[dict], float]:
    train(config(args, 0))                       # warm-up, untimed
    start = time.perf_counter()
    rows = [train(config(args, seed)) for seed in range(args.trials)]
    return rows, time.perf_counter() - start


def put_trials(rows: list[dict]) -> list[float]:
    """Seconds of each put_trial of ``rows`` (as the sweep's callback writes them) into a fresh directory."""
    times = []
    with tempfile.TemporaryDirectory(prefix="archbench-bench-") as tmp:
        store = ResultStore(Path(tmp) / "results")
        for row in rows:
            history = row["history"]
            stored = {k: v for k, v in row.items() if k != "history"}
            stored.update(sweep="bench", gpu_fraction=0.0, attempts=1)
            start = time.perf_counter()
            store.put_trial(stored, history)
            times.append(time.perf_counter() - start)
    return times


def through_ray(args: argparse.Namespace) -> dict:
    start = time.perf_counter()
    sweeps.connect(local=True, address=None)
    ray_init = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="archbench-bench-") as tmp:
        store = ResultStore(Path(tmp) / "results")
        template = TrainConfig(arch="", dataset="", epochs=args.epochs, batch_size=args.batch_size,
                               train_limit=args.train_limit, test_limit=args.test_limit, threads=args.threads,
                               device=args.device)
        plan = sweeps.SweepPlan(name="overhead", archs=[args.arch], datasets=[args.dataset], seeds=args.trials,
                                train=template, gpus_per_trial=0.0 if args.device == "cpu" else args.gpus_per_trial,
                                cpus_per_trial=args.cpus_per_trial, max_concurrent=args.max_concurrent,
                                max_failures=0, storage=str(Path(tmp) / "ray"))
        lines: list[str] = []
        with Probe() as probe:
            begin = time.time()
            start = time.perf_counter()
            outcome = sweeps.run_sweep(plan, store, local=True, address=None,
                                       log=(lambda line: print("   ", line, flush=True)) if args.verbose
                                       else lines.append)
            wall = time.perf_counter() - start
            end = time.time()
        rows = store.trials().to_dict("records")
        storage_bytes = sum(f.stat().st_size for f in (Path(tmp) / "ray").rglob("*") if f.is_file())
    by_seed = {int(r["seed"]): r for r in rows}
    trials = []
    for trial_id, cell in probe.cells.items():
        row = by_seed.get(cell["seed"])
        if row is None:
            continue
        # Seconds since run_sweep began, from the driver's clock and the worker's (one machine, one clock).
        t = {"seed": cell["seed"], "tune_start": probe.started[trial_id] - begin,
             "train_start": _ts(row["started_at"]) - begin, "train_end": _ts(row["ended_at"]) - begin,
             "wall_seconds": float(row["wall_seconds"])}
        t["start_to_train_s"] = t["train_start"] - t["tune_start"]
        if trial_id in probe.final:
            t["final_at_driver"] = probe.final[trial_id] - begin
            t["train_end_to_driver_s"] = t["final_at_driver"] - t["train_end"]
        if trial_id in probe.stored:
            t["stored_at"], t["put_trial_s"] = probe.stored[trial_id][0] - begin, probe.stored[trial_id][1]
        trials.append({k: round(v, 4) if isinstance(v, float) else v for k, v in t.items()})
    trials.sort(key=lambda t: t["tune_start"])
    return {"ray_init_s": ray_init, "wall_s": wall, "end_s": end - begin, "statuses": dict(outcome.statuses),
            "trials": trials, "ray_storage_bytes": storage_bytes}


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None


def summarize(args, local_rows, local_wall, ray_run, puts) -> dict:
    local_sum = sum(r["wall_seconds"] for r in local_rows)
    ray_trials = ray_run["trials"]
    overhead = ray_run["wall_s"] - local_sum
    n = args.trials
    gaps = [b["tune_start"] - a["stored_at"] for a, b in zip(ray_trials, ray_trials[1:]) if "stored_at" in a]
    return {
        "trials": n,
        "in_process_trial_wall_sum_s": round(local_sum, 3),
        "in_process_loop_wall_s": round(local_wall, 3),
        "in_process_trial_wall_median_s": _median([r["wall_seconds"] for r in local_rows]),
        "ray_init_s": round(ray_run["ray_init_s"], 3),
        "sweep_wall_s": round(ray_run["wall_s"], 3),
        "overhead_s": round(overhead, 3),
        "overhead_per_trial_s": round(overhead / n, 3),
        "overhead_with_ray_init_s": round(overhead + ray_run["ray_init_s"], 3),
        "overhead_share_of_sweep_wall": round(overhead / ray_run["wall_s"], 4),
        "ray_trial_wall_sum_s": round(sum(t["wall_seconds"] for t in ray_trials), 3),
        "phases_median_s": {
            "sweep_start_to_first_tune_start": round(ray_trials[0]["tune_start"], 3) if ray_trials else None,
            "tune_start_to_train_start": _median([t["start_to_train_s"] for t in ray_trials]),
            "train_wall_in_worker": _median([t["wall_seconds"] for t in ray_trials]),
            "train_end_to_final_result_at_driver": _median([t["train_end_to_driver_s"] for t in ray_trials
                                                            if "train_end_to_driver_s" in t]),
            "put_trial_in_callback": _median([t["put_trial_s"] for t in ray_trials if "put_trial_s" in t]),
            "stored_to_next_tune_start": _median(gaps),
            "last_stored_to_run_sweep_return": round(ray_run["end_s"] - max(
                (t.get("stored_at", 0) + t.get("put_trial_s", 0) for t in ray_trials), default=0), 3),
        },
        "put_trial_alone": {"total_s": round(sum(puts), 4), "median_s": _median(puts),
                            "min_s": round(min(puts), 4), "max_s": round(max(puts), 4)},
        "ray_storage_bytes": ray_run["ray_storage_bytes"],
        "statuses": ray_run["statuses"],
    }


def print_table(result: dict) -> None:
    m, s, f = result["machine"], result["settings"], result["figures"]
    print(f"\nsweep overhead: {f['trials']} x {s['arch']} on {s['dataset']} (train {s['train_limit']}, test "
          f"{s['test_limit']}, batch {s['batch_size']}, {s['epochs']} epoch), max_concurrent {s['max_concurrent']}, "
          f"{m['device']}, {m['cpu_count']} cores, load {m['load_avg_start']} -> {m['load_avg_end']}")
    rows = [
        ("ray start (connect / ray.init)", f["ray_init_s"], None),
        ("in-process: sum of trial wall_seconds", f["in_process_trial_wall_sum_s"],
         f["in_process_trial_wall_sum_s"] / f["trials"]),
        ("run_sweep wall", f["sweep_wall_s"], f["sweep_wall_s"] / f["trials"]),
        ("overhead (run_sweep - in-process sum)", f["overhead_s"], f["overhead_per_trial_s"]),
        ("overhead + ray start", f["overhead_with_ray_init_s"], f["overhead_with_ray_init_s"] / f["trials"]),
        ("put_trial x N on its own", f["put_trial_alone"]["total_s"], f["put_trial_alone"]["median_s"]),
    ]
    print(f"{'':<42}{'total s':>10}{'per trial s':>13}")
    for name, total, per in rows:
        print(f"{name:<42}{total:>10.3f}{'-' if per is None else format(per, '.3f'):>13}")
    print(f"overhead share of the sweep's wall time: {100 * f['overhead_share_of_sweep_wall']:.1f}%")
    print("where a trial's time goes in the sweep (medians, s):")
    for name, value in f["phases_median_s"].items():
        print(f"  {name:<40}{'-' if value is None else format(value, '.3f'):>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.split("\n")[1:]))
    parser.add_argument("--trials", type=int, default=20, help="seeds 0..N-1")
    parser.add_argument("--arch", default="lenet5")
    parser.add_argument("--dataset", default="synthetic_mnist")
    parser.add_argument("--train-limit", type=int, default=64)
    parser.add_argument("--test-limit", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per trial")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where the trials train (cpu by default: the overhead is what is measured)")
    parser.add_argument("--cpus-per-trial", type=float, default=1.0)
    parser.add_argument("--gpus-per-trial", type=float, default=0.25, help="with --device cuda")
    parser.add_argument("--max-concurrent", type=int, default=1,
                        help="trials at once in the sweep (1: the same sequence as in-process)")
    parser.add_argument("--verbose", action="store_true", help="show the sweep's own lines")
    parser.add_argument("--no-save", action="store_true", help=f"do not append to {RESULTS.name}")
    args = parser.parse_args()
    if args.device == "cpu":
        torch.set_num_threads(args.threads)
    result = {"machine": machine_info(args.device), "command": " ".join([Path(sys.executable).name, *sys.argv]),
              "settings": vars(args)}
    started = time.perf_counter()
    print(f"in-process: {args.trials} trials ...", flush=True)
    local_rows, local_wall = in_process(args)
    print("put_trial on its own ...", flush=True)
    puts = put_trials(local_rows)
    print(f"run_sweep: {args.trials} trials ...", flush=True)
    ray_run = through_ray(args)
    import ray

    ray.shutdown()
    result["figures"] = summarize(args, local_rows, local_wall, ray_run, puts)
    result["ray_trials"] = ray_run["trials"]
    close_run(result, started)
    print_table(result)
    print(f"{result['seconds']} s in all")
    if not args.no_save:
        append_result(RESULTS, result)


if __name__ == "__main__":
    main()
