"""Terminal tables fit the terminal: cells wrap between words, wide tables split into parts, no number is cut."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from helpers import run_in_process as run
from report_frames import frames, sweep_rows, write_results

from orchestrator import report
from orchestrator.render import render

NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?%?")
WIDE = {
    ("lenet5", "mnist"): [0.98, 0.97, 0.99],
    ("vgg", "mnist"): [0.990, 0.992, "collapsed"],
    ("resnet20v1", "mnist"): [0.95, 0.96, "failed"],
    ("squeezenet", "mnist"): ["diverged", 0.93],
    ("lenet5", "fashion_mnist"): [0.88, 0.89],
    ("vgg", "fashion_mnist"): [0.91],
    ("lenet5", "cifar10"): [0.60, 0.62, 0.64],
    ("vgg", "cifar10"): ["diverged"] * 3,
    ("lenet5", "svhn"): [0.80],
    ("vgg", "svhn"): [0.85],
    ("resnet20v1", "svhn"): [0.88],
    ("squeezenet", "svhn"): [0.70, 0.71],
}


def _numbers(text: str) -> set[str]:
    return set(NUMBER.findall(text))


def _table_numbers(summary: report.Summary) -> set[str]:
    cells = [str(v) for table in summary.tables().values() for v in table.to_numpy().ravel()]
    return set().union(*map(_numbers, cells))


@pytest.fixture(scope="module")
def summary():
    return report.summarize(*frames(sweep_rows("wide", WIDE)), vs_study=True)


@pytest.mark.parametrize("width", [60, 80, 100, 140])
def test_every_line_fits_and_every_number_is_whole(summary, width):
    text = report.render_summary(summary, "table", width=width)
    assert max(map(len, text.splitlines())) <= width
    missing = _table_numbers(summary) - _numbers(text)
    assert not missing, f"cut or lost at width {width}: {sorted(missing)}"
    assert "part 1 of" in text   # Table 3 beside the study is wider than any of these widths


def test_a_table_that_fits_is_one_table_without_wrapped_cells():
    df = pd.DataFrame({"MNIST": ["0.9800 ± 0.0100 (3/3)"], "SVHN": ["— (0/3; 3 diverged) †"]},
                      index=pd.Index(["lenet5"], name="arch"))
    text = render(df, "table", "Table 1", width=100)
    assert "part" not in text and "0.9800 ± 0.0100 (3/3)" in text and "— (0/3; 3 diverged) †" in text


def test_wrapped_cells_break_between_words_only():
    df = pd.DataFrame({c: ["0.9550 ± 0.0071 (2/3; 1 failed) †"] for c in ("MNIST", "CIFAR-10", "SVHN", "Fashion")},
                      index=pd.Index(["resnet20v1"], name="arch"))
    text = render(df, "table", width=60)
    assert max(map(len, text.splitlines())) <= 60
    words = [w for line in text.splitlines() for w in re.split(r"[\s│┃]+", line) if w]
    assert {"0.9550", "0.0071", "(2/3;", "failed)", "†"} <= set(words)


def test_markdown_keeps_the_full_width(summary):
    cell = summary.accuracy.loc[("resnet20v1", "test acc"), "MNIST"]
    assert cell == "0.9550 ± 0.0071 (2/3; 1 failed)"
    text = report.render_summary(summary, "markdown", width=60)
    assert cell in text and "part 1 of" not in text
    assert max(map(len, text.splitlines())) > 100


def test_params_csv_reads_back_as_the_table(monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "params", "--format", "csv")
    assert code == 0, err
    table = report.params_table(report.parameter_counts(), vs_study=True)
    back = pd.read_csv(io.StringIO(out), index_col=[0, 1], dtype=str, keep_default_na=False)
    assert back.index.names == table.index.names and list(back.columns) == list(table.columns)
    assert (back.to_numpy() == table.to_numpy()).all()


def test_summarize_fits_a_100_column_terminal(monkeypatch, capsys, tmp_path, summary):
    write_results(tmp_path / "results", *frames(sweep_rows("wide", WIDE)))
    monkeypatch.setenv("COLUMNS", "100")
    code, out, err = run(monkeypatch, capsys, "summarize", "--results", str(tmp_path / "results"), "--vs-study",
                         "--details")
    assert code == 0, err
    assert max(map(len, out.splitlines())) <= 100
    assert not _table_numbers(summary) - _numbers(out)
    assert "0.0670" in out and "class 0" in out    # the study's collapsed VGG/SVHN, whole


def test_params_fits_a_100_column_terminal(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "100")
    code, out, err = run(monkeypatch, capsys, "params")
    assert code == 0, err
    assert max(map(len, out.splitlines())) <= 100
    table = report.params_table(report.parameter_counts(), vs_study=True)
    assert set().union(*(_numbers(v) for v in table.to_numpy().ravel())) <= _numbers(out)


def test_table_1_beside_the_study_fits_a_laptop_screen_with_four_datasets_of_mixed_outcomes(summary):
    """The natural width (no cell wrapped) of Table 1 in characters of 0.9rem text (about 8 px each) with each
    cell's padding (about 2 characters) fits 1,366 px less the page's margins: 150 characters."""
    flat = summary.accuracy.reset_index()
    assert len(flat.columns) == 2 + 4
    assert sum(max(len(str(v)) for v in [column, *flat[column]]) + 2 for column in flat.columns) <= 150


def test_summarize_prints_the_short_form_unless_asked_for_details(monkeypatch, capsys, tmp_path, summary):
    write_results(tmp_path / "results", *frames(sweep_rows("wide", WIDE)))
    monkeypatch.setenv("COLUMNS", "100")
    code, short, err = run(monkeypatch, capsys, "summarize", "--results", str(tmp_path / "results"))
    assert code == 0, err
    assert short.strip() == report.render_short(report.summarize(*frames(sweep_rows("wide", WIDE))), width=100).strip()
    code, full, err = run(monkeypatch, capsys, "summarize", "--results", str(tmp_path / "results"), "--details")
    assert code == 0, err
    assert len(full.splitlines()) > len(short.splitlines()) and "Rule:" in full and "Rule:" not in short
