"""One result column on the realistic wire: its rowtype entry, each chunk's Arrow array, its JSON-format text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from learnsync.emulator.encoding import (
    decimal_text,
    duck_sql,
    field_metadata,
    json_default,
    json_pretty,
    loads_json,
    narrowest_int,
    null_where,
    pretty_json,
    to_decimal,
    validity,
)
from learnsync.emulator.geography import sorted_keys, wkb, wkt
from learnsync.emulator.sessions import WireConfig
from learnsync.emulator.sftypes import NANOS, SEMI_STRUCTURED, TIMESTAMPS, Declared, SfType, WireError


class Column:
    """How one result column goes on the wire: its rowtype entry; once bound to its values, each chunk's Arrow
    array (`chunk`) and its text for the JSON result format (`text`). Subclasses do the work once per result in
    `bind`, so that `chunk` only slices (and for NUMBER, picks a width)."""

    def __init__(self, rowtype: dict[str, Any], logical: str) -> None:
        self.rowtype = rowtype
        self.logical = logical
        self.values: pa.Array = pa.array([], pa.null())

    def bind(self, values: pa.Array) -> None:
        self.values = values

    def metadata(self) -> dict[str, str]:
        r = self.rowtype
        return field_metadata(self.logical, r.get("precision"), r.get("scale"), r.get("length") or r.get("byteLength"))

    def field(self, values: pa.Array) -> pa.Field:
        return pa.field(self.rowtype["name"], values.type, nullable=True, metadata=self.metadata())

    def chunk(self, start: int, stop: int) -> pa.Array:
        return self.values.slice(start, stop - start)

    def text(self) -> pa.Array:
        """The values as strings the connector's JSON converters take (converter.py), null for SQL NULL."""
        v = self.values
        kind = self.rowtype["type"]
        if kind == "boolean":
            return pc.if_else(v, "1", "0")
        if kind == "date":
            return pc.cast(pc.cast(v, pa.int32()), pa.string())
        if kind == "time":
            # fakesnow sends TIME as int64 nanoseconds (scale 9): "<seconds>.<9 digits>"
            ns = pc.fill_null(pc.cast(v, pa.int64()), 0).to_numpy()
            return null_where(decimal_text(ns // NANOS, ns % NANOS), validity(v))
        if kind == "binary":
            return duck_sql("SELECT hex(v) AS v FROM t", t=pa.table({"v": v})).column(0).combine_chunks()
        return pc.cast(v, pa.string())


class Fixed(Column):
    """NUMBER(p,s): value x 10^s in the narrowest integer holding the chunk's values; decimal128(38,s) for a chunk
    with a value past 64 bits (reference doc; CArrowTableIterator.cpp converts scale > 0 to float64 or, with
    arrow_number_to_decimal, decimal128(38,s), and leaves a decimal128 chunk as it is)."""

    def bind(self, values: pa.Array) -> None:
        scale = int(self.rowtype.get("scale") or 0)
        if pa.types.is_integer(values.type) and scale == 0:
            self.unscaled = pc.cast(values, pa.int64())
            self.wide = np.zeros(len(values) + 1, dtype=np.int64)
            self.values = values
            return
        if not pa.types.is_decimal(values.type) or values.type.scale != scale:
            values = pc.cast(values, pa.decimal128(38, scale))
        # a decimal128 slot is the unscaled value as a little-endian 128-bit integer: it fits in 64 bits when
        # the high word is the low word's sign extension
        start, stop = 2 * values.offset, 2 * (values.offset + len(values))
        words = np.frombuffer(values.buffers()[1], dtype=np.int64)[start:stop]
        low, high = words[0::2], words[1::2]
        valid = validity(values)
        wide = valid & (high != (low >> 63))
        self.wide = np.concatenate(([0], np.cumsum(wide)))
        self.unscaled = pa.array(np.ascontiguousarray(low), type=pa.int64(), mask=~valid)
        self.values = values

    def chunk(self, start: int, stop: int) -> pa.Array:
        if self.wide[stop] - self.wide[start] > 0:
            scale = int(self.rowtype.get("scale") or 0)
            return pc.cast(self.values.slice(start, stop - start), pa.decimal128(38, scale))
        part = self.unscaled.slice(start, stop - start)
        return pc.cast(part, narrowest_int(part))

    def metadata(self) -> dict[str, str]:
        return field_metadata("FIXED", self.rowtype.get("precision") or 38, self.rowtype.get("scale"))

    def text(self) -> pa.Array:
        return pc.cast(self.values, pa.string())


class Timestamp(Column):
    """TIMESTAMP_NTZ/LTZ as {epoch: int64 seconds, fraction: int32 nanoseconds}, TIMESTAMP_TZ with timezone =
    offset minutes + 1440 and byteLength 16 (CArrowTableIterator.cpp convertTimestamp*Column_nanoarrow).
    `nanos` adds sub-microsecond digits fakesnow cannot hold; `tz_offset_minutes` gives TZ values an offset."""

    def __init__(self, rowtype: dict[str, Any], nanos: int = 0, tz_offset_minutes: int | None = None) -> None:
        super().__init__(rowtype, rowtype["type"].upper())
        self.nanos = nanos
        self.tz_offset_minutes = tz_offset_minutes

    def bind(self, values: pa.Array) -> None:
        if not pa.types.is_struct(values.type):
            raise WireError(f"column {self.rowtype['name']}: expected fakesnow's timestamp struct, got {values.type}")
        valid = validity(values)
        epoch = values.field("epoch").to_numpy(zero_copy_only=False).astype(np.int64)
        fraction = values.field("fraction").to_numpy(zero_copy_only=False).astype(np.int64) + self.nanos * valid
        epoch, fraction = epoch + fraction // NANOS, fraction % NANOS
        arrays = [pa.array(epoch, pa.int64()), pa.array(fraction.astype(np.int32), pa.int32())]
        fields = [pa.field("epoch", pa.int64(), nullable=False), pa.field("fraction", pa.int32(), nullable=False)]
        self.epoch, self.fraction, self.valid = epoch, fraction, valid
        self.tz: np.ndarray | None = None
        if self.logical == "TIMESTAMP_TZ":
            if self.tz_offset_minutes is not None:
                tz = np.full(len(values), self.tz_offset_minutes + 1440, dtype=np.int32)
            elif values.type.get_field_index("timezone") >= 0:
                tz = values.field("timezone").to_numpy(zero_copy_only=False).astype(np.int32)
            else:
                tz = np.full(len(values), 1440, dtype=np.int32)
            self.tz = tz
            arrays.append(pa.array(tz, pa.int32()))
            fields.append(pa.field("timezone", pa.int32(), nullable=False))
        self.values = pa.StructArray.from_arrays(arrays, fields=fields, mask=pa.array(~valid))

    def metadata(self) -> dict[str, str]:
        return field_metadata(self.logical, 0, 9, byte_length=16 if self.logical == "TIMESTAMP_TZ" else None)

    def text(self) -> pa.Array:
        texts = decimal_text(self.epoch, self.fraction)
        if self.tz is not None:
            # converter._TIMESTAMP_TZ_to_python: "<seconds>.<fraction> <offset + 1440>"
            texts = pc.binary_join_element_wise(texts, pc.cast(pa.array(self.tz), pa.string()), " ")
        return null_where(texts, self.valid)


class Variant(Column):
    """VARIANT, ARRAY, OBJECT: JSON text as Snowflake prints it (pretty, `undefined` for NULL elements)."""

    def __init__(self, rowtype: dict[str, Any], undefined_nulls: bool) -> None:
        super().__init__(rowtype, rowtype["type"].upper())
        self.undefined_nulls = undefined_nulls

    def bind(self, values: pa.Array) -> None:
        if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
            raise WireError(f"column {self.rowtype['name']}: expected JSON text, got {values.type}")
        self.values = pretty_json(values, self.undefined_nulls)

    def text(self) -> pa.Array:
        return self.values


class PerRow(Column):
    """Declared types fakesnow cannot hold, converted value by value from what it stores: test-sized columns."""


class DecFloat(PerRow):
    """DECFLOAT as struct {exponent: int16, significand: binary, two's complement big-endian}, which the row
    converter reads (DecFloatConverter.cpp, arrow_context.DECFLOAT_to_decimal) and the table converter of 4.8.x
    does not know (CArrowTableIterator.cpp: "unknown snowflake data type")."""

    def bind(self, values: pa.Array) -> None:
        self.decimals = [None if v is None else to_decimal(v, self.rowtype["name"]) for v in values.to_pylist()]
        exponents, significands = [], []
        for d in self.decimals:
            if d is None:
                exponents.append(0)
                significands.append(b"")
                continue
            sign, digits, exponent = d.as_tuple()
            n = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
            if len(digits) > 38 or not -16384 <= int(exponent) <= 16384:
                raise WireError(f"column {self.rowtype['name']}: {d} does not fit a DECFLOAT")
            exponents.append(int(exponent))
            significands.append(n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big", signed=True))
        self.values = pa.StructArray.from_arrays(
            [pa.array(exponents, pa.int16()), pa.array(significands, pa.binary())],
            fields=[
                pa.field("exponent", pa.int16(), nullable=False),
                pa.field("significand", pa.binary(), nullable=False),
            ],
            mask=pa.array([d is None for d in self.decimals]),
        )

    def metadata(self) -> dict[str, str]:
        return field_metadata("DECFLOAT", 38, 0)

    def text(self) -> pa.Array:
        return pa.array([None if d is None else str(d) for d in self.decimals], pa.string())


class Vector(PerRow):
    """VECTOR(INT|FLOAT, n) as fixed_size_list<int32|float32>[n] with logicalType VECTOR (constants.py
    vector_pa_type; FixedSizeListConverter.cpp: "the backend only sends back INT32 and FLOAT32")."""

    def __init__(self, rowtype: dict[str, Any], sf_type: SfType) -> None:
        super().__init__(rowtype, "VECTOR")
        self.sf_type = sf_type

    def bind(self, values: pa.Array) -> None:
        name, n = self.rowtype["name"], self.sf_type.dimension
        element = self.sf_type.fields[0][1]
        self.lists = [loads_json(v, name) for v in values.to_pylist()]
        for v in self.lists:
            if v is not None and (not isinstance(v, list) or len(v) != n):
                raise WireError(f"column {name}: {json.dumps(v, default=str)[:40]} is not a VECTOR of {n} elements")
        arrow = pa.int32() if element.kind == "fixed" else pa.float32()
        item = pa.field("item", arrow, nullable=False, metadata=_child_meta(element))
        rows = [None if v is None else [int(x) if element.kind == "fixed" else float(x) for x in v] for v in self.lists]
        self.values = pa.array(rows, type=pa.list_(item, n))

    def text(self) -> pa.Array:
        # converter._VECTOR_to_python: json.loads
        return pa.array([None if v is None else json.dumps(v, separators=(",", ":"), default=json_default)
                         for v in self.lists], pa.string())


def _child_meta(t: SfType) -> dict[str, str]:
    return field_metadata(t.kind.upper(), t.precision if t.kind != "fixed" else (t.precision or 38), t.scale)


class Geography(PerRow):
    """GEOGRAPHY (stored as GeoJSON text) per GEOGRAPHY_OUTPUT_FORMAT: GeoJSON/WKT/EWKT text or WKB/EWKB binary.
    The rowtype says geography (constants.FIELD_TYPES has GEOGRAPHY); the Arrow field says TEXT or BINARY, the
    only logical types the connector's converters take for it (SnowflakeType.cpp has no GEOGRAPHY)."""

    def __init__(self, rowtype: dict[str, Any], output_format: str) -> None:
        self.output_format = output_format
        super().__init__(rowtype, "BINARY" if output_format.endswith("WKB") else "TEXT")

    def bind(self, values: pa.Array) -> None:
        name = self.rowtype["name"]
        shapes = [loads_json(v, name) for v in values.to_pylist()]
        fmt = self.output_format
        if fmt == "GeoJSON":
            out: list[Any] = [None if s is None else json_pretty(sorted_keys(s)) for s in shapes]
        elif fmt in ("WKT", "EWKT"):
            prefix = "SRID=4326;" if fmt == "EWKT" else ""
            out = [None if s is None else prefix + wkt(s, name) for s in shapes]
        else:
            out = [None if s is None else wkb(s, name, srid=4326 if fmt == "EWKB" else None) for s in shapes]
        self.values = pa.array(out, pa.binary() if self.logical == "BINARY" else pa.string())

    def metadata(self) -> dict[str, str]:
        return field_metadata(self.logical)

    def text(self) -> pa.Array:
        if self.logical == "BINARY":
            return duck_sql("SELECT hex(v) AS v FROM t", t=pa.table({"v": self.values})).column(0).combine_chunks()
        return self.values


class Structured(PerRow):
    """Structured ARRAY(t) / OBJECT(a t, ...) as Arrow list / struct, each child field with the metadata the
    connector's converters read (ArrayConverter.cpp, ObjectConverter.cpp, CArrowTableIterator.cpp convertIfNeeded),
    and rowtype `fields` (cursor.ResultMetadataV2.from_column). Integers inside follow the NUMBER rule per chunk."""

    def __init__(self, rowtype: dict[str, Any], sf_type: SfType, undefined_nulls: bool) -> None:
        super().__init__(rowtype, sf_type.kind.upper())
        self.sf_type = sf_type
        self.undefined_nulls = undefined_nulls

    def bind(self, values: pa.Array) -> None:
        self.texts = values
        self.parsed = [loads_json(v, self.rowtype["name"]) for v in values.to_pylist()]

    def chunk(self, start: int, stop: int) -> pa.Array:
        return _build(self.parsed[start:stop], self.sf_type, self.rowtype["name"])

    def metadata(self) -> dict[str, str]:
        return field_metadata(self.logical)

    def text(self) -> pa.Array:
        return pretty_json(self.texts, self.undefined_nulls)


def _build(values: list[Any], t: SfType, column: str) -> pa.Array:
    """Arrow values of a structured type's element from parsed JSON (None for null)."""
    kind = t.kind
    try:
        if kind == "fixed":
            scale = t.scale or 0
            unscaled = [None if v is None else int(Decimal(str(v)).scaleb(scale)) for v in values]
            if all(v is None or -(2**63) <= v < 2**63 for v in unscaled):
                ints = pa.array(unscaled, pa.int64())
                return pc.cast(ints, narrowest_int(ints))
            decimals = [None if v is None else Decimal(v).scaleb(-scale) for v in unscaled]
            return pa.array(decimals, pa.decimal128(38, scale))
        if kind == "real":
            return pa.array([None if v is None else float(v) for v in values], pa.float64())
        if kind == "boolean":
            return pa.array([None if v is None else bool(v) for v in values], pa.bool_())
        if kind == "text":
            return pa.array([None if v is None else v if isinstance(v, str) else json.dumps(v, default=json_default)
                             for v in values], pa.string())
        if kind in SEMI_STRUCTURED and not t.structured:
            return pa.array([None if v is None else json_pretty(v) for v in values], pa.string())
        if kind == "array":
            element = t.fields[0][1]
            offsets, flat, nulls = [0], [], []
            for v in values:
                nulls.append(v is None)
                flat.extend(v or [])
                offsets.append(len(flat))
            child = _build(flat, element, column)
            item = pa.field("item", child.type, nullable=True, metadata=_child_meta(element))
            return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), child, type=pa.list_(item),
                                            mask=pa.array(nulls))
        if kind == "object":
            children, fields = [], []
            for name, ft in t.fields:
                child = _build([None if v is None else v.get(name) for v in values], ft, column)
                children.append(child)
                fields.append(pa.field(name, child.type, nullable=True, metadata=_child_meta(ft)))
            return pa.StructArray.from_arrays(children, fields=fields, mask=pa.array([v is None for v in values]))
    except (TypeError, ValueError, AttributeError, InvalidOperation, pa.ArrowException) as e:
        raise WireError(f"column {column}: its JSON does not fit {kind.upper()}: {e}") from None
    raise WireError(f"column {column}: {kind} inside a structured type is not emulated")


def _rowtype_field(t: SfType, name: str | None = None) -> dict[str, Any]:
    """A rowtype entry of a structured type's child (cursor.ResultMetadataV2.from_column reads these keys)."""
    entry: dict[str, Any] = {
        "name": name, "type": t.kind, "nullable": True, "precision": t.precision, "scale": t.scale,
        "length": 16777216 if t.kind == "text" else None, "byteLength": 16777216 if t.kind == "text" else None,
        "collation": None,
    }
    if t.fields:
        entry["fields"] = [_rowtype_field(ft, fn) for fn, ft in t.fields]
    return entry


def column_for(rowtype: dict[str, Any], declared: Declared | None, params: Mapping[str, Any],
               config: WireConfig) -> Column:
    """The wire form of one result column: fakesnow's rowtype entry, and the declaration when the column is a
    bare read of a declared table column."""
    stored = rowtype["type"]
    if declared is not None:
        t = declared.type
        entry = {**rowtype, "type": t.kind}
        if t.kind == "decfloat":
            return DecFloat({**entry, "precision": 38, "scale": 0}, "DECFLOAT")
        if t.kind == "vector":
            element = t.fields[0][1]
            return Vector({**entry, "vectorDimension": t.dimension, "fields": [_rowtype_field(element)]}, t)
        if t.kind == "geography":
            return Geography(entry, params["GEOGRAPHY_OUTPUT_FORMAT"])
        if t.structured:
            return Structured({**entry, "fields": [_rowtype_field(ft, fn) for fn, ft in t.fields]}, t,
                              config.undefined_nulls)
        if t.kind in TIMESTAMPS and stored in TIMESTAMPS:
            entry.update(precision=0, scale=9, byteLength=16 if t.kind == "timestamp_tz" else None)
            return Timestamp(entry, declared.nanos or 0, declared.tz_offset_minutes)
        if t.kind in SEMI_STRUCTURED and stored == "variant":
            return Variant(entry, config.undefined_nulls)
        if t.kind != stored:
            raise WireError(
                f"column {rowtype['name']} is declared {t.kind.upper()} but fakesnow holds {stored.upper()}"
            )
        rowtype = {**rowtype, **({"precision": t.precision, "scale": t.scale} if t.kind in ("fixed", "time") else {})}
    if stored == "fixed":
        return Fixed(rowtype, "FIXED")
    if stored in TIMESTAMPS:
        return Timestamp({**rowtype, "byteLength": 16 if stored == "timestamp_tz" else None})
    if stored in SEMI_STRUCTURED:
        return Variant(rowtype, config.undefined_nulls)
    return Column(rowtype, stored.upper())
