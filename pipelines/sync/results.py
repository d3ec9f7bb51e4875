"""What a table run did (`TableResult`), the run modes, and the run's row in the run history."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Callable, Optional

import dlt

from learnsync.destinations import Target
from learnsync.catalog.tables import Strategy, TableSpec
from learnsync.catalog.layout import DAY
from learnsync.pipelines.stages import Stages
from learnsync.pipelines.sync.failures import SET_ASIDE
from learnsync.pipelines.sync.pipeline import destination_name
from learnsync.pipelines.values import ValueCounts

log = logging.getLogger("learnsync.sync")


class Mode(str, Enum):
    """What a table run does with the destination and the stored cursor."""

    INCREMENTAL = "incremental"  # from the stored cursor minus the lookback; moves the cursor
    BACKFILL = "backfill"  # exactly [start, end): merges/replaces that range; never moves the cursor
    FULL_REFRESH = "full_refresh"  # everything, swapped in whole; the cursor restarts from what was read

    def __str__(self) -> str:  # in task run names and messages: "incremental", not "Mode.INCREMENTAL"
        return self.value


@dataclass
class TableResult:
    """What one table's sync did."""

    table: str
    strategy: str
    rows: int = 0
    seconds: float = 0.0
    windows: int = 0
    old_cursor: Any = None
    new_cursor: Any = None
    error: Optional[str] = None
    exception: Optional[BaseException] = field(default=None, repr=False, compare=False)
    comments: int = 0  # table/column comments (re)written in the destination
    indexes: int = 0  # primary keys and join indexes added in the destination
    interrupted: bool = False  # asked to stop: the windows committed so far stay, the rest waits for a rerun
    started: bool = True  # False: asked to stop before this table began
    rows_new: int = 0
    """Of `rows`, those past the cursor stored before the run (new or changed since the previous run)."""
    rows_reread: int = 0
    """Of `rows`, those read again: in the lookback, at or behind the stored cursor (all of a cursorless table)."""
    queries: int = 0
    """Queries sent to Snowflake for this table (the session's QUERY_TAG names the table; `cost.QueryStats`)."""
    snowflake_seconds: float = 0.0
    """Seconds spent inside the connector's `cursor.execute()` for those queries (`cost.QueryStats`)."""
    started_at: Optional[datetime] = None  # UTC
    planned_rows: Optional[int] = None
    """Rows the run expects to read (counted in Snowflake when it planned its first window; None: not known)."""
    planned_windows: Optional[int] = None
    """Windows the run expects: planned_rows over the rows per window, at least the windows done."""
    unchanged: bool = False
    """The lookback comparison found nothing new or changed since the stored cursor: nothing was read or loaded."""
    stages: Stages = field(default_factory=Stages, repr=False, compare=False)
    """Seconds per stage of the run (`pipelines.stages`; logged at INFO, `learnsync sync -v`)."""
    set_aside: Optional[str] = None
    """A load left by earlier runs that failed SET_ASIDE_AFTER runs in a row the same way, set aside by this run
    (its error and rows, one line; its rows are read from the share again); None when nothing was."""
    days_removed: int = 0
    """Days of an event table's lookback removed from the destination: the share no longer has any of their rows."""
    values: ValueCounts = field(default_factory=ValueCounts)
    """NUL characters removed and rows skipped for a NULL key part (`pipelines.values`)."""

    @property
    def ok(self) -> bool:
        return self.error is None

    def stopped_line(self) -> str:
        """What a stopped run left of this table, as one line (an interrupted or a not started table)."""
        if not self.started:
            return f"{self.table} not started; rerun to sync it"
        if not self.rows and self.new_cursor == self.old_cursor:
            return f"{self.table} interrupted: nothing committed in this run (cursor {self.old_cursor}); rerun to resume"
        return (f"{self.table} interrupted: committed through {self.new_cursor}, {self.rows:,} rows; rerun to resume")


StopCheck = Callable[[], bool]
"""Asked after every committed window and before every table: True stops the run there. The window in flight is
always finished and committed first (a run stops between windows, never inside one)."""


def split_rows(pipeline: dlt.Pipeline, spec: TableSpec, result: TableResult, mode: Mode) -> None:
    """Split `rows` into new (past the cursor stored before the run) and re-read ones, counting the rows past the
    old cursor in the destination (one COUNT query; none when nothing was loaded). A table without a cursor is
    re-read whole, and so is a backfill's range (behind the cursor by definition); a first run (no stored cursor)
    reads only new rows. A failure only leaves the split at 0 new / all re-read."""
    result.rows_new, result.rows_reread = 0, result.rows
    if not result.rows or spec.cursor is None or mode is Mode.BACKFILL:
        return
    if result.old_cursor is None:
        result.rows_new, result.rows_reread = result.rows, 0
        return
    try:
        with pipeline.sql_client() as client:
            table = client.make_qualified_table_name(destination_name(pipeline, spec.dest_name))
            # an event table's stored cursor is a day, re-read whole: its rows are new only past that day
            past_cursor = DAY if spec.strategy is Strategy.EVENTS else spec.dest(spec.cursor)
            column = client.escape_column_name(destination_name(pipeline, past_cursor))
            counted = client.execute_sql(f"SELECT COUNT(*) FROM {table} WHERE {column} > %s", result.old_cursor)
            assert counted, "a SELECT COUNT(*) returns one row"
            past = int(counted[0][0])
    except Exception as exc:  # noqa: BLE001 - a report only: the rows and cursor are committed
        log.debug("Table %s: could not count new rows: %s", spec.name, exc)
        return
    result.rows_new = min(past, result.rows)
    result.rows_reread = result.rows - result.rows_new


def record_run(target: Target, dataset: str, result: TableResult, run_id: str, mode: Mode,
            pipelines_dir: Optional[str]) -> None:
    from learnsync.pipelines import runs as run_history

    run_history.record(target, dataset, history_row(result, run_id, mode), pipelines_dir)


def history_row(result: TableResult, run_id: str, mode: str) -> Any:
    """A table run as a row of the run history (`runs.RunRecord`)."""
    from learnsync.pipelines import runs as run_history

    outcome = ("failed" if not result.ok else "interrupted" if result.interrupted
               else SET_ASIDE if result.set_aside else "ok")
    after = result.new_cursor if result.new_cursor is not None else result.old_cursor
    return run_history.RunRecord(
        table_name=result.table, run_id=run_id, mode=str(mode),
        started_at=result.started_at or datetime.now(timezone.utc), seconds=result.seconds, rows=result.rows,
        rows_new=result.rows_new, rows_reread=result.rows_reread,
        cursor_before=run_history.cursor_text(result.old_cursor), cursor_after=run_history.cursor_text(after),
        outcome=outcome, error=run_history.one_line(result.error or result.set_aside), queries=result.queries,
        snowflake_seconds=result.snowflake_seconds,
    )
