"""Snowflake types -> dlt column hints, and the one Arrow schema every batch is cast to before dlt sees it.

A real account hands each result chunk over in its own shape (`../shared/reference/snowflake-result-wire-format.md`,
read from snowflake-connector-python 4.8's `CArrowTableIterator.cpp`): NUMBER(p,0) as int8, int16, int32 or int64
chosen by that chunk's values (decimal128(38,0) past 64 bits), NUMBER(p,s) as decimal128(38,s) (the reader's
connection sets `arrow_number_to_decimal`), VARIANT text pretty-printed with SQL NULL printed `undefined`,
VECTOR as fixed_size_list, structured ARRAY/OBJECT as list/struct. dlt's parquet writer refuses batches whose
schemas differ, and dlt creates a column from the first batch it sees (an int8 key would become a TINYINT), so
`prepare_batch` casts every batch to `arrow_schema(spec)`, derived from the declared types alone.

| Snowflake | dlt | Arrow |
|---|---|---|
| NUMBER(p,0) | bigint (decimal(p,0) with `decimal_columns`) | int64 / decimal128(p,0) |
| NUMBER(p,s), s > 0 | decimal(p,s) | decimal128(p,s) |
| FLOAT | double | float64 |
| BOOLEAN | bool | bool |
| DATE / TIME | date / time | date32 / time64[us] |
| TIMESTAMP_NTZ | timestamp without zone (UTC wall clock) | timestamp[us] |
| TIMESTAMP_LTZ / TZ | timestamp with zone (the instant; TZ's offset is not kept) | timestamp[us, UTC] |
| TEXT, BINARY | text, binary | string, binary |
| VARIANT, ARRAY, OBJECT, MAP, structured ARRAY(t)/OBJECT(...) | text: compact JSON + child tables | string |
| VECTOR(INT/FLOAT, n) | text: a JSON array | string |
| GEOGRAPHY, GEOMETRY | text: compact GeoJSON | string |
| DECFLOAT | text: the exact decimal (read as `TO_VARCHAR` in Snowflake's SQL) | string |
| any other type | text (read as `TO_VARCHAR`) | string |
"""

from __future__ import annotations

import logging
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from learnsync.errors import LearnsyncError
from learnsync.pipelines.catalog import DAY_COLUMN, DELETED_AT, Column, Strategy, TableSpec
from learnsync.pipelines.fingerprint import ROW_HASH, SOURCE_HASH
from learnsync.pipelines.naming import snake_case

log = logging.getLogger("learnsync.types")

DUPS_COLUMN = "__LS_DUPS"
"""Per-row count of rows sharing its key in the window (the reader's SELECT adds it; the share does not enforce
keys)."""
DAY = snake_case(DAY_COLUMN)
TIMESTAMP_TYPES = frozenset({"TIMESTAMP_NTZ", "TIMESTAMP_LTZ", "TIMESTAMP_TZ"})
GEO_TYPES = frozenset({"GEOGRAPHY", "GEOMETRY"})
TEXT_JSON_TYPES = frozenset({"VARIANT", "ARRAY", "OBJECT", "MAP", "VECTOR"}) | GEO_TYPES
"""Types loaded as JSON text (child tables for the first four; see `Column.is_json`)."""
READ_RAW = frozenset({"NUMBER", "FLOAT", "BOOLEAN", "DATE", "TIME", "BINARY", "TEXT"}) | TIMESTAMP_TYPES | TEXT_JSON_TYPES
"""Types the connector's Arrow path reads as they are; any other (DECFLOAT, which connector 4.8 cannot convert,
or a type Snowflake adds later) is read as `TO_VARCHAR(column)`."""


def reads_as_text(col: Column) -> bool:
    """Whether the reader selects the column as `TO_VARCHAR(...)` (DECFLOAT and types it does not know)."""
    return col.sf_type not in READ_RAW


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


def table_hints(spec: TableSpec) -> dict[str, dict[str, Any]]:
    """Column hints of a parent table, in source order."""
    hints = {h["name"]: h for h in map(column_hint, spec.columns)}
    for key in spec.key_dest:
        hints[key]["nullable"] = False
    if spec.strategy is Strategy.EVENTS:
        hints[DAY] = {"name": DAY, "data_type": "date", "nullable": True,
                      "description": "UTC day of the cursor; re-read days are replaced whole."}
    hints[ROW_HASH] = {"name": ROW_HASH, "data_type": "text", "nullable": True,
                       "description": "Fingerprint of the row computed by Snowflake when it was read (reconcile)."}
    if spec.soft_delete:
        hints[DELETED_AT] = {"name": DELETED_AT, "data_type": "timestamp", "timezone": True, "nullable": True,
                             "description": "When reconcile found the row deleted from the share (NULL: present)."}
    return hints


