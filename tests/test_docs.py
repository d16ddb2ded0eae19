"""The docs: generated tables as the code gives them, a short README, links and test names that resolve."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
TEST_REFERENCE = re.compile(r"((?:\w+/)*test_\w+\.py)::(test_\w+)")   # as tests/<file>::<function>
TEST_FILE = re.compile(r"\btests/(?:\w+/)*\w+\.py")


def _load_generate():
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _load_generate()


def test_no_docs_page_is_stale(capsys):
    assert generate.main(["--check"]) == 0, capsys.readouterr()


def test_every_generated_table_is_on_a_page():
    on_pages = {name for page in generate.pages() for name in generate.table_names(page.read_text())}
    assert on_pages == set(generate.TABLES)


def test_a_stale_table_is_named_then_rewritten_and_the_hand_written_text_kept(tmp_path, capsys):
    page = tmp_path / "recipes.md"
    page.write_text("Prose before.\n\n<!-- generated: recipes -->\n| old |\n<!-- end generated -->\n\nProse after.\n")
    (tmp_path / "current.md").write_text("Nothing generated here.\n")
    assert generate.main(["--check"], docs=tmp_path) == 1
    assert capsys.readouterr().out == f"stale: {page} (run: python docs/generate.py)\n"
    assert generate.write_pages(tmp_path) == [page]
    text = page.read_text()
    assert "| old |" not in text and "| `lenet5` | adamw |" in text
    assert text.startswith("Prose before.\n\n") and text.endswith("\n\nProse after.\n")
    assert generate.stale_pages(tmp_path) == []


def test_the_option_tables_give_every_command_and_the_plans_defaults():
    from orchestrator.plan import SweepPlan
    from orchestrator.progress import HEARTBEAT_SECONDS_VAR
    from orchestrator.train import PROGRESS_SECONDS

    plan = SweepPlan("t", ("lenet5",), ("mnist",))
    options = generate.options_table()
    for words in generate.cli_commands():
        assert f"**`archbench {words}`**: " in options
    for row in [f"| `--seeds <int>` | `{plan.seeds}` |", f"| `--max-failures <int>` | `{plan.max_failures}` |",
                f"| `--val-split <float>` | `{plan.budget.val_split:g}` |",
                f"| `--cpus-per-trial <float>` | `{plan.cpus_per_trial:g}` |",
                f"| `--download` / `--no-download` | `{'--download' if plan.download else '--no-download'}` |",
                "| `--format <table\\|markdown\\|csv\\|latex>` | `table` |"]:
        assert row in options, row
    assert f"| `{HEARTBEAT_SECONDS_VAR}` | {PROGRESS_SECONDS:g} |" in generate.environment_table()


def test_a_part_naming_no_table_is_an_error_naming_it():
    with pytest.raises(ValueError, match="'no-such-table'"):
        generate.rewrite("<!-- generated: no-such-table -->\n<!-- end generated -->\n")


def test_the_readme_starts_and_stops():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 160, f"README.md has {len(lines)} lines; the reference belongs in docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_points_at_a_file(page):
    targets = [target.split("#")[0] for target in LINK.findall(page.read_text())
               if not re.match(r"[a-z]+:", target) and not target.startswith("#")]
    missing = [target for target in targets if not (page.parent / target).exists()]
    assert not missing, f"{page.name} links to missing files: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_test_a_page_names_is_in_the_file_it_names(page):
    text = page.read_text()
    missing = [f"{file}::{test}" for file, test in TEST_REFERENCE.findall(text)
               if not (ROOT / "tests" / file).exists()
               or not re.search(rf"^def {test}\(", (ROOT / "tests" / file).read_text(), re.MULTILINE)]
    missing += [path for path in TEST_FILE.findall(text) if not (ROOT / path).exists()]
    assert not missing, f"{page.name} names tests that are not where it says: {missing}"
