"""report.webpage: report.html, one self-contained page that a real headless browser (chromium) renders without error.

The browser tests skip, saying why, only where no chromium can be found: it is an optional test
dependency (Debian: ``apt-get install chromium``; .ci/run installs it).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html import escape, unescape
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image
import pytest

from orchestrator import report
from orchestrator.report.layout import IMAGE_TITLES

BROWSER = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
needs_browser = pytest.mark.skipif(BROWSER is None, reason="no headless browser: none of chromium, chromium-browser, "
                                                           "google-chrome is on PATH (apt-get install chromium)")
BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--enable-logging=stderr", "--v=0"]


class _Elements(HTMLParser):
    """Tags with their attributes, and the text of every element, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(markup: str) -> _Elements:
    parser = _Elements()
    parser.feed(markup)
    return parser


@pytest.fixture(scope="module")
def page(synthetic_report) -> Path:
    return synthetic_report.html


def _browse(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BROWSER, *BROWSER_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
                          capture_output=True, text=True, timeout=180)


def _console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_the_page_refers_to_nothing_outside_itself(page):
    markup = page.read_text()
    elements = _parse(markup)
    assert not [tag for tag, _ in elements.tags if tag in ("link", "script", "img", "iframe", "object")]
    references = [value for _, attrs in elements.tags for name, value in attrs.items()
                  if name in ("src", "href", "xlink:href", "data", "action") and value]
    # only the SVGs' own glyphs and clip paths, and the heatmap's pixels inside its SVG
    assert references and all(value.startswith(("#", "data:image/png;base64,")) for value in references)
    assert set(re.findall(r"url\(\s*['\"]?(.)", markup)) <= {"#"} and "@import" not in markup


def test_the_page_holds_every_table_plot_and_answer(synthetic_summary, page):
    elements = _parse(page.read_text())
    text = " ".join(" ".join(elements.text).split())
    assert [tag for tag, _ in elements.tags].count("table") == len(report.TITLES)
    assert [tag for tag, _ in elements.tags].count("svg") == len(IMAGE_TITLES)
    assert all(title in text for title in report.TITLES.values())
    assert all(answer in text for answer in synthetic_summary.answers)
    assert report.SYNTHETIC_NOTE in text and "ours minus the study's" in text
    assert "0.0670 (collapsed: class 0)" in text   # the study's VGG-like on SVHN
    assert "0.9750 ± 0.0071 (2/2)" in text and "0.9900 (1/2; 1 collapsed) †" in text


def test_the_page_reads_in_the_printed_order_with_the_notes_folded(synthetic_summary, page):
    """Like ``archbench summarize``'s print: the notes in a few lines, Table 1, then the short answers."""
    markup = page.read_text()
    order = [escape(report.SYNTHETIC_NOTE), '<details class="notes">', 'id="table-accuracy"', '<section id="short">',
             "<h2>The study's questions</h2>"]
    positions = [markup.index(marker) for marker in order]
    assert positions == sorted(positions)
    short = markup.split('<section id="short">')[1].split("</section>")[0]
    assert all(escape(answer) in short for answer in synthetic_summary.short_answers)
    assert all(f'href="#conclusion-{c.number}"' in short for c in synthetic_summary.conclusions)
    folded = markup.split('<details class="notes">')[1].split("</details>")[0]
    assert all(escape(note) in folded for note in synthetic_summary.notes if note != report.SYNTHETIC_NOTE)
    assert escape(report.SYNTHETIC_NOTE) not in folded


def test_plot_ids_are_unique_on_the_page(page):
    ids = [attrs["id"] for _, attrs in _parse(page.read_text()).tags if attrs.get("id")]
    assert len(ids) == len(set(ids))


@needs_browser
def test_the_browser_renders_every_table_and_image_without_console_errors(synthetic_summary, page, tmp_path):
    result = _browse(page, tmp_path / "profile", "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    elements = _parse(result.stdout)
    tags = [tag for tag, _ in elements.tags]
    assert tags.count("table") == len(report.TITLES) and tags.count("svg") == len(IMAGE_TITLES)
    assert {attrs.get("id") for _, attrs in elements.tags} >= {f"figure-{name}" for name in IMAGE_TITLES}
    assert all(answer in " ".join(" ".join(elements.text).split()) for answer in synthetic_summary.answers)
    assert _console_errors(result.stderr) == []


@needs_browser
def test_a_script_error_would_show_on_the_console(tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><html><body><script>undefinedFunction()</script></body></html>")
    result = _browse(broken, tmp_path / "profile", "--dump-dom")
    assert _console_errors(result.stderr), "the console check cannot see errors: " + result.stderr[-2000:]


@needs_browser
def test_the_screenshot_is_not_blank(page, tmp_path):
    shot = tmp_path / "page.png"
    result = _browse(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2400",
                     "--hide-scrollbars")
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (2400, 1280)
    assert pixels.std() > 0.05                      # not one flat colour
    assert (pixels.mean(axis=2) < 0.5).mean() > 0.01   # some dark ink: text, lines, plots


LAPTOP = (1280, 900)
MEASURE_WIDTHS = """<script>
document.body.setAttribute("data-widths", JSON.stringify([...document.querySelectorAll("section.table .scroll")]
    .map(box => [box.parentElement.id, box.scrollWidth, box.clientWidth])));
</script>"""


@needs_browser
def test_tables_1_to_3_beside_the_study_fit_a_laptop_screen(smoke_shaped_report, tmp_path):
    """At 1,280 px no scroll box of Tables 1-3 scrolls sideways (the character count in test_tables checks Table 1
    without a browser)."""
    page = tmp_path / "measured.html"
    page.write_text(smoke_shaped_report.html.read_text().replace("</body>", MEASURE_WIDTHS + "</body>"))
    result = _browse(page, tmp_path / "profile", "--dump-dom", f"--window-size={LAPTOP[0]},{LAPTOP[1]}")
    assert result.returncode == 0, result.stderr[-2000:]
    found = re.search(r'data-widths="([^"]*)"', result.stdout)
    assert found, "the page's script did not run"
    widths = {name: (scroll, client) for name, scroll, client in json.loads(unescape(found.group(1)))}
    for name in ("table-accuracy", "table-time", "table-params"):
        scroll, client = widths[name]
        assert 0 < client and scroll <= client, f"{name} scrolls sideways: {scroll} px in a {client} px box"
