"""Command-line options that more than one command takes, each declared once with its default."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

RESULTS_DIR = Path("results")

ResultsOpt = Annotated[Path, typer.Option("--results", help="Results directory (Parquet tables).")]
