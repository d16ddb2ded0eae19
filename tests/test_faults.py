"""Real faults around a sweep: the driver killed mid-sweep, two sweeps writing to one results dir."""

import signal
import subprocess
import time
from pathlib import Path

import pytest
from helpers import ARCHBENCH, BENCHMARKS, archbench, load_script

from orchestrator.results import ResultStore

pytestmark = [pytest.mark.ray, pytest.mark.slow]   # sweeps through Ray, interrupted and killed

BUDGET = ["--epochs", "2", "--train-limit", "1024", "--test-limit", "256", "--batch-size", "32"]


interrupt_then_kill = load_script(BENCHMARKS / "common.py", "benchmarks_common").interrupt_then_kill


def _stop(proc: subprocess.Popen) -> None:
    """Whatever a test left of a sweep it started (the sweep's own group: its Ray) goes with it."""
    interrupt_then_kill(proc, grace=10)


def test_driver_killed_mid_sweep_resumes_without_retraining(tmp_path):
    results = tmp_path / "results"
    # Trials of a few seconds each, one at a time, so that the kill lands between the 2nd and the 4th.
    command = ["sweep", "--local", "--archs", "lenet5", "--datasets", "synthetic_mnist", "--seeds", "4",
               *BUDGET, "--train-limit", "8192", "--max-concurrent", "1", "--results", str(results),
               "--name", "crash"]
    driver = subprocess.Popen([ARCHBENCH, *command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    store = ResultStore(results)
    try:
        deadline = time.monotonic() + 240
        rows = store.trials()
        while len(rows) < 2:
            assert driver.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "no rows appeared"
            time.sleep(0.2)
            rows = store.trials()   # raises if a reader ever sees a half-written file
            store.history()
        driver.send_signal(signal.SIGKILL)
        driver.wait(30)
    finally:
        _stop(driver)
    before = store.trials()
    assert 2 <= len(before) < 4 and (before["status"] == "ok").all()

    proc = archbench(*command)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"{len(before)} of 4 cells" in proc.stdout
    after = store.trials()
    assert len(after) == 4 and (after["status"] == "ok").all()
    assert sorted(after["seed"]) == list(range(4))
    kept = after.set_index("seed").loc[before["seed"], "started_at"]
    assert list(kept) == list(before["started_at"]), "a cell finished before the kill was trained again"
    assert len(store.history()) == 8


def test_two_sweeps_into_one_results_dir(tmp_path):
    results = tmp_path / "results"
    sweeps = [subprocess.Popen([ARCHBENCH, "sweep", "--local", "--archs", "lenet5", "--datasets",
                                "synthetic_mnist,synthetic_cifar10", *BUDGET, "--results", str(results),
                                "--name", name], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
              for name in ("first", "second")]
    try:
        for proc in sweeps:
            _, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err[-3000:]
    finally:
        for proc in sweeps:
            _stop(proc)
    trials = ResultStore(results).trials()
    assert sorted(zip(trials["sweep"], trials["dataset"])) == [
        ("first", "synthetic_cifar10"), ("first", "synthetic_mnist"),
        ("second", "synthetic_cifar10"), ("second", "synthetic_mnist")]
    assert len(ResultStore(results).history()) == 8


def test_ctrl_c_keeps_the_rows_and_exits_130(tmp_path):
    results = tmp_path / "results"
    command = ["sweep", "--local", "--archs", "lenet5", "--datasets", "synthetic_mnist", "--seeds", "3",
               *BUDGET, "--train-limit", "8192", "--max-concurrent", "1", "--results", str(results)]
    driver = subprocess.Popen([ARCHBENCH, *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    store = ResultStore(results)
    try:
        deadline = time.monotonic() + 240
        while len(store.trials()) < 1:
            assert driver.poll() is None and time.monotonic() < deadline, "no row before the interrupt"
            time.sleep(0.2)
        driver.send_signal(signal.SIGINT)
        _, err = driver.communicate(timeout=180)
    finally:
        _stop(driver)
    assert driver.returncode == 130, err[-3000:]
    kept = store.trials()
    assert 1 <= len(kept) < 3 and (kept["status"] == "ok").all()
    assert err.strip().splitlines()[-1] == (f"error: interrupted: {3 - len(kept)} of 3 trials have no row; "
                                            "run the same command again to train them")

    proc = archbench(*command)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"{len(kept)} of 3 cells" in proc.stdout
    after = store.trials().set_index("seed")
    assert sorted(after.index) == list(range(3)) and (after["status"] == "ok").all()
    assert list(after.loc[kept["seed"], "started_at"]) == list(kept["started_at"]), "a stored cell was trained again"


FAULTS = str(Path(__file__).parent / "plugins" / "faults.py")


def _checkpoints(results):
    return sorted((results / "ray").glob("*/*/checkpoint_*"))


def test_a_trial_whose_worker_is_killed_goes_on_from_its_last_checkpoint(tmp_path):
    # 461 training images in batches of 32: 14 steps an epoch, so step 29 is the first of epoch 3.
    results = tmp_path / "results"
    env = {"ARCHBENCH_TEST_KILL_MARKER": str(tmp_path / "killed"), "ARCHBENCH_TEST_KILL_AT_STEP": "29"}
    proc = archbench("sweep", "--local", "--plugin", FAULTS, "--archs", "fault_kill_at_step", "--datasets",
                     "synthetic_mnist", "--epochs", "4", "--train-limit", "512", "--test-limit", "256",
                     "--batch-size", "32", "--max-failures", "1", "--results", str(results), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "killed").exists(), "the worker was never killed"
    row = ResultStore(results).trials().iloc[0]
    assert (row["status"], row["attempts"], row["resumed_from_epoch"], row["epochs_run"]) == ("ok", 2, 2, 4)
    assert sorted(ResultStore(results).history()["epoch"]) == [1, 2, 3, 4]
    assert not _checkpoints(results), "the stored trial's checkpoints were left behind"


def test_driver_killed_mid_trial_goes_on_from_the_checkpoint_on_a_rerun(tmp_path):
    results = tmp_path / "results"
    command = ["sweep", "--local", "--archs", "lenet5", "--datasets", "synthetic_mnist", "--epochs", "4",
               "--train-limit", "4096", "--test-limit", "256", "--batch-size", "32", "--results", str(results),
               "--name", "crash"]
    driver = subprocess.Popen([ARCHBENCH, *command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while not any((c / "state.pt").exists() for c in _checkpoints(results)):
            assert driver.poll() is None, "the trial ended before the driver could be killed"
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.1)
        driver.send_signal(signal.SIGKILL)
        driver.wait(30)
    finally:
        _stop(driver)
    assert ResultStore(results).trials().empty

    proc = archbench(*command)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "go on from the checkpoint an interrupted run left" in proc.stdout
    row = ResultStore(results).trials().iloc[0]
    assert row["status"] == "ok" and 1 <= row["resumed_from_epoch"] < 4 and row["attempts"] == 1
    assert sorted(ResultStore(results).history()["epoch"]) == [1, 2, 3, 4]
    assert not _checkpoints(results), "the checkpoints were left behind once the row was stored"
