"""The SQL learnsync sends to Snowflake, as pure functions of a `TableSpec` (no connection here).

Every identifier comes from INFORMATION_SCHEMA and is double-quoted; values are written as `%(name)s` and bound by
Snowflake on the server (`server_bound`), never pasted into the text. Hashed columns bind `pii_salt` (the reader adds
it to the parameters).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Mapping, Optional, Union

from learnsync.catalog.tables import TEXT_JSON_TYPES, Strategy, TableSpec
from learnsync.catalog.fingerprint import FINGERPRINT_VERSION, SNOWFLAKE, SOURCE_HASH, row_hash_sql

Bound = Union[datetime, date, int]
"""A cursor value: a timestamp, a date or an integer."""
DUPS_COLUMN = "__LS_DUPS"
"""Per-row count of rows sharing its key in the window (the share does not enforce keys)."""
_BASE_TYPES = {
    "VARCHAR": "TEXT", "STRING": "TEXT", "CHAR": "TEXT", "CHARACTER": "TEXT", "DATETIME": "TIMESTAMP_NTZ",
    "TIMESTAMP": "TIMESTAMP_NTZ", "DOUBLE": "FLOAT", "REAL": "FLOAT", "DOUBLE PRECISION": "FLOAT",
    "DECIMAL": "NUMBER", "NUMERIC": "NUMBER", "INT": "NUMBER", "INTEGER": "NUMBER", "BIGINT": "NUMBER",
    "FLOAT4": "FLOAT", "FLOAT8": "FLOAT",
}


_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


def server_bound(text: str, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """A statement written with `%(name)s` placeholders as Snowflake binds it on the server: numeric placeholders
    (`:1`, one number per name) and the values beside the text, typed (an aware datetime as TIMESTAMP_TZ). Snowflake
    keeps query texts for a year in QUERY_HISTORY, which the account's owner reads: the salt must never be in them
    (the connection's `paramstyle` is "numeric", so the connector sends the values as bindings)."""
    names: dict[str, int] = {}

    def mark(m: re.Match[str]) -> str:
        if m.group(1) is None:
            return "%"  # pyformat's escaped percent sign
        return f":{names.setdefault(m.group(1), len(names) + 1)}"

    bound = _PLACEHOLDER.sub(mark, text)
    return bound, [_typed(params[name]) for name in names]


def _typed(value: Any) -> Any:
    # the connector binds every datetime as TIMESTAMP_NTZ unless told: an aware one keeps its instant as TZ
    if isinstance(value, datetime) and value.tzinfo is not None:
        return ("TIMESTAMP_TZ", value)
    return value


def literal(text: str) -> str:
    """A Snowflake string literal of `text`, for the few statements that take no bind variable (ALTER SESSION):
    backslashes doubled (Snowflake reads escapes in single-quoted strings) and quotes doubled."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def quote(name: str) -> str:
    """A quoted Snowflake identifier (names come from INFORMATION_SCHEMA, so this is exact)."""
    return '"' + name.replace('"', '""') + '"'


def fqn(database: str, schema: str, table: str) -> str:
    """`"DATABASE"."SCHEMA"."TABLE"`."""
    return f"{quote(database)}.{quote(schema)}.{quote(table)}"


def base_type(dtype: str) -> str:
    """A Snowflake type as INFORMATION_SCHEMA names its base type: `VARCHAR(16777216)` -> `TEXT`,
    `VECTOR(FLOAT, 256)` -> `VECTOR`, `ARRAY(NUMBER(38,0))` -> `ARRAY`."""
    base = dtype.upper().split("(")[0].strip()
    return _BASE_TYPES.get(base, base)


def columns_sql(database: str) -> str:
    """Every table and column of one schema (bind `schema`), in declared column order."""
    return (f"SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE, COMMENT"
            f" FROM {quote(database)}.INFORMATION_SCHEMA.COLUMNS"
            " WHERE TABLE_SCHEMA = %(schema)s ORDER BY TABLE_NAME, ORDINAL_POSITION")


def cursor_range(spec: TableSpec, lo: Optional[Bound], hi: Optional[Bound], nulls: bool) -> tuple[str, dict[str, Any]]:
    """(WHERE condition, parameters) of the rows with lo <= cursor < hi (None: unbounded); `nulls` adds the
    rows without a cursor, which are else left out of an unbounded-below range."""
    c = quote(spec.cursor)  # type: ignore[arg-type]
    conds, params = [], {}
    if lo is not None:
        conds.append(f"{c} >= %(lo)s")
        params["lo"] = lo
    if hi is not None:
        conds.append(f"{c} < %(hi)s")
        params["hi"] = hi
    where = " AND ".join(conds) or "TRUE"
    if nulls:
        where = f"({where}) OR {c} IS NULL"
    elif lo is None:
        where = f"({where}) AND {c} IS NOT NULL"
    return where, params


def loaded(spec: TableSpec, name: str) -> str:
    """The expression a column is read with: hashed in Snowflake for a `hash` policy, so the raw value never
    leaves it (NULL || salt is NULL: NULL stays NULL); as text where the connector cannot read the type
    (`Column.reads_as_text`: DECFLOAT, which connector 4.8 has no Arrow converter for, `CArrowTableIterator.cpp`)."""
    if name in spec.hashed:
        return f"SHA2(%(pii_salt)s || {quote(name)}, 256)"
    return f"TO_VARCHAR({quote(name)})" if spec.column(name).reads_as_text else quote(name)


def row_hash(spec: TableSpec, version: int = FINGERPRINT_VERSION) -> str:
    """Snowflake's fingerprint of a row of the table (see `fingerprint.row_hash_sql`), of the given version."""
    values = []
    for c in spec.columns:
        if c.sf_type == "VECTOR":  # cast to ARRAY to be rendered as text (Snowflake casts VECTOR to ARRAY only)
            values.append((f"{quote(c.name)}::ARRAY", "ARRAY"))
        elif c.name in spec.hashed or c.reads_as_text:  # read as text (a hash, DECFLOAT's text)
            values.append((loaded(spec, c.name), "TEXT"))
        else:
            values.append((loaded(spec, c.name), c.sf_type))
    return row_hash_sql(values, version)


def key_text(spec: TableSpec) -> str:
    """The canonical text of the table's key in Snowflake's SQL (reconcile buckets keys by its MD5). A key column
    under the `hash` policy is its hash, as the destination holds it: like is compared with like."""
    exprs = [loaded(spec, k) if k in spec.hashed else quote(k) for k in spec.primary_key]
    return SNOWFLAKE.key_text(exprs, [spec.column(k) for k in spec.primary_key])


def key_present(spec: TableSpec) -> str:
    """The condition of rows whose key parts are all set ("TRUE" for a table without a key): a row with a NULL key
    part is never loaded (`source.arrow`), so the summaries compared with the destination leave it out too."""
    return " AND ".join(f"{quote(k)} IS NOT NULL" for k in spec.primary_key) or "TRUE"


def day(spec: TableSpec) -> str:
    """The UTC day of an event table's cursor, as the loaded `learnsync_day` holds it."""
    c, t = quote(spec.cursor or ""), spec.cursor_column.sf_type if spec.cursor_column else ""
    if t in ("TIMESTAMP_TZ", "TIMESTAMP_LTZ"):
        return f"TO_DATE(CONVERT_TIMEZONE('UTC', {c}))"
    return f"TO_DATE({c})" if t.startswith("TIMESTAMP") else c


def select(spec: TableSpec, table: str, where: str, columns: Optional[str] = None) -> str:
    """SELECT of the loaded columns and the row fingerprint (or of `columns`, which may use `{row_hash}`) from the
    fully qualified `table`; entity tables keep the newest row per key, ties broken by fingerprint so every read
    picks the same row, and report how many rows shared the key (`DUPS_COLUMN`)."""
    fingerprint = row_hash(spec)
    listed = columns.format(row_hash=fingerprint) if columns else (
        ", ".join(f"{loaded(spec, c.name)} AS {quote(c.name)}" for c in spec.columns)
        + f", {fingerprint} AS {quote(SOURCE_HASH)}"
    )
    sql = f"SELECT {listed}"
    if spec.strategy is Strategy.MERGE:
        key = ", ".join(quote(k) for k in spec.primary_key)
        # the SELECT's alias, so the fingerprint is computed once per row (Snowflake allows aliases in QUALIFY)
        tie = fingerprint if columns else quote(SOURCE_HASH)
        order = f"{quote(spec.cursor)} DESC NULLS LAST, {tie}" if spec.cursor else tie
        if columns is None:
            sql += f", COUNT(*) OVER (PARTITION BY {key}) AS {quote(DUPS_COLUMN)}"
        sql += f" FROM {table} WHERE {where}"
        # every row with a NULL key part passes, so the dlt source can count what it skips (`source.arrow`)
        sql += f" QUALIFY ROW_NUMBER() OVER (PARTITION BY {key} ORDER BY {order}) = 1"
        sql += "".join(f" OR {quote(k)} IS NULL" for k in spec.primary_key)
    else:
        sql += f" FROM {table} WHERE {where}"
    return sql


def now(spec: TableSpec) -> Optional[str]:
    """Snowflake's current time in the cursor's type, or None for a cursor that is not a date or time."""
    t = spec.cursor_column.sf_type if spec.cursor_column else ""
    # TIMESTAMP_NTZ holds UTC wall-clock time (the session runs in UTC): SYSDATE() is the UTC clock without zone
    return {"DATE": "CURRENT_DATE()", "TIMESTAMP_NTZ": "SYSDATE()", "TIMESTAMP_LTZ": "CURRENT_TIMESTAMP()",
            "TIMESTAMP_TZ": "CURRENT_TIMESTAMP()"}.get(t)


ROW_SAMPLE = 1000
"""Rows whose text lengths estimate a table's row bytes (`row_bytes`)."""


def row_bytes(spec: TableSpec, table: str, where: str) -> str:
    """A scalar subquery: the average bytes of a row of a range, estimated from the text lengths of its first
    ROW_SAMPLE rows (any ROW_SAMPLE: a LIMIT without ORDER reads few micro-partitions), 8 per fixed-width value."""
    wide = {"TEXT", "BINARY"} | TEXT_JSON_TYPES
    sizes = [f"COALESCE(LENGTH(TO_VARCHAR({quote(c.name)})), 0)" if c.sf_type in wide else "8" for c in spec.columns]
    return (f"(SELECT AVG(b) FROM (SELECT {' + '.join(sizes) or '0'} AS b FROM {table} WHERE {where}"
            f" LIMIT {ROW_SAMPLE}) s)")


def cursor_span(spec: TableSpec, table: str, where: str, with_now: bool, with_bytes: bool = False) -> str:
    """Rows, first and last cursor value of a range (and Snowflake's current time, `with_now`; and the estimated
    bytes of a row, `with_bytes`, last): one cheap query that plans a window."""
    c = quote(spec.cursor)  # type: ignore[arg-type]
    clock = now(spec) if with_now else None
    size = f", {row_bytes(spec, table, where)}" if with_bytes else ""
    return f"SELECT COUNT(*), MIN({c}), MAX({c}){', ' + clock if clock else ''}{size} FROM {table} WHERE {where}"


def cursor_before(spec: TableSpec, table: str, where: str) -> str:
    """The last cursor value up to `%(limit)s` and the rows past it, in a range."""
    c = quote(spec.cursor)  # type: ignore[arg-type]
    return (f"SELECT MAX(CASE WHEN {c} <= %(limit)s THEN {c} END), COUNT_IF({c} > %(limit)s)"
            f" FROM {table} WHERE {where}")
