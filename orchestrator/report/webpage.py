"""``report.html``: one page holding the whole report, its styles and its SVG plots inline.

Nothing on the page refers outside it (no stylesheet, script, font or image to fetch), so it opens
from the file in any browser, offline. Each plot's SVG ids get a prefix of their own, so that the
glyphs and clip paths of one plot never resolve to another's.
"""

from __future__ import annotations

import re
from html import escape
from typing import Mapping

import pandas as pd

from orchestrator.report.answers import QUESTIONS, SYNTHETIC_NOTE
from orchestrator.report.layout import ANSWER_TABLES, IMAGE_TITLES, RESULT_TABLES, STUDY_NOTE, images_after
from orchestrator.report.summary import CONCLUSIONS_TITLE, Summary
from orchestrator.report.tables import TITLES

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #fff; }
main { max-width: 78rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ccc; } h3 { margin-top: 1.8rem; }
.warning { background: #fff3cd; border: 2px solid #c58a00; padding: 0.8rem 1rem; font-weight: bold; }
.note { color: #444; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 0.9rem; margin: 0.5rem 0; }
th, td { border: 1px solid #d0d0d0; padding: 0.25rem 0.5rem; text-align: right; vertical-align: top; }
thead th, tbody th { background: #f3f3f3; text-align: left; }
figure { margin: 1.5rem 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: 0.9rem; }
.verdict { font-weight: bold; }
details.notes { margin: 1rem 0; } details.notes summary { cursor: pointer; color: #444; }
#table-params table { font-size: 0.75rem; } #table-params th, #table-params td { padding: 0.2rem 0.3rem; }
"""


def html_page(summary: Summary, svgs: Mapping[str, str]) -> str:
    """The report as one HTML document; ``svgs`` maps plot names (``layout.IMAGE_TITLES``) to SVG documents."""
    title = f"archbench report: sweep {summary.sweep}"
    notes = [f'<p class="note">{escape(note)}</p>' for note in summary.notes if note != SYNTHETIC_NOTE]
    if summary.vs_study:
        notes.append(f'<p class="note">{escape(STUDY_NOTE)}</p>')
    body = [f"<h1>archbench report: sweep <code>{escape(summary.sweep)}</code></h1>", *_short_notes(summary),
            f'<details class="notes"><summary>How to read the tables: every note and rule ({len(notes)})</summary>',
            *notes, "</details>", "<h2>Results</h2>"]
    for name in RESULT_TABLES:
        body += [_table(summary, name), *(_figure(image, svgs[image]) for image in images_after(name, svgs))]
    body += [*_short_answers(summary), "<h2>The study's questions</h2>"]
    for number, question, answer, names in zip((1, 2, 3), QUESTIONS, summary.answers, ANSWER_TABLES):
        body += [f"<h3>{number}. {escape(question)}</h3>", f'<p class="answer">{escape(answer)}</p>',
                 *(_table(summary, name) for name in names)]
    body += [_figure(image, svgs[image]) for image in images_after(None, svgs)]
    body += [f"<h2>{escape(CONCLUSIONS_TITLE)}</h2>", '<ol class="conclusions">',
             *(f'<li id="conclusion-{c.number}"><p><q>{escape(c.claim)}</q></p>'
               f'<p><span class="verdict">{escape(c.verdict)}</span>: {escape(c.evidence)}.</p>'
               f'<p class="note">Rule: {escape(c.rule)}.</p></li>' for c in summary.conclusions), "</ol>"]
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>", f"<style>{STYLE}</style>", "</head>", "<body>", "<main>",
        *body, "</main>", "</body>", "</html>", "",
    ])


def _short_notes(summary: Summary) -> list[str]:
    """The notes in a few lines, on top (the synthetic-data warning as an alert); every note is folded below."""
    return [f'<p class="warning" role="alert">{escape(note)}</p>' if note == SYNTHETIC_NOTE
            else f'<p class="note">{escape(note)}</p>' for note in summary.short_notes]


def _short_answers(summary: Summary) -> list[str]:
    """What ``archbench summarize`` prints after its tables: a short answer a question and a line a conclusion,
    each conclusion linking to its rule and numbers further down."""
    answers = [f"<li><strong>{escape(question)}</strong> {escape(answer)}</li>"
               for question, answer in zip(QUESTIONS, summary.short_answers)]
    verdicts = [f'<li><a href="#conclusion-{c.number}">C{c.number}</a> <span class="verdict">{escape(c.verdict)}'
                f"</span>: {escape(c.evidence.split('; ')[0])}</li>" for c in summary.conclusions]
    return ['<section id="short"><h2>In short</h2>', '<ol class="short-answers">', *answers, "</ol>",
            '<ul class="short-conclusions">', *verdicts, "</ul></section>"]


def _table(summary: Summary, name: str) -> str:
    table: pd.DataFrame = getattr(summary, name)
    markup = table.to_html(border=0, classes=f"report-table table-{name}", na_rep="", escape=True)
    return (f'<section class="table" id="table-{name}"><h4>{escape(TITLES[name])}</h4>'
            f'<div class="scroll">{markup}</div></section>')


def _figure(name: str, svg: str) -> str:
    return (f'<figure id="figure-{name}">{_inline_svg(svg, name)}'
            f"<figcaption>{escape(IMAGE_TITLES[name])}</figcaption></figure>")


def _inline_svg(document: str, prefix: str) -> str:
    """The ``<svg>`` element of an SVG document without its RDF metadata, its ids (and the references to
    them) prefixed with ``prefix``."""
    svg = re.sub(r"<metadata>.*?</metadata>", "", document[document.index("<svg"):], flags=re.DOTALL)
    return re.sub(r'(\bid="|href="#|url\(#)([^")]+)', lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", svg)
