"""What every benchmark shares: the machine facts it records, running the CLI, and appending its result line.

The benchmarks use archbench through its public interfaces only: ``orchestrator.train.train`` with a
``TrialSpec``, the ``archbench`` command line, ``ResultStore`` and the data package's public names.
The installed archbench is used where there is one (the GPU kit installs it); otherwise this checkout.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).resolve().parent / "results"
GRACE = 30        # seconds an interrupted command has to store what it finished and stop Ray

try:
    import orchestrator
except ModuleNotFoundError:    # run from a checkout where archbench is not installed
    sys.path.insert(0, str(REPO))
    import orchestrator

# `python -c` puts its working directory first on sys.path: the CLI runs from the folder that holds the
# orchestrator this process imported, so that both use the same code (the GPU kit's, or this checkout's).
SOURCE_ROOT = Path(orchestrator.__file__).resolve().parents[1]

import torch  # noqa: E402

# Before any Ray starts (the CLI's children inherit them).
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def machine_facts() -> dict:
    """What every benchmark records about the machine."""
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(), "machine": platform.machine(), "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
        "cuda": torch.version.cuda, "git_commit": _git_commit(),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


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
        os.killpg(process.pid, signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=GRACE)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
    return {"returncode": process.returncode, "wall_s": time.perf_counter() - start, "output": output, "cut": cut}


def plain(value):
    """A pandas/numpy cell as a JSON-ready Python value (NA and NaN as None)."""
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def close_run(result: dict, started: float) -> None:
    """Stamp a finished run: the load average at its end and its seconds since ``started`` (perf_counter)."""
    result["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    result["seconds"] = round(time.perf_counter() - started, 1)


def results_path(value: str | None, script: str) -> Path:
    """``--results`` as given, else ``benchmarks/results/<script>.jsonl``."""
    return Path(value) if value else RESULTS_DIR / f"{script}.jsonl"


def append_result(path: Path, result: dict) -> None:
    """Append ``result`` as one JSON line to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(result, default=str) + "\n")
