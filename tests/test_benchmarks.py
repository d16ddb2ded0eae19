"""The benchmarks stay runnable: each ``--quick`` mode, and the GPU run's dry run on the slimmed Ray kit.

They check that each script runs through archbench's public interfaces and records what it
measured, never how fast anything was (speed goes to BENCHMARKS.md). ``throughput.py --quick`` and
``sweep.py --quick`` run inside the GPU dry run (``benchmarks/gpu/run.py --dry`` calls them).

The kit tests need the package registry (``benchmarks/gpu/pack`` downloads Ray's wheel once into
``benchmarks/gpu/build/``) and, for the dry run, real MNIST where ``ARCHBENCH_REAL_DATA`` points
(as tests/test_real_data.py); they are skipped, saying why, where either is missing.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest
from packaging.utils import parse_wheel_filename

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"
PACK, RUN_SH = BENCHMARKS / "gpu" / "pack", BENCHMARKS / "gpu" / "run.sh"
REAL_DATA = os.environ.get("ARCHBENCH_REAL_DATA", "")
MNIST = Path(REAL_DATA) / "mnist"
THIS_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def run(command: list, timeout: float, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in command], cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          **kwargs)


def last_line(path: Path) -> dict:
    return json.loads(path.read_text().splitlines()[-1])


def pack(kit: Path, *flags: str) -> subprocess.CompletedProcess:
    done = run([sys.executable, PACK, "--python-version", THIS_PYTHON, "--kit", kit, *flags], timeout=600)
    if "pip cannot download" in done.stderr:
        pytest.skip(f"no package registry: {done.stderr.strip()}")
    return done


def gpu_image_python(folder: Path, kit: Path) -> tuple[Path, Path]:
    """(a Python, a PYTHONPATH folder) that see this environment's packages but not Ray, archbench or the kit's.

    So the GPU image is imitated: what the kit brings comes from the kit alone, Ray's workers included.
    """
    venv.create(folder / "venv", with_pip=False)
    left_out = {"ray", "archbench", *(parse_wheel_filename(w.name)[0] for w in (kit / "wheels").glob("*.whl"))}
    hidden = {Path(str(f)).parts[0] for name in left_out for f in importlib.metadata.distribution(name).files}
    deps = folder / "deps"
    deps.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if entry.name not in hidden:
            (deps / entry.name).symlink_to(entry)
    return folder / "venv" / "bin" / "python", deps


def load_gpu_run():
    """benchmarks/gpu/run.py as a module (it is a script, not a package module)."""
    spec = importlib.util.spec_from_file_location("gpu_run", BENCHMARKS / "gpu" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_unmet_requirements_name_the_absent_and_the_excluded_version_and_skip_other_extras(monkeypatch):
    gpu_run = load_gpu_run()
    requires = {"ray": ["numpy>=1.20", "absent-pkg; extra == 'tune'", "other-extra-pkg; extra == 'serve'",
                        "old-python-pkg; python_version < '3.0'"],
                "archbench": ["typer>=0.29", "ray[tune]>=2.44"]}
    installed = {"numpy": "2.0.0", "typer": "0.15.1", "ray": "2.60.0"}
    monkeypatch.setattr(gpu_run.importlib.metadata, "requires", requires.__getitem__)
    monkeypatch.setattr(gpu_run, "_version", installed.get)
    assert gpu_run.unmet_requirements() == ["absent-pkg", "typer 0.15.1, archbench wants >=0.29"]


def test_data_loader_quick_times_both_loaders_and_the_decoded_load(tmp_path):
    out = tmp_path / "data_loader.jsonl"
    done = run([sys.executable, BENCHMARKS / "data_loader.py", "--quick", "--results", out], timeout=300)
    assert done.returncode == 0, done.stderr
    figures = last_line(out)["figures"]
    assert figures["train_images"] == 2000
    assert set(figures["batches_per_s"]) == {"DeviceLoader", "DataLoader, 0 workers"}
    assert all(rate > 0 for rate in figures["batches_per_s"].values())
    assert figures["first_load_s"] >= 0 and figures["cached_load_s"] >= 0


@pytest.mark.ray
def test_overhead_quick_runs_the_same_trials_in_process_and_through_the_cli(tmp_path):
    out = tmp_path / "overhead.jsonl"
    done = run([sys.executable, BENCHMARKS / "overhead.py", "--quick", "--results", out], timeout=600)
    assert done.returncode == 0, done.stderr
    f = last_line(out)["figures"]
    assert f["trials"] == 3 and f["stored_rows"] == 3
    assert f["overhead_s"] == pytest.approx(f["sweep_wall_s"] - f["in_process_trial_wall_sum_s"], abs=0.002)
    assert f["phases_s"]["command_start_to_first_trial"] > 0


def test_pack_refuses_a_kit_over_its_limit_and_keeps_the_old_one(tmp_path):
    kit = tmp_path / "kit"
    kit.mkdir()
    (kit / "old").write_text("the kit before")
    done = pack(kit, "--limit-mib", "1", "--mnist", str(MNIST if MNIST.is_dir() else REPO.parent / "shared/data/mnist"))
    if "missing" in done.stderr:
        pytest.skip(f"no real MNIST: {done.stderr.strip()}")
    assert done.returncode == 1
    assert done.stderr.startswith("error: the kit is ") and len(done.stderr.strip().splitlines()) == 1
    assert [p.name for p in kit.iterdir()] == ["old"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".kit-")]


@pytest.mark.ray
@pytest.mark.skipif(not MNIST.is_dir(), reason="the dry run trains on real MNIST: set ARCHBENCH_REAL_DATA "
                                               "(e.g. ARCHBENCH_REAL_DATA=../shared/data)")
def test_gpu_dry_run_installs_the_slim_kit_and_runs_every_step(tmp_path):
    kit = tmp_path / "kit"
    packed = pack(kit, "--mnist", str(MNIST))
    assert packed.returncode == 0, packed.stderr
    (ray_wheel,) = (kit / "wheels").glob("ray-*.whl")
    with zipfile.ZipFile(ray_wheel) as wheel:
        names = wheel.namelist()
    assert "ray/_raylet.so" in names and not [n for n in names if n.startswith("ray/jars/")]

    python, deps = gpu_image_python(tmp_path / "image", kit)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHON": str(python), "PYTHONPATH": str(deps), "OUT": str(out)}
    done = run(["bash", RUN_SH, "--dry", "--kit", kit], timeout=900, env=env)
    assert done.returncode == 0, done.stdout[-5000:]
    assert sorted(p.name for p in out.iterdir()) == ["archbench-gpu.jsonl", "archbench-gpu.log"]
    lines = {line["step"]: line for line in map(json.loads, (out / "archbench-gpu.jsonl").read_text().splitlines())}
    assert set(lines) == {"facts", "throughput", "packing", "accuracy", "compile", "summary"}
    assert lines["facts"]["unmet_requirements"] == []
    assert lines["facts"]["kit"].startswith("packed ")       # the manifest was read and the files compared
    assert [f["arch"] for f in lines["throughput"]["figures"]] == ["lenet5"]
    assert sum(lines["packing"]["levels"][0]["statuses"].values()) == 1
    (row,) = lines["accuracy"]["rows"]
    assert row["arch"] == "lenet5" and row["status"] == "ok" and row["test_acc"] > 0.5    # chance: 0.1
    assert "Q1. Which architecture works best" in lines["accuracy"]["summarize"]
    assert lines["compile"]["skipped"].startswith("not in a dry run")
    log = (out / "archbench-gpu.log").read_text()
    assert "kit installed into" in log and "recommended default --gpus-per-trial" in log


@pytest.mark.ray
def test_heartbeat_quick_measures_its_share_of_an_epoch(tmp_path):
    done = run([sys.executable, BENCHMARKS / "heartbeat.py", "--quick"], timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("LeNet-5, 4,096 images: epoch ") and last.endswith("% of the epoch"), last
