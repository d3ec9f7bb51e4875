"""The dlt source of one shared table: its rows (one window per pipeline run) and its child tables."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from typing import Any, Iterator, Optional, cast

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.extract.items_transform import MapItem
from dlt.common.schema.typing import TDeleteInsertStrategyDict
from dlt.extract.resource import DltResource

from learnsync.catalog.layout import DAY, child_description, child_name, dlt_columns
from learnsync.catalog.tables import Strategy, TableSpec
from learnsync.pipelines.source.children import ChildColumns, child_hints, child_reference, key_column_hints, unnest
from learnsync.pipelines.source.arrow import prepare_batch
from learnsync.pipelines.source.types import empty_batch, table_hints
from learnsync.pipelines.stages import Stages
from learnsync.pipelines.values import ValueCounts

MERGE: TDeleteInsertStrategyDict = {"disposition": "merge", "strategy": "delete-insert"}
# the reader's SQL already keeps one row per key in a window (QUALIFY), so dlt need not dedup staging again
MERGE_DEDUPLICATED: TDeleteInsertStrategyDict = {**MERGE, "deduplicated": True}
APPENDED = "x-learnsync-appended"
"""Resource state: the table holds windows appended by a first load, not yet checked for keys loaded twice
(`pipelines.sync.appended`)."""


def cursor_column(spec: TableSpec) -> Optional[str]:
    """Destination column the dlt incremental tracks: the cursor, or the event day for event tables."""
    if spec.strategy is Strategy.EVENTS:
        return DAY
    return spec.dest(spec.cursor) if spec.cursor and spec.strategy is Strategy.MERGE else None


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


def as_bound(spec: TableSpec, value: Any) -> Any:
    """An incremental value (a datetime, or a date for a DATE cursor and an event table's day) as a SQL bound on
    the Snowflake cursor column: a date becomes its midnight on a timestamp cursor; an aware datetime becomes
    naive UTC wall-clock time on a TIMESTAMP_NTZ cursor. None stays None."""
    col = spec.cursor_column
    if value is None or col is None:
        return value
    if col.sf_type.startswith("TIMESTAMP") and isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time())
    if isinstance(value, datetime) and value.tzinfo is not None and col.sf_type == "TIMESTAMP_NTZ":
        return value.replace(tzinfo=None)  # dlt hands back UTC; the NTZ column holds UTC wall-clock time
    return value


@dlt.source(name="learnsync", max_table_nesting=0, root_key=False)
def share_table(
    spec: Any, stream: Any, incremental: Any = None, replace: bool = False, stored: Any = None,
    versioned: Any = None, append: bool = False,
) -> list[DltResource]:
    """One shared table and its child tables. `stream` yields the next window on every run.

    With `replace`, one run reads every window and replaces the tables whole (a full refresh); dlt resets the
    incremental state of a replaced resource, so the cursor restarts from what this run reads. `stored` is the
    table's dlt schema as stored (None on a first run): child tables keep the key -> column names it records.

    A table kept with history (`spec.history`) is never replaced: `versioned` is its parent's scd2 write
    disposition (`pipelines.history.scd2_disposition`, which the caller writes for its destination and run), and
    its child rows are merged by their parent version (`pipelines.history`). Raises ValueError when a history
    table comes without `versioned`.
    """
    table: TableSpec = spec
    windows: Any = stream  # a WindowStream, or any object with its take()/done/limit
    disposition: Any = {Strategy.MERGE: MERGE_DEDUPLICATED, Strategy.EVENTS: MERGE, Strategy.REPLACE: "replace"}[
        table.strategy
    ]
    if replace:
        disposition = "replace"
    if append and (replace or table.history or table.strategy is not Strategy.MERGE):
        raise ValueError(f"table {table.name}: only an incremental load of a keyed table without history appends")
    if append:
        disposition = "append"
    if table.history:
        if versioned is None:
            raise ValueError(f"table {table.name} keeps history: pass its scd2 write disposition")
        disposition = versioned
    hints = table_hints(table)
    if table.strategy is Strategy.EVENTS:
        hints[DAY]["merge_key"] = True
    tracked = cursor_column(table) if incremental is not None else None
    shared: Optional[Stages] = getattr(windows, "stages", None)
    stages = shared if shared is not None else Stages()
    counts: Optional[ValueCounts] = getattr(windows, "values", None)

    def rows(cursor: Optional[dlt.sources.incremental[Any]] = incremental) -> Iterator[pa.Table]:
        if append:  # committed with the window's rows: a run killed after it leaves the check to the next run
            dlt.current.resource_state()[APPENDED] = True
        empty = True
        while True:
            if cursor is None:
                batches = windows.take(None, True)
            else:
                first = cursor.start_value
                begin = getattr(windows, "start_at", None)  # the lookback read only from where it changed
                if begin is not None and (first is None or begin > first):
                    first = begin
                start = as_bound(table, first)
                end = as_bound(table, cursor.end_value)
                batches = windows.take(start, nulls=cursor.start_value is None, end=end)
            for item in _items(table, batches, counts, stages):
                empty = False
                yield _hide_future(item, tracked, table.dest(table.cursor or ""), windows.limit) if tracked else item
            if not replace or windows.done:
                break
        if empty:
            # dlt creates a table only from data; a typed empty batch creates it with every column
            yield empty_batch(table)

    # dlt types resource(function) as a ResourceFactory; unless standalone=True it returns the DltResource itself
    parent = cast(DltResource, dlt.resource(
        rows,
        name=table.dest_name,
        write_disposition=disposition,
        # a history table holds many rows per key: its versions are told apart by the row fingerprint
        primary_key=list(table.key_dest) if table.strategy is Strategy.MERGE and not table.history else None,
        columns=dlt_columns(hints),
        table_format=None,
    ))
    parent.apply_hints(additional_table_hints=parent_table_hints(table))
    if tracked:
        parent.add_step(_RestoreCursor(tracked))
    resources = [parent]
    tables = stored.tables if stored is not None else {}
    # a history table's child rows are merged by their parent version (never replaced: they are history too);
    # a version's elements never change, so no tombstones are needed for an array that emptied
    merged = table.strategy is Strategy.MERGE and (table.history or not replace) and not append
    for col in table.json_columns:
        name = child_name(table, col)
        columns = ChildColumns.stored(table, tables.get(name, {}).get("columns", {}))
        resources.append(
            dlt.transformer(
                _children(table, col, merged and not table.history, columns, stages),
                data_from=parent,
                name=name,
                # dlt.transformer hands this to dlt.resource, which takes a merge strategy dict; transformer's
                # annotation names only the plain dispositions
                write_disposition=cast(Any, MERGE if merged else "append" if append else "replace"),
                columns=dlt_columns(child_hints(table)),
                references=child_reference(table),
            ).apply_hints(additional_table_hints={"description": child_description(table, col)})
        )
    return resources


ITEM_ROWS = 50_000
"""Rows of one item handed to dlt: a window's batches are gathered into items of it, which bounds the copies
dlt's Arrow incremental makes of an item (a full window's: 2 x 60 MB at 1M rows with arrays, measured with memray)
while the per-item work (dlt's extract, the child unnesting) still runs on tens of thousands of rows at once."""


def _items(spec: TableSpec, batches: Iterator[pa.Table], counts: Optional[ValueCounts],
           stages: Stages) -> Iterator[pa.Table]:
    """A window's batches, each cast to the table's Arrow schema (each result chunk has its own shape: per-chunk
    integer widths), gathered into items of ITEM_ROWS rows (no copy: chunked columns) as they arrive. The per-item
    work of dlt's extract and of the child unnesting then runs on ITEM_ROWS rows, not once per chunk (1,000-row
    chunks made unnesting 40 % of a full sync), and memory follows the item, not the window."""
    pending: list[pa.Table] = []
    rows = 0
    for batch in batches:
        if not batch.num_rows:
            continue
        with stages.timed("arrow"):
            pending.append(prepare_batch(spec, batch, counts))
        rows += pending[-1].num_rows
        if rows < ITEM_ROWS:
            continue
        gathered = pa.concat_tables(pending)
        full = rows - rows % ITEM_ROWS
        for start in range(0, full, ITEM_ROWS):
            yield gathered.slice(start, ITEM_ROWS)
        pending, rows = ([gathered.slice(full)], rows - full) if rows > full else ([], 0)
        gathered = None  # type: ignore[assignment]  # only the tail's slice stays alive
    if pending:
        yield pa.concat_tables(pending)

FUTURE = "__ls_cursor_exact"
"""Column carrying a batch's exact cursor values past the dlt incremental (see `_hide_future`)."""


def _hide_future(batch: pa.Table, column: str, cursor: str, limit: Any) -> pa.Table:
    """The batch as the dlt incremental sees it: in rows whose `cursor` lies past `limit` (`9999-12-31` as
    "never"), the tracked `column` (the cursor itself, or an event table's day) reads as missing, which the incremental loads (`on_cursor_value_missing="include"`) without moving the stored cursor
    to them. The exact values travel beside and are put back right after the incremental (`_RestoreCursor`).

    dlt's Arrow incremental takes only `max`/`min` as `last_value_func` (dlt/extract/incremental/transform.py),
    so a cursor that skips some values cannot be expressed there."""
    if limit is None:
        return batch
    beyond = pc.greater(batch[cursor], pa.scalar(limit, batch[cursor].type))
    if not pc.any(beyond).as_py():
        return batch
    values = batch[column]
    hidden = pc.if_else(beyond, pa.scalar(None, values.type), values)
    i = batch.schema.get_field_index(column)
    return batch.set_column(i, batch.schema.field(i), hidden).append_column(FUTURE, values)


class _RestoreCursor(MapItem):
    """Puts the exact cursor values back after the incremental (`_hide_future`). dlt orders pipe steps by
    `placement_affinity` (dlt/extract/pipe.py `append_step`): the incremental has 1, `add_limit` 1.1; this
    step sits between them, so the destination receives every value as read."""

    placement_affinity = 1.05

    def __init__(self, column: str) -> None:
        def restore(batch: Any) -> Any:
            if not isinstance(batch, pa.Table) or FUTURE not in batch.column_names:
                return batch
            i = batch.schema.get_field_index(column)
            return batch.set_column(i, batch.schema.field(i), batch[FUTURE]).drop_columns([FUTURE])

        super().__init__(restore)


CURSOR_HINT = "x-learnsync-cursor"
"""Table hint: the source cursor column (dbt freshness reads it from the stored schema)."""


def parent_table_hints(spec: TableSpec) -> dict[str, Any]:
    """Table-level dlt hints of a parent table: the vendor's description and the cursor column."""
    hints: dict[str, Any] = {}
    if spec.description:
        hints["description"] = spec.description
    if spec.cursor:
        hints[CURSOR_HINT] = spec.dest(spec.cursor)
    return hints


def _children(spec: TableSpec, col: Any, tombstones: bool, columns: ChildColumns, stages: Stages) -> Any:

    def children(batch: pa.Table) -> Iterator[Any]:
        with stages.timed("children"):
            rows = unnest(spec, col, batch, tombstones, columns)
        hints = key_column_hints(columns, rows)
        yield dlt.mark.with_hints(rows, dlt.mark.make_hints(columns=dlt_columns(hints))) if hints else rows

    return children
