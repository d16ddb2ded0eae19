"""One sweep summarized: its numbers (``Analysis``) with the tables, notes and answers made from them, as text."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from orchestrator.render import render, terminal_width, wrap
from orchestrator.report import answers, tables
from orchestrator.report.analysis import Analysis, analyze
from orchestrator.report.conclusions import Check, check_all
from orchestrator.report.latex import summary_latex
from orchestrator.report.tables import TITLES
from orchestrator.report.tidy import tidy_table


@dataclass(frozen=True)
class Summary:
    """One sweep summarized. ``analysis`` holds the numbers; the tables named in TITLES hold strings for ``render``."""

    analysis: Analysis
    vs_study: bool
    notes: tuple[str, ...]            # lines to show above the tables
    short_notes: tuple[str, ...]      # the notes in a few lines, for the default print
    accuracy: pd.DataFrame
    validation: pd.DataFrame
    time: pd.DataFrame
    params: pd.DataFrame
    best: pd.DataFrame
    traits: pd.DataFrame
    trait_ranks: pd.DataFrame
    overall: pd.DataFrame
    answers: tuple[str, str, str]     # one per answers.QUESTIONS
    short_answers: tuple[str, str, str]  # the same in a few lines each
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
        short_notes=answers.short_notes(analysis),
        accuracy=tables.accuracy_table(analysis, vs_study), validation=tables.validation_table(analysis),
        time=tables.time_table(analysis, vs_study),
        params=tables.params_table(analysis.cells, vs_study), best=tables.best_table(analysis),
        traits=tables.traits_table(analysis), trait_ranks=tables.trait_ranks_table(analysis),
        overall=tables.overall_table(analysis), answers=answers.answers(analysis),
        short_answers=answers.short_answers(analysis),
        conclusions=check_all(analysis),
    )


SHORT_TIME_MEASURES = ("train s", "study s", "s/epoch")   # Table 2's rows in the default print


def answer_blocks(summary: Summary, short: bool = False) -> list[str]:
    """'Q1. <question>\\n<answer>' for each question (the answers in a few lines with ``short``)."""
    texts = summary.short_answers if short else summary.answers
    return [f"Q{number}. {question}\n{answer}" for number, (question, answer)
            in enumerate(zip(answers.QUESTIONS, texts), start=1)]


CONCLUSIONS_TITLE = "The study's conclusions, checked against these rows"


def conclusion_blocks(summary: Summary) -> list[str]:
    """'C1. "<the study's words>"\n<verdict>: <numbers>\nRule: <rule>' for each conclusion."""
    return [f'C{c.number}. "{c.claim}"\n{c.verdict.upper()}: {c.evidence}.\nRule: {c.rule}.'
            for c in summary.conclusions]


def conclusion_lines(summary: Summary, width: int) -> list[str]:
    """One line per conclusion, at most ``width`` long: its number, verdict and the first part of its evidence."""
    lines = []
    for c in summary.conclusions:
        line = f"C{c.number} {c.verdict.split(' with ')[0].upper()}: {c.evidence.split('; ')[0]}"
        lines.append(line if len(line) <= width else line[:width - 1] + "…")
    return lines


def render_short(summary: Summary, width: int | None = None) -> str:
    """What ``archbench summarize`` prints by default: the notes in a few lines, Tables 1-3, a short paragraph per
    question and a line per conclusion, every line within ``width`` (default: the terminal's)."""
    width = width or terminal_width()
    time = summary.time[summary.time.index.get_level_values("measure").isin(SHORT_TIME_MEASURES)]
    texts = [render(summary.accuracy, "table", TITLES["accuracy"], width),
             render(time, "table", f"{TITLES['time']} (more measures with --details)", width),
             render(summary.params, "table", TITLES["params"], width)]
    return "\n\n".join([*(wrap(note, width) for note in summary.short_notes), *texts,
                        *(wrap(block, width) for block in answer_blocks(summary, short=True)),
                        "\n".join([CONCLUSIONS_TITLE + " (rules and numbers: --details):",
                                   *conclusion_lines(summary, width)])]) + "\n"


def render_summary(summary: Summary, fmt: str = "table", width: int | None = None) -> str:
    """The notes, every table and the answers as one text in ``fmt`` (see ``render.FORMATS``): all that
    ``render_short`` leaves out too.

    In ``table`` format every line fits ``width`` (default: the terminal's). CSV is one tidy table of the
    numbers alone (``report.tidy``); LaTeX compiles as printed, its words as ``%`` comments (``report.latex``).
    """
    blocks = [*answer_blocks(summary), CONCLUSIONS_TITLE + ":", *conclusion_blocks(summary)]
    if fmt == "csv":
        return tidy_table(summary.analysis).to_csv(index=False)
    if fmt == "latex":
        return summary_latex(summary.notes, summary.tables(), blocks)
    if fmt == "table":
        width = width or terminal_width()
        texts = [render(df, fmt, title, width) for title, df in summary.tables().items()]
        return "\n\n".join([*(wrap(note, width) for note in summary.notes), *texts,
                            *(wrap(block, width) for block in blocks)]) + "\n"
    texts = [render(df, fmt, title) for title, df in summary.tables().items()]
    return "\n\n".join([*summary.notes, *texts, *blocks]) + "\n"
