"""The sweep: end to end through the real CLI and a real local Ray (marked ``ray``), and its driver-side parts alone."""

import io
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from helpers import TINY, archbench

from orchestrator.results import HISTORY_SCHEMA, TRIAL_SCHEMA, ResultStore

pytestmark = pytest.mark.slow   # most of its tests run sweeps through Ray


def _stored_bytes(results: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for folder in ("trials", "history") for p in (results / folder).iterdir()}


GRID = ["--archs", "lenet5,resnet20v1", "--datasets", "synthetic_mnist,synthetic_cifar10"]


@pytest.fixture(scope="module")
def first_sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    home = tmp_path_factory.mktemp("home")
    proc = archbench("sweep", "--local", *GRID, *TINY, "--results", str(root / "results"), "--name", "t",
                     env={"HOME": str(home)})
    return root / "results", home, proc


@pytest.mark.ray
def test_sweep_writes_one_ok_row_per_cell(first_sweep):
    results, _, proc = first_sweep
    assert proc.returncode == 0, proc.stderr[-3000:]
    trials = ResultStore(results).trials()
    assert len(trials) == 4
    assert set(zip(trials["arch"], trials["dataset"])) == {
        (a, d) for a in ("lenet5", "resnet20v1") for d in ("synthetic_mnist", "synthetic_cifar10")}
    assert (trials["status"] == "ok").all()
    assert trials["synthetic"].all()
    assert (trials["epochs_run"] == 2).all() and (trials["batch_size"] == 32).all()
    assert (trials["train_images"] == 461).all() and (trials["val_images"] == 51).all()
    assert (trials["test_images"] == 256).all() and (trials["val_split"] == 0.1).all()
    assert (trials["node_ip"] == "127.0.0.1").all()
    assert (trials["train_seconds"] > 0).all() and (trials["wall_seconds"] >= trials["train_seconds"]).all()
    assert (trials["device"] == "cpu").all() and trials["peak_mem_bytes"].isna().all()
    assert (trials["attempts"] == 1).all()
    counts = {(a, d): (t, tr, n) for a, d, t, tr, n in zip(trials["arch"], trials["dataset"], trials["params_total"],
                                                            trials["params_trainable"], trials["params_non_trainable"])}
    assert counts == {("lenet5", "synthetic_mnist"): (150_742, 150_742, 0),
                      ("lenet5", "synthetic_cifar10"): (204_098, 204_098, 0),
                      ("resnet20v1", "synthetic_mnist"): (274_154, 272_778, 1_376),
                      ("resnet20v1", "synthetic_cifar10"): (274_442, 273_066, 1_376)}


@pytest.mark.ray
def test_sweep_accuracy_beats_chance(first_sweep):
    trials = ResultStore(first_sweep[0]).trials()
    assert (trials["test_acc"] > 0.3).all(), trials[["arch", "dataset", "test_acc"]]
    assert trials["best_test_acc"].isna().all(), "the test set must not choose an epoch"
    assert (trials["val_acc"] > 0.3).all() and trials["best_epoch"].isin([1, 2]).all()


@pytest.mark.ray
def test_sweep_files_have_the_documented_schema(first_sweep):
    results = first_sweep[0]
    assert pq.read_table(results / "trials").schema.remove_metadata().equals(TRIAL_SCHEMA)
    assert pq.read_table(results / "history").schema.remove_metadata().equals(HISTORY_SCHEMA)
    history = ResultStore(results).history()
    assert len(history) == 8 and sorted(history["epoch"].unique()) == [1, 2]


@pytest.mark.ray
def test_sweep_prints_tables_and_keeps_home_clean(first_sweep):
    _, home, proc = first_sweep
    assert "Table 1" in proc.stdout and "synthetic" in proc.stdout
    assert list(home.iterdir()) == [], f"the sweep wrote into $HOME: {list(home.iterdir())}"
    # Short epochs, each with its checkpoint: Tune's warning about frequent experiment snapshots stays off.
    assert "snapshotting" not in proc.stdout + proc.stderr


