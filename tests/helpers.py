"""Shared helpers for the tests that drive the real `archbench` command."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ARCHBENCH = str(Path(sys.executable).with_name("archbench"))
REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"

# A budget that trains a cell in a couple of seconds on one CPU core.
TINY = ["--epochs", "2", "--train-limit", "512", "--test-limit", "256", "--batch-size", "32"]


def archbench(*args: str, env: dict | None = None, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([ARCHBENCH, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, **kwargs)


def run_script(command: list, timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """Run ``command`` (a benchmark script, say) from the repository root; its output as text."""
    return subprocess.run([str(c) for c in command], cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          **kwargs)


def load_script(path: Path, name: str):
    """A benchmark script as a module (scripts are not package modules); it finds benchmarks/common.py."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def run_in_process(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Run `archbench ARGS` through the CLI's entry point in this process: (exit code, stdout, stderr)."""
    import pytest

    from orchestrator import cli

    monkeypatch.setattr(sys, "argv", ["archbench", *args])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def make_row(arch: str = "lenet5", dataset: str = "mnist", seed: int = 0, status: str = "ok", acc: float = 0.9,
             sweep: str | None = "s", epochs: int = 0, budget=None, setup: dict | None = None, placement=None,
             **outcome):
    """A stored-looking row of ``arch`` on ``dataset`` (the setup as a sweep builds it), with ``epochs`` epochs."""
    from dataclasses import replace
    from datetime import datetime, timezone

    from orchestrator.trial import Budget, Cell, EpochRow, Placement, TrialOutcome, TrialRow, TrialSpec

    built = TrialSpec(Cell(arch, dataset, seed), budget or Budget(epochs=2)).setup
    history = tuple(EpochRow(epoch=e, train_loss=1.0 / e, val_acc=None, test_acc=0.5 + e / 10, epoch_seconds=1.0,
                             images_per_sec=100.0, lr=0.1) for e in range(1, epochs + 1))
    fields = {"test_acc": acc if status == "ok" else None, "error": None if status == "ok" else "boom",
              "epochs_run": 2, "started_at": datetime(2026, 1, 1, tzinfo=timezone.utc), **outcome}
    return TrialRow(sweep=sweep, setup=replace(built, **(setup or {})),
                    outcome=TrialOutcome(status=status, history=history, **fields), placement=placement or Placement())
