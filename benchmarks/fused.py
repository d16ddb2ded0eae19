"""Fused seeds: K seeds of one cell trained as one model with torch.func, against K separate models.

For each architecture, input size and K (default 1, 3 and 8), the same K initial models (seeds 0..K-1,
``archs.build`` after ``torch.manual_seed``) train on the same batches (random images, a stream of its
own per seed) with the recipe's loss, optimizer and schedule (``orchestrator.recipes``), two ways:

  - separate: K models, K optimizers, one plain step after another (forward, loss, zero_grad,
    backward, optimizer step, schedule step);
  - fused: the K models' parameters and BatchNorm buffers stacked (``torch.func.stack_module_state``),
    one ``torch.vmap(functional_call, randomness="different")`` over the K seeds' batches, the sum
    of the K losses backpropagated, and one optimizer over the stacked parameters (the recipe's,
    built by ``recipes.make_optimizer`` and pointed at them: the same groups, every update elementwise).

The check: the first ``--check-steps`` steps of both, with dropout off (the two draw their dropout
masks differently), give each seed the same loss at each step within float tolerance; the losses are
recorded side by side. The timing: dropout as the model has it, one untimed step, then ``--steps``
timed steps of each, alternately ``--repeats`` times; the figure is images/s over all K seeds and the
speedup fused / separate. Contiguous tensors, no autocast, on CPU ``--threads`` torch threads (1).

This is a measurement, not a product feature: a sweep option to fuse seeds waits for a figure that
shows it at least 2x faster for the study's cells.

Run from the repository root:
  CPU:    .venv/bin/python benchmarks/fused.py [--archs lenet5 resnet20v1] [--ks 1 3 8]
  quick:  .venv/bin/python benchmarks/fused.py --quick      (seconds: lenet5, K 1 and 3, batch 32)
Prints a table and appends one JSON line to benchmarks/results/fused.jsonl (or --results).
"""

from __future__ import annotations

import copy
import statistics
import time

import torch  # noqa: E402
from common import INPUTS, add_run_options, append_item, device_facts, finish, new_result, parse_args, script_parser
from torch import nn  # noqa: E402
from torch.func import functional_call, stack_module_state  # noqa: E402

import archs  # noqa: E402
from orchestrator import data, recipes  # noqa: E402

POOL_BATCHES = 4         # distinct random batches a seed cycles through
TOLERANCE = 1e-3         # relative: float32 rounding differs between a vmapped and a plain kernel
QUICK = {"archs": ["lenet5"], "inputs": ["mnist"], "ks": [1, 3], "steps": 3, "repeats": 1, "batch_size": 32}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Setup:
    """One architecture x input size x K: the K initial models, their batches, the recipe."""

    def __init__(self, arch: str, dataset: str, k: int, device: torch.device, batch_size: int | None) -> None:
        self.arch, self.k, self.device = arch, k, device
        self.spec = data.spec(dataset)
        recipe = archs.recipe(arch).for_dataset(dataset)
        self.recipe = recipe.with_overrides(batch_size=batch_size) if batch_size else recipe
        self.initial = []
        for seed in range(k):
            torch.manual_seed(seed)
            self.initial.append(archs.build(arch, self.spec.channels, self.spec.num_classes, self.spec.image_size))
        shape = (POOL_BATCHES, self.recipe.batch_size, self.spec.channels, self.spec.image_size, self.spec.image_size)
        streams = [torch.Generator().manual_seed(1000 + seed) for seed in range(k)]
        self.images = torch.stack([torch.randn(shape, generator=g) for g in streams], dim=1).to(device)
        self.labels = torch.stack([torch.randint(self.spec.num_classes, shape[:2], generator=g) for g in streams],
                                  dim=1).to(device)     # [pool, K, batch]

    def models(self, dropout: bool) -> list[nn.Module]:
        models = [copy.deepcopy(m).to(self.device).train() for m in self.initial]
        if not dropout:
            for model in models:
                for module in model.modules():
                    if isinstance(module, nn.Dropout):
                        module.p = 0.0
        return models

    def schedule(self, optimizer: torch.optim.Optimizer, steps: int) -> torch.optim.lr_scheduler.LRScheduler:
        return recipes.make_schedule(self.recipe, optimizer, max(steps, 2))


