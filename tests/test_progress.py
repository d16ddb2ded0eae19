"""What a running sweep shows: a live table on a terminal, plain lines elsewhere, heartbeats within seconds."""

import io
import os
import re
import select
import subprocess
import time

import pytest

from helpers import ARCHBENCH
from orchestrator.progress import LineView, LiveView, make_view
from orchestrator.trial import EpochRow, Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_the_live_view_and_a_pipe_gets_lines():
    assert isinstance(make_view(Terminal()), LiveView)
    assert type(make_view(io.StringIO())) is LineView


def test_lines_show_a_heartbeat_at_most_once_a_minute_per_trial_and_every_epoch():
    out = io.StringIO()
    view = LineView(out)
    view.start(total=2)
    view.trial_started("lenet5/mnist/seed0")
    view.heartbeat("lenet5/mnist/seed0", Progress(1, 3, 10, 100, 2500.0, 4.0))
    view.heartbeat("lenet5/mnist/seed0", Progress(1, 3, 20, 100, 2600.0, 8.0))     # seconds later: not shown
    view.heartbeat("vgg/mnist/seed0", Progress(1, 3, 5, 100, 300.0, 5.0))           # another trial: shown
    view.epoch("lenet5/mnist/seed0", EpochRow(1, 0.5, 0.97, 0.96, 30.0, 2500.0, 1e-3), 3, best=0.97)
    view.trial_ended("lenet5/mnist/seed0", "lenet5/mnist/seed0: ok acc 0.9800", failed=False)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("lenet5/mnist/seed0: epoch 1/3, step 10/100, 2,500 img/s, ETA ")
    assert lines[0].endswith(" | 1 pending, 1 running, 0 done (0 failed)")
    assert lines[1].startswith("vgg/mnist/seed0: epoch 1/3, step 5/100, 300 img/s")
    assert lines[2] == ("lenet5/mnist/seed0: epoch 1/3 loss 0.5000 val 0.9700 (best 0.9700)"
                        " | 0 pending, 2 running, 0 done (0 failed)")
    assert lines[3] == "lenet5/mnist/seed0: ok acc 0.9800 | 0 pending, 1 running, 1 done (0 failed)"
    assert len(lines) == 4


def test_the_live_view_shows_each_running_trial_with_its_progress():
    out = Terminal()
    view = LiveView(out)
    view.start(total=3)
    try:
        view.trial_started("lenet5/mnist/seed0")
        view.trial_started("vgg/mnist/seed0")
        view.heartbeat("lenet5/mnist/seed0", Progress(2, 4, 50, 100, 1234.0, 10.0))
        time.sleep(0.6)   # a few redraws
    finally:
        view.stop()
    screen = out.getvalue()
    assert re.search(r"lenet5/mnist/seed0 +2/4 .*1,234", screen), screen[-2000:]
    assert re.search(r"vgg/mnist/seed0 +starting", screen)
    assert "1 pending, 2 running, 0 done (0 failed)" in screen and "elapsed" in screen and "ETA" in screen


@pytest.mark.ray
def test_a_sweep_on_a_terminal_shows_the_trial_within_seconds(tmp_path):
    # One trial of some ten seconds or more on one core: its row in the live table must show epoch 1/1
    # with a rate (the first heartbeat, after 5 s of training) before the trial ends.
    main, child = os.openpty()
    command = [ARCHBENCH, "sweep", "--archs", "resnet20v1", "--datasets", "synthetic_mnist", "--epochs", "1",
               "--train-limit", "4096", "--test-limit", "256", "--batch-size", "32",
               "--results", str(tmp_path / "r")]
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.Popen(command, stdin=child, stdout=child, stderr=child, env=env, start_new_session=True)
    os.close(child)
    screen, shown_at, ended_at = b"", None, None
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                screen += chunk
                text = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", screen).decode(errors="replace")
                if shown_at is None and re.search(r"resnet20v1/synthetic_mnist/seed0 +1/1 +\S+ +[\d,]+ ", text):
                    shown_at = time.monotonic()
                if ended_at is None and "resnet20v1/synthetic_mnist/seed0: " in text:
                    ended_at = time.monotonic()
            if proc.poll() is not None and not ready:
                break
        proc.wait(60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
        os.close(main)
    text = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", screen).decode(errors="replace")
    assert proc.returncode == 0, text[-3000:]
    assert text.lstrip().startswith("Ray: starting a local instance on this machine (no --address")
    assert shown_at is not None, f"the live table never showed the trial's progress:\n{text[-3000:]}"
    assert ended_at is not None and shown_at < ended_at
