"""`archbench export mlflow` against a real MLflow tracking server started here on 127.0.0.1."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from export_rows import free_port, write_results
from helpers import error_lines, run_in_process
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from orchestrator.export import EPOCH_METRICS, FINAL_METRICS, FINAL_PREFIX, SETUP_COLUMNS

SERVER_START_S = 240     # the server imports a lot; on two busy cores that takes minutes


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    with open(root / "server.log", "w") as log:
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("mlflow")), "server", "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
             "--default-artifact-root", str(root / "artifacts")],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while not _answers(uri):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield uri
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _answers(uri: str) -> bool:
    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def results(tmp_path):
    return write_results(tmp_path / "results")


def export(monkeypatch, capsys, results, uri, experiment, *more):
    return run_in_process(monkeypatch, capsys, "export", "mlflow", "--tracking-uri", uri, "--experiment", experiment,
                          "--results", str(results.root), *more)


def runs_of(client: MlflowClient, experiment: str):
    """(parent runs by sweep, child runs by run name) of ``experiment``, live runs only."""
    found = client.get_experiment_by_name(experiment)
    runs = client.search_runs([found.experiment_id], max_results=1000)
    parents = {r.data.tags["sweep"]: r for r in runs if "mlflow.parentRunId" not in r.data.tags}
    children = {f"{r.data.tags['sweep']}/{r.info.run_name}": r for r in runs if "mlflow.parentRunId" in r.data.tags}
    assert len(parents) + len(children) == len(runs), "two runs of one name"
    return parents, children


def history_of(client: MlflowClient, run_id: str, metric: str) -> list[tuple[int, float]]:
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, metric))


def same(stored: list[tuple[int, float]], exported: list[tuple[int, float]]) -> bool:
    return [s for s, _ in stored] == [s for s, _ in exported] and all(
        (math.isnan(a) and math.isnan(b)) or a == b for (_, a), (_, b) in zip(stored, exported))


def assert_round_trip(client: MlflowClient, results, experiment: str) -> None:
    """Every stored attempt is one finished child run of its sweep's run, holding every epoch row."""
    parents, children = runs_of(client, experiment)
    rows = results.trial_records("study") + results.trial_records("quick")
    assert set(parents) == {"study", "quick"}
    assert len(children) == len(rows) == 6
    history = results.history()
    for row in rows:
        suffix = f"-attempt-{row['attempt']}" if row["attempt"] > 1 else ""
        run = children[f"{row['sweep']}/{row['arch']}/{row['dataset']}/seed-{row['seed']}{suffix}"]
        assert run.data.tags["mlflow.parentRunId"] == parents[row["sweep"]].info.run_id
        assert {k: run.data.tags[k] for k in ("sweep", "arch", "dataset", "seed", "attempt", "status")} == {
            "sweep": row["sweep"], "arch": row["arch"], "dataset": row["dataset"], "seed": str(row["seed"]),
            "attempt": str(row["attempt"]), "status": row["status"]}
        assert run.info.status == ("FAILED" if row["status"] == "failed" else "FINISHED")
        assert run.data.params == {c: str(row[c]) for c in SETUP_COLUMNS}
        epochs = history[(history["sweep"] == row["sweep"]) & (history["arch"] == row["arch"])
                         & (history["dataset"] == row["dataset"]) & (history["seed"] == row["seed"])
                         & (history["attempt"] == row["attempt"])]
        assert len(epochs) == row["epochs_run"]
        for metric in EPOCH_METRICS:
            stored = sorted((int(e), float(v)) for e, v in zip(epochs["epoch"], epochs[metric])
                            if not (metric.endswith("_acc") and math.isnan(v)))
            assert same(stored, history_of(client, run.info.run_id, metric)), (row["arch"], metric)
        final = {m: float(row[m]) for m in FINAL_METRICS if row[m] is not None}
        assert {k.removeprefix(FINAL_PREFIX): v for k, v in run.data.metrics.items()
                if k.startswith(FINAL_PREFIX)} == final


def test_every_attempt_is_a_child_run_of_its_sweeps_run_with_every_epoch(monkeypatch, capsys, results, tracking_uri):
    code, out, _ = export(monkeypatch, capsys, results, tracking_uri, "round-trip")
    assert code == 0
    assert "6 attempt runs and 2 sweep runs added, 0 attempts already there" in out
    assert_round_trip(MlflowClient(tracking_uri), results, "round-trip")


def test_a_second_export_adds_nothing_already_there(monkeypatch, capsys, results, tracking_uri):
    assert export(monkeypatch, capsys, results, tracking_uri, "twice")[0] == 0
    code, out, _ = export(monkeypatch, capsys, results, tracking_uri, "twice")
    assert code == 0
    assert "0 attempt runs and 0 sweep runs added, 6 attempts already there" in out
    assert_round_trip(MlflowClient(tracking_uri), results, "twice")


def test_an_export_cut_off_midway_leaves_nothing_the_next_one_duplicates(monkeypatch, capsys, results,
                                                                         tracking_uri):
    ended = []
    original = MlflowClient.set_terminated

    def server_gone_after_three_runs(self, run_id, *args, **kwargs):
        if len(ended) == 3:
            raise MlflowException("API request failed: connection reset by peer")
        ended.append(run_id)
        return original(self, run_id, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(MlflowClient, "set_terminated", server_gone_after_three_runs)
        code, _, err = export(monkeypatch, capsys, results, tracking_uri, "cut-off")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "failed during the export" in error_lines(err)[0]
    client = MlflowClient(tracking_uri)
    assert any(r.info.status == "RUNNING" for r in runs_of(client, "cut-off")[1].values())   # the one cut off
    code, out, _ = export(monkeypatch, capsys, results, tracking_uri, "cut-off")
    assert code == 0 and "2 attempts already there" in out
    assert_round_trip(client, results, "cut-off")


def test_sweep_exports_that_sweep_only(monkeypatch, capsys, results, tracking_uri):
    code, out, _ = export(monkeypatch, capsys, results, tracking_uri, "one-sweep", "--sweep", "quick")
    assert code == 0 and "1 attempt runs and 1 sweep runs added" in out
    parents, children = runs_of(MlflowClient(tracking_uri), "one-sweep")
    assert set(parents) == {"quick"} and set(children) == {"quick/squeezenet/mnist/seed-0"}


@pytest.mark.timeout(120)
def test_a_tracking_uri_that_does_not_answer_is_one_line_and_exit_2(monkeypatch, capsys, results):
    uri = f"http://127.0.0.1:{free_port()}"
    code, out, err = export(monkeypatch, capsys, results, uri, "nowhere")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert error_lines(err)[0].startswith(f"error: cannot reach an MLflow tracking store at {uri}: ")


def test_without_the_extra_it_names_the_extra_to_install(monkeypatch, capsys, results):
    monkeypatch.setitem(sys.modules, "mlflow", None)    # as if the package were not installed
    code, _, err = export(monkeypatch, capsys, results, "http://127.0.0.1:1", "none")
    assert code == 2
    assert error_lines(err) == ["error: archbench export mlflow needs the optional extra: "
                                "pip install 'archbench[mlflow]'"]
