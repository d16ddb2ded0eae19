"""`archbench export tensorboard`: every stored epoch comes back through TensorBoard's own reader."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.util import tensor_util

from export_rows import write_results
from helpers import error_lines, run_in_process
from orchestrator.export import EPOCH_METRICS, FINAL_METRICS, FINAL_PREFIX, SETUP_COLUMNS

RUNS = {"study/lenet5/mnist/seed-0", "study/lenet5/mnist/seed-0-attempt-2", "study/vgg/synthetic_mnist/seed-1",
        "study/resnet20v1/mnist/seed-0", "study/lenet5/fashion_mnist/seed-2", "quick/squeezenet/mnist/seed-0"}


@pytest.fixture
def results(tmp_path):
    return write_results(tmp_path / "results")


def export(monkeypatch, capsys, results, logdir, *more):
    return run_in_process(monkeypatch, capsys, "export", "tensorboard", str(logdir), "--results", str(results.root),
                          *more)


def runs_in(logdir) -> set[str]:
    return set(EventMultiplexer().AddRunsFromDirectory(str(logdir)).Reload().Runs())


def scalars(accumulator: EventAccumulator, tag: str) -> dict[int, float]:
    if tag not in accumulator.Tags()["tensors"]:
        return {}
    return {event.step: float(tensor_util.make_ndarray(event.tensor_proto)) for event in accumulator.Tensors(tag)}


def session_hparams(accumulator: EventAccumulator) -> dict[str, object]:
    content = accumulator.PluginTagToContent(hparams_metadata.PLUGIN_NAME)[hparams_metadata.SESSION_START_INFO_TAG]
    hparams = hparams_metadata.parse_session_start_info_plugin_data(content).hparams
    return {name: getattr(value, value.WhichOneof("kind")) for name, value in hparams.items()}


def same(stored, exported) -> bool:
    return (math.isnan(stored) and math.isnan(exported)) or stored == exported


def test_every_epoch_row_comes_back_through_tensorboards_reader(monkeypatch, capsys, results, tmp_path):
    logdir = tmp_path / "tb"
    code, out, _ = export(monkeypatch, capsys, results, logdir)
    assert code == 0 and "6 runs" in out
    assert runs_in(logdir) == RUNS
    history = results.history()
    for row in results.trial_records("study") + results.trial_records("quick"):
        suffix = f"-attempt-{row['attempt']}" if row["attempt"] > 1 else ""
        accumulator = EventAccumulator(str(logdir / f"{row['sweep']}/{row['arch']}/{row['dataset']}/seed-{row['seed']}"
                                                     f"{suffix}")).Reload()
        epochs = history[(history["sweep"] == row["sweep"]) & (history["arch"] == row["arch"])
                         & (history["dataset"] == row["dataset"]) & (history["seed"] == row["seed"])
                         & (history["attempt"] == row["attempt"])]
        assert len(epochs) == row["epochs_run"]
        for metric in EPOCH_METRICS:
            exported = scalars(accumulator, metric)
            # An accuracy not measured (no validation split, after a divergence) is null, and not exported.
            stored = {e: v for e, v in zip(epochs["epoch"], epochs[metric])
                      if not (metric.endswith("_acc") and math.isnan(v))}
            assert exported.keys() == stored.keys(), (row["arch"], metric)
            assert all(same(stored[e], exported[e]) for e in stored), (row["arch"], metric)
        last_epoch = int(epochs["epoch"].max()) if len(epochs) else 0
        for metric in FINAL_METRICS:
            expected = {} if row[metric] is None else {last_epoch: float(row[metric])}
            assert scalars(accumulator, FINAL_PREFIX + metric) == expected, (row["arch"], metric)
        expected_hparams = {"sweep": row["sweep"], "arch": row["arch"], "dataset": row["dataset"],
                            "seed": row["seed"], "attempt": row["attempt"], "status": row["status"],
                            **{c: row[c] for c in SETUP_COLUMNS}}
        assert session_hparams(accumulator) == expected_hparams


def test_a_second_export_replaces_the_runs_and_adds_no_second_copy(monkeypatch, capsys, results, tmp_path):
    logdir = tmp_path / "tb"
    assert export(monkeypatch, capsys, results, logdir)[0] == 0
    assert export(monkeypatch, capsys, results, logdir)[0] == 0
    assert runs_in(logdir) == RUNS
    assert {p.name for p in logdir.iterdir()} == {"study", "quick"}     # no staging directory left behind
    run = logdir / "study/lenet5/mnist/seed-0"
    assert len(list(run.iterdir())) == 1
    assert sorted(scalars(EventAccumulator(str(run)).Reload(), "train_loss")) == [1, 2, 3]


def test_sweep_exports_that_sweep_only(monkeypatch, capsys, results, tmp_path):
    code, out, _ = export(monkeypatch, capsys, results, tmp_path / "tb", "--sweep", "quick")
    assert code == 0 and "1 runs" in out
    assert runs_in(tmp_path / "tb") == {"quick/squeezenet/mnist/seed-0"}


@pytest.mark.parametrize("case", ["unknown sweep", "no results", "log dir is a file"])
def test_bad_input_is_one_line_and_exit_2_writing_nothing(monkeypatch, capsys, results, tmp_path, case):
    logdir, args = tmp_path / "tb", []
    if case == "unknown sweep":
        args, expected = ["--sweep", "nope"], "unknown sweep 'nope'"
    elif case == "no results":
        results.root.rename(tmp_path / "moved")
        expected = "no results in"
    else:
        logdir.write_text("not a directory")
        expected = "is a file, not a directory"
    code, _, err = export(monkeypatch, capsys, results, logdir, *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and expected in error_lines(err)[0]
    assert not logdir.is_dir()


def test_without_the_extra_it_names_the_extra_to_install(monkeypatch, capsys, results, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorboard", None)    # as if the package were not installed
    code, _, err = export(monkeypatch, capsys, results, tmp_path / "tb")
    assert code == 2
    assert error_lines(err) == ["error: archbench export tensorboard needs the optional extra: "
                                "pip install 'archbench[tensorboard]'"]
    assert not (tmp_path / "tb").exists()


def test_the_cli_imports_neither_exporter_until_its_command_runs():
    probe = ("import sys; import orchestrator.cli; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorboard', 'mlflow'}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"
