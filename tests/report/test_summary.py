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


def _smoke_like() -> report.Summary:
    """The smoke sweep's shape: the five architectures on the four synthetic twins, one seed a cell, one collapse."""
    from report_frames import frames, sweep_rows

    from orchestrator import study
    cells = {(arch, f"synthetic_{dataset}"): [0.5 + 0.02 * i + 0.1 * j]
             for i, arch in enumerate(study.ARCHS) for j, dataset in enumerate(study.DATASETS)}
    cells[("resnet20v2", "synthetic_fashion_mnist")] = ["collapsed"]
    return report.summarize(*frames(sweep_rows("smoke", cells, synthetic=True)))


def _longest_wrap(text: str, index_columns: int) -> int:
    """The most lines one table row's cell runs over: a body line whose index columns are all blank continues the
    row above it."""
    longest = run = 1
    for line in text.splitlines():
        columns = line.split("│")[1:-1]
        if not columns:
            continue
        run = run + 1 if not any(c.strip() for c in columns[:index_columns]) else 1
        longest = max(longest, run)
    return longest


def test_the_default_print_of_a_smoke_sweep_fits_a_screen_and_claims_no_verdict():
    text = report.render_short(_smoke_like(), width=100)
    lines = text.splitlines()
    assert len(lines) <= 120 and max(map(len, lines)) <= 100
    assert "SUPPORTED" not in text and "CONTRADICTED" not in text
    assert sum(line.startswith(f"C{n} NOT TESTABLE: ") for n in range(1, 8) for line in lines) == 7
    table_1, rest = text.split("Table 2:")
    tables_2_and_3 = rest.split("Q1.")[0]
    assert _longest_wrap(table_1, 1) <= 2 and _longest_wrap(tables_2_and_3, 2) <= 2   # no cell over 2 lines
    for title in ("Table 1: test accuracy", "Table 2: training time", "Table 3: parameters", "Q1.", "Q2.", "Q3."):
        assert title in text
    assert "--details" in text


def test_details_print_everything_the_short_form_leaves_out(summary):
    short, full = report.render_short(summary, width=100), report.render_summary(summary, "table", width=100)
    assert report.TITLES["validation"] not in short and report.TITLES["validation"] in full
    assert "Rule:" not in short and "Rule:" in full
    assert len(full.splitlines()) > len(short.splitlines())
