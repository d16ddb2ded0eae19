"""Measure archbench on your GPU: the GPU run, in order of value, within its own clock.

On any CUDA machine with archbench installed (``pip install -e ".[test]"``) and real MNIST and
Fashion-MNIST (their official idx files, as ``archbench data import`` takes them)::

    python benchmarks/gpu/run.py --out DIR --data DATA     # DATA holds mnist/ and fashion_mnist/

A machine without the package registries takes a kit instead, as a separate and optional step:
``benchmarks/gpu/pack`` builds one (Ray, what archbench needs beyond the GPU image, archbench as a
wheel, the real data) and ``run.sh`` installs it there and starts this script.

The call ends within CLOCK seconds of its start (``run.sh``'s install counted), so that a fix and a
second call still fit in the machine's window. Each step runs in a process of its own, in its own
process group, and is stopped at its limit (SIGINT, then SIGKILL after STOP_GRACE seconds) together
with everything it started, Ray included (found by a marker in their environment); the next step
still runs. The plan, printed first:

  preflight   torch sees the GPU and runs a bf16 matmul; Ray starts with one GPU; a task asking
              for 0.25 GPU returns the device's name; the kit's packages import. Any failure: one
              line saying what failed, and the call ends at once (exit 3)
  packing     benchmarks/sweep.py on the synthetic twins of MNIST and Fashion-MNIST, Ray started
              once for all levels: --gpus-per-trial 1, 0.25 and a smaller share from the first
              level's peak memory, then the fastest again under MPS where nvidia-cuda-mps-control
              exists; nvidia-smi sampled into the log
  accuracy    real MNIST and Fashion-MNIST (the kit's): every architecture's full recipe, one seed,
              then one more seed at a time while the step's time allows (--max-seeds), packed at
              the best share measured, then ``archbench summarize --vs-study``;
              nvidia-smi sampled into the log
  throughput  benchmarks/throughput.py on 1x28x28: ``train()`` against the bare loop
  shapes      benchmarks/throughput.py on 3x32x32: two epochs of each architecture (the CIFAR-10 shape)
  compile     the same for ResNet20 v1 and LeNet-5 under torch.compile, only in the time the steps
              before it left on the clock (at least COMPILE_MIN_S)
  fused       benchmarks/fused.py: K = 1, 3, 8 seeds of each architecture trained as one vmapped
              model against K separate ones (images/s and the first steps' losses side by side)
  summary     the tables (train()'s FLOP/s as a share of the card's dense bf16 peak, DENSE_BF16_PEAK),
              the recommended share and the projection of the full study

No step eats into the planned seconds of the steps after it.

Every step appends JSON lines to ``archbench-gpu.jsonl`` as it goes (one per cell or level, then
its result); the file is kept in ``--work`` (outside ``$OUT``, which each call empties) and copied to
``--out`` after each step, so ``--steps accuracy,summary`` on a machine still warm re-runs chosen
steps with the earlier steps' figures at hand. ``--dry`` runs the same steps on a CPU at tiny budgets;
the GPU checks are then reported as skipped (no GPU), and no figure of it is a GPU figure.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = HERE.parent
sys.path.insert(0, str(BENCHMARKS))

from common import GRACE, REPO, append_result, interrupt_then_kill, mib, num, plain, run_cli, script_parser  # noqa: E402

JSONL = "archbench-gpu.jsonl"
CLOCK = 420.0              # seconds from the call's start to its end: room left in the window for a second call
INSTALL = 25.0             # what run.sh's install takes of the clock (untar the kit, unpack the data)
STOP_GRACE = 10            # seconds a stopped step has between SIGINT and SIGKILL
MARKER = "ARCHBENCH_GPU_STEP"  # in the environment of every process a step starts, so that all can be stopped
DATASETS = ("mnist", "fashion_mnist")
# Seconds per step on the GPU, in order of value; the accuracy table holds the largest share. Estimates:
# preflight = Python, torch and Ray's start (~15 s) and a task; packing = one Ray start and three levels of
# 10 short trials (~3 s to start a trial process, one by one at share 1); accuracy = both datasets' import
# (~10 s), 10 full recipes packed (the ResNets' 40 epochs of 422 steps, at a few ms a step), summarize (~10 s).
# compile is planned at 0 s: it runs only in what the steps before it left unused on the clock.
PLAN = {"preflight": 40.0, "packing": 70.0, "accuracy": 190.0, "throughput": 30.0, "shapes": 30.0, "compile": 0.0,
        "fused": 25.0, "summary": 10.0}
# A dry run on a busy CPU: Ray's start alone can take a minute.
DRY_PLAN = {"preflight": 150.0, "packing": 240.0, "accuracy": 300.0, "throughput": 120.0, "shapes": 120.0,
            "compile": 0.0, "fused": 90.0, "summary": 60.0}
# Dense (no sparsity) bf16 tensor-core peak in FLOP/s, by a part of the device's name, most specific first:
# NVIDIA's datasheets give the figures with sparsity, twice these (H100: "H100 Tensor Core GPU" datasheet,
# SXM 1,979 / PCIe 1,513 / NVL 1,671 TFLOPS; H200: "H200 Tensor Core GPU" page, SXM 1,979 / NVL 1,671).
DENSE_BF16_PEAK = {"H100 PCIe": 756e12, "H100 NVL": 835e12, "H100": 989e12, "H200 NVL": 835e12, "H200": 989e12}
COMPILE_MIN_S = 60.0       # torch.compile of a ResNet takes tens of seconds before its first step
SUMMARIZE_S = 25.0         # kept at the accuracy step's end for `archbench summarize --vs-study`
KIT_PACKAGES = ("ray.tune", "typer", "pydantic", "pyarrow", "pandas", "torch")
GAIN_GOAL, RATIO_GOAL, LENET_PUBLISHED, FUSED_GOAL = 3.0, 0.95, 0.99, 2.0


# ---------------------------------------------------------------- the run's record


class Record:
    """The run's JSON lines (in the work folder, copied to --out) and its log."""

    def __init__(self, work: Path, out: Path, dry: bool) -> None:
        self.path, self.out, self.dry = work / JSONL, out, dry

    def add(self, line: dict) -> None:
        append_result(self.path, {"dry": self.dry, **line})

    def lines(self, step: str) -> list[dict]:
        if not self.path.exists():
            return []
        return [line for line in map(json.loads, self.path.read_text().splitlines()) if line.get("step") == step]

    def result(self, step: str) -> dict | None:
        """The last whole-step line of ``step`` (not its per-item lines)."""
        done = [line for line in self.lines(step) if "item" not in line and not line.get("started")]
        return done[-1] if done else None

    def items(self, step: str) -> list[dict]:
        """The per-cell or per-level lines of ``step``'s last run."""
        lines = self.lines(step)
        starts = [i for i, line in enumerate(lines) if line.get("started")]
        return [line["item"] for line in lines[starts[-1] if starts else 0:] if "item" in line]

    def copy_out(self) -> None:
        if self.path.exists():
            shutil.copyfile(self.path, self.out / JSONL)