@pytest.mark.ray
def test_rerun_skips_finished_cells(first_sweep):
    results = first_sweep[0]
    before = _stored_bytes(results)
    proc = archbench("sweep", "--local", *GRID, *TINY, "--results", str(results), "--name", "t")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "4 of 4 cells" in proc.stdout
    assert _stored_bytes(results) == before


@pytest.mark.ray
@pytest.mark.parametrize("change,asked", [(["--epochs", "3"], "epochs 3:"),
                                          (["--test-limit", "128"], "test images 128:"),
                                          (["--val-split", "0.2"], "val split 0.2, train images 410, val images 102:")])
def test_rerun_with_another_budget_is_refused(first_sweep, change, asked):
    results = first_sweep[0]
    before = _stored_bytes(results)
    for force in ([], ["--force"]):   # --force trains again; it never mixes setups in one sweep
        proc = archbench("sweep", "--local", *GRID, *TINY, *change, *force, "--results", str(results), "--name", "t")
        assert proc.returncode == 2
        assert proc.stderr.strip().startswith("error: sweep 't' already has") and "another --name" in proc.stderr
        assert asked in proc.stderr.split("this run asks for")[-1], proc.stderr
        assert _stored_bytes(results) == before


FAULTS = str(Path(__file__).parent / "plugins" / "faults.py")


@pytest.mark.ray
def test_failed_diverged_collapsed_and_killed_trials_through_a_plugin(tmp_path):
    # The faulty architectures come from a plugin, loaded the way a user's is; a working one runs beside them.
    marker = tmp_path / "killed-once"
    proc = archbench(
        "sweep", "--local", "--plugin", FAULTS,
        "--archs", "fault_raise,fault_nan,fault_collapse,fault_kill_once,tiny_cnn",
        "--datasets", "synthetic_mnist", *TINY, "--results", str(tmp_path / "results"), "--name", "faults",
        "--max-failures", "1", env={"ARCHBENCH_TEST_KILL_MARKER": str(marker)})
    assert proc.returncode == 1, proc.stderr[-3000:]
    last_line = proc.stderr.strip().splitlines()[-1]
    assert last_line.startswith("error: 1 trial(s) failed: fault_raise/synthetic_mnist/seed0")
    trials = ResultStore(tmp_path / "results").trials().set_index("arch")
    assert len(trials) == 5
    failed = trials.loc["fault_raise"]
    assert failed["status"] == "failed" and failed["attempts"] == 2
    assert failed["error"] == "RuntimeError: injected fault: the trial raised on purpose"
    assert pd.isna(failed["test_acc"]) and pd.isna(failed["params_total"])
    assert failed["epochs"] == 2 and failed["batch_size"] == 32 and failed["optimizer"] == "adamw"
    assert failed["arch_module"].startswith("archbench_plugin_faults")
    diverged = trials.loc["fault_nan"]
    assert diverged["status"] == "diverged" and pd.isna(diverged["test_acc"])
    assert diverged["epochs_run"] == 1 and "nan" in diverged["error"]
    collapsed = trials.loc["fault_collapse"]
    assert collapsed["status"] == "collapsed" and pd.isna(collapsed["test_acc"])
    assert max(collapsed["pred_histogram"]) == 256
    killed = trials.loc["fault_kill_once"]
    assert marker.exists(), "the worker was never killed"
    assert killed["status"] == "ok" and killed["attempts"] == 2 and killed["test_acc"] > 0.3
    assert trials.loc["tiny_cnn", "status"] == "ok" and trials.loc["tiny_cnn", "params_total"] > 0

    summary = archbench("summarize", "--results", str(tmp_path / "results"), "--vs-study")
    assert summary.returncode == 0, summary.stderr
    assert "tiny_cnn" in summary.stdout and "collapsed" in summary.stdout

    # The same command again: a collapsed or diverged seed is its result, only the failed one trains again.
    command = ["sweep", "--local", "--plugin", FAULTS, "--archs", "fault_nan,fault_collapse,fault_raise",
               "--datasets", "synthetic_mnist", *TINY, "--results", str(tmp_path / "results"), "--name", "faults",
               "--max-failures", "0"]
    again = archbench(*command)
    assert "2 of 3 cells" in again.stdout, again.stdout[-2000:]
    rows = ResultStore(tmp_path / "results").trials()
    assert sorted(zip(rows["arch"], rows["attempt"])) == [
        ("fault_collapse", 1), ("fault_kill_once", 1), ("fault_nan", 1), ("fault_raise", 1), ("fault_raise", 2),
        ("tiny_cnn", 1)]
    # --force trains them again, and every earlier attempt stays on record.
    forced = archbench(*(arg.replace("fault_nan,fault_collapse,fault_raise", "fault_collapse") for arg in command),
                       "--force")
    assert forced.returncode == 0, forced.stderr[-2000:]
    collapsed = ResultStore(tmp_path / "results").trials().query("arch == 'fault_collapse'")
    assert list(collapsed.sort_values("attempt")["status"]) == ["collapsed", "collapsed"]


