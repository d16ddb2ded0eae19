"""report.pages: report.md with its PNG and SVG plots beside it, and report.html, written into one directory."""

from __future__ import annotations

import re

import matplotlib.image
import pytest

from orchestrator import report
from orchestrator.report.layout import IMAGE_TITLES

PLOTS = tuple(IMAGE_TITLES)


@pytest.fixture(scope="module")
def report_path(report_paths):
    return report_paths.markdown


@pytest.mark.parametrize("name", PLOTS)
def test_plots_are_real_images(report_path, name):
    image = matplotlib.image.imread(report_path.parent / f"{name}.png")
    height, width = image.shape[:2]
    assert height > 300 and width > 300
    assert image[..., :3].std() > 0.05
    assert (report_path.parent / f"{name}.svg").read_text().lstrip().startswith("<?xml")


def test_report_links_existing_files(report_path, summary):
    text = report_path.read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert sorted(links) == sorted(f"{name}.png" for name in PLOTS)
    assert all((report_path.parent / link).is_file() for link in links)
    assert text.startswith("# archbench report: sweep `main`")
    for title in report.TITLES.values():
        assert f"**{title}**" in text
    assert re.search(r"\| lenet5 +\| test acc +\| 0\.9800 ± 0\.0100 \(3/3\) +\|", text)
    assert all(f"### {n}. {question}" in text for n, question in enumerate(report.QUESTIONS, start=1))
    assert all(answer in text for answer in summary.answers)
    assert "Synthetic" not in text


def test_synthetic_data_is_flagged_on_the_page(synthetic_report):
    assert "> **Synthetic data:" in synthetic_report.markdown.read_text()


def test_writing_again_replaces_the_pages_whole_with_the_same_pages(synthetic_summary, synthetic_report):
    first = [synthetic_report.markdown.read_text(), synthetic_report.html.read_text()]
    again = report.write_report(synthetic_summary, synthetic_report.html.parent)   # same numbers, same bytes
    assert [again.markdown.read_text(), again.html.read_text()] == first
    assert sorted(p.name for p in again.html.parent.iterdir() if "report" in p.name) == ["report.html", "report.md"]


def test_report_into_a_file_is_an_error(summary, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(report.ReportError) as caught:
        report.write_report(summary, blocker)
    assert "\n" not in str(caught.value) and str(blocker) in str(caught.value)
