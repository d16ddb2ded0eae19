"""Columns declared once as dataclass fields: the schema, the groups and the values all come from the declaration."""

from dataclasses import dataclass

import pyarrow as pa
import pytest

from orchestrator import results
from orchestrator.columns import arrow_schema, column, columns_of, values_of


@dataclass(frozen=True)
class _Part:
    name: str = column(pa.string(), "the name", since=1, key=True, nullable=False)
    score: float | None = column(pa.float64(), "a score", since=3, default=None)
    note: str = "not a column"


@dataclass(frozen=True)
class _Other:
    score: float | None = column(pa.float64(), "another score", since=4, default=None)


def test_a_declared_field_is_a_column_with_its_type_meaning_version_and_group():
    name, score = columns_of(_Part, "outcome")
    assert (name.name, name.type, name.group, name.nullable, name.since) == ("name", pa.string(), "key", False, 1)
    assert (score.name, score.type, score.group, score.since, score.meaning) == (
        "score", pa.float64(), "outcome", 3, "a score")
    assert arrow_schema((name, score)) == pa.schema([pa.field("name", pa.string(), nullable=False),
                                                     pa.field("score", pa.float64())])


def test_a_column_must_say_which_schema_added_it():
    # A column without ``since`` would read as present in every older file, which then fails to load.
    with pytest.raises(TypeError, match="since"):
        column(pa.float64(), "a score forgetting its schema", default=None)


def test_values_of_leaves_out_fields_that_are_not_columns():
    assert values_of(_Part("a", 0.5)) == {"name": "a", "score": 0.5}


def test_an_unknown_group_is_refused():
    with pytest.raises(ValueError, match="unknown column group 'misc'; valid: file, key, setup"):
        columns_of(_Part, "misc")


def test_a_name_declared_twice_is_refused():
    # A row's parts are joined into one record by name: a second "score" would overwrite the first.
    with pytest.raises(ValueError, match="columns declared more than once: score"):
        arrow_schema((*columns_of(_Part, "setup"), *columns_of(_Other, "outcome")))


def test_the_stored_tables_declare_every_column_once_the_schema_version_among_them():
    for columns in (results.TRIAL_COLUMNS, results.HISTORY_COLUMNS):
        names = [c.name for c in columns]
        assert len(names) == len(set(names))
    [version] = [c for c in results.TRIAL_COLUMNS if c.name == "schema_version"]
    assert (version.group, version.since, version.nullable) == ("file", 1, False)
    assert results.SCHEMA_VERSION == max(c.since for c in (*results.TRIAL_COLUMNS, *results.HISTORY_COLUMNS))
