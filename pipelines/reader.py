"""Snowflake reader: discovery, window planning and Arrow reads of one window at a time.

Every identifier is validated against INFORMATION_SCHEMA and double-quoted; values are bound, never pasted.
"""

from __future__ import annotations

import logging
import math
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Iterator, Optional, Sequence, Union

import pyarrow as pa

from learnsync.pipelines.catalog import Column, Strategy, TableSpec
from learnsync.pipelines.fingerprint import SNOWFLAKE, SOURCE_HASH, row_hash_sql
from learnsync.pipelines.types import DUPS_COLUMN, reads_as_text
from learnsync.errors import LearnsyncError
from learnsync.settings import WINDOW_ROWS, read_pii_salt

log = logging.getLogger("learnsync.reader")

Bound = Union[datetime, date, int]
FUTURE_TOLERANCE = timedelta(hours=24)
"""How far past the source's current time a cursor value may lie and still move the stored cursor. Beyond it
(`9999-12-31` as "never" is common) the row loads, but the cursor ignores it: else no later row would ever be
read again."""


def quote(name: str) -> str:
    """Quote a Snowflake identifier (names come from INFORMATION_SCHEMA, so this is exact)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass
class WindowPlan:
    """The next window of a table run: [lo, hi) (hi None: to the end); `limit`: the cursor value past which rows
    do not move the stored cursor (None: no such limit); `beyond`: rows past it."""

    lo: Optional[Bound]
    hi: Optional[Bound]
    limit: Optional[Bound] = None
    beyond: int = 0


@dataclass
class ShareReader:
    """Reads tables of one database.schema through a snowflake-connector connection."""

    conn: Any
    database: str
    schema: str
    window_rows: int = WINDOW_ROWS

    def fqn(self, table: str) -> str:
        return f"{quote(self.database)}.{quote(self.schema)}.{quote(table)}"

    def _query(self, sql: str, params: Optional[dict[str, Any]] = None) -> list[tuple]:
        cur = self.conn.cursor()
        try:
            cur.execute(sql, params or {})
            return cur.fetchall()
        finally:
            cur.close()

    def discover(self) -> dict[str, list[Column]]:
        """Tables and columns of the schema, in declared column order."""
        rows = self._query(
            f"SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE, COMMENT"
            f" FROM {quote(self.database)}.INFORMATION_SCHEMA.COLUMNS"
            " WHERE TABLE_SCHEMA = %(schema)s ORDER BY TABLE_NAME, ORDINAL_POSITION",
            {"schema": self.schema},
        )
        tables: dict[str, list[Column]] = {}
        for table, name, dtype, precision, scale, comment in rows:
            tables.setdefault(table, []).append(
                Column(name, base_type(dtype), precision, scale, comment or "", full_type=str(dtype))
            )
        if not tables:
            raise LearnsyncError(
                f"Schema {self.database}.{self.schema} has no tables this login can see: check the database"
                " and schema in the source URI and the role's grants."
            )
        return tables

    # -- windows ----------------------------------------------------------------------------------

    def _where(self, spec: TableSpec, lo: Optional[Bound], hi: Optional[Bound], nulls: bool) -> tuple[str, dict]:
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

    def count(self, spec: TableSpec, lo: Optional[Bound], hi: Optional[Bound]) -> int:
        where, params = self._where(spec, lo, hi, False)
        return int(self._query(f"SELECT COUNT(*) FROM {self.fqn(spec.name)} WHERE {where}", params)[0][0])

    def plan_window(
        self, spec: TableSpec, lo: Optional[Bound], limit: Optional[Bound] = None
    ) -> "WindowPlan":
        """Pick the next window [lo, hi) holding about `window_rows` rows; hi None means "to the end".

        `lo` is the first cursor value when none was given. Bounds are whole days for event tables, so a day is
        never split across two windows (each window replaces its days). A date or timestamp cursor value more
        than FUTURE_TOLERANCE past the source's current time (Snowflake's clock, asked in the same query) never
        plans a bound: such rows are read in the last window, and the plan's `limit` and `beyond` tell the caller
        (the stored cursor must ignore them). `limit` given: reuse it (later windows of one run).
        """
        where, params = self._where(spec, lo, None, False)
        c = quote(spec.cursor)  # type: ignore[arg-type]
        now = _now_sql(spec) if limit is None else None
        row = self._query(
            f"SELECT COUNT(*), MIN({c}), MAX({c}){', ' + now if now else ''} FROM {self.fqn(spec.name)} WHERE {where}",
            params,
        )[0]
        total, first, last = row[:3]
        if now is not None and row[3] is not None:
            limit = _plus_tolerance(spec, row[3])
        beyond = 0
        if limit is not None and last is not None and last > limit:
            last, beyond = self._query(
                f"SELECT MAX(CASE WHEN {c} <= %(limit)s THEN {c} END), COUNT_IF({c} > %(limit)s)"
                f" FROM {self.fqn(spec.name)} WHERE {where}", {**params, "limit": limit}
            )[0]
        if lo is None:
            lo = _floor(spec, first) if first is not None else None
        plan = WindowPlan(lo, None, limit, int(beyond or 0))
        if total <= self.window_rows or lo is None or last is None:
            return plan
        fraction = self.window_rows / total
        # a secant search on the cursor range, from cheap counts: memory follows the window, so keep it close
        # to window_rows; a single cursor value holding more rows than that cannot be split and is read whole
        for _ in range(12):
            hi = _ceil(spec, _interpolate(lo, last, min(fraction, 1.0)), lo)
            if hi > last:
                return plan
            n = self.count(spec, lo, hi)
            plan.hi = hi
            if self.window_rows * 4 // 5 <= n <= self.window_rows * 11 // 10:
                break
            fraction *= min(4.0, max(0.25, self.window_rows / n)) if n else 4.0
        return plan

    def read_window(
        self, spec: TableSpec, lo: Optional[Bound], hi: Optional[Bound], nulls: bool
    ) -> Iterator[pa.Table]:
        """Rows of one window as Arrow batches; entity tables keep one row per key (newest cursor)."""
        where, params = ("TRUE", {}) if spec.cursor is None else self._where(spec, lo, hi, nulls)
        yield from self._arrow(self.select_sql(spec, where), params, spec)

    def read_keys(self, spec: TableSpec, keys: Sequence[str]) -> Iterator[pa.Table]:
        """The rows of the given canonical key texts (see pipelines.fingerprint), like read_window."""
        key_text = self.key_text(spec)
        for i in range(0, len(keys), 1000):
            chunk = {f"k{j}": k for j, k in enumerate(keys[i : i + 1000])}
            where = f"{key_text} IN ({', '.join(f'%({p})s' for p in chunk)})"
            yield from self._arrow(self.select_sql(spec, where), chunk, spec)

    def select_sql(self, spec: TableSpec, where: str, columns: Optional[str] = None) -> str:
        """SELECT of the loaded columns and the row fingerprint (or of `columns`, which may use `{row_hash}`);
        entity tables keep the newest row per key, ties broken by fingerprint so every read picks the same row.
        Hashed columns bind `pii_salt`: run it through `_arrow` or `query`, which add it."""
        row_hash = self.row_hash(spec)
        select = columns.format(row_hash=row_hash) if columns else (
            ", ".join(f"{_loaded(spec, c.name)} AS {quote(c.name)}" for c in spec.columns)
            + f", {row_hash} AS {quote(SOURCE_HASH)}"
        )
        sql = f"SELECT {select}"
        if spec.strategy is Strategy.MERGE:
            key = ", ".join(quote(k) for k in spec.primary_key)
            # the SELECT's alias, so the fingerprint is computed once per row (Snowflake allows aliases in QUALIFY)
            tie = row_hash if columns else quote(SOURCE_HASH)
            order = f"{quote(spec.cursor)} DESC NULLS LAST, {tie}" if spec.cursor else tie
            if columns is None:
                sql += f", COUNT(*) OVER (PARTITION BY {key}) AS {quote(DUPS_COLUMN)}"
            sql += f" FROM {self.fqn(spec.name)} WHERE {where}"
            sql += f" QUALIFY ROW_NUMBER() OVER (PARTITION BY {key} ORDER BY {order}) = 1"
        else:
            sql += f" FROM {self.fqn(spec.name)} WHERE {where}"
        return sql

    @staticmethod
    def row_hash(spec: TableSpec) -> str:
        # a VECTOR is cast to ARRAY to be rendered as text (Snowflake casts VECTOR to ARRAY, not to VARCHAR)
        return row_hash_sql([f"{quote(c.name)}::ARRAY" if c.sf_type == "VECTOR" else _loaded(spec, c.name)
                             for c in spec.columns])

    @staticmethod
    def key_text(spec: TableSpec) -> str:
        return SNOWFLAKE.key_text([quote(k) for k in spec.primary_key], [spec.column(k) for k in spec.primary_key])

    @staticmethod
    def day(spec: TableSpec) -> str:
        """The UTC day of an event table's cursor, as prepare_batch computes `_learnsync_day`."""
        c, t = quote(spec.cursor or ""), spec.cursor_column.sf_type if spec.cursor_column else ""
        if t in ("TIMESTAMP_TZ", "TIMESTAMP_LTZ"):
            return f"TO_DATE(CONVERT_TIMEZONE('UTC', {c}))"
        return f"TO_DATE({c})" if t.startswith("TIMESTAMP") else c

    def query(self, sql: str, params: Optional[dict[str, Any]] = None, spec: Optional[TableSpec] = None) -> list[tuple]:
        """Small result sets (counts, fingerprints); with `spec`, of a select_sql of that table."""
        return self._query(sql, {**(params or {}), **(_salt(spec) if spec else {})})

    def _arrow(self, sql: str, params: dict[str, Any], spec: TableSpec) -> Iterator[pa.Table]:
        cur = self.conn.cursor()
        try:
            cur.execute(sql, {**params, **_salt(spec)})
            # microseconds from the connector itself: 9999-12-31 23:59:59.999999999 would otherwise raise
            # OverflowError (beyond timestamp[ns]), and it floors pre-1970 values (TimeStampConverter.cpp)
            yield from cur.fetch_arrow_batches(force_microsecond_precision=True)
        finally:
            cur.close()


