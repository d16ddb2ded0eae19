"""Where a trial's training time goes on the CPU: ``train()`` under torch.profiler, by operator and by kind.

For one architecture on one input size (1x28x28 from the synthetic twin of MNIST, 3x32x32 from that of
CIFAR-10), ``orchestrator.train.train`` runs one epoch over N images at the recipe's batch size, without
validation and with a small test set: first unprofiled (the process's one-time warm-up: oneDNN builds its
kernels per shape), then twice more, each time over its training steps after the first (through train()'s
``on_progress`` hook, called after every step): once unprofiled, the process's page faults and CPU seconds
counted by ``getrusage`` and the steps timed; once under ``torch.profiler`` (which costs time and
allocations of its own: its shares, not its seconds, are the figures). The img/s printed is train()'s figure
for the unprofiled epoch.

Printed: the operators with the most self CPU time, each input shape apart, with their share of the
profile; the shares by kind (convolutions and matrix products forward and backward; the element-wise and
memory-bound rest: activations and their gradients, pooling, concatenation, fills, dropout masks,
copies; the optimizer's step as a whole); and the page faults and system CPU milliseconds per training
step, which is the kernel's time handing the allocator fresh zeroed pages.

``--keep-freed-memory`` first asks glibc (``mallopt``) to keep freed blocks of up to 32 MiB in the heap
instead of returning them to the kernel, so that their pages are not faulted in again every step: what
that is worth, on this process's main thread (a Ray Tune trial runs in a thread of its worker).

Run from the repository root:
  .venv/bin/python benchmarks/step_profile.py --arch squeezenet --input mnist
  .venv/bin/python benchmarks/step_profile.py --quick    (seconds: lenet5 on 1x28x28, 512 images)
Prints the tables and appends one JSON line to benchmarks/results/step_profile.jsonl (or --results).
"""

from __future__ import annotations

import ctypes
import resource
import time

import torch
from common import INPUTS, add_run_options, finish, new_result, parse_args, script_parser
from torch.profiler import ProfilerActivity, profile

import archs
from orchestrator.train import train
from orchestrator.trial import Budget, Cell, Progress, TrialOutcome, TrialSpec

QUICK = {"arch": "lenet5", "input": "mnist", "images": 512}
COMPUTE = ("convolution", "addmm", "aten::mm", "aten::bmm")     # operator names holding the FLOPs
OPTIMIZER_STEP = "Optimizer.step#"                              # the optimizer's record_function
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3                     # glibc's mallopt parameters
KEEP_BYTES = 32 * 2**20                                         # glibc's largest mmap threshold on 64-bit


def keep_freed_memory() -> None:
    """Have glibc serve blocks of up to 32 MiB from the heap and never give freed heap back to the kernel."""
    libc = ctypes.CDLL("libc.so.6")
    if not (libc.mallopt(M_MMAP_THRESHOLD, KEEP_BYTES) and libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1)):
        raise SystemExit("error: glibc refused the mallopt settings")


class StepWindow:
    """A train() ``on_progress`` hook (called after every step) over steps 2 to the last of the epoch: it counts
    the process's page faults and CPU seconds there, or profiles them with ``profiler``."""

    def __init__(self, profiler: torch.profiler.profile | None = None) -> None:
        self.profiler, self.steps, self.start, self.wall = profiler, 0, 0.0, 0.0
        self.before: resource.struct_rusage | None = None
        self.after: resource.struct_rusage | None = None

    def __call__(self, progress: Progress) -> None:
        if progress.step == 1:
            self.before, self.start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            if self.profiler:
                self.profiler.start()
        elif progress.step == progress.steps:
            if self.profiler:
                self.profiler.stop()
            self.after, self.wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - self.start
            self.steps = progress.steps - 1


def train_window(spec: TrialSpec, profiler: torch.profiler.profile | None = None) -> tuple[StepWindow, TrialOutcome]:
    """``train(spec)`` with a ``StepWindow`` over its steps after the first."""
    window = StepWindow(profiler)
    outcome = train(spec, on_progress=window, progress_every=0.0)
    if window.after is None:   # a failed trial, or an epoch of one step
        raise SystemExit(f"error: no second training step was seen ({outcome.status}: {outcome.error})")
    return window, outcome


