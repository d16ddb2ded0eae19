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

``--formats`` times ``train()`` against itself instead, in both memory formats: each architecture is
registered again (as a plugin registers one) with its recipe's ``channels_last`` set each way, and the
two are trained alternately ``--repeats`` times; the ratio is channels-last / contiguous. The recipes'
``channels_last`` choices (docs/recipes.md) follow these figures.

Every figure carries the architecture's training FLOPs per image (``archs.flops``) and the FLOP/s
that train()'s images/s achieve; on a CPU also their share of the FP32 peak of the threads used:
``--peak-gflops`` per thread, else derived as the clock in /proc/cpuinfo x 32 FLOPs per cycle on a
CPU with AVX2 and FMA (two 256-bit FMA units: 2 x 8 fp32 lanes x 2 FLOPs per FMA, as on AMD Zen 2-4
and Intel since Haswell); boost clocks above the reported one are not counted.

Run from the repository root:
  GPU:    python benchmarks/throughput.py --device cuda [--compile]
  CPU:    .venv/bin/python benchmarks/throughput.py --quick    (seconds: lenet5 on 1x28x28, 256 images)
  formats: .venv/bin/python benchmarks/throughput.py --formats --images 1280 --repeats 5
Prints a table and appends one JSON line to benchmarks/results/throughput.jsonl (or --results).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

import torch  # noqa: E402
from common import (
    INPUTS,
    add_run_options,
    append_item,
    device_facts,
    finish,
    mib,
    new_result,
    parse_args,
    script_parser,
)

import archs  # noqa: E402
from archs.flops import training_flops  # noqa: E402
from orchestrator import data, recipes  # noqa: E402
from orchestrator.train import train  # noqa: E402
from orchestrator.trial import Budget, Cell, TrialSpec  # noqa: E402

