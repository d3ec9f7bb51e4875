"""The dlt source of one shared table: its rows (one window per pipeline run) and its child tables."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from typing import Any, Iterator, Optional

import dlt
import pyarrow as pa
from dlt.extract.resource import DltResource

from pipelines.catalog import DAY_COLUMN, Strategy, TableSpec, snake_case
from pipelines.children import child_description, child_hints, child_name, child_reference, unnest
from pipelines.reader import WindowStream
from pipelines.types import empty_batch, prepare_batch, table_hints

MERGE = {"disposition": "merge", "strategy": "delete-insert"}
# the reader's SQL already keeps one row per key in a window (QUALIFY), so dlt need not dedup staging again
MERGE_DEDUPLICATED = {**MERGE, "deduplicated": True}


def cursor_column(spec: TableSpec) -> Optional[str]:
    """Destination column the dlt incremental tracks: the cursor, or the event day for event tables."""
    if spec.strategy is Strategy.EVENTS:
        return snake_case(DAY_COLUMN)
    return snake_case(spec.cursor) if spec.cursor and spec.strategy is Strategy.MERGE else None


def make_incremental(
    spec: TableSpec, start: Optional[Any] = None, end: Optional[Any] = None
) -> Optional[dlt.sources.incremental[Any]]:
    """The table's cursor. With `end` set it is a bounded backfill, which dlt never writes to state."""
    path = cursor_column(spec)
    if path is None:
        return None
    common: dict[str, Any] = dict(
        initial_value=start,
        end_value=end,
        on_cursor_value_missing="include",  # NULL cursors load on the first run, never silently dropped
        primary_key=(),  # the lookback re-reads ties and late rows; the merge makes that idempotent
    )
    if spec.strategy is Strategy.EVENTS:
        # the cursor is the event day: bounds are whole days, and lag on a date cursor counts days
        common["initial_value"], common["end_value"] = _day(start, up=False), _day(end, up=True)
        days = math.ceil(spec.lookback.total_seconds() / 86400)
        return dlt.sources.incremental[date](path, lag=days or None, **common)
    col = spec.cursor_column
    lag: Optional[float] = None
    if col is not None and col.sf_type.startswith("TIMESTAMP"):
        lag = spec.lookback.total_seconds()
    elif col is not None and col.sf_type == "DATE":
        lag = math.ceil(spec.lookback.total_seconds() / 86400)
    return dlt.sources.incremental(path, lag=lag or None, **common)


def _day(value: Any, up: bool) -> Optional[date]:
    """A bound as a day; an end inside a day takes that whole day (events are replaced by the day)."""
    if value is None or not isinstance(value, datetime):
        return value
    day = value.date()
    return day + timedelta(days=1) if up and value != datetime.combine(day, time(), value.tzinfo) else day


def _as_bound(spec: TableSpec, value: Any) -> Any:
    """An incremental value as a SQL bound on the Snowflake cursor column."""
    col = spec.cursor_column
    if value is None or col is None:
        return value
    if col.sf_type.startswith("TIMESTAMP") and isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time())
    if isinstance(value, datetime) and value.tzinfo is not None and col.sf_type == "TIMESTAMP_NTZ":
        return value.replace(tzinfo=None)  # dlt hands back UTC; the NTZ column holds UTC wall-clock time
    return value


@dlt.source(name="learnsync", max_table_nesting=0, root_key=False)
def share_table(spec: Any, stream: Any, incremental: Any = None, replace: bool = False) -> list[DltResource]:
    """One shared table and its child tables. `stream` yields the next window on every run.

    With `replace`, one run reads every window and replaces the tables whole (a full refresh); dlt resets the
    incremental state of a replaced resource, so the cursor restarts from what this run reads.
    """
    table: TableSpec = spec
    windows: WindowStream = stream
    disposition: Any = {Strategy.MERGE: MERGE_DEDUPLICATED, Strategy.EVENTS: MERGE, Strategy.REPLACE: "replace"}[
        table.strategy
    ]
    if replace:
        disposition = "replace"
    hints = table_hints(table)
    if table.strategy is Strategy.EVENTS:
        hints[snake_case(DAY_COLUMN)]["merge_key"] = True

    def rows(cursor: Optional[dlt.sources.incremental[Any]] = incremental) -> Iterator[pa.Table]:
        empty = True
        while True:
            if cursor is None:
                batches = windows.take(None, True)
            else:
                start = _as_bound(table, cursor.start_value)
                end = _as_bound(table, cursor.end_value)
                batches = windows.take(start, nulls=cursor.start_value is None, end=end)
            for batch in batches:
                if batch.num_rows:
                    empty = False
                    yield prepare_batch(table, batch)
            if not replace or windows.done:
                break
        if empty:
            # dlt creates a table only from data; a typed empty batch creates it with every column
            yield empty_batch(table)

    parent = dlt.resource(
        rows,
        name=table.dest_name,
        write_disposition=disposition,
        primary_key=[snake_case(k) for k in table.primary_key] if table.strategy is Strategy.MERGE else None,
        columns=hints,
        table_format=None,
    )
    parent.apply_hints(additional_table_hints=parent_table_hints(table))
    resources = [parent]
    for col in table.json_columns:
        resources.append(
            dlt.transformer(
                _children(table, col, tombstones=table.strategy is Strategy.MERGE and not replace),
                data_from=parent,
                name=child_name(table, col),
                write_disposition=MERGE if table.strategy is Strategy.MERGE and not replace else "replace",
                columns=child_hints(table),
                references=child_reference(table),
            ).apply_hints(additional_table_hints={"description": child_description(table, col)})
        )
    return resources


CURSOR_HINT = "x-learnsync-cursor"
"""Table hint: the source cursor column (dbt freshness reads it from the stored schema)."""


def parent_table_hints(spec: TableSpec) -> dict[str, Any]:
    """Table-level dlt hints of a parent table: the vendor's description and the cursor column."""
    hints: dict[str, Any] = {}
    if spec.description:
        hints["description"] = spec.description
    if spec.cursor:
        hints[CURSOR_HINT] = snake_case(spec.cursor)
    return hints


def _children(spec: TableSpec, col: Any, tombstones: bool) -> Any:

    def children(batch: pa.Table) -> Iterator[pa.Table]:
        yield unnest(spec, col, batch, tombstones)

    return children
