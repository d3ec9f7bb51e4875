"""The realistic wire: an ASGI layer in front of fakesnow's HTTP app that answers like a real Snowflake account.

fakesnow answers "more politely than Snowflake": one chunk, int64 for every NUMBER(p,0), decimal128 for scaled
numbers, compact JSON, microsecond timestamps, TIMEZONE Etc/UTC. A reader tested only against that cannot see the
failures Snowflake's real answers cause. This layer decodes fakesnow's Arrow answer and re-encodes it the way
`/work/shared/reference/snowflake-result-wire-format.md` describes and the connector's own source expects
(`snowflake/connector/result_batch.py`, `cursor.py`, `constants.py`, `converter.py`, `arrow_context.py` and
`nanoarrow_cpp/ArrowIterator/CArrowTableIterator.cpp`, `CArrowChunkIterator.cpp`, `SnowflakeType.cpp`):

- several chunks: the first inline (`rowsetBase64`), the rest listed in `data.chunks` and served by this layer
  from the same loopback server, gzip without Content-Encoding like S3 (`result_batch._ensure_decompressed`);
- per chunk, NUMBER as value x 10^scale in the narrowest integer that holds that chunk's values, or
  decimal128(38, s) past 64 bits;
- timestamps as {epoch, fraction} structs with nanoseconds (scale 9), TIMESTAMP_TZ with its offset (+1440);
- VARIANT/ARRAY/OBJECT text pretty-printed with a 2-space indent, SQL NULL array elements as `undefined`;
- session parameters tracked per session (login, ALTER SESSION, statement parameters): TIMEZONE echoed in every
  answer (the account default when the session sets none), PYTHON_CONNECTOR_QUERY_RESULT_FORMAT (JSON answers in
  the rowset form the connector's JSON converters read), GEOGRAPHY_OUTPUT_FORMAT, QUERY_TAG;
- types fakesnow cannot create, declared by a test (`RealisticWire.declare`): DECFLOAT, VECTOR, GEOGRAPHY,
  structured ARRAY/OBJECT, nanosecond digits and TIMESTAMP_TZ offsets.

Logins, DML, describe-only requests and errors pass through with their payload unchanged (only `parameters`
is the session's). Usage:

    wire = RealisticWire(WireConfig(chunk_rows=100))
    with emulator.emulated_share(wire=wire) as server:   # server.wire is wire
        wire.declare("DB", "S", "T", "AMOUNT", "DECFLOAT")
        ...
        assert wire.queries[-1].parameters["QUERY_TAG"] == "nightly"
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import logging
import os
import re
import struct
import threading
import time
import uuid
import zoneinfo
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlglot import exp
from starlette.concurrency import run_in_threadpool

from learnsync.emulator import account
from learnsync.emulator.account import AccountSettings

__all__ = ["CHUNK_PATH", "RealisticWire", "ReceivedQuery", "WireConfig", "WireSpec", "make_wire"]

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ResultFormat = Literal["ARROW", "JSON"]
GeographyFormat = Literal["GeoJSON", "WKT", "WKB", "EWKT", "EWKB"]

CHUNK_PATH = "/wire-chunks/"
_RESULT_FORMATS = {"ARROW": "ARROW", "ARROW_FORCE": "ARROW", "JSON": "JSON"}
_GEOGRAPHY_FORMATS = {f.upper(): f for f in ("GeoJSON", "WKT", "WKB", "EWKT", "EWKB")}
# Snowflake's statement type id of ALTER SESSION (SFStatementType.ALTER_SESSION in snowflake-jdbc: SCL + 0x100)
_ALTER_SESSION_TYPE_ID = 0x4100
# a chunk is kept this long after its first download: the connector re-downloads a chunk that arrived short
# (result_batch.MAX_INCOMPLETE_CHUNK_RETRY) or failed (MAX_DOWNLOAD_RETRY, with backoff), within seconds
_AFTER_DOWNLOAD_TTL_S = 60.0
_NANOS = 1_000_000_000


# --------------------------------------------------------------------------------------------------------------
# configuration and records


@dataclass(frozen=True)
class WireConfig:
    """How the realistic wire answers. Account-level settings default to what a new Snowflake account has.

    chunk_rows: rows per result chunk (>= 1). A real account sizes chunks by bytes; rows make tests exact.
    first_chunk_rows: rows of the inline first chunk; None means chunk_rows, 0 an empty inline rowset with
        every row in `data.chunks` (as Snowflake sometimes sends).
    account_timezone: the account's TIMEZONE, used when a session sets none (Snowflake's default is
        America/Los_Angeles).
    account_result_format: the account's PYTHON_CONNECTOR_QUERY_RESULT_FORMAT, ARROW or JSON; with JSON,
        `fetch_arrow_batches` raises NotSupportedError unless the session pins ARROW (cursor.py).
    geography_output_format: the account's GEOGRAPHY_OUTPUT_FORMAT: GeoJSON, WKT, WKB, EWKT or EWKB.
    gzip_chunks: serve chunks as raw gzip without Content-Encoding, like S3; the connector finds the gzip magic
        (result_batch._ensure_decompressed).
    gzip_encoding_header: with gzip_chunks, send `Content-Encoding: gzip` too, as S3 does for an object stored
        with that metadata: connectors before 4.x (3.18, which ingestr 0.14 pins) only decompress then.
    undefined_nulls: print null elements inside arrays as `undefined`, Snowflake's text for SQL NULL in an ARRAY.
        fakesnow cannot tell SQL NULL from JSON null, so every null array element becomes `undefined`.
    chunk_store_bytes: bound of the chunk bytes held for download (least recently used go first).
    chunk_ttl_seconds: how long an undownloaded chunk stays (real chunk URLs expire after hours; tests need
        minutes); after its first download a chunk stays at most another minute.
    account: the account's other parameters and Snowflake's limits (`learnsync.emulator.account`): a new
        account's by default, `AccountSettings.strict()` for one whose administrators changed them.
    """

    chunk_rows: int = 1000
    first_chunk_rows: int | None = None
    account_timezone: str = "America/Los_Angeles"
    account_result_format: ResultFormat = "ARROW"
    geography_output_format: GeographyFormat = "GeoJSON"
    gzip_chunks: bool = True
    gzip_encoding_header: bool = False
    undefined_nulls: bool = True
    chunk_store_bytes: int = 512 * 2**20
    chunk_ttl_seconds: float = 600.0
    account: AccountSettings = field(default_factory=AccountSettings)

    def __post_init__(self) -> None:
        if self.chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, not {self.chunk_rows}")
        if self.first_chunk_rows is not None and self.first_chunk_rows < 0:
            raise ValueError(f"first_chunk_rows must be None or at least 0, not {self.first_chunk_rows}")
        _check_timezone(self.account_timezone)
        object.__setattr__(self, "account_result_format", _canonical_result_format(self.account_result_format))
        object.__setattr__(self, "geography_output_format", _canonical_geography(self.geography_output_format))
        if self.chunk_store_bytes < 1 or self.chunk_ttl_seconds <= 0:
            raise ValueError("chunk_store_bytes and chunk_ttl_seconds must be positive")

    def account_parameters(self) -> dict[str, Any]:
        """The parameters a session has before it sets any (names as Snowflake spells them)."""
        return {
            **self.account.values(),
            "TIMEZONE": self.account_timezone,
            "PYTHON_CONNECTOR_QUERY_RESULT_FORMAT": self.account_result_format,
            "GEOGRAPHY_OUTPUT_FORMAT": self.geography_output_format,
            "QUERY_TAG": "",
        }


@dataclass(frozen=True)
class ReceivedQuery:
    """One query-request the wire received, in arrival order.

    sql: the statement text as sent (the connector's pyformat binding has already pasted values in).
    bindings: server-side bindings as sent, eg {"1": {"type": "FIXED", "value": "10"}}, or None.
    parameters: the parameters in effect for the statement: the account's, overridden by the session's (login
        SESSION_PARAMETERS, earlier ALTER SESSION), overridden by the statement's own; upper-case names.
    query_id: Snowflake's query id of the answer, None when the statement failed.
    session: the session's number, 1 for the first login the wire saw (tokens are credentials: never recorded).
    describe_only: a describe-only request (cursor.describe, or the connector preparing a statement).
    """

    sql: str
    bindings: dict[str, Any] | None
    parameters: dict[str, Any]
    query_id: str | None
    session: int
    describe_only: bool = False


def _check_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone name (IANA names, eg 'UTC' or 'Europe/Paris')") from None
    return name


def _canonical_result_format(value: Any) -> str:
    try:
        return _RESULT_FORMATS[str(value).upper()]
    except KeyError:
        raise ValueError(f"{value!r} is not a PYTHON_CONNECTOR_QUERY_RESULT_FORMAT (ARROW or JSON)") from None


def _canonical_geography(value: Any) -> str:
    try:
        return _GEOGRAPHY_FORMATS[str(value).upper()]
    except KeyError:
        raise ValueError(
            f"{value!r} is not a GEOGRAPHY_OUTPUT_FORMAT ({', '.join(_GEOGRAPHY_FORMATS.values())})"
        ) from None


def _flag(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).upper() in ("TRUE", "ON", "YES", "1")


# the parameters this layer owns: fakesnow rejects ALTER SESSION SET for them (NotImplementedError), and none
# changes what fakesnow computes; TIMEZONE only labels answers here, fakesnow's SQL still runs in UTC
_WIRE_PARAMETERS: dict[str, Callable[[Any], Any]] = {
    "TIMEZONE": lambda v: _check_timezone(str(v)),
    "PYTHON_CONNECTOR_QUERY_RESULT_FORMAT": _canonical_result_format,
    "GEOGRAPHY_OUTPUT_FORMAT": _canonical_geography,
    "GEOMETRY_OUTPUT_FORMAT": _canonical_geography,  # no GEOMETRY is emulated: only the session keeps it
    "QUERY_TAG": str,
    "STATEMENT_TIMEOUT_IN_SECONDS": int,
    "CLIENT_RESULT_CHUNK_SIZE": int,
    "CLIENT_SESSION_KEEP_ALIVE": _flag,
    # the account's parameters this emulator plays (`learnsync.emulator.account`)
    **{name: _flag if isinstance(default, bool) else type(default)
       for name, default in account.DEFAULT_PARAMETERS.items()},
}


# --------------------------------------------------------------------------------------------------------------
# declared types


@dataclass(frozen=True)
class _SfType:
    """A Snowflake type as the wire describes it: `kind` is the rowtype's `type` (fixed, text, vector...)."""

    kind: str
    precision: int | None = None
    scale: int | None = None
    dimension: int | None = None  # VECTOR(_, n)
    fields: tuple[tuple[str | None, _SfType], ...] = ()  # ARRAY(t): one unnamed; OBJECT(a t, ...); VECTOR(t, n)

    @property
    def structured(self) -> bool:
        return self.kind in ("array", "object") and bool(self.fields)

    @property
    def data_type(self) -> str:
        """The base type as INFORMATION_SCHEMA.COLUMNS.DATA_TYPE names it."""
        return _DATA_TYPES.get(self.kind, self.kind.upper())


_DATA_TYPES = {"fixed": "NUMBER", "real": "FLOAT", "text": "TEXT"}
_TIMESTAMPS = ("timestamp_ntz", "timestamp_ltz", "timestamp_tz")
_SEMI_STRUCTURED = ("variant", "array", "object")


def _parse_type(text: str) -> _SfType:
    """A declared Snowflake type (`VECTOR(INT, 3)`, `OBJECT(a VARCHAR, b NUMBER(10,2))`...) as the wire sends it.

    Raises ValueError for a type the wire cannot send (MAP, TIMESTAMP scales other than 9, elements of
    structured types other than numbers, text, booleans and semi-structured values).
    """
    try:
        parsed = exp.DataType.build(text, dialect="snowflake")
    except (sqlglot.errors.ParseError, ValueError) as e:
        raise ValueError(f"{text!r} is not a Snowflake type: {e}") from None
    return _from_sqlglot(parsed, text)


def _from_sqlglot(d: Any, text: str, nested: bool = False) -> _SfType:
    T = exp.DataType.Type
    params = [int(p.this.this) if isinstance(p.this, exp.Literal) else int(p.name) for p in d.expressions
              if isinstance(p, exp.DataTypeParam)]
    t = d.this
    if t in (T.DECIMAL, T.BIGDECIMAL):
        return _SfType("fixed", params[0] if params else 38, params[1] if len(params) > 1 else 0)
    if t in (T.INT, T.BIGINT, T.SMALLINT, T.TINYINT, T.MEDIUMINT):
        return _SfType("fixed", 38, 0)  # Snowflake's INT is NUMBER(38,0)
    if t in (T.DOUBLE, T.FLOAT):
        return _SfType("real")
    if t in (T.VARCHAR, T.TEXT, T.CHAR, T.NCHAR, T.NVARCHAR):
        return _SfType("text", None, None)
    if t == T.BOOLEAN:
        return _SfType("boolean")
    if t in (T.BINARY, T.VARBINARY):
        return _SfType("binary")
    if t == T.DATE:
        return _SfType("date")
    if t == T.TIME:
        return _SfType("time", 0, params[0] if params else 9)
    if t in (T.TIMESTAMP, T.TIMESTAMPNTZ, T.DATETIME, T.TIMESTAMPLTZ, T.TIMESTAMPTZ):
        if params and params[0] != 9:
            raise ValueError(f"{text}: the wire sends timestamps at scale 9 only")
        kind = {T.TIMESTAMPLTZ: "timestamp_ltz", T.TIMESTAMPTZ: "timestamp_tz"}.get(t, "timestamp_ntz")
        if nested:
            raise ValueError(f"{text}: timestamps inside structured types are not emulated")
        return _SfType(kind, 0, 9)
    if t == T.VARIANT:
        return _SfType("variant")
    if t == T.GEOGRAPHY and not nested:
        return _SfType("geography")
    if t == T.DECFLOAT and not nested:
        return _SfType("decfloat", 38, 0)
    if t == T.VECTOR and not nested:
        element = _from_sqlglot(d.expressions[0], text, nested=True)
        if element.kind not in ("fixed", "real") or len(params) != 1 or not 0 < params[0] <= 4096:
            raise ValueError(f"{text}: a VECTOR holds INT or FLOAT elements, 1 to 4096 of them")
        element = _SfType("fixed", 38, 0) if element.kind == "fixed" else element
        return _SfType("vector", dimension=params[0], fields=((None, element),))
    if t == T.ARRAY:
        children = [e for e in d.expressions if isinstance(e, exp.DataType)]
        return _SfType("array", fields=tuple((None, _from_sqlglot(c, text, True)) for c in children))
    if t in (T.OBJECT, T.STRUCT):
        fields = []
        for c in d.expressions:
            if not isinstance(c, exp.ColumnDef):
                raise ValueError(f"{text}: an OBJECT's fields are `name TYPE`")
            fields.append((c.this.name, _from_sqlglot(c.args["kind"], text, True)))
        return _SfType("object", fields=tuple(fields))
    raise ValueError(f"{text}: the wire cannot send {d.sql(dialect='snowflake')}")


@dataclass(frozen=True)
class _Declared:
    type: _SfType
    nanos: int | None = None
    tz_offset_minutes: int | None = None


@dataclass(frozen=True)
class _Ref:
    """A table column, names as INFORMATION_SCHEMA spells them."""

    database: str
    schema: str
    table: str
    column: str


# --------------------------------------------------------------------------------------------------------------
# SQL analysis: which result columns are bare references to declared table columns


def _name(identifier: Any) -> str:
    """Snowflake's stored name of an identifier: unquoted names are upper-cased."""
    return identifier.this if identifier.quoted else identifier.this.upper()


def _table_key(table: Any, database: str, schema: str) -> tuple[str, str, str]:
    db = _name(table.args["catalog"]) if table.args.get("catalog") else database
    sch = _name(table.args["db"]) if table.args.get("db") else schema
    return db, sch, _name(table.this)


def _select_parts(select: Any) -> tuple[list[Any], list[Any]]:
    """The FROM and JOIN sources of a SELECT (sqlglot 30 names the arg `from_`)."""
    from_ = select.args.get("from_") or select.args.get("from")
    sources = [from_.this] if from_ is not None else []
    sources += [j.this for j in select.args.get("joins") or []]
    return sources, list(select.expressions)


class _Resolver:
    """Follows a result column through aliases, subqueries and CTEs to the table column it reads, if bare."""

    def __init__(self, declared: Mapping[_Ref, _Declared], database: str, schema: str) -> None:
        self.declared = declared
        self.database = database
        self.schema = schema

    def sources(self, select: Any, ctes: dict[str, Any]) -> dict[str, Any]:
        ctes = dict(ctes)
        with_ = select.args.get("with_") or select.args.get("with")
        for cte in with_.expressions if with_ is not None else []:
            ctes[_name(cte.args["alias"].this)] = cte.this
        found: dict[str, Any] = {}
        for src in _select_parts(select)[0]:
            alias = src.args.get("alias")
            if isinstance(src, exp.Table):
                name = _name(src.this)
                target: Any = ctes[name] if not src.args.get("db") and name in ctes else src
            elif isinstance(src, exp.Subquery):
                target = src.this
            else:
                continue
            key = _name(alias.this) if alias is not None and alias.this is not None else (
                _name(src.this) if isinstance(src, exp.Table) else None
            )
            if key is not None:
                found[key] = (target, ctes)
        return found

    def column(
        self, select: Any, ctes: dict[str, Any], column: str, qualifier: str | None, depth: int = 0
    ) -> _Ref | None:
        """The declared table column that `qualifier.column` of this SELECT's sources is, if any."""
        if depth > 16:
            return None
        sources = self.sources(select, ctes)
        candidates = [sources[qualifier]] if qualifier is not None and qualifier in sources else (
            [] if qualifier is not None else list(sources.values())
        )
        for target, scope_ctes in candidates:
            if isinstance(target, exp.Table):
                ref = _Ref(*_table_key(target, self.database, self.schema), column)
                if ref in self.declared:
                    return ref
            elif isinstance(target, exp.Select):
                ref = self.output(target, scope_ctes, column, depth + 1)
                if ref is not None:
                    return ref
        return None

    def output(self, select: Any, ctes: dict[str, Any], name: str, depth: int) -> _Ref | None:
        """The declared table column behind the output column `name` of a SELECT, if it is a bare reference."""
        for p in select.expressions:
            if _is_star(p):
                ref = self.column(select, ctes, name, _star_qualifier(p), depth)
                if ref is not None:
                    return ref
                continue
            inner = p.this if isinstance(p, exp.Alias) else p
            if isinstance(inner, exp.Column) and p.alias_or_name and _output_name(p) == name:
                return self.column(select, ctes, _name(inner.this), _qualifier(inner), depth)
        return None

    def result(self, sql: str, names: Sequence[str]) -> list[_Ref | None]:
        """For each result column (in order, named as the answer's rowtype names them): its declared source."""
        none: list[_Ref | None] = [None] * len(names)
        try:
            tree = sqlglot.parse_one(sql, read="snowflake")
        except sqlglot.errors.SqlglotError:
            return none
        if not isinstance(tree, exp.Select):
            return none  # UNION and friends: what fakesnow answers
        projections = list(tree.expressions)
        stars = [i for i, p in enumerate(projections) if _is_star(p)]
        if len(stars) > 1:
            return none
        width = len(names) - (len(projections) - len(stars))
        if (not stars and width != 0) or (stars and width < 0):
            return none
        refs: list[_Ref | None] = []
        for p in projections:
            if _is_star(p):
                at = len(refs)
                refs.extend([self.column(tree, {}, names[at + k], _star_qualifier(p)) for k in range(width)])
                continue
            inner = p.this if isinstance(p, exp.Alias) else p
            bare = isinstance(inner, exp.Column)
            refs.append(self.column(tree, {}, _name(inner.this), _qualifier(inner)) if bare else None)
        return refs


def _is_star(p: Any) -> bool:
    return isinstance(p, exp.Star) or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star))


