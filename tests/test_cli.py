"""The CLI's commands and its handling of bad input: one line on stderr, exit code 2, nothing written."""

import pytest
from helpers import archbench, make_row
from helpers import run_in_process as run

import archs
from orchestrator.results import ResultStore


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def test_archs_lists_architectures_and_datasets(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "archs")
    assert code == 0
    for name in ("lenet5", "vgg", "resnet20v1", "resnet20v2", "squeezenet", "cifar10", "svhn",
                 "synthetic_mnist"):
        assert name in out


def test_params_prints_the_table(monkeypatch, capsys, tmp_path):
    out_file = tmp_path / "params.csv"
    code, out, _ = run(monkeypatch, capsys, "params", "--format", "csv", "--out", str(out_file))
    assert code == 0
    assert "150,742" in out and "204,098" in out and "274,442" in out and "574,090" in out
    assert out_file.read_text() in out + "\n"
    assert len(out_file.read_text().strip().splitlines()) == 1 + 3 * len(archs.names())


def test_params_markdown(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "params", "--format", "markdown")
    assert code == 0 and "| lenet5" in out and "1,505,610" in out


BAD_SWEEPS = [
    (["--archs", "lenet5,alexnet"],
     ["--archs has unknown 'alexnet'", "lenet5, vgg, resnet20v1, resnet20v2, squeezenet"]),
    (["--datasets", "imagenet"], ["--datasets has unknown 'imagenet'", "cifar10"]),
    (["--train-limit", "40", "--batch-size", "64"], ["--train-limit 40 leaves 36 training images", "batch size 64"]),
    (["--max-failures", "-1"], ["--max-failures", "-1"]),
    (["--archs", ","], ["--archs is empty"]),
    (["--epochs", "-1"], ["--epochs", "-1"]),
    (["--epochs", "abc"], ["--epochs", "abc"]),
    (["--seeds", "0"], ["--seeds"]),
    (["--gpus-per-trial", "1.5"], ["--gpus-per-trial", "1.5"]),
    (["--gpus-per-trial", "-0.25"], ["--gpus-per-trial", "-0.25"]),
    (["--cpus-per-trial", "0"], ["--cpus-per-trial"]),
    (["--lr", "0"], ["--lr"]),
    (["--lr", "nan"], ["--lr", "nan"]),
    (["--lr", "inf"], ["--lr", "inf"]),
    (["--cpus-per-trial", "nan"], ["--cpus-per-trial", "nan"]),
    (["--gpus-per-trial", "nan"], ["--gpus-per-trial", "nan"]),
    (["--val-split", "1"], ["--val-split", "1"]),
    (["--val-split", "-0.1"], ["--val-split", "-0.1"]),
    (["--val-split", "nan"], ["--val-split", "nan"]),
    (["--local", "--address", "auto"], ["--local", "--address"]),
]


@pytest.mark.parametrize("args,needles", BAD_SWEEPS)
def test_bad_sweep_options(monkeypatch, capsys, tmp_path, args, needles):
    results = tmp_path / "results"
    code, _, err = run(monkeypatch, capsys, "sweep", "--local", "--results", str(results), *args)
    assert_one_line_error(code, err, *needles)
    assert not results.exists()


@pytest.mark.parametrize("args,ray_address,joins", [
    ([], None, None),                                    # Ray's convention: no address anywhere, start locally
    ([], "127.0.0.1:6379", "127.0.0.1:6379"),            # RAY_ADDRESS is joined
    (["--local"], "127.0.0.1:6379", None),               # --local wins over RAY_ADDRESS
    (["--address", "auto"], None, "auto"),
])
def test_where_the_sweep_runs(monkeypatch, capsys, tmp_path, args, ray_address, joins):
    from orchestrator import sweep as sweeps

    calls = []
    monkeypatch.setattr(sweeps, "run_sweep", lambda plan, store, site, **k: calls.append(site) or sweeps.SweepOutcome(
        planned=0, skipped=0, statuses=sweeps.Counter(), failures=[]))
    if ray_address:
        monkeypatch.setenv("RAY_ADDRESS", ray_address)
    else:
        monkeypatch.delenv("RAY_ADDRESS", raising=False)
    code, out, err = run(monkeypatch, capsys, "sweep", *args, "--datasets", "synthetic_mnist",
                         "--results", str(tmp_path / "r"))
    assert code == 0, err
    assert (calls[0].local, calls[0].address) == (joins is None, joins)
    first = out.splitlines()[0]
    expected = "Ray: starting a local instance" if joins is None else f"Ray: joining the cluster at {joins}"
    assert first.startswith(expected)


def test_unreachable_address(monkeypatch, capsys, tmp_path):
    results = tmp_path / "results"
    code, _, err = run(monkeypatch, capsys, "sweep", "--address", "127.0.0.1:1", "--datasets", "synthetic_mnist",
                       "--results", str(results))
    assert_one_line_error(code, err, "127.0.0.1:1")
    assert not results.exists()


