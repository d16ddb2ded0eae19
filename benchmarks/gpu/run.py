"""The GPU run: what one call on the GPU machine measures, within its own clock (``run.sh`` starts it).

Steps, in this order, each given the time that is left and skipped (saying so) when too little is:

  1. facts        GPU name and memory, driver, torch, CUDA, cuDNN, Ray; the kit's project files against
                  this tree; what Ray, Ray Tune and archbench require that is not installed, or installed
                  at a version they exclude (read with ``packaging``, which the GPU image holds)
  2. throughput   benchmarks/throughput.py, eager: per architecture and input size, images/s of
                  archbench's ``train`` against a bare loop (bf16 autocast + channels-last), peak memory
  3. packing      benchmarks/sweep.py: the 5 x 4 grid through ``archbench sweep --local`` on the
                  synthetic twins (real sizes), a fixed short budget, at --gpus-per-trial 1, 0.5,
                  0.25 and a smaller share chosen from the peak memory of step 2
  4. compile      benchmarks/throughput.py --compile on 3x32x32 for LeNet-5, then ResNet-20 v1 (one
                  process each), as far as its 45 s allow: compiling all ten cells takes minutes
  5. accuracy     ``archbench data import mnist`` (the kit's real files), every architecture with its
                  full recipe through ``archbench sweep --local`` at the best share of step 3, then
                  ``archbench summarize --vs-study``; an architecture that would not finish in time
                  (estimated from steps 2 and 3) is left out, saying so
  6. summary      one table, the recommended default GPU share and the three GPU goals

Everything goes under ``--out``: ``archbench-gpu.jsonl`` (one JSON line per step) beside the log that
``run.sh`` writes. ``--dry`` runs the same steps on this CPU machine at tiny budgets (one packing
level of CPUs, LeNet-5 only, no compile), so that the script is known to work before GPU time is spent.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from packaging.requirements import Requirement

HERE = Path(__file__).resolve().parent
BENCHMARKS = HERE.parent
sys.path.insert(0, str(BENCHMARKS))

from common import (GRACE, REPO, append_result, device_facts, machine_facts, mib, num, plain, run_cli,  # noqa: E402
                    script_parser)

import torch  # noqa: E402

import archs  # noqa: E402
from orchestrator import data, study  # noqa: E402
from orchestrator.results import ResultStore  # noqa: E402
from orchestrator.trial import DEFAULT_VAL_SPLIT  # noqa: E402

JSONL = "archbench-gpu.jsonl"
MEMORY_HEADROOM = 1.5        # a share must hold this many times the largest peak memory measured
GAIN_GOAL, RATIO_GOAL, LENET_PUBLISHED = 3.0, 0.95, 0.99
PACKAGES = ("torchvision", "numpy", "pandas", "pyarrow", "typer", "rich", "pydantic", "filelock", "scipy", "matplotlib")


class Run:
    """The clock, the output file and the log of one run."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.deadline = args.started + args.budget
        self.jsonl = args.out / JSONL
        self.skipped: list[str] = []

    def left(self) -> float:
        return self.deadline - time.time()

    def log(self, line: str = "") -> None:
        print(line, flush=True)

    def skip(self, step: str, why: str) -> None:
        self.skipped.append(f"{step}: {why}")
        self.log(f"SKIPPED {step}: {why}")
        self.record({"step": step, "skipped": why})

    def record(self, line: dict) -> None:
        append_result(self.jsonl, {"dry": self.args.dry, **line})

    def script(self, step: str, script: str, flags: list[str], limit: float) -> dict | None:
        """Run benchmarks/SCRIPT with ``flags``; its JSON line (recorded under ``step``), or None if it failed."""
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "line.jsonl"
            command = [sys.executable, str(BENCHMARKS / script), *flags, "--results", str(out)]
            self.log(f"$ {' '.join(command[1:])}")
            try:
                done = subprocess.run(command, timeout=max(limit, 1) + 20)
            except subprocess.TimeoutExpired:
                self.skip(step, f"{script} ran past its {limit:.0f} s and was stopped")
                return None
            if done.returncode != 0 or not out.exists():
                self.skip(step, f"{script} exited {done.returncode} (see the log)")
                return None
            line = json.loads(out.read_text().splitlines()[-1])
        self.record({"step": step, **line})
        return line