def _star_qualifier(p: Any) -> str | None:
    if isinstance(p, exp.Column) and p.args.get("table") is not None:
        return _name(p.args["table"])
    return None


def _qualifier(column: Any) -> str | None:
    return _name(column.args["table"]) if column.args.get("table") is not None else None


def _output_name(p: Any) -> str:
    if isinstance(p, exp.Alias):
        return _name(p.args["alias"])
    return _name(p.this)


def _info_schema_columns(sql: str, database: str) -> tuple[str, dict[str, set[str]]] | None:
    """When the statement reads INFORMATION_SCHEMA.COLUMNS: its database, and the string literals its WHERE
    compares TABLE_SCHEMA and TABLE_NAME with (for answers that leave those columns out); else None."""
    if "INFORMATION_SCHEMA" not in sql.upper():
        return None
    try:
        tree = sqlglot.parse_one(sql, read="snowflake")
    except sqlglot.errors.SqlglotError:
        return None
    for table in tree.find_all(exp.Table):
        if table.name.upper() == "COLUMNS" and table.db.upper() == "INFORMATION_SCHEMA":
            db = _name(table.args["catalog"]) if table.args.get("catalog") else database
            filters: dict[str, set[str]] = {}
            for eq in tree.find_all(exp.EQ):
                sides = (eq.this, eq.expression)
                for a, b in (sides, sides[::-1]):
                    if isinstance(a, exp.Column) and isinstance(b, exp.Literal) and b.is_string:
                        filters.setdefault(a.name.upper(), set()).add(b.this)
            return db, filters
    return None


