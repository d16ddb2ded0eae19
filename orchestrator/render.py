"""Render a pandas table as text: a rich terminal table, Markdown, CSV or LaTeX."""

from __future__ import annotations

import io

import pandas as pd
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "markdown", "csv", "latex")


def render(df: pd.DataFrame, fmt: str = "table", title: str | None = None) -> str:
    """Return ``df`` as text in ``fmt`` (one of ``FORMATS``); the index is written as the first column(s)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; valid: {', '.join(FORMATS)}")
    if fmt == "csv":
        return df.to_csv()
    if fmt == "markdown":
        named_index = any(name is not None for name in df.index.names)
        flat = df.reset_index() if named_index else df
        text = flat.to_markdown(index=not named_index, disable_numparse=True)
        return f"**{title}**\n\n{text}\n" if title else text + "\n"
    if fmt == "latex":
        return df.to_latex(caption=title)
    return _rich_text(df, title)


def _rich_text(df: pd.DataFrame, title: str | None) -> str:
    table = Table(title=title, show_lines=False)
    index_names = [str(n) if n is not None else "" for n in df.index.names]
    for name in index_names:
        table.add_column(name, style="bold")
    for column in df.columns:
        label = " / ".join(map(str, column)) if isinstance(column, tuple) else str(column)
        table.add_column(label, justify="right")
    for key, row in df.iterrows():
        keys = key if isinstance(key, tuple) else (key,)
        table.add_row(*(str(k) for k in keys), *("" if pd.isna(v) else str(v) for v in row))
    buffer = io.StringIO()
    Console(file=buffer, width=200, force_terminal=False, color_system=None).print(table)
    return buffer.getvalue()