_ARROW = {"text": pa.string(), "bigint": pa.int64(), "double": pa.float64(), "bool": pa.bool_(),
          "date": pa.date32(), "time": pa.time64("us"), "binary": pa.binary()}


def arrow_type(hint: dict[str, Any]) -> pa.DataType:
    """The Arrow type a column's values are cast to for dlt (the Arrow side of `column_hint`)."""
    t = hint["data_type"]
    if t == "decimal":
        return pa.decimal128(hint["precision"], hint["scale"])
    if t == "timestamp":
        return pa.timestamp("us", tz="UTC" if hint.get("timezone") else None)
    return _ARROW[t]


def arrow_schema(spec: TableSpec) -> pa.Schema:
    """The schema of every prepared batch of a parent table: its columns in source order, the event day (event
    tables) and the row fingerprint. (`_learnsync_deleted_at` is written by reconcile only.)"""
    hints = table_hints(spec)
    hints.pop(DELETED_AT, None)
    return pa.schema([pa.field(h["name"], arrow_type(h)) for h in hints.values()])


def empty_batch(spec: TableSpec) -> pa.Table:
    """A zero-row batch with the table's prepared schema, so an empty table is still created with every column."""
    return arrow_schema(spec).empty_table()


def prepare_batch(spec: TableSpec, batch: pa.Table) -> pa.Table:
    """One Arrow batch from Snowflake, as loaded: cast to `arrow_schema(spec)`, NUL characters dropped, key
    duplicates reported, the event day added. Raises LearnsyncError for a value the declared type cannot hold
    (a NUMBER(p,0) past 64 bits without `decimal_columns`)."""
    if DUPS_COLUMN in batch.column_names:
        dups = batch[DUPS_COLUMN]
        extra = pc.sum(pc.subtract(dups.cast(pa.int64()), 1)).as_py() or 0
        if extra:
            log.warning("Table %s: %d rows share a key with a newer row; kept the newest per key.", spec.name, extra)
    schema = arrow_schema(spec)
    arrays: dict[str, pa.ChunkedArray] = {}
    for col in spec.columns:
        arrays[col.dest] = _cast(spec, col, batch[col.name], schema.field(col.dest).type)
    if spec.strategy is Strategy.EVENTS and spec.cursor:
        arrays[DAY] = _day_of(arrays[spec.dest(spec.cursor)])
    # every read of the share carries the fingerprint (ShareReader.select_sql); NULL marks a row without one
    arrays[ROW_HASH] = (batch[SOURCE_HASH].cast(pa.string()) if SOURCE_HASH in batch.column_names
                        else pa.chunked_array([pa.nulls(batch.num_rows, pa.string())]))
    return pa.Table.from_arrays([arrays[f.name] for f in schema], schema=schema)


