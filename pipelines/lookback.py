"""The lookback of an incremental run, read only where it changed.

An incremental run reads again the rows of its lookback (the stored cursor minus `TableSpec.lookback`), so late
rows, ties and in-place updates of recent rows are not missed. On a dense table that is a quarter of the data
every hour. Instead, both sides summarize the range from the lookback's start on in buckets: hours behind the
stored cursor (days for event tables and DATE cursors), and one bucket for everything past it; per bucket a row
count and the MD5 of the rows' fingerprints (`_learnsync_hash`, which Snowflake computed when the row was read,
the same machinery as reconcile's, `catalog.fingerprint`). The run then reads from the oldest bucket that
differs, and not at all when none does.

Exactness: a bucket the destination holds exactly as the share does needs no read (the merge of a re-read is
idempotent, so skipping it changes nothing). A bucket that differs for a reason a sync cannot fix (a key the
share holds twice, a row deleted from the share) is read again on every run while it is in the lookback: what
every run did before, never less.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Optional, Sequence

from learnsync.catalog.tables import DELETED_AT, VALID_TO, Strategy, TableSpec
from learnsync.catalog.fingerprint import ROW_HASH, SNOWFLAKE, Dialect
from learnsync.pipelines.snowflake import sql
from learnsync.pipelines.snowflake.reader import ShareReader
from learnsync.pipelines.source.resource import as_bound
from learnsync.catalog.layout import DAY

STATEMENT_BYTES = 256 * 1024
"""The most SQL text one statement of a check over many tables holds: Snowflake advises staying under 1 MB a
statement ("query size limits" page; larger ones cannot be retried), and an `auto` share of 300 tables of 30
columns needs more than that."""
HOUR_US = 3_600_000_000
"""Bucket width of a timestamp cursor, in microseconds."""
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
NEW = -1
"""The bucket of the rows past the stored cursor."""

Buckets = dict[int, tuple[int, int]]


@dataclass
class LookbackCheck:
    """What comparing the lookback found. `start` is where the run reads from, in the stored cursor's terms (a
    datetime or a date); None when nothing changed (the run reads nothing)."""

    start: Any
    buckets: int
    differing: int
    gone: tuple[date, ...] = ()
    """Days of an event table's lookback that the destination holds and the share no longer has: no read
    replaces them (a day is replaced by the rows read for it), so the run removes them (`sync.remove_days`)."""

    @property
    def unchanged(self) -> bool:
        return self.start is None


def applies(spec: TableSpec) -> bool:
    """Tables whose lookback is compared: merged tables with a date or timestamp cursor, and event tables."""
    col = spec.cursor_column
    if spec.strategy is Strategy.EVENTS:
        return col is not None
    return (spec.strategy is Strategy.MERGE and col is not None
            and (col.sf_type == "DATE" or col.sf_type.startswith("TIMESTAMP")))


def _by_day(spec: TableSpec) -> bool:
    return spec.strategy is Strategy.EVENTS or (spec.cursor_column is not None and spec.cursor_column.sf_type == "DATE")


def _position(spec: TableSpec, stored: Any) -> int:
    """The stored cursor as an integer: days since 1970 (day buckets) or epoch microseconds (naive is UTC)."""
    if _by_day(spec):
        day = stored.date() if isinstance(stored, datetime) else stored
        return (day - date(1970, 1, 1)).days
    value = stored if stored.tzinfo is not None else stored.replace(tzinfo=timezone.utc)
    return (value - EPOCH) // timedelta(microseconds=1)


def _span(spec: TableSpec) -> int:
    """The lookback in bucket units (at least 0)."""
    if _by_day(spec):
        return -(-int(spec.lookback.total_seconds()) // 86400)  # whole days, as the dlt incremental's lag
    return int(spec.lookback / timedelta(microseconds=1))


def _summary(d: Dialect, value: str, hash_expr: str, select: Callable[[str, str], str], at: int, lo: int,
             unit: int) -> str:
    """SELECT bucket, rows, fingerprint over the rows whose `value` (an integer expression) is >= lo."""
    behind = f"{at} - {value}" if unit == 1 else d.int_div(f"{at} - {value}", unit)
    bucket = f"CASE WHEN {value} > {at} THEN {NEW} ELSE {behind} END"
    rows = select(f"{bucket} AS B, {hash_expr} AS H", f"{value} >= {lo}")
    return f"SELECT B, COUNT(*), {d.fingerprint('H')} FROM ({rows}) s GROUP BY B"


def share_summary(reader: ShareReader, spec: TableSpec, stored: Any, tag: str = "") -> tuple[str, dict[str, Any]]:
    """(SELECT B, rows, fingerprint per bucket, its parameters) of the share's rows of one table in the lookback of
    its `stored` cursor (see `compare`); `tag` makes the parameter names unique in a UNION ALL of tables. The
    salt of a hashed table is bound by `ShareReader.query` (pass the table's spec)."""
    by_day, unit, at, lo = _frame(spec, stored)
    # the raw cursor predicate lets Snowflake prune micro-partitions (a day wider than the exact one)
    cursor = sql.quote(spec.cursor or "")
    value = SNOWFLAKE.days(sql.day(spec) if spec.strategy is Strategy.EVENTS else cursor) if by_day \
        else SNOWFLAKE.micros(cursor)
    pruned = stored - timedelta(days=_span(spec) + 1) if by_day else stored - spec.lookback - timedelta(days=1)

    def rows(columns: str, where: str) -> str:
        keyed = f" AND {sql.key_present(spec)}" if spec.strategy is Strategy.MERGE else ""  # as loaded
        return (f"SELECT {columns} FROM {reader.fqn(spec.name)} WHERE {cursor} >= %(pruned{tag})s AND {where}"
                f"{keyed}")

    return _summary(SNOWFLAKE, value, sql.row_hash(spec), rows, at, lo, unit), {f"pruned{tag}": as_bound(spec, pruned)}


def destination_summary(spec: TableSpec, stored: Any, client: Any, dialect: Dialect, name: Callable[[str], str]) -> str:
    """SELECT B, rows, fingerprint per bucket of the destination's loaded rows of one table (current versions of
    a history table, rows not marked deleted), through dlt's SQL `client` in its engine's `dialect`; `name` gives
    dlt's destination name of a table or column."""
    by_day, unit, at, lo = _frame(spec, stored)
    table = client.make_qualified_table_name(name(spec.dest_name))
    cursor = client.escape_column_name(name(DAY if spec.strategy is Strategy.EVENTS else spec.dest(spec.cursor or "")))
    value = dialect.days(cursor) if by_day else dialect.micros(cursor)
    live = ""
    if spec.history:
        live = f" AND {client.escape_column_name(name(VALID_TO))} IS NULL"
    elif spec.soft_delete:
        live = f" AND {client.escape_column_name(name(DELETED_AT))} IS NULL"

    def rows(columns: str, where: str) -> str:
        return f"SELECT {columns} FROM {table} WHERE {where}{live}"

    return _summary(dialect, value, f"COALESCE({client.escape_column_name(ROW_HASH)}, '')", rows, at, lo, unit)


def compare(
    reader: ShareReader, spec: TableSpec, client: Any, dialect: Dialect, name: Callable[[str], str], stored: Any,
) -> LookbackCheck:
    """Compare the lookback of one table from its `stored` cursor (a datetime, or a date for event tables and DATE
    cursors) between the share (one query, through `reader`) and the destination (one query, through dlt's SQL
    `client` with its engine's `dialect`; `name` gives dlt's destination name of a table or column). Raises what
    the drivers raise (the caller falls back to reading the whole lookback)."""
    text, params = share_summary(reader, spec, stored)
    src = buckets(reader.query(text, params, spec))
    dst = buckets(client.execute_sql(destination_summary(spec, stored, client, dialect, name)) or [])
    return decide(spec, stored, src, dst)


def decide(spec: TableSpec, stored: Any, src: Buckets, dst: Buckets) -> LookbackCheck:
    """Where to read from, given both sides' buckets of the lookback of `stored`: the start of the oldest bucket
    that differs (never before the lookback's start); the stored cursor when only rows past it differ (the next
    day for day buckets); None when no bucket differs."""
    by_day = _by_day(spec)
    differ = sorted(b for b in src.keys() | dst.keys() if src.get(b) != dst.get(b))
    behind = [b for b in differ if b != NEW]
    if not differ:
        start = None
    elif behind:
        # bucket b holds (b + 1) hours .. b hours behind the cursor, or the day b days before it
        floor = _shift(spec, stored, 0) - (timedelta(days=_span(spec)) if by_day else spec.lookback)
        start = max(_shift(spec, stored, max(behind) + (0 if by_day else 1)), floor)
    else:
        start = _shift(spec, stored, -1) if by_day else stored
    gone = tuple(sorted(_shift(spec, stored, b) for b in behind if b not in src)) \
        if spec.strategy is Strategy.EVENTS else ()
    return LookbackCheck(start, len(src.keys() | dst.keys()), len(differ), gone)


def _frame(spec: TableSpec, stored: Any) -> tuple[bool, int, int, int]:
    """(day buckets?, bucket width, the stored cursor as an integer, the lookback's start as one)."""
    by_day = _by_day(spec)
    at = _position(spec, stored)
    return by_day, 1 if by_day else HOUR_US, at, at - _span(spec)


def parse_cursor(spec: TableSpec, text: Optional[str]) -> Any:
    """A stored cursor written as text by the run history (`runs.cursor_text`), back as the value dlt keeps: a
    date for day buckets, else a datetime (naive as written: a TIMESTAMP_NTZ cursor); None for None or text that
    is not one."""
    if not text:
        return None
    try:
        if _by_day(spec):
            return date.fromisoformat(text[:10])
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _shift(spec: TableSpec, stored: Any, buckets: int) -> Any:
    """The stored cursor moved `buckets` buckets back (negative: forward); a day for day buckets."""
    if _by_day(spec):
        day = stored.date() if isinstance(stored, datetime) else stored
        return day - timedelta(days=buckets)
    return stored - timedelta(microseconds=buckets * HOUR_US)


def buckets(found: Any) -> Buckets:
    """{bucket: (rows, fingerprint)} of a summary query's rows."""
    return {int(b): (int(n), int(fp)) for b, n, fp in found}


def batched(texts: Sequence[str], budget: Optional[int] = None) -> list[list[int]]:
    """The indexes of `texts` in consecutive groups whose texts together stay within `budget` bytes (default
    STATEMENT_BYTES; a text over it goes alone): the statements of a check over many tables."""
    budget = STATEMENT_BYTES if budget is None else budget
    groups: list[list[int]] = []
    size = budget + 1
    for i, text in enumerate(texts):
        length = len(text.encode()) + len(" UNION ALL ")
        if size + length > budget:
            groups.append([])
            size = 0
        groups[-1].append(i)
        size += length
    return groups