def log(line: str = "") -> None:
    print(line, flush=True)


# ---------------------------------------------------------------- steps in processes of their own


def run_step(command: list[str], limit: float, env: dict[str, str] | None = None) -> dict:
    """Run ``command`` in a new process group, stopped at ``limit`` seconds with everything it started.

    Returns its exit code, seconds, and whether it was stopped. Everything it started carries a
    marker in its environment: at the limit each of their process groups gets SIGINT (Ctrl-C: a sweep
    stores what it finished), and after STOP_GRACE seconds whatever is left gets SIGKILL
    (``common.interrupt_then_kill``).
    """
    marker = uuid.uuid4().hex
    start = time.monotonic()
    process = subprocess.Popen(command, start_new_session=True, env={**(env or os.environ), MARKER: marker})
    try:
        returncode, stopped = process.wait(timeout=max(limit, 0.1)), False
    except subprocess.TimeoutExpired:
        returncode, stopped = None, True
    # Leftovers (Ray's daemons, workers) go with their step, stopped or not, and are gone before the next step starts.
    interrupt_then_kill(process, STOP_GRACE, started=lambda: marked(marker))
    return {"returncode": returncode, "stopped": stopped, "marker": marker,
            "seconds": round(time.monotonic() - start, 1)}


def marked(marker: str) -> list[int]:
    """The pids of live processes whose environment holds MARKER=marker."""
    needle = f"{MARKER}={marker}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


# ---------------------------------------------------------------- the steps (each in its own process)