# ---------------------------------------------------------------- 1. facts


def facts(run: Run) -> dict:
    on_cuda = torch.cuda.is_available()
    found = {**machine_facts(), **device_facts(), "cudnn": torch.backends.cudnn.version() if on_cuda else None,
             "nvidia_smi": _nvidia_smi() if on_cuda else None, "ray": _version("ray"),
             "archbench": _version("archbench"), "packages": {name: _version(name) for name in PACKAGES}}
    found["unmet_requirements"] = unmet_requirements()
    found["kit"] = kit_check(run.args.kit)
    run.record({"step": "facts", **found})
    run.log(f"device {found['device']}, {mib(found['device_memory_bytes'])} MiB, {found['nvidia_smi'] or ''}")
    run.log(f"python {found['python']}, torch {found['torch']}, CUDA {found['cuda']}, cuDNN {found['cudnn']}, "
            f"ray {found['ray']}, {found['cpu_count']} cores")
    run.log("packages: " + ", ".join(f"{name} {version}" for name, version in found["packages"].items()))
    run.log(f"unmet requirements: {', '.join(found['unmet_requirements']) or 'none'}")
    run.log(f"kit: {found['kit']}")
    return found


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _nvidia_smi() -> str | None:
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=30).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def unmet_requirements() -> list[str]:
    """What Ray (with its tune extra) and archbench require on this Python that is not installed (its name),
    or is installed at a version the requirement excludes ("name version, dist wants specifier")."""
    unmet: list[str] = []
    for dist, extras in (("ray", ("tune",)), ("archbench", ())):
        try:
            requires = importlib.metadata.requires(dist) or []
        except importlib.metadata.PackageNotFoundError:
            unmet.append(dist)
            continue
        for requirement in map(Requirement, requires):
            marker = requirement.marker
            if marker is not None and not any(marker.evaluate({"extra": extra}) for extra in ("", *extras)):
                continue
            installed = _version(requirement.name)
            if installed is None:
                problem = requirement.name
            elif not requirement.specifier.contains(installed, prereleases=True):
                problem = f"{requirement.name} {installed}, {dist} wants {requirement.specifier}"
            else:
                continue
            if problem not in unmet:
                unmet.append(problem)
    return unmet


def kit_check(kit: Path) -> str:
    """Whether the installed project is the one in this tree (the kit's manifest against the files here)."""
    manifest = kit / "manifest.json"
    if not manifest.exists():
        return f"no kit at {kit}: archbench as installed in this environment"
    packed = json.loads(manifest.read_text())
    differ = [path for path, digest in packed["project_files"].items()
              if not (REPO / path).is_file() or hashlib.sha256((REPO / path).read_bytes()).hexdigest() != digest]
    here = {str(p.relative_to(REPO)) for top in ("orchestrator", "archs") for p in (REPO / top).rglob("*.py")}
    differ += sorted(here - set(packed["project_files"]))
    state = ("the same as this tree" if not differ else
             f"WARNING: {len(differ)} file(s) differ from this tree (e.g. {differ[0]}); the measured code is the kit's")
    return f"packed {packed['date']} from {packed['git_commit']}, Ray {packed['ray']}; project files {state}"


# ---------------------------------------------------------------- 2. and 5. throughput


GPU_THROUGHPUT = ["--device", "cuda", "--images", "8192", "--test-limit", "1024", "--explain", "never"]
COMPILED = ("lenet5", "resnet20v1")     # the smallest model and a deep one; compiling all ten cells takes minutes


