"""Columns declared once as dataclass fields: the schema, the groups and the values all come from the declaration."""

from dataclasses import dataclass

import pyarrow as pa
import pytest

from orchestrator.columns import arrow_schema, column, columns_of, values_of


@dataclass(frozen=True)
class _Part:
    name: str = column(pa.string(), "the name", key=True, nullable=False)
    score: float | None = column(pa.float64(), "a score", since=3, default=None)
    note: str = "not a column"


def test_a_declared_field_is_a_column_with_its_type_meaning_version_and_group():
    name, score = columns_of(_Part, "outcome")
    assert (name.name, name.type, name.group, name.nullable, name.since) == ("name", pa.string(), "key", False, 1)
    assert (score.name, score.type, score.group, score.since, score.meaning) == (
        "score", pa.float64(), "outcome", 3, "a score")
    assert arrow_schema((name, score)) == pa.schema([pa.field("name", pa.string(), nullable=False),
                                                     pa.field("score", pa.float64())])


def test_values_of_leaves_out_fields_that_are_not_columns():
    assert values_of(_Part("a", 0.5)) == {"name": "a", "score": 0.5}


def test_an_unknown_group_is_refused():
    with pytest.raises(ValueError, match="unknown column group 'misc'; valid: file, key, setup"):
        columns_of(_Part, "misc")
