"""The report files: ``report.md`` with PNG and SVG plots beside it, and one self-contained ``report.html``.

``report.html`` holds everything inline (styles, SVG plots), so it opens from the file in any browser
with nothing fetched from the network. Both pages are written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Mapping, NamedTuple

from orchestrator.atomic import atomic_write_text
from orchestrator.render import render
from orchestrator.report import webpage
from orchestrator.report.analysis import ReportError
from orchestrator.report.answers import QUESTIONS, SYNTHETIC_NOTE
from orchestrator.report.labels import dataset_labels, grid
from orchestrator.report.layout import ANSWER_TABLES, IMAGE_TITLES, RESULT_TABLES, STUDY_NOTE, images_after
from orchestrator.report.summary import CONCLUSIONS_TITLE, Summary
from orchestrator.report.tables import TITLES, heatmap_notes

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class ReportPaths(NamedTuple):
    markdown: Path
    html: Path


def write_report(summary: Summary, out_dir: str | os.PathLike[str]) -> ReportPaths:
    """Write the plots (PNG and SVG), ``report.md`` linking them and ``report.html`` into ``out_dir``."""
    # matplotlib is imported only to draw: its import builds a font cache in the user's home, which
    # a sweep (it prints the tables too) must not touch.
    from orchestrator import plots

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        figures = _figures(summary, plots)
        images = {name: plots.save(figure, out, name) for name, figure in figures.items()}
        svgs = {name: plots.svg_text(figure) for name, figure in figures.items()}
        paths = ReportPaths(out / "report.md", out / "report.html")
        atomic_write_text(paths.markdown, markdown_page(summary, images))
        atomic_write_text(paths.html, webpage.html_page(summary, svgs))
    except OSError as exc:
        raise ReportError(f"cannot write the report to {out}: {exc.strerror or exc}") from None
    return paths


def _figures(summary: Summary, plots: ModuleType) -> dict[str, Figure]:
    """The report's figures by name, drawn from the analysis' numbers."""
    analysis = summary.analysis
    cells = analysis.cells
    accuracy, unstable = grid(cells, "acc_mean"), grid(cells, "unstable")
    figures = {
        "accuracy_heatmap": plots.accuracy_heatmap(accuracy, heatmap_notes(analysis), unstable),
        "training_time": plots.training_time_bars(grid(cells, "seconds_per_epoch"), unstable),
        "accuracy_vs_time": plots.accuracy_vs_time(accuracy, grid(cells, "acc_std"), grid(cells, "seconds_per_epoch"),
                                                   unstable),
    }
    if not analysis.curves.empty:
        figures["accuracy_curves"] = plots.accuracy_curves(analysis.curves, analysis.archs, dataset_labels(cells))
    return figures


def markdown_page(summary: Summary, images: Mapping[str, Path]) -> str:
    """``report.md``: the notes, the tables with the images after them, the questions with their answers, the
    study's conclusions checked."""
    def table(name: str) -> str:
        return render(getattr(summary, name), "markdown", TITLES[name])

    def after(place: str | None) -> list[str]:
        return [f"![{IMAGE_TITLES[name]}]({images[name].name})" for name in images_after(place, images)]

    notes = [f"> **{note}**" if note == SYNTHETIC_NOTE else note for note in summary.notes]
    if summary.vs_study:
        notes.append(STUDY_NOTE)
    answers = [[f"### {number}. {question}", answer, *map(table, names)] for number, question, answer, names
               in zip((1, 2, 3), QUESTIONS, summary.answers, ANSWER_TABLES)]
    conclusions = [f'{c.number}. "{c.claim}"  \n   **{c.verdict}**: {c.evidence}.  \n   Rule: {c.rule}.'
                   for c in summary.conclusions]
    sections = [
        f"# archbench report: sweep `{summary.sweep}`", *notes,
        "## Results", *(part for name in RESULT_TABLES for part in (table(name), *after(name))),
        "## The study's questions", *(part for block in answers for part in block), *after(None),
        f"## {CONCLUSIONS_TITLE}", *conclusions,
    ]
    return "\n\n".join(section.strip() for section in sections if section) + "\n"
