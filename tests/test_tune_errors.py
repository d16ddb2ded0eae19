"""Why a trial failed, in one line, from the text of Tune's error file."""

from types import SimpleNamespace

from orchestrator.tune_errors import error_line, latest_exception

TWO_FAILURES = """Failure # 1 (occurred at 2026-11-30_10-00-00)
ray::ImplicitFunc.train() (pid=1, ip=127.0.0.1)
  File "x.py", line 1, in f
orchestrator.data.store.DataUnavailableError: mnist is not available
Failure # 2 (occurred at 2026-11-30_10-01-00)
\x1b[36mray::ImplicitFunc.train()\x1b[39m (pid=2, ip=127.0.0.1)
ray.exceptions.RayTaskError(RuntimeError): ray::ImplicitFunc.train()
  File "faults.py", line 9, in forward
RuntimeError: injected fault
"""


def test_the_latest_failures_exception_line_without_its_module_path():
    assert latest_exception(TWO_FAILURES) == "RuntimeError: injected fault"
    assert latest_exception(TWO_FAILURES.split("Failure # 2")[0]) == "DataUnavailableError: mnist is not available"


def test_a_failure_without_an_exception_line_gives_its_first_line():
    assert latest_exception("Failure # 1\nThe worker died unexpectedly\n") == "The worker died unexpectedly"
    assert latest_exception("") == "trial failed"


def test_a_trial_without_an_error_file_says_so(tmp_path):
    assert error_line(SimpleNamespace(error_file=None)) == "trial failed (Ray recorded no error text)"
    path = tmp_path / "error.txt"
    path.write_text(TWO_FAILURES)
    assert error_line(SimpleNamespace(error_file=str(path))) == "RuntimeError: injected fault"
