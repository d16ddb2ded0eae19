r"""Render a pandas table as text: a rich terminal table, Markdown, CSV or LaTeX.

A terminal table fits the width it is given (default: the terminal's, ``$COLUMNS`` first, 100 when
there is no terminal): cells wrap between words, and when the columns cannot all fit at the width of
their longest word the table is split into parts that each repeat the index. A number is never cut.
Markdown and CSV keep their full width.

LaTeX is laid out the same way on an article's line (LATEX_WIDTH characters of ``\footnotesize``
text): each part is a ``table`` float with a booktabs ``tabular``, long cells wrap in ragged-right
``p`` columns, and a part still wider than ``\linewidth`` (a narrower layout) is shrunk to it. It
compiles with pdflatex given the packages LATEX_PACKAGES, which its first line names: every
character outside ASCII is written as a LaTeX command, and no ``\multirow``.
"""

from __future__ import annotations

import io
import re
import shutil
import textwrap
import unicodedata
from typing import Sequence

import pandas as pd
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "markdown", "csv", "latex")
DEFAULT_WIDTH = 100        # when the output is not a terminal and $COLUMNS is not set
COMFORTABLE = 16           # a column is packed this wide (or narrower, if that is all it needs) before wrapping
_CELL_OVERHEAD = 3         # padding either side and the separator on the right
_EDGE = 1                  # the table's left border
LATEX_PACKAGES = ("booktabs", "array", "graphicx")   # rules; ragged-right p columns; \resizebox
# Characters of \footnotesize text (about 4.2 pt each) on an article's 345 pt line are 82; a table up to 15% wider
# is shrunk to the line (to \scriptsize at most) rather than split.
LATEX_WIDTH = 96
_LATEX_CELL_OVERHEAD = 2   # \tabcolsep (4 pt) either side
LATEX_COMFORTABLE = 15     # as COMFORTABLE: "0.9550 ± 0.0071" on one line
_LATEX_EM_PER_CHARACTER = 0.5
_TABLE_NUMBER = re.compile(r"^Table \d+:\s*")
_NEGATIVE = re.compile(r"(?<![\w.])-(?=\d)")   # "-0.0034" (not "11-12"): a minus, not a hyphen
# Characters LaTeX gives a meaning to, and the non-ASCII ones the tables use, as LaTeX writes them.
_LATEX = str.maketrans({
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
    "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "\u2212": "$-$", "±": r"$\pm$", "†": r"\dag{}", "‡": r"\ddag{}", "§": r"\S{}", "Δ": r"$\Delta$",
    "—": "---", "–": "--", "×": r"$\times$", "·": r"$\cdot$", "→": r"$\to$", "≥": r"$\geq$",
    "≤": r"$\leq$", "≈": r"$\approx$", "²": "$^2$", "³": "$^3$", "…": r"\dots{}", "\u00a0": "~",
})


def terminal_width() -> int:
    """The width to fit terminal text into: ``$COLUMNS``, else the terminal's, else DEFAULT_WIDTH."""
    return shutil.get_terminal_size(fallback=(DEFAULT_WIDTH, 24)).columns


def render(df: pd.DataFrame, fmt: str = "table", title: str | None = None, width: int | None = None) -> str:
    """Return ``df`` as text in ``fmt`` (one of ``FORMATS``); the index is written as the first column(s).

    ``width`` applies to ``table`` only (default: ``terminal_width()``).
    """
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
        return latex_requirements() + "\n" + latex_tables(df, title)
    return _fitted_text(df, title, width or terminal_width())


def latex_requirements() -> str:
    """The first line of LaTeX output: a comment naming the packages it needs."""
    return (f"% Needs \\usepackage{{{','.join(LATEX_PACKAGES)}}} in the preamble (packages of TeX Live's "
            "latex-base and latex-recommended); compiles with pdflatex.")


def latex_text(text: str) -> str:
    """``text`` as LaTeX that pdflatex typesets: its special characters escaped, the report's symbols as
    commands, any other non-ASCII character as its closest ASCII ("é" -> "e"), or "?" where there is none."""
    escaped = _NEGATIVE.sub("$-$", str(text).translate(_LATEX))
    if escaped.isascii():
        return escaped
    return "".join(c if c.isascii() else
                   unicodedata.normalize("NFKD", c).encode("ascii", "ignore").decode() or "?" for c in escaped)


def latex_caption(title: str) -> str:
    """A title as a caption: without its own "Table N: " (LaTeX numbers the tables), first letter capital."""
    caption = _TABLE_NUMBER.sub("", title)
    return caption[:1].upper() + caption[1:]


