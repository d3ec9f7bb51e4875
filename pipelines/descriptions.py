"""Table and column descriptions of a synced dataset, read from dlt schemas (where the source put them).

The vendor's words come from the catalog as dlt `description` hints; this module adds the words for the
columns and tables learnsync and dlt create themselves. Comments in the destination and dbt sources both use it.
"""

from __future__ import annotations

from dlt.common.schema import Schema
from dlt.common.schema.typing import TTableSchema

from learnsync.destinations.base import Key
from learnsync.pipelines.source.children import TOMBSTONE, VALUE

# present in data tables only when dlt is configured to add them (learnsync's Arrow loads do not by default)
DLT_COLUMNS = {
    "_dlt_load_id": "dlt: id of the load package that wrote the row (see _dlt_loads).",
    "_dlt_id": "dlt: unique id of the row.",
}
OBJECT_KEY = "A key of the JSON objects unnested here, as text (nested values stay JSON)."
SCALAR_VALUE = "The element itself for scalar elements (or an object's `value` key), as text."


def table_name(table: TTableSchema) -> str:
    """The name of a table in a dlt schema. dlt types it optional (a partial table of a schema update may lack it);
    every table a schema holds has one."""
    name = table.get("name")
    assert name is not None, "a table in a dlt schema has a name"
    return name


def is_child(table: TTableSchema) -> bool:
    """A child table of a JSON column (see `pipelines.children`)."""
    return TOMBSTONE in table.get("columns", {})


def column_description(table: TTableSchema, column: str) -> str:
    """A column's description: its dlt hint, else learnsync's or dlt's own words ("" when none apply)."""
    hint = table.get("columns", {}).get(column, {}).get("description")
    if hint:
        return hint
    if column in DLT_COLUMNS:
        return DLT_COLUMNS[column]
    if is_child(table):
        return SCALAR_VALUE if column == VALUE else OBJECT_KEY
    return ""


def table_description(table: TTableSchema) -> str:
    """A dlt table schema's description ("" when it has none)."""
    return table.get("description") or ""


def descriptions(schema: Schema) -> dict[Key, str]:
    """Every non-empty description of the data tables in a dlt schema.

    dlt's own tables (_dlt_loads, ...) are left out: every table's pipeline shares them, and two parallel runs
    commenting the same object would collide (Postgres: "tuple concurrently updated")."""
    out: dict[Key, str] = {}
    for table in schema.data_tables():
        name = table_name(table)
        if text := table_description(table):
            out[(name, None)] = text
        for column in table.get("columns", {}):
            if text := column_description(table, column):
                out[(name, column)] = text
    return out