class WindowStream:
    """The windows of one table sync, read one ahead in a background thread.

    While dlt normalizes and loads window k, window k+1 is already being read from Snowflake, so reading
    and loading overlap. At most two windows are held in memory.
    """

    def __init__(self, reader: ShareReader, spec: TableSpec) -> None:
        self.reader = reader
        self.spec = spec
        self.resume_from: Optional[Bound] = None
        self.done = False
        self.windows = 0
        self.limit: Optional[Bound] = None
        """Cursor values past this do not move the stored cursor (set by the run's first window; see plan_window)."""
        self.beyond = 0
        """Rows of the run whose cursor lies past `limit`."""
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"read-{spec.name}")
        self._ahead: Optional[tuple[Bound, Future]] = None

    def _fetch(self, lo: Optional[Bound], nulls: bool, end: Optional[Bound]) -> tuple[Optional[Bound], list[pa.Table]]:
        if self.spec.cursor is None:
            # no cursor, no windows: the whole table in one read (real Snowflake streams it in chunks)
            return None, list(self.reader.read_window(self.spec, None, None, True))
        plan = self.reader.plan_window(self.spec, lo, self.limit)
        if self.windows == 0 and self.limit is None:
            self.limit, self.beyond = plan.limit, plan.beyond
        lo, hi = plan.lo, plan.hi
        if end is not None and (hi is None or hi >= end):
            hi = end
        return hi, list(self.reader.read_window(self.spec, lo, hi, nulls))

    def take(self, start: Optional[Bound], nulls: bool, end: Optional[Bound] = None) -> list[pa.Table]:
        """Batches of the next window; `start` is the incremental start for the first window."""
        lo = self.resume_from if self.resume_from is not None else start
        if self._ahead is not None and self._ahead[0] == lo:
            hi, batches = self._ahead[1].result()
        else:
            hi, batches = self._fetch(lo, nulls, end)
        self._ahead = None
        self.windows += 1
        self.done = hi is None or (end is not None and hi >= end)
        self.resume_from = hi
        if not self.done:
            self._ahead = (hi, self._pool.submit(self._fetch, hi, False, end))  # type: ignore[arg-type]
        return batches

    def close(self) -> None:
        if self._ahead is not None:
            self._ahead[1].cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)


