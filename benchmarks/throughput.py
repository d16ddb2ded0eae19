"""Training throughput of archbench's trainable against a bare PyTorch loop, per architecture.

For every architecture at both real input sizes (1x28x28 as MNIST, 3x32x32 as CIFAR-10, from the
synthetic twins of those datasets) it measures:

  - archbench: ``orchestrator.train.train`` for 1 epoch on the first N images; images/s is the row's
    ``images_per_sec`` (training loop time only: no data generation, model build or evaluation);
  - bare: the same model (``archs.build``), batch size and optimizer (``recipes.make_optimizer``),
    the same precision (bf16 autocast + channels_last on CUDA), on random tensors generated on the
    device beforehand: no augmentation, no learning-rate schedule, no loss bookkeeping.

Both build a fresh model for every measurement, so both include the first step of that model; the
process-wide warm-up (kernel caches, CUDA context, cuDNN autotuning) is paid by an untimed round of
both before any timing. The two are timed in alternating order ``--repeats`` times; the table gives
the median and the spread (min-max) of archbench / bare. On the CPU it also gives the same ratio by
the thread's CPU clock, which does not count time spent waiting for a core on a shared machine.

``--explain`` (default: for the architectures whose median ratio is below 0.95) times the steps in
between, in alternating order, to say where a gap comes from:

  bare -> +loader (batches from DeviceLoader, with the dataset's augmentation)
       -> +schedule (LambdaLR step per batch)
       -> archbench step (``orchestrator.train._train_epoch``: + loss accumulation and divergence check)
       -> train() (the whole trainable again)
       -> train(), no augmentation (the dataset's augmentation replaced by "none" for that call)
and the DeviceLoader alone over the same images.

Run from the repository root:
  GPU (defaults, one real-size epoch per measurement):  python benchmarks/throughput.py --device cuda
  CPU, a couple of minutes:                             .venv/bin/python benchmarks/throughput.py --quick
Prints a table and appends one JSON line to benchmarks/results/throughput.jsonl.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from common import append_result, close_run, machine_facts  # noqa: E402

import archs  # noqa: E402
from orchestrator import data, recipes  # noqa: E402
from orchestrator import train as trainer  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "throughput.jsonl"
SHAPES = {"mnist": "synthetic_mnist", "cifar10": "synthetic_cifar10"}   # 1x28x28 and 3x32x32
POOL_BATCHES = 32        # distinct random batches the bare loop cycles through
GOAL = 0.95              # archbench within 5% of the bare loop


# ---------------------------------------------------------------- machine


def machine_info(device: torch.device, threads: int | None) -> dict:
    on_cuda = device.type == "cuda"
    return {**machine_facts(), "device": torch.cuda.get_device_name(device) if on_cuda else "cpu",
            "torch_threads": threads if not on_cuda else torch.get_num_threads()}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---------------------------------------------------------------- the measurements


class Setup:
    """Everything one architecture x input size needs: the settings train() would use."""

    def __init__(self, arch: str, dataset: str, device: torch.device, args: argparse.Namespace) -> None:
        self.arch, self.dataset, self.device, self.args = arch, dataset, device, args
        self.spec = data.spec(dataset)
        self.recipe = recipes.recipe_for(arch).with_overrides(epochs=1, batch_size=args.batch_size)
        self.on_cuda = device.type == "cuda"
        self.channels_last = self.on_cuda and not args.no_channels_last
        self.amp = self.on_cuda and not args.no_amp
        self.memory_format = torch.channels_last if self.channels_last else torch.contiguous_format

    def autocast(self) -> torch.autocast:
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.amp)

    def model(self, seed: int = 0) -> tuple[torch.nn.Module, torch.nn.Module, torch.optim.Optimizer]:
        torch.manual_seed(seed)
        model = archs.build(self.arch, self.spec.channels, self.spec.num_classes, self.spec.image_size)
        model = model.to(self.device, memory_format=self.memory_format)
        step_model = torch.compile(model) if self.args.compile else model
        return model, step_model, recipes.make_optimizer(self.recipe, model)


def archbench_rate(s: Setup, images: int, augment: str | None = None) -> tuple[float, float, dict]:
    """images/s of train() over ``images`` training images: (its own wall clock, CPU clock, row).

    The wall figure is the row's ``images_per_sec``. The CPU figure divides by the CPU time of this
    thread inside ``_train_epoch`` (wrapped here, for the benchmark only): on a CPU shared with other
    jobs it does not count the time the thread waited for a core, so ratios of it are steadier.
    ``augment`` replaces the dataset's augmentation (e.g. "none"), again only inside this call.
    """
    config = trainer.TrainConfig(
        arch=s.arch, dataset=s.dataset, epochs=1, batch_size=s.args.batch_size, train_limit=images,
        test_limit=s.args.test_limit, device=str(s.device), amp=not s.args.no_amp,
        channels_last=not s.args.no_channels_last, compile=s.args.compile, threads=s.args.threads)
    cpu = []
    original = trainer._train_epoch

    def timed(*a, **k):
        start = time.thread_time()
        out = original(*a, **k)
        cpu.append(time.thread_time() - start)
        return out

    original_spec = trainer.data.spec
    if s.on_cuda:
        torch.cuda.empty_cache()     # the row's peak_mem_bytes is peak *reserved* memory: start from none
    trainer._train_epoch = timed
    if augment is not None:
        trainer.data.spec = lambda name: replace(original_spec(name), augment=augment)
    try:
        row = trainer.train(config)
    finally:
        trainer._train_epoch = original
        trainer.data.spec = original_spec
    return row["images_per_sec"], row["steps"] * row["batch_size"] / sum(cpu), row


def bare_rate(s: Setup, images: int) -> tuple[float, float]:
    """images/s (wall, CPU clock) of a plain loop: forward, loss, zero_grad, backward, optimizer step."""
    if s.on_cuda:
        torch.cuda.empty_cache()     # as train() does: neither side reuses the other's cached blocks
    model, step_model, optimizer = s.model()
    bs = s.recipe.batch_size
    steps = images // bs
    shape = (bs, s.spec.channels, s.spec.image_size, s.spec.image_size)
    xs = [torch.randn(shape, device=s.device).contiguous(memory_format=s.memory_format)
          for _ in range(min(steps, POOL_BATCHES))]
    ys = [torch.randint(s.spec.num_classes, (bs,), device=s.device) for _ in xs]
    autocast = s.autocast()
    model.train()
    _sync(s.device)
    start, cpu_start = time.perf_counter(), time.thread_time()
    for i in range(steps):
        with autocast:
            loss = F.cross_entropy(step_model(xs[i % len(xs)]), ys[i % len(xs)])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    _sync(s.device)
    return steps * bs / (time.perf_counter() - start), steps * bs / (time.thread_time() - cpu_start)


LADDER = ("bare", "+loader", "+schedule", "archbench step", "train()", "train(), no augmentation")


def ladder_rates(s: Setup, images: int, reverse: bool = False) -> dict[str, tuple[float, float]]:
    """images/s (wall, CPU) of the steps between the bare loop and train() (module docstring).

    Every step builds its own model; ``reverse`` times them in the opposite order, so that a drift
    of the machine's speed during one round does not read as the cost of a step.
    """
    x, y = data.load_split(s.dataset, "train", limit=images)
    rates = {}
    for name in (reversed(LADDER) if reverse else LADDER):
        if name == "bare":
            rates[name] = bare_rate(s, images)
            continue
        if name.startswith("train()"):
            rates[name] = archbench_rate(s, images, augment=None if name == "train()" else "none")[:2]
            continue
        model, step_model, optimizer = s.model()
        loader = data.DeviceLoader(x, y, s.spec, s.recipe.batch_size, device=s.device, train=True,
                                   channels_last=s.channels_last)
        schedule = recipes.make_schedule(s.recipe, optimizer, len(loader))
        autocast = s.autocast()
        model.train()
        _sync(s.device)
        start, cpu_start = time.perf_counter(), time.thread_time()
        if name == "archbench step":
            _, steps, _ = trainer._train_epoch(step_model, loader, optimizer, schedule, autocast, fault=None,
                                               first_step=True)
        else:
            steps = 0
            for images_batch, labels in loader:
                with autocast:
                    loss = F.cross_entropy(step_model(images_batch), labels)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if name == "+schedule":
                    schedule.step()
                steps += 1
        _sync(s.device)
        count = steps * s.recipe.batch_size
        rates[name] = (count / (time.perf_counter() - start), count / (time.thread_time() - cpu_start))
    return {name: rates[name] for name in LADDER}


def loader_rate(s: Setup, images: int) -> tuple[float, float]:
    """images/s (wall, CPU) of the DeviceLoader alone (gather, augmentation, normalisation)."""
    x, y = data.load_split(s.dataset, "train", limit=images)
    loader = data.DeviceLoader(x, y, s.spec, s.recipe.batch_size, device=s.device, train=True,
                               channels_last=s.channels_last)
    _sync(s.device)
    start, cpu_start, count = time.perf_counter(), time.thread_time(), 0
    for batch, _ in loader:
        count += len(batch)
    _sync(s.device)
    return count / (time.perf_counter() - start), count / (time.thread_time() - cpu_start)


# ---------------------------------------------------------------- the run


def images_for(s: Setup, warm_rate: float) -> int:
    """Whole batches: --images (default one epoch of the split), raised to last --min-seconds."""
    bs = s.recipe.batch_size
    wanted = s.args.images or s.spec.train_size
    wanted = max(wanted, int(s.args.min_seconds * warm_rate))
    wanted = min(wanted, s.spec.train_size)
    return max(wanted // bs, 2) * bs


def _stats(values: list[float], digits: int = 4) -> dict:
    return {"median": round(statistics.median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits), "all": [round(v, digits) for v in values]}


def measure(s: Setup, log) -> dict:
    bs = s.recipe.batch_size
    # Untimed warm-up of both paths: two batches to size the run, then up to a second of each.
    rate = min(archbench_rate(s, 2 * bs)[0], bare_rate(s, 2 * bs)[0])
    images = images_for(s, rate)
    warm = max(min(images, int(rate)) // bs, 2) * bs
    archbench_rate(s, warm)
    bare_rate(s, warm)
    a_wall, a_cpu, b_wall, b_cpu, rows = [], [], [], [], []
    for r in range(s.args.repeats):
        order = ("archbench", "bare") if r % 2 == 0 else ("bare", "archbench")
        for which in order:
            if which == "archbench":
                wall, cpu, row = archbench_rate(s, images)
                a_wall.append(wall)
                a_cpu.append(cpu)
                rows.append(row)
            else:
                wall, cpu = bare_rate(s, images)
                b_wall.append(wall)
                b_cpu.append(cpu)
    result = {
        "arch": s.arch, "dataset": s.dataset, "input": f"{s.spec.channels}x{s.spec.image_size}x{s.spec.image_size}",
        "batch_size": bs, "images": images, "steps": images // bs,
        "archbench_images_per_s": _stats(a_wall, 1), "bare_images_per_s": _stats(b_wall, 1),
        "ratio": _stats([a / b for a, b in zip(a_wall, b_wall)]),
        "peak_mem_bytes": max((row["peak_mem_bytes"] or 0) for row in rows) or None,
    }
    if s.device.type == "cpu":
        result["cpu_clock"] = {"archbench_images_per_s": _stats(a_cpu, 1), "bare_images_per_s": _stats(b_cpu, 1),
                               "ratio": _stats([a / b for a, b in zip(a_cpu, b_cpu)])}
    log(f"{s.arch:<11} {result['input']:<8} {images:>6} img  {_line(result)}")
    return result


def _line(r: dict) -> str:
    text = (f"archbench {r['archbench_images_per_s']['median']:>9.1f}  bare {r['bare_images_per_s']['median']:>9.1f}  "
            f"ratio {r['ratio']['median']:.3f} [{r['ratio']['min']:.3f}-{r['ratio']['max']:.3f}]")
    if "cpu_clock" in r:
        c = r["cpu_clock"]["ratio"]
        text += f"  cpu-clock ratio {c['median']:.3f} [{c['min']:.3f}-{c['max']:.3f}]"
    return text


def explain(s: Setup, images: int, repeats: int, log) -> dict:
    runs = [ladder_rates(s, images, reverse=r % 2 == 1) for r in range(repeats)]
    loaders = [loader_rate(s, images) for _ in range(repeats)]
    bs = s.recipe.batch_size
    out = {"images": images, "repeats": repeats}
    for clock, i in (("wall", 0), ("cpu", 1)):
        if clock == "cpu" and s.device.type != "cpu":
            continue
        medians = {name: statistics.median(r[name][i] for r in runs) for name in runs[0]}
        ms = {name: 1000 * bs / rate for name, rate in medians.items()}     # ms per batch
        names = list(ms)
        out[clock] = {
            "images_per_s": {k: round(v, 1) for k, v in medians.items()},
            "ms_per_batch": {k: round(v, 3) for k, v in ms.items()},
            "added_ms_per_batch": {names[j]: round(ms[names[j]] - ms[names[j - 1]], 3) for j in range(1, len(names))},
            "loader_alone_ms_per_batch": round(1000 * bs / statistics.median(l[i] for l in loaders), 3),
        }
    log(f"  explain {s.arch} {s.dataset}: " + _explain_line(out))
    return out


def _explain_line(e: dict) -> str:
    """ms per batch of each step, with its difference from the step before in brackets."""
    parts = []
    for clock in ("wall", "cpu"):
        if clock in e:
            c = e[clock]
            steps = [f"{k} {v:.3f}" + (f" ({c['added_ms_per_batch'][k]:+.3f})" if k in c["added_ms_per_batch"] else "")
                     for k, v in c["ms_per_batch"].items()]
            parts.append(f"{clock} ms/batch: " + ", ".join(steps)
                         + f"; DeviceLoader alone {c['loader_alone_ms_per_batch']:.3f}")
    return " | ".join(parts)


def print_table(result: dict) -> None:
    m = result["machine"]
    print(f"\ntraining images/s, {m['device']}, torch {m['torch']}, threads {m['torch_threads']} of "
          f"{m['cpu_count']} cores, load {m['load_avg_start']} -> {m['load_avg_end']}, "
          f"{result['repeats']} repeats: median [min-max] of archbench/bare per pair")
    cpu = any("cpu_clock" in r for r in result["figures"])
    print(f"{'arch':<11}{'input':<9}{'images':>7}{'archbench':>11}{'bare':>11}{'ratio':>7}  {'spread':<13}"
          + (f"{'cpu-clock':>9}  {'spread':<13}" if cpu else "") + "goal")
    for r in result["figures"]:
        ok = "ok" if r["ratio"]["median"] >= GOAL else "GAP"
        line = (f"{r['arch']:<11}{r['input']:<9}{r['images']:>7}{r['archbench_images_per_s']['median']:>11.1f}"
                f"{r['bare_images_per_s']['median']:>11.1f}{r['ratio']['median']:>7.3f}  "
                f"{r['ratio']['min']:.3f}-{r['ratio']['max']:.3f}  ")
        if "cpu_clock" in r:
            c = r["cpu_clock"]["ratio"]
            line += f"{c['median']:>9.3f}  {c['min']:.3f}-{c['max']:.3f}  "
        print(line + ok)
    for r in result["figures"]:
        if "explain" in r:
            print(f"{r['arch']} {r['input']}: " + _explain_line(r["explain"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.split("\n")[1:]))
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    parser.add_argument("--archs", nargs="+", default=None, help=f"default: all ({', '.join(archs.names())})")
    parser.add_argument("--inputs", nargs="+", default=list(SHAPES), choices=list(SHAPES),
                        help="input sizes: mnist = 1x28x28, cifar10 = 3x32x32 (their synthetic twins)")
    parser.add_argument("--images", type=int, default=None,
                        help="training images per measurement (default: the whole split, one real epoch)")
    parser.add_argument("--min-seconds", type=float, default=0.0,
                        help="raise the images of fast architectures so each measurement lasts this long")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats of each (median and spread)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: each recipe's (128)")
    parser.add_argument("--test-limit", type=int, default=256, help="test images of train()'s evaluation (untimed)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads on CPU (default: 1 on CPU)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model in both")
    parser.add_argument("--no-amp", action="store_true", help="no bf16 autocast on CUDA (both)")
    parser.add_argument("--no-channels-last", action="store_true", help="contiguous layout on CUDA (both)")
    parser.add_argument("--explain", choices=("auto", "always", "never"), default="auto",
                        help="time the steps between bare and archbench: auto = where the ratio < 0.95")
    parser.add_argument("--quick", action="store_true",
                        help="CPU preset: --images 512 --min-seconds 1 --threads 1 --repeats 3")
    parser.add_argument("--no-save", action="store_true", help=f"do not append to {RESULTS.name}")
    args = parser.parse_args()
    if args.quick:
        args.images = args.images or 512
        args.min_seconds = args.min_seconds or 1.0
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cpu":
        args.threads = args.threads or 1
        torch.set_num_threads(args.threads)
    else:
        torch.backends.cudnn.benchmark = True      # as train() sets it
    chosen = args.archs or archs.names()
    result = {"machine": machine_info(device, args.threads), "repeats": args.repeats,
              "command": " ".join([Path(sys.executable).name, *sys.argv]),
              "settings": {k: v for k, v in vars(args).items()}, "figures": []}
    started = time.perf_counter()
    for shape in args.inputs:
        for arch in chosen:
            s = Setup(arch, SHAPES[shape], device, args)
            figure = measure(s, lambda line: print(line, flush=True))
            if args.explain == "always" or (args.explain == "auto" and figure["ratio"]["median"] < GOAL):
                figure["explain"] = explain(s, figure["images"], args.repeats, lambda line: print(line, flush=True))
            result["figures"].append(figure)
    ratios = [f["ratio"]["median"] for f in result["figures"]]
    result["summary"] = {"ratio_median_of_medians": round(statistics.median(ratios), 4),
                         "ratio_worst": round(min(ratios), 4),
                         "within_5pct": sum(r >= GOAL for r in ratios), "cells": len(ratios)}
    cpu_ratios = [f["cpu_clock"]["ratio"]["median"] for f in result["figures"] if "cpu_clock" in f]
    if cpu_ratios:
        result["summary"]["cpu_clock"] = {"ratio_median_of_medians": round(statistics.median(cpu_ratios), 4),
                                          "ratio_worst": round(min(cpu_ratios), 4),
                                          "within_5pct": sum(r >= GOAL for r in cpu_ratios)}
    close_run(result, started)
    print_table(result)
    summary = result["summary"]
    line = (f"wall clock: {summary['within_5pct']} of {len(ratios)} within 5% of the bare loop, "
            f"worst ratio {summary['ratio_worst']}")
    if "cpu_clock" in summary:
        line += (f"; CPU clock: {summary['cpu_clock']['within_5pct']} within 5%, "
                 f"worst {summary['cpu_clock']['ratio_worst']}")
    print(f"{line}; {result['seconds']} s")
    if not args.no_save:
        append_result(RESULTS, result)


if __name__ == "__main__":
    main()
