"""What a trial's per-epoch checkpoint costs: its share of an epoch of each of the study's nets (goal: under 2%).

After every epoch a trial saves its state (``orchestrator.checkpoint.save_state``: model, optimizer,
schedule, generators, epochs so far) into a folder and reports it to Tune, which copies the folder into
the sweep's storage. Both steps are timed here as they run in a trial, with ``train``'s
``on_checkpoint`` hook: the save into a fresh temporary folder, then a copy of that folder into a
storage folder on the same disk (Tune's copy to a local storage path; a remote store such as S3 adds
its upload). The epoch is timed on a sample of the training set, and the full-size epoch of the
dataset is projected from the measured images per second: the share is checkpoint / full epoch.

    python benchmarks/checkpoint.py            # the five nets on synthetic MNIST and CIFAR-10 shapes
    python benchmarks/checkpoint.py --quick    # a few seconds: LeNet-5 only, a tiny sample
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from common import append_result, close_run, machine_facts, results_path  # sets Ray's env before Ray starts

from orchestrator import data
from orchestrator.checkpoint import TrainState, save_state
from orchestrator.train import train
from orchestrator.trial import Budget, Cell, TrialSpec

STUDY_NETS = ("lenet5", "vgg", "resnet20v1", "resnet20v2", "squeezenet")


def measure(arch: str, dataset: str, images: int, epochs: int) -> dict:
    """Seconds of each checkpoint (save + copy) and of each epoch of ``arch`` on ``images`` images of ``dataset``."""
    saves, copies, sizes = [], [], []
    with tempfile.TemporaryDirectory(prefix="archbench-bench-storage-") as storage:
        def checkpoint(state: TrainState) -> None:
            with tempfile.TemporaryDirectory(prefix="archbench-bench-checkpoint-") as folder:
                start = time.perf_counter()
                sizes.append(save_state(state, folder).stat().st_size)
                saved = time.perf_counter()
                shutil.copytree(folder, Path(storage) / f"checkpoint_{state.epoch:06d}")
                copies.append(time.perf_counter() - saved)
                saves.append(saved - start)

        spec = TrialSpec(Cell(arch, dataset), Budget(epochs=epochs, train_limit=images, test_limit=256, val_split=0),
                         threads=1)
        outcome = train(spec, on_checkpoint=checkpoint)
    epoch = statistics.median(e.epoch_seconds for e in outcome.history)
    per_image = epoch / spec.setup.train_images
    full_epoch = per_image * data.spec(dataset).train_size * 0.9   # the full training split less the validation tenth
    cost = statistics.median(saves) + statistics.median(copies)
    return {"arch": arch, "dataset": dataset, "state_bytes": max(sizes),
            "save_ms": round(statistics.median(saves) * 1e3, 2),
            "copy_ms": round(statistics.median(copies) * 1e3, 2), "sample_epoch_s": round(epoch, 3),
            "full_epoch_s_projected": round(full_epoch, 2), "share_of_full_epoch": round(cost / full_epoch, 6)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few seconds, to check the script works")
    parser.add_argument("--results", help="JSON lines file (default benchmarks/results/checkpoint.jsonl)")
    args = parser.parse_args()
    nets, datasets, images, epochs = ((("lenet5",), ("synthetic_mnist",), 256, 2) if args.quick else
                                      (STUDY_NETS, ("synthetic_mnist", "synthetic_cifar10"), 4096, 3))
    started = time.perf_counter()
    facts = machine_facts()
    rows = [measure(arch, dataset, images, epochs) for arch in nets for dataset in datasets]
    for r in rows:
        print(f"{r['arch']:>11} {r['dataset']:<18} state {r['state_bytes'] / 2**20:5.2f} MiB, save {r['save_ms']} ms "
              f"+ copy {r['copy_ms']} ms; full epoch {r['full_epoch_s_projected']} s (projected): "
              f"{r['share_of_full_epoch']:.3%}")
    worst = max(rows, key=lambda r: r["share_of_full_epoch"])
    print(f"largest share: {worst['share_of_full_epoch']:.3%} ({worst['arch']} on {worst['dataset']}); goal under 2%")
    if not args.quick:
        result = {"machine": facts, "command": "python benchmarks/checkpoint.py",
                  "settings": {"images": images, "epochs": epochs, "threads": 1}, "figures": {"nets": rows}}
        close_run(result, started)
        append_result(results_path(args.results, "checkpoint"), result)


if __name__ == "__main__":
    main()
