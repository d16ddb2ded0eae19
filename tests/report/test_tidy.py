"""report.tidy: `summarize --format csv` is one tidy table that pandas reads back, numbers equal to the Analysis."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from orchestrator import report
from orchestrator.report.tidy import CELL_METRICS, COLUMNS


def read_back(summary: report.Summary) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(report.render_summary(summary, "csv")))


def rows(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    return table[table["metric"] == metric].set_index(["arch", "dataset"])


@pytest.fixture(scope="module")
def tidy(summary):
    return read_back(summary)


def test_csv_is_one_table_with_numeric_columns(tidy, summary):
    assert list(tidy.columns[:len(COLUMNS)]) == list(COLUMNS)
    for column in ("mean", "std", "n", "n_ok", "n_seeds", "n_diverged", "n_collapsed", "n_failed", "study"):
        assert pd.api.types.is_numeric_dtype(tidy[column]), column
    assert set(tidy["sweep"]) == {summary.sweep} and set(tidy["table"]) == set(report.TITLES)


@pytest.mark.parametrize("table, metric, mean, std, study", CELL_METRICS)
def test_every_cell_number_equals_the_analysis(tidy, summary, table, metric, mean, std, study):
    cells = summary.analysis.cells
    got = rows(tidy, metric).reindex(cells.index)
    assert (got["table"] == table).all()
    np.testing.assert_array_equal(got["mean"].to_numpy(float), cells[mean].to_numpy(float))
    if std:
        np.testing.assert_array_equal(got["std"].to_numpy(float), cells[std].to_numpy(float))
    if study:
        np.testing.assert_array_equal(got["study"].to_numpy(float), cells[study].to_numpy(float))
    np.testing.assert_array_equal(got["n_ok"], cells["n_ok"])
    np.testing.assert_array_equal(got["n_seeds"], cells["n"])


def test_a_cell_row_carries_its_seeds_and_marks(tidy):
    accuracy = rows(tidy, "test_acc")
    diverged = accuracy.loc[("vgg", "cifar10")]   # three diverged seeds: no accuracy, marked unstable
    assert np.isnan(diverged["mean"]) and diverged["n_ok"] == 0 and diverged["n_diverged"] == 3
    assert diverged["n_seeds"] == 3 and diverged["marks"] == "unstable"
    failed = accuracy.loc[("resnet20v1", "mnist")]   # 0.95, 0.96 and a failed seed
    assert failed["mean"] == pytest.approx(0.955) and failed["n"] == 2 and failed["n_failed"] == 1
    assert failed["std"] == pytest.approx(np.std([0.95, 0.96], ddof=1)) and pd.isna(failed["marks"])
    assert np.isnan(accuracy.loc[("resnet20v2", "mnist"), "std"])   # one seed: no spread


def test_the_questions_numbers_equal_the_analysis(tidy, summary):
    analysis = summary.analysis
    ranks = rows(tidy, "rank").reindex(analysis.cells.index)
    np.testing.assert_array_equal(ranks["mean"].to_numpy(float), analysis.cells["rank"].to_numpy(float))
    overall = tidy[tidy["table"] == "overall"]
    for metric in analysis.overall.columns:
        got = overall[overall["metric"] == metric].set_index("arch")["mean"].reindex(analysis.overall.index)
        np.testing.assert_allclose(got.to_numpy(float), analysis.overall[metric].to_numpy(float), rtol=0, atol=0)
    traits = tidy[tidy["table"] == "traits"]
    for trait in analysis.traits.columns:
        got = traits[traits["metric"] == trait].set_index("dataset")["mean"].reindex(analysis.traits.index)
        np.testing.assert_array_equal(got.to_numpy(float), analysis.traits[trait].to_numpy(float))
    mean_ranks = tidy[tidy["metric"] == "mean_rank"]
    assert len(mean_ranks[mean_ranks["table"] == "trait_ranks"]) == analysis.trait_ranks.size


def test_question_1_names_the_winner_with_its_tests(separable_everywhere):
    best = read_back(separable_everywhere).query("table == 'best'")
    winners = best[best["metric"] == "winner"]
    assert sorted(zip(winners["arch"], winners["dataset"])) == [("lenet5", "mnist"), ("lenet5", "svhn")]
    holm = best[best["metric"] == "holm_p"].set_index("dataset")
    assert set(holm["arch"]) == {"vgg"} and (holm["mean"] < 0.05).all()
    comparisons = {c.lower: c for c in separable_everywhere.analysis.best.loc["mnist", "comparisons"]}
    assert holm.loc["mnist", "mean"] == comparisons["vgg"].p_holm
    lead = best[(best["metric"] == "lead") & (best["dataset"] == "mnist")]
    assert lead["mean"].iloc[0] == pytest.approx(0.96 - 0.81)


def test_synthetic_rows_say_so(synthetic_summary, tidy):
    assert read_back(synthetic_summary)["synthetic"].all()
    assert not tidy["synthetic"].any()


def test_the_commands_page_names_every_column_and_table():
    page = (Path(__file__).resolve().parents[2] / "docs" / "commands.md").read_text()
    assert all(f"`{name}`" in page for name in [*COLUMNS, *report.TITLES]), "docs/commands.md: --format csv"