# --------------------------------------------------------------------------------------------------------------
# encoding helpers


def _meta(logical: str, precision: int | None = None, scale: int | None = None, length: int | None = None,
          byte_length: int | None = None) -> dict[str, str]:
    """Field metadata as Snowflake sends it; the connector reads logicalType, scale and precision from it
    (CArrowChunkIterator.cpp getConverterFromSchema), byteLength for TIMESTAMP_TZ (CArrowTableIterator.cpp)."""
    m = {"logicalType": logical, "precision": str(precision or 0), "scale": str(scale or 0),
         "charLength": str(length or 0)}
    if byte_length is not None:
        m["byteLength"] = str(byte_length)
    return m


def _narrowest(values: pa.Array) -> pa.DataType:
    """int8, int16, int32 or int64: the narrowest holding these int64 values (nulls ignored)."""
    mm = pc.min_max(values)
    lo, hi = mm["min"].as_py(), mm["max"].as_py()
    if lo is None:
        return pa.int8()
    for t, bound in ((pa.int8(), 2**7), (pa.int16(), 2**15), (pa.int32(), 2**31)):
        if -bound <= lo and hi < bound:
            return t
    return pa.int64()


def _valid(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _duck(sql: str, **tables: pa.Table) -> pa.Table:
    """Run SQL over Arrow tables in a private in-memory DuckDB (JSON printing and quoting, hex)."""
    con = duckdb.connect()
    try:
        for name, table in tables.items():
            con.register(name, table)
        return con.sql(sql).to_arrow_table()
    finally:
        con.close()


def _pretty_json(texts: pa.Array, undefined_nulls: bool) -> pa.Array:
    """JSON text pretty-printed as Snowflake prints VARIANT: 2-space indent, `"key": value`, one element a line,
    SQL NULL array elements as `undefined` when asked. Vectorized: DuckDB's json_pretty (yyjson) breaks the lines,
    then Arrow re-indents them by nesting depth (JSON text holds no raw newline, so every newline is a break)."""
    if len(texts) == 0 or texts.null_count == len(texts):
        return texts.cast(pa.string())
    printed = _duck("SELECT json_pretty(v::JSON) AS v FROM t", t=pa.table({"v": texts})).column(0).combine_chunks()
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


def _json_pretty_py(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _decimal_text(epoch: np.ndarray, fraction: np.ndarray) -> pa.Array:
    """Seconds with 9 fraction digits, signed as the connector's JSON converters read them
    (converter.get_seconds_microseconds: -0.000000001 is 1969-12-31 23:59:59.999999999)."""
    negative = epoch < 0
    borrow = negative & (fraction > 0)
    whole = np.where(borrow, -(epoch + 1), np.abs(epoch))
    frac = np.where(borrow, _NANOS - fraction, fraction)
    sign = pc.if_else(pa.array(negative & ((whole > 0) | (frac > 0))), "-", "")
    return pc.binary_join_element_wise(
        sign, pc.cast(pa.array(whole), pa.string()), ".", pc.utf8_lpad(pc.cast(pa.array(frac), pa.string()), 9, "0"), ""
    )


def _null_where(texts: pa.Array, valid: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(valid), texts, pa.scalar(None, pa.string()))


# --------------------------------------------------------------------------------------------------------------
# one result column on the wire


class _Column:
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
        return _meta(self.logical, r.get("precision"), r.get("scale"), r.get("length") or r.get("byteLength"))

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
            return _null_where(_decimal_text(ns // _NANOS, ns % _NANOS), _valid(v))
        if kind == "binary":
            return _duck("SELECT hex(v) AS v FROM t", t=pa.table({"v": v})).column(0).combine_chunks()
        return pc.cast(v, pa.string())


class _Fixed(_Column):
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
        valid = _valid(values)
        wide = valid & (high != (low >> 63))
        self.wide = np.concatenate(([0], np.cumsum(wide)))
        self.unscaled = pa.array(np.ascontiguousarray(low), type=pa.int64(), mask=~valid)
        self.values = values

    def chunk(self, start: int, stop: int) -> pa.Array:
        if self.wide[stop] - self.wide[start] > 0:
            scale = int(self.rowtype.get("scale") or 0)
            return pc.cast(self.values.slice(start, stop - start), pa.decimal128(38, scale))
        part = self.unscaled.slice(start, stop - start)
        return pc.cast(part, _narrowest(part))

    def metadata(self) -> dict[str, str]:
        return _meta("FIXED", self.rowtype.get("precision") or 38, self.rowtype.get("scale"))

    def text(self) -> pa.Array:
        return pc.cast(self.values, pa.string())


class _Timestamp(_Column):
    """TIMESTAMP_NTZ/LTZ as {epoch: int64 seconds, fraction: int32 nanoseconds}, TIMESTAMP_TZ with timezone =
    offset minutes + 1440 and byteLength 16 (CArrowTableIterator.cpp convertTimestamp*Column_nanoarrow).
    `nanos` adds sub-microsecond digits fakesnow cannot hold; `tz_offset_minutes` gives TZ values an offset."""

    def __init__(self, rowtype: dict[str, Any], nanos: int = 0, tz_offset_minutes: int | None = None) -> None:
        super().__init__(rowtype, rowtype["type"].upper())
        self.nanos = nanos
        self.tz_offset_minutes = tz_offset_minutes

    def bind(self, values: pa.Array) -> None:
        if not pa.types.is_struct(values.type):
            raise _WireError(f"column {self.rowtype['name']}: expected fakesnow's timestamp struct, got {values.type}")
        valid = _valid(values)
        epoch = values.field("epoch").to_numpy(zero_copy_only=False).astype(np.int64)
        fraction = values.field("fraction").to_numpy(zero_copy_only=False).astype(np.int64) + self.nanos * valid
        epoch, fraction = epoch + fraction // _NANOS, fraction % _NANOS
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
        return _meta(self.logical, 0, 9, byte_length=16 if self.logical == "TIMESTAMP_TZ" else None)

    def text(self) -> pa.Array:
        texts = _decimal_text(self.epoch, self.fraction)
        if self.tz is not None:
            # converter._TIMESTAMP_TZ_to_python: "<seconds>.<fraction> <offset + 1440>"
            texts = pc.binary_join_element_wise(texts, pc.cast(pa.array(self.tz), pa.string()), " ")
        return _null_where(texts, self.valid)


class _Variant(_Column):
    """VARIANT, ARRAY, OBJECT: JSON text as Snowflake prints it (pretty, `undefined` for NULL elements)."""

    def __init__(self, rowtype: dict[str, Any], undefined_nulls: bool) -> None:
        super().__init__(rowtype, rowtype["type"].upper())
        self.undefined_nulls = undefined_nulls

    def bind(self, values: pa.Array) -> None:
        if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
            raise _WireError(f"column {self.rowtype['name']}: expected JSON text, got {values.type}")
        self.values = _pretty_json(values, self.undefined_nulls)

    def text(self) -> pa.Array:
        return self.values


class _PerRow(_Column):
    """Declared types fakesnow cannot hold, converted value by value from what it stores: test-sized columns."""


class _DecFloat(_PerRow):
    """DECFLOAT as struct {exponent: int16, significand: binary, two's complement big-endian}, which the row
    converter reads (DecFloatConverter.cpp, arrow_context.DECFLOAT_to_decimal) and the table converter of 4.8.x
    does not know (CArrowTableIterator.cpp: "unknown snowflake data type")."""

    def bind(self, values: pa.Array) -> None:
        self.decimals = [None if v is None else _to_decimal(v, self.rowtype["name"]) for v in values.to_pylist()]
        exponents, significands = [], []
        for d in self.decimals:
            if d is None:
                exponents.append(0)
                significands.append(b"")
                continue
            sign, digits, exponent = d.as_tuple()
            n = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
            if len(digits) > 38 or not -16384 <= int(exponent) <= 16384:
                raise _WireError(f"column {self.rowtype['name']}: {d} does not fit a DECFLOAT")
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
        return _meta("DECFLOAT", 38, 0)

    def text(self) -> pa.Array:
        return pa.array([None if d is None else str(d) for d in self.decimals], pa.string())


def _to_decimal(value: Any, column: str) -> Decimal:
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise _WireError(f"column {column}: {value!r} is not a number") from None
    if not d.is_finite():
        raise _WireError(f"column {column}: {value!r} is not a finite number")
    return d


def _loads(value: str | None, column: str) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value, parse_float=Decimal)
    except json.JSONDecodeError:
        raise _WireError(f"column {column}: {value[:40]!r} is not JSON") from None


class _Vector(_PerRow):
    """VECTOR(INT|FLOAT, n) as fixed_size_list<int32|float32>[n] with logicalType VECTOR (constants.py
    vector_pa_type; FixedSizeListConverter.cpp: "the backend only sends back INT32 and FLOAT32")."""

    def __init__(self, rowtype: dict[str, Any], sf_type: _SfType) -> None:
        super().__init__(rowtype, "VECTOR")
        self.sf_type = sf_type

    def bind(self, values: pa.Array) -> None:
        name, n = self.rowtype["name"], self.sf_type.dimension
        element = self.sf_type.fields[0][1]
        self.lists = [_loads(v, name) for v in values.to_pylist()]
        for v in self.lists:
            if v is not None and (not isinstance(v, list) or len(v) != n):
                raise _WireError(f"column {name}: {json.dumps(v, default=str)[:40]} is not a VECTOR of {n} elements")
        arrow = pa.int32() if element.kind == "fixed" else pa.float32()
        item = pa.field("item", arrow, nullable=False, metadata=_child_meta(element))
        rows = [None if v is None else [int(x) if element.kind == "fixed" else float(x) for x in v] for v in self.lists]
        self.values = pa.array(rows, type=pa.list_(item, n))

    def text(self) -> pa.Array:
        # converter._VECTOR_to_python: json.loads
        return pa.array([None if v is None else json.dumps(v, separators=(",", ":"), default=_json_default)
                         for v in self.lists], pa.string())


def _child_meta(t: _SfType) -> dict[str, str]:
    return _meta(t.kind.upper(), t.precision if t.kind != "fixed" else (t.precision or 38), t.scale)


class _Geography(_PerRow):
    """GEOGRAPHY (stored as GeoJSON text) per GEOGRAPHY_OUTPUT_FORMAT: GeoJSON/WKT/EWKT text or WKB/EWKB binary.
    The rowtype says geography (constants.FIELD_TYPES has GEOGRAPHY); the Arrow field says TEXT or BINARY, the
    only logical types the connector's converters take for it (SnowflakeType.cpp has no GEOGRAPHY)."""

    def __init__(self, rowtype: dict[str, Any], output_format: str) -> None:
        self.output_format = output_format
        super().__init__(rowtype, "BINARY" if output_format.endswith("WKB") else "TEXT")

    def bind(self, values: pa.Array) -> None:
        name = self.rowtype["name"]
        shapes = [_loads(v, name) for v in values.to_pylist()]
        fmt = self.output_format
        if fmt == "GeoJSON":
            out: list[Any] = [None if s is None else _json_pretty_py(_sorted(s)) for s in shapes]
        elif fmt in ("WKT", "EWKT"):
            prefix = "SRID=4326;" if fmt == "EWKT" else ""
            out = [None if s is None else prefix + _wkt(s, name) for s in shapes]
        else:
            out = [None if s is None else _wkb(s, name, srid=4326 if fmt == "EWKB" else None) for s in shapes]
        self.values = pa.array(out, pa.binary() if self.logical == "BINARY" else pa.string())

    def metadata(self) -> dict[str, str]:
        return _meta(self.logical)

    def text(self) -> pa.Array:
        if self.logical == "BINARY":
            return _duck("SELECT hex(v) AS v FROM t", t=pa.table({"v": self.values})).column(0).combine_chunks()
        return self.values


def _sorted(value: Any) -> Any:
    """Snowflake prints a GeoJSON object's keys in order: "coordinates" before "type"."""
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _coord(x: Any) -> str:
    d = Decimal(str(x))
    return str(int(d)) if d == d.to_integral_value() else format(d.normalize(), "f")


def _wkt_points(points: Any) -> str:
    return ",".join(" ".join(_coord(c) for c in p) for p in points)


def _wkt(shape: dict[str, Any], column: str) -> str:
    """Snowflake's WKT: `POINT(-122.35 37.55)`, no space after commas."""
    kind, c = shape.get("type"), shape.get("coordinates")
    if kind == "Point":
        return f"POINT({_wkt_points([c])})"
    if kind == "LineString":
        return f"LINESTRING({_wkt_points(c)})"
    if kind == "Polygon":
        return "POLYGON(" + ",".join(f"({_wkt_points(r)})" for r in c) + ")"
    if kind == "MultiPoint":
        return "MULTIPOINT(" + ",".join(f"({_wkt_points([p])})" for p in c) + ")"
    if kind == "MultiLineString":
        return "MULTILINESTRING(" + ",".join(f"({_wkt_points(line)})" for line in c) + ")"
    if kind == "MultiPolygon":
        return "MULTIPOLYGON(" + ",".join("(" + ",".join(f"({_wkt_points(r)})" for r in poly) + ")" for poly in c) + ")"
    if kind == "GeometryCollection":
        return "GEOMETRYCOLLECTION(" + ",".join(_wkt(g, column) for g in shape.get("geometries", [])) + ")"
    raise _WireError(f"column {column}: GeoJSON type {kind!r} is not emulated")


_WKB_TYPES = {"Point": 1, "LineString": 2, "Polygon": 3, "MultiPoint": 4, "MultiLineString": 5, "MultiPolygon": 6,
              "GeometryCollection": 7}


def _wkb(shape: dict[str, Any], column: str, srid: int | None = None) -> bytes:
    """Little-endian WKB (OGC 06-103r4); EWKB sets the SRID flag 0x20000000 and writes the SRID after the type."""
    kind, c = shape.get("type"), shape.get("coordinates")
    if kind not in _WKB_TYPES:
        raise _WireError(f"column {column}: GeoJSON type {kind!r} is not emulated")
    code = _WKB_TYPES[kind]
    head = struct.pack("<BI", 1, code | 0x20000000) + struct.pack("<I", srid) if srid else struct.pack("<BI", 1, code)

    def points(ps: Any) -> bytes:
        return struct.pack("<I", len(ps)) + b"".join(struct.pack("<dd", float(p[0]), float(p[1])) for p in ps)

    if kind == "Point":
        return head + struct.pack("<dd", float(c[0]), float(c[1]))
    if kind == "LineString":
        return head + points(c)
    if kind == "Polygon":
        return head + struct.pack("<I", len(c)) + b"".join(points(r) for r in c)
    parts = shape.get("geometries", []) if kind == "GeometryCollection" else [
        {"type": kind[len("Multi"):], "coordinates": part} for part in c
    ]
    return head + struct.pack("<I", len(parts)) + b"".join(_wkb(p, column) for p in parts)


class _Structured(_PerRow):
    """Structured ARRAY(t) / OBJECT(a t, ...) as Arrow list / struct, each child field with the metadata the
    connector's converters read (ArrayConverter.cpp, ObjectConverter.cpp, CArrowTableIterator.cpp convertIfNeeded),
    and rowtype `fields` (cursor.ResultMetadataV2.from_column). Integers inside follow the NUMBER rule per chunk."""

    def __init__(self, rowtype: dict[str, Any], sf_type: _SfType, undefined_nulls: bool) -> None:
        super().__init__(rowtype, sf_type.kind.upper())
        self.sf_type = sf_type
        self.undefined_nulls = undefined_nulls

    def bind(self, values: pa.Array) -> None:
        self.texts = values
        self.parsed = [_loads(v, self.rowtype["name"]) for v in values.to_pylist()]

    def chunk(self, start: int, stop: int) -> pa.Array:
        return _build(self.parsed[start:stop], self.sf_type, self.rowtype["name"])

    def metadata(self) -> dict[str, str]:
        return _meta(self.logical)

    def text(self) -> pa.Array:
        return _pretty_json(self.texts, self.undefined_nulls)


def _build(values: list[Any], t: _SfType, column: str) -> pa.Array:
    """Arrow values of a structured type's element from parsed JSON (None for null)."""
    kind = t.kind
    try:
        if kind == "fixed":
            scale = t.scale or 0
            unscaled = [None if v is None else int(Decimal(str(v)).scaleb(scale)) for v in values]
            if all(v is None or -(2**63) <= v < 2**63 for v in unscaled):
                ints = pa.array(unscaled, pa.int64())
                return pc.cast(ints, _narrowest(ints))
            decimals = [None if v is None else Decimal(v).scaleb(-scale) for v in unscaled]
            return pa.array(decimals, pa.decimal128(38, scale))
        if kind == "real":
            return pa.array([None if v is None else float(v) for v in values], pa.float64())
        if kind == "boolean":
            return pa.array([None if v is None else bool(v) for v in values], pa.bool_())
        if kind == "text":
            return pa.array([None if v is None else v if isinstance(v, str) else json.dumps(v, default=_json_default)
                             for v in values], pa.string())
        if kind in _SEMI_STRUCTURED and not t.structured:
            return pa.array([None if v is None else _json_pretty_py(v) for v in values], pa.string())
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
        raise _WireError(f"column {column}: its JSON does not fit {kind.upper()}: {e}") from None
    raise _WireError(f"column {column}: {kind} inside a structured type is not emulated")


def _rowtype_field(t: _SfType, name: str | None = None) -> dict[str, Any]:
    """A rowtype entry of a structured type's child (cursor.ResultMetadataV2.from_column reads these keys)."""
    entry: dict[str, Any] = {
        "name": name, "type": t.kind, "nullable": True, "precision": t.precision, "scale": t.scale,
        "length": 16777216 if t.kind == "text" else None, "byteLength": 16777216 if t.kind == "text" else None,
        "collation": None,
    }
    if t.fields:
        entry["fields"] = [_rowtype_field(ft, fn) for fn, ft in t.fields]
    return entry


class _WireError(Exception):
    """A declared type does not fit what fakesnow holds; answered as a failed query, with this message."""


# --------------------------------------------------------------------------------------------------------------
# a result on the wire


def _column_for(rowtype: dict[str, Any], declared: _Declared | None, params: Mapping[str, Any],
                config: WireConfig) -> _Column:
    """The wire form of one result column: fakesnow's rowtype entry, and the declaration when the column is a
    bare read of a declared table column."""
    stored = rowtype["type"]
    if declared is not None:
        t = declared.type
        entry = {**rowtype, "type": t.kind}
        if t.kind == "decfloat":
            return _DecFloat({**entry, "precision": 38, "scale": 0}, "DECFLOAT")
        if t.kind == "vector":
            element = t.fields[0][1]
            return _Vector({**entry, "vectorDimension": t.dimension, "fields": [_rowtype_field(element)]}, t)
        if t.kind == "geography":
            return _Geography(entry, params["GEOGRAPHY_OUTPUT_FORMAT"])
        if t.structured:
            return _Structured({**entry, "fields": [_rowtype_field(ft, fn) for fn, ft in t.fields]}, t,
                               config.undefined_nulls)
        if t.kind in _TIMESTAMPS and stored in _TIMESTAMPS:
            entry.update(precision=0, scale=9, byteLength=16 if t.kind == "timestamp_tz" else None)
            return _Timestamp(entry, declared.nanos or 0, declared.tz_offset_minutes)
        if t.kind in _SEMI_STRUCTURED and stored == "variant":
            return _Variant(entry, config.undefined_nulls)
        if t.kind != stored:
            raise _WireError(
                f"column {rowtype['name']} is declared {t.kind.upper()} but fakesnow holds {stored.upper()}"
            )
        rowtype = {**rowtype, **({"precision": t.precision, "scale": t.scale} if t.kind in ("fixed", "time") else {})}
    if stored == "fixed":
        return _Fixed(rowtype, "FIXED")
    if stored in _TIMESTAMPS:
        return _Timestamp({**rowtype, "byteLength": 16 if stored == "timestamp_tz" else None})
    if stored in _SEMI_STRUCTURED:
        return _Variant(rowtype, config.undefined_nulls)
    return _Column(rowtype, stored.upper())


def _bounds(rows: int, config: WireConfig) -> list[tuple[int, int]]:
    """Row ranges of the chunks: the inline first chunk, then chunk_rows each."""
    first = config.chunk_rows if config.first_chunk_rows is None else config.first_chunk_rows
    first = min(first, rows)
    bounds = [(0, first)]
    bounds += [(s, min(s + config.chunk_rows, rows)) for s in range(first, rows, config.chunk_rows)]
    return bounds


def _ipc(columns: Sequence[_Column], start: int, stop: int) -> bytes:
    arrays = [c.chunk(start, stop) for c in columns]
    schema = pa.schema([c.field(a) for c, a in zip(columns, arrays, strict=True)])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))
    return sink.getvalue().to_pybytes()


def _json_rows(columns: Sequence[_Column]) -> pa.Array:
    """Each row as a JSON array of strings and nulls, the form of `data.rowset` and of JSON chunks."""
    texts = pa.table({f"c{i}": c.text() for i, c in enumerate(columns)})
    cells = ", ".join(f"coalesce(to_json(c{i}), 'null')" for i in range(len(columns)))
    return _duck(f"SELECT '[' || concat_ws(',', {cells}) || ']' AS r FROM t", t=texts).column(0).combine_chunks()


def _joined(rows: pa.Array, start: int, stop: int) -> str:
    part = rows.slice(start, stop - start)
    return pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(part)], pa.int32()), part), ",")[0].as_py() or ""