@pytest.mark.parametrize("address", ["127.0.0.1:abc", "127.0.0.1:99999", "[::1"])
def test_malformed_address(monkeypatch, capsys, tmp_path, address):
    results = tmp_path / "results"
    code, _, err = run(monkeypatch, capsys, "sweep", "--address", address, "--datasets", "synthetic_mnist",
                       "--results", str(results))
    assert_one_line_error(code, err, f"bad --address {address!r}", "auto, HOST:PORT")
    assert not results.exists()


def test_relative_data_dir_reaches_the_trials_absolute(monkeypatch, capsys, tmp_path):
    # Ray Tune runs each trial in a working directory of its own, where a relative path means another folder.
    from orchestrator import sweep as sweeps

    plans = []
    monkeypatch.setattr(sweeps, "run_sweep", lambda plan, *a, **k: plans.append(plan) or sweeps.SweepOutcome(
        planned=0, skipped=0, statuses=sweeps.Counter(), failures=[]))
    monkeypatch.chdir(tmp_path)
    code, _, err = run(monkeypatch, capsys, "sweep", "--local", "--datasets", "synthetic_mnist", "--data-dir",
                       "data", "--results", "r")
    assert code == 0, err
    assert plans[0].data_dir == str(tmp_path / "data")


def test_a_sweep_given_no_options_asks_for_the_plans_defaults(monkeypatch, capsys, tmp_path):
    from orchestrator import data
    from orchestrator import sweep as sweeps
    from orchestrator.plan import SweepPlan

    plans = []
    monkeypatch.setattr(sweeps, "run_sweep", lambda plan, *a, **k: plans.append(plan) or sweeps.SweepOutcome(
        planned=0, skipped=0, statuses=sweeps.Counter(), failures=[]))
    code, _, err = run(monkeypatch, capsys, "sweep", "--local", "--results", str(tmp_path / "r"))
    assert code == 0, err
    assert plans == [SweepPlan(name="study", archs=tuple(archs.names()), datasets=tuple(data.names()),
                               plugins=plans[0].plugins)]
    assert plans[0].download


def test_data_root_that_cannot_be_created(monkeypatch, capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for args in (["data", "fetch", "mnist"],
                 ["sweep", "--local", "--datasets", "mnist", "--results", str(tmp_path / "r")]):
        code, _, err = run(monkeypatch, capsys, *args, "--data-dir", str(blocker / "data"))
        assert_one_line_error(code, err, "cannot write mnist into the data root", str(blocker / "data"))
    assert not (tmp_path / "r").exists()


def test_train_limit_below_the_batch_size(monkeypatch, capsys, tmp_path):
    code, _, err = run(monkeypatch, capsys, "sweep", "--local", "--archs", "lenet5", "--train-limit", "64",
                       "--results", str(tmp_path / "r"))
    assert_one_line_error(code, err, "--train-limit 64", "batch size 128")
    assert not (tmp_path / "r").exists()


def test_gpus_asked_on_a_machine_without(monkeypatch, capsys, tmp_path):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    code, _, err = run(monkeypatch, capsys, "sweep", "--local", "--gpus-per-trial", "0.5", "--datasets",
                       "synthetic_mnist", "--archs", "lenet5", "--results", str(tmp_path / "r"))
    assert_one_line_error(code, err, "--gpus-per-trial 0.5", "use 0")
    assert not ResultStore(tmp_path / "r").has_results()


def test_results_dir_is_a_file(monkeypatch, capsys, tmp_path):
    target = tmp_path / "results"
    target.write_text("not a dir")
    code, _, err = run(monkeypatch, capsys, "sweep", "--local", "--results", str(target))
    assert_one_line_error(code, err, str(target), "is a file")
    assert target.read_text() == "not a dir"


def test_corrupt_parquet_is_left_in_place(monkeypatch, capsys, tmp_path):
    (tmp_path / "trials.parquet").write_bytes(b"garbage")
    code, _, err = run(monkeypatch, capsys, "sweep", "--local", "--results", str(tmp_path))
    assert_one_line_error(code, err, "trials.parquet", "not a readable Parquet file")
    assert (tmp_path / "trials.parquet").read_bytes() == b"garbage"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trials.parquet"]


def test_foreign_parquet_is_left_in_place(monkeypatch, capsys, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"x": [1]}), tmp_path / "history.parquet")
    before = (tmp_path / "history.parquet").read_bytes()
    code, _, err = run(monkeypatch, capsys, "sweep", "--local", "--results", str(tmp_path))
    assert_one_line_error(code, err, "history.parquet", "not an archbench table")
    assert (tmp_path / "history.parquet").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.parquet"]


def test_dataset_missing_offline(monkeypatch, capsys, tmp_path):
    results = tmp_path / "results"
    code, _, err = run(monkeypatch, capsys, "sweep", "--local", "--datasets", "cifar10", "--no-download",
                       "--data-dir", str(tmp_path / "data"), "--results", str(results))
    assert_one_line_error(code, err, "cifar10", str(tmp_path / "data"), "archbench data fetch")
    assert not results.exists() and not (tmp_path / "data").exists()


