"""One sweep's results as the study's three tables, the answers to its three questions, its seven conclusions
checked, and a report.

How the CLI uses it (every error is a ReportError with a one-line message)::

    summary = summarize(store.trials(), store.history(), sweep=None, vs_study=False)
    print(render_short(summary))         # the default print; render_summary(summary, fmt) has everything
    write_report(summary, out_dir)       # out_dir/report.md, report.html, PNG and SVG plots

Numbers and words are apart. Numbers: ``analysis`` gathers one sweep's ``Analysis`` from ``cells``
(per-cell statistics), ``study_figures`` (the study's figures beside them), ``questions`` (the numbers
behind the three questions) and ``significance`` (Welch tests of one architecture against another,
Holm-corrected). Words: ``labels`` names datasets and groups of datasets, ``tables`` and ``answers`` put
the numbers into words, ``conclusions`` checks the study's conclusions and words each verdict, ``summary``
renders them as text (``tidy`` as one CSV table, ``latex`` as a document's tables), ``layout``, ``pages``
and ``webpage`` write the report files;
``orchestrator.plots`` draws the figures from the numbers. ``model_params.parameter_counts`` and
``params_table`` make Table 3 for ``archbench params`` the way the summary makes it.
"""

from orchestrator.report.analysis import Analysis, ReportError, analyze
from orchestrator.report.answers import QUESTIONS, SYNTHETIC_NOTE
from orchestrator.report.attempts import choose_attempts
from orchestrator.report.model_params import parameter_counts
from orchestrator.report.pages import ReportPaths, write_report
from orchestrator.report.summary import Summary, render_short, render_summary, summarize
from orchestrator.report.tables import (
    NO_STUDY_FIGURE,
    NO_VALUE,
    NOT_REACHED,
    NOT_RUN,
    PARAMS_VS_STUDY_TITLE,
    TITLES,
    params_table,
)

__all__ = [
    "Analysis", "NOT_REACHED", "NOT_RUN", "NO_STUDY_FIGURE", "NO_VALUE", "PARAMS_VS_STUDY_TITLE", "QUESTIONS",
    "ReportError", "ReportPaths", "SYNTHETIC_NOTE", "Summary", "TITLES", "analyze", "choose_attempts",
    "parameter_counts", "params_table",
    "render_short", "render_summary", "summarize", "write_report",
]
