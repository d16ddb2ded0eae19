"""Exceptions as one line for the user."""

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


class SweepError(Exception):
    """The sweep cannot start, or cannot go on: a one-line message for the user."""