def counted_steps(spec: TrialSpec) -> dict:
    """What getrusage and the clock say of ``train(spec)``'s steps after the first, unprofiled."""
    window, outcome = train_window(spec)
    before, after, steps = window.before, window.after, window.steps
    return {
        "status": outcome.status, "steps": steps, "wall_ms_per_step": round(window.wall / steps * 1e3, 1),
        "train_images_per_s": round(outcome.history[-1].images_per_sec, 1),
        "page_faults_per_step": round((after.ru_minflt - before.ru_minflt) / steps),
        "system_ms_per_step": round((after.ru_stime - before.ru_stime) / steps * 1e3, 1),
        "user_ms_per_step": round((after.ru_utime - before.ru_utime) / steps * 1e3, 1),
    }


def profiled_steps(spec: TrialSpec) -> torch.profiler.profile:
    """``train(spec)``'s steps after the first under torch.profiler."""
    profiler = profile(activities=[ProfilerActivity.CPU], record_shapes=True)
    train_window(spec, profiler)
    return profiler


def breakdown(prof: torch.profiler.profile, rows: int) -> tuple[list[dict], dict[str, float]]:
    """The ``rows`` operators (by input shape) with the most self CPU time, and the shares by kind."""
    averages = prof.key_averages(group_by_input_shape=True)
    events = [e for e in averages if e.self_cpu_time_total > 0]
    total = sum(e.self_cpu_time_total for e in events)
    top = sorted(events, key=lambda e: -e.self_cpu_time_total)[:rows]
    operators = [{"op": e.key, "shapes": str(e.input_shapes)[:70], "calls": e.count,
                  "self_ms": round(e.self_cpu_time_total / 1e3, 1),
                  "share": round(e.self_cpu_time_total / total, 4)} for e in top]
    optimizer = sum(e.cpu_time_total for e in averages if e.key.startswith(OPTIMIZER_STEP))
    compute = sum(e.self_cpu_time_total for e in events if any(name in e.key for name in COMPUTE))
    kinds = {"convolutions and matrix products": compute / total, "optimizer step": optimizer / total}
    kinds["element-wise, memory and the rest"] = 1.0 - sum(kinds.values())
    return operators, {kind: round(share, 4) for kind, share in kinds.items()}


def print_tables(result: dict) -> None:
    f = result["figures"]
    s = result["settings"]
    print(f"\n{s['arch']} on {INPUTS[s['input']]}, {f['steps'] + 1} steps of {f['batch_size']}, 1 thread"
          f"{', glibc keeping freed memory' if s['keep_freed_memory'] else ''}: {f['train_images_per_s']:,} img/s")
    print(f"\n{'operator':34} {'input shapes':70} {'calls':>6} {'self ms':>9} {'share':>7}")
    for op in f["operators"]:
        print(f"{op['op'][:34]:34} {op['shapes']:70} {op['calls']:>6} {op['self_ms']:>9,.1f} {op['share']:>7.1%}")
    print("\n" + ", ".join(f"{kind} {share:.1%}" for kind, share in f["kinds"].items()))
    print(f"per step: {f['wall_ms_per_step']} ms, page faults {f['page_faults_per_step']:,}, CPU ms system "
          f"{f['system_ms_per_step']} and user {f['user_ms_per_step']} (steps 2 to {f['steps'] + 1}, unprofiled)")


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--arch", default=None, help=f"default: squeezenet ({', '.join(archs.names())})")
    parser.add_argument("--input", default=None, choices=list(INPUTS), help="default: mnist (1x28x28)")
    parser.add_argument("--images", type=int, default=None, help="training images in the profiled epoch "
                                                                   "(default 2,560)")
    parser.add_argument("--rows", type=int, default=15, help="operators listed")
    parser.add_argument("--keep-freed-memory", action="store_true",
                        help="mallopt: glibc keeps freed blocks of up to 32 MiB instead of returning them")
    add_run_options(parser, "step_profile", QUICK, "seconds, to check the script works")
    args = parse_args(parser, QUICK)
    args.arch, args.input, args.images = args.arch or "squeezenet", args.input or "mnist", args.images or 2560
    started = time.perf_counter()
    if args.keep_freed_memory:
        keep_freed_memory()
    torch.set_num_threads(1)
    result = new_result(args, device="cpu", threads=1)
    spec = TrialSpec(Cell(args.arch, INPUTS[args.input]), Budget(epochs=1, train_limit=args.images, test_limit=128,
                                                                 val_split=0.0), device="cpu", threads=1,
                     checkpoints=False)
    train(spec)    # the warm-up
    figures = counted_steps(spec)
    operators, kinds = breakdown(profiled_steps(spec), args.rows)
    result["figures"] = {**figures, "batch_size": spec.recipe.batch_size, "operators": operators, "kinds": kinds}
    finish(result, started, args, "step_profile", print_tables)


if __name__ == "__main__":
    main()