class Separate:
    """K models trained one step after another."""

    def __init__(self, cell: Setup, dropout: bool, steps: int) -> None:
        self.cell, self.models = cell, cell.models(dropout)
        self.optimizers = [recipes.make_optimizer(cell.recipe, m) for m in self.models]
        self.schedules = [cell.schedule(o, steps) for o in self.optimizers]
        self.loss_fn = recipes.make_loss(cell.recipe)

    def step(self, i: int) -> list[float]:
        batch = i % POOL_BATCHES
        losses = []
        for k, (model, optimizer, schedule) in enumerate(zip(self.models, self.optimizers, self.schedules)):
            loss = self.loss_fn(model(self.cell.images[batch, k]), self.cell.labels[batch, k])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.detach())
        return losses


class Fused:
    """The K models as one: stacked parameters and buffers, one vmapped step."""

    def __init__(self, cell: Setup, dropout: bool, steps: int) -> None:
        models = cell.models(dropout)
        self.cell = cell
        self.params, self.buffers = stack_module_state(models)
        self.base = copy.deepcopy(models[0]).to("meta")
        # The recipe's optimizer for one model, pointed at the stacked tensors: the same groups and settings.
        stacked = {id(p): self.params[name] for name, p in models[0].named_parameters()}
        self.optimizer = recipes.make_optimizer(cell.recipe, models[0])
        for group in self.optimizer.param_groups:
            group["params"] = [stacked[id(p)] for p in group["params"]]
        self.schedule = cell.schedule(self.optimizer, steps)
        loss_fn = recipes.make_loss(cell.recipe)

        def one(params: dict, buffers: dict, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
            return loss_fn(functional_call(self.base, (params, buffers), (images,)), labels)

        self.losses = torch.vmap(one, randomness="different")

    def step(self, i: int) -> list[float]:
        batch = i % POOL_BATCHES
        losses = self.losses(self.params, self.buffers, self.cell.images[batch], self.cell.labels[batch])
        self.optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()
        self.optimizer.step()
        self.schedule.step()
        return list(losses.detach())


def check(cell: Setup, steps: int) -> dict:
    """Each seed's loss at each of the first ``steps`` steps, separate and fused (dropout off)."""
    separate, fused = Separate(cell, dropout=False, steps=steps), Fused(cell, dropout=False, steps=steps)
    pairs = [[(float(a), float(b)) for a, b in zip(separate.step(i), fused.step(i))] for i in range(steps)]
    worst = max(abs(a - b) / max(abs(a), 1e-12) for step in pairs for a, b in step)
    return {"losses_separate_fused": pairs, "loss_rel_diff_max": worst, "agree": worst <= TOLERANCE}


def rate(cell: Setup, kind: type, steps: int) -> float:
    """images/s over all K seeds of ``steps`` timed steps (after one untimed)."""
    trainer = kind(cell, dropout=True, steps=steps + 1)
    trainer.step(0)
    _sync(cell.device)
    start = time.perf_counter()
    for i in range(1, steps + 1):
        trainer.step(i)
    _sync(cell.device)
    return cell.k * steps * cell.recipe.batch_size / (time.perf_counter() - start)


def _stats(values: list[float], digits: int) -> dict:
    return {"median": round(statistics.median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits)}


def measure(cell: Setup, args) -> dict:
    checked = check(cell, args.check_steps)
    rates: dict[str, list[float]] = {"separate": [], "fused": []}
    for r in range(args.repeats):
        for name, kind in ((("separate", Separate), ("fused", Fused)) if r % 2 == 0 else
                           (("fused", Fused), ("separate", Separate))):
            rates[name].append(rate(cell, kind, args.steps))
    return {"arch": cell.arch, "input": f"{cell.spec.channels}x{cell.spec.image_size}x{cell.spec.image_size}",
            "k": cell.k, "batch_size": cell.recipe.batch_size, "steps": args.steps,
            "separate_images_per_s": _stats(rates["separate"], 1), "fused_images_per_s": _stats(rates["fused"], 1),
            "speedup": _stats([f / s for f, s in zip(rates["fused"], rates["separate"])], 3), **checked}


def row_line(r: dict) -> str:
    if "skipped" in r:
        return f"{r['arch']:<11}{r['input']:<9}{r['k']:>3}  skipped: {r['skipped']}"
    first = r["losses_separate_fused"][0][0]
    return (f"{r['arch']:<11}{r['input']:<9}{r['k']:>3}{r['separate_images_per_s']['median']:>11.1f}"
            f"{r['fused_images_per_s']['median']:>9.1f}{r['speedup']['median']:>8.3f}  "
            f"{r['speedup']['min']:.3f}-{r['speedup']['max']:.3f}  {r['loss_rel_diff_max']:>9.1e} "
            f"{'yes' if r['agree'] else 'NO':<6}{first[0]:.5f} / {first[1]:.5f}")


def print_table(result: dict) -> None:
    m = result["machine"]
    print(f"\nfused seeds against separate models, {m['device']}, torch {m['torch']}, "
          f"{result['settings']['threads']} thread(s), load {m['load_avg_start']} -> {m['load_avg_end']}, "
          f"{result['settings']['repeats']} alternated pairs of {result['settings']['steps']} steps: "
          f"median [min-max] of fused/separate")
    print(f"{'arch':<11}{'input':<9}{'K':>3}{'separate/s':>11}{'fused/s':>9}{'speedup':>8}  {'spread':<13}"
          f"{'loss diff':>9} {'agree':<6}seed 0's first loss, separate / fused")
    for r in result["figures"]:
        print(row_line(r))


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    parser.add_argument("--archs", nargs="+", default=None, help=f"default: all ({', '.join(archs.names())})")
    parser.add_argument("--inputs", nargs="+", default=None, choices=list(INPUTS),
                        help="input sizes: mnist = 1x28x28, cifar10 = 3x32x32 (default: mnist)")
    parser.add_argument("--ks", nargs="+", type=int, default=None, help="seeds fused into one model (default 1 3 8)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps of each (default 10)")
    parser.add_argument("--check-steps", type=int, default=3, help="steps whose losses are compared (default 3)")
    parser.add_argument("--repeats", type=int, default=None, help="timed pairs (default 3)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: each recipe's (128)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on CPU (default 1)")
    parser.add_argument("--max-seconds", type=float, default=None, help="skip the cells that would end after this")
    add_run_options(parser, "fused", QUICK, "CPU check in seconds")
    args = parse_args(parser, QUICK)
    args.inputs, args.ks = args.inputs or ["mnist"], args.ks or [1, 3, 8]
    args.steps, args.repeats = args.steps or 10, args.repeats or 3
    chosen = args.archs or archs.names()
    unknown = [a for a in chosen if a not in archs.names()]
    if unknown:
        parser.error(f"unknown architecture {unknown[0]!r}; valid: {', '.join(archs.names())}")
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    result = {**new_result(args, **device_facts(str(device))), "figures": []}
    started, longest = time.perf_counter(), 0.0
    for shape in args.inputs:
        for arch in chosen:
            for k in args.ks:
                elapsed = time.perf_counter() - started
                if args.max_seconds is not None and elapsed + longest * k > args.max_seconds:
                    figure = {"arch": arch, "input": shape, "k": k,
                              "skipped": f"{elapsed:.0f} s gone, limit {args.max_seconds:.0f} s"}
                else:
                    cell_start = time.perf_counter()
                    figure = measure(Setup(arch, INPUTS[shape], k, device, args.batch_size), args)
                    longest = max(longest, (time.perf_counter() - cell_start) / k)   # seconds per seed
                print(row_line(figure), flush=True)
                result["figures"].append(figure)
                append_item(args, figure)
    finish(result, started, args, "fused", print_table)


if __name__ == "__main__":
    main()