# --------------------------------------------------------------------------------------------------------------
# chunk store


@dataclass
class _Stored:
    body: bytes
    expires: float
    downloaded: bool = False


class _ChunkStore:
    """Chunks waiting for download, bounded by bytes (least recently used go first) and by age."""

    def __init__(self, max_bytes: int, ttl: float) -> None:
        self.max_bytes = max_bytes
        self.ttl = ttl
        self._chunks: OrderedDict[str, _Stored] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def put(self, key: str, body: bytes) -> None:
        with self._lock:
            self._evict(time.monotonic(), len(body))
            self._chunks[key] = _Stored(body, time.monotonic() + self.ttl)
            self._bytes += len(body)

    def get(self, key: str) -> bytes | None:
        now = time.monotonic()
        with self._lock:
            self._evict(now, 0)
            stored = self._chunks.get(key)
            if stored is None:
                return None
            self._chunks.move_to_end(key)
            if not stored.downloaded:
                stored.downloaded = True
                stored.expires = min(stored.expires, now + _AFTER_DOWNLOAD_TTL_S)
            return stored.body

    @property
    def bytes(self) -> int:
        return self._bytes

    def _evict(self, now: float, incoming: int) -> None:
        for key in [k for k, s in self._chunks.items() if s.expires <= now]:
            self._bytes -= len(self._chunks.pop(key).body)
        while self._chunks and self._bytes + incoming > self.max_bytes:
            self._bytes -= len(self._chunks.popitem(last=False)[1].body)