POOL_BATCHES = 32        # distinct random batches the bare loop cycles through
GOAL = 0.95              # archbench within 5% of the bare loop
FORMATS = ("contiguous", "channels_last")
AVX2_FMA_FLOPS_PER_CYCLE = 32    # fp32: 2 FMA units x 8 lanes (256 bits) x 2 FLOPs (multiply + add)
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
        self.flops = training_flops(archs.build(arch, self.spec.channels, self.spec.num_classes, self.spec.image_size),
                                    self.spec.channels, self.spec.image_size)

    @property
    def batch_size(self) -> int:
        return self.recipe.batch_size

    def trial(self, images: int, arch: str | None = None) -> TrialSpec:
        return TrialSpec(Cell(arch or self.arch, self.dataset), replace(self.budget, train_limit=images),
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


def format_variant(arch: str, memory_format: str) -> str:
    """``arch`` registered again, as a plugin would register it, with its recipe's ``channels_last`` set to
    ``memory_format``: train() then runs it in that format whatever the recipe chose."""
    name = f"{arch}@{memory_format}"
    if name not in archs.names():
        entry = archs.entry(arch)
        archs.register(name, recipe=replace(entry.recipe, channels_last=memory_format == "channels_last"))(
            entry.builder)
    return name


def measure_formats(s: Setup, images: int, repeats: int) -> dict:
    """train()'s second-epoch images/s in both memory formats, alternately (the first format alternates too)."""
    rates: dict[str, list[float]] = {f: [] for f in FORMATS}
    for r in range(repeats):
        for memory_format in (FORMATS if r % 2 == 0 else FORMATS[::-1]):
            rates[memory_format].append(train(s.trial(images, format_variant(s.arch, memory_format)))
                                        .history[-1].images_per_sec)
    chosen = "channels_last" if archs.recipe(s.arch).channels_last else "contiguous"
    return {**_cell(s, images), "contiguous_images_per_s": _stats(rates["contiguous"], 1),
            "channels_last_images_per_s": _stats(rates["channels_last"], 1),
            "ratio": _stats([c / n for c, n in zip(rates["channels_last"], rates["contiguous"])]),
            "recipe_format": chosen, **_achieved(s, statistics.median(rates[chosen]))}


def _cell(s: Setup, images: int) -> dict:
    return {"arch": s.arch, "dataset": s.dataset, "input": f"{s.spec.channels}x{s.spec.image_size}x{s.spec.image_size}",
            "batch_size": s.batch_size, "images": images, "steps": images // s.batch_size, "compile": s.args.compile}


def _achieved(s: Setup, images_per_s: float) -> dict:
    """The FLOP/s that ``images_per_s`` of training achieve and, where the peak is known, its share of it."""
    flops_per_s = images_per_s * s.flops
    peak = s.args.peak_flops_per_thread
    share = flops_per_s / (peak * s.args.threads) if peak and s.device.type == "cpu" else None
    return {"train_flops_per_image": s.flops, "achieved_gflops_per_s": round(flops_per_s / 1e9, 2),
            "peak_share": round(share, 4) if share is not None else None}


def cpu_peak(peak_gflops: float | None) -> dict:
    """The FP32 peak of one CPU core (one thread): ``peak_gflops``, else the clock x FLOPs per cycle (docstring)."""
    if peak_gflops:
        return {"flops_per_thread": peak_gflops * 1e9, "how": "--peak-gflops"}
    info = Path("/proc/cpuinfo").read_text()
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    mhz = next((float(line.split(":", 1)[1]) for line in info.splitlines() if line.startswith("cpu MHz")), None)
    if mhz is None or not {"avx2", "fma"} <= set(flags):
        return {"flops_per_thread": None, "how": "unknown: no AVX2 + FMA or no clock in /proc/cpuinfo (--peak-gflops)"}
    return {"flops_per_thread": mhz * 1e6 * AVX2_FMA_FLOPS_PER_CYCLE,
            "how": f"{mhz:.1f} MHz (/proc/cpuinfo) x {AVX2_FMA_FLOPS_PER_CYCLE} fp32 FLOPs/cycle "
                   "(AVX2 + FMA: 2 FMA units x 8 lanes x 2)"}


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
        **_cell(s, images),
        "archbench_images_per_s": _stats(a_rates, 1), "bare_images_per_s": _stats(b_rates, 1),
        "ratio": _stats([a / b for a, b in zip(a_rates, b_rates)]),
        "archbench_peak_mem_bytes": max((m or 0) for m in a_mem) or None,
        "bare_peak_mem_bytes": max((m or 0) for m in b_mem) or None,
        **_achieved(s, statistics.median(a_rates)),
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
            f"{mib(r['bare_peak_mem_bytes']):>9}  {'ok' if r['ratio']['median'] >= GOAL else 'GAP'}"
            f"{r['achieved_gflops_per_s']:>9.2f}{_share(r):>7}")


def _share(r: dict) -> str:
    return f"{r['peak_share']:.1%}" if r.get("peak_share") is not None else "-"


def format_line(r: dict) -> str:
    if "skipped" in r:
        return f"{r['arch']:<11}{r['input']:<9}skipped: {r['skipped']}"
    return (f"{r['arch']:<11}{r['input']:<9}{r['contiguous_images_per_s']['median']:>11.1f}"
            f"{r['channels_last_images_per_s']['median']:>14.1f}{r['ratio']['median']:>7.3f}  "
            f"{r['ratio']['min']:.3f}-{r['ratio']['max']:.3f}  {r['recipe_format']:<14}"
            f"{r['train_flops_per_image'] / 1e6:>9.1f}{r['achieved_gflops_per_s']:>9.2f}{_share(r):>7}")


def print_formats(result: dict) -> None:
    m = result["machine"]
    print(f"\ntrain() images/s in both memory formats, {m['device']}, torch {m['torch']}, "
          f"{result['settings']['threads']} thread(s), load {m['load_avg_start']} -> {m['load_avg_end']}, "
          f"{result['settings']['repeats']} alternated pairs: median [min-max] of channels-last/contiguous; "
          f"peak per thread {m['peak']['how']}")
    print(f"{'arch':<11}{'input':<9}{'contiguous':>11}{'channels-last':>14}{'ratio':>7}  {'spread':<13}"
          f"{'recipe':<14}{'MFLOP/img':>9}{'GFLOP/s':>9}{'peak':>7}")
    for r in result["figures"]:
        print(format_line(r))


def print_table(result: dict) -> None:
    if result["settings"]["formats"]:
        print_formats(result)
        return
    m = result["machine"]
    print(f"\ntraining images/s{' (torch.compile)' if result['settings']['compile'] else ''}, {m['device']}, "
          f"torch {m['torch']}, {m['cpu_count']} cores, load {m['load_avg_start']} -> {m['load_avg_end']}, "
          f"{result['settings']['repeats']} pairs: median [min-max] of archbench/bare per pair")
    print(f"{'arch':<11}{'input':<9}{'images':>7}{'archbench':>11}{'bare':>11}{'ratio':>7}  {'spread':<13}"
          f"{'MiB arch':>9}{'MiB bare':>9}  goal{'GFLOP/s':>9}{'peak':>7}")
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
    parser.add_argument("--formats", action="store_true",
                        help="train() in both memory formats (contiguous, channels-last) instead of against the "
                             "bare loop")
    parser.add_argument("--peak-gflops", type=float, default=None,
                        help="FP32 peak of one CPU thread (default: clock x 32 FLOPs/cycle where AVX2 + FMA)")
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
    peak = cpu_peak(args.peak_gflops) if device.type == "cpu" else {"flops_per_thread": None, "how": "not a CPU"}
    args.peak_flops_per_thread = peak["flops_per_thread"]
    result = {**new_result(args, **device_facts(str(device)), peak=peak), "figures": []}
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
                if args.formats:
                    figure = measure_formats(s, images, args.repeats)
                else:
                    figure = measure(s, images, args.repeats)
                    if args.explain == "always" or (args.explain == "auto" and figure["ratio"]["median"] < GOAL):
                        figure["explain"] = explain(s, images, args.repeats)
                longest = max(longest, time.perf_counter() - cell_start)
            result["figures"].append(figure)
            append_item(args, figure)
            print((format_line if args.formats else row_line)(figure), flush=True)
    measured = [f["ratio"]["median"] for f in result["figures"] if "ratio" in f]
    result["summary"] = {"cells": len(result["figures"]), "measured": len(measured),
                         ("channels_last_faster" if args.formats else "within_5pct"):
                             sum(r > 1 if args.formats else r >= GOAL for r in measured),
                         "ratio_worst": round(min(measured), 4) if measured else None,
                         "ratio_median_of_medians": round(statistics.median(measured), 4) if measured else None}
    finish(result, started, args, "throughput", print_table)


if __name__ == "__main__":
    main()
