"""One sweep summarized: its numbers (``Analysis``) with the tables, notes and answers made from them, as text."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from orchestrator.render import render, terminal_width, wrap
from orchestrator.report import answers, tables
from orchestrator.report.analysis import Analysis, analyze
from orchestrator.report.conclusions import Check, check_all
from orchestrator.report.tables import NO_VALUE, TITLES


@dataclass(frozen=True)
class Summary:
    """One sweep summarized. ``analysis`` holds the numbers; the tables named in TITLES hold strings for ``render``."""

    analysis: Analysis
    vs_study: bool
    notes: tuple[str, ...]            # lines to show above the tables
    accuracy: pd.DataFrame
    validation: pd.DataFrame
    time: pd.DataFrame
    params: pd.DataFrame
    best: pd.DataFrame
    traits: pd.DataFrame
    trait_ranks: pd.DataFrame
    overall: pd.DataFrame
    answers: tuple[str, str, str]     # one per answers.QUESTIONS
    conclusions: tuple[Check, ...]    # the study's seven conclusions, checked

    @property
    def sweep(self) -> str:
        return self.analysis.sweep

    @property
    def synthetic(self) -> bool:
        return self.analysis.synthetic

    def tables(self) -> dict[str, pd.DataFrame]:
        """Title -> table, in report order."""
        return {title: getattr(self, name) for name, title in TITLES.items()}


def summarize(trials: pd.DataFrame, history: pd.DataFrame, *, sweep: str | None = None,
              vs_study: bool = False) -> Summary:
    """Summarize one sweep of ``trials`` / ``history`` (ResultStore frames); see ``report.analysis``."""
    analysis = analyze(trials, history, sweep=sweep)
    return Summary(
        analysis=analysis, vs_study=vs_study, notes=answers.notes(analysis, vs_study),
        accuracy=tables.accuracy_table(analysis, vs_study), validation=tables.validation_table(analysis),
        time=tables.time_table(analysis, vs_study),
        params=tables.params_table(analysis.cells, vs_study), best=tables.best_table(analysis),
        traits=tables.traits_table(analysis), trait_ranks=tables.trait_ranks_table(analysis),
        overall=tables.overall_table(analysis), answers=answers.answers(analysis),
        conclusions=check_all(analysis),
    )


def answer_blocks(summary: Summary) -> list[str]:
    """'Q1. <question>\\n<answer>' for each question."""
    return [f"Q{number}. {question}\n{answer}" for number, (question, answer)
            in enumerate(zip(answers.QUESTIONS, summary.answers), start=1)]


CONCLUSIONS_TITLE = "The study's conclusions, checked against these rows"


def conclusion_blocks(summary: Summary) -> list[str]:
    """'C1. "<the study's words>"\n<verdict>: <numbers>\nRule: <rule>' for each conclusion."""
    return [f'C{c.number}. "{c.claim}"\n{c.verdict.upper()}: {c.evidence}.\nRule: {c.rule}.'
            for c in summary.conclusions]


def render_summary(summary: Summary, fmt: str = "table", width: int | None = None) -> str:
    """The notes, every table and the answers as one text in ``fmt`` (see ``render.FORMATS``).

    In ``table`` format every line fits ``width`` (default: the terminal's). In CSV, each table is a
    block under a ``# <title>`` line, a missing value is an empty field, and the notes and answers are
    ``#`` lines.
    """
    blocks = [*answer_blocks(summary), CONCLUSIONS_TITLE + ":", *conclusion_blocks(summary)]
    if fmt == "csv":
        csv = [f"# {title}\n" + render(df.replace(NO_VALUE, ""), fmt) for title, df in summary.tables().items()]
        return "\n".join([*map(_comment, summary.notes), *csv, *map(_comment, blocks)]) + "\n"
    if fmt == "table":
        width = width or terminal_width()
        texts = [render(df, fmt, title, width) for title, df in summary.tables().items()]
        return "\n\n".join([*(wrap(note, width) for note in summary.notes), *texts,
                            *(wrap(block, width) for block in blocks)]) + "\n"
    texts = [render(df, fmt, title) for title, df in summary.tables().items()]
    return "\n\n".join([*summary.notes, *texts, *blocks]) + "\n"


def _comment(text: str) -> str:
    return "\n".join(f"# {line}" for line in text.splitlines())
