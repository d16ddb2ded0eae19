"""Why a trial failed, in one line, from the trial itself: the Ray adapter reports its exception, the driver
stores it."""

import io
from types import SimpleNamespace

import pytest

from orchestrator import trainable
from orchestrator.progress import LineView
from orchestrator.results import ResultStore
from orchestrator.sweep import WORKER_DIED, ResultsCallback
from orchestrator.trial import Cell, Placement, TrialSpec

CELL = "lenet5/mnist/seed0"
WHERE = {"placement": Placement(device="cpu", node_id="n1", hostname="h1", node_ip="127.0.0.1", ray_version="2"),
         "device_key": "n1/cpu:"}


def test_a_trial_that_raises_reports_its_first_line_then_raises_again(monkeypatch):
    reports = []
    monkeypatch.setattr(trainable.tune, "report", lambda metrics, checkpoint=None: reports.append(metrics))
    monkeypatch.setattr(trainable.ray, "get_gpu_ids", lambda: [])
    monkeypatch.setattr(trainable, "_where", lambda device: WHERE)
    monkeypatch.setattr(trainable, "_state_to_resume", lambda spec: None)

    def raises(spec, **hooks):
        raise RuntimeError("injected fault: the trial raised on purpose\nsecond line of the message")

    monkeypatch.setattr(trainable, "train", raises)
    with pytest.raises(RuntimeError, match="injected fault"):
        trainable.run_trial({"cell": CELL}, {CELL: TrialSpec(Cell("lenet5", "mnist"), checkpoints=False)})
    assert reports == [{"error": "RuntimeError: injected fault: the trial raised on purpose", **WHERE}]


def _callback(tmp_path, out):
    return ResultsCallback(ResultStore(tmp_path), "t", 0.0, LineView(out), {CELL: TrialSpec(Cell("lenet5", "mnist"))})


def test_the_stored_reason_is_the_line_the_trial_reported_and_its_row_says_where_it_ran(tmp_path):
    out = io.StringIO()
    callback = _callback(tmp_path, out)
    trial = SimpleNamespace(trial_id="a", config={"cell": CELL}, checkpoint=None, error_file="/ray/error.txt")
    callback.on_trial_start(1, [], trial)
    callback.on_trial_result(1, [], trial, {"error": "RuntimeError: first attempt", **WHERE})
    callback.on_trial_recover(1, [], trial)
    callback.on_trial_start(1, [], trial)
    callback.on_trial_result(1, [], trial, {"error": "RuntimeError: second attempt", **WHERE})
    callback.on_trial_error(1, [], trial)
    assert f"{CELL}: RuntimeError: first attempt; retrying" in out.getvalue()
    row = ResultStore(tmp_path).trials().iloc[0]
    assert (row["status"], row["error"], row["attempts"]) == ("failed", "RuntimeError: second attempt", 2)
    assert (row["device"], row["node_id"], row["hostname"], row["node_ip"]) == ("cpu", "n1", "h1", "127.0.0.1")
    assert callback.failures == [f"{CELL}: RuntimeError: second attempt"]


def test_a_trial_whose_worker_vanished_without_a_report_says_the_worker_died(tmp_path):
    callback = _callback(tmp_path, io.StringIO())
    trial = SimpleNamespace(trial_id="a", config={"cell": CELL}, checkpoint=None, error_file=None)
    callback.on_trial_start(1, [], trial)
    callback.on_trial_error(1, [], trial)
    row = ResultStore(tmp_path).trials().iloc[0]
    assert (row["status"], row["error"]) == ("failed", WORKER_DIED)
    assert row["error"].startswith("the worker died") and "\n" not in row["error"]
