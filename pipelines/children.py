"""ARRAY/VARIANT columns -> normalized child tables, vectorized in an in-process DuckDB over Arrow.

dlt loads Arrow tables as they are and does not unnest them, so each JSON column `C` of table `T` becomes
child table `t__c`: `parent_<key>`, `position` (0-based) and `value` for scalar elements or one column per
key for object elements (deeper values stay JSON text). A non-array JSON value is one element at position 0.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

import duckdb
import pyarrow as pa

from pipelines.catalog import Column, TableSpec, snake_case
from pipelines.reader import quote as _q

log = logging.getLogger("learnsync.children")

TOMBSTONE = "_learnsync_replaced"
"""Hard-delete flag of child rows. A parent whose array is now empty sends one flagged row, so dlt's
delete-insert merge (merge key = parent key) removes its old child rows and inserts nothing for it."""
POSITION = "position"
VALUE = "value"


def child_name(spec: TableSpec, col: Column) -> str:
    return f"{spec.dest_name}__{snake_case(col.name)}"


def parent_column(spec: TableSpec) -> str:
    return "parent_" + "_".join(snake_case(k) for k in spec.primary_key)


def child_hints(spec: TableSpec) -> dict[str, dict[str, Any]]:
    """Fixed columns of every child table; object keys are added by dlt's schema evolution."""
    key_type = "text" if len(spec.primary_key) > 1 else _key_type(spec)
    keys = ", ".join(snake_case(k) for k in spec.primary_key)
    joined = " joined with '|'" if len(spec.primary_key) > 1 else ""
    return {
        parent_column(spec): {"name": parent_column(spec), "data_type": key_type, "nullable": False, "merge_key": True,
                              "description": f"Key of the parent row: {spec.dest_name}.{keys}{joined}."},
        POSITION: {"name": POSITION, "data_type": "bigint", "nullable": True,
                   "description": "0-based position of the element in the parent's array."},
        TOMBSTONE: {"name": TOMBSTONE, "data_type": "bool", "nullable": True, "hard_delete": True,
                    "description": "Delete flag used while loading (a parent whose array emptied); NULL in stored rows."},
    }


def child_description(spec: TableSpec, col: Column) -> str:
    """What a child table unnests and how it joins its parent (its table comment)."""
    keys = " || '|' || ".join(f"{spec.dest_name}.{snake_case(k)}" for k in spec.primary_key)
    text = (
        f"Elements of the JSON column {spec.dest_name}.{snake_case(col.name)}, one row per element: `value` for"
        f" scalars, one column per key for objects. Join on {parent_column(spec)} = {keys}."
        " A parent row loaded again replaces its rows."
    )
    return f"{text} Source column: {col.description}" if col.description else text


def child_reference(spec: TableSpec) -> Optional[list[dict[str, Any]]]:
    """The child -> parent reference, for dlt's schema (a composite key is joined into one text, so none)."""
    if len(spec.primary_key) != 1:
        return None
    key = snake_case(spec.primary_key[0])
    return [{"columns": [parent_column(spec)], "referenced_table": spec.dest_name, "referenced_columns": [key]}]


def _key_type(spec: TableSpec) -> str:
    from pipelines.types import column_hint

    return column_hint(spec.column(spec.primary_key[0]))["data_type"]


def unnest(spec: TableSpec, col: Column, parent: pa.Table, tombstones: bool) -> pa.Table:
    """Child rows of one JSON column for a batch of prepared parent rows (snake_case column names)."""
    keys = [snake_case(k) for k in spec.primary_key]
    key_sql = _q(keys[0]) if len(keys) == 1 else " || '|' || ".join(f"CAST({_q(k)} AS VARCHAR)" for k in keys)
    src = _q(snake_case(col.name))
    con = duckdb.connect()
    try:
        con.register("parent", parent)
        invalid = con.execute(
            f"SELECT count(*) FROM parent WHERE {src} IS NOT NULL AND NOT json_valid({src})"
        ).fetchall()[0][0]
        if invalid:
            log.warning(
                "Table %s, column %s: %d values are not valid JSON; their rows land, their child rows are skipped.",
                spec.name, col.name, invalid,
            )
        elems = con.sql(
            f"""WITH src AS (SELECT {key_sql} AS k, {src}::JSON AS j FROM parent
                             WHERE {src} IS NOT NULL AND json_valid({src})),
                 arrs AS (SELECT k, CASE WHEN json_type(j) = 'ARRAY' THEN CAST(j AS JSON[]) ELSE [j] END AS arr
                          FROM src)
                 SELECT k, generate_subscripts(arr, 1) - 1 AS pos, unnest(arr) AS elem FROM arrs"""
        ).to_arrow_table()
        con.register("elems", elems)
        obj_keys = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT unnest(json_keys(elem)) AS k FROM elems WHERE json_type(elem) = 'OBJECT' ORDER BY k"
            ).fetchall()
        ]
        has_scalars = not obj_keys or con.execute(
            "SELECT count(*) FROM elems WHERE json_type(elem) <> 'OBJECT'"
        ).fetchall()[0][0] > 0
        pcol = parent_column(spec)
        # column name -> expression; an object key named like `value` shares the scalars' column
        exprs: dict[str, str] = {}
        if has_scalars:
            exprs[VALUE] = "CASE WHEN json_type(elem) <> 'OBJECT' THEN json_extract_string(elem, '$') END"
        for ok in obj_keys:
            path = _lit('$."' + ok.replace('"', '\\"') + '"')
            name = snake_case(ok)
            if name in (pcol, POSITION, TOMBSTONE):
                name = f"{name}_"
            extract = f"CASE WHEN json_type(elem) = 'OBJECT' THEN json_extract_string(elem, {path}) END"
            exprs[name] = f"COALESCE({exprs[name]}, {extract})" if name in exprs else extract
        select = [f"k AS {_q(pcol)}", f"pos AS {_q(POSITION)}"] + [f"{e} AS {_q(n)}" for n, e in exprs.items()]
        select.append(f"CAST(NULL AS BOOLEAN) AS {_q(TOMBSTONE)}")
        sql = f"SELECT {', '.join(select)} FROM elems"
        if tombstones:
            nulls = ", ".join(f"NULL AS {_q(name)}" for name in exprs)
            sql += (
                f" UNION ALL SELECT {key_sql}, NULL{', ' + nulls if nulls else ''}, TRUE FROM parent"
                f" WHERE {key_sql} NOT IN (SELECT DISTINCT k FROM elems)"
            )
        return con.sql(sql).to_arrow_table()
    finally:
        con.close()


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
