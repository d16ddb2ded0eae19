"""``benchmarks/store.py --quick`` stays runnable and records what it measured (how fast goes to BENCHMARKS.md)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow   # runs a benchmark script

REPO = Path(__file__).resolve().parents[1]


def test_store_quick_times_the_puts_at_each_level_reads_every_row_and_summarizes(tmp_path):
    out, kept = tmp_path / "store.jsonl", tmp_path / "results"
    done = subprocess.run([sys.executable, REPO / "benchmarks" / "store.py", "--quick", "--results", out,
                           "--dir", kept], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    [line] = [json.loads(text) for text in out.read_text().splitlines()]
    assert "store.py --quick" in line["command"] and line["machine"]["git_commit"]
    f = line["figures"]
    assert [(level["stored"], level["puts"]) for level in f["levels"]] == [(10, 10), (30, 10)]
    assert all(0 < level["median_ms"] <= level["max_ms"] <= f["max_ms"] for level in f["levels"])
    assert f["puts"] == 40 and f["rows"] == {"trials": 40, "history": 120, "pandas_trials": 40, "pandas_history": 120}
    assert f["summarize"]["returncode"] == 0 and f["summarize"]["wall_s"] > 0
    assert (kept / "trials").is_dir() and f["files"]["trials"] == len(list((kept / "trials").glob("*.parquet")))
    assert done.stdout.startswith("put_trial at 10 / 30 stored: median ")