class Step:
    """What a step's process knows: its name, its limit, the run's record and options."""

    def __init__(self, name: str, limit: float, args: argparse.Namespace) -> None:
        self.name, self.limit, self.args = name, limit, args
        self.started = time.time()
        self.record = Record(args.work, args.out, args.dry)

    def left(self) -> float:
        return self.limit - (time.time() - self.started)

    def add(self, line: dict) -> None:
        self.record.add({"step": self.name, **line})

    def script(self, script: str, flags: list[str]) -> dict | None:
        """Run benchmarks/SCRIPT (its per-item lines go to the record as they come); its result line, or None."""
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "line.jsonl"
            command = [sys.executable, str(BENCHMARKS / script), *flags, "--results", str(out),
                       "--each", str(self.record.path)]
            log(f"$ {' '.join(command[1:])}")
            done = subprocess.run(command)
            if done.returncode != 0 or not out.exists():
                log(f"{self.name}: {script} exited {done.returncode}")
                return None
            line = json.loads(out.read_text().splitlines()[-1])
        self.add(line)
        return line


def preflight(step: Step) -> int:
    """The checks that make the rest worth running; exit 3, with one line naming what failed, if one fails."""
    checks: dict[str, str] = {}

    def check(name: str, test) -> object:
        try:
            value = test()
            checks[name] = "ok" if value is None else f"ok: {value}"
            return value
        except Exception as exc:    # noqa: BLE001 -- any failure is the finding
            checks[name] = f"FAILED: {type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:200]}"
            return None

    for module in KIT_PACKAGES:
        check(f"import {module}", lambda module=module: importlib.import_module(module) and None)
    import torch

    on_cuda = torch.cuda.is_available()
    if on_cuda:
        check("torch bf16 matmul on the GPU", lambda: _bf16_matmul(torch))
    elif step.args.dry:
        checks["torch bf16 matmul on the GPU"] = "skipped (no GPU)"
    else:
        checks["torch sees the GPU"] = "FAILED: torch.cuda.is_available() is False"
    check("ray starts", lambda: _ray_checks(checks, on_cuda, step.args.dry))
    found = {"checks": checks, "facts": facts(step.args.kit)}
    step.add(found)
    for name, state in checks.items():
        log(f"preflight: {name}: {state}")
    failed = [f"{name} ({state[len('FAILED: '):]})" for name, state in checks.items() if state.startswith("FAILED")]
    if failed:
        log("preflight FAILED: " + "; ".join(failed))
        return 3
    return 0


def _bf16_matmul(torch) -> str:
    a = torch.randn(2048, 2048, device="cuda", dtype=torch.bfloat16)
    total = float((a @ a).float().abs().sum())
    torch.cuda.synchronize()
    if not total > 0:
        raise RuntimeError(f"the product's sum is {total}")
    return torch.cuda.get_device_name()


def _ray_checks(checks: dict[str, str], on_cuda: bool, dry: bool) -> str:
    """Ray starts (as `archbench sweep --local` starts it), sees one GPU, and runs a task on a 0.25 share."""
    import ray

    ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        resources = ray.cluster_resources()
        gpus = resources.get("GPU", 0)
        if not on_cuda and dry:
            checks["ray sees one GPU"] = checks["ray task on 0.25 GPU"] = "skipped (no GPU)"
            name = ray.get(ray.remote(num_cpus=1)(_device_name).remote(), timeout=120)
            checks["ray task on a CPU"] = f"ok: {name}"
        elif gpus != 1:
            checks["ray sees one GPU"] = f"FAILED: cluster_resources()['GPU'] is {gpus}, not 1"
        else:
            checks["ray sees one GPU"] = "ok"
            name = ray.get(ray.remote(num_gpus=0.25)(_device_name).remote(), timeout=60)
            checks["ray task on 0.25 GPU"] = (f"ok: {name}" if name != "cpu" else
                                              "FAILED: the task saw no CUDA device")
        return f"{resources.get('CPU', 0):g} CPUs, {gpus:g} GPUs"
    finally:
        ray.shutdown()


def _device_name() -> str:
    import torch

    return torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"


def facts(kit: Path) -> dict:
    from common import device_facts, machine_facts

    return {**machine_facts(), **device_facts(), "ray": _version("ray"), "archbench": _version("archbench"),
            "nvidia_smi": _nvidia_smi_facts(), "kit": kit_check(kit)}


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _nvidia_smi_facts() -> str | None:
    if not shutil.which("nvidia-smi"):
        return None
    done = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                          capture_output=True, text=True, timeout=30)
    return done.stdout.strip() or None


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


