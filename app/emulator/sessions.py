"""The realistic wire's configuration and the parameters a session has: the account's, those set at login or by
ALTER SESSION, and SHOW PARAMETERS over them."""

from __future__ import annotations

import re
import uuid
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from learnsync.emulator import account
from learnsync.emulator.account import AccountSettings

ResultFormat = Literal["ARROW", "JSON"]
GeographyFormat = Literal["GeoJSON", "WKT", "WKB", "EWKT", "EWKB"]

_RESULT_FORMATS = {"ARROW": "ARROW", "ARROW_FORCE": "ARROW", "JSON": "JSON"}
_GEOGRAPHY_FORMATS = {f.upper(): f for f in ("GeoJSON", "WKT", "WKB", "EWKT", "EWKB")}
# Snowflake's statement type id of ALTER SESSION (SFStatementType.ALTER_SESSION in snowflake-jdbc: SCL + 0x100)
ALTER_SESSION_TYPE_ID = 0x4100


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
WIRE_PARAMETERS: dict[str, Callable[[Any], Any]] = {
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


@dataclass
class Session:
    """One logged-in session: its number (what ReceivedQuery records), what it set, its database and schema."""

    number: int
    parameters: dict[str, Any] = field(default_factory=dict)  # set at login or by ALTER SESSION
    database: str | None = None
    schema: str | None = None


_ALTER_SESSION = re.compile(r"^\s*ALTER\s+SESSION\b", re.IGNORECASE)


def alter_session_items(sql: str) -> tuple[bool, list[tuple[str, Any, str]]] | None:
    """(unset, [(NAME, value, item SQL)]) of an ALTER SESSION SET/UNSET, or None."""
    if not _ALTER_SESSION.match(sql):
        return None
    try:
        tree = sqlglot.parse_one(sql, read="snowflake")
    except SqlglotError:
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


SHOW_PARAMETERS = re.compile(r"^\s*SHOW\s+PARAMETERS\b", re.IGNORECASE)


def show_parameters(sql: str, params: Mapping[str, Any], session: Mapping[str, Any],
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
