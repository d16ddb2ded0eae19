"""Rewrite the generated tables of the docs pages from the code; with ``--check``, name the stale pages.

A page marks each generated part with the name of the table that fills it::

    <!-- generated: recipes -->
    (the table, as this script writes it)
    <!-- end generated -->

Everything outside the markers is written by hand. ``python docs/generate.py`` rewrites every
generated part of ``docs/*.md``; ``python docs/generate.py --check`` writes nothing, prints each page
whose generated parts differ from what the code gives now, and exits 1 if there is one. Either exits
2, with one line, when the code a table comes from cannot be imported.

The tables show the built-in architectures only (those registered by the ``archs`` package), so a
plugin registered in the same process does not change them. The option tables walk the ``archbench``
Typer app: each option's name, value, default and help are those ``--help`` prints.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import archs

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

_PART = re.compile(r"(?P<open><!-- generated: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(?P<close><!-- end generated -->)",
                   re.DOTALL)


def builtin_archs() -> list[str]:
    """The architectures the ``archs`` package registers, in registry order."""
    return [name for name in archs.names() if archs.entry(name).module.startswith("archs.")]


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown pipe table of ``rows``, cells unpadded so that a change shows as a one-line diff."""
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    return "\n".join([line(headers), line(["---"] * len(headers)), *map(line, rows)]) + "\n"


def _number(value: float) -> str:
    return f"{value:g}"


def recipes_table() -> str:
    """One row per built-in architecture: the recipe it registers (``archs.recipe``)."""
    def epochs(recipe: archs.Recipe) -> str:
        per_dataset = ", ".join(f"{dataset}: {count}" for dataset, count in recipe.dataset_epochs.items())
        return f"{recipe.epochs} ({per_dataset})" if per_dataset else str(recipe.epochs)

    def augment(recipe: archs.Recipe) -> str:
        per_dataset = ", ".join(f"{dataset}: {name}" for dataset, name in recipe.dataset_augment.items())
        own = recipe.augment or "the dataset's"
        return f"{own} ({per_dataset})" if per_dataset else own

    rows = []
    for name in builtin_archs():
        recipe = archs.recipe(name)
        rows.append([f"`{name}`", recipe.optimizer, _number(recipe.lr), str(recipe.batch_size),
                     _number(recipe.weight_decay), epochs(recipe), _number(recipe.warmup_epochs),
                     _number(recipe.label_smoothing), augment(recipe),
                     "channels-last" if recipe.channels_last else "contiguous"])
    return markdown_table(["arch", "optimizer", "peak lr", "at batch", "weight decay", "epochs",
                           "warm-up epochs", "label smoothing", "augmentation", "memory format"], rows)


def training_flops_table() -> str:
    """Training FLOPs per image (forward + backward) of each built-in architecture on the study's two input
    shapes (``archs.flops.count_flops``)."""
    from archs.flops import count_flops

    shapes = {"1×28×28": archs.InputShape(1, 10, 28), "3×32×32": archs.InputShape(3, 10, 32)}
    flops = count_flops(shapes, builtin_archs())
    rows = [[f"`{name}`", *(f"{flops[name, shape] / 1e6:,.1f}" for shape in shapes)] for name in builtin_archs()]
    return markdown_table(["arch", *(f"MFLOP per image, {shape}" for shape in shapes)], rows)


def parameters_table() -> str:
    """Table 3 of the built-in architectures on the study's datasets, as ``archbench params --format markdown``."""
    from orchestrator import study
    from orchestrator.render import render
    from orchestrator.report import PARAMS_VS_STUDY_TITLE, parameter_counts, params_table

    counts = parameter_counts(builtin_archs(), study.DATASETS)
    return render(params_table(counts, vs_study=True), "markdown", title=PARAMS_VS_STUDY_TITLE)


def _columns_table(columns: Iterable) -> str:
    rows = [[f"`{column.name}`", str(column.type), column.group, str(column.since), column.meaning]
            for column in columns]
    return markdown_table(["column", "Arrow type", "group", "since schema", "meaning"], rows)


def trial_columns_table() -> str:
    """One row per column of ``trials.parquet`` (``orchestrator.results.TRIAL_COLUMNS``)."""
    from orchestrator.results import TRIAL_COLUMNS

    return _columns_table(TRIAL_COLUMNS)


def history_columns_table() -> str:
    """One row per column of ``history.parquet`` (``orchestrator.results.HISTORY_COLUMNS``)."""
    from orchestrator.results import HISTORY_COLUMNS

    return _columns_table(HISTORY_COLUMNS)