class GpuSampler:
    """nvidia-smi's utilisation and memory, sampled into the log every 2 s while a packed step runs."""

    def __init__(self, step: str) -> None:
        self.step, self.process, self.started = step, None, time.time()

    def __enter__(self) -> GpuSampler:
        if shutil.which("nvidia-smi"):
            self.process = subprocess.Popen(
                ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used,memory.total", "--format=csv,noheader",
                 "-lms", "2000"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            threading.Thread(target=self._echo, daemon=True).start()
        return self

    def _echo(self) -> None:
        for line in self.process.stdout:
            log(f"nvidia-smi {self.step} +{time.time() - self.started:.0f}s: {line.strip()}")

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait()


def packing(step: Step) -> int:
    import torch

    if step.args.dry:
        flags = ["--quick", "--datasets", "synthetic_mnist", "--cpus-per-trial", str(os.cpu_count() or 1)]
    else:
        flags = ["--gpus-per-trial", "1", "0.25", "--smaller-share", "--mps", "--datasets",
                 "synthetic_mnist,synthetic_fashion_mnist", "--train-limit", "4096", "--test-limit", "1024"]
    flags += ["--ray-once", "--epochs", "1", "--max-seconds", f"{step.left() - 5:.0f}"]
    with GpuSampler("packing") if torch.cuda.is_available() else _nothing():
        return 0 if step.script("sweep.py", flags) else 1


def best_level(levels: list[dict]) -> dict | None:
    """The fastest packing level that finished without MPS (the accuracy step runs without it); of two
    within 5% of each other, the larger share."""
    done = [lv for lv in levels if "wall_s" in lv and not lv["cut"] and not lv.get("mps")]
    if not done:
        return None
    fastest = min(lv["wall_s"] for lv in done)
    return next(lv for lv in done if lv["wall_s"] <= 1.05 * fastest)


def share_of(level: dict) -> float:
    return float(level["packing"].split()[0])


def accuracy(step: Step) -> int:
    import torch

    level = best_level(step.record.items("packing"))
    with tempfile.TemporaryDirectory(prefix="archbench-accuracy-") as work, \
            (GpuSampler("accuracy") if torch.cuda.is_available() else _nothing()):
        return _accuracy(step, level, Path(work))


def _accuracy(step: Step, level: dict | None, work: Path) -> int:
    for dataset in DATASETS:
        imported = run_cli(["data", "import", dataset, str(step.args.data / dataset), "--data-dir",
                            str(work / "data")], timeout=120)
        log(imported["output"].rstrip())
        if imported["returncode"] != 0:
            step.add({"failed": f"archbench data import {dataset} exited {imported['returncode']}"})
            return 1
    if step.args.dry:
        chosen, budget = "lenet5", ["--epochs", "2", "--train-limit", "2048", "--test-limit", "512"]
        resources = ["--gpus-per-trial", "0", "--cpus-per-trial", str(os.cpu_count() or 1)]
    else:
        share = share_of(level) if level else 0.25
        chosen, budget, resources = "all", [], ["--gpus-per-trial", f"{share:g}"]
    results = work / "results"
    log(f"accuracy: {chosen} on real {' and '.join(DATASETS)}, {' '.join(budget) or 'full recipes'}, "
        f"{' '.join(resources)}, one seed, then more while the step's time allows (at most {step.args.max_seeds})")
    archs_flag = [] if chosen == "all" else ["--archs", chosen]
    rounds, seeds = [], 1
    with CellWatcher(step, results):
        while True:
            seconds = step.left() - SUMMARIZE_S - GRACE    # room for an interruption's grace period and summarize
            swept = run_cli(["sweep", "--local", *archs_flag, "--datasets", ",".join(DATASETS), *budget, *resources,
                             "--seeds", str(seeds), "--data-dir", str(work / "data"), "--no-download", "--results",
                             str(results), "--name", "gpu-accuracy"], timeout=max(seconds, 30))
            log(swept["output"].rstrip()[-6000:])
            rounds.append({"seeds": seeds, "wall_s": round(swept["wall_s"], 1), "returncode": swept["returncode"],
                           "cut": swept["cut"]})
            seeds = another_seed(seeds, swept, step.left() - SUMMARIZE_S - GRACE, step.args.max_seeds)
            if seeds is None:
                break
            log(f"accuracy: time for seed {seeds} ({step.left():.0f} s left, the last round took "
                f"{swept['wall_s']:.0f} s)")
    summary = run_cli(["summarize", "--results", str(results), "--vs-study"], timeout=60)
    log(summary["output"].rstrip())
    step.add({"archs": chosen, "flags": budget + resources, "wall_s": round(sum(r["wall_s"] for r in rounds), 1),
              "rounds": rounds, "returncode": rounds[-1]["returncode"], "cut": rounds[-1]["cut"],
              "summarize_returncode": summary["returncode"], "summarize": summary["output"][-20000:],
              "rows": cell_rows(results)})
    return 0


def another_seed(seeds: int, swept: dict, left: float, most: int) -> int | None:
    """The next seed count, where the round just ended cleanly and one more round as long as it fits in
    ``left`` seconds (with a fifth to spare); else None. The sweep skips the seeds that have a row,
    so a round with ``seeds + 1`` trains only the new seed."""
    if swept["cut"] or swept["returncode"] != 0 or seeds >= most or 1.2 * swept["wall_s"] > left:
        return None
    return seeds + 1


ROW_COLUMNS = ("arch", "dataset", "seed", "status", "error", "test_acc", "best_val_acc", "epochs_run", "wall_seconds",
               "train_seconds", "images_per_sec", "peak_mem_bytes")


def cell_rows(results: Path) -> list[dict]:
    from orchestrator.results import ResultStore

    store = ResultStore(results)
    if not store.has_results():
        return []
    return [{k: plain(r.get(k)) for k in ROW_COLUMNS} for r in store.trials().to_dict("records")]


class CellWatcher:
    """Appends each stored trial of the sweep to the record as it lands (read every 5 s)."""

    def __init__(self, step: Step, results: Path) -> None:
        self.step, self.results, self.seen = step, results, set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> CellWatcher:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        self._read()

    def _watch(self) -> None:
        while not self.stop.wait(5):
            self._read()

    def _read(self) -> None:
        try:
            rows = cell_rows(self.results)
        except Exception:    # noqa: BLE001 -- a part file mid-write: read again next time
            return
        for row in rows:
            key = (row["arch"], row["dataset"], row["seed"], row["status"], row["wall_seconds"])
            if key not in self.seen:
                self.seen.add(key)
                self.step.add({"item": row})


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        return None


def throughput(step: Step) -> int:
    flags = (["--device", "cpu", "--quick"] if step.args.dry else
             ["--device", "cuda", "--inputs", "mnist", "--images", "8192", "--test-limit", "1024", "--repeats", "1",
              "--explain", "never"])
    return 0 if step.script("throughput.py", [*flags, "--max-seconds", f"{step.left() - 5:.0f}"]) else 1


def shapes(step: Step) -> int:
    flags = (["--device", "cpu", "--quick", "--inputs", "cifar10"] if step.args.dry else
             ["--device", "cuda", "--inputs", "cifar10", "--images", "16384", "--test-limit", "1024", "--repeats",
              "1", "--explain", "never"])
    return 0 if step.script("throughput.py", [*flags, "--max-seconds", f"{step.left() - 5:.0f}"]) else 1


def compiled(step: Step) -> int:
    if step.args.dry:
        step.add({"skipped": "a dry run does not compile (minutes on a CPU)"})
        return 0
    flags = ["--device", "cuda", "--compile", "--archs", "resnet20v1", "lenet5", "--inputs", "cifar10", "--images",
             "16384", "--test-limit", "1024", "--repeats", "1", "--explain", "never"]
    return 0 if step.script("throughput.py", [*flags, "--max-seconds", f"{step.left() - 5:.0f}"]) else 1


def fused(step: Step) -> int:
    flags = (["--device", "cpu", "--quick"] if step.args.dry else
             ["--device", "cuda", "--ks", "1", "3", "8", "--steps", "20", "--repeats", "1"])
    return 0 if step.script("fused.py", [*flags, "--max-seconds", f"{step.left() - 5:.0f}"]) else 1


STEPS = {"preflight": preflight, "packing": packing, "accuracy": accuracy, "throughput": throughput,
         "shapes": shapes, "compile": compiled, "fused": fused}


def dense_bf16_peak(device: str | None) -> float | None:
    """The card's dense bf16 peak (FLOP/s) from DENSE_BF16_PEAK, or None for a card not in it."""
    return next((peak for part, peak in DENSE_BF16_PEAK.items() if part in (device or "")), None)


def peak_share(figure: dict, peak: float | None) -> str:
    """train()'s achieved FLOP/s in ``figure`` as a share of ``peak``, ``-`` where either is unknown."""
    achieved = figure.get("achieved_gflops_per_s")
    return f"{achieved * 1e9 / peak:.2%}" if achieved is not None and peak else "-"


# ---------------------------------------------------------------- the summary and the projection


def projection(rates: dict[tuple[str, str], float], gain: float | None) -> dict:
    """The full 20-cell study's wall time at full recipes, projected from images/s and the packing gain.

    Per cell: its recipe's epochs x the training split (less validation) / the architecture's
    ``train()`` images/s at the dataset's input size, plus a tenth for evaluation; the cells' sum,
    divided by the packing gain (1 where none was measured).
    """
    import archs
    from orchestrator import data, study
    from orchestrator.trial import DEFAULT_VAL_SPLIT

    seconds, missing = 0.0, []
    for arch in study.ARCHS:           # the study's 20 cells, whatever plugins have registered
        for dataset in study.DATASETS:
            spec = data.spec(dataset)
            rate = rates.get((arch, f"{spec.channels}x{spec.image_size}x{spec.image_size}"))
            if not rate:
                missing.append(f"{arch}/{dataset}")
                continue
            epochs = archs.recipe(arch).for_dataset(dataset).epochs
            seconds += 1.1 * epochs * spec.train_size * (1 - DEFAULT_VAL_SPLIT) / rate
    one_seed = seconds / (gain or 1.0)
    return {"serial_hours": round(seconds / 3600, 3), "gain": gain, "one_seed_hours": round(one_seed / 3600, 3),
            "three_seeds_hours": round(3 * one_seed / 3600, 3), "cells_not_projected": missing}


def summary(record: Record, dry: bool, started: float) -> None:
    from orchestrator import study

    mark = " [dry run: not a GPU figure]" if dry else ""
    pre = record.result("preflight") or {}
    found = pre.get("facts", {})
    log("\n" + "=" * 100)
    log(f"archbench GPU run{' (DRY: CPU, tiny budgets)' if dry else ''}: {found.get('date')}, "
        f"{found.get('device')}, {mib(found.get('device_memory_bytes'))} MiB, torch {found.get('torch')}, "
        f"CUDA {found.get('cuda')}, ray {found.get('ray')}, commit {found.get('git_commit')}")
    for step in STEPS:
        state = record.result(f"{step} stopped")
        if state:
            log(f"step {step}: STOPPED at its {state['limit_s']:.0f} s limit; its lines so far are kept")
    speed = {}
    peak = None if dry else dense_bf16_peak(found.get("device"))
    log(f"\ndense bf16 peak of {found.get('device')}: " + (f"{peak / 1e12:.0f} TFLOP/s (DENSE_BF16_PEAK)" if peak else
                                                           "not in DENSE_BF16_PEAK"))
    log(f"{'arch':<11}{'input':<9}{'archbench/s':>12}{'bare/s':>10}{'ratio':>7}{'peak MiB':>9}{'GFLOP/s':>9}"
        f"{'of peak':>8}")
    for name, f in [(name, f) for name in ("throughput", "shapes", "compile") for f in record.items(name)]:
        compiled_mark = " (torch.compile)" if name == "compile" else ""
        if "ratio" not in f:
            log(f"{f['arch']:<11}{f['input']:<9}skipped: {f['skipped']}{compiled_mark}")
            continue
        if name != "compile":       # the projection is of the recipes as they run, uncompiled
            speed[(f["arch"], f["input"])] = f["archbench_images_per_s"]["median"]
        log(f"{f['arch']:<11}{f['input']:<9}{f['archbench_images_per_s']['median']:>12.0f}"
            f"{f['bare_images_per_s']['median']:>10.0f}{f['ratio']['median']:>7.3f}"
            f"{mib(f['archbench_peak_mem_bytes']):>9}{num(f.get('achieved_gflops_per_s'), '.0f'):>9}"
            f"{peak_share(f, peak):>8}{compiled_mark}")
    fused_figures = record.items("fused")
    log(f"\n{'fused':<11}{'input':<9}{'K':>3}{'separate/s':>11}{'fused/s':>9}{'speedup':>8}  losses agree")
    for f in fused_figures:
        if "speedup" not in f:
            log(f"{f['arch']:<11}{f['input']:<9}{f['k']:>3}  skipped: {f['skipped']}")
            continue
        log(f"{f['arch']:<11}{f['input']:<9}{f['k']:>3}{f['separate_images_per_s']['median']:>11.0f}"
            f"{f['fused_images_per_s']['median']:>9.0f}{f['speedup']['median']:>8.2f}  "
            f"{'yes' if f['agree'] else 'NO'} (worst {f['loss_rel_diff_max']:.1e})")
    levels = record.items("packing")
    log(f"\n{'packing':<12}{'wall s':>8}{'gain':>7}{'span s':>8}{'peak MiB':>9}  statuses")
    for lv in levels:
        if "wall_s" not in lv:
            log(f"{lv['packing']:<12}skipped: {lv['skipped']}")
            continue
        log(f"{lv['packing']:<12}{lv['wall_s']:>8.1f}{num(lv.get('gain')):>7}{num(lv['trials_span_s'], '.1f'):>8}"
            f"{mib(lv['peak_mem_bytes_max']):>9}  {lv['statuses']}" + (" CUT" if lv["cut"] else ""))
    rows = record.items("accuracy")
    log(f"\n{'arch':<11}{'dataset':<14}{'seed':>5} {'status':<10}{'test_acc':>9}{'study':>8}{'epochs':>7}{'wall s':>8}")
    for r in rows:
        log(f"{r['arch']:<11}{r['dataset']:<14}{num(r['seed'], 'd'):>5} {r['status']:<10}{num(r['test_acc'], '.4f'):>9}"
            f"{num(study.ACCURACY.get((r['arch'], r['dataset'])), '.4f'):>8}{num(r['epochs_run'], 'd'):>7}"
            f"{num(r['wall_seconds'], '.0f'):>8}")
    level = best_level(levels)
    share = share_of(level) if level and not dry else None
    log(f"\nrecommended default --gpus-per-trial: {share if share is not None else '-'}"
        + (f" (fastest packing level, {level['wall_s']:.0f} s, {level.get('gain', 1):.2f}x one by one)" if share
           else " (no GPU packing figure)"))
    gain = level.get("gain") if level else None
    plan = projection(speed, gain)
    study_hours = sum(study.SECONDS.values()) / 3600
    log(f"projection, not a measurement{mark}: the full 20-cell study at full recipes on one "
        f"{found.get('device')}: {plan['one_seed_hours']:.2f} h with one seed, {plan['three_seeds_hours']:.2f} h "
        f"with 3 (the study: {study_hours:.1f} h); inputs: train() images/s {_rates(speed)}, packing gain "
        f"{num(gain)}x at {level['packing'] if level else '-'}, cells not projected (no images/s): "
        f"{len(plan['cells_not_projected'])}")
    goals = goal_lines(speed, levels, record.items("throughput"), rows, record.result("accuracy"))
    for line in goals:
        log(f"goal: {line}{mark}")
    speedups = [f["speedup"]["median"] for f in fused_figures if "speedup" in f and f["k"] > 1]
    log("fused seeds >= 2x separate models (a sweep option waits for it): " + (
        f"best {max(speedups):.2f}x over {len(speedups)} cells with K > 1 -> "
        f"{'met' if max(speedups) >= FUSED_GOAL else 'NOT met'}" if speedups else "not measured") + mark)
    record.add({"step": "summary", "recommended_gpus_per_trial": share, "projection": plan, "dense_bf16_peak": peak,
                "study_hours": round(study_hours, 1), "goals": goals, "seconds": round(time.time() - started, 1)})


def _rates(speed: dict[tuple[str, str], float]) -> str:
    return ", ".join(f"{arch} {shape} {rate:.0f}" for (arch, shape), rate in speed.items()) or "none"


def goal_lines(speed: dict, levels: list[dict], figures: list[dict], rows: list[dict], acc: dict | None) -> list[str]:
    level = best_level(levels)
    measured = [lv for lv in levels if "wall_s" in lv]
    lines = ["packed grid >= 3x one by one: " + (
        f"{level['gain']:.2f}x at {level['packing']} -> {'met' if level['gain'] >= GAIN_GOAL else 'NOT met'}"
        if level and len(measured) > 1 else "not measured")]
    ratios = [f["ratio"]["median"] for f in figures if "ratio" in f]
    lines.append("archbench step within 5% of the bare loop: " + (
        f"{sum(r >= RATIO_GOAL for r in ratios)} of {len(ratios)} cells, worst {min(ratios):.3f} -> "
        f"{'met' if min(ratios) >= RATIO_GOAL else 'NOT met'}" if ratios else "not measured"))
    lenet = [r["test_acc"] or 0.0 for r in rows if r["arch"] == "lenet5" and r["dataset"] == "mnist"]
    mean = sum(lenet) / len(lenet) if lenet else None
    lines.append("real MNIST and Fashion-MNIST, full recipes, in minutes, LeNet-5 >= 0.99 on MNIST: " + (
        f"{len(rows)} trials in {acc['wall_s'] / 60:.1f} min; LeNet-5 {mean:.4f} (mean of {len(lenet)} seeds) -> "
        f"{'met' if mean >= LENET_PUBLISHED else 'NOT met'}" if lenet and acc else "not measured"))
    return lines


# ---------------------------------------------------------------- the call


def parse() -> argparse.Namespace:
    parser = script_parser(__doc__)
    parser.add_argument("--out", type=Path, required=True, help="where the files that come back go ($OUT)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "archbench-gpu",
                        help="kept between calls on a warm machine: the JSON lines of every step")
    parser.add_argument("--kit", type=Path, default=HERE / "kit", help="the kit (its manifest)")
    parser.add_argument("--data", type=Path, default=None,
                        help="a folder with mnist/ and fashion_mnist/ (their idx files; default: the kit's)")
    parser.add_argument("--started", type=float, default=None, help="when the call began (Unix time)")
    parser.add_argument("--steps", default=",".join([*STEPS, "summary"]), help="comma list of the steps to run")
    parser.add_argument("--limits", default="", help="step=seconds,... in place of the plan's")
    parser.add_argument("--max-seeds", type=int, default=3,
                        help="the accuracy step's most seeds a cell; after the first, one more while time allows")
    parser.add_argument("--dry", action="store_true", help="a CPU, tiny budgets")
    parser.add_argument("--step", default=None, help=argparse.SUPPRESS)       # run one step, in this process
    parser.add_argument("--limit", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.started = args.started or time.time()
    args.out, args.work, args.kit = args.out.resolve(), args.work.resolve(), args.kit.resolve()
    args.data = (args.data or args.kit / "data").resolve()
    return args


def plan_of(args: argparse.Namespace) -> dict[str, float]:
    plan = dict(DRY_PLAN if args.dry else PLAN)
    for item in filter(None, args.limits.split(",")):
        name, seconds = item.split("=")
        plan[name] = float(seconds)
    chosen = args.steps.split(",")
    unknown = [s for s in chosen if s not in plan]
    if unknown:
        raise SystemExit(f"error: unknown step {unknown[0]!r}; steps: {', '.join(plan)}")
    return {name: seconds for name, seconds in plan.items() if name in chosen}


def main() -> None:
    args = parse()
    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.step:
        sys.exit(STEPS[args.step](Step(args.step, args.limit, args)))
    record = Record(args.work, args.out, args.dry)
    plan = plan_of(args)
    clock = (sum(DRY_PLAN.values()) + INSTALL) if args.dry else CLOCK
    log(f"plan ({clock:.0f} s from the call's start, {time.time() - args.started:.0f} s gone): "
        + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in plan.items()))
    for name, seconds in plan.items():
        if name == "summary":
            continue
        later = list(plan)[list(plan).index(name) + 1:]
        left = args.started + clock - sum(plan[step] for step in later) - time.time()
        limit = min(seconds, left) if seconds else left
        if limit < (5 if seconds else COMPILE_MIN_S):
            record.add({"step": name, "skipped": f"{limit:.0f} s left on the clock"})
            log(f"SKIPPED {name}: {limit:.0f} s left on the clock")
            continue
        log(f"\n---- {name} (limit {limit:.0f} s)")
        record.add({"step": name, "started": True})
        done = run_step([sys.executable, str(Path(__file__).resolve()), *step_argv(args, name, limit)], limit,
                        env={**os.environ, "ARCHBENCH_GPU_STEP_NAME": name})
        if done["stopped"]:
            log(f"STOPPED {name}: ran past its {limit:.0f} s limit; it and what it started were stopped")
            record.add({"step": f"{name} stopped", "limit_s": limit, **done})
        record.copy_out()
        if name == "preflight" and done["returncode"] != 0:
            log("error: preflight failed (the line above says what); the call ends here")
            sys.exit(3)
    if "summary" in plan:
        summary(record, args.dry, args.started)
    record.copy_out()


def step_argv(args: argparse.Namespace, name: str, limit: float) -> list[str]:
    argv = ["--step", name, "--limit", f"{limit:.1f}", "--out", str(args.out), "--work", str(args.work), "--kit",
            str(args.kit), "--data", str(args.data), "--max-seeds", str(args.max_seeds)]
    return argv + (["--dry"] if args.dry else [])


if __name__ == "__main__":
    main()