def _day_of(values: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_timestamp(values.type):
        if values.type.tz:
            values = values.cast(pa.timestamp(values.type.unit))  # wall clock in UTC
        return values.cast(pa.date32())
    return values


def _cast(spec: TableSpec, col: Column, values: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    t = values.type
    if pa.types.is_null(t):  # a column of NULLs only, typed `null`
        return pa.chunked_array([pa.nulls(len(values), target)], target)
    if pa.types.is_timestamp(target):
        return _timestamp(values, target)
    if pa.types.is_decimal(target) or target == pa.int64():
        return _number(spec, col, values, target)
    if target == pa.string():
        if col.sf_type in TEXT_JSON_TYPES or pa.types.is_nested(t):
            return _no_nul(spec, col, to_json_text(values))
        return _no_nul(spec, col, values.cast(target))
    # time32[s|ms] or time64[us] (the connector truncates TIME's nanoseconds), date32, bool, float64, binary
    return values.cast(target)


def _timestamp(values: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    """Timestamps as microseconds. The reader asks the connector for microseconds (`force_microsecond_precision`);
    nanoseconds that still arrive are floored, so 1969-12-31 23:59:59.999999999 stays on 1969-12-31 (a plain
    cast truncates toward 1970)."""
    t = values.type
    if t.unit == "ns":
        values = pc.floor_temporal(values, unit="microsecond")
    if t.tz and target.tz is None:
        values = values.cast(pa.timestamp(t.unit))  # the session runs in UTC: the naive value is the UTC wall clock
    return values.cast(target, safe=False)


def _number(spec: TableSpec, col: Column, values: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    if pa.types.is_floating(values.type) and col.sf_type == "NUMBER":
        # the connector hands scaled numbers over as float64 unless `arrow_number_to_decimal` is set
        # (CArrowTableIterator.cpp): never load a NUMBER through a float
        raise LearnsyncError(
            f"Table {spec.name}, column {col.name}: NUMBER values arrived as float64; the Snowflake connection must"
            " set arrow_number_to_decimal=True (learnsync's own connections do)."
        )
    try:
        return values.cast(target)  # a safe cast: a value that does not fit raises
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if target == pa.int64():
            raise LearnsyncError(
                f"Table {spec.name}, column {col.name}: a value does not fit in a 64-bit integer, and"
                f" learnsync does not load it wrapped or rounded. Load the column as decimal:"
                f" [sources.learnsync.tables.{spec.name}] decimal_columns = [\"{col.name}\"]"
                f" (or env SOURCES__LEARNSYNC__TABLES__{spec.name}__DECIMAL_COLUMNS='[\"{col.name}\"]')."
            ) from None
        raise LearnsyncError(
            f"Table {spec.name}, column {col.name}: a value does not fit the declared"
            f" NUMBER({col.precision},{col.scale}); check the share's column type."
        ) from None


def _no_nul(spec: TableSpec, col: Column, values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Postgres cannot store the NUL character in text; drop it with a warning (counted)."""
    n = pc.sum(pc.match_substring(values, "\x00").cast(pa.int64())).as_py()
    if n:
        log.warning("Table %s, column %s: dropped NUL characters from %d values.", spec.name, col.name, n)
        return pc.replace_substring(values, "\x00", "")
    return values


# Snowflake prints VARIANT/ARRAY/OBJECT (and GeoJSON) values with a 2-space indent, one element or member per line,
# and SQL NULL inside an array or object as `undefined`, which is not JSON. A JSON string never holds a raw line
# break, so on a line of its own (or after `": `) and at the line's end `undefined` can only be that token.
_UNDEFINED = (r"(?m)(^\s*|\": )undefined(,?)$", r"\1null\2")
_BREAKS = (r"\n\s*", "")
# after a key, `": ` -> `":`; the quote must be unescaped (preceded by an even run of backslashes)
_KEY_SPACE = (r'((?:^|[^\\])(?:\\\\)*)": ', r'\1":')


def to_json_text(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """JSON values as compact JSON text, vectorized: Snowflake's pretty text minified with `undefined` as `null`
    (the text is otherwise kept: numbers keep every digit); lists, structs, maps and fixed-size lists (structured
    types, VECTOR) rendered by DuckDB's `to_json`."""
    t = values.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        out = values.cast(pa.string())
        for pattern, replacement in (_UNDEFINED, _BREAKS, _KEY_SPACE):
            out = pc.replace_substring_regex(out, pattern=pattern, replacement=replacement)
        return out
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        raise LearnsyncError("A GEOGRAPHY/GEOMETRY column arrived as WKB; the session must keep GeoJSON output.")
    return _duckdb_json(values)


def _duckdb_json(values: pa.ChunkedArray) -> pa.ChunkedArray:
    # float32 elements (VECTOR(FLOAT, n)) print in their shortest form, as Snowflake does, not widened to double
    con = duckdb.connect()
    try:
        con.register("v", pa.table({"v": values}))
        inner = values.type.value_type if pa.types.is_list(values.type) or pa.types.is_fixed_size_list(values.type) else None
        if inner is not None and pa.types.is_float32(inner):
            sql = ("SELECT CASE WHEN v IS NULL THEN NULL ELSE '[' || array_to_string(list_transform(v::FLOAT[],"
                   " lambda x: coalesce(x::VARCHAR, 'null')), ',') || ']' END FROM v")
        else:
            sql = "SELECT to_json(v)::VARCHAR FROM v"
        return con.sql(sql).to_arrow_table().column(0).cast(pa.string())
    finally:
        con.close()
