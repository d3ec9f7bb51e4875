"""Run history: one row per table run in `_learnsync_runs` in the destination dataset, written when the run ends
(also when it failed, best effort), read by `learnsync status` and `learnsync history`.

Kept in the destination, beside the data and dlt's own state, so any machine sees the same history.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timezone
from typing import Any, Optional

from learnsync.destinations import Target

log = logging.getLogger("learnsync.history")

RUNS_TABLE = "_learnsync_runs"
"""The run-history table in each dataset (dlt leaves tables starting with `_` to their owner)."""
ERROR_CHARS = 500
"""An error is kept as one line of at most this many characters."""

Outcome = str
"""ok | failed | interrupted."""
RECONCILE = "reconcile"
"""The `mode` prefix of reconcile runs ("reconcile", "reconcile dry-run"); any other mode is a sync."""
CHECK = "check"
"""The `mode` of a run's check for unchanged tables: one row per run, `table_name` RUN_TABLE, carrying the one
share query that checked every table (so the tables' own rows add up to the run's total)."""
RUN_TABLE = "*"
"""The `table_name` of a row that belongs to a whole run, not to one table (the check)."""


@dataclass
class RunRecord:
    """What one run of one table did: a row of `_learnsync_runs`. Times are UTC; seconds are wall-clock."""

    table_name: str
    run_id: str
    mode: str
    started_at: datetime
    seconds: float
    rows: int
    """Parent rows read and loaded (new, changed and re-read together)."""
    rows_new: int
    """Rows past the cursor stored before the run: new or changed since the previous run."""
    rows_reread: int
    """Rows read again in the lookback (at or behind the stored cursor) or, without a cursor, the whole table."""
    cursor_before: Optional[str]
    cursor_after: Optional[str]
    outcome: Outcome
    error: Optional[str]
    queries: int
    snowflake_seconds: float
    changed: int = 0
    """Reconcile runs (`mode` "reconcile" or "reconcile dry-run"): rows it updated, inserted or deleted (found
    differing, for a dry run); 0 for syncs."""

    @property
    def ended_at(self) -> datetime:
        from datetime import timedelta

        return self.started_at + timedelta(seconds=self.seconds)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict: times as ISO 8601 UTC text, numbers as numbers (null only for a missing cursor or
        error)."""
        doc = asdict(self)
        doc["table"] = doc.pop("table_name")
        doc["started_at"] = _utc(self.started_at).isoformat()
        doc["ended_at"] = _utc(self.ended_at).isoformat()
        doc["seconds"] = round(self.seconds, 3)
        doc["snowflake_seconds"] = round(self.snowflake_seconds, 3)
        return doc


TYPES = {
    # (text, integer, float, timestamp) per destination dialect (`Target.dialect.name`)
    "duckdb": ("VARCHAR", "BIGINT", "DOUBLE", "TIMESTAMPTZ"),
    "postgres": ("TEXT", "BIGINT", "DOUBLE PRECISION", "TIMESTAMPTZ"),
    "bigquery": ("STRING", "INT64", "FLOAT64", "TIMESTAMP"),
}


def _column_types() -> dict[str, int]:
    """Column -> index into a TYPES entry."""
    kinds = {str: 0, "str": 0, int: 1, "int": 1, float: 2, "float": 2, datetime: 3, "datetime": 3}
    out = {}
    for f in fields(RunRecord):
        base = str(f.type).replace("Optional[", "").rstrip("]")
        out[f.name] = kinds.get(base, 0)
    return out


def supported(target: Target) -> bool:
    """Whether the destination keeps run history (SQL destinations with a known dialect; not `file://`)."""
    return target.dialect is not None and target.dialect.name in TYPES


def _pipeline(target: Target, dataset: str, pipelines_dir: Optional[str]) -> Any:
    import dlt

    from learnsync.destinations.base import pipeline_name

    return dlt.pipeline(pipeline_name=pipeline_name("any", "history", target, dataset),
                        destination=target.destination, dataset_name=target.dataset_name(dataset),
                        pipelines_dir=pipelines_dir)


def _ensure(client: Any, types: tuple[str, ...]) -> str:
    table = client.make_qualified_table_name(RUNS_TABLE)
    cols = ", ".join(f"{client.escape_column_name(name)} {types[kind]}" for name, kind in _column_types().items())
    if not client.has_dataset():
        client.create_dataset()
    client.execute_sql(f"CREATE TABLE IF NOT EXISTS {table} ({cols})")
    return table


def record(target: Target, dataset: str, run: RunRecord, pipelines_dir: Optional[str] = None) -> bool:
    """Append `run` to the dataset's `_learnsync_runs` (created when missing). Best effort: a failure only warns
    (the data and cursor are committed either way); returns whether the row was written. The caller holds the
    table's lock (a DuckDB file takes one writing process)."""
    return record_many(target, dataset, [run], pipelines_dir)


