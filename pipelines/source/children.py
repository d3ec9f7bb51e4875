"""ARRAY/VARIANT columns -> normalized child tables, vectorized in an in-process DuckDB over Arrow.

dlt loads Arrow tables as they are and does not unnest them, so each JSON column `C` of table `T` becomes
child table `t__c`: `parent_<key>`, `position` (0-based) and `value` for scalar elements or one column per
key for object elements (deeper values stay JSON text). A non-array JSON value is one element at position 0.

Object keys are data, not schema: any text can be a key (`""`, `"first-name"`, `"First Name"`, `"a.b"`, `"名前"`).
Each key gets a column of its own (`catalog.naming`: the first key of a name keeps it, later ones get `_2`,
...), recorded on the column as the `x-learnsync-key` hint in the table's dlt schema, so the mapping is the same
in every batch and every later run. Keys are read by JSON pointer, which takes any key text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional

import duckdb
import pyarrow as pa

from learnsync.catalog.tables import Column, TableSpec
from learnsync.catalog.fingerprint import ROW_HASH, composite_text
from learnsync.catalog.naming import extend_names, name_order, snake_case
from learnsync.catalog.layout import column_hint, parent_column
from learnsync.pipelines.source.types import declared_not_null

if TYPE_CHECKING:
    from dlt.common.schema.typing import TTableReference

log = logging.getLogger("learnsync.children")

TOMBSTONE = "_learnsync_replaced"
"""Hard-delete flag of child rows. A parent whose array is now empty sends one flagged row, so dlt's
delete-insert merge (merge key = parent key) removes its old child rows and inserts nothing for it."""
POSITION = "position"
VALUE = "value"
PARENT_VERSION = "_learnsync_parent_hash"
"""Column of a history table's child rows: the parent version's `_learnsync_hash` (`pipelines.history`)."""
KEY_TEXT_HINT = "x-learnsync-key-text"
"""Column hint of a child table's parent column under a composite key: how the key's parts become one text
("length-prefixed", `fingerprint.composite_text`); a column without it holds the parts joined with `|`, as
learnsync wrote them before issue 20 (`pipelines.sync` migrates such tables)."""
LENGTH_PREFIXED = "length-prefixed"
KEY_HINT = "x-learnsync-key"
"""Column hint of a child table's object-key column: the JSON key whose values it holds."""


@dataclass
class ChildColumns:
    """Object key -> column of one child table: the mapping its stored dlt schema records, extended by the keys
    a run meets (assigned in sorted order, so every batch and every run names a key alike)."""

    names: dict[str, str] = field(default_factory=dict)
    reserved: frozenset[str] = frozenset()
    legacy: set[str] = field(default_factory=set)
    """Columns created before the mapping was recorded; each belongs to the key whose base name it is."""

    def assign(self, keys: Iterable[str]) -> dict[str, str]:
        """Column names of `keys` (new keys get one and keep it for the rest of the run)."""
        new = sorted((k for k in set(keys) if k not in self.names), key=name_order)
        for key in new:
            base = snake_case(key)
            if base in self.legacy:
                self.legacy.discard(base)
                self.names[key] = base
        # `value` is the scalars' column and an object's `value` key shares it (as documented), so not reserved
        self.names = extend_names(self.names, new, taken=self.reserved | self.legacy)
        return self.names

    @classmethod
    def stored(cls, spec: TableSpec, columns: Mapping[str, Mapping[str, Any]]) -> "ChildColumns":
        """From the stored dlt schema columns of the child table ({} when it does not exist yet)."""
        reserved = frozenset({parent_column(spec), POSITION, TOMBSTONE, PARENT_VERSION, "_dlt_id", "_dlt_load_id"})
        names = {c[KEY_HINT]: name for name, c in columns.items() if KEY_HINT in c}
        legacy = {name for name, c in columns.items() if KEY_HINT not in c and name not in reserved | {VALUE}}
        return cls(names, reserved, legacy)


def child_hints(spec: TableSpec) -> dict[str, dict[str, Any]]:
    """Fixed columns of every child table; object keys are added per batch (`unnest`)."""
    key_type = {"data_type": "text"} if len(spec.primary_key) > 1 else _key_type(spec)
    keys = ", ".join(spec.key_dest)
    joined = (" as one text: each part's length, ':', the part, parts joined with '|'"
              if len(spec.primary_key) > 1 else "")
    hints: dict[str, dict[str, Any]] = {
        parent_column(spec): {"name": parent_column(spec), **key_type, "nullable": False,
                              "merge_key": not spec.history,
                              **({KEY_TEXT_HINT: LENGTH_PREFIXED} if len(spec.primary_key) > 1 else {}),
                              "description": f"Key of the parent row: {spec.dest_name}.{keys}{joined}."},
        POSITION: {"name": POSITION, "data_type": "bigint", "nullable": True,
                   "description": "0-based position of the element in the parent's array."},
        TOMBSTONE: {"name": TOMBSTONE, "data_type": "bool", "nullable": True, "hard_delete": True,
                    "description": "Delete flag used while loading (a parent whose array emptied); NULL in stored rows."},
    }
    if spec.history:
        # the rows of one parent version: merged by it, so every version keeps its own elements
        hints[PARENT_VERSION] = {
            "name": PARENT_VERSION, "data_type": "text", "nullable": False, "merge_key": True,
            "description": f"The parent version's fingerprint: join on {PARENT_VERSION} = {spec.dest_name}.{ROW_HASH}"
                           " (the current elements: of the parent row whose valid_to is NULL).",
        }
    return hints


