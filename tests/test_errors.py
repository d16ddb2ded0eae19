"""Exceptions as one line for the user."""

from orchestrator.errors import first_line, last_line


def test_first_line_of_an_exception():
    assert first_line(ValueError("\n  bad value\nmore detail")) == "bad value"
    assert first_line(ValueError("bad value\nmore"), with_type=True) == "ValueError: bad value"
    assert first_line(KeyError()) == "KeyError"


def test_last_line_of_a_text():
    assert last_line("Traceback\n  ...\nConnectionError: refused\n\n") == "ConnectionError: refused"
    assert last_line("") == ""
