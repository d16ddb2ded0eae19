"""A result column is declared once, as a dataclass field: its Arrow type, meaning and schema version.

``column(pa.float64(), "what it means", since=3)`` in a dataclass body makes a field that is also a
column of the results tables. ``columns_of`` reads the declarations back, and from them come the
Arrow schema (``arrow_schema``), the filling of older files' missing columns (``since``, ``derive``)
and the documentation's column table. Adding a column is adding one such field, and ``since`` has no
default: a column that does not say which schema added it would make every older file fail to load
(``tests/fixtures`` holds files each schema's own archbench wrote, and its tests check each ``since``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import pyarrow as pa

# What each column describes: the row's key, how the cell was set up to train (built from the plan,
# compared when a sweep resumes), what training returned, and where it ran; history rows add "epoch".
GROUPS = ("file", "key", "setup", "outcome", "placement", "epoch")

# Computes a column for a file written before it existed, from that file's other columns.
Derive = Callable[[pa.Table], pa.Array]


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    meaning: str
    since: int                 # the schema version that added it
    group: str                 # one of GROUPS
    nullable: bool = True
    derive: Derive | None = None   # how an older file's rows get it; None: null
    late: bool = False         # added while schema ``since`` was current: some files of that schema lack it too

    def arrow_field(self) -> pa.Field:
        return pa.field(self.name, self.type, nullable=self.nullable)


def column(type_: pa.DataType, meaning: str, *, since: int, nullable: bool = True, key: bool = False,
           derive: Derive | None = None, late: bool = False, default: Any = dataclasses.MISSING) -> Any:
    """A dataclass field that is a column; ``key`` puts it in the row's key whatever its dataclass's group."""
    declared = {"type": type_, "meaning": meaning, "since": since, "nullable": nullable, "key": key, "derive": derive,
                "late": late}
    return dataclasses.field(default=default, metadata={"column": declared})


def columns_of(cls: type, group: str) -> tuple[Column, ...]:
    """The columns that ``cls``'s fields declare, in field order, as members of ``group``."""
    if group not in GROUPS:
        raise ValueError(f"unknown column group {group!r}; valid: {', '.join(GROUPS)}")
    found = []
    for f in dataclasses.fields(cls):
        declared = f.metadata.get("column")
        if declared is not None:
            found.append(Column(f.name, declared["type"], declared["meaning"], declared["since"],
                                "key" if declared["key"] else group, declared["nullable"], declared["derive"],
                                declared["late"]))
    return tuple(found)


def values_of(instance: object) -> dict[str, object]:
    """The column values of a dataclass instance, by name (its fields that are not columns left out)."""
    return {f.name: getattr(instance, f.name) for f in dataclasses.fields(instance) if "column" in f.metadata}


def arrow_schema(columns: tuple[Column, ...]) -> pa.Schema:
    """The Arrow schema of ``columns``; ValueError where two share a name (a row's parts are joined by name)."""
    names = [c.name for c in columns]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"columns declared more than once: {', '.join(twice)}")
    return pa.schema([c.arrow_field() for c in columns])