@pytest.mark.parametrize("command", ["params", "summarize"])
def test_an_unknown_format_is_one_line_naming_the_valid_ones(monkeypatch, capsys, command):
    code, _, err = run(monkeypatch, capsys, command, "--format", "html")
    assert_one_line_error(code, err, "'html'", "'table', 'markdown', 'csv', 'latex'")


def test_summarize_without_results(monkeypatch, capsys, tmp_path):
    code, _, err = run(monkeypatch, capsys, "summarize", "--results", str(tmp_path))
    assert_one_line_error(code, err, str(tmp_path), "archbench sweep")


@pytest.mark.parametrize("extra,code_expected", [([], 0), (["--epochs", "1"], 2)])
def test_a_finished_or_refused_sweep_fetches_no_data(monkeypatch, capsys, tmp_path, extra, code_expected):
    from orchestrator.results import ResultStore
    from orchestrator.trial import Budget

    ResultStore(tmp_path / "r").put_trial(make_row(sweep="study", budget=Budget()))
    code, out, err = run(monkeypatch, capsys, "sweep", "--local", "--archs", "lenet5", "--datasets", "mnist",
                         "--data-dir", str(tmp_path / "data"), "--results", str(tmp_path / "r"), *extra)
    assert code == code_expected, err
    assert ("1 of 1 cells" in out) if code == 0 else ("already has lenet5/mnist/seed0" in err)
    assert not (tmp_path / "data").exists()


PLUGINS = __import__("pathlib").Path(__file__).parent / "plugins"


@pytest.mark.parametrize("plugin,arch,needles", [
    ("broken_import.py", None, ["broken_import.py", "ModuleNotFoundError", "archbench_no_such_module"]),
    ("duplicate.py", None, ["duplicate.py", "'lenet5' is already registered", "archs.lenet"]),
    ("bad_builder.py", "no_build", ["bad_builder.py", "'no_build' on synthetic_mnist", "builder raised ValueError"]),
    ("bad_shape.py", "one_logit",
     ["bad_shape.py", "'one_logit'", "returned (2, 1)", "expected logits of shape (2, 10)"]),
    ("missing.py", None, ["missing.py", "no such file"]),
    ("archbench_no_such_package.models", None, ["archbench_no_such_package.models", "ModuleNotFoundError"]),
])
def test_a_bad_plugin_is_one_line_before_ray_starts(tmp_path, plugin, arch, needles):
    # A process of its own: a plugin registers into the process's registry for good.
    path = str(PLUGINS / plugin) if plugin.endswith(".py") else plugin
    proc = archbench("sweep", "--local", "--plugin", path, "--datasets", "synthetic_mnist",
                     *(["--archs", arch] if arch else []), "--results", str(tmp_path / "r"))
    assert_one_line_error(proc.returncode, proc.stderr, "plugin", *needles)
    assert "Ray:" not in proc.stdout and not (tmp_path / "r").exists()


def test_params_checks_and_counts_a_plugin_architecture():
    proc = archbench("params", "--plugin", str(PLUGINS / "faults.py"), "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    assert "tiny_cnn" in proc.stdout and "150,742" in proc.stdout
    bad = archbench("params", "--plugin", str(PLUGINS / "bad_builder.py"))
    assert_one_line_error(bad.returncode, bad.stderr, "bad_builder.py", "'no_build'", "builder raised ValueError")


def test_a_plugin_architecture_is_listed():
    proc = archbench("archs", "--plugin", str(PLUGINS / "faults.py"))
    assert proc.returncode == 0, proc.stderr
    listed = " ".join(proc.stdout.split()).split("datasets:")[0]
    assert listed.startswith("architectures: lenet5, vgg,") and "tiny_cnn" in listed


def test_the_example_plugins_load_and_register_what_they_say():
    examples = PLUGINS.parents[1] / "examples" / "plugins"
    proc = archbench("archs", "--plugin", str(examples / "resnet_tricks.py"),
                     "--plugin", str(examples / "fashion_mnist_crop_flip.py"),
                     "--plugin", str(examples / "resnet_augment.py"))
    assert proc.returncode == 0, proc.stderr
    architectures, datasets = " ".join(proc.stdout.split()).split("datasets:")
    assert ("resnet20v1_zero_init, resnet20v1_label_smoothing, resnet20v2_zero_init, "
            "resnet20v2_label_smoothing") in architectures
    assert ("resnet20v1_crop_flip, resnet20v2_crop_flip, resnet20v1_unaugmented, resnet20v2_unaugmented"
            in architectures)
    assert "fashion_mnist_crop_flip" in datasets


def test_an_installed_package_plugin_loads_through_its_entry_point(tmp_path):
    # A package installed with `[project.entry-points."archbench.plugins"]`, as importlib.metadata sees it.
    dist = tmp_path / "mymodels-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mymodels\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[archbench.plugins]\nmine = mymodels_plugin\n")
    (tmp_path / "mymodels_plugin.py").write_text((PLUGINS / "faults.py").read_text())
    proc = archbench("archs", env={"PYTHONPATH": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert "tiny_cnn" in " ".join(proc.stdout.split()).split("datasets:")[0]
