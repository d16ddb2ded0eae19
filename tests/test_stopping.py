"""Stopping a process with what it started: Ctrl-C first, so that it can keep its work, then SIGKILL."""

import subprocess
import sys
import time
from pathlib import Path

from helpers import BENCHMARKS, load_script

common = load_script(BENCHMARKS / "common.py", "benchmarks_common")

_ON_CTRL_C_SAYS_SO = ("import signal, sys, time\n"
                      "signal.signal(signal.SIGINT, lambda *_: (print('stored what it finished'), sys.exit(130)))\n"
                      "print('running', flush=True)\n"
                      "time.sleep(600)\n")


def _alive(pid: int) -> bool:
    proc = Path(f"/proc/{pid}/status")
    return proc.exists() and "zombie" not in proc.read_text()


def test_an_interrupted_process_exits_as_on_ctrl_c_and_keeps_its_output():
    process = subprocess.Popen([sys.executable, "-c", _ON_CTRL_C_SAYS_SO], stdout=subprocess.PIPE, text=True,
                               start_new_session=True)
    assert process.stdout.readline() == "running\n"
    out, _ = common.interrupt_then_kill(process, grace=30)
    assert process.returncode == 130 and out == "stored what it finished\n"


def test_a_process_deaf_to_ctrl_c_is_killed_after_the_grace_with_what_it_started(tmp_path):
    child = tmp_path / "child.pid"
    # It ignores SIGINT, and starts a child in its group and another in a session of its own (as a sweep starts Ray).
    deaf = ("import signal, subprocess, sys, time\n"
            "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "sleep = [sys.executable, '-c', 'import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
            "time.sleep(600)']\n"
            "a, b = subprocess.Popen(sleep), subprocess.Popen(sleep, start_new_session=True)\n"
            f"open({str(child)!r}, 'w').write(f'{{a.pid}} {{b.pid}}')\n"
            "time.sleep(600)\n")
    process = subprocess.Popen([sys.executable, "-c", deaf], start_new_session=True)
    deadline = time.monotonic() + 60
    while not child.exists() or len(child.read_text().split()) < 2:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    in_group, own_session = map(int, child.read_text().split())
    common.interrupt_then_kill(process, grace=1, started=lambda: [own_session] if _alive(own_session) else [])
    assert process.returncode == -9
    # The group's SIGKILL is delivered at once; the child's exit can lag it by a moment on a busy machine.
    deadline = time.monotonic() + 5
    while _alive(in_group) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(in_group) and not _alive(own_session)
