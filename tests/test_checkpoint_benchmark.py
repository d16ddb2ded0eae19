"""The checkpoint benchmark stays runnable: its ``--quick`` mode measures a save and a copy and prints the share."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow   # runs a benchmark script

REPO = Path(__file__).resolve().parents[1]


def test_the_checkpoint_benchmark_quick_mode_reports_a_share_of_an_epoch(tmp_path):
    results = tmp_path / "checkpoint.jsonl"
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "checkpoint.py"), "--quick", "--results",
                           str(results)], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r"lenet5 synthetic_mnist +state +\d+\.\d+ MiB, save [\d.]+ ms \+ copy [\d.]+ ms", proc.stdout)
    assert re.search(r"largest share: [\d.]+% \(lenet5 on synthetic_mnist\); goal under 2%", proc.stdout)
    assert not results.exists(), "a quick run records no figures"