def cli_commands() -> dict[str, Any]:
    """Every command of the ``archbench`` app, by its words after ``archbench`` ("data fetch"), in the app's order."""
    import typer

    from orchestrator.cli import app

    def walk(command: Any, words: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            yield " ".join(words), command
            return
        for name, subcommand in subcommands.items():
            yield from walk(subcommand, (*words, name))

    return dict(walk(typer.main.get_command(app), ()))


def _parameter(param: Any, command: Any) -> str:
    """How the parameter is written: ``--seeds <int>``, ``--download`` / ``--no-download``, ``NAME <str>``."""
    import typer

    value = param.display_type(typer.Context(command))
    if param.param_type_name == "argument":
        return f"`{param.name.upper()} {value}`"
    if param.is_flag:
        return " / ".join(f"`{opt}`" for opt in (*param.opts, *param.secondary_opts))
    return f"`{param.opts[0]} {value}`"


def _default(param: Any) -> str:
    """The default as ``--help`` gives it; a flag's as the flag that is on; "required"; or "—" where the help text
    says what applies."""
    default = param.default
    if param.required:
        return "required"
    if param.param_type_name == "option" and param.is_flag:
        if param.secondary_opts:
            return f"`{param.opts[0] if default else param.secondary_opts[0]}`"
        return "on" if default else "off"
    if default is None:
        return "—"
    if isinstance(default, Enum):
        default = default.value
    return f"`{_number(default) if isinstance(default, float) else default}`"


def options_table() -> str:
    """Every command's arguments and options, one table per command (``archbench <command> --help``)."""
    parts = []
    for words, command in cli_commands().items():
        summary = " ".join((command.help or "").strip().split("\n\n")[0].split())
        rows = [[_parameter(param, command), _default(param), html.escape(" ".join((param.help or "").split()), False)]
                for param in command.params if not param.hidden]
        parts.append(f"**`archbench {words}`**: {summary}\n\n" + markdown_table(["option", "default", "meaning"], rows))
    return "\n".join(parts)


def environment_table() -> str:
    """The environment variables archbench reads that have a default in the code."""
    from orchestrator.progress import HEARTBEAT_SECONDS_VAR
    from orchestrator.train import PROGRESS_SECONDS

    rows = [[f"`{HEARTBEAT_SECONDS_VAR}`", _number(PROGRESS_SECONDS),
             "seconds between a running trial's heartbeats; read where the trial runs (set it in the environment "
             "of `ray start` on a cluster's nodes)"]]
    return markdown_table(["variable", "default", "meaning"], rows)


TABLES: dict[str, Callable[[], str]] = {
    "recipes": recipes_table,
    "parameters": parameters_table,
    "training-flops": training_flops_table,
    "trial-columns": trial_columns_table,
    "history-columns": history_columns_table,
    "options": options_table,
    "environment": environment_table,
}


def pages(docs: Path = DOCS) -> list[Path]:
    """The Markdown pages of ``docs``, sorted."""
    return sorted(docs.glob("*.md"))


def table_names(text: str) -> list[str]:
    """The names of the generated parts of a page, in order."""
    return [match["name"] for match in _PART.finditer(text)]


def rewrite(text: str) -> str:
    """``text`` with each generated part as the code gives it now.

    ValueError for a part that names no table in TABLES.
    """
    def fill(match: re.Match) -> str:
        name = match["name"]
        if name not in TABLES:
            raise ValueError(f"unknown generated table {name!r}; valid: {', '.join(TABLES)}")
        return match["open"] + TABLES[name]() + match["close"]

    return _PART.sub(fill, text)


def stale_pages(docs: Path = DOCS) -> list[Path]:
    """The pages of ``docs`` whose generated parts are out of date."""
    stale = []
    for page in pages(docs):
        text = page.read_text()
        if rewrite(text) != text:
            stale.append(page)
    return stale


def write_pages(docs: Path = DOCS) -> list[Path]:
    """Rewrite the generated parts of every page of ``docs``; the pages that changed."""
    changed = []
    for page in pages(docs):
        text = page.read_text()
        new = rewrite(text)
        if new != text:
            page.write_text(new)
            changed.append(page)
    return changed


def _shown(page: Path) -> Path:
    return page.relative_to(ROOT) if page.is_relative_to(ROOT) else page


def main(argv: Sequence[str] | None = None, docs: Path = DOCS) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 naming each page whose generated tables are stale")
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = stale_pages(docs)
            for page in stale:
                print(f"stale: {_shown(page)} (run: python docs/generate.py)")
            return 1 if stale else 0
        for page in write_pages(docs):
            print(f"rewrote {_shown(page)}")
        return 0
    except ImportError as exc:   # the code a table is generated from is missing
        print(f"cannot generate the tables: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
