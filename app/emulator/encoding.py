"""Arrow and text helpers the realistic wire encodes values with: field metadata, integer widths, Snowflake's
pretty JSON, seconds with nine fraction digits."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from learnsync.emulator.sftypes import NANOS, WireError


def field_metadata(logical: str, precision: int | None = None, scale: int | None = None,
                   length: int | None = None, byte_length: int | None = None) -> dict[str, str]:
    """Field metadata as Snowflake sends it; the connector reads logicalType, scale and precision from it
    (CArrowChunkIterator.cpp getConverterFromSchema), byteLength for TIMESTAMP_TZ (CArrowTableIterator.cpp)."""
    m = {"logicalType": logical, "precision": str(precision or 0), "scale": str(scale or 0),
         "charLength": str(length or 0)}
    if byte_length is not None:
        m["byteLength"] = str(byte_length)
    return m


def narrowest_int(values: pa.Array) -> pa.DataType:
    """int8, int16, int32 or int64: the narrowest holding these int64 values (nulls ignored)."""
    mm = pc.min_max(values)
    lo, hi = mm["min"].as_py(), mm["max"].as_py()
    if lo is None:
        return pa.int8()
    for t, bound in ((pa.int8(), 2**7), (pa.int16(), 2**15), (pa.int32(), 2**31)):
        if -bound <= lo and hi < bound:
            return t
    return pa.int64()


def validity(arr: pa.Array) -> np.ndarray:
    """True where a value is not null, as a numpy mask."""
    return np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def duck_sql(sql: str, **tables: pa.Table) -> pa.Table:
    """Run SQL over Arrow tables in a private in-memory DuckDB (JSON printing and quoting, hex)."""
    con = duckdb.connect()
    try:
        for name, table in tables.items():
            con.register(name, table)
        return con.sql(sql).to_arrow_table()
    finally:
        con.close()


def pretty_json(texts: pa.Array, undefined_nulls: bool) -> pa.Array:
    """JSON text pretty-printed as Snowflake prints VARIANT: 2-space indent, `"key": value`, one element a line,
    SQL NULL array elements as `undefined` when asked. Vectorized: DuckDB's json_pretty (yyjson) breaks the lines,
    then Arrow re-indents them by nesting depth (JSON text holds no raw newline, so every newline is a break)."""
    if len(texts) == 0 or texts.null_count == len(texts):
        return texts.cast(pa.string())
    printed = duck_sql("SELECT json_pretty(v::JSON) AS v FROM t", t=pa.table({"v": texts})).column(0).combine_chunks()
    lines = pc.split_pattern(printed, "\n")
    body = pc.utf8_ltrim(lines.flatten(), characters=" ")
    # the depth of a line: brackets opened at the ends of the lines before it, less those closed at the starts of
    # the lines up to it (a string line starts with a quote and ends with one or a comma, so no bracket there
    # is a string's). Not yyjson's own indent: it writes integers past 64 bits at column 0
    opens = pc.or_(pc.ends_with(body, "["), pc.ends_with(body, "{")).to_numpy(zero_copy_only=False)
    closes = pc.or_(pc.starts_with(body, "]"), pc.starts_with(body, "}")).to_numpy(zero_copy_only=False)
    depth = np.cumsum(opens) - opens - np.cumsum(closes)
    indent = pa.array(2 * depth, pa.int64())
    if undefined_nulls:
        # a line that is only `null` inside a value of several lines is an array element (an object's null
        # member shares its line with the key; a VARIANT that is just null is one line)
        multi = pc.greater(pc.take(pc.list_value_length(lines), pc.list_parent_indices(lines)), 1)
        element = pc.and_(multi, pc.is_in(body, value_set=pa.array(["null", "null,"])))
        body = pc.if_else(element, pc.replace_substring(body, "null", "undefined"), body)
    relined = pc.binary_join_element_wise(pc.binary_repeat(pa.scalar(" "), indent), body, "")
    rebuilt = pa.ListArray.from_arrays(lines.offsets, relined, mask=printed.is_null())
    return pc.binary_join(rebuilt, "\n")


def json_pretty(value: Any) -> str:
    """One parsed JSON value as Snowflake prints it (2-space indent, non-ASCII kept)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=json_default)


def json_default(value: Any) -> Any:
    """`json.dumps`' fallback for the Decimals `loads_json` reads numbers as."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def decimal_text(epoch: np.ndarray, fraction: np.ndarray) -> pa.Array:
    """Seconds with 9 fraction digits, signed as the connector's JSON converters read them
    (converter.get_seconds_microseconds: -0.000000001 is 1969-12-31 23:59:59.999999999)."""
    negative = epoch < 0
    borrow = negative & (fraction > 0)
    whole = np.where(borrow, -(epoch + 1), np.abs(epoch))
    frac = np.where(borrow, NANOS - fraction, fraction)
    sign = pc.if_else(pa.array(negative & ((whole > 0) | (frac > 0))), "-", "")
    return pc.binary_join_element_wise(
        sign, pc.cast(pa.array(whole), pa.string()), ".", pc.utf8_lpad(pc.cast(pa.array(frac), pa.string()), 9, "0"), ""
    )


def null_where(texts: pa.Array, valid: np.ndarray) -> pa.Array:
    """The texts, null where `valid` is False."""
    return pc.if_else(pa.array(valid), texts, pa.scalar(None, pa.string()))


def to_decimal(value: Any, column: str) -> Decimal:
    """A stored number's text as a finite Decimal; WireError when it is not one."""
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise WireError(f"column {column}: {value!r} is not a number") from None
    if not d.is_finite():
        raise WireError(f"column {column}: {value!r} is not a finite number")
    return d


def loads_json(value: str | None, column: str) -> Any:
    """Stored JSON text parsed, numbers as Decimal (None for NULL); WireError when it is not JSON."""
    if value is None:
        return None
    try:
        return json.loads(value, parse_float=Decimal)
    except json.JSONDecodeError:
        raise WireError(f"column {column}: {value[:40]!r} is not JSON") from None