def record_many(target: Target, dataset: str, runs: list[RunRecord], pipelines_dir: Optional[str] = None) -> bool:
    """`record` for several runs in one INSERT (one connection): the tables an idle run found unchanged."""
    if not supported(target) or not runs:
        return False
    try:
        with _pipeline(target, dataset, pipelines_dir).sql_client() as client:
            table = _ensure(client, TYPES[target.dialect.name])  # type: ignore[union-attr]
            names = list(_column_types())
            values: list[Any] = []
            for run in runs:
                row = [getattr(run, n) for n in names]
                row[names.index("started_at")] = _utc(run.started_at)
                values += row
            placeholders = ", ".join(["(" + ", ".join(["%s"] * len(names)) + ")"] * len(runs))
            client.execute_sql(
                f"INSERT INTO {table} ({', '.join(client.escape_column_name(n) for n in names)})"
                f" VALUES {placeholders}", *values)
            _prune(client, table)
        return True
    except Exception as exc:  # noqa: BLE001 - history is a report: it never fails a run
        log.warning("Table(s) %s: run(s) not recorded in %s: %s", ", ".join(r.table_name for r in runs), RUNS_TABLE,
                    " ".join(str(exc).split())[:300])
        return False


def _prune(client: Any, table: str) -> None:
    """Delete the rows older than `run_history_days` (`settings.HistorySettings`, default 90; 0 keeps them): the
    history stays small without a job of its own, since every recording run prunes it."""
    from datetime import timedelta

    from learnsync.settings import HistorySettings

    days = HistorySettings().run_history_days
    if days > 0:
        client.execute_sql(f"DELETE FROM {table} WHERE started_at < %s",
                           datetime.now(timezone.utc) - timedelta(days=days))


def read(target: Target, dataset: str, table: Optional[str] = None, limit: int = 50,
         pipelines_dir: Optional[str] = None) -> list[RunRecord]:
    """The newest `limit` runs (of `table`, a share table name such as COURSES in any case, when given), newest first; [] when
    no run was recorded yet or the destination keeps no history."""
    if not supported(target):
        return []
    names = list(_column_types())
    with _pipeline(target, dataset, pipelines_dir).sql_client() as client:
        qualified = client.make_qualified_table_name(RUNS_TABLE)
        # share names are matched case-insensitively, as everywhere else
        where, args = ("WHERE UPPER(table_name) = UPPER(%s)", [table]) if table else ("", [])
        try:
            rows = client.execute_sql(
                f"SELECT {', '.join(client.escape_column_name(n) for n in names)} FROM {qualified} {where}"
                f" ORDER BY started_at DESC LIMIT {int(limit)}", *args)
        except Exception as exc:  # noqa: BLE001 - no history table yet (drivers raise their own "undefined table")
            if undefined_table(exc):
                return []
            raise
    return [_record(dict(zip(names, row))) for row in rows or []]


def kind(mode: str) -> str:
    """"reconcile" for a reconcile run's mode, "check" for a run's check for unchanged tables, else "sync"
    (incremental, backfill, full refresh)."""
    if mode == CHECK:
        return CHECK
    return RECONCILE if mode.startswith(RECONCILE) else "sync"


def latest(target: Target, dataset: str, pipelines_dir: Optional[str] = None
           ) -> dict[tuple[str, str, str], RunRecord]:
    """{(table, kind, outcome): the newest run of that table of that `kind` ("sync" or "reconcile") with that
    outcome}, in one query; {} when no run was recorded yet or the destination keeps no history."""
    if not supported(target):
        return {}
    names = list(_column_types())
    cols = ", ".join(names)
    with _pipeline(target, dataset, pipelines_dir).sql_client() as client:
        qualified = client.make_qualified_table_name(RUNS_TABLE)
        try:
            rows = client.execute_sql(
                f"SELECT {cols} FROM (SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY table_name, outcome,"
                f" CASE WHEN mode LIKE '{RECONCILE}%' THEN 1 ELSE 0 END ORDER BY started_at DESC) AS rn"
                f" FROM {qualified}) AS newest WHERE rn = 1")
        except Exception as exc:  # noqa: BLE001 - as in read
            if undefined_table(exc):
                return {}
            raise
    records = [_record(dict(zip(names, row))) for row in rows or []]
    return {(r.table_name, kind(r.mode), r.outcome): r for r in records}


def undefined_table(exc: BaseException) -> bool:
    """Whether a destination error says a table (or dataset) does not exist, whatever the driver calls it."""
    from dlt.common.destination.exceptions import DestinationUndefinedEntity

    return isinstance(exc, DestinationUndefinedEntity) or "does not exist" in str(exc).lower()


def _record(doc: dict[str, Any]) -> RunRecord:
    doc["started_at"] = _utc(doc["started_at"])
    for n in ("rows", "rows_new", "rows_reread", "queries", "changed"):
        doc[n] = int(doc[n] or 0)
    for n in ("seconds", "snowflake_seconds"):
        doc[n] = float(doc[n] or 0.0)
    return RunRecord(**doc)


def one_line(text: Optional[str]) -> Optional[str]:
    """An error as one line of at most ERROR_CHARS characters."""
    if not text:
        return None
    flat = " ".join(str(text).split())
    return flat if len(flat) <= ERROR_CHARS else flat[: ERROR_CHARS - 3] + "..."


def cursor_text(value: Any) -> Optional[str]:
    """A cursor value as text (ISO 8601 for dates and times), None when there is none."""
    if value is None:
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return str(value)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
