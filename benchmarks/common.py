"""What every benchmark shares: the machine facts it records, its command line, running the CLI, and its result line,
and stopping a process with what it started (Ctrl-C, then SIGKILL), which the tests use too.

The benchmarks use archbench through its public interfaces only: ``orchestrator.train.train`` with a
``TrialSpec``, the ``archbench`` command line, ``ResultStore`` and the data package's public names.
The installed archbench is used where there is one (the GPU kit installs it); otherwise this checkout.
Importing this module does not import torch, so that ``gpu/pack`` can use it without.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).resolve().parent / "results"
# The two input sizes the training benchmarks measure, each from a synthetic twin: 1x28x28 and 3x32x32.
INPUTS = {"mnist": "synthetic_mnist", "cifar10": "synthetic_cifar10"}
GRACE = 30        # seconds an interrupted command has to store what it finished and stop Ray
MIB = 2**20

try:
    import orchestrator
except ModuleNotFoundError:    # run from a checkout where archbench is not installed
    sys.path.insert(0, str(REPO))
    import orchestrator

# `python -c` puts its working directory first on sys.path: the CLI runs from the folder that holds the
# orchestrator this process imported, so that both use the same code (the GPU kit's, or this checkout's).
SOURCE_ROOT = Path(orchestrator.__file__).resolve().parents[1]

# Before any Ray starts (the CLI's children inherit them).
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


# ---------------------------------------------------------------- the machine


def machine_facts() -> dict:
    """What every benchmark records about the machine."""
    import torch

    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(), "machine": platform.machine(), "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
        "cuda": torch.version.cuda, "git_commit": git_commit(),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
    }


def device_facts(device: str = "cuda") -> dict:
    """The device a run measures on: its name and memory, or ``cpu`` (no memory figure) where it is no GPU."""
    import torch

    if torch.device(device).type != "cuda" or not torch.cuda.is_available():
        return {"device": "cpu", "device_memory_bytes": None}
    props = torch.cuda.get_device_properties(torch.device(device))
    return {"device": props.name, "device_memory_bytes": props.total_memory}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def git_commit() -> str | None:
    """The short commit this checkout is at, or None outside a git checkout."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


# ---------------------------------------------------------------- the command line


