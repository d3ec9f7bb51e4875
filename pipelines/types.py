"""Snowflake types -> dlt column hints, and the vectorized Arrow fixes applied to every batch."""

from __future__ import annotations

import logging
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from learnsync.errors import LearnsyncError
from pipelines.catalog import DAY_COLUMN, DELETED_AT, Column, Strategy, TableSpec, snake_case
from pipelines.fingerprint import ROW_HASH, SOURCE_HASH
from pipelines.reader import DUPS_COLUMN

log = logging.getLogger("learnsync.types")


def column_hint(col: Column) -> dict[str, Any]:
    """The dlt column schema of one Snowflake column (declared up front, so all-NULL columns exist too)."""
    t = col.sf_type
    hint: dict[str, Any] = {"name": snake_case(col.name), "nullable": True}
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
        # TEXT, and ARRAY/VARIANT/OBJECT kept verbatim as JSON text beside their child tables
        hint["data_type"] = "text"
    if col.description:
        hint["description"] = col.description
    return hint


def table_hints(spec: TableSpec) -> dict[str, dict[str, Any]]:
    """Column hints of a parent table, in source order."""
    hints = {h["name"]: h for h in map(column_hint, spec.columns)}
    for key in spec.primary_key:
        hints[snake_case(key)]["nullable"] = False
    if spec.strategy is Strategy.EVENTS:
        hints[snake_case(DAY_COLUMN)] = {"name": snake_case(DAY_COLUMN), "data_type": "date", "nullable": True,
                                         "description": "UTC day of the cursor; re-read days are replaced whole."}
    hints[ROW_HASH] = {"name": ROW_HASH, "data_type": "text", "nullable": True,
                       "description": "Fingerprint of the row computed by Snowflake when it was read (reconcile)."}
    if spec.soft_delete:
        hints[DELETED_AT] = {"name": DELETED_AT, "data_type": "timestamp", "timezone": True, "nullable": True,
                             "description": "When reconcile found the row deleted from the share (NULL: present)."}
    return hints


def prepare_batch(spec: TableSpec, batch: pa.Table) -> pa.Table:
    """Fix one Arrow batch from Snowflake for loading: types, NUL characters, key duplicates, event day."""
    if DUPS_COLUMN in batch.column_names:
        dups = batch[DUPS_COLUMN]
        extra = pc.sum(pc.subtract(dups, 1)).as_py() or 0
        if extra:
            log.warning("Table %s: %d rows share a key with a newer row; kept the newest per key.", spec.name, extra)
        batch = batch.drop_columns([DUPS_COLUMN])
    arrays, names = [], []
    for col in spec.columns:
        arrays.append(_fix(spec, col, batch[col.name]))
        names.append(snake_case(col.name))
    if spec.strategy is Strategy.EVENTS and spec.cursor:
        arrays.append(_day_of(arrays[names.index(snake_case(spec.cursor))]))
        names.append(snake_case(DAY_COLUMN))
    if SOURCE_HASH in batch.column_names:  # every read of the share carries it (ShareReader.select_sql)
        arrays.append(batch[SOURCE_HASH])
        names.append(ROW_HASH)
    return pa.Table.from_arrays(arrays, names=names)


_ARROW = {"text": pa.string(), "bigint": pa.int64(), "double": pa.float64(), "bool": pa.bool_(),
          "date": pa.date32(), "time": pa.time64("us"), "binary": pa.binary()}


def empty_batch(spec: TableSpec) -> pa.Table:
    """A zero-row batch with the table's prepared schema, so an empty table is still created with every column."""
    fields = []
    for hint in table_hints(spec).values():
        t = hint["data_type"]
        if t == "decimal":
            typ = pa.decimal128(hint["precision"], hint["scale"])
        elif t == "timestamp":
            typ = pa.timestamp("us", tz="UTC" if hint.get("timezone") else None)
        else:
            typ = _ARROW[t]
        fields.append(pa.field(hint["name"], typ))
    return pa.schema(fields).empty_table()


def _day_of(values: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_timestamp(values.type):
        if values.type.tz:
            values = values.cast(pa.timestamp(values.type.unit))  # wall clock in UTC
        return values.cast(pa.date32())
    return values


def _fix(spec: TableSpec, col: Column, values: pa.ChunkedArray) -> pa.ChunkedArray:
    t = col.sf_type
    if pa.types.is_timestamp(values.type):
        target = pa.timestamp("us", tz="UTC" if t in ("TIMESTAMP_TZ", "TIMESTAMP_LTZ") else None)
        if values.type.tz and target.tz is None:
            values = values.cast(pa.timestamp(values.type.unit))
        # Postgres and DuckDB hold microseconds; Snowflake's nanoseconds are truncated
        return values.cast(target, safe=False)
    if col.decimal:
        # the connector hands chunks that fit in 64 bits over as int64, the others as decimal128
        return values.cast(pa.decimal128(col.precision or 38, 0))
    if t == "NUMBER" and not col.scale and not pa.types.is_integer(values.type):
        try:
            return values.cast(pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise LearnsyncError(
                f"Table {spec.name}, column {col.name}: a value does not fit in a 64-bit integer, and"
                f" learnsync does not load it wrapped or rounded. Load the column as decimal:"
                f" [sources.learnsync.tables.{spec.name}] decimal_columns = [\"{col.name}\"]"
                f" (or env SOURCES__LEARNSYNC__TABLES__{spec.name}__DECIMAL_COLUMNS='[\"{col.name}\"]')."
            ) from None
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        n = pc.sum(pc.match_substring(values, "\x00").cast(pa.int64())).as_py()
        if n:
            log.warning("Table %s, column %s: dropped NUL characters from %d values.", spec.name, col.name, n)
            return pc.replace_substring(values, "\x00", "")
    return values