def child_reference(spec: TableSpec) -> Optional[list[TTableReference]]:
    """The child -> parent reference, for dlt's schema (a composite key is joined into one text, so none)."""
    if len(spec.primary_key) != 1:
        return None
    return [{"columns": [parent_column(spec)], "referenced_table": spec.dest_name, "referenced_columns": [spec.key_dest[0]]}]


def _key_type(spec: TableSpec) -> dict[str, Any]:
    """The parent key's type hints, whole: a TIMESTAMP_NTZ key stays without a zone in its child tables too (dlt
    makes a `timestamp` without `timezone` zoned)."""
    hint = column_hint(spec.column(spec.primary_key[0]))
    return {k: v for k, v in hint.items() if k in ("data_type", "timezone", "precision", "scale")}


def unnest(spec: TableSpec, col: Column, parent: pa.Table, tombstones: bool, columns: ChildColumns) -> pa.Table:
    """Child rows of one JSON column for a batch of prepared parent rows (destination column names); the
    object-key columns carry their `x-learnsync-key` hint (`key_column_hints`)."""
    keys = list(spec.key_dest)
    key_sql = composite_text([_q(k) if len(keys) == 1 else f"CAST({_q(k)} AS VARCHAR)" for k in keys],
                             lambda e: f"CAST({e} AS VARCHAR)")
    src = _q(col.dest)
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
        version = _q(ROW_HASH) if spec.history else "NULL"
        elems = con.sql(
            f"""WITH src AS (SELECT {key_sql} AS k, {version} AS v, {src}::JSON AS j FROM parent
                             WHERE {src} IS NOT NULL AND json_valid({src})),
                 arrs AS (SELECT k, v, CASE WHEN json_type(j) = 'ARRAY' THEN CAST(j AS JSON[]) ELSE [j] END AS arr
                          FROM src)
                 SELECT k, v, generate_subscripts(arr, 1) - 1 AS pos, unnest(arr) AS elem FROM arrs"""
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
        names = columns.assign(obj_keys)
        # column name -> expression; an object key named like `value` shares the scalars' column
        exprs: dict[str, str] = {}
        if has_scalars:
            exprs[VALUE] = "CASE WHEN json_type(elem) <> 'OBJECT' THEN json_extract_string(elem, '$') END"
        for ok in obj_keys:
            name = names[ok]
            extract = f"CASE WHEN json_type(elem) = 'OBJECT' THEN json_extract_string(elem, {_lit(_pointer(ok))}) END"
            exprs[name] = f"COALESCE({exprs[name]}, {extract})" if name in exprs else extract
        pcol = parent_column(spec)
        select = [f"k AS {_q(pcol)}", f"pos AS {_q(POSITION)}"] + [f"{e} AS {_q(n)}" for n, e in exprs.items()]
        select.append(f"CAST(NULL AS BOOLEAN) AS {_q(TOMBSTONE)}")
        if spec.history:
            select.append(f"CAST(v AS VARCHAR) AS {_q(PARENT_VERSION)}")
        sql = f"SELECT {', '.join(select)} FROM elems"
        if tombstones:
            nulls = ", ".join(f"NULL AS {_q(name)}" for name in exprs)
            sql += (
                f" UNION ALL SELECT {key_sql}, NULL{', ' + nulls if nulls else ''}, TRUE FROM parent"
                f" WHERE {key_sql} NOT IN (SELECT DISTINCT k FROM elems)"
            )
        return declared_not_null(con.sql(sql).to_arrow_table(), child_hints(spec))
    finally:
        con.close()


def key_column_hints(columns: ChildColumns, table: pa.Table) -> dict[str, dict[str, Any]]:
    """dlt column hints of the object-key columns of a child batch: text, with the key they hold."""
    by_name = {name: key for key, name in columns.names.items()}
    return {
        name: {"name": name, "data_type": "text", "nullable": True, KEY_HINT: by_name[name]}
        for name in table.column_names
        if name in by_name and name != VALUE
    }


def _pointer(key: str) -> str:
    """The JSON pointer (RFC 6901) of an object key: any key text, `""` included (`$."..."` paths cannot say
    every key: an empty key is a syntax error there)."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
