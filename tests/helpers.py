"""Shared helpers for the tests that drive the real `archbench` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ARCHBENCH = str(Path(sys.executable).with_name("archbench"))

# A budget that trains a cell in a couple of seconds on one CPU core.
TINY = ["--epochs", "2", "--train-limit", "512", "--test-limit", "256", "--batch-size", "32"]


def archbench(*args: str, env: dict | None = None, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([ARCHBENCH, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, **kwargs)


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
