"""What the destination holds per table and how fresh it is: rows, stored cursor, lag behind now, state, last
successful sync and last error (from the run history, `run_history.RUNS_TABLE`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from enum import Enum
from typing import Any, Callable, Optional, Sequence

from learnsync.destinations import Target
from learnsync.pipelines import runs as run_history
from learnsync.catalog.tables import VALID_TO, TableSpec
from learnsync.pipelines.sync import SET_ASIDE, make_pipeline, source_name, stored_cursor
from learnsync.settings import table_settings


class State(str, Enum):
    """A table's state in `learnsync status`."""

    OK = "ok"
    STALE = "stale"  # lag past the table's max_lag_hours
    FAILED = "failed"  # its latest recorded run failed
    SET_ASIDE = "set aside"  # its latest run set aside a load that kept failing the same way, then went on
    NEVER = "never synced"


@dataclass
class TableStatus:
    """One table in `learnsync status`. Times are UTC; `lag_seconds` is seconds from the newest cursor stored in
    the destination (for a table without a cursor: from its last successful sync) to now."""

    table: str
    state: State = State.NEVER
    rows: Optional[int] = None
    cursor: Any = None
    lag_seconds: Optional[float] = None
    max_lag_hours: Optional[float] = None
    last_load: Optional[datetime] = None
    """When dlt last committed a load of the table (`_dlt_loads`)."""
    last_success: Optional[datetime] = None
    """When the latest successful recorded run ended."""
    last_error: Optional[str] = None
    last_error_at: Optional[datetime] = None
    last_outcome: Optional[str] = None
    last_reconcile: Optional[datetime] = None
    """When the latest reconcile (or dry run) of the table ended; None: never reconciled."""
    last_reconcile_drift: Optional[int] = None
    """Rows that reconcile updated, inserted or deleted (a dry run: found differing); None when it failed."""
    last_reconcile_error: Optional[str] = None
    last_reconcile_dry_run: bool = False
    """The latest reconcile was a dry run: `last_reconcile_drift` rows were found differing and left as they are."""

    def as_json(self) -> dict[str, Any]:
        """JSON-ready: numbers as numbers (lag in seconds), times as ISO 8601 UTC text, null where nothing is known."""
        def iso(value: Optional[datetime]) -> Optional[str]:
            return _utc(value).isoformat() if value is not None else None

        return {
            "table": self.table, "state": self.state.value, "rows": self.rows,
            "cursor": run_history.cursor_text(self.cursor),
            "lag_seconds": round(self.lag_seconds, 1) if self.lag_seconds is not None else None,
            "max_lag_hours": self.max_lag_hours, "last_load": iso(self.last_load),
            "last_success": iso(self.last_success), "last_outcome": self.last_outcome,
            "last_error": self.last_error, "last_error_at": iso(self.last_error_at),
            "last_reconcile": iso(self.last_reconcile), "last_reconcile_drift": self.last_reconcile_drift,
            "last_reconcile_error": self.last_reconcile_error,
            "last_reconcile_dry_run": self.last_reconcile_dry_run,
        }


def table_status(
    specs: Sequence[TableSpec], target: Target, dataset: str, profile: str,
    now: Optional[Callable[[], datetime]] = None,
) -> list[TableStatus]:
    """Read each table's pipeline state from the destination, count its rows there (a table kept with history:
    its current versions), and read the run history;
    a table's `max_lag_hours` setting (`[sources.learnsync.tables.<TABLE>]`) makes a lag past it `stale`."""
    runs = latest_runs(target, dataset)
    at = (now or (lambda: datetime.now(timezone.utc)))()
    out = []
    for spec in specs:
        st = TableStatus(spec.name, max_lag_hours=_max_lag(spec.name))
        pipeline = make_pipeline(profile, spec, target, dataset, None)
        try:
            pipeline.sync_destination()
            st.cursor = stored_cursor(pipeline, spec)
            with pipeline.sql_client() as client:
                table = client.make_qualified_table_name(spec.dest_name)
                current = f" WHERE {client.escape_column_name(VALID_TO)} IS NULL" if spec.history else ""
                counted = client.execute_sql(f"SELECT COUNT(*) FROM {table}{current}")
                assert counted, "a SELECT COUNT(*) returns one row"
                st.rows = int(counted[0][0])
                loads = client.make_qualified_table_name("_dlt_loads")
                rows = client.execute_sql(
                    f"SELECT MAX(inserted_at) FROM {loads} WHERE schema_name = %s AND status = 0",
                    source_name(spec),
                )
                st.last_load = rows[0][0] if rows else None
        except Exception:  # noqa: BLE001 - a table never synced has no state, table or loads yet
            pass
        ok, failed = runs.get((spec.name, "sync", "ok")), runs.get((spec.name, "sync", "failed"))
        newest = max(runs_of(runs, spec.name, "sync"), key=lambda r: r.started_at, default=None)
        checked = max(runs_of(runs, spec.name, run_history.RECONCILE), key=lambda r: r.started_at, default=None)
        if checked is not None:
            st.last_reconcile = checked.ended_at
            st.last_reconcile_dry_run = "dry" in checked.mode
            if checked.outcome == "failed":
                st.last_reconcile_error = checked.error
            else:
                st.last_reconcile_drift = checked.changed
        st.last_outcome = newest.outcome if newest else None
        st.last_success = ok.ended_at if ok else None
        if failed is not None:
            st.last_error, st.last_error_at = failed.error, failed.ended_at
        newest_data = _instant(st.cursor) if st.cursor is not None else (st.last_success or st.last_load)
        if newest_data is not None:
            st.lag_seconds = max(0.0, (at - newest_data).total_seconds())
        if st.rows is None and newest is None:
            st.state = State.NEVER
        elif newest is not None and newest.outcome == "failed":
            st.state = State.FAILED
        elif newest is not None and newest.outcome == SET_ASIDE:
            st.state = State.SET_ASIDE
            st.last_error, st.last_error_at = newest.error, newest.ended_at
        elif st.max_lag_hours is not None and st.lag_seconds is not None and st.lag_seconds > st.max_lag_hours * 3600:
            st.state = State.STALE
        else:
            st.state = State.OK
        out.append(st)
    return out


def _max_lag(table: str) -> Optional[float]:
    """The table's max_lag_hours setting; zero or less is a LearnsyncError."""
    from learnsync.errors import LearnsyncError

    value = table_settings(table).max_lag_hours
    if value is not None and value <= 0:
        raise LearnsyncError(f"max_lag_hours of table {table} must be a positive number of hours, not {value}.")
    return value


def latest_runs(target: Target, dataset: str) -> dict[tuple[str, str, str], run_history.RunRecord]:
    """{(table, kind, outcome): its newest recorded run (`runs.latest`)}, {} without history."""
    try:
        return run_history.latest(target, dataset)
    except Exception:  # noqa: BLE001 - no history yet, or a destination without one: status still reports the rest
        return {}


def runs_of(runs: dict[tuple[str, str, str], run_history.RunRecord], table: str, kind: str
            ) -> list[run_history.RunRecord]:
    """The newest runs of `table` of one kind ("sync" or "reconcile"), one per outcome."""
    return [r for (t, k, _), r in runs.items() if t == table and k == kind]


def duration(seconds: Optional[float]) -> str:
    """Seconds as a short text: `45s`, `12m`, `5h 3m`, `339d 4h`; `-` for None."""
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def _instant(value: Any) -> Optional[datetime]:
    """A cursor value as a UTC instant: a TIMESTAMP_NTZ is UTC wall-clock time, a date its midnight UTC."""
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    return None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
