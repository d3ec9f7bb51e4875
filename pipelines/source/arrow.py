"""The Arrow batches of a real account, made loadable: each cast to its table's declared schema (`types`).

A real account hands each result chunk over in its own shape (`../shared/reference/snowflake-result-wire-format.md`,
read from snowflake-connector-python 4.8's `CArrowTableIterator.cpp`): NUMBER(p,0) as int8, int16, int32 or int64
chosen by that chunk's values (decimal128(38,0) past 64 bits), NUMBER(p,s) as decimal128(38,s) (the reader's
connection sets `arrow_number_to_decimal`), VARIANT text pretty-printed with SQL NULL printed `undefined`,
VECTOR as fixed_size_list, structured ARRAY/OBJECT as list/struct. Every fix here is vectorized (pyarrow compute,
or DuckDB over Arrow); no value is converted row by row in Python.
"""

from __future__ import annotations

import logging
from typing import Optional

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from learnsync.errors import LearnsyncError
from learnsync.catalog.tables import TEXT_JSON_TYPES, Column, Strategy, TableSpec
from learnsync.catalog.fingerprint import ROW_HASH, SOURCE_HASH
from learnsync.pipelines.snowflake.sql import DUPS_COLUMN
from learnsync.catalog.layout import DAY
from learnsync.pipelines.source.types import arrow_schema
from learnsync.pipelines.values import ValueCounts

log = logging.getLogger("learnsync.types")


def prepare_batch(spec: TableSpec, batch: pa.Table, counts: Optional[ValueCounts] = None) -> pa.Table:
    """One Arrow batch from Snowflake, as loaded: cast to `arrow_schema(spec)`, rows with a NULL key part skipped,
    NUL characters removed (text and JSON strings), key duplicates reported, the event day added; what was skipped
    or removed is added to `counts` (`pipelines.values`). Raises LearnsyncError for a value the declared type
    cannot hold (a NUMBER(p,0) past 64 bits without `decimal_columns`)."""
    counts = counts if counts is not None else ValueCounts()
    batch = _keyed_rows(spec, batch, counts)
    if DUPS_COLUMN in batch.column_names:
        dups = batch[DUPS_COLUMN]
        extra = pc.sum(pc.subtract(dups.cast(pa.int64()), 1)).as_py() or 0
        if extra:
            log.warning("Table %s: %d rows share a key with a newer row; kept the newest per key.", spec.name, extra)
    schema = arrow_schema(spec)
    arrays: dict[str, pa.ChunkedArray] = {}
    for col in spec.columns:
        arrays[col.dest] = _cast(spec, col, batch[col.name], schema.field(col.dest).type, counts)
    if spec.strategy is Strategy.EVENTS and spec.cursor:
        arrays[DAY] = _day_of(arrays[spec.dest(spec.cursor)])
    # every read of the share carries the fingerprint (ShareReader.select_sql); NULL marks a row without one
    arrays[ROW_HASH] = (batch[SOURCE_HASH].cast(pa.string()) if SOURCE_HASH in batch.column_names
                        else pa.chunked_array([pa.nulls(batch.num_rows, pa.string())]))
    return pa.Table.from_arrays([arrays[f.name] for f in schema], schema=schema)


def _keyed_rows(spec: TableSpec, batch: pa.Table, counts: ValueCounts) -> pa.Table:
    """The rows of a keyed table whose key parts are all set: a NULL key has no row to merge into, no primary key
    and no parent for child rows, so such a row is skipped (counted, and said once per batch) and the rest of the
    table loads (the reader lets every such row through its one-row-per-key QUALIFY, so the count is exact)."""
    if not spec.primary_key or spec.strategy is Strategy.EVENTS:
        return batch
    missing = pc.is_null(batch[spec.primary_key[0]])
    for key in spec.primary_key[1:]:
        missing = pc.or_(missing, pc.is_null(batch[key]))
    skipped = pc.sum(missing.cast(pa.int64())).as_py() or 0
    if not skipped:
        return batch
    counts.skipped_null_keys += skipped
    log.warning("Table %s: skipped %d row(s) with a NULL in key %s (a keyed table cannot hold them).", spec.name,
                skipped, ", ".join(spec.primary_key))
    return batch.filter(pc.invert(missing))


def _day_of(values: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_timestamp(values.type):
        if values.type.tz:
            values = values.cast(pa.timestamp(values.type.unit))  # wall clock in UTC
        return values.cast(pa.date32())
    return values


def _cast(spec: TableSpec, col: Column, values: pa.ChunkedArray, target: pa.DataType,
          counts: ValueCounts) -> pa.ChunkedArray:
    t = values.type
    if pa.types.is_null(t):  # a column of NULLs only, typed `null`
        return pa.chunked_array([pa.nulls(len(values), target)], target)
    if pa.types.is_timestamp(target):
        return _timestamp(values, target)
    if pa.types.is_decimal(target) or target == pa.int64():
        return _number(spec, col, values, target)
    if target == pa.string():
        if col.sf_type in TEXT_JSON_TYPES or pa.types.is_nested(t):
            return _no_nul(spec, col, to_json_text(values), counts, json=True)
        return _no_nul(spec, col, values.cast(target), counts)
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


_NUL_ESCAPE = (r"((?:^|[^\\])(?:\\\\)*)\\u0000", r"\1")
"""A `\\u0000` escape in JSON text (preceded by an even run of backslashes: not an escaped backslash's `u0000`),
removed with what precedes it kept."""


def _no_nul(spec: TableSpec, col: Column, values: pa.ChunkedArray, counts: ValueCounts,
            json: bool = False) -> pa.ChunkedArray:
    """Text without NUL characters (in JSON text: without `\\u0000` escapes, so no string inside the value holds
    one): Postgres text and jsonb cannot store it, and every destination gets the same values (`pipelines.values`).
    The characters removed are counted in `counts` and said once per batch."""
    if json:
        before = pc.sum(pc.utf8_length(values)).as_py() or 0
        out = values
        # a run of escapes shares its delimiters between matches: repeat until none is left
        while pc.any(pc.match_substring_regex(out, _NUL_ESCAPE[0])).as_py():
            out = pc.replace_substring_regex(out, pattern=_NUL_ESCAPE[0], replacement=_NUL_ESCAPE[1])
        removed = (before - (pc.sum(pc.utf8_length(out)).as_py() or 0)) // len("\\u0000")
    else:
        removed = pc.sum(pc.count_substring(values, "\x00")).as_py() or 0
        out = pc.replace_substring(values, "\x00", "") if removed else values
    if removed:
        counts.nul_removed += removed
        log.warning("Table %s, column %s: removed %d NUL character(s) (no destination keeps them alike).",
                    spec.name, col.name, removed)
    return out


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
