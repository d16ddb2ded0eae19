"""Training throughput of archbench's ``train`` against a bare PyTorch loop, per architecture and input size.

For every architecture at both real input sizes (1x28x28 as MNIST, 3x32x32 as CIFAR-10, from the
synthetic twins of those datasets), on N training images at the recipe's batch size:

  - archbench: ``orchestrator.train.train`` on a ``TrialSpec`` of 2 epochs over the N images; the
    figure is the second epoch's ``EpochRow.images_per_sec`` (its training steps only: no data
    generation, model build or evaluation; the first epoch pays cuDNN's autotuning and, with
    ``--compile``, the compilation); peak memory is the row's ``peak_mem_bytes`` (peak reserved);
  - bare: the same model (``archs.build``), loss and optimizer (``recipes``) and precision
    (bf16 autocast + channels_last on CUDA, as ``Budget`` sets them), on random tensors made on the
    device beforehand: one untimed pass over N images, then a timed one. No augmentation, no
    learning-rate schedule, no loss bookkeeping.

Both build a fresh model for every measurement. The two are timed alternately ``--repeats`` times;
the table gives the median and the spread (min-max) of archbench / bare.

``--explain`` (default: where the median ratio is below 0.95) times the steps in between, built from
archbench's public parts: bare -> +loader (batches from ``data.DeviceLoader`` with the dataset's
augmentation) -> +schedule (``recipes.make_schedule``, stepped per batch) -> train().

``--max-seconds`` skips the cells that would end after it (estimate: the longest cell so far), saying so.

Run from the repository root:
  GPU:    python benchmarks/throughput.py --device cuda [--compile]
  CPU:    .venv/bin/python benchmarks/throughput.py --quick    (seconds: lenet5 on 1x28x28, 256 images)
Prints a table and appends one JSON line to benchmarks/results/throughput.jsonl (or --results).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from common import add_run_options, append_item, device_facts, finish, mib, new_result, parse_args, script_parser

import torch  # noqa: E402

import archs  # noqa: E402
from orchestrator import data, recipes  # noqa: E402
from orchestrator.train import train  # noqa: E402
from orchestrator.trial import Budget, Cell, TrialSpec  # noqa: E402

INPUTS = {"mnist": "synthetic_mnist", "cifar10": "synthetic_cifar10"}   # 1x28x28 and 3x32x32
POOL_BATCHES = 32        # distinct random batches the bare loop cycles through
GOAL = 0.95              # archbench within 5% of the bare loop
QUICK = {"archs": ["lenet5"], "inputs": ["mnist"], "images": 256, "repeats": 1, "explain": "never", "test_limit": 128}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Setup:
    """One architecture x input size, and the settings both loops share."""

    def __init__(self, arch: str, dataset: str, device: torch.device, args: argparse.Namespace) -> None:
        self.arch, self.dataset, self.device, self.args = arch, dataset, device, args
        self.spec = data.spec(dataset)
        on_cuda = device.type == "cuda"
        self.budget = Budget(epochs=2, batch_size=args.batch_size, train_limit=None, test_limit=args.test_limit,
                             amp=not args.no_amp, channels_last=not args.no_channels_last, compile=args.compile)
        self.recipe = self.budget.recipe_for(arch, dataset)
        self.amp = on_cuda and self.budget.amp
        self.channels_last = on_cuda and self.budget.channels_last
        self.memory_format = torch.channels_last if self.channels_last else torch.contiguous_format

    @property
    def batch_size(self) -> int:
        return self.recipe.batch_size

    def trial(self, images: int) -> TrialSpec:
        return TrialSpec(Cell(self.arch, self.dataset), replace(self.budget, train_limit=images),
                         device=str(self.device), threads=self.args.threads)

    def autocast(self) -> torch.autocast:
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.amp)

    def model(self) -> tuple[torch.nn.Module, torch.nn.Module, torch.optim.Optimizer]:
        torch.manual_seed(0)
        model = archs.build(self.arch, self.spec.channels, self.spec.num_classes, self.spec.image_size)
        model = model.to(self.device, memory_format=self.memory_format)
        step_model = torch.compile(model) if self.args.compile else model
        return model, step_model, recipes.make_optimizer(self.recipe, model)


def archbench_rate(s: Setup, images: int) -> tuple[float, int | None]:
    """(images/s of train()'s second epoch, the row's peak_mem_bytes)."""
    row = train(s.trial(images))
    return row.history[-1].images_per_sec, row.peak_mem_bytes


def timed_pass(s: Setup, step_model, optimizer: torch.optim.Optimizer, batches: Iterable,
               after_step: Callable[[], object] | None = None) -> float:
    """Seconds of one pass of plain steps over ``batches``: forward, loss, zero_grad, backward, optimizer
    step (and ``after_step``)."""
    loss_fn, autocast = recipes.make_loss(s.recipe), s.autocast()
    _sync(s.device)
    start = time.perf_counter()
    for images, labels in batches:
        with autocast:
            loss = loss_fn(step_model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if after_step is not None:
            after_step()
    _sync(s.device)
    return time.perf_counter() - start


def bare_rate(s: Setup, images: int) -> tuple[float, int | None]:
    """(images/s of the bare loop's second pass over ``images``, its peak reserved memory)."""
    if s.device.type == "cuda":
        torch.cuda.empty_cache()     # as train() does: neither side reuses the other's cached blocks
        torch.cuda.reset_peak_memory_stats(s.device)
    model, step_model, optimizer = s.model()
    bs = s.batch_size
    steps = max(images // bs, 1)
    shape = (bs, s.spec.channels, s.spec.image_size, s.spec.image_size)
    xs = [torch.randn(shape, device=s.device).contiguous(memory_format=s.memory_format)
          for _ in range(min(steps, POOL_BATCHES))]
    pool = [(x, torch.randint(s.spec.num_classes, (bs,), device=s.device)) for x in xs]
    model.train()
    timed_pass(s, step_model, optimizer, itertools.islice(itertools.cycle(pool), steps))
    seconds = timed_pass(s, step_model, optimizer, itertools.islice(itertools.cycle(pool), steps))
    peak = torch.cuda.max_memory_reserved(s.device) if s.device.type == "cuda" else None
    return steps * bs / seconds, peak


LADDER = ("bare", "+loader", "+schedule", "train()")


def ladder_rates(s: Setup, images: int, reverse: bool) -> dict[str, float]:
    """images/s of each step between the bare loop and train() (module docstring), in either order."""
    x, y = data.load_split(s.dataset, "train", limit=images)
    rates = {}
    for name in (reversed(LADDER) if reverse else LADDER):
        if name == "bare":
            rates[name] = bare_rate(s, images)[0]
        elif name == "train()":
            rates[name] = archbench_rate(s, images)[0]
        else:
            model, step_model, optimizer = s.model()
            loader = data.DeviceLoader(x, y, s.spec, s.batch_size, device=s.device, train=True,
                                       channels_last=s.channels_last)
            schedule = recipes.make_schedule(s.recipe, optimizer, 2 * len(loader))
            after_step = schedule.step if name == "+schedule" else None
            model.train()
            timed_pass(s, step_model, optimizer, loader, after_step)      # untimed, as in the other two
            seconds = timed_pass(s, step_model, optimizer, loader, after_step)
            rates[name] = len(loader) * s.batch_size / seconds
    return {name: rates[name] for name in LADDER}


def _stats(values: list[float], digits: int = 4) -> dict:
    return {"median": round(statistics.median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits), "all": [round(v, digits) for v in values]}


def measure(s: Setup, images: int, repeats: int) -> dict:
    a_rates, b_rates, a_mem, b_mem = [], [], [], []
    for r in range(repeats):
        for which in (("archbench", "bare") if r % 2 == 0 else ("bare", "archbench")):
            if which == "archbench":
                rate, peak = archbench_rate(s, images)
                a_rates.append(rate)
                a_mem.append(peak)
            else:
                rate, peak = bare_rate(s, images)
                b_rates.append(rate)
                b_mem.append(peak)
    return {
        "arch": s.arch, "dataset": s.dataset, "input": f"{s.spec.channels}x{s.spec.image_size}x{s.spec.image_size}",
        "batch_size": s.batch_size, "images": images, "steps": images // s.batch_size, "compile": s.args.compile,
        "archbench_images_per_s": _stats(a_rates, 1), "bare_images_per_s": _stats(b_rates, 1),
        "ratio": _stats([a / b for a, b in zip(a_rates, b_rates)]),
        "archbench_peak_mem_bytes": max((m or 0) for m in a_mem) or None,
        "bare_peak_mem_bytes": max((m or 0) for m in b_mem) or None,
    }


def explain(s: Setup, images: int, repeats: int) -> dict:
    runs = [ladder_rates(s, images, reverse=r % 2 == 1) for r in range(repeats)]
    medians = {name: statistics.median(r[name] for r in runs) for name in LADDER}
    ms = {name: 1000 * s.batch_size / rate for name, rate in medians.items()}
    return {"images_per_s": {k: round(v, 1) for k, v in medians.items()},
            "ms_per_batch": {k: round(v, 3) for k, v in ms.items()},
            "added_ms_per_batch": {LADDER[j]: round(ms[LADDER[j]] - ms[LADDER[j - 1]], 3)
                                   for j in range(1, len(LADDER))}}


def row_line(r: dict) -> str:
    if "skipped" in r:
        return f"{r['arch']:<11}{r['input']:<9}skipped: {r['skipped']}"
    return (f"{r['arch']:<11}{r['input']:<9}{r['images']:>7}{r['archbench_images_per_s']['median']:>11.1f}"
            f"{r['bare_images_per_s']['median']:>11.1f}{r['ratio']['median']:>7.3f}  "
            f"{r['ratio']['min']:.3f}-{r['ratio']['max']:.3f}  {mib(r['archbench_peak_mem_bytes']):>9}"
            f"{mib(r['bare_peak_mem_bytes']):>9}  {'ok' if r['ratio']['median'] >= GOAL else 'GAP'}")


def print_table(result: dict) -> None:
    m = result["machine"]
    print(f"\ntraining images/s{' (torch.compile)' if result['settings']['compile'] else ''}, {m['device']}, "
          f"torch {m['torch']}, {m['cpu_count']} cores, load {m['load_avg_start']} -> {m['load_avg_end']}, "
          f"{result['settings']['repeats']} pairs: median [min-max] of archbench/bare per pair")
    print(f"{'arch':<11}{'input':<9}{'images':>7}{'archbench':>11}{'bare':>11}{'ratio':>7}  {'spread':<13}"
          f"{'MiB arch':>9}{'MiB bare':>9}  goal")
    for r in result["figures"]:
        print(row_line(r))
    for r in result["figures"]:
        if "explain" in r:
            steps = ", ".join(f"{k} {v:.3f}" + (f" ({r['explain']['added_ms_per_batch'][k]:+.3f})"
                                                 if k in r["explain"]["added_ms_per_batch"] else "")
                              for k, v in r["explain"]["ms_per_batch"].items())
            print(f"{r['arch']} {r['input']} ms/batch: {steps}")
    summary = result["summary"]
    print(f"{summary['within_5pct']} of {summary['measured']} measured cells within 5% of the bare loop "
          f"(worst ratio {summary['ratio_worst']}); {summary['cells'] - summary['measured']} skipped")


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    parser.add_argument("--archs", nargs="+", default=None, help=f"default: all ({', '.join(archs.names())})")
    parser.add_argument("--inputs", nargs="+", default=None, choices=list(INPUTS),
                        help="input sizes: mnist = 1x28x28, cifar10 = 3x32x32 (their synthetic twins; default both)")
    parser.add_argument("--images", type=int, default=None,
                        help="training images per measured pass (default: the whole split, one real epoch)")
    parser.add_argument("--repeats", type=int, default=None, help="timed pairs of each cell (default 3)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: each recipe's (128)")
    parser.add_argument("--test-limit", type=int, default=None,
                        help="test images of train()'s evaluation (untimed; default 256)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads on CPU (default: 1 on CPU)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model in both")
    parser.add_argument("--no-amp", action="store_true", help="no bf16 autocast on CUDA (both)")
    parser.add_argument("--no-channels-last", action="store_true", help="contiguous layout on CUDA (both)")
    parser.add_argument("--explain", choices=("auto", "always", "never"), default=None,
                        help="time the steps between bare and archbench: auto = where the ratio < 0.95")
    parser.add_argument("--max-seconds", type=float, default=None, help="skip the cells that would end after this")
    add_run_options(parser, "throughput", QUICK, "CPU check in seconds")
    args = parse_args(parser, QUICK)
    args.inputs, args.repeats = args.inputs or list(INPUTS), args.repeats or 3
    args.explain, args.test_limit = args.explain or "auto", args.test_limit or 256
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cpu":
        args.threads = args.threads or 1
        torch.set_num_threads(args.threads)
    else:
        torch.backends.cudnn.benchmark = True      # as train() sets it, for the bare loop too
    chosen = args.archs or archs.names()
    unknown = [a for a in chosen if a not in archs.names()]
    if unknown:
        parser.error(f"unknown architecture {unknown[0]!r}; valid: {', '.join(archs.names())}")
    result = {**new_result(args, **device_facts(str(device))), "figures": []}
    started = time.perf_counter()
    longest = 0.0
    for shape in args.inputs:
        for arch in chosen:
            s = Setup(arch, INPUTS[shape], device, args)
            input_name = f"{s.spec.channels}x{s.spec.image_size}x{s.spec.image_size}"
            elapsed = time.perf_counter() - started
            if args.max_seconds is not None and elapsed + longest > args.max_seconds:
                figure = {"arch": arch, "dataset": s.dataset, "input": input_name,
                          "skipped": f"{elapsed:.0f} s gone, a cell takes up to {longest:.0f} s, "
                                     f"limit {args.max_seconds:.0f} s"}
            else:
                cell_start = time.perf_counter()
                images = max((args.images or s.spec.train_size) // s.batch_size, 1) * s.batch_size
                figure = measure(s, images, args.repeats)
                if args.explain == "always" or (args.explain == "auto" and figure["ratio"]["median"] < GOAL):
                    figure["explain"] = explain(s, images, args.repeats)
                longest = max(longest, time.perf_counter() - cell_start)
            result["figures"].append(figure)
            append_item(args, figure)
            print(row_line(figure), flush=True)
    measured = [f["ratio"]["median"] for f in result["figures"] if "ratio" in f]
    result["summary"] = {"cells": len(result["figures"]), "measured": len(measured),
                         "within_5pct": sum(r >= GOAL for r in measured),
                         "ratio_worst": round(min(measured), 4) if measured else None,
                         "ratio_median_of_medians": round(statistics.median(measured), 4) if measured else None}
    finish(result, started, args, "throughput", print_table)


if __name__ == "__main__":
    main()