# --------------------------------------------------------------------------------------------------------------
# sessions


@dataclass
class _Session:
    number: int
    parameters: dict[str, Any] = field(default_factory=dict)  # set at login or by ALTER SESSION
    database: str | None = None
    schema: str | None = None


_TOKEN = re.compile(r'Token="([^"]*)"')
_ALTER_SESSION = re.compile(r"^\s*ALTER\s+SESSION\b", re.IGNORECASE)


def _alter_session_items(sql: str) -> tuple[bool, list[tuple[str, Any, str]]] | None:
    """(unset, [(NAME, value, item SQL)]) of an ALTER SESSION SET/UNSET, or None."""
    if not _ALTER_SESSION.match(sql):
        return None
    try:
        tree = sqlglot.parse_one(sql, read="snowflake")
    except sqlglot.errors.SqlglotError:
        return None
    node = tree.find(exp.AlterSession)
    if node is None:
        return None
    unset = bool(node.args.get("unset"))
    items = []
    for item in node.args.get("expressions") or []:
        if unset:
            items.append((item.this.name.upper(), None, item.sql(dialect="snowflake")))
            continue
        eq = item.this
        if not isinstance(eq, exp.EQ):
            return None
        v = eq.expression
        if isinstance(v, exp.Boolean):
            value: Any = bool(v.this)
        elif isinstance(v, exp.Literal) and not v.is_string:
            value = int(v.this) if re.fullmatch(r"-?\d+", v.this) else float(v.this)
        else:
            value = v.name
        items.append((eq.this.name.upper(), value, item.sql(dialect="snowflake")))
    return unset, items