def throughput(run: Run, limit: float) -> dict | None:
    if limit < 30:
        run.skip("throughput", f"{limit:.0f} s left for it")
        return None
    flags = ["--device", "cpu", "--quick"] if run.args.dry else [*GPU_THROUGHPUT, "--repeats", "2"]
    return run.script("throughput", "throughput.py", [*flags, "--max-seconds", f"{limit:.0f}"], limit)


def compiled_throughput(run: Run, limit: float) -> list[dict]:
    """throughput.py --compile on 3x32x32, one process per architecture of COMPILED while time is left."""
    if run.args.dry:
        run.skip("compile", "not in a dry run (torch.compile on a CPU needs minutes)")
        return []
    lines, end = [], time.time() + limit
    for arch in COMPILED:
        left = end - time.time()
        if left < 40:
            run.skip("compile", f"{arch}: {left:.0f} s left for it")
            continue
        line = run.script("compile", "throughput.py", [*GPU_THROUGHPUT, "--compile", "--archs", arch, "--inputs",
                                                        "cifar10", "--repeats", "1", "--max-seconds", f"{left:.0f}"],
                          left)
        lines += [line] if line else []
    return lines


# ---------------------------------------------------------------- 3. packing


def smaller_share(peak_bytes: int | None, memory_bytes: int | None, cells: int) -> float | None:
    """A share below 0.25 that still holds MEMORY_HEADROOM x the largest peak; None if none does."""
    if not peak_bytes or not memory_bytes:
        return None
    fit = int(memory_bytes // (MEMORY_HEADROOM * peak_bytes))
    trials = min(fit, cells, os.cpu_count() or 1)
    return round(1 / trials, 4) if trials > 4 else None


def packing(run: Run, found: dict, speed: dict | None, limit: float) -> dict | None:
    if limit < 60:
        run.skip("packing", f"{limit:.0f} s left for it")
        return None
    if run.args.dry:
        flags = ["--quick", "--datasets", "synthetic_mnist", "--cpus-per-trial", str(os.cpu_count() or 1)]
    else:
        peak = max((f.get("archbench_peak_mem_bytes") or 0 for f in (speed or {}).get("figures", [])), default=0)
        shares = [1.0, 0.5, 0.25]
        extra = smaller_share(peak, found["device_memory_bytes"], cells=20)
        if extra:
            shares.append(extra)
        run.log(f"shares: {shares} (largest peak memory measured {mib(peak)} MiB)")
        flags = ["--gpus-per-trial", *map(str, shares), "--train-limit", "8192", "--test-limit", "2048"]
    return run.script("packing", "sweep.py", [*flags, "--epochs", "1", "--max-seconds", f"{limit:.0f}"], limit)


def best_level(pack: dict | None) -> dict | None:
    """The fastest packing level; of two within 5% of each other, the larger share (less contention)."""
    levels = [lv for lv in (pack or {}).get("levels", []) if "wall_s" in lv and not lv["cut"]]
    if not levels:
        return None
    fastest = min(lv["wall_s"] for lv in levels)
    return next(lv for lv in levels if lv["wall_s"] <= 1.05 * fastest)


def share_of(level: dict) -> float:
    return float(level["packing"].split()[0])


# ---------------------------------------------------------------- 4. accuracy


def accuracy(run: Run, speed: dict | None, level: dict | None, limit: float) -> dict | None:
    mnist = run.args.mnist
    if not all((mnist / f).is_file() for f in ("train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")):
        run.skip("accuracy", f"no MNIST files in {mnist}")
        return None
    if limit < 60:
        run.skip("accuracy", f"{limit:.0f} s left for it")
        return None
    with tempfile.TemporaryDirectory(prefix="archbench-accuracy-") as work:
        return _accuracy(run, speed, level, limit, Path(work))


def _accuracy(run: Run, speed: dict | None, level: dict | None, limit: float, work: Path) -> dict | None:
    mnist, started = run.args.mnist, time.time()
    imported = run_cli(["data", "import", "mnist", str(mnist), "--data-dir", str(work / "data")], timeout=120)
    run.log(imported["output"].rstrip())
    if imported["returncode"] != 0:
        run.skip("accuracy", f"archbench data import mnist exited {imported['returncode']}")
        return None
    # The sweep's own limit: room after it for an interruption's grace period and for summarize.
    seconds = limit - (time.time() - started) - 20 - GRACE
    if run.args.dry:
        chosen, budget = ["lenet5"], ["--epochs", "2", "--train-limit", "2048", "--test-limit", "512"]
        resources = ["--gpus-per-trial", "0", "--cpus-per-trial", str(os.cpu_count() or 1)]
        estimates: dict[str, float] = {}
    else:
        share = share_of(level) if level else 0.25
        resources, budget = ["--gpus-per-trial", f"{share:g}"], []
        estimates = full_recipe_seconds(speed, level, default=limit / 2)
        chosen = fitting_archs(estimates, share, seconds)
        for arch in archs.names():
            if arch not in chosen:
                run.skip(f"accuracy {arch}", f"estimated {estimates[arch]:.0f} s, {seconds:.0f} s for the sweep")
        if not chosen:
            return None
    results = work / "results"
    run.log(f"accuracy: {', '.join(chosen)} on real MNIST, {' '.join(budget) or 'full recipes'}, {' '.join(resources)}")
    swept = run_cli(["sweep", "--local", "--archs", ",".join(chosen), "--datasets", "mnist", *budget, *resources,
                     "--data-dir", str(work / "data"), "--no-download", "--results", str(results), "--name",
                     "gpu-mnist"], timeout=max(seconds, 30))
    run.log(swept["output"].rstrip()[-6000:])
    summary = run_cli(["summarize", "--results", str(results), "--vs-study"], timeout=120)
    run.log(summary["output"].rstrip())
    rows = ResultStore(results).trials()
    line = {"step": "accuracy", "archs": chosen, "flags": budget + resources, "wall_s": round(swept["wall_s"], 1),
            "returncode": swept["returncode"], "cut": swept["cut"], "estimated_s": estimates,
            "summarize_returncode": summary["returncode"], "summarize": summary["output"][-20000:],
            "rows": [{k: plain(r.get(k)) for k in ("arch", "status", "error", "test_acc", "best_val_acc", "epochs_run",
                                                   "wall_seconds", "train_seconds", "images_per_sec", "peak_mem_bytes")}
                     for r in rows.to_dict("records")]}
    run.record(line)
    return line


def full_recipe_seconds(speed: dict | None, level: dict | None, default: float) -> dict[str, float]:
    """Estimated seconds of each architecture's full recipe on MNIST when packed at ``level``.

    Training images / the eager images/s of step 2 at 1x28x28, times the level's slowdown (trial
    time packed / one by one), plus a tenth for evaluation and 10 s for the trial's start; the
    largest of those (or ``default``) for an architecture step 2 did not measure.
    """
    slowdown = (level or {}).get("slowdown") or 1.0
    rates = {f["arch"]: f["archbench_images_per_s"]["median"] for f in (speed or {}).get("figures", [])
             if f.get("input") == "1x28x28" and "archbench_images_per_s" in f}
    spec = data.spec("mnist")
    out = {}
    for arch in archs.names():
        if arch in rates:
            epochs = archs.recipe(arch).for_dataset("mnist").epochs
            images = epochs * spec.train_size * (1 - DEFAULT_VAL_SPLIT)
            out[arch] = round(1.1 * images / rates[arch] * max(slowdown, 1.0) + 10, 1)
    fallback = max(out.values(), default=default)
    return {arch: out.get(arch, fallback) for arch in archs.names()}


def fitting_archs(estimates: dict[str, float], share: float, seconds: float) -> list[str]:
    """The architectures whose runs, longest first on 1/share slots, all end within ``seconds``."""
    slots = max(int(1 / share + 1e-6), 1)
    chosen = sorted(estimates, key=estimates.get)
    while chosen:
        ends = [0.0] * slots
        for arch in sorted(chosen, key=estimates.get, reverse=True):
            ends[ends.index(min(ends))] += estimates[arch]
        if max(ends) <= seconds:
            break
        chosen.pop()               # the longest goes first
    return [a for a in archs.names() if a in chosen]


# ---------------------------------------------------------------- 6. summary


def recommended_share(pack: dict | None, found: dict) -> tuple[float | None, str]:
    level = best_level(pack)
    if level is None or run_is_cpu(found):
        return None, "no packing figure" if level is None else "CPU run: no GPU share to recommend"
    share = share_of(level)
    peak = level.get("peak_mem_bytes_max")
    memory = found["device_memory_bytes"]
    why = f"fastest packing level ({level['wall_s']:.0f} s, {level['gain']:.2f}x one by one)"
    if peak and memory:
        why += f"; largest peak memory {mib(peak)} MiB = {peak / (share * memory):.1%} of its share"
    return share, why


def run_is_cpu(found: dict) -> bool:
    return found["device"] == "cpu"


def summary(run: Run, found: dict, speed: dict | None, compiled: list[dict], pack: dict | None,
            acc: dict | None) -> None:
    run.log("\n" + "=" * 100)
    run.log(f"archbench GPU run{' (DRY: CPU, tiny budgets; no figure here is a GPU figure)' if run.args.dry else ''}: "
            f"{found['date']}, {found['device']}, {mib(found['device_memory_bytes'])} MiB, torch {found['torch']}, "
            f"CUDA {found['cuda']}, ray {found['ray']}, commit {found['git_commit']}")
    by_cell = {(f["arch"], f["input"]): f for line in compiled for f in line["figures"] if "ratio" in f}
    run.log(f"\n{'arch':<11}{'input':<9}{'archbench/s':>12}{'bare/s':>10}{'ratio':>7}{'peak MiB':>9}"
            f"{'compiled/s':>12}{'bare/s':>10}{'ratio':>7}")
    for f in (speed or {}).get("figures", []):
        if "ratio" not in f:
            run.log(f"{f['arch']:<11}{f['input']:<9}skipped: {f['skipped']}")
            continue
        c = by_cell.get((f["arch"], f["input"]))
        line = (f"{f['arch']:<11}{f['input']:<9}{f['archbench_images_per_s']['median']:>12.0f}"
                f"{f['bare_images_per_s']['median']:>10.0f}{f['ratio']['median']:>7.3f}"
                f"{mib(f['archbench_peak_mem_bytes']):>9}")
        if c:
            line += (f"{c['archbench_images_per_s']['median']:>12.0f}{c['bare_images_per_s']['median']:>10.0f}"
                     f"{c['ratio']['median']:>7.3f}")
        run.log(line)
    run.log(f"\n{'packing':<12}{'wall s':>8}{'gain':>7}{'span s':>8}{'gain':>7}{'slowdown':>9}{'peak MiB':>9}  "
            "statuses (gain: one by one / this level, by the command's wall and by the trials' span)")
    for lv in (pack or {}).get("levels", []):
        if "wall_s" not in lv:
            run.log(f"{lv['packing']:<12}skipped: {lv['skipped']}")
            continue
        run.log(f"{lv['packing']:<12}{lv['wall_s']:>8.1f}{lv['gain']:>7.2f}{num(lv['trials_span_s'], '.1f'):>8}"
                f"{num(lv['span_gain']):>7}{num(lv['slowdown']):>9}{mib(lv['peak_mem_bytes_max']):>9}  "
                f"{lv['statuses']}" + (" CUT" if lv["cut"] else ""))
    run.log(f"\n{'arch':<11}{'status':<10}{'test_acc':>9}{'study':>8}{'epochs':>7}{'wall s':>8}")
    for r in (acc or {}).get("rows", []):
        figure = study.ACCURACY.get((r["arch"], "mnist"))
        run.log(f"{r['arch']:<11}{r['status']:<10}{num(r['test_acc'], '.4f'):>9}{num(figure, '.4f'):>8}"
                f"{num(r['epochs_run'], 'd'):>7}{num(r['wall_seconds'], '.0f'):>8}")
    share, why = recommended_share(pack, found)
    run.log(f"\nrecommended default --gpus-per-trial: {share if share is not None else '-'} ({why})")
    goals = goal_lines(speed, pack, acc)
    for line in goals:
        run.log(f"goal: {line}" + (" [dry run: not a GPU figure]" if run.args.dry else ""))
    for line in run.skipped:
        run.log(f"skipped: {line}")
    run.record({"step": "summary", "recommended_gpus_per_trial": share, "why": why, "goals": goals,
                "skipped": run.skipped, "seconds": round(time.time() - run.args.started, 1)})


def goal_lines(speed: dict | None, pack: dict | None, acc: dict | None) -> list[str]:
    lines = []
    level = best_level(pack)
    lines.append("packed grid >= 3x one by one: " + (
        f"{level['gain']:.2f}x at {level['packing']} (trials' span: {num(level['span_gain'])}x) -> "
        f"{'met' if level['gain'] >= GAIN_GOAL else 'NOT met'}"
        if level and len([lv for lv in pack['levels'] if 'wall_s' in lv]) > 1 else "not measured"))
    ratios = [f["ratio"]["median"] for f in (speed or {}).get("figures", []) if "ratio" in f]
    lines.append("archbench step within 5% of the bare loop: " + (
        f"{sum(r >= RATIO_GOAL for r in ratios)} of {len(ratios)} cells, worst {min(ratios):.3f} -> "
        f"{'met' if min(ratios) >= RATIO_GOAL else 'NOT met'}" if ratios else "not measured"))
    rows = {r["arch"]: r for r in (acc or {}).get("rows", [])}
    lenet = rows.get("lenet5")
    lines.append("real MNIST, full recipes, in minutes, LeNet-5 >= 0.99: " + (
        f"{len(rows)} architectures in {acc['wall_s'] / 60:.1f} min; LeNet-5 {num(lenet['test_acc'], '.4f')} -> "
        f"{'met' if (lenet['test_acc'] or 0) >= LENET_PUBLISHED else 'NOT met'}" if lenet else "not measured"))
    return lines


# ---------------------------------------------------------------- the run


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--out", type=Path, required=True, help="where the JSON lines go ($OUT)")
    parser.add_argument("--kit", type=Path, default=HERE / "kit", help="the kit (its manifest and MNIST)")
    parser.add_argument("--mnist", type=Path, default=None, help="the MNIST .gz files (default: the kit's)")
    parser.add_argument("--started", type=float, default=None, help="when the call began (Unix time)")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds from --started to finish in (default: 530, --dry: 600)")
    parser.add_argument("--dry", action="store_true", help="this CPU machine, tiny budgets")
    args = parser.parse_args()
    args.started = args.started or time.time()
    args.budget = args.budget or (600.0 if args.dry else 530.0)
    # Absolute: the CLI runs in another directory (common.run_cli).
    args.out, args.kit = args.out.resolve(), args.kit.resolve()
    args.mnist = (args.mnist or args.kit / "data" / "mnist").resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    run = Run(args)
    found = facts(run)
    if not args.dry and found["device"] == "cpu":
        run.log("error: no CUDA device; use --dry on a machine without a GPU")
        sys.exit(2)
    def limit(cap: float, keep: float) -> float:
        """What is left less ``keep`` for the later steps, at most ``cap`` seconds on the GPU; a dry run
        has no cap (on a busy CPU, Ray's start alone can take a minute)."""
        return run.left() - keep if args.dry else min(cap, run.left() - keep)

    speed = throughput(run, limit=limit(70.0, keep=400))
    pack = packing(run, found, speed, limit=limit(120.0, keep=270))
    compiled = compiled_throughput(run, limit=limit(45.0, keep=200))
    acc = accuracy(run, speed, best_level(pack), limit=run.left() - 40)
    summary(run, found, speed, compiled, pack, acc)


if __name__ == "__main__":
    main()