def _loaded(spec: TableSpec, name: str) -> str:
    """The expression a column is read with: hashed in Snowflake, so the raw value never leaves it (NULL || salt
    is NULL, so NULL stays NULL); as text where the connector cannot read the type (DECFLOAT: connector 4.8 has
    no Arrow converter for it, `CArrowTableIterator.cpp`) or does not know it."""
    if name in spec.hashed:
        return f"SHA2(%(pii_salt)s || {quote(name)}, 256)"
    return f"TO_VARCHAR({quote(name)})" if reads_as_text(spec.column(name)) else quote(name)


def _salt(spec: TableSpec) -> dict[str, str]:
    """The bind parameters a table's reads need: its salt when it hashes columns."""
    if not spec.hashed:
        return {}
    salt = read_pii_salt()
    if salt is None:  # plan() checks this first; never read a hashed column unhashed
        raise LearnsyncError(f"Table {spec.name} hashes columns but no pii_salt secret is set.")
    return {"pii_salt": salt}


def _now_sql(spec: TableSpec) -> Optional[str]:
    """Snowflake's current time in the cursor's type, or None for a cursor that is not a date or time."""
    t = spec.cursor_column.sf_type if spec.cursor_column else ""
    # TIMESTAMP_NTZ holds UTC wall-clock time (the session runs in UTC): SYSDATE() is the UTC clock without zone
    return {"DATE": "CURRENT_DATE()", "TIMESTAMP_NTZ": "SYSDATE()", "TIMESTAMP_LTZ": "CURRENT_TIMESTAMP()",
            "TIMESTAMP_TZ": "CURRENT_TIMESTAMP()"}.get(t)