# --------------------------------------------------------------------------------------------------------------
# ASGI plumbing


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return body
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


def _gzipped(scope: Scope) -> bool:
    """The connector gzips its request bodies (Content-Encoding: gzip)."""
    return any(k.lower() == b"content-encoding" and v.lower() == b"gzip" for k, v in scope.get("headers", []))


def _unzip(body: bytes, scope: Scope) -> bytes:
    return gzip.decompress(body) if _gzipped(scope) else body


async def _call(app: ASGIApp, scope: Scope, body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Run the inner app on a request body; returns its whole answer."""
    done = asyncio.Event()
    delivered = False
    status, headers, chunks = 500, [], []

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()  # nothing more to read: a listener for disconnects waits until the answer is out
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                done.set()

    scope = dict(scope)
    scope["headers"] = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-length"]
    scope["headers"].append((b"content-length", str(len(body)).encode()))
    await app(scope, receive, send)
    done.set()
    return status, headers, b"".join(chunks)


async def _respond(send: Send, status: int, headers: Sequence[tuple[bytes, bytes]], body: bytes) -> None:
    out = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    out.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body})


def _json_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), default=str).encode()


_JSON_HEADERS = [(b"content-type", b"application/json")]


def _error(message: str, code: str = "000603", sql_state: str = "XX000") -> dict[str, Any]:
    """A failed query as Snowflake answers one: the connector raises ProgrammingError with this message."""
    return {"data": {"errorCode": code, "sqlState": sql_state}, "code": code, "message": message, "success": False}


class RealisticWire:
    """The realistic wire: `RealisticWire(config)(app)` puts it in front of fakesnow's ASGI app.

    Usable as `emulator.emulated_share(wire=...)` (or `wrap=`). One instance holds what tests read and set:
    `queries` (every query-request, see ReceivedQuery), `chunk_gets` (the path of every chunk download served)
    and the declared types (`declare`). The session parameters and chunks it keeps are bounded by the sessions
    and by `config.chunk_store_bytes`; `queries` grows with every request (a test's worth).
    """

    def __init__(self, config: WireConfig | None = None) -> None:
        self.config = config or WireConfig()
        self.queries: list[ReceivedQuery] = []
        self.chunk_gets: list[str] = []
        self._declared: dict[_Ref, _Declared] = {}
        self._sessions: dict[str, _Session] = {}
        self._numbers = iter(range(1, 2**62))
        self._lock = threading.Lock()
        self._chunks = _ChunkStore(self.config.chunk_store_bytes, self.config.chunk_ttl_seconds)
        self._trickle: float | None = None  # seconds per byte of the next chunk served (trickle_next_chunk)
        self._slow_statements: list[tuple[str, float]] = []  # (text it holds, seconds it runs): slow_statement

    def __call__(self, app: ASGIApp) -> ASGIApp:
        wire = self

        async def realistic_wire(scope: Scope, receive: Receive, send: Send) -> None:
            await wire._handle(app, scope, receive, send)

        return realistic_wire

    def declare(self, database: str, schema: str, table: str, column: str, sf_type: str, *,
                nanos: int | None = None, tz_offset_minutes: int | None = None) -> None:
        """Answer DATABASE.SCHEMA.TABLE.COLUMN as a Snowflake `sf_type` fakesnow cannot create.

        Names are exact, as INFORMATION_SCHEMA spells them. Store the column in fakesnow as a type it has:
        DECFLOAT as VARCHAR decimal text, VECTOR(INT|FLOAT, n) as ARRAY, GEOGRAPHY as VARCHAR GeoJSON
        (Point, LineString, Polygon and their Multi forms, GeometryCollection), structured ARRAY(t) / OBJECT(f t, ...)
        as VARIANT/ARRAY/OBJECT, TIMESTAMP_LTZ as TIMESTAMP_TZ. Then INFORMATION_SCHEMA.COLUMNS reports
        `sf_type`'s base type in DATA_TYPE, and a query whose result column is a bare reference to the column
        (through aliases, subqueries and CTEs; not inside a function, cast or UNION) gets the declared wire form.

        nanos: 0..999_999_999 nanoseconds added to every non-NULL value of a TIMESTAMP_NTZ/LTZ/TZ column (fakesnow
            holds microseconds: store ...59.999999 and declare nanos=999 to send ...59.999999999).
        tz_offset_minutes: the UTC offset a TIMESTAMP_TZ column's values are sent with (-1439..1439); the instant
            stays what fakesnow holds.
        """
        t = _parse_type(sf_type)
        if nanos is not None and (t.kind not in _TIMESTAMPS or not 0 <= nanos < _NANOS):
            raise ValueError("nanos is 0..999999999 and applies to TIMESTAMP_NTZ/LTZ/TZ columns")
        if tz_offset_minutes is not None and (t.kind != "timestamp_tz" or not -1440 < tz_offset_minutes < 1440):
            raise ValueError("tz_offset_minutes is -1439..1439 and applies to TIMESTAMP_TZ columns")
        with self._lock:
            self._declared[_Ref(database, schema, table, column)] = _Declared(t, nanos, tz_offset_minutes)

    # -- requests ------------------------------------------------------------------------------------------------

    async def _handle(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        method = scope.get("method", "")
        if method == "GET" and path.startswith(CHUNK_PATH):
            await self._chunk(path, receive, send)
        elif method == "POST" and path == "/queries/v1/query-request":
            await self._query(app, scope, receive, send)
        elif method == "POST" and path == "/session/v1/login-request":
            await self._login(app, scope, receive, send)
        elif method == "POST" and path == "/session" and b"delete=true" in scope.get("query_string", b""):
            token = self._token(scope)
            await app(scope, receive, send)
            with self._lock:
                self._sessions.pop(token, None)
        else:
            await app(scope, receive, send)

    def slow_statement(self, containing: str, seconds: float) -> None:
        """The next statement whose text holds `containing` runs `seconds` before it answers, or is canceled with
        Snowflake's timeout error (000630) once the session's STATEMENT_TIMEOUT_IN_SECONDS has passed."""
        with self._lock:
            self._slow_statements.append((containing, seconds))

    def _slow(self, sql: str) -> float | None:
        with self._lock:
            for i, (containing, seconds) in enumerate(self._slow_statements):
                if containing in sql:
                    del self._slow_statements[i]
                    return seconds
        return None

    def trickle_next_chunk(self, byte_every: float = 2.0) -> None:
        """Send the next chunk downloaded one byte every `byte_every` seconds, as a stalling network does: each
        socket read gets a byte before the connector's read timeout (7 s), so only a bound on the whole chunk ends
        it. The trickle stops when the client goes away."""
        with self._lock:
            self._trickle = byte_every

    async def _chunk(self, path: str, receive: Receive, send: Send) -> None:
        self.chunk_gets.append(path)
        body = self._chunks.get(path[len(CHUNK_PATH):])
        if body is None:
            # what S3 answers for an expired presigned URL; the connector does not retry a 403
            await _respond(send, 403, [(b"content-type", b"text/plain")], b"chunk expired or unknown")
            return
        with self._lock:
            trickle, self._trickle = self._trickle, None
        if trickle is None:
            headers = [(b"content-type", b"application/octet-stream")]
            if self.config.gzip_chunks and self.config.gzip_encoding_header:
                headers.append((b"content-encoding", b"gzip"))
            await _respond(send, 200, headers, body)
            return
        await _trickled(receive, send, body, trickle)

    def _token(self, scope: Scope) -> str:
        for k, v in scope.get("headers", []):
            if k.lower() == b"authorization":
                m = _TOKEN.search(v.decode("latin-1"))
                return m.group(1) if m else ""
        return ""

    def _session(self, token: str) -> _Session:
        with self._lock:
            session = self._sessions.get(token)
            if session is None:  # a session that logged in before this layer was in front
                session = self._sessions[token] = _Session(next(self._numbers))
            return session

    async def _login(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive)
        status, headers, answer = await _call(app, scope, body)
        try:
            request = json.loads(_unzip(body, scope))
            data = json.loads(answer)["data"]
            token = data["token"]
        except (ValueError, KeyError, TypeError):
            await _respond(send, status, headers, answer)
            return
        params = request.get("data", {}).get("SESSION_PARAMETERS") or {}
        info = data.get("sessionInfo") or {}
        with self._lock:
            self._sessions[token] = _Session(
                next(self._numbers), {k.upper(): v for k, v in params.items() if v is not None}, info.get("databaseName"),
                info.get("schemaName"),
            )
        await _respond(send, status, headers, answer)

    async def _query(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive)
        try:
            request = json.loads(_unzip(body, scope))
        except ValueError:
            await app(scope, _replay(body), send)
            return
        session = self._session(self._token(scope))
        sql = request.get("sqlText") or ""
        statement = {k.upper(): v for k, v in (request.get("parameters") or {}).items()}
        params = {**self.config.account_parameters(), **session.parameters, **statement}
        record = dict(sql=sql, bindings=request.get("bindings"), parameters=params, session=session.number,
                      describe_only=bool(request.get("describeOnly")))
        if (slow := self._slow(sql)) is not None:
            # Snowflake cancels a statement running past the session's STATEMENT_TIMEOUT_IN_SECONDS (default 2 days)
            limit = int(params.get("STATEMENT_TIMEOUT_IN_SECONDS") or 172800)
            await asyncio.sleep(min(slow, limit))
            if slow > limit:
                self.queries.append(ReceivedQuery(**record, query_id=None))
                message = f"Statement reached its statement or warehouse timeout of {limit} second(s) and was canceled."
                await _respond(send, 200, _JSON_HEADERS, _json_body(_error(message, "000630", "57014")))
                return

        alter = _alter_session_items(sql)
        if alter is not None and any(name in _WIRE_PARAMETERS for name, _, _ in alter[1]):
            payload = await self._alter_session(app, scope, session, request, *alter)
            data = payload.get("data") or {}
            query_id = data.get("queryId") if payload.get("success") else None
            self.queries.append(ReceivedQuery(**record, query_id=query_id))
            if payload.get("success"):
                data["parameters"] = self._echo(session, statement)
            await _respond(send, 200, _JSON_HEADERS, _json_body(payload))
            return

        if _SHOW_PARAMETERS.match(sql):
            payload = _show_parameters(sql, params, session.parameters, self.config.account)
            self.queries.append(ReceivedQuery(**record, query_id=payload["data"]["queryId"]))
            await _respond(send, 200, _JSON_HEADERS, _json_body(payload))
            return
        try:
            ran = await run_in_threadpool(account.check, sql, params, self.config.account, _fakesnow_columns,
                                          session.database, session.schema)
        except account.Refused as e:
            self.queries.append(ReceivedQuery(**record, query_id=None))
            await _respond(send, 200, _JSON_HEADERS, _json_body(_error(str(e), e.code, e.sql_state)))
            return
        if ran != sql:  # what the account makes of the statement, for fakesnow to run
            raw = json.dumps({**request, "sqlText": ran}).encode()
            body = gzip.compress(raw) if _gzipped(scope) else raw

        status, headers, answer = await _call(app, scope, body)
        try:
            # off the event loop: a big answer is tens of MB of JSON, and other sessions' requests wait on the loop
            payload = await run_in_threadpool(json.loads, answer)
        except ValueError:
            payload = {}
        payload = payload if isinstance(payload, dict) else {}
        data = payload.get("data")
        ok = status == 200 and payload.get("success") is True and isinstance(data, dict)
        self.queries.append(ReceivedQuery(**record, query_id=data.get("queryId") if ok else None))
        if not ok:
            await _respond(send, status, headers, answer)
            return
        if alter is not None:  # fakesnow took it (AUTOCOMMIT, ...): remember it like Snowflake would
            self._apply(session, *alter)
        session.database = data.get("finalDatabaseName", session.database)
        session.schema = data.get("finalSchemaName", session.schema)
        data["parameters"] = self._echo(session, statement)
        if request.get("describeOnly") or data.get("queryResultFormat") != "arrow":
            await _respond(send, status, headers, _json_body(payload))
            return
        try:
            out = await run_in_threadpool(self._encode, payload, params, sql, _host(scope))
        except _WireError as e:
            out = _json_body(_error(f"learnsync wire: {e}"))
        except Exception as e:  # noqa: BLE001 - a bug here must fail the query, not the connector's retry loop
            logger.exception("learnsync wire could not encode an answer to %s", sql[:200])
            out = _json_body(_error(f"learnsync wire could not encode this answer: {type(e).__name__}: {e}"))
        await _respond(send, status, headers, out)

    def _echo(self, session: _Session, statement: Mapping[str, Any]) -> list[dict[str, Any]]:
        """`data.parameters` of an answer: the session's TIMEZONE (cursor.py hands them to the connection, whose
        ArrowConverterContext labels LTZ/TZ batches with it and whose JSON converters read it)."""
        params = {**self.config.account_parameters(), **session.parameters, **statement}
        return [{"name": "TIMEZONE", "value": params["TIMEZONE"]}]

    def _apply(self, session: _Session, unset: bool, items: Sequence[tuple[str, Any, str]]) -> None:
        with self._lock:
            for name, value, _ in items:
                if unset:
                    session.parameters.pop(name, None)
                else:
                    session.parameters[name] = _WIRE_PARAMETERS.get(name, lambda v: v)(value)

    async def _alter_session(self, app: ASGIApp, scope: Scope, session: _Session, request: dict[str, Any],
                             unset: bool, items: list[tuple[str, Any, str]]) -> dict[str, Any]:
        """ALTER SESSION with a parameter this layer owns: fakesnow gets the others (AUTOCOMMIT...), this layer
        answers as Snowflake does ("Statement executed successfully.", statementTypeId ALTER_SESSION)."""
        if not unset:
            for name, value, _ in items:
                if name in _WIRE_PARAMETERS:
                    try:
                        _WIRE_PARAMETERS[name](value)
                    except (ValueError, TypeError):
                        # Snowflake's wording; the error code is this emulator's choice
                        return _error(f"Invalid value [{value!r}] for parameter '{name}'", "001008", "22023")
        rest = [sql for name, _, sql in items if name not in _WIRE_PARAMETERS]
        if rest:
            forwarded = {**request, "sqlText": f"ALTER SESSION {'UNSET' if unset else 'SET'} {', '.join(rest)}"}
            raw = json.dumps(forwarded).encode()
            status, _, answer = await _call(app, scope, gzip.compress(raw) if _gzipped(scope) else raw)
            try:
                payload = json.loads(answer)
            except ValueError:
                payload = {}
            if status != 200 or not payload.get("success"):
                return payload or _error(f"fakesnow answered HTTP {status}")
        self._apply(session, unset, items)
        row = {"name": "status", "database": "", "schema": "", "table": "", "nullable": True, "type": "text",
               "byteLength": 16777216, "length": 16777216, "scale": None, "precision": None, "collation": None}
        data: dict[str, Any] = {
            "rowtype": [row], "rowset": [["Statement executed successfully."]], "total": 1, "returned": 1,
            "queryId": str(uuid.uuid4()), "statementTypeId": _ALTER_SESSION_TYPE_ID, "queryResultFormat": "json",
        }
        if session.database is not None:
            data["finalDatabaseName"] = session.database
        if session.schema is not None:
            data["finalSchemaName"] = session.schema
        return {"data": data, "code": None, "message": None, "success": True}

    # -- answers --------------------------------------------------------------------------------------------------

    def _encode(self, payload: dict[str, Any], params: Mapping[str, Any], sql: str, base_url: str) -> bytes:
        """Re-encode fakesnow's Arrow answer as a real account's (runs in a worker thread)."""
        data = payload["data"]
        rowtype: list[dict[str, Any]] = data.get("rowtype") or []
        rowset = data.pop("rowsetBase64", "") or ""
        table = pa.ipc.open_stream(base64.b64decode(rowset)).read_all() if rowset else None
        with self._lock:
            declared = dict(self._declared)
        database = data.get("finalDatabaseName") or ""
        schema = data.get("finalSchemaName") or ""
        refs: list[_Ref | None] = [None] * len(rowtype)
        if declared:
            refs = _Resolver(declared, database, schema).result(sql, [c["name"] for c in rowtype])
            if table is not None and (target := _info_schema_columns(sql, database)) is not None:
                table = _declared_data_types(table, declared, *target)
        columns = [_column_for(c, declared.get(r) if r is not None else None, params, self.config)
                   for c, r in zip(rowtype, refs, strict=True)]
        data["rowtype"] = [c.rowtype for c in columns]
        rows = table.num_rows if table is not None else 0
        data["total"] = rows
        data["returned"] = rows
        json_format = params["PYTHON_CONNECTOR_QUERY_RESULT_FORMAT"] == "JSON"
        data["queryResultFormat"] = "json" if json_format else "arrow"
        if table is None or rows == 0:
            data.pop("chunks", None)
            if json_format:
                data["rowset"] = []
            else:
                data["rowsetBase64"] = ""
            return _json_body(payload)
        for column, values in zip(columns, table.columns, strict=True):
            column.bind(values.combine_chunks())
        bounds = _bounds(rows, self.config)
        result_id = uuid.uuid4().hex
        if json_format:
            lines = _json_rows(columns)
            bodies = [_joined(lines, start, stop).encode() for start, stop in bounds[1:]]
            chunks = self._store(result_id, bodies, bounds[1:], base_url)
            placeholder = f"@@rowset-{result_id}@@"
            data["rowset"] = placeholder
            if chunks:
                data["chunks"] = chunks
            text = _json_body(payload).decode()
            return text.replace(json.dumps(placeholder), "[" + _joined(lines, *bounds[0]) + "]", 1).encode()
        start, stop = bounds[0]
        data["rowsetBase64"] = base64.b64encode(_ipc(columns, start, stop)).decode() if stop > start else ""
        bodies = [_ipc(columns, start, stop) for start, stop in bounds[1:]]
        chunks = self._store(result_id, bodies, bounds[1:], base_url)
        if chunks:
            data["chunks"] = chunks
        return _json_body(payload)

    def _store(self, result_id: str, bodies: list[bytes], bounds: Sequence[tuple[int, int]],
               base_url: str) -> list[dict[str, Any]]:
        """Keep the chunks for download; their `data.chunks` entries (result_batch.RemoteChunkInfo)."""
        stored = bodies
        if self.config.gzip_chunks and bodies:
            # zlib lets go of the GIL: the chunks compress side by side
            with ThreadPoolExecutor(min(4, os.cpu_count() or 1), thread_name_prefix="wire-gzip") as pool:
                stored = list(pool.map(_gzip, bodies))
        entries = []
        for n, (body, packed, (start, stop)) in enumerate(zip(bodies, stored, bounds, strict=True), start=1):
            key = f"{result_id}/{n}"
            self._chunks.put(key, packed)
            entries.append({"url": f"{base_url}{CHUNK_PATH}{key}", "rowCount": stop - start,
                            "uncompressedSize": len(body), "compressedSize": len(packed)})
        return entries


async def _trickled(receive: Receive, send: Send, body: bytes, byte_every: float) -> None:
    """`body` one byte at a time, `byte_every` seconds apart, until it is sent or the client disconnects."""
    await receive()  # the GET's (empty) request body; the next message is the disconnect
    gone = asyncio.ensure_future(receive())
    headers = [(b"content-type", b"application/octet-stream"), (b"content-length", str(len(body)).encode())]
    try:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for i in range(len(body)):
            await send({"type": "http.response.body", "body": body[i:i + 1], "more_body": i + 1 < len(body)})
            await asyncio.wait([gone], timeout=byte_every)
            if gone.done():
                return
    finally:
        gone.cancel()


def _gzip(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=1, mtime=0)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _host(scope: Scope) -> str:
    """The base URL the client reached this server at, for chunk URLs on the same server."""
    scheme = scope.get("scheme", "http")
    for k, v in scope.get("headers", []):
        if k.lower() == b"host":
            return f"{scheme}://{v.decode('latin-1')}"
    host, port = scope.get("server") or ("127.0.0.1", 80)
    return f"{scheme}://{host}:{port}"


def _declared_data_types(table: pa.Table, declared: Mapping[_Ref, _Declared], database: str,
                         filters: Mapping[str, set[str]]) -> pa.Table:
    """INFORMATION_SCHEMA.COLUMNS rows of declared columns with the declared base type in DATA_TYPE. A key the
    answer leaves out (TABLE_SCHEMA, TABLE_NAME) is taken from the WHERE's literals; without either, no row
    can be told apart and the answer stays as it is."""
    names = {n.upper(): i for i, n in enumerate(table.column_names)}
    if not {"COLUMN_NAME", "DATA_TYPE"} <= set(names) or ("TABLE_NAME" not in names and "TABLE_NAME" not in filters):
        return table
    data_type = table.column(names["DATA_TYPE"])
    keys = (("TABLE_CATALOG", "database"), ("TABLE_SCHEMA", "schema"), ("TABLE_NAME", "table"),
            ("COLUMN_NAME", "column"))
    for ref, d in declared.items():
        mask = None
        for key, attr in keys:
            value = getattr(ref, attr)
            if key in names:
                match = pc.equal(table.column(names[key]), value)
                mask = match if mask is None else pc.and_(mask, match)
            elif key == "TABLE_CATALOG" and value != database or key in filters and value not in filters[key]:
                break
        else:
            data_type = pc.if_else(mask, d.type.data_type, data_type)
    i = names["DATA_TYPE"]
    return table.set_column(i, table.schema.field(i), data_type)


_SHOW_PARAMETERS = re.compile(r"^\s*SHOW\s+PARAMETERS\b", re.IGNORECASE)


def _show_parameters(sql: str, params: Mapping[str, Any], session: Mapping[str, Any],
                     settings: AccountSettings) -> dict[str, Any]:
    """SHOW PARAMETERS [LIKE '...'] [IN SESSION]: the session's parameters in effect, as Snowflake lists them."""
    like = re.search(r"\bLIKE\s+'([^']*)'", sql, re.IGNORECASE)
    pattern = re.compile("^" + re.escape(like.group(1)).replace("%", ".*").replace("_", ".") + "$", re.IGNORECASE) \
        if like else None
    defaults = {**WireConfig().account_parameters(), **account.DEFAULT_PARAMETERS}
    shown = {k: v for k, v in params.items() if pattern is None or pattern.match(k)}
    rows = account.show_parameters(shown, session, settings.values(), defaults)
    rowtype = [{"name": n, "database": "", "schema": "", "table": "", "nullable": True, "type": "text",
                "byteLength": 16777216, "length": 16777216, "scale": None, "precision": None, "collation": None}
               for n in ("key", "value", "default", "level", "description", "type")]
    data = {"rowtype": rowtype, "rowset": rows, "total": len(rows), "returned": len(rows),
            "queryId": str(uuid.uuid4()), "queryResultFormat": "json"}
    return {"data": data, "code": None, "message": None, "success": True}


def _fakesnow_columns(database: str, schema: str, table: str) -> dict[str, str]:
    """{column: DuckDB type} of a table fakesnow holds in this process (its shared in-memory database)."""
    from fakesnow.server import shared_fs

    cur = shared_fs.duck_conn.cursor()
    try:
        rows = cur.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE lower(table_catalog) = lower(?)"
            " AND lower(table_schema) = lower(?) AND lower(table_name) = lower(?)", [database, schema, table],
        ).fetchall()
    except duckdb.Error:
        return {}
    finally:
        cur.close()
    return {str(name): str(kind) for name, kind in rows}


WireSpec = RealisticWire | WireConfig | Literal["plain", "realistic"] | None


def make_wire(spec: WireSpec) -> RealisticWire | None:
    """The wire layer for a spec: None or "plain" is fakesnow's own answers, "realistic" the defaults."""
    if spec is None or spec == "plain":
        return None
    if spec == "realistic":
        return RealisticWire()
    if isinstance(spec, WireConfig):
        return RealisticWire(spec)
    if isinstance(spec, RealisticWire):
        return spec
    raise ValueError(f"wire must be 'plain', 'realistic', a WireConfig or a RealisticWire, not {spec!r}")
