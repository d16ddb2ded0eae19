"""Exceptions as one line for the user.

Every error the user can cause and mend (a bad value, a missing file, an unreachable cluster) derives
from ``ArchbenchError``, whose message is one line naming the bad value and the valid ones; the CLI's
``main()`` prints it as ``error: <message>`` and exits with 2, wherever in a command it was raised.
"""

from __future__ import annotations


def first_line(exc: BaseException, *, with_type: bool = False) -> str:
    """The first non-blank line of ``exc``'s message (its type's name when it has none), optionally ``Type: line``."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    return f"{type(exc).__name__}: {lines[0]}" if with_type else lines[0]


def last_line(text: str) -> str:
    """The last non-blank line of ``text`` (Ray puts the cause of a connection failure there)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


class ArchbenchError(Exception):
    """A one-line error for the user: bad input or a state they can mend; the CLI exits with 2."""


class SweepError(ArchbenchError):
    """The sweep cannot start, or cannot go on: a one-line message for the user."""
