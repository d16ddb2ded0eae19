"""What the trials' progress heartbeat costs: its share of a LeNet-5 epoch (goal: under 1%).

A heartbeat is one clock read per training step (``train``'s ``on_progress`` hook) and, every
``orchestrator.train.PROGRESS_SECONDS``, one ``tune.report`` from the trial to the driver. Both are
measured where they run: the epoch with ``train(spec, on_progress=...)`` (steps, seconds, heartbeats
sent), the clock read with ``timeit``, and ``tune.report``'s round trip inside a real Tune function
trainable that reports back to back. The share is (steps x clock read + heartbeats x report) / epoch.

    python benchmarks/heartbeat.py            # LeNet-5, one epoch of synthetic MNIST (60,000 images)
    python benchmarks/heartbeat.py --quick    # a few seconds: 4,096 images, 50 reports
"""

from __future__ import annotations

import argparse
import statistics
import time
import timeit

from common import append_result, close_run, machine_facts, results_path  # sets Ray's env before Ray starts

from orchestrator.train import PROGRESS_SECONDS, train
from orchestrator.trial import Budget, Cell, TrialSpec


def report_round_trip(reports: int) -> float:
    """Median seconds of one ``tune.report`` in a Tune function trainable on a local Ray."""
    import ray
    from ray import tune

    def trainable(config: dict) -> None:
        seconds = []
        for i in range(config["reports"]):
            start = time.perf_counter()
            tune.report({"i": i})
            seconds.append(time.perf_counter() - start)
        tune.report({"median": statistics.median(seconds)})

    ray.init(address="local", include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        tuner = tune.Tuner(trainable, param_space={"reports": reports},
                           run_config=tune.RunConfig(verbose=0, storage_path="/tmp/archbench-heartbeat"))
        return tuner.fit()[0].metrics["median"]
    finally:
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few seconds, to check the script works")
    parser.add_argument("--results", help="JSON lines file (default benchmarks/results/heartbeat.jsonl)")
    args = parser.parse_args()
    images, reports = (4096, 50) if args.quick else (60_000, 300)
    started = time.perf_counter()
    facts = machine_facts()

    beats = []
    spec = TrialSpec(Cell("lenet5", "synthetic_mnist"), Budget(epochs=1, train_limit=images, test_limit=256), threads=1)
    row = train(spec, on_progress=beats.append)
    clock = min(timeit.repeat(time.perf_counter, number=100_000, repeat=5)) / 100_000
    report = report_round_trip(reports)
    cost = row.steps * clock + row.train_seconds / PROGRESS_SECONDS * report
    figures = {
        "epoch_seconds": round(row.train_seconds, 3), "steps": row.steps, "heartbeats_in_epoch": len(beats),
        "clock_read_us": round(clock * 1e6, 3), "tune_report_ms": round(report * 1e3, 3),
        "heartbeat_cost_seconds_per_epoch": round(cost, 5),
        "share_of_epoch": round(cost / row.train_seconds, 6),
    }
    print(f"LeNet-5, {images:,} images: epoch {figures['epoch_seconds']} s, {row.steps} steps; clock read "
          f"{figures['clock_read_us']} us, tune.report {figures['tune_report_ms']} ms every {PROGRESS_SECONDS:g} s: "
          f"{figures['share_of_epoch']:.4%} of the epoch")
    if not args.quick:
        result = {"machine": facts, "command": "python benchmarks/heartbeat.py",
                  "settings": {"images": images, "reports": reports}, "figures": figures}
        close_run(result, started)
        append_result(results_path(args.results, "heartbeat"), result)


if __name__ == "__main__":
    main()