@pytest.mark.ray
def test_summarize_the_sweep(first_sweep, tmp_path):
    results = first_sweep[0]
    proc = archbench("summarize", "--results", str(results), "--format", "markdown", "--vs-study",
                     "--out", str(tmp_path / "report"))
    assert proc.returncode == 0, proc.stderr
    assert "CIFAR-10 (synthetic)" in proc.stdout and "study" in proc.stdout
    report = (tmp_path / "report" / "report.md").read_text()
    assert "accuracy_heatmap.png" in report and (tmp_path / "report" / "accuracy_heatmap.png").stat().st_size > 1000


@pytest.mark.ray
def test_summarize_unknown_sweep(first_sweep):
    proc = archbench("summarize", "--results", str(first_sweep[0]), "--sweep", "nope")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: no sweep 'nope' in the results; sweeps: t"


def test_a_relative_storage_path_reaches_tune_absolute(tmp_path, monkeypatch):
    # Tune takes a URI or an absolute path; pyarrow refuses a relative one ("URI has empty scheme").
    from orchestrator.sweep import _storage_uri

    monkeypatch.chdir(tmp_path)
    assert _storage_uri("ray-state") == str(tmp_path.resolve() / "ray-state")
    assert _storage_uri("s3://bucket/runs") == "s3://bucket/runs"


def test_a_row_that_cannot_be_stored_is_reported_and_the_sweep_goes_on(tmp_path):
    from types import SimpleNamespace

    from orchestrator.progress import LineView
    from orchestrator.sweep import ResultsCallback
    from orchestrator.trial import Cell, Placement, TrialOutcome, TrialSpec

    class FullDisk(ResultStore):
        def put_trial(self, row):
            if row.setup.arch == "vgg":
                raise OSError(28, "No space left on device")
            return super().put_trial(row)

    out = io.StringIO()
    specs = {f"{arch}/mnist/seed0": TrialSpec(Cell(arch, "mnist")) for arch in ("vgg", "lenet5")}
    callback = ResultsCallback(FullDisk(tmp_path), "t", 0.0, LineView(out), specs)
    for arch in ("vgg", "lenet5"):
        trial = SimpleNamespace(trial_id=arch, config={"cell": f"{arch}/mnist/seed0"}, checkpoint=None)
        callback.on_trial_result(1, [], trial, {"outcome": TrialOutcome(status="ok", test_acc=0.9),
                                                "placement": Placement(), "device_key": "node/cpu:"})
    assert callback.unstored == ["vgg/mnist/seed0: [Errno 28] No space left on device"]
    assert callback.statuses == {"ok": 1} and list(ResultStore(tmp_path).trials()["arch"]) == ["lenet5"]
    assert "could not be stored" in out.getvalue()


