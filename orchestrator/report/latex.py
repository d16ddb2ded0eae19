"""A summary as LaTeX that a paper takes as printed: the tables as floats (``render.latex_tables``), every line of
words as a ``%`` comment.

The first line names the packages it needs (``render.LATEX_PACKAGES``); then the notes, the tables, and the answers
and checked conclusions, each comment block after a blank comment line. Table 1 carries its legend (what a cell
reads and what its marks mean) as a note below it, since a reader of the paper needs it there.
"""

from __future__ import annotations

import textwrap
from typing import Mapping, Sequence

import pandas as pd

from orchestrator.render import latex_caption, latex_requirements, latex_tables
from orchestrator.report.answers import TABLE_1_LEGEND
from orchestrator.report.tables import TITLES

COMMENT_WIDTH = 100
TABLE_NOTES = {TITLES["accuracy"]: latex_caption(TABLE_1_LEGEND)}   # title -> note below the table


def summary_latex(notes: Sequence[str], tables: Mapping[str, pd.DataFrame], words: Sequence[str]) -> str:
    """The ``notes``, then ``tables`` (title -> table) as floats, then ``words`` (the answers, the conclusions)."""
    texts = [latex_requirements(), _comments(notes)]
    texts += [latex_tables(table, title, TABLE_NOTES.get(title)) for title, table in tables.items()]
    texts.append(_comments(words))
    return "\n".join(texts)


def _comments(blocks: Sequence[str]) -> str:
    """Each block as ``%`` lines wrapped between words, the blocks apart by an empty comment line."""
    lines = []
    for block in blocks:
        lines.append("%")
        for line in block.splitlines():
            lines += textwrap.wrap(line, COMMENT_WIDTH, initial_indent="% ", subsequent_indent="%   ",
                                   break_long_words=False, break_on_hyphens=False) or ["%"]
    return "\n".join(lines) + "\n"