def _plus_tolerance(spec: TableSpec, now: Bound) -> Bound:
    if isinstance(now, datetime):
        limit = now + FUTURE_TOLERANCE
        if spec.cursor_column is not None and spec.cursor_column.sf_type == "TIMESTAMP_NTZ":
            limit = limit.replace(tzinfo=None)
        return limit
    return now + timedelta(days=math.ceil(FUTURE_TOLERANCE.total_seconds() / 86400))  # type: ignore[operator]


def base_type(dtype: str) -> str:
    """A Snowflake type as INFORMATION_SCHEMA names its base type: `VARCHAR(16777216)` -> `TEXT`."""
    base = dtype.upper().split("(")[0].strip()
    return {"VARCHAR": "TEXT", "STRING": "TEXT", "CHAR": "TEXT", "CHARACTER": "TEXT", "DATETIME": "TIMESTAMP_NTZ",
            "TIMESTAMP": "TIMESTAMP_NTZ", "DOUBLE": "FLOAT", "REAL": "FLOAT", "DOUBLE PRECISION": "FLOAT",
            "DECIMAL": "NUMBER", "NUMERIC": "NUMBER", "INT": "NUMBER", "INTEGER": "NUMBER", "BIGINT": "NUMBER",
            "FLOAT4": "FLOAT", "FLOAT8": "FLOAT"}.get(base, base)


def _floor(spec: TableSpec, value: Bound) -> Bound:
    if spec.strategy is Strategy.EVENTS and isinstance(value, datetime):
        return datetime.combine(value.date(), datetime.min.time(), value.tzinfo)
    return value


def _interpolate(lo: Bound, hi: Bound, fraction: float) -> Bound:
    if isinstance(lo, datetime) and isinstance(hi, datetime):
        return lo + (hi - lo) * fraction
    if isinstance(lo, date) and isinstance(hi, date):
        return lo + timedelta(days=int((hi - lo).days * fraction))
    return int(lo + (hi - lo) * fraction)  # type: ignore[operator]


def _ceil(spec: TableSpec, value: Bound, lo: Bound) -> Bound:
    """Round a window end up to the cursor's grain, strictly above lo."""
    if spec.strategy is Strategy.EVENTS and isinstance(value, datetime):
        day = datetime.combine(value.date(), datetime.min.time(), value.tzinfo)
        value = day if day == value else day + timedelta(days=1)
        return max(value, lo + timedelta(days=1))  # type: ignore[operator]
    if isinstance(value, datetime):
        return max(value, lo + timedelta(microseconds=1))  # type: ignore[operator]
    if isinstance(value, date):
        return max(value, lo + timedelta(days=1))  # type: ignore[operator]
    return max(value, lo + 1)  # type: ignore[operator]
