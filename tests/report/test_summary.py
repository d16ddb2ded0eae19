"""report.summary: the notes, every table and the answers as one text in each format."""

from __future__ import annotations

import pytest

from orchestrator import report


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_render_summary_in_every_format(summary, fmt):
    text = report.render_summary(summary, fmt, width=400)   # wide enough that no cell wraps
    assert "0.9920 ± 0.0020 (3/3)" in text and "(0/3; 3 diverged) †" in text and "-1,616" in text
    words = " ".join(text.split())   # a terminal wraps the answers between words
    assert f"Q3. {report.QUESTIONS[2]}" in words and summary.answers[1] in words


def test_markdown_keeps_the_formatted_numbers_and_titles_every_table(summary):
    text = report.render_summary(summary, "markdown")
    assert "+0.0070" in text and "0.8000" in text
    assert all(f"**{title}**" in text for title in report.TITLES.values())


def test_latex_keeps_the_tables_and_puts_the_words_in_comments(summary):
    text = report.render_summary(summary, "latex")
    assert r"0.9920 $\pm$ 0.0020 (3/3)" in text and r"(0/3; 3 diverged) \dag{}" in text and "$-$1,616" in text
    words = " ".join(" ".join(line.lstrip("%") for line in text.splitlines() if line.startswith("%")).split())
    assert f"Q3. {report.QUESTIONS[2]}" in words and " ".join(summary.answers[1].split()) in words
    assert f'C1. "{summary.conclusions[0].claim}"' in words


def test_csv_is_one_table_of_numbers_without_comment_lines(summary):
    lines = report.render_summary(summary, "csv").splitlines()
    assert lines[0].startswith("sweep,table,metric,arch,dataset,") and not any(line.startswith("#") for line in lines)
    assert "±" not in "".join(lines)   # numbers, not the tables' text


def test_the_tables_come_in_report_order(summary):
    assert list(summary.tables()) == list(report.TITLES.values())
    assert summary.tables()[report.TITLES["validation"]] is summary.validation