def test_the_callback_counts_the_trials_that_shared_a_device(tmp_path):
    from types import SimpleNamespace

    from orchestrator.progress import LineView
    from orchestrator.sweep import ResultsCallback
    from orchestrator.trial import Cell, Placement, Progress, TrialOutcome, TrialSpec

    specs = {f"lenet5/mnist/seed{seed}": TrialSpec(Cell("lenet5", "mnist", seed)) for seed in range(3)}
    callback = ResultsCallback(ResultStore(tmp_path), "t", 0.5, LineView(io.StringIO()), specs)
    trials = {seed: SimpleNamespace(trial_id=str(seed), config={"cell": f"lenet5/mnist/seed{seed}"}, checkpoint=None)
              for seed in range(3)}
    beat = Progress(1, 2, 1, 10, 100.0, 1.0)
    callback.on_trial_result(1, [], trials[0], {"progress": beat, "device_key": "a/cuda:0"})
    callback.on_trial_result(1, [], trials[1], {"progress": beat, "device_key": "a/cuda:0"})
    callback.on_trial_result(1, [], trials[2], {"progress": beat, "device_key": "a/cuda:1"})
    for seed in (1, 0, 2):   # 1 ends first; 0 had shared its GPU with it
        callback.on_trial_result(1, [], trials[seed], {"outcome": TrialOutcome(status="ok", test_acc=0.9),
                                                       "placement": Placement(device="NVIDIA H200"),
                                                       "device_key": "a/cuda:%d" % (seed == 2)})
    stored = ResultStore(tmp_path).trials().set_index("seed")
    assert list(stored.sort_index()["trials_sharing_device"]) == [2, 2, 1]
    assert (stored["gpu_fraction"] == 0.5).all() and (stored["sweep"] == "t").all()
    assert (stored["device"] == "NVIDIA H200").all() and (stored["attempts"] == 1).all()


def test_unstored_rows_exit_1_with_one_line(monkeypatch, capsys, tmp_path):
    import sys

    from orchestrator import cli
    from orchestrator import sweep as sweeps

    outcome = sweeps.SweepOutcome(planned=2, skipped=0, statuses=sweeps.Counter(ok=1), failures=[],
                                  unstored=["vgg/mnist/seed0: [Errno 28] No space left on device"])
    monkeypatch.setattr(sweeps, "run_sweep", lambda *a, **k: outcome)
    monkeypatch.setattr(sys, "argv", ["archbench", "sweep", "--local", "--datasets", "synthetic_mnist",
                                      "--results", str(tmp_path / "r")])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert exit_info.value.code == 1
    assert last.startswith("error: ") and "could not be stored" in last and "vgg/mnist/seed0" in last


def test_trials_run_in_seed_rounds_the_longest_cells_first(tmp_path):
    from helpers import make_row

    from orchestrator.sweep import SweepPlan, cells_to_run
    from orchestrator.trial import Budget, Cell

    plan = SweepPlan(name="s", archs=("lenet5", "vgg"), datasets=("mnist", "cifar10"), seeds=2)
    store = ResultStore(tmp_path)
    store.put_trial(make_row("vgg", "cifar10", seed=0, sweep="s", budget=Budget()))
    cells, skipped = cells_to_run(plan, store)
    assert skipped == [Cell("vgg", "cifar10", 0)]
    # Epochs x training images: vgg 30 x 54,000 on MNIST, 30 x 45,000 on CIFAR-10; lenet5 20 x 45,000, 10 x 54,000.
    assert [str(c) for c in cells] == [
        "vgg/mnist/seed0", "lenet5/cifar10/seed0", "lenet5/mnist/seed0",
        "vgg/mnist/seed1", "vgg/cifar10/seed1", "lenet5/cifar10/seed1", "lenet5/mnist/seed1"]
