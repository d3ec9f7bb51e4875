"""Reading the share: discovery, window planning and Arrow reads of one window at a time, on one connection.

`ShareReader` runs the SQL of `pipelines.snowflake.sql` and plans windows with `pipelines.snowflake.windows`;
`WindowStream` reads a table's windows ahead of the load, batch by batch; `open_share` opens a reader on its own connection.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generator, Iterator, Optional, Sequence

import pyarrow as pa

from learnsync.errors import LearnsyncError, ReadStalled
from learnsync.catalog.tables import Column, TableSpec
from learnsync.pipelines.snowflake import sql
from learnsync.pipelines.snowflake.cost import QueryStats, QueryTag
from learnsync.pipelines.snowflake.sql import Bound
from learnsync.pipelines.snowflake.windows import WindowPlan, floor_bound, plus_tolerance, window_end
from learnsync.pipelines.stages import Stages
from learnsync.pipelines.values import ValueCounts
from learnsync.defaults import READ_AHEAD_MB, WINDOW_MB, WINDOW_ROWS
from learnsync.settings import TIMEOUTS, ShareCredentials, read_pii_salt

log = logging.getLogger("learnsync.reader")
KEYS_PER_READ = 1000
"""Keys per IN list when rows are read by key (reconcile)."""


@dataclass
class ShareReader:
    """Reads the tables of one DATABASE.SCHEMA through a snowflake-connector connection (not thread-safe: one
    reader per thread, as `open_share` gives)."""

    conn: Any
    database: str
    schema: str
    window_rows: int = WINDOW_ROWS
    window_mb: float = WINDOW_MB
    """A window's bytes at most (estimated: `sql.row_bytes`), so wide rows make windows of fewer rows."""
    tag: Optional[QueryTag] = None
    """The QUERY_TAG the connection logged in with (`connect(..., tag=)`); `tagged` narrows it to one table."""
    stats: QueryStats = field(default_factory=QueryStats)
    """Every query this reader sent and the seconds Snowflake took to answer (see QueryStats)."""
    chunk_timeout: float = TIMEOUTS["chunk_timeout"]
    """Seconds a result chunk may take to arrive before the read stops with ReadStalled (`_chunks`)."""
    _wanted: Optional[QueryTag] = field(default=None, repr=False)

    @contextmanager
    def tagged(self, table: str, mode: str) -> Iterator[None]:
        """Tag the session's queries inside the block with one table's run. The session's QUERY_TAG is changed
        lazily, before the next query that needs another tag (`ALTER SESSION SET QUERY_TAG`: one query that
        needs no warehouse), so a connection that logged in with the table's tag (a Prefect task's) sends none,
        and leaving the block sends nothing. No-op without a tag."""
        if self.tag is None:
            yield
            return
        outer = self._wanted or self.tag
        self._wanted = outer.for_table(table, mode)
        try:
            yield
        finally:
            self._wanted = outer

    def _retag(self, cur: Any) -> None:
        """Bring the session's QUERY_TAG to the one wanted (see `tagged`)."""
        wanted = self._wanted
        if wanted is None or wanted == self.tag:
            return
        # ALTER SESSION takes no bind variable: the tag (no secret in it) is a literal
        with self.stats.measure(cur):
            cur.execute(f"ALTER SESSION SET QUERY_TAG = {sql.literal(wanted.text())}")
        self.tag = wanted

    def fqn(self, table: str) -> str:
        """A table of the schema, fully qualified and quoted."""
        return sql.fqn(self.database, self.schema, table)

    def _query(self, text: str, params: Optional[dict[str, Any]] = None) -> list[tuple]:
        cur = self.conn.cursor()
        try:
            self._retag(cur)
            with self.stats.measure(cur):
                cur.execute(*sql.server_bound(text, params or {}))
            return cur.fetchall()
        finally:
            cur.close()

    def discover(self) -> dict[str, list[Column]]:
        """{table: columns in declared order} of the schema; a schema without tables this login can see is a
        LearnsyncError (a wrong database or schema, or missing grants)."""
        tables: dict[str, list[Column]] = {}
        for table, name, dtype, precision, scale, comment in self._query(sql.columns_sql(self.database),
                                                                          {"schema": self.schema}):
            tables.setdefault(table, []).append(
                Column(name, sql.base_type(dtype), precision, scale, comment or "", full_type=str(dtype))
            )
        if not tables:
            raise LearnsyncError(
                f"Schema {self.database}.{self.schema} has no tables this login can see: check the database"
                " and schema in the source URI and the role's grants."
            )
        return tables

    def count(self, spec: TableSpec, lo: Optional[Bound], hi: Optional[Bound]) -> int:
        """Rows with lo <= cursor < hi."""
        where, params = sql.cursor_range(spec, lo, hi, False)
        return int(self._query(f"SELECT COUNT(*) FROM {self.fqn(spec.name)} WHERE {where}", params)[0][0])

    def rows_per_window(self, row_bytes: Optional[float]) -> int:
        """Rows of a window: `window_rows`, fewer where rows of `row_bytes` would pass `window_mb`."""
        if not row_bytes:
            return self.window_rows
        return max(1, min(self.window_rows, int(self.window_mb * 2**20 // row_bytes)))

    def plan_window(self, spec: TableSpec, lo: Optional[Bound], limit: Optional[Bound] = None,
                    row_bytes: Optional[float] = None) -> WindowPlan:
        """The next window [lo, hi) holding about `window_rows` rows (`windows.window_end`); `lo` None starts at
        the first cursor value. A date or timestamp cursor value more than FUTURE_TOLERANCE past the source's
        current time (Snowflake's clock, asked in the same query) never plans a bound: such rows are read in the
        last window, and the plan's `limit` and `beyond` say so (the stored cursor must ignore them). `limit`
        given: reuse it (later windows of one run). `row_bytes` given: the run's estimate of a row's bytes, else
        estimated in the same query (`sql.row_bytes`, the plan's `row_bytes`); a window holds at most
        `rows_per_window` rows. One query, plus one only when such rows exist, plus the counts of the search."""
        where, params = sql.cursor_range(spec, lo, None, False)
        table = self.fqn(spec.name)
        row = list(self._query(sql.cursor_span(spec, table, where, limit is None, row_bytes is None), params)[0])
        if row_bytes is None:
            row_bytes = float(row.pop() or 0)
        total, first, last = row[:3]
        if limit is None and len(row) > 3 and row[3] is not None:
            limit = plus_tolerance(spec, row[3])
        beyond = 0
        if limit is not None and last is not None and last > limit:
            last, beyond = self._query(sql.cursor_before(spec, table, where), {**params, "limit": limit})[0]
        if lo is None and first is not None:
            lo = floor_bound(spec, first)
        plan = WindowPlan(lo, None, limit, int(beyond or 0), int(total or 0), row_bytes)
        if lo is not None and last is not None:
            plan.hi = window_end(spec, lo, last, total, self.rows_per_window(row_bytes),
                                 lambda a, b: self.count(spec, a, b))
        return plan

    def read_window(
        self, spec: TableSpec, lo: Optional[Bound], hi: Optional[Bound], nulls: bool
    ) -> Generator[pa.Table, None, None]:
        """Rows of one window as Arrow batches, one per result chunk, in the chunk's own shape; entity tables keep
        one row per key (newest cursor)."""
        where, params = ("TRUE", {}) if spec.cursor is None else sql.cursor_range(spec, lo, hi, nulls)
        yield from self._arrow(sql.select(spec, self.fqn(spec.name), where), params, spec)

    def read_keys(self, spec: TableSpec, keys: Sequence[str]) -> Iterator[pa.Table]:
        """The rows of the given canonical key texts (`sql.key_text`), like `read_window`."""
        key_text = sql.key_text(spec)
        for i in range(0, len(keys), KEYS_PER_READ):
            chunk = {f"k{j}": k for j, k in enumerate(keys[i : i + KEYS_PER_READ])}
            where = f"{key_text} IN ({', '.join(f'%({p})s' for p in chunk)})"
            yield from self._arrow(sql.select(spec, self.fqn(spec.name), where), chunk, spec)

    def select_sql(self, spec: TableSpec, where: str, columns: Optional[str] = None) -> str:
        """`sql.select` of a table of this schema (run it with `query`, which binds the salt)."""
        return sql.select(spec, self.fqn(spec.name), where, columns)

    def query(self, text: str, params: Optional[dict[str, Any]] = None, spec: Optional[TableSpec] = None) -> list[tuple]:
        """Small result sets (counts, fingerprints); with `spec`, of a `select_sql` of that table."""
        return self._query(text, {**(params or {}), **(_salt(spec) if spec else {})})

    def stream(self, text: str, spec: TableSpec) -> Iterator[pa.Table]:
        """A large result of a query of the table `spec` (its salt bound), chunk by chunk as Arrow tables."""
        return self._arrow(text, {}, spec)

    def _arrow(self, text: str, params: dict[str, Any], spec: TableSpec) -> Iterator[pa.Table]:
        cur = self.conn.cursor()
        try:
            self._retag(cur)
            with self.stats.measure(cur):
                cur.execute(*sql.server_bound(text, {**params, **_salt(spec)}))
            yield from self._chunks(cur, spec.name)
        finally:
            cur.close()

    def _chunks(self, cur: Any, table: str) -> Iterator[pa.Table]:
        """The result's chunks as Arrow tables, as `fetch_arrow_batches` gives them, each within `chunk_timeout`
        seconds. The connector bounds each socket read only, and its download pool is joined at exit, so a chunk
        that trickles in would hold the run (and the process) for as long as it lasts: the chunks are downloaded
        here instead, up to the connection's prefetch count ahead, each on a daemon thread that is left behind
        when it stalls. Raises ReadStalled."""
        from snowflake.connector.constants import IterUnit
        from snowflake.connector.result_batch import ArrowResultBatch
        from snowflake.connector.result_set import check_total_rowcount

        batches = cur.get_result_batches() or []
        if not all(isinstance(b, ArrowResultBatch) for b in batches):
            yield from cur.fetch_arrow_batches()  # JSON results: the connector's own NotSupportedError
            return
        todo = iter(batches)
        ahead: deque[Future] = deque()

        def start() -> None:
            batch = next(todo, None)
            if batch is not None:
                # microseconds from the connector itself: 9999-12-31 23:59:59.999999999 would otherwise raise
                # OverflowError (beyond timestamp[ns]), and it floors pre-1970 values (TimeStampConverter.cpp)
                ahead.append(_on_daemon(lambda: list(batch.create_iter(
                    connection=self.conn, iter_unit=IterUnit.TABLE_UNIT, structure="arrow",
                    force_microsecond_precision=True))))

        for _ in range(max(1, getattr(self.conn, "client_prefetch_threads", 4))):
            start()
        rows = 0
        while ahead:
            future = ahead.popleft()
            start()
            try:
                tables = future.result(timeout=self.chunk_timeout)
            except FutureTimeout:
                raise ReadStalled(
                    f"A result chunk of {table} did not arrive within {self.chunk_timeout:g} s (chunk_timeout in the"
                    " source URI or [sources.learnsync.credentials]): the network to Snowflake is stalled or too"
                    " slow. The windows loaded before stay committed: run again to resume.") from None
            for t in tables:
                rows += t.num_rows
                yield t
        check_total_rowcount(rows, cur.rowcount)  # as the connector's own iterator: no chunk went missing


@contextmanager
def open_share(source: Optional[str] | ShareCredentials, window_rows: int = WINDOW_ROWS,
               tag: Optional[QueryTag] = None, window_mb: float = WINDOW_MB) -> Iterator[ShareReader]:
    """A reader on a connection of its own to the share: `source` is a source URI (its secrets from dlt's
    providers) or credentials already built (`settings.ShareCredentials`, e.g. logged in from a Prefect block);
    its session tagged with `tag` (see `connect`). `window_rows` (>= 1) rows per window. Closed on exit. Raises
    LearnsyncError (SourceUnreachable when the source cannot be reached); None is a LearnsyncError too, "No source
    given": this library reads no environment variable for it (the CLI's --source-uri reads
    LEARNSYNC_SOURCE_URI). The one way learnsync opens a reader: tasks run in threads or processes and never share
    a connection."""
    from learnsync.pipelines.snowflake.connection import connect, parse_source_uri

    credentials = source if isinstance(source, ShareCredentials) else parse_source_uri(source)
    conn = connect(credentials, tag)
    try:
        yield ShareReader(conn, *credentials.share(), window_rows=window_rows, tag=tag,
                          chunk_timeout=credentials.chunk_timeout, window_mb=window_mb)
    finally:
        conn.close()


def _reached(hi: Bound, end: Bound) -> bool:
    """Whether a window's upper bound is at or past the run's end. Both are values of one cursor column, so of one
    type; Bound's union would let an int meet a date."""
    return hi >= end  # pyright: ignore[reportOperatorIssue]


class Fetched:
    """Rows read by key (`ShareReader.read_keys`), offered to a table's dlt source like the one window of a sync."""

    def __init__(self, batches: list[pa.Table]) -> None:
        self.batches, self.done, self.windows, self.limit = batches, True, 1, None

    def take(self, start: Any, nulls: bool, end: Any = None) -> list[pa.Table]:
        return self.batches


class WindowStream:
    """The windows of one table sync, read in a background thread and handed to the load batch by batch.

    A window's batches pass through a queue holding at most READ_AHEAD_MB of Arrow data, so the load extracts
    them while the rest of the window is still being read, and a window of any size (a tie on the cursor, which
    a window never splits) holds no more memory than that. While dlt normalizes and loads window k, window k+1 is
    already being read, until its queue is full.
    """

    def __init__(self, reader: ShareReader, spec: TableSpec, read_ahead_mb: float = READ_AHEAD_MB) -> None:
        self.reader = reader
        self.spec = spec
        self.resume_from: Optional[Bound] = None
        self.done = False
        self.windows = 0
        self.limit: Optional[Bound] = None
        """Cursor values past this do not move the stored cursor (set by the run's first window; see plan_window)."""
        self.beyond = 0
        """Rows of the run whose cursor lies past `limit`."""
        self.start_at: Any = None
        """Where the run's first window starts when that is later than the incremental's start (a value of the
        stored cursor's kind; set by `pipelines.lookback`: the lookback read only from where it changed)."""
        self.planned_rows: Optional[int] = None
        """Rows the run expects to read, counted when its first window was planned (None without a cursor)."""
        self.stages = Stages()
        """Seconds per stage of the run (`pipelines.stages`): the reader adds snowflake_read and snowflake_wait, the
        dlt source arrow and children, the sync dlt's steps."""
        self.row_bytes: Optional[float] = None
        """A row's estimated bytes in the share, from the run's first plan (`ShareReader.plan_window`)."""
        self.values = ValueCounts()
        """NUL characters removed and rows skipped for a NULL key while the windows were prepared."""
        self.read_ahead_bytes = max(1, int(read_ahead_mb * 2**20))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"read-{spec.name}")
        self._ahead: Optional[tuple[Optional[Bound], _Window]] = None
        self._current: Optional[_Window] = None

    def _plan(self, lo: Optional[Bound], end: Optional[Bound]) -> tuple[Optional[Bound], Optional[Bound]]:
        """[lo, hi) of the window starting at `lo`, within the run's `end` (no cursor: the whole table)."""
        if self.spec.cursor is None:
            return None, None
        plan = self.reader.plan_window(self.spec, lo, self.limit, self.row_bytes)
        self.row_bytes = plan.row_bytes
        if self.windows == 0 and self.limit is None:
            self.limit, self.beyond = plan.limit, plan.beyond
        if self.planned_rows is None:
            self.planned_rows = plan.total
        hi = plan.hi
        if end is not None and (hi is None or _reached(hi, end)):
            hi = end
        return plan.lo, hi

    def _produce(self, window: _Window, lo: Optional[Bound], nulls: bool, end: Optional[Bound]) -> None:
        """Plan the window, then read its batches into its queue (on the reader's thread)."""
        try:
            with self.stages.timed("snowflake_read"):
                lo, hi = self._plan(lo, end)
            window.planned(hi)
            batches = self.reader.read_window(self.spec, lo, hi, nulls)
            while True:
                with self.stages.timed("snowflake_read"):
                    batch = next(batches, None)
                if batch is None or not window.put(batch):
                    break
            batches.close()  # a window given up: its cursor closed here, on the thread that opened it
        except BaseException as exc:  # noqa: BLE001 - handed to the load through the window's queue
            window.fail(exc)
        else:
            window.finish()

    def _start(self, lo: Optional[Bound], nulls: bool, end: Optional[Bound]) -> _Window:
        window = _Window(self.read_ahead_bytes)
        window.future = self._pool.submit(self._produce, window, lo, nulls, end)
        return window

    def take(self, start: Optional[Bound], nulls: bool, end: Optional[Bound] = None) -> Iterator[pa.Table]:
        """Batches of the next window, as they are read; `start` is the incremental start for the first window.
        Returns once the window is planned (`done` says whether it is the last); the next window's read starts
        as soon as this one's is complete."""
        lo = self.resume_from if self.resume_from is not None else start
        if self._current is not None:
            self._current.give_up()  # the window before was not read to its end: nothing waits for its batches
        if self._ahead is not None and self._ahead[0] == lo:
            window = self._ahead[1]
        else:
            if self._ahead is not None:
                self._ahead[1].give_up()
            window = self._start(lo, nulls, end)
        self._ahead, self._current = None, window
        with self.stages.timed("snowflake_wait"):
            hi = window.plan()
        self.windows += 1
        self.done = hi is None or (end is not None and _reached(hi, end))
        self.resume_from = hi
        if not self.done:
            self._ahead = (hi, self._start(hi, False, end))  # queued behind this window's read on the one thread
        return window.batches(self.stages)

    def close(self) -> None:
        for window in (self._current, self._ahead[1] if self._ahead else None):
            if window is not None:
                window.give_up()
        self._pool.shutdown(wait=True, cancel_futures=True)


class _Window:
    """One window's read: its upper bound once planned, then its batches through a queue bounded in bytes (a
    batch larger than the bound passes alone). Filled by the reader's thread, drained by the load."""

    _END = object()

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.future: Optional[Future] = None
        self._hi: Future = Future()
        self._items: deque[Any] = deque()
        self._bytes = 0
        self._given_up = False
        self._changed = threading.Condition()

    def planned(self, hi: Optional[Bound]) -> None:
        self._hi.set_result(hi)

    def plan(self) -> Optional[Bound]:
        """The window's upper bound, once the reader planned it (its failure raised here)."""
        return self._hi.result()

    def put(self, batch: pa.Table) -> bool:
        """Queue a batch, waiting while the queue is full; False once the load gave the window up."""
        with self._changed:
            self._changed.wait_for(lambda: self._given_up or not self._items or
                                   self._bytes + batch.nbytes <= self.max_bytes)
            if self._given_up:
                return False
            self._items.append(batch)
            self._bytes += batch.nbytes
            self._changed.notify_all()
            return True

    def finish(self) -> None:
        self._push(self._END)

    def fail(self, exc: BaseException) -> None:
        if not self._hi.done():
            self._hi.set_exception(exc)
        self._push(exc)

    def _push(self, item: Any) -> None:
        with self._changed:
            self._items.append(item)
            self._changed.notify_all()

    def give_up(self) -> None:
        """The load wants no more of this window: the reader stops at its next batch."""
        with self._changed:
            self._given_up = True
            self._items.clear()
            self._changed.notify_all()

    def batches(self, stages: Stages) -> Iterator[pa.Table]:
        """The window's batches in order; the reader's failure raised where it happened."""
        while True:
            with stages.timed("snowflake_wait"), self._changed:
                self._changed.wait_for(lambda: bool(self._items))
                item = self._items.popleft()
                if isinstance(item, pa.Table):
                    self._bytes -= item.nbytes
                self._changed.notify_all()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


def _on_daemon(work: Any) -> Future:
    """`work()` on a daemon thread of its own: a download that never ends cannot keep the process alive."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:  # noqa: BLE001 - handed to the reader through the future
            future.set_exception(exc)

    threading.Thread(target=run, name="learnsync-chunk", daemon=True).start()
    return future


def _salt(spec: TableSpec) -> dict[str, str]:
    """The bind parameters a table's reads need: its salt when it hashes columns."""
    if not spec.hashed:
        return {}
    salt = read_pii_salt()
    if salt is None:  # plan() checks this first; never read a hashed column unhashed
        raise LearnsyncError(f"Table {spec.name} hashes columns but no pii_salt secret is set.")
    return {"pii_salt": salt}
