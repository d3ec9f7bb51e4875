"""Reconcile: make the destination equal to the share where cursors cannot see the change.

Keyed tables are compared by buckets of MD5(key): each side returns, per bucket, a row count and the MD5 of
its rows' fingerprints (`_learnsync_hash`, computed by Snowflake when the row was read). Buckets that differ are
split one hex digit further until they hold at most LEAF_ROWS rows; for those, both sides return (key,
fingerprint) pairs, and only the rows whose fingerprint changed or that are missing are read from the share and
merged through the table's own dlt pipeline (child tables follow, as in a sync); when most of the table changed
(RELOAD_SHARE of its rows, at least RELOAD_MIN_KEYS keys), the table is read again window by window instead, since
key lists cannot prune and would cost one scan per KEYS_PER_READ keys (method "reload"). Keys the share no longer has
are deleted with their child rows, or marked `_learnsync_deleted_at` for `soft_delete` tables. Event tables
(no key) are compared per day and a day that differs is replaced from the share by a backfill of that day.
What crosses the network is proportional to the change, not to the table.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Optional, Sequence

import dlt
import pyarrow as pa

from learnsync.destinations import Target
from learnsync.destinations.base import sql_job
from learnsync.errors import LearnsyncError
from learnsync.catalog.tables import DELETED_AT, VALID_TO, Strategy, TableSpec
from learnsync.catalog.layout import DAY, child_name, parent_column
from learnsync.catalog.fingerprint import ROW_HASH, SNOWFLAKE, Dialect, composite_text
from learnsync.defaults import LOCK_TIMEOUT
from learnsync.pipelines import upgrade
from learnsync.pipelines.snowflake import sql
from learnsync.pipelines.snowflake.reader import KEYS_PER_READ, Fetched, ShareReader, WindowStream
from learnsync.pipelines.source.resource import share_table
from learnsync.pipelines.sync import (
    Mode, RunContext, destination_name, destination_namer, make_pipeline, reason as _reason, remove_days, resume,
    source_name, sync_table, table_lock,
    versioned_disposition,
)

log = logging.getLogger("learnsync.reconcile")

LEAF_ROWS = 64  # a differing bucket this small is compared key by key
FIRST_BUCKET_ROWS = 1024  # rows per bucket to start with: fewer scans of big tables, few summaries
CHUNK = 1000  # keys per IN list
RELOAD_SHARE = 0.5
"""Changed and missing keys, as a share of the table's rows, from which reconcile re-reads the table instead of
reading those keys (each IN list of KEYS_PER_READ keys scans the whole table: Snowflake cannot prune on it)."""
RELOAD_MIN_KEYS = 5 * KEYS_PER_READ
"""Below this many keys, reading them costs at most a few scans: reconcile reads the keys."""


@dataclass
class ReconcileResult:
    """What reconciling one table found and did."""

    table: str
    method: str  # "keys", "reload" (most keys changed: the table read again), "days" or "skipped"
    rows_checked: int = 0  # source rows covered by the fingerprint comparison
    buckets: int = 0  # buckets (or days) compared
    fingerprints: int = 0  # (key, fingerprint) pairs read from both sides
    updated: int = 0
    inserted: int = 0
    deleted: int = 0
    rows_fetched: int = 0  # full rows read from the share
    seconds: float = 0.0
    queries: int = 0  # queries sent to Snowflake
    statements: list[str] = field(default_factory=list, repr=False)  # their texts (values bound, never in them)
    note: str = ""
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def drift(self) -> bool:
        return bool(self.updated or self.inserted or self.deleted or self.note.startswith("no fingerprints"))

    def as_dict(self) -> dict[str, Any]:
        """The result as plain values, without the statements' texts (`--json`, the flows' task results)."""
        fields = (k for k in ReconcileResult.__dataclass_fields__ if k != "statements")
        return {k: getattr(self, k) for k in fields} | {"drift": self.drift}


Buckets = dict[str, tuple[int, int]]


Select = Callable[[str, str, bool], str]
"""(select list, WHERE condition, exact) -> SQL over a side's table. `exact` keeps one row per key as a sync
does; bucket summaries skip that (a window over the whole table costs more than the rest of the query), so a
bucket holding a duplicated key always differs and is settled by its exact key pairs."""


@dataclass
class _Side:
    """Bucket summaries and key pairs of one side, by its key text `key` and row fingerprint `hash`."""

    d: Dialect
    key: str
    hash: str
    select: Select
    run: Callable[[str, list[Any]], list[tuple]]
    mark: Callable[[int], str]  # the i-th bind placeholder

    def _in(self, length: int, prefixes: Optional[Sequence[str]]) -> tuple[str, list[Any]]:
        if prefixes is None:
            return "TRUE", []
        marks = ", ".join(self.mark(i) for i in range(len(prefixes)))
        return f"{self.d.bucket(self.key, length)} IN ({marks})", list(prefixes)

    def buckets(self, length: int, parents: Optional[Sequence[str]]) -> Buckets:
        where, params = self._in(length - 1, parents)
        rows = self.select(f"{self.d.bucket(self.key, length)} AS B, {self.hash} AS H", where, False)
        found = self.run(f"SELECT B, COUNT(*), {self.d.fingerprint('H')} FROM ({rows}) s GROUP BY B", params)
        return {str(b): (int(n), int(fp)) for b, n, fp in found}

    def pairs(self, length: int, prefixes: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for i in range(0, len(prefixes), CHUNK):
            where, params = self._in(length, prefixes[i : i + CHUNK])
            out.update((str(k), str(h)) for k, h in self.run(self.select(f"{self.key} AS K, {self.hash} AS H", where, True), params))
        return out


def first_prefix(rows: int) -> int:
    """Hex digits of the first buckets: at most about FIRST_BUCKET_ROWS rows each (256 to 16^5 buckets)."""
    if rows <= FIRST_BUCKET_ROWS:
        return 2
    return min(5, max(2, math.ceil(math.log(rows / FIRST_BUCKET_ROWS, 16))))


def _diff(src: _Side, dst: _Side, rows: int, result: ReconcileResult) -> tuple[list[str], list[str], list[str]]:
    """(changed, missing, extra) key texts, narrowing differing buckets until they are small."""
    length, parents = first_prefix(rows), None
    src_pairs: dict[str, str] = {}
    dst_pairs: dict[str, str] = {}
    while True:
        s, d = src.buckets(length, parents), dst.buckets(length, parents)
        if parents is None:
            result.rows_checked = sum(n for n, _ in s.values())
        result.buckets += len(s.keys() | d.keys())
        differ = sorted(b for b in s.keys() | d.keys() if s.get(b) != d.get(b))
        split = [b for b in differ if max(s.get(b, (0, 0))[0], d.get(b, (0, 0))[0]) > LEAF_ROWS and length < 32]
        leaves = [b for b in differ if b not in set(split)]
        if leaves:
            src_pairs.update(src.pairs(length, leaves))
            dst_pairs.update(dst.pairs(length, leaves))
        if not split:
            break
        parents, length = split, length + 1
    result.fingerprints = len(src_pairs) + len(dst_pairs)
    changed = sorted(k for k, h in src_pairs.items() if k in dst_pairs and dst_pairs[k] != h)
    missing = sorted(k for k in src_pairs if k not in dst_pairs)
    extra = sorted(k for k in dst_pairs if k not in src_pairs)
    return changed, missing, extra


class _Counted(WindowStream):
    """A table's windows read from its start, counting the rows read (a reconcile's reload)."""

    rows = 0

    def take(self, start: Any, nulls: bool, end: Any = None) -> Iterator[pa.Table]:
        return self._counted(super().take(start, nulls, end))

    def _counted(self, batches: Iterator[pa.Table]) -> Iterator[pa.Table]:
        for batch in batches:
            self.rows += batch.num_rows
            yield batch


def _source_side(reader: ShareReader, spec: TableSpec) -> _Side:
    def select(columns: str, where: str, exact: bool) -> str:
        where = f"({where}) AND {sql.key_present(spec)}"  # a row with a NULL key part is never loaded
        if exact:
            return reader.select_sql(spec, where, columns)
        return f"SELECT {columns.format(row_hash=sql.row_hash(spec))} FROM {reader.fqn(spec.name)} WHERE {where}"

    def run(text: str, params: list[Any]) -> list[tuple]:
        return reader.query(text, {f"p{i}": p for i, p in enumerate(params)}, spec)

    return _Side(SNOWFLAKE, sql.key_text(spec), "{row_hash}", select, run, lambda i: f"%(p{i})s")


def reconcile_table(
    reader: ShareReader,
    spec: TableSpec,
    target: Target,
    dataset: str,
    profile: str,
    dry_run: bool = False,
    pipelines_dir: Optional[str] = None,
    lock_timeout: Optional[float] = LOCK_TIMEOUT,
) -> ReconcileResult:
    """Compare one table with the share and, unless `dry_run`, apply the difference (under the table's lock)."""
    method = "keys" if spec.strategy is Strategy.MERGE else "days" if spec.strategy is Strategy.EVENTS else "skipped"
    result = ReconcileResult(spec.name, method)
    started, started_at = time.monotonic(), datetime.now(timezone.utc)
    queries, seconds = reader.stats.snapshot()
    try:
        if method == "skipped" or not target.merges:
            result.method, result.note = "skipped", "every sync reloads it whole"
            return result
        with reader.tagged(spec.name, "reconcile"), table_lock(target, dataset, spec.name, lock_timeout):
            try:
                _Table(reader, spec, target, dataset, profile, pipelines_dir, dry_run, result).run()
            except LearnsyncError as exc:
                result.error = str(exc)
            except Exception as exc:  # noqa: BLE001 - one table failing must not stop the others
                log.debug("reconcile failed", exc_info=True)
                result.error = _reason(exc)
            # still under the table's lock (a DuckDB file takes one writing process): what `status` shows
            result.seconds = time.monotonic() - started
            _record(target, dataset, result, dry_run, started_at, reader.stats.snapshot(), (queries, seconds),
                    pipelines_dir)
    except LearnsyncError as exc:
        result.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - one table failing must not stop the others; reported per table
        log.debug("reconcile failed", exc_info=True)
        result.error = _reason(exc)
    finally:
        result.seconds = time.monotonic() - started
        result.queries = reader.stats.snapshot()[0] - queries
        result.statements = reader.stats.statements[len(reader.stats.statements) - result.queries:]
    return result


def _record(target: Target, dataset: str, result: ReconcileResult, dry_run: bool, started_at: datetime,
            after: tuple[int, float], before: tuple[int, float], pipelines_dir: Optional[str]) -> None:
    """Append the reconcile run to the dataset's run history (`runs.RUNS_TABLE`, best effort): mode "reconcile"
    (or "reconcile dry-run"), rows fetched from the share, and `changed` = rows updated, inserted or deleted."""
    from learnsync.pipelines import runs as run_history
    from learnsync.pipelines.snowflake.cost import new_run_id

    run_history.record(target, dataset, run_history.RunRecord(
        table_name=result.table, run_id=new_run_id(),
        mode=run_history.RECONCILE + (" dry-run" if dry_run else ""), started_at=started_at,
        seconds=result.seconds, rows=result.rows_fetched, rows_new=0, rows_reread=0,
        cursor_before=None, cursor_after=None, outcome="ok" if result.ok else "failed",
        error=run_history.one_line(result.error), queries=after[0] - before[0],
        snowflake_seconds=after[1] - before[1], changed=result.updated + result.inserted + result.deleted,
    ), pipelines_dir)


@dataclass
class _Table:
    """One table's reconcile: the share, the table's dlt pipeline and the destination's SQL."""

    reader: ShareReader
    spec: TableSpec
    target: Target
    dataset: str
    profile: str
    pipelines_dir: Optional[str]
    dry_run: bool
    result: ReconcileResult
    pipeline: dlt.Pipeline = field(init=False)
    dialect: Dialect = field(init=False)

    def run(self) -> None:
        self.pipeline = make_pipeline(self.profile, self.spec, self.target, self.dataset, self.pipelines_dir)
        resume(self.pipeline, self.spec, self.target)
        if self.target.dialect is None:
            raise LearnsyncError(
                f"Reconcile does not support the {self.target.display} destination yet (it supports DuckDB, Postgres"
                " and BigQuery); `learnsync full-refresh` makes any destination exact.")
        self.dialect = self.target.dialect
        # fingerprints of an older learnsync would all differ from the share's: moved first (`pipelines.upgrade`),
        # except by a dry run, which writes nothing
        names = (source_name(self.spec), destination_namer(self.pipeline))
        if self.dry_run and upgrade.needs_upgrade(self.pipeline, self.spec, self.target, names):
            self.result.method, self.result.note = "skipped", (
                "its fingerprints are from an older learnsync: the next sync or reconcile moves them to the current"
                " version first (one pass, no row read again), then a dry run can compare it")
            return
        upgrade.upgrade(self.pipeline, self.spec, self.reader, self.target, names)
        with self.pipeline.destination_client() as any_job:
            job = sql_job(any_job)
            exists, columns = job.get_storage_table(self._name(self.spec.dest_name))
            if not exists:
                self.result.method, self.result.note = "skipped", "not in the destination yet: run learnsync sync first"
                return
            rows, hashed = self._count(job.sql_client) if ROW_HASH in columns else (0, 0)
            if ROW_HASH not in columns or (rows and not hashed):
                refresh = True
            elif self.result.method == "keys":
                refresh, (changed, missing, extra) = False, self._diff_keys(job.sql_client, DELETED_AT in columns, rows)
            else:
                refresh, (days, gone) = False, self._diff_days(job.sql_client)
        # the destination connection is closed before loading: DuckDB allows one writer per file
        if refresh:
            self._refresh()
        elif self.result.method == "keys":
            self._apply_keys(changed, missing, extra)
        else:
            self._apply_days(days, gone)

    def _count(self, client: Any) -> tuple[int, int]:
        """Rows, and rows with a fingerprint (none: loaded before fingerprints existed, cannot be compared)."""
        total, hashed = client.execute_sql(
            f"SELECT COUNT(*), COUNT({client.escape_column_name(ROW_HASH)})"
            f" FROM {client.make_qualified_table_name(self._name(self.spec.dest_name))}{self._current(client, ' WHERE ')}"
        )[0]
        return int(total), int(hashed)

    def _refresh(self) -> None:
        """Reload such a table whole, once (a full refresh, swapped in)."""
        self.result.note = "no fingerprints yet (loaded by an older learnsync): " + (
            "a reconcile reloads it whole once" if self.dry_run else "reloaded whole"
        )
        if not self.dry_run:
            self.result.rows_fetched = self._sync(Mode.FULL_REFRESH)

    def _sync(self, mode: Mode, start: Any = None, end: Any = None) -> int:
        run = RunContext.of(self.target, self.dataset, self.profile, pipelines_dir=self.pipelines_dir,
                            lock_timeout=None)  # the reconcile holds the lock
        done = sync_table(self.reader, self.spec, run, mode, start, end)
        if not done.ok:
            raise LearnsyncError(done.error or f"{mode.value} failed")
        return done.rows

    def _current(self, client: Any, joiner: str) -> str:
        """The condition that keeps the current versions of a history table (`joiner` before it); '' otherwise."""
        return f"{joiner}{client.escape_column_name(self._name(VALID_TO))} IS NULL" if self.spec.history else ""

    def _name(self, name: str) -> str:
        """The name dlt gave `name` in the destination (shortened past the destination's limit)."""
        return destination_name(self.pipeline, name)

    def _key_text(self, client: Any) -> str:
        return self.dialect.key_text(self._keys(client), [self.spec.column(k) for k in self.spec.primary_key])

    def _keys(self, client: Any) -> list[str]:
        return [client.escape_column_name(self._name(k)) for k in self.spec.key_dest]

    # -- keyed tables ------------------------------------------------------------------------------------

    def _diff_keys(self, client: Any, soft: bool, rows: int) -> tuple[list[str], list[str], list[str]]:
        table = client.make_qualified_table_name(self._name(self.spec.dest_name))
        live = f" AND {client.escape_column_name(DELETED_AT)} IS NULL" if soft else self._current(client, " AND ")

        def select(columns: str, where: str, exact: bool) -> str:
            return f"SELECT {columns} FROM {table} WHERE {where}{live}"  # keys are unique in the destination

        def run(text: str, params: list[Any]) -> list[tuple]:
            return list(client.execute_sql(text, *params) or [])

        h = f"COALESCE({client.escape_column_name(ROW_HASH)}, '')"
        dst = _Side(self.dialect, self._key_text(client), h, select, run, lambda i: "%s")
        changed, missing, extra = _diff(_source_side(self.reader, self.spec), dst, rows, self.result)
        self.result.updated, self.result.inserted, self.result.deleted = len(changed), len(missing), len(extra)
        return changed, missing, extra

    def _apply_keys(self, changed: list[str], missing: list[str], extra: list[str]) -> None:
        wanted = len(changed) + len(missing)
        reload = wanted >= RELOAD_MIN_KEYS and wanted >= RELOAD_SHARE * self.result.rows_checked
        if reload:
            self.result.method = "reload"
        if self.dry_run:
            return
        if reload:
            self._reload()
        elif changed or missing:
            batches = list(self.reader.read_keys(self.spec, changed + missing))
            self.result.rows_fetched = sum(b.num_rows for b in batches)
            self._merge(Fetched(batches))
        if extra:
            self._delete(extra)

    def _merge(self, windows: Any) -> None:
        """Merge one window of rows by key through the table's own source without a cursor: child rows are
        replaced as a sync does, and the stored cursor stays where it is. A history table: changed rows become new
        versions (their current versions are closed), and only the keys read are in the load's scope."""
        versioned = versioned_disposition(self.pipeline, self.spec, Mode.INCREMENTAL) if self.spec.history else None
        source = share_table.with_args(name=source_name(self.spec))(self.spec, windows, None, False, None, versioned)
        self.target.adapt(source, self.spec)
        self.pipeline.run(source, **self.target.run_options)

    def _reload(self) -> None:
        """Most of the table changed: read all of it, window by window as a sync does (cursor ranges prune), and
        merge every row; unchanged rows merge to themselves (a history table's fingerprint makes no version)."""
        stream = _Counted(self.reader, self.spec)
        try:
            while True:
                self._merge(stream)
                if stream.done:
                    break
        finally:
            stream.close()
        self.result.rows_fetched = stream.rows

    def _delete(self, keys: list[str]) -> None:
        """Remove keys the share no longer has, with their child rows; mark them, for soft_delete tables; close
        their current version (`valid_to`), for history tables."""
        spec = self.spec
        with self.pipeline.destination_client() as any_job:
            job = sql_job(any_job)
            client = job.sql_client
            parent = client.make_qualified_table_name(self._name(spec.dest_name))
            key_text, key_cols = self._key_text(client), self._keys(client)
            # a child's parent column holds the key (or its parts' text, length-prefixed), as children.unnest writes it
            child_key = composite_text([k if len(key_cols) == 1 else self.dialect.text(k) for k in key_cols],
                                       self.dialect.text)
            names = [self._name(child_name(spec, col)) for col in spec.json_columns]
            present = self.target.present(job, names)
            children = [c for c in names if c in present]
            for i in range(0, len(keys), CHUNK):
                chunk = keys[i : i + CHUNK]
                marks = ", ".join("%s" for _ in chunk)
                if spec.history:
                    # the current version is closed; it and its child rows stay, as history
                    to = client.escape_column_name(self._name(VALID_TO))
                    client.execute_sql(f"UPDATE {parent} SET {to} = %s WHERE {key_text} IN ({marks}) AND {to} IS NULL",
                                       datetime.now(timezone.utc), *chunk)
                    continue
                if spec.soft_delete:
                    at = client.escape_column_name(DELETED_AT)
                    client.execute_sql(f"UPDATE {parent} SET {at} = %s WHERE {key_text} IN ({marks}) AND {at} IS NULL",
                                       datetime.now(timezone.utc), *chunk)
                    continue
                # children first, then the parent, each its own statement (BigQuery has no plain transactions):
                # after a crash in between, the parent row is still there, so the next reconcile deletes again
                for child in children:
                    client.execute_sql(
                        f"DELETE FROM {client.make_qualified_table_name(child)}"
                        f" WHERE {client.escape_column_name(self._name(parent_column(spec)))} IN"
                        f" (SELECT {child_key} FROM {parent} WHERE {key_text} IN ({marks}))", *chunk,
                    )
                client.execute_sql(f"DELETE FROM {parent} WHERE {key_text} IN ({marks})", *chunk)

    # -- event tables ------------------------------------------------------------------------------------

    def _diff_days(self, client: Any) -> tuple[list[date], list[date]]:
        """Days whose count or fingerprint differ: (days the share has, days only the destination has)."""
        day = client.escape_column_name(self._name(DAY))
        h = f"COALESCE({client.escape_column_name(ROW_HASH)}, '')"
        dst = {
            _as_date(d): (int(n), int(fp))
            for d, n, fp in client.execute_sql(
                f"SELECT {day}, COUNT(*), {self.dialect.fingerprint(h)}"
                f" FROM {client.make_qualified_table_name(self._name(self.spec.dest_name))} GROUP BY 1"
            )
        }
        rows_sql = self.reader.select_sql(self.spec, "TRUE", f"{sql.day(self.spec)} AS D, {{row_hash}} AS H")
        src = {
            _as_date(d): (int(n), int(fp))
            for d, n, fp in self.reader.query(
                f"SELECT D, COUNT(*), {SNOWFLAKE.fingerprint('H')} FROM ({rows_sql}) s GROUP BY 1", spec=self.spec
            )
        }
        self.result.rows_checked = sum(n for n, _ in src.values())
        self.result.buckets = len(src.keys() | dst.keys())
        changed = [d for d in src.keys() | dst.keys() if src.get(d) != dst.get(d)]
        differ = [d for d in changed if d is not None]
        if len(differ) < len(changed):
            self.result.note = "events with a NULL cursor differ: no day to replace them by; a full refresh fixes them"
        days = sorted(d for d in differ if d in src)
        gone = sorted(d for d in differ if d not in src)
        self.result.updated, self.result.deleted = len(days), sum(dst[d][0] for d in gone)
        return days, gone

    def _apply_days(self, days: list[date], gone: list[date]) -> None:
        if self.dry_run:
            return
        for start, end in _runs(days):
            self.result.rows_fetched += self._sync(Mode.BACKFILL, start, end)
        if gone:
            # a day the share no longer has: a backfill reads nothing for it, so nothing would replace it
            remove_days(self.pipeline, self.spec, gone)


def _as_date(value: Any) -> Optional[date]:
    return value.date() if isinstance(value, datetime) else value


def _runs(days: list[date]) -> Iterator[tuple[date, date]]:
    """Consecutive days as [first, last + 1) ranges: one backfill per run of days."""
    start = prev = None
    for d in days:
        if prev is not None and d == prev + timedelta(days=1):
            prev = d
            continue
        if start is not None:
            yield start, prev + timedelta(days=1)  # type: ignore[operator]
        start = prev = d
    if start is not None:
        yield start, prev + timedelta(days=1)  # type: ignore[operator]


def reconcile(
    reader: ShareReader,
    specs: Sequence[TableSpec],
    target: Target,
    dataset: str,
    profile: str,
    dry_run: bool = False,
    pipelines_dir: Optional[str] = None,
    on_result: Optional[Callable[[ReconcileResult], None]] = None,
) -> list[ReconcileResult]:
    """Reconcile tables one after another; a failing table does not stop the others."""
    results = []
    for spec in specs:
        res = reconcile_table(reader, spec, target, dataset, profile, dry_run, pipelines_dir)
        results.append(res)
        if on_result:
            on_result(res)
    return results
