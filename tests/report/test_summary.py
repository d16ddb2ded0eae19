"""report.summary: the notes, every table and the answers as one text in each format."""

from __future__ import annotations

import pytest

from orchestrator import report
from orchestrator.render import FORMATS


@pytest.mark.parametrize("fmt", FORMATS)
def test_render_summary_in_every_format(summary, fmt):
    text = report.render_summary(summary, fmt, width=400)   # wide enough that no cell wraps
    assert "0.9920 ± 0.0020 (3/3)" in text and "(0/3; 3 diverged) †" in text and "-1,616" in text
    words = " ".join(text.split())   # a terminal wraps the answers between words
    assert f"Q3. {report.QUESTIONS[2]}" in words and summary.answers[1] in words


def test_markdown_keeps_the_formatted_numbers_and_titles_every_table(summary):
    text = report.render_summary(summary, "markdown")
    assert "+0.0070" in text and "0.8000" in text
    assert all(f"**{title}**" in text for title in report.TITLES.values())


def test_csv_summary_titles_every_block(summary):
    text = report.render_summary(summary, "csv")
    lines = text.splitlines()
    for title, df in summary.tables().items():
        at = lines.index(f"# {title}")
        assert lines[at + 1].split(",")[0] == (df.index.names[0] or "")   # the block's header follows its title
    assert report.NO_VALUE not in {field for line in lines for field in line.split(",")}   # an empty field instead
    assert "# Q1. " + report.QUESTIONS[0] in lines and not any(line.startswith(("Q", "C1")) for line in lines)
    assert "# C1. " + f'"{summary.conclusions[0].claim}"' in lines


def test_the_tables_come_in_report_order(summary):
    assert list(summary.tables()) == list(report.TITLES.values())
    assert summary.tables()[report.TITLES["validation"]] is summary.validation
