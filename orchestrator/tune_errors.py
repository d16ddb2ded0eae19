"""Why a Ray Tune trial failed, in one line, read from the error file Tune writes for it."""

from __future__ import annotations

import re
from pathlib import Path

from ray.tune.experiment import Trial

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Fault|Exit|Interrupt)\b")
_FAILURE_HEADER = re.compile(r"^Failure # \d+.*$", re.M)


def error_line(trial: Trial) -> str:
    """The exception line (``Type: message``) of the trial's latest failure, from Tune's error.txt.

    Read as text from the driver's copy: ``trial.get_error()`` reads storage, which Tune has not yet
    synced when the callback runs, and the pickled error is never loaded.
    """
    try:
        text = Path(trial.error_file).read_text(errors="replace")
    except (OSError, TypeError):
        return "trial failed (Ray recorded no error text)"
    return latest_exception(text)


def latest_exception(text: str) -> str:
    """The exception line of the last failure in the text of a Tune error file."""
    latest = _FAILURE_HEADER.split(text)[-1]
    lines = [_ANSI.sub("", line).rstrip() for line in latest.splitlines()]
    lines = [line for line in lines if line and not line[0].isspace()]
    for line in lines:
        if _EXCEPTION_LINE.match(line) and not line.startswith("ray.exceptions.RayTaskError"):
            return re.sub(r"^(\w+\.)+(?=\w+:)", "", line)
    return next((line for line in lines if not line.startswith("ray::")), "trial failed")
