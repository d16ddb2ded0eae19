"""What a running sweep shows: a live table on a terminal, plain lines elsewhere, heartbeats within seconds."""

import io
import os
import re
import select
import subprocess
import time

import pytest
from helpers import ARCHBENCH

from orchestrator.progress import HEARTBEAT_SECONDS_VAR, LineView, LiveView, heartbeat_seconds, make_view
from orchestrator.train import PROGRESS_SECONDS
from orchestrator.trial import EpochRow, Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_the_live_view_and_a_pipe_gets_lines():
    assert isinstance(make_view(Terminal()), LiveView)
    assert type(make_view(io.StringIO())) is LineView


def test_the_heartbeat_interval_is_the_environments_else_the_default(monkeypatch):
    monkeypatch.delenv(HEARTBEAT_SECONDS_VAR, raising=False)
    assert heartbeat_seconds() == PROGRESS_SECONDS
    monkeypatch.setenv(HEARTBEAT_SECONDS_VAR, "0.25")
    assert heartbeat_seconds() == 0.25
    for bad in ("0", "-1", "nan", "soon"):
        monkeypatch.setenv(HEARTBEAT_SECONDS_VAR, bad)
        with pytest.raises(ValueError, match=f"ARCHBENCH_HEARTBEAT_SECONDS='{bad}' is not a number of seconds"):
            heartbeat_seconds()


def test_lines_show_a_heartbeat_at_most_once_a_minute_per_trial_and_every_epoch():
    out = io.StringIO()
    view = LineView(out)
    view.start(total=2)
    view.trial_started("lenet5/mnist/seed0")
    view.heartbeat("lenet5/mnist/seed0", Progress(1, 3, 10, 100, 2500.0, 4.0))
    view.heartbeat("lenet5/mnist/seed0", Progress(1, 3, 20, 100, 2600.0, 8.0))     # seconds later: not shown
    view.heartbeat("vgg/mnist/seed0", Progress(1, 3, 5, 100, 300.0, 5.0))           # another trial: shown
    first = EpochRow(epoch=1, train_loss=0.5, val_acc=0.97, test_acc=0.96, epoch_seconds=30.0, images_per_sec=2500.0,
                     lr=1e-3)
    view.epoch("lenet5/mnist/seed0", first, 3, best=0.97)
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
        view.refresh()
        screen = out.getvalue()
    finally:
        view.stop()
    assert re.search(r"lenet5/mnist/seed0 +2/4 .*1,234", screen), screen[-2000:]
    assert re.search(r"vgg/mnist/seed0 +starting", screen)
    assert "1 pending, 2 running, 0 done (0 failed)" in screen and "elapsed" in screen and "ETA" in screen


# An architecture whose training outlasts its first heartbeat, however fast the machine, and then waits
# until the test has seen that heartbeat on the screen: step 2 takes one heartbeat interval (the test
# sets a short one), so it ends with a heartbeat; step 3 waits for the release file.
HEARTBEAT_SECONDS = "0.2"
HELD_PLUGIN = """
import time
from pathlib import Path

from torch import nn

import archs
from orchestrator.progress import heartbeat_seconds

RELEASE = Path({release!r})


class Held(nn.Module):
    def __init__(self, in_channels, num_classes, image_size):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * image_size * image_size, num_classes))
        self.steps = 0

    def forward(self, x):
        if self.training:
            self.steps += 1
            if self.steps == 2:
                time.sleep(heartbeat_seconds())
            elif self.steps == 3:
                deadline = time.monotonic() + 240
                while not RELEASE.exists():
                    if time.monotonic() > deadline:
                        raise RuntimeError("the test never saw the heartbeat")
                    time.sleep(0.05)
        return self.net(x)


archs.register("held", recipe=archs.Recipe(optimizer="adamw", lr=1e-3, weight_decay=0.0, epochs=1,
                                           batch_size=32))(Held)
"""


def strip_escapes(screen: bytes) -> str:
    return re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", screen).decode(errors="replace")


@pytest.mark.ray
@pytest.mark.slow
def test_a_sweep_on_a_terminal_shows_the_trial_within_seconds(tmp_path):
    # The trial's row in the live table must show epoch 1/1 with a rate (its first heartbeat, after a
    # heartbeat interval of training) while the trial still runs: it runs until the row has been seen.
    plugin, release = tmp_path / "held.py", tmp_path / "release"
    plugin.write_text(HELD_PLUGIN.format(release=str(release)))
    main, child = os.openpty()
    command = [ARCHBENCH, "sweep", "--plugin", str(plugin), "--archs", "held", "--datasets", "synthetic_mnist",
               "--train-limit", "256", "--test-limit", "256", "--results", str(tmp_path / "r")]
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm", HEARTBEAT_SECONDS_VAR: HEARTBEAT_SECONDS}
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
                text = strip_escapes(screen)
                if shown_at is None and re.search(r"held/synthetic_mnist/seed0 +1/1 +\S+ +[\d,]+ ", text):
                    shown_at = time.monotonic()
                    release.touch()
                if ended_at is None and "held/synthetic_mnist/seed0: " in text:
                    ended_at = time.monotonic()
            if proc.poll() is not None and not ready:
                break
        proc.wait(60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
        os.close(main)
    text = strip_escapes(screen)
    assert proc.returncode == 0, text[-3000:]
    assert text.lstrip().startswith("Ray: starting a local instance on this machine (no --address")
    assert shown_at is not None, f"the live table never showed the trial's progress:\n{text[-3000:]}"
    assert ended_at is not None and shown_at < ended_at
