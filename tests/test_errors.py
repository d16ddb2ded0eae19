"""Exceptions as one line for the user: every error the user can mend is an ArchbenchError, printed once by main()."""

import importlib
import inspect
import pkgutil

import pytest
from helpers import run_in_process as run

import orchestrator
from orchestrator.data import DataUnavailableError, ImportRefusedError, UnknownDatasetError
from orchestrator.errors import ArchbenchError, SweepError, first_line, last_line
from orchestrator.export import ExportError
from orchestrator.plugins import PluginError
from orchestrator.report import ReportError
from orchestrator.results import ResultsError
from orchestrator.trial import PlanError

USER_ERRORS = [
    PlanError("seeds", "must be at least 1, got 0"),
    SweepError("cannot reach the Ray cluster at 127.0.0.1:1: connection refused"),
    ResultsError("results/trials.parquet is not a results file archbench wrote"),
    ReportError("no sweep 'nope' in results; valid: smoke"),
    DataUnavailableError("cifar10 is not in /data and --no-download was given; run `archbench data fetch cifar10`"),
    ImportRefusedError("train_32x32.mat: md5 differs from SVHN's official file"),
    UnknownDatasetError("unknown dataset 'imagenet'; valid: mnist, fashion_mnist, cifar10, svhn"),
    PluginError("plugin 'nope' is neither an importable module nor a .py file"),
    ExportError("the MLflow tracking server at http://127.0.0.1:1 does not answer"),
]


def _declared_exceptions() -> set[type]:
    """Every public exception class a module of the orchestrator package declares."""
    declared = set()
    for module_info in pkgutil.walk_packages(orchestrator.__path__, "orchestrator."):
        module = importlib.import_module(module_info.name)
        declared |= {obj for name, obj in vars(module).items()
                     if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module.__name__
                     and not name.startswith("_")}
    return declared


def test_first_line_of_an_exception():
    assert first_line(ValueError("\n  bad value\nmore detail")) == "bad value"
    assert first_line(ValueError("bad value\nmore"), with_type=True) == "ValueError: bad value"
    assert first_line(KeyError()) == "KeyError"


def test_last_line_of_a_text():
    assert last_line("Traceback\n  ...\nConnectionError: refused\n\n") == "ConnectionError: refused"
    assert last_line("") == ""


def test_every_exception_the_package_declares_is_an_archbench_error():
    declared = _declared_exceptions()
    assert {type(error) for error in USER_ERRORS} <= declared
    assert [cls.__name__ for cls in declared if not issubclass(cls, ArchbenchError)] == []


@pytest.mark.parametrize("error", USER_ERRORS, ids=lambda error: type(error).__name__)
def test_an_error_raised_in_a_command_is_one_line_on_stderr_and_exit_2(monkeypatch, capsys, error):
    from orchestrator import cli

    def raise_it(names):
        raise error

    monkeypatch.setattr(cli.plugins, "load", raise_it)
    code, out, err = run(monkeypatch, capsys, "archs")
    assert (code, out, err) == (2, "", f"error: {error}\n")