def latex_tables(df: pd.DataFrame, title: str | None = None, note: str | None = None) -> str:
    """``df`` as one ``table`` float per part (see the module docstring), ``note`` below the last part."""
    index_headers, index_columns, headers, columns, keys = _text_cells(df)

    def packed(header: str, cells: Sequence[str]) -> int:
        return _comfortable(header, cells, LATEX_COMFORTABLE) + _LATEX_CELL_OVERHEAD

    room = LATEX_WIDTH - sum(map(packed, index_headers, index_columns))
    parts = _parts(headers, list(map(packed, headers, columns)), room)
    floats = []
    for number, part in enumerate(parts, start=1):
        caption = None
        if title:
            caption = latex_caption(title) + (f" (part {number} of {len(parts)})" if len(parts) > 1 else "")
        tabular = _latex_tabular([*index_headers, *(headers[i] for i in part)],
                                 [*_sparse(index_columns), *(columns[i] for i in part)],
                                 len(index_headers), _group_starts(keys))
        floats.append(_latex_float(tabular, caption, note if number == len(parts) else None))
    return "\n".join(floats)


def _latex_tabular(headers: Sequence[str], columns: Sequence[Sequence[str]], index_count: int,
                   group_starts: set[int]) -> str:
    """A booktabs ``tabular`` of ``columns`` (the first ``index_count`` left-aligned, the others right), fitted
    to LATEX_WIDTH: a column too wide wraps its cells in a ragged-right ``p`` column."""
    widths = _fit([[h, *c] for h, c in zip(headers, columns)], LATEX_WIDTH, _LATEX_CELL_OVERHEAD)
    specs, header_cells = [], []
    for position, (header, column, width) in enumerate(zip(headers, columns, widths)):
        align = "l" if position < index_count else "r"
        if width < _natural(column):
            specs.append(f">{{\\raggedright\\arraybackslash}}p{{{width * _LATEX_EM_PER_CHARACTER:g}em}}")
            header_cells.append(latex_text(header))
        else:
            specs.append(align)
            header_cells.append(_latex_stack(header, width, align))
    lines = [f"\\begin{{tabular}}{{{''.join(specs)}}}", r"\toprule", " & ".join(header_cells) + r" \\", r"\midrule"]
    for row in range(len(columns[0]) if columns else 0):
        if row in group_starts:
            lines.append(r"\midrule")
        lines.append(" & ".join(latex_text(column[row]) for column in columns) + r" \\")
    return "\n".join([*lines, r"\bottomrule", r"\end{tabular}"])


def _latex_float(tabular: str, caption: str | None, note: str | None) -> str:
    r"""``tabular`` in a ``table`` float in \footnotesize, shrunk to the line where wider, with its caption and
    label (from the caption's words) above and ``note`` below."""
    lines = [r"\begin{table}[htbp]", r"\centering"]
    if caption:
        label = re.sub(r"[^a-z0-9]+", "-", caption.lower()).strip("-")
        lines.append(f"\\caption{{{latex_text(caption)}}}\\label{{tab:{label}}}")
    lines += [r"\footnotesize", r"\setlength{\tabcolsep}{4pt}",
              r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%", tabular + "}"]
    if note:
        lines += [r"\par\smallskip", r"\raggedright " + latex_text(note)]
    return "\n".join([*lines, r"\end{table}"]) + "\n"


def _latex_stack(header: str, width: int, align: str) -> str:
    """A header wrapped between words to ``width`` characters, its lines stacked in one cell."""
    lines = [latex_text(line) for line in textwrap.wrap(header, max(width, 1), break_long_words=False)]
    if len(lines) <= 1:
        return "".join(lines)
    stacked = r" \\ ".join(lines)
    return f"\\begin{{tabular}}[b]{{@{{}}{align}@{{}}}}{stacked}\\end{{tabular}}"


def wrap(text: str, width: int | None = None) -> str:
    """``text`` wrapped between words to ``width`` (default: ``terminal_width()``), its line breaks kept."""
    width = width or terminal_width()
    return "\n".join(textwrap.fill(line, width, break_long_words=False, break_on_hyphens=False) or line
                     for line in text.splitlines())


