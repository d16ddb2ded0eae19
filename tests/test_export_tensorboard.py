"""`archbench export tensorboard`: every stored epoch comes back through TensorBoard's own reader."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from export_rows import free_port, write_results
from helpers import error_lines, run_in_process
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.util import tensor_util

from orchestrator.export import EPOCH_METRICS, FINAL_METRICS, FINAL_PREFIX, SETUP_COLUMNS

SERVER_START_S = 240     # TensorBoard loads the runs after it starts; slow on two busy cores
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


def same(stored: float, exported: float) -> bool:
    """``exported`` is ``stored`` as TensorBoard keeps a scalar: a float32."""
    return (math.isnan(stored) and math.isnan(exported)) or float(np.float32(stored)) == exported


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
            expected = {} if row[metric] is None else {last_epoch: float(np.float32(row[metric]))}
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


def test_tensorboard_itself_shows_every_run_with_its_scalars_and_its_hparams_row(monkeypatch, capsys, results,
                                                                              tmp_path):
    logdir = tmp_path / "tb"
    assert export(monkeypatch, capsys, results, logdir)[0] == 0
    written = {run: EventAccumulator(str(logdir / run)).Reload() for run in RUNS}
    port = free_port()
    with open(tmp_path / "tensorboard.log", "w") as log:
        server = subprocess.Popen([str(Path(sys.executable).with_name("tensorboard")), "--logdir", str(logdir),
                                   "--host", "127.0.0.1", "--port", str(port)],
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/data/plugin"
    try:
        expected_tags = {run: set(accumulator.PluginTagToContent("scalars")) for run, accumulator in written.items()}
        deadline = time.monotonic() + SERVER_START_S
        while (shown := _tags_shown(url)) != expected_tags:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"TensorBoard shows {shown}; log: {(tmp_path / 'tensorboard.log').read_text()[-2000:]}")
            time.sleep(1)
        for run, accumulator in written.items():
            for tag in expected_tags[run]:
                query = urllib.parse.urlencode({"run": run, "tag": tag})
                # JSON has no NaN: TensorBoard sends the string "NaN".
                shown_values = {step: float(value) for _, step, value in _get(f"{url}/scalars/scalars?{query}")}
                assert shown_values.keys() == scalars(accumulator, tag).keys(), (run, tag)
                assert all(same(value, shown_values[step]) for step, value in scalars(accumulator, tag).items())
        groups = _get(f"{url}/hparams/session_groups", {
            "experimentName": "", "startIndex": 0, "sliceSize": 100, "colParams": [],
            "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]})
        assert {group["name"] for group in groups["sessionGroups"]} == RUNS
        assert all(group["hparams"]["status"] in ("ok", "diverged", "failed") for group in groups["sessionGroups"])
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _tags_shown(url: str) -> dict[str, set[str]] | None:
    try:
        return {run: set(tags) for run, tags in _get(f"{url}/scalars/tags").items()}
    except OSError:
        return None


def _get(url: str, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)
