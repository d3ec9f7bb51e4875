"""A table's dlt column hints (each column's from `catalog.layout.column_hint`: Snowflake type -> dlt type) and
the one Arrow schema every batch is cast to before dlt sees it (`pipelines.source.arrow.prepare_batch` does the
casting).

dlt's parquet writer refuses batches whose schemas differ, and dlt creates a column from the first batch it sees
(an int8 key would become a TINYINT), so a table's schema is derived from its declared types alone:

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

from typing import Any, Mapping

import pyarrow as pa

from learnsync.catalog.fingerprint import FINGERPRINT_HINT, FINGERPRINT_VERSION, ROW_HASH
from learnsync.catalog.layout import DAY, column_hint
from learnsync.catalog.tables import DELETED_AT, Strategy, TableSpec


def table_hints(spec: TableSpec) -> dict[str, dict[str, Any]]:
    """Column hints of a parent table, in source order."""
    hints = {h["name"]: h for h in map(column_hint, spec.columns)}
    for key in spec.key_dest:
        hints[key]["nullable"] = False
    if spec.strategy is Strategy.EVENTS:
        hints[DAY] = {"name": DAY, "data_type": "date", "nullable": True,
                      "description": "UTC day of the cursor; re-read days are replaced whole."}
    hints[ROW_HASH] = {"name": ROW_HASH, "data_type": "text", "nullable": True, FINGERPRINT_HINT: FINGERPRINT_VERSION,
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
    # NOT NULL where the hints say so (the key: rows without one are skipped), as dlt compares the two schemas
    # and warns once per table and window when their nullability differs (dlt/extract/extractors.py)
    return pa.schema([pa.field(h["name"], arrow_type(h), nullable=h.get("nullable", True)) for h in hints.values()])


def declared_not_null(table: pa.Table, hints: Mapping[str, Mapping[str, Any]]) -> pa.Table:
    """`table` with the columns its hints declare NOT NULL marked so in its Arrow schema, where it holds no NULL
    (what a query built it from cannot say), so that dlt finds the two schemas agree (`arrow_schema`)."""
    fields = [f.with_nullable(False) if f.nullable and hints.get(f.name, {}).get("nullable") is False
              and table[f.name].null_count == 0 else f for f in table.schema]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata)) if fields != list(table.schema) else table


def empty_batch(spec: TableSpec) -> pa.Table:
    """A zero-row batch with the table's prepared schema, so an empty table is still created with every column."""
    return arrow_schema(spec).empty_table()