def _text_cells(df: pd.DataFrame) -> tuple[list[str], list[list[str]], list[str], list[list[str]], list[tuple]]:
    """``df`` as strings: index headers, index columns, headers, columns; and the index keys as tuples."""
    index_headers = [str(name) if name is not None else "" for name in df.index.names]
    keys = [key if isinstance(key, tuple) else (key,) for key in df.index]
    index_columns = [[str(key[level]) for key in keys] for level in range(len(index_headers))]
    headers = [" / ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in df.columns]
    columns = [["" if pd.isna(v) else str(v) for v in df[c]] for c in df.columns]
    return index_headers, index_columns, headers, columns, keys


def _fitted_text(df: pd.DataFrame, title: str | None, width: int) -> str:
    index_headers, index_columns, headers, columns, keys = _text_cells(df)
    index_width = sum(_comfortable(h, c) + _CELL_OVERHEAD for h, c in zip(index_headers, index_columns))
    room = width - _EDGE - index_width
    parts = _parts(headers, [_comfortable(h, c) + _CELL_OVERHEAD for h, c in zip(headers, columns)], room)
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=False, color_system=None, highlight=False)
    group_starts = _group_starts(keys)
    for number, part in enumerate(parts, start=1):
        part_title = title if len(parts) == 1 or title is None else f"{title} (part {number} of {len(parts)})"
        all_headers = [*index_headers, *(headers[i] for i in part)]
        all_columns = [*_sparse(index_columns), *(columns[i] for i in part)]
        widths = _fit([[h, *c] for h, c in zip(all_headers, all_columns)], width - _EDGE)
        table = Table(title=part_title)
        for position, (header, column_width) in enumerate(zip(all_headers, widths)):
            is_index = position < len(index_headers)
            table.add_column(header, style="bold" if is_index else None, justify="left" if is_index else "right",
                             width=column_width, overflow="fold")
        for row in range(len(keys)):
            table.add_row(*(column[row] for column in all_columns), end_section=row + 1 in group_starts)
        console.print(table)
    return buffer.getvalue()


def _longest_word(texts: Sequence[str]) -> int:
    return max((cell_len(word) for text in texts for word in text.split()), default=1)


def _natural(texts: Sequence[str]) -> int:
    return max((cell_len(line) for text in texts for line in text.splitlines()), default=1)


def _comfortable(header: str, cells: Sequence[str], comfortable: int = COMFORTABLE) -> int:
    """The width a column is packed at: its cells' natural width up to ``comfortable`` (the header may wrap),
    never less than its longest word."""
    return max(_longest_word([header, *cells]), min(_natural(cells), comfortable))


def _parts(headers: Sequence[str], widths: Sequence[int], room: int) -> list[list[int]]:
    """Column positions split into parts whose ``widths`` fit ``room``, keeping groups together where they fit.

    A group is a column and the columns after it whose header extends its header ("MNIST", "MNIST
    study", "MNIST Δ"). A group too wide for ``room`` is split between columns, a column too wide
    alone stands alone.
    """
    groups: list[list[int]] = []
    for position, header in enumerate(headers):
        if groups and header.startswith(headers[groups[-1][0]] + " "):
            groups[-1].append(position)
        else:
            groups.append([position])
    parts: list[list[int]] = [[]]
    used = 0
    for group in groups:
        group_width = sum(widths[i] for i in group)
        if parts[-1] and used + group_width > room:
            parts.append([])
            used = 0
        for position in group:
            if parts[-1] and used + widths[position] > room:
                parts.append([])
                used = 0
            parts[-1].append(position)
            used += widths[position]
    return parts


def _fit(columns: Sequence[Sequence[str]], room: int, overhead: int = _CELL_OVERHEAD) -> list[int]:
    """Content widths for ``columns`` (header first) within ``room``: the natural widths if they fit; else
    headers wrap first, then the widest columns are capped until they fit.

    No column gets less than its longest word, so wrapping never breaks a word.
    """
    budget = room - overhead * len(columns)
    natural = [_natural(c) for c in columns]
    if sum(natural) <= budget:
        return natural
    natural = [max(_natural(c[1:]), _longest_word(c[:1])) for c in columns]   # the header may wrap
    minimum = [min(_longest_word(c), n) for c, n in zip(columns, natural)]

    def widths(cap: int) -> list[int]:
        return [max(low, min(high, cap)) for low, high in zip(minimum, natural)]

    cap = max(natural)
    while cap > 1 and sum(widths(cap)) > budget:
        cap -= 1
    return widths(cap)


def _sparse(index_columns: list[list[str]]) -> list[list[str]]:
    """Blank an outer index value where it repeats the row above (the study's layout), keeping the innermost."""
    sparse = [list(column) for column in index_columns]
    for level in range(len(index_columns) - 1):
        for row in range(len(index_columns[level]) - 1, 0, -1):
            if all(index_columns[outer][row] == index_columns[outer][row - 1] for outer in range(level + 1)):
                sparse[level][row] = ""
    return sparse


def _group_starts(keys: Sequence[tuple]) -> set[int]:
    """Rows where the outermost index value changes (a new architecture in a stacked table)."""
    if not keys or len(keys[0]) < 2:
        return set()
    return {row for row in range(1, len(keys)) if keys[row][0] != keys[row - 1][0]}
