"""The GPU run (benchmarks/gpu/): its plan and rules, its kit, and its dry run on the cp312 kit.

The kit tests need the package registry (``benchmarks/gpu/pack`` downloads Ray's wheels for the GPU
machine's CPython once into ``benchmarks/gpu/build/``, and keeps its xz archives there; they pack at
xz's fastest preset, the same files in seconds) and, for the dry run, a CPython of that version here
(``benchmarks/gpu/image-env`` builds the stand-in for the GPU image with it) and real MNIST and
Fashion-MNIST where ``ARCHBENCH_REAL_DATA`` points, else in ``../shared/data``; they are skipped,
saying why, where any is missing. The dry run's packing step is the one stopped at its limit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import BENCHMARKS, REPO, load_script, run_script

pytestmark = pytest.mark.slow   # packs kits and runs the GPU run's dry runs

PACK, RUN_SH = BENCHMARKS / "gpu" / "pack", BENCHMARKS / "gpu" / "run.sh"
# Real MNIST and Fashion-MNIST: where ARCHBENCH_REAL_DATA points, else ../shared/data beside the checkout.
REAL = Path(os.environ.get("ARCHBENCH_REAL_DATA") or REPO.parent / "shared" / "data")
MNIST = REAL / "mnist"
IMAGE_PYTHON = "3.12"   # the GPU machine's CPython: the kit's wheels are built for it


def pack(kit: Path, *flags: str) -> subprocess.CompletedProcess:
    done = run_script([sys.executable, PACK, "--python-version", IMAGE_PYTHON, "--xz-preset", "0", "--kit", kit,
                       *flags], timeout=600)
    if "pip cannot download" in done.stderr:
        pytest.skip(f"no package registry: {done.stderr.strip()}")
    return done


def gpu_image_python(kit: Path) -> Path:
    """The Python of benchmarks/gpu/image-env's stand-in for the GPU image: CPython 3.12 with what the
    image holds and nothing the kit brings (built once into benchmarks/gpu/build/)."""
    done = run_script([sys.executable, BENCHMARKS / "gpu" / "image-env", "--kit", kit, "--python-version",
                       IMAGE_PYTHON], timeout=900)
    if f"no CPython {IMAGE_PYTHON} here" in done.stderr or "pip cannot install" in done.stderr:
        pytest.skip(done.stderr.strip())
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip().splitlines()[-1])


def load_gpu_run():
    return load_script(BENCHMARKS / "gpu" / "run.py", "gpu_run")


def test_the_plan_fits_the_clock_with_the_accuracy_table_holding_the_largest_share():
    gpu_run = load_gpu_run()
    assert gpu_run.INSTALL + sum(gpu_run.PLAN.values()) <= gpu_run.CLOCK <= 420
    assert max(gpu_run.PLAN, key=gpu_run.PLAN.get) == "accuracy"
    assert list(gpu_run.PLAN)[:3] == ["preflight", "packing", "accuracy"]


def test_the_accuracy_step_adds_a_seed_only_after_a_clean_round_and_when_one_more_fits():
    another_seed = load_gpu_run().another_seed
    clean = {"cut": False, "returncode": 0, "wall_s": 100.0}
    assert another_seed(1, clean, left=121, most=3) == 2
    assert another_seed(2, clean, left=121, most=3) == 3
    assert another_seed(1, clean, left=119, most=3) is None          # a round as long again, a fifth to spare
    assert another_seed(3, clean, left=1000, most=3) is None
    assert another_seed(1, {**clean, "cut": True}, left=1000, most=3) is None
    assert another_seed(1, {**clean, "returncode": 1}, left=1000, most=3) is None


def test_the_accuracy_share_is_the_fastest_level_without_mps_the_larger_of_two_close_ones():
    best_level = load_gpu_run().best_level
    levels = [{"packing": "1 GPU", "wall_s": 100.0, "cut": False},
              {"packing": "0.25 GPU", "wall_s": 40.0, "cut": False},
              {"packing": "0.125 GPU", "wall_s": 39.0, "cut": False},
              {"packing": "0.0625 GPU", "wall_s": 20.0, "cut": True},
              {"packing": "0.25 GPU MPS", "mps": True, "wall_s": 30.0, "cut": False},
              {"packing": "0.03 GPU", "skipped": "10 s left"}]
    assert best_level(levels)["packing"] == "0.25 GPU"
    assert best_level(levels[-2:]) is None


def test_the_mps_level_is_skipped_saying_why_where_mps_cannot_start(tmp_path, monkeypatch):
    sweep = load_script(BENCHMARKS / "sweep.py", "bench_sweep")
    monkeypatch.setenv("PATH", str(tmp_path))
    level = sweep.under_mps("0.25 GPU", ["--gpus-per-trial", "0.25"], [], None, ["--local"])
    assert level == {"packing": "0.25 GPU MPS", "mps": True, "skipped": "no nvidia-cuda-mps-control here"}
    control = tmp_path / "nvidia-cuda-mps-control"
    control.write_text("#!/bin/sh\necho 'An instance of this daemon is already running' >&2\nexit 1\n")
    control.chmod(0o755)
    level = sweep.under_mps("0.25 GPU", ["--gpus-per-trial", "0.25"], [], None, ["--local"])
    assert level["skipped"] == "MPS did not start: An instance of this daemon is already running"


def test_a_step_past_its_limit_is_stopped_with_a_process_it_started_in_another_session(tmp_path):
    gpu_run = load_gpu_run()
    child = tmp_path / "child.pid"
    # The step starts a child in a session of its own (as a sweep starts Ray), then outlives its limit.
    step = ("import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],"
            f" start_new_session=True); open({str(child)!r}, 'w').write(str(p.pid)); time.sleep(600)")
    done = gpu_run.run_step([sys.executable, "-c", step], limit=5)
    assert done["stopped"] and done["returncode"] is None
    assert child.exists() and gpu_run.marked(done["marker"]) == []
    proc = Path(f"/proc/{child.read_text()}")
    assert not proc.exists() or "zombie" in (proc / "status").read_text()


def test_a_step_within_its_limit_keeps_its_exit_code():
    done = load_gpu_run().run_step([sys.executable, "-c", "raise SystemExit(3)"], limit=120)
    assert done == {**done, "returncode": 3, "stopped": False}


def test_the_projection_scales_the_cells_by_their_recipes_and_divides_by_the_packing_gain():
    gpu_run = load_gpu_run()
    rates = {(arch, shape): 10_000.0 for arch in ("lenet5", "vgg", "resnet20v1", "resnet20v2", "squeezenet")
             for shape in ("1x28x28", "3x32x32")}
    alone, packed = gpu_run.projection(rates, gain=None), gpu_run.projection(rates, gain=4.0)
    assert alone["cells_not_projected"] == [] and alone["serial_hours"] > 0
    assert packed["one_seed_hours"] == pytest.approx(alone["one_seed_hours"] / 4, rel=0.01)
    assert packed["three_seeds_hours"] == pytest.approx(3 * packed["one_seed_hours"], rel=0.01)
    del rates[("vgg", "3x32x32")]
    assert gpu_run.projection(rates, gain=None)["cells_not_projected"] == ["vgg/cifar10", "vgg/svhn"]


def test_pack_refuses_a_kit_over_its_limit_and_keeps_the_old_one(tmp_path):
    kit = tmp_path / "kit"
    kit.mkdir()
    (kit / "old").write_text("the kit before")
    done = pack(kit, "--limit-mib", "1", "--data", str(REAL))
    if "holds no" in done.stderr or "missing" in done.stderr:
        pytest.skip(f"no real MNIST: {done.stderr.strip()}")
    assert done.returncode == 1
    assert done.stderr.startswith("error: the kit is ") and done.stderr.strip().endswith("over --limit-mib 1")
    assert len(done.stderr.strip().splitlines()) == 1
    assert [p.name for p in kit.iterdir()] == ["old"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".kit-")]


@pytest.mark.ray
@pytest.mark.skipif(not MNIST.is_dir(), reason="the dry run trains on real MNIST and Fashion-MNIST: set "
                                               "ARCHBENCH_REAL_DATA (e.g. ARCHBENCH_REAL_DATA=../shared/data)")
def test_gpu_dry_run_installs_the_kit_runs_every_step_and_stops_one_past_its_limit(tmp_path):
    kit = tmp_path / "kit"
    packed = pack(kit, "--data", str(REAL), "--limit-mib", "100")
    assert packed.returncode == 0, packed.stderr
    assert sorted(p.name for p in (kit / "data").iterdir()) == ["fashion_mnist", "mnist"]
    python = gpu_image_python(kit)
    out, work = tmp_path / "out", tmp_path / "work"
    # Ray's workers at the driver's priority (not its default nice 15), so that the other tests' processes
    # beside this one cannot starve the first accuracy round past the time that lets a second seed in.
    env = {**{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")},
           "PYTHON": str(python), "OUT": str(out), "ARCHBENCH_GPU_WORK": str(work), "RAY_worker_niceness": "0"}
    # Packing cannot start Ray and train within 6 s: it is stopped, and the accuracy table still runs.
    done = run_script(["bash", RUN_SH, "--dry", "--kit", kit, "--limits", "packing=6", "--max-seeds", "2"],
                      timeout=900, env=env)
    assert done.returncode == 0, done.stdout[-5000:]
    assert sorted(p.name for p in out.iterdir()) == ["archbench-gpu.jsonl", "archbench-gpu.log"]
    lines = [json.loads(line) for line in (out / "archbench-gpu.jsonl").read_text().splitlines()]
    results = {line["step"]: line for line in lines if "item" not in line and not line.get("started")}
    checks = results["preflight"]["checks"]
    assert checks["torch bf16 matmul on the GPU"] == checks["ray sees one GPU"] == "skipped (no GPU)"
    assert all(state.startswith("ok") for name, state in checks.items() if name.startswith("import"))
    assert checks["ray task on a CPU"] == "ok: cpu"
    facts = results["preflight"]["facts"]
    assert facts["kit"].startswith("packed ")   # the manifest was read, the files compared
    assert facts["python"].startswith(IMAGE_PYTHON + ".") and facts["ray"] == json.loads(
        (kit / "manifest.json").read_text())["ray"]   # the kit's cp312 Ray, under the image's CPython
    assert results["packing stopped"]["stopped"] and load_gpu_run().marked(results["packing stopped"]["marker"]) == []
    cells = [line["item"] for line in lines if line["step"] == "accuracy" and "item" in line]
    assert sorted((c["dataset"], c["seed"]) for c in cells) == [("fashion_mnist", 0), ("fashion_mnist", 1),
                                                                ("mnist", 0), ("mnist", 1)]
    assert all(c["arch"] == "lenet5" and c["status"] == "ok" and c["test_acc"] > 0.5 for c in cells)  # chance: 0.1
    # A second seed fitted in the step's time; the round that added it trained only that seed.
    assert [r["seeds"] for r in results["accuracy"]["rounds"]] == [1, 2]
    assert results["compile"]["skipped"].startswith("a dry run does not compile")
    assert "Q1. Which architecture works best" in results["accuracy"]["summarize"]
    assert [f["arch"] for line in lines if line["step"] in ("throughput", "shapes") and "item" in line
            for f in [line["item"]]] == ["lenet5", "lenet5"]
    log = (out / "archbench-gpu.log").read_text()
    assert "plan (" in log and "STOPPED packing" in log and "kit installed into" in log
    assert "projection, not a measurement [dry run: not a GPU figure]" in log and "the study: 47.4 h" in log
