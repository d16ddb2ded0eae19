"""The benchmarks stay runnable: each ``--quick`` mode.

They check that each script runs through archbench's public interfaces and records what it
measured, never how fast anything was (speed goes to BENCHMARKS.md). ``throughput.py --quick`` and
``sweep.py --quick`` run inside the GPU run's dry run (tests/test_gpu_kit.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers import BENCHMARKS, load_script, run_script

pytestmark = pytest.mark.slow   # runs the benchmark scripts, two through Ray


def last_line(path: Path) -> dict:
    return json.loads(path.read_text().splitlines()[-1])


def test_data_loader_quick_times_both_loaders_and_the_decoded_load(tmp_path):
    out = tmp_path / "data_loader.jsonl"
    done = run_script([sys.executable, BENCHMARKS / "data_loader.py", "--quick", "--results", out], timeout=300)
    assert done.returncode == 0, done.stderr
    figures = last_line(out)["figures"]
    assert figures["train_images"] == 2000
    assert set(figures["batches_per_s"]) == {"DeviceLoader", "DataLoader, 0 workers"}
    assert all(rate > 0 for rate in figures["batches_per_s"].values())
    assert figures["first_load_s"] >= 0 and figures["cached_load_s"] >= 0


@pytest.mark.ray
def test_overhead_quick_runs_the_same_trials_in_process_and_through_the_cli(tmp_path):
    out = tmp_path / "overhead.jsonl"
    done = run_script([sys.executable, BENCHMARKS / "overhead.py", "--quick", "--results", out], timeout=600)
    assert done.returncode == 0, done.stderr
    f = last_line(out)["figures"]
    assert f["trials"] == 3 and f["stored_rows"] == 3
    assert f["overhead_s"] == pytest.approx(f["sweep_wall_s"] - f["in_process_trial_wall_sum_s"], abs=0.002)
    assert f["phases_s"]["command_start_to_first_trial"] > 0


@pytest.mark.ray
def test_smoke_quick_splits_the_commands_wall_time_into_its_phases(tmp_path):
    out = tmp_path / "smoke.jsonl"
    done = run_script([sys.executable, BENCHMARKS / "smoke.py", "--quick", "--results", out], timeout=600)
    assert done.returncode == 0, done.stderr
    f = last_line(out)["figures"]
    assert (f["trials"], f["statuses"], f["summarize_returncode"]) == (1, {"ok": 1}, 0)
    p = f["phases_s"]
    assert p["command_start_to_first_trial"] > 0 and p["training_steps_sum"] > 0
    # One trial on one slot: the span is that trial, nothing idle; the phases add up to the wall time.
    assert p["idle_slot_seconds"] == pytest.approx(0, abs=0.05)
    assert p["training_steps_sum"] + p["rest_of_trials_sum"] == pytest.approx(p["trials_span"], abs=0.05)
    assert (p["command_start_to_first_trial"] + p["trials_span"] + p["last_trial_end_to_exit"]
            == pytest.approx(f["sweep_wall_s"], abs=1.0))


@pytest.mark.ray
def test_heartbeat_quick_measures_its_share_of_an_epoch(tmp_path):
    done = run_script([sys.executable, BENCHMARKS / "heartbeat.py", "--quick"], timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("LeNet-5, 4,096 images: epoch ") and last.endswith("% of the epoch"), last


def test_fused_quick_trains_the_same_seeds_both_ways_with_the_same_losses(tmp_path):
    out = tmp_path / "fused.jsonl"
    done = run_script([sys.executable, BENCHMARKS / "fused.py", "--quick", "--results", out], timeout=300)
    assert done.returncode == 0, done.stderr
    figures = last_line(out)["figures"]
    assert [(f["arch"], f["k"]) for f in figures] == [("lenet5", 1), ("lenet5", 3)]
    for f in figures:
        assert f["agree"] and f["loss_rel_diff_max"] <= 1e-3
        assert len(f["losses_separate_fused"]) == 3 and all(len(step) == f["k"] for step in f["losses_separate_fused"])
        assert f["separate_images_per_s"]["median"] > 0 and f["fused_images_per_s"]["median"] > 0


def test_throughput_formats_quick_times_train_in_both_memory_formats_against_the_cpu_peak(tmp_path):
    out = tmp_path / "throughput.jsonl"
    done = run_script([sys.executable, BENCHMARKS / "throughput.py", "--quick", "--formats", "--peak-gflops", "50",
                       "--results", out], timeout=300)
    assert done.returncode == 0, done.stderr
    line = last_line(out)
    assert line["machine"]["peak"] == {"flops_per_thread": 50e9, "how": "--peak-gflops"}
    [f] = line["figures"]
    assert (f["arch"], f["input"], f["recipe_format"]) == ("lenet5", "1x28x28", "channels_last")
    assert f["ratio"]["median"] == pytest.approx(
        f["channels_last_images_per_s"]["median"] / f["contiguous_images_per_s"]["median"], rel=0.01)
    rate = f["channels_last_images_per_s"]["median"]
    assert f["achieved_gflops_per_s"] == pytest.approx(rate * f["train_flops_per_image"] / 1e9, abs=0.01)
    assert f["peak_share"] == pytest.approx(f["achieved_gflops_per_s"] / 50, abs=1e-3)


def test_the_gpu_run_knows_each_cards_dense_bf16_peak_by_its_name():
    gpu_run = load_script(BENCHMARKS / "gpu" / "run.py", "gpu_run")
    assert gpu_run.dense_bf16_peak("NVIDIA H100 80GB HBM3") == 989e12          # SXM
    assert gpu_run.dense_bf16_peak("NVIDIA H100 PCIe") == 756e12
    assert gpu_run.dense_bf16_peak("NVIDIA H200") == 989e12
    assert gpu_run.dense_bf16_peak("NVIDIA A100-SXM4-80GB") is None
    assert gpu_run.peak_share({"achieved_gflops_per_s": 98.9}, 989e12) == "0.01%"
    assert gpu_run.peak_share({"achieved_gflops_per_s": 98.9}, None) == "-"


@pytest.mark.parametrize("keep_freed_memory", [False, True])
def test_step_profile_quick_splits_the_training_steps_by_operator_and_kind(tmp_path, keep_freed_memory):
    out = tmp_path / "step_profile.jsonl"
    command = [sys.executable, BENCHMARKS / "step_profile.py", "--quick", "--results", out]
    done = run_script(command + ["--keep-freed-memory"] * keep_freed_memory, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    line = last_line(out)
    figures = line["figures"]
    assert line["settings"]["keep_freed_memory"] is keep_freed_memory
    assert figures["steps"] == 512 // figures["batch_size"] - 1   # every step after the first
    operators = figures["operators"]
    assert [op["self_ms"] for op in operators] == sorted((op["self_ms"] for op in operators), reverse=True)
    assert any(op["op"] == "aten::convolution_backward" for op in operators)
    assert sum(figures["kinds"].values()) == pytest.approx(1.0, abs=1e-3)
    assert all(share > 0 for share in figures["kinds"].values())
    assert figures["page_faults_per_step"] >= 0 and figures["user_ms_per_step"] > 0
