"""LaTeX output compiles as printed: `summarize --format latex` and `params --format latex` inside a minimal article
with the packages their first line names, through pdflatex, with no line wider than the page."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import run_in_process as run
from report_frames import frames, sweep_rows, trial_row, write_results

from orchestrator import report
from orchestrator.render import LATEX_PACKAGES, latex_caption, latex_tables, latex_text

OVERFULL_TOLERANCE_PT = 1.0
PDFLATEX = shutil.which("pdflatex")
needs_pdflatex = pytest.mark.skipif(
    PDFLATEX is None, reason="pdflatex not installed (apt-get install texlive-latex-recommended; .ci/run does)")
# Every outcome and mark on the four datasets, with the study's figures beside: the widest tables a summary makes.
MIXED = {
    ("lenet5", "mnist"): [0.98, 0.97, 0.99],
    ("vgg", "mnist"): [0.990, 0.992, "collapsed"],
    ("resnet20v1", "mnist"): [0.95, 0.96, "failed"],
    ("squeezenet", "mnist"): ["diverged", 0.93],
    ("lenet5", "fashion_mnist"): [0.88, 0.89, 0.90],
    ("vgg", "fashion_mnist"): [0.91, 0.92, 0.93],
    ("lenet5", "cifar10"): [0.60, 0.62, 0.64],
    ("vgg", "cifar10"): ["diverged"] * 3,
    ("resnet20v2", "cifar10"): [0.70, 0.72, 0.74],
    ("lenet5", "svhn"): [0.80],
    ("vgg", "svhn"): [0.85],
    ("resnet20v1", "svhn"): [0.88],
    ("squeezenet", "svhn"): [0.70, 0.71],
}


def _mixed_frames():
    rows = sweep_rows("mixed", MIXED)
    rows.append(trial_row("mixed", "resnet20v2", "mnist", 0, 0.97, unpredicted_classes=[3, 7]))     # ‡
    rows += [trial_row("mixed", "squeezenet", "fashion_mnist", 0, outcome, attempt=attempt)           # §
             for attempt, outcome in enumerate(["collapsed", 0.85], start=1)]
    return frames(rows)


@pytest.fixture(scope="module")
def mixed():
    return report.summarize(*_mixed_frames(), vs_study=True)


def compile_latex(text: str, directory: Path) -> tuple[int, str]:
    """``text`` in a minimal article with the packages its first line names, through pdflatex: (exit code, log)."""
    packages = re.search(r"\\usepackage\{[^}]*\}", text.splitlines()[0])
    assert packages, f"the first line names no packages: {text.splitlines()[0]!r}"
    (directory / "doc.tex").write_text("\\documentclass{article}\n" + packages.group(0) +
                                       "\n\\begin{document}\n" + text + "\n\\end{document}\n", encoding="utf-8")
    done = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=directory,
                          capture_output=True, text=True, timeout=120)
    return done.returncode, (directory / "doc.log").read_text(errors="replace")


def assert_compiles_within_the_page(text: str, directory: Path) -> None:
    code, log = compile_latex(text, directory)
    errors = [line for line in log.splitlines() if line.startswith("! ")]
    assert code == 0, f"pdflatex failed: {errors or log[-2000:]}"
    overfull = [float(pt) for pt in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert all(pt <= OVERFULL_TOLERANCE_PT for pt in overfull), f"lines wider than the page by {overfull} pt"


def test_the_report_symbols_become_latex_and_nothing_else_leaves_ascii():
    assert latex_text("0.9550 ± 0.0071 (2/3; 1 failed) †‡§") == \
        r"0.9550 $\pm$ 0.0071 (2/3; 1 failed) \dag{}\ddag{}\S{}"
    assert latex_text("vgg − lenet5, Δ s, —, 32×32") == r"vgg $-$ lenet5, $\Delta$ s, ---, 32$\times$32"
    assert latex_text("a_b 50% & #1 $x {y} ~^\\") == \
        r"a\_b 50\% \& \#1 \$x \{y\} \textasciitilde{}\textasciicircum{}\textbackslash{}"
    assert latex_text("-0.0034, best epochs 11-12") == "$-$0.0034, best epochs 11-12"
    assert latex_text("Café ≥ 3 ✓") == r"Cafe $\geq$ 3 ?"


def test_a_caption_leaves_the_numbering_to_latex():
    assert latex_caption("Table 1: test accuracy") == "Test accuracy"
    assert latex_caption("Q1: best architecture per dataset") == "Q1: best architecture per dataset"
    text = latex_tables(report.params_table(report.parameter_counts()), "Table 3: parameters")
    assert r"\caption{Parameters" in text and "Table 3" not in text


def test_the_summary_is_floats_and_comments_only(mixed):
    text = report.render_summary(mixed, "latex")
    first = text.splitlines()[0]
    assert first.startswith("%") and all(package in first for package in LATEX_PACKAGES)
    assert text.isascii() or all(line.startswith("%") for line in text.splitlines() if not line.isascii())
    assert r"\multirow" not in text and "Table 1: Table 1" not in text
    outside = re.sub(r"\\begin\{table\}.*?\\end\{table\}", "", text, flags=re.S)
    assert all(line.startswith("%") for line in outside.splitlines() if line.strip()), "a bare paragraph"
    assert f"% Q1. {report.QUESTIONS[0]}" in text and r"\caption{Test accuracy}" in text
    legend = text.split(r"\caption{Test accuracy}")[1].split(r"\end{table}")[0]
    assert r"\dag{} unstable" in legend    # Table 1 carries what its marks mean


@needs_pdflatex
def test_the_summary_beside_the_study_compiles_within_the_page(mixed, tmp_path):
    text = report.render_summary(mixed, "latex")
    for mark in (r"\dag{}", r"\ddag{}", r"\S{}", r"$\Delta$", "$-$"):
        assert mark in text
    assert_compiles_within_the_page(text, tmp_path)


@needs_pdflatex
def test_summarize_latex_of_a_synthetic_sweep_compiles_as_printed(monkeypatch, capsys, tmp_path):
    smoke = {(arch, f"synthetic_{dataset}"): [0.5, 0.6] for arch in ("lenet5", "vgg", "resnet20v1", "squeezenet")
             for dataset in ("mnist", "fashion_mnist", "cifar10", "svhn")}
    write_results(tmp_path / "results", *frames(sweep_rows("smoke", smoke, synthetic=True)))
    code, out, err = run(monkeypatch, capsys, "summarize", "--results", str(tmp_path / "results"), "--format", "latex")
    assert code == 0, err
    for caption in ("Test accuracy", "Training time", "Parameters"):   # Tables 1-3 whole, not split
        assert f"\\caption{{{caption}}}" in out
    assert_compiles_within_the_page(out, tmp_path)


@needs_pdflatex
def test_params_latex_compiles_as_printed(monkeypatch, capsys, tmp_path):
    code, out, err = run(monkeypatch, capsys, "params", "--format", "latex")
    assert code == 0, err
    assert "1,505,610" in out
    assert_compiles_within_the_page(out, tmp_path)
