"""How a table spec lands in a destination, as every layer names it: each column's dlt hint (Snowflake type ->
dlt type), the event day column, and the child table of each JSON column with the column that joins it to its
parent. The engine, the dlt source and the destinations read these names here, so none imports another's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from learnsync.catalog.fingerprint import composite_text
from learnsync.catalog.naming import snake_case
from learnsync.catalog.tables import DAY_COLUMN, Column, TableSpec

if TYPE_CHECKING:
    from dlt.common.schema.typing import TTableSchemaColumns

DAY = snake_case(DAY_COLUMN)
"""The event tables' UTC day column (destination name)."""


def column_hint(col: Column) -> dict[str, Any]:
    """The dlt column schema of one Snowflake column (declared up front, so all-NULL columns exist too)."""
    t = col.sf_type
    hint: dict[str, Any] = {"name": col.dest, "nullable": True}
    if t == "NUMBER":
        if col.scale or col.decimal:
            hint.update(data_type="decimal", precision=col.precision or 38, scale=col.scale or 0)
        else:
            hint["data_type"] = "bigint"
    elif t == "FLOAT":
        hint["data_type"] = "double"
    elif t == "BOOLEAN":
        hint["data_type"] = "bool"
    elif t == "TIMESTAMP_NTZ":
        # UTC wall-clock time: stored without a zone so no server or session zone can shift it
        hint.update(data_type="timestamp", timezone=False, precision=6)
    elif t in ("TIMESTAMP_TZ", "TIMESTAMP_LTZ"):
        hint.update(data_type="timestamp", timezone=True, precision=6)
    elif t == "DATE":
        hint["data_type"] = "date"
    elif t == "TIME":
        hint["data_type"] = "time"
    elif t == "BINARY":
        hint["data_type"] = "binary"
    else:
        # TEXT; JSON kept as compact text beside its child tables; VECTOR, GEOGRAPHY, DECFLOAT and the rest as text
        hint["data_type"] = "text"
    if col.description:
        hint["description"] = col.description
    return hint


def dlt_columns(hints: dict[str, dict[str, Any]]) -> TTableSchemaColumns:
    """Column hints (name -> hint) as dlt takes them. learnsync builds them as plain dicts: some carry learnsync's own
    hints (`x-learnsync-*`), which dlt keeps, but its TColumnSchema type does not name them."""
    return cast("TTableSchemaColumns", hints)


def child_name(spec: TableSpec, col: Column) -> str:
    """The child table of an ARRAY/VARIANT column: `<table>__<column>` (dlt's nesting separator)."""
    return f"{spec.dest_name}__{col.dest}"


def parent_column(spec: TableSpec) -> str:
    """The column of a child table holding its parent's key: `parent_<key>` (`parent_<k1>_<k2>` for a compound key)."""
    return "parent_" + "_".join(spec.key_dest)


def child_description(spec: TableSpec, col: Column) -> str:
    """What a child table unnests and how it joins its parent (its table comment)."""
    keys = composite_text([f"{spec.dest_name}.{k}" for k in spec.key_dest], lambda e: f"CAST({e} AS TEXT)")
    text = (
        f"Elements of the JSON column {spec.dest_name}.{col.dest}, one row per element: `value` for"
        f" scalars, one column per key for objects. Join on {parent_column(spec)} = {keys}."
        " A parent row loaded again replaces its rows."
    )
    return f"{text} Source column: {col.description}" if col.description else text
