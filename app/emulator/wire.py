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

This module is the HTTP side (which request is which, sessions by token, chunk downloads); the rest, one concern
each: `sessions` (WireConfig, the parameters a session has), `sftypes` (declared Snowflake types), `resolve`
(which result columns read declared ones), `columns` (one column's wire form, with `encoding` and `geography`),
`chunks` (a result cut into chunks, the store they are downloaded from), `asgi` (the plumbing).
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import logging
import os
import re
import threading
import time  # noqa: F401 - see the end of this module
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import duckdb
import pyarrow as pa
from starlette.concurrency import run_in_threadpool

from learnsync.emulator import account
from learnsync.emulator.asgi import (
    JSON_HEADERS,
    ASGIApp,
    Receive,
    Scope,
    Send,
    base_url_of,
    call_app,
    error_payload,
    gzipped,
    json_body,
    read_body,
    replay,
    respond,
    send_trickled,
    unzip,
)
from learnsync.emulator.chunks import (
    AFTER_DOWNLOAD_TTL_S,
    CHUNK_PATH,
    ChunkStore,
    chunk_bounds,
    gzip_chunk,
    ipc_stream,
    joined_rows,
    json_rows,
)
from learnsync.emulator.columns import column_for
from learnsync.emulator.encoding import decimal_text, pretty_json
from learnsync.emulator.geography import wkb, wkt
from learnsync.emulator.resolve import Resolver, declared_data_types, info_schema_columns
from learnsync.emulator.sessions import (
    ALTER_SESSION_TYPE_ID,
    SHOW_PARAMETERS,
    WIRE_PARAMETERS,
    ReceivedQuery,
    Session,
    WireConfig,
    alter_session_items,
    show_parameters,
)
from learnsync.emulator.sftypes import NANOS, TIMESTAMPS, ColumnRef, Declared, WireError, parse_type

__all__ = ["CHUNK_PATH", "RealisticWire", "ReceivedQuery", "WireConfig", "WireSpec", "make_wire"]

logger = logging.getLogger(__name__)

_TOKEN = re.compile(r'Token="([^"]*)"')


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
        self._declared: dict[ColumnRef, Declared] = {}
        self._sessions: dict[str, Session] = {}
        self._numbers = iter(range(1, 2**62))
        self._lock = threading.Lock()
        self._chunks = ChunkStore(self.config.chunk_store_bytes, self.config.chunk_ttl_seconds)
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
        t = parse_type(sf_type)
        if nanos is not None and (t.kind not in TIMESTAMPS or not 0 <= nanos < NANOS):
            raise ValueError("nanos is 0..999999999 and applies to TIMESTAMP_NTZ/LTZ/TZ columns")
        if tz_offset_minutes is not None and (t.kind != "timestamp_tz" or not -1440 < tz_offset_minutes < 1440):
            raise ValueError("tz_offset_minutes is -1439..1439 and applies to TIMESTAMP_TZ columns")
        with self._lock:
            self._declared[ColumnRef(database, schema, table, column)] = Declared(t, nanos, tz_offset_minutes)

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
            await respond(send, 403, [(b"content-type", b"text/plain")], b"chunk expired or unknown")
            return
        with self._lock:
            trickle, self._trickle = self._trickle, None
        if trickle is None:
            headers = [(b"content-type", b"application/octet-stream")]
            if self.config.gzip_chunks and self.config.gzip_encoding_header:
                headers.append((b"content-encoding", b"gzip"))
            await respond(send, 200, headers, body)
            return
        await send_trickled(receive, send, body, trickle)

    def _token(self, scope: Scope) -> str:
        for k, v in scope.get("headers", []):
            if k.lower() == b"authorization":
                m = _TOKEN.search(v.decode("latin-1"))
                return m.group(1) if m else ""
        return ""

    def _session(self, token: str) -> Session:
        with self._lock:
            session = self._sessions.get(token)
            if session is None:  # a session that logged in before this layer was in front
                session = self._sessions[token] = Session(next(self._numbers))
            return session

    async def _login(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive)
        status, headers, answer = await call_app(app, scope, body)
        try:
            request = json.loads(unzip(body, scope))
            data = json.loads(answer)["data"]
            token = data["token"]
        except (ValueError, KeyError, TypeError):
            await respond(send, status, headers, answer)
            return
        params = request.get("data", {}).get("SESSION_PARAMETERS") or {}
        info = data.get("sessionInfo") or {}
        with self._lock:
            self._sessions[token] = Session(
                next(self._numbers), {k.upper(): v for k, v in params.items() if v is not None}, info.get("databaseName"),
                info.get("schemaName"),
            )
        await respond(send, status, headers, answer)

    async def _query(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive)
        try:
            request = json.loads(unzip(body, scope))
        except ValueError:
            await app(scope, replay(body), send)
            return
        session = self._session(self._token(scope))
        sql = request.get("sqlText") or ""
        statement = {k.upper(): v for k, v in (request.get("parameters") or {}).items()}
        params = {**self.config.account_parameters(), **session.parameters, **statement}
        record: dict[str, Any] = dict(sql=sql, bindings=request.get("bindings"), parameters=params, session=session.number,
                      describe_only=bool(request.get("describeOnly")))
        if (slow := self._slow(sql)) is not None:
            # Snowflake cancels a statement running past the session's STATEMENT_TIMEOUT_IN_SECONDS (default 2 days)
            limit = int(params.get("STATEMENT_TIMEOUT_IN_SECONDS") or 172800)
            await asyncio.sleep(min(slow, limit))
            if slow > limit:
                self.queries.append(ReceivedQuery(**record, query_id=None))
                message = f"Statement reached its statement or warehouse timeout of {limit} second(s) and was canceled."
                await respond(send, 200, JSON_HEADERS, json_body(error_payload(message, "000630", "57014")))
                return

        alter = alter_session_items(sql)
        if alter is not None and any(name in WIRE_PARAMETERS for name, _, _ in alter[1]):
            payload = await self._alter_session(app, scope, session, request, *alter)
            data = payload.get("data") or {}
            query_id = data.get("queryId") if payload.get("success") else None
            self.queries.append(ReceivedQuery(**record, query_id=query_id))
            if payload.get("success"):
                data["parameters"] = self._echo(session, statement)
            await respond(send, 200, JSON_HEADERS, json_body(payload))
            return

        if SHOW_PARAMETERS.match(sql):
            payload = show_parameters(sql, params, session.parameters, self.config.account)
            self.queries.append(ReceivedQuery(**record, query_id=payload["data"]["queryId"]))
            await respond(send, 200, JSON_HEADERS, json_body(payload))
            return
        try:
            ran = await run_in_threadpool(account.check, sql, params, self.config.account, _fakesnow_columns,
                                          session.database, session.schema)
        except account.Refused as e:
            self.queries.append(ReceivedQuery(**record, query_id=None))
            await respond(send, 200, JSON_HEADERS, json_body(error_payload(str(e), e.code, e.sql_state)))
            return
        if ran != sql:  # what the account makes of the statement, for fakesnow to run
            raw = json.dumps({**request, "sqlText": ran}).encode()
            body = gzip.compress(raw) if gzipped(scope) else raw

        status, headers, answer = await call_app(app, scope, body)
        try:
            # off the event loop: a big answer is tens of MB of JSON, and other sessions' requests wait on the loop
            payload = await run_in_threadpool(json.loads, answer)
        except ValueError:
            payload = {}
        payload = payload if isinstance(payload, dict) else {}
        data = payload.get("data")
        if status != 200 or payload.get("success") is not True or not isinstance(data, dict):
            self.queries.append(ReceivedQuery(**record, query_id=None))
            await respond(send, status, headers, answer)
            return
        self.queries.append(ReceivedQuery(**record, query_id=data.get("queryId")))
        if alter is not None:  # fakesnow took it (AUTOCOMMIT, ...): remember it like Snowflake would
            self._apply(session, *alter)
        session.database = data.get("finalDatabaseName", session.database)
        session.schema = data.get("finalSchemaName", session.schema)
        data["parameters"] = self._echo(session, statement)
        if request.get("describeOnly") or data.get("queryResultFormat") != "arrow":
            await respond(send, status, headers, json_body(payload))
            return
        try:
            out = await run_in_threadpool(self._encode, payload, params, sql, base_url_of(scope))
        except WireError as e:
            out = json_body(error_payload(f"learnsync wire: {e}"))
        except Exception as e:  # noqa: BLE001 - a bug here must fail the query, not the connector's retry loop
            logger.exception("learnsync wire could not encode an answer to %s", sql[:200])
            out = json_body(error_payload(f"learnsync wire could not encode this answer: {type(e).__name__}: {e}"))
        await respond(send, status, headers, out)

    def _echo(self, session: Session, statement: Mapping[str, Any]) -> list[dict[str, Any]]:
        """`data.parameters` of an answer: the session's TIMEZONE (cursor.py hands them to the connection, whose
        ArrowConverterContext labels LTZ/TZ batches with it and whose JSON converters read it)."""
        params = {**self.config.account_parameters(), **session.parameters, **statement}
        return [{"name": "TIMEZONE", "value": params["TIMEZONE"]}]

    def _apply(self, session: Session, unset: bool, items: Sequence[tuple[str, Any, str]]) -> None:
        with self._lock:
            for name, value, _ in items:
                if unset:
                    session.parameters.pop(name, None)
                else:
                    session.parameters[name] = WIRE_PARAMETERS.get(name, lambda v: v)(value)

    async def _alter_session(self, app: ASGIApp, scope: Scope, session: Session, request: dict[str, Any],
                             unset: bool, items: list[tuple[str, Any, str]]) -> dict[str, Any]:
        """ALTER SESSION with a parameter this layer owns: fakesnow gets the others (AUTOCOMMIT...), this layer
        answers as Snowflake does ("Statement executed successfully.", statementTypeId ALTER_SESSION)."""
        if not unset:
            for name, value, _ in items:
                if name in WIRE_PARAMETERS:
                    try:
                        WIRE_PARAMETERS[name](value)
                    except (ValueError, TypeError):
                        # Snowflake's wording; the error code is this emulator's choice
                        return error_payload(f"Invalid value [{value!r}] for parameter '{name}'", "001008", "22023")
        rest = [sql for name, _, sql in items if name not in WIRE_PARAMETERS]
        if rest:
            forwarded = {**request, "sqlText": f"ALTER SESSION {'UNSET' if unset else 'SET'} {', '.join(rest)}"}
            raw = json.dumps(forwarded).encode()
            status, _, answer = await call_app(app, scope, gzip.compress(raw) if gzipped(scope) else raw)
            try:
                payload = json.loads(answer)
            except ValueError:
                payload = {}
            if status != 200 or not payload.get("success"):
                return payload or error_payload(f"fakesnow answered HTTP {status}")
        self._apply(session, unset, items)
        row = {"name": "status", "database": "", "schema": "", "table": "", "nullable": True, "type": "text",
               "byteLength": 16777216, "length": 16777216, "scale": None, "precision": None, "collation": None}
        data: dict[str, Any] = {
            "rowtype": [row], "rowset": [["Statement executed successfully."]], "total": 1, "returned": 1,
            "queryId": str(uuid.uuid4()), "statementTypeId": ALTER_SESSION_TYPE_ID, "queryResultFormat": "json",
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
        refs: list[ColumnRef | None] = [None] * len(rowtype)
        if declared:
            refs = Resolver(declared, database, schema).result(sql, [c["name"] for c in rowtype])
            if table is not None and (target := info_schema_columns(sql, database)) is not None:
                table = declared_data_types(table, declared, *target)
        columns = [column_for(c, declared.get(r) if r is not None else None, params, self.config)
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
            return json_body(payload)
        for column, values in zip(columns, table.columns, strict=True):
            column.bind(values.combine_chunks())
        bounds = chunk_bounds(rows, self.config)
        result_id = uuid.uuid4().hex
        if json_format:
            lines = json_rows(columns)
            bodies = [joined_rows(lines, start, stop).encode() for start, stop in bounds[1:]]
            chunks = self._store(result_id, bodies, bounds[1:], base_url)
            placeholder = f"@@rowset-{result_id}@@"
            data["rowset"] = placeholder
            if chunks:
                data["chunks"] = chunks
            text = json_body(payload).decode()
            return text.replace(json.dumps(placeholder), "[" + joined_rows(lines, *bounds[0]) + "]", 1).encode()
        start, stop = bounds[0]
        data["rowsetBase64"] = base64.b64encode(ipc_stream(columns, start, stop)).decode() if stop > start else ""
        bodies = [ipc_stream(columns, start, stop) for start, stop in bounds[1:]]
        chunks = self._store(result_id, bodies, bounds[1:], base_url)
        if chunks:
            data["chunks"] = chunks
        return json_body(payload)

    def _store(self, result_id: str, bodies: list[bytes], bounds: Sequence[tuple[int, int]],
               base_url: str) -> list[dict[str, Any]]:
        """Keep the chunks for download; their `data.chunks` entries (result_batch.RemoteChunkInfo)."""
        stored = bodies
        if self.config.gzip_chunks and bodies:
            # zlib lets go of the GIL: the chunks compress side by side
            with ThreadPoolExecutor(min(4, os.cpu_count() or 1), thread_name_prefix="wire-gzip") as pool:
                stored = list(pool.map(gzip_chunk, bodies))
        entries = []
        for n, (body, packed, (start, stop)) in enumerate(zip(bodies, stored, bounds, strict=True), start=1):
            key = f"{result_id}/{n}"
            self._chunks.put(key, packed)
            entries.append({"url": f"{base_url}{CHUNK_PATH}{key}", "rowCount": stop - start,
                            "uncompressedSize": len(body), "compressedSize": len(packed)})
        return entries


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


def make_wire(spec: WireSpec | str) -> RealisticWire | None:
    """The wire layer for a spec: None or "plain" is fakesnow's own answers, "realistic" the defaults; any other
    string (LEARNSYNC_EMULATOR_WIRE's value) is a ValueError."""
    if spec is None or spec == "plain":
        return None
    if spec == "realistic":
        return RealisticWire()
    if isinstance(spec, WireConfig):
        return RealisticWire(spec)
    if isinstance(spec, RealisticWire):
        return spec
    raise ValueError(f"wire must be 'plain', 'realistic', a WireConfig or a RealisticWire, not {spec!r}")



# tests/test_wire.py reaches these helpers through this module, by the names they had before the wire was cut into
# modules (`w.time` is the chunk store's clock: the `time` module that chunks.py reads, which the test stops)
_AFTER_DOWNLOAD_TTL_S = AFTER_DOWNLOAD_TTL_S
_ChunkStore = ChunkStore
_Declared = Declared
_Ref = ColumnRef
_Resolver = Resolver
_decimal_text = decimal_text
_parse_type = parse_type
_pretty_json = pretty_json
_wkb = wkb
_wkt = wkt