def script_parser(doc: str) -> argparse.ArgumentParser:
    """A script's parser: the first line of its docstring as the description, the rest after the options."""
    first, _, rest = doc.partition("\n")
    return argparse.ArgumentParser(description=first, epilog=rest,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def add_run_options(parser: argparse.ArgumentParser, script: str, quick: dict[str, object], what: str) -> None:
    """``--quick`` (``what``: the ``quick`` settings, each where the command line gives none), ``--results``,
    ``--no-save``."""
    presets = " ".join(f"--{name.replace('_', '-')} " + " ".join(map(str, v if isinstance(v, list) else [v]))
                       for name, v in quick.items())
    parser.add_argument("--quick", action="store_true", help=f"{what}: {presets}")
    parser.add_argument("--results", default=None, help=f"JSON lines file (default: benchmarks/results/{script}.jsonl)")
    parser.add_argument("--no-save", action="store_true", help="do not append the JSON line")
    parser.add_argument("--each", default=None,
                        help="also append a JSON line per cell or level to this file as each is measured")


def parse_args(parser: argparse.ArgumentParser, quick: dict[str, object]) -> argparse.Namespace:
    """The parsed command line; with ``--quick``, each setting of ``quick`` that the command line left out."""
    args = parser.parse_args()
    if args.quick:
        for name, value in quick.items():
            if getattr(args, name) is None:
                setattr(args, name, value)
    return args


# ---------------------------------------------------------------- the result line


def new_result(args: argparse.Namespace, **machine: object) -> dict:
    """A run's record as it starts: the machine (``machine`` added to its facts), the command, the settings."""
    return {"machine": {**machine_facts(), **machine}, "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "settings": vars(args)}


def close_run(result: dict, started: float) -> None:
    """Stamp a finished run: the load average at its end and its seconds since ``started`` (perf_counter)."""
    result["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    result["seconds"] = round(time.perf_counter() - started, 1)


def finish(result: dict, started: float, args: argparse.Namespace, script: str,
           print_table: Callable[[dict], None]) -> None:
    """Stamp the run, print its table and its seconds, and append its line (unless ``--no-save``)."""
    close_run(result, started)
    print_table(result)
    print(f"{result['seconds']} s in all")
    if not args.no_save:
        append_result(results_path(args.results, script), result)


def results_path(value: str | None, script: str) -> Path:
    """``--results`` as given, else ``benchmarks/results/<script>.jsonl``."""
    return Path(value) if value else RESULTS_DIR / f"{script}.jsonl"


def append_result(path: Path, result: dict) -> None:
    """Append ``result`` as one JSON line to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(result, default=str) + "\n")


def append_item(args: argparse.Namespace, item: dict) -> None:
    """With ``--each``, append ``item`` (one cell or level) as it is measured, so that a run stopped
    midway keeps its figures: ``{"step": $ARCHBENCH_GPU_STEP_NAME or the script, "item": item}``."""
    if args.each:
        step = os.environ.get("ARCHBENCH_GPU_STEP_NAME") or Path(sys.argv[0]).stem
        append_result(Path(args.each), {"step": step, "item": item})


def plain(value):
    """A pandas/numpy cell as a JSON-ready Python value (NA and NaN as None)."""
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def mib(value: int | None) -> str:
    """Bytes as whole MiB, ``-`` for none."""
    return f"{value / MIB:.0f}" if value else "-"


def num(value, fmt: str = ".2f") -> str:
    """``value`` in ``fmt``, ``-`` for None."""
    return "-" if value is None else format(value, fmt)


# ---------------------------------------------------------------- the archbench command line


def archbench_command(*args: str) -> list[str]:
    """The ``archbench`` command line run by this interpreter (installed console script or not)."""
    return [sys.executable, "-c", "from orchestrator.cli import main; main()", *args]


def run_cli(args: list[str], *, timeout: float | None = None, log=print) -> dict:
    """Run ``archbench ARGS`` (absolute paths only: it runs in SOURCE_ROOT); returns its exit code, wall
    seconds, output, and whether it was cut at ``timeout``.

    At the timeout the command gets SIGINT (as Ctrl-C: the rows it stored stay) and GRACE seconds to exit.
    """
    start = time.perf_counter()
    process = subprocess.Popen(archbench_command(*args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True, cwd=SOURCE_ROOT)
    cut = False
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        cut = True
        log(f"  cut: still running at its {timeout:.0f} s limit; interrupted")
        output, _ = interrupt_then_kill(process, GRACE)
    return {"returncode": process.returncode, "wall_s": time.perf_counter() - start, "output": output, "cut": cut}


# ---------------------------------------------------------------- stopping a process and what it started


def interrupt_then_kill(process: subprocess.Popen, grace: float,
                        started: Callable[[], Iterable[int]] = tuple) -> tuple[object, object]:
    """Stop ``process`` (started with start_new_session=True) as Ctrl-C would, then for sure; its output.

    SIGINT goes to its process group, and to the group of each live process ``started()`` names (those
    it started in sessions of their own, as a sweep starts Ray); ``process`` has ``grace`` seconds to
    exit (an interrupted sweep stores what it finished). Then SIGKILL goes to its group, which outlives
    it while anything it left there runs, and to those groups until ``started()`` names none.
    Returns ``process.communicate()``: (stdout, stderr) where they were piped, else (None, None).
    """
    _signal_groups({process.pid, *_groups(started())}, signal.SIGINT)
    try:
        output = process.communicate(timeout=grace)
    except subprocess.TimeoutExpired:
        output = None
    _signal_groups({process.pid}, signal.SIGKILL)
    kill_until_gone(lambda: [*([process.pid] if process.poll() is None else []), *started()], grace)
    return output if output is not None else process.communicate()


def kill_until_gone(live: Callable[[], Iterable[int]], seconds: float) -> None:
    """SIGKILL to the process group of each process ``live()`` names, again while it names any (SIGKILL lands
    asynchronously), for ``seconds`` at most. ``live()`` leaves out zombies: they are dead already."""
    deadline = time.monotonic() + seconds
    while (groups := _groups(live())) and time.monotonic() < deadline:
        _signal_groups(groups, signal.SIGKILL)
        time.sleep(0.05)


def _groups(pids: Iterable[int]) -> set[int]:
    groups = set()
    for pid in pids:
        with suppress(ProcessLookupError):
            groups.add(os.getpgid(pid))
    return groups


def _signal_groups(groups: Iterable[int], sig: int) -> None:
    for group in groups:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(group, sig)
