"""Prefect flows: scheduled sync, operator backfill and full refresh. They orchestrate the pipeline code only.

Tables fan out as tasks with a concurrency bound (threads, or a Dask cluster when LEARNSYNC_DASK_ADDRESS or
LEARNSYNC_DASK_WORKERS is set: `FlowSettings`, read when each run starts). One table failing does not stop the others; the flow run ends Failed and
names the failed tables. Each run publishes a table artifact and a markdown summary.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Callable, Optional, cast

from prefect import State, flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.states import Cancelled, Completed, Failed
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from learnsync.catalog.tables import profile as vendor_profile
from learnsync.destinations import resolve
from learnsync.flows.tasks import (
    Job, TableFailed, emit_run_event, has_connection_limit, list_tables, reach_destination, reconcile_table_task, run_table,
    unchanged_tables_task, upgrade_fingerprints_task, with_retries,
)
from learnsync.pipelines.runs import RUN_TABLE
from learnsync.pipelines.sync import Mode
from learnsync.defaults import DEFAULT_DESTINATION, LOCK_TIMEOUT, WINDOW_ROWS
from learnsync.settings import FlowSettings


class ReturnedStateIsNotACrash(logging.Filter):
    """Keeps a flow's own Failed outcome out of Prefect's crash logging. A learnsync flow ends Failed by returning a
    Failed state (tables that failed, drift found by a dry-run reconcile), and Prefect logs it as `Finished in state
    Failed('...')`. When a worker runs a deployment, the engine then asks for the run's result, which raises that
    state as `FailedRun`, and logs it again to the run's logger with a traceback, as an "unexpected exception"
    (prefect/flow_engine.py `run_flow`, `error_logger`). This filter drops that one record; any other exception is
    still logged with its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        from prefect.exceptions import FailedRun

        raised = record.exc_info[1] if record.exc_info else None
        return not (isinstance(raised, FailedRun) and record.msg == "Engine execution exited with unexpected exception")


logging.getLogger("prefect.flow_runs").addFilter(ReturnedStateIsNotACrash())
"""Installed when the flows are imported: a worker imports the deployment's entrypoint before it runs the flow."""



def task_runner(settings: FlowSettings) -> TaskRunner:
    """The task runner `settings` ask for: threads (`max_parallel` of them) by default; a Dask cluster (an address,
    or a LocalCluster of `dask_workers` processes) when configured (needs learnsync[dask])."""
    if settings.dask_address or settings.dask_workers:
        from prefect_dask.task_runners import DaskTaskRunner

        if settings.dask_address:
            return DaskTaskRunner(address=settings.dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": settings.dask_workers, "processes": True,
                                              "threads_per_worker": 1})
    return ThreadPoolTaskRunner(max_workers=settings.max_parallel)


class SettingsTaskRunner(ThreadPoolTaskRunner):
    """The flows' task runner: the one `FlowSettings` (LEARNSYNC_* variables) ask for, read when each flow run
    starts, not when this module is imported. Prefect's flow engine enters `flow.task_runner.duplicate()` for every
    run (prefect/flow_engine.py): that is where the settings are read. `with_options(task_runner=...)` still wins."""

    def duplicate(self) -> TaskRunner:  # type: ignore[override]
        return task_runner(FlowSettings())


def settings_task_runner() -> TaskRunner[PrefectFuture[Any]]:
    """A SettingsTaskRunner, typed as `flow()` takes it: Prefect 3.9 annotates `task_runner` as
    TaskRunner[PrefectFuture[Any]] with an invariant future type, which no concrete runner (ThreadPoolTaskRunner
    included) matches statically; any TaskRunner works at run time."""
    return cast("TaskRunner[PrefectFuture[Any]]", SettingsTaskRunner())


def group_lanes(rows: list[dict[str, Any]], span: str) -> list[dict[str, Any]]:
    """A backfill's artifact rows (one per table and lane) as one row per table: counts summed, `seconds` the
    table's wall time (from its first lane's start to its last lane's end, lanes run side by side; `lane_span`),
    the outcome the first failure's (else ok), cursors of the table's runs (a backfill never moves them), the
    smallest lag, and `range`, the backfilled [start, end)."""
    tables: dict[str, dict[str, Any]] = {}
    spans: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        row = dict(row)
        table = row["table"].split(" lane ")[0]
        if LANE_SPAN in row:
            spans.setdefault(table, []).append(row.pop(LANE_SPAN))
        into = tables.get(table)
        if into is None:
            tables[table] = {**row, "table": table, "range": span}
            continue
        for key in ("rows", "rows_new", "rows_reread", "snowflake_queries"):
            into[key] = (into.get(key) or 0) + (row.get(key) or 0)
        for key in ("seconds", "snowflake_seconds"):
            into[key] = round((into.get(key) or 0.0) + (row.get(key) or 0.0), 2)
        if str(into["outcome"]) == "ok" and str(row["outcome"]) != "ok":
            into["outcome"] = row["outcome"]
        lags = [v for v in (into.get("lag_seconds"), row.get("lag_seconds")) if v is not None]
        into["lag_seconds"] = min(lags) if lags else None
    for table, times in spans.items():
        tables[table]["seconds"] = round(max(e for _, e in times) - min(b for b, _ in times), 1)
    return list(tables.values())


LANE_SPAN = "lane_span"
"""A backfill lane's artifact row carries (start, end) in epoch seconds under this key, for `group_lanes` only."""


def _collect(kind: str, futures: dict[str, Any], span: Optional[str] = None,
             check: Optional[dict[str, Any]] = None) -> State:
    """Wait for every table, publish the artifacts, and end Failed naming the failed tables. With `span` (a
    backfill's range), the lanes of a table are one row of the artifacts (`group_lanes`). `check`: the row of the
    run's check for unchanged tables (table `*`), last in the table artifact, so its rows add up to the run."""
    rows, failed = [], []
    for table, future in futures.items():
        outcome = future.result(raise_on_failure=False)
        if isinstance(outcome, BaseException):
            failed.append(table.split(" lane ")[0])
            reason = str(outcome).split(": ", 1)[-1] if isinstance(outcome, TableFailed) else str(outcome)
            rows.append({"table": table, "outcome": f"failed: {reason}", "rows": 0, "rows_new": 0, "rows_reread": 0,
                         "seconds": 0.0, "snowflake_queries": 0, "snowflake_seconds": 0.0, "old_cursor": None,
                         "new_cursor": None, "lag_seconds": None})
        else:
            rows.append({**outcome, "table": table} if span else outcome)
    if span:
        rows, failed = group_lanes(rows, span), sorted(set(failed))
    create_table_artifact(rows + ([check] if check else []), key=f"learnsync-{kind}",
                          description=f"learnsync {kind}: one row per table" + (", and the run's check (*)" if check
                                                                               else ""))
    lines = [f"# learnsync {kind}", "", f"{len(rows) - len(failed)} of {len(rows)} tables succeeded, "
             f"{sum(r['rows'] or 0 for r in rows)} rows loaded.", ""]
    lines += [f"- **{r['table']}**: {r['outcome']}{', range ' + r['range'] if r.get('range') else ''},"
              f" {r['rows']} rows ({r['rows_new']} new, {r['rows_reread']} re-read),"
              f" {r['snowflake_queries']} Snowflake queries ({r['snowflake_seconds']} s), cursor {r['old_cursor'] or '-'} ->"
              f" {r['new_cursor'] or '-'}" for r in rows]
    if check:
        lines.append(f"- **the check** ({check['outcome'].split(': ', 1)[-1]}): {check['snowflake_queries']} Snowflake"
                     f" queries ({check['snowflake_seconds']} s) for all tables at once")
    create_markdown_artifact("\n".join(lines), key=f"learnsync-{kind}-summary", description=f"learnsync {kind}")
    if failed:
        # no data= on a Failed state: Prefect would try to turn it into the exception to raise
        return Failed(message=f"{len(failed)} table(s) failed: {', '.join(failed)}")
    stopped = [r["table"] for r in rows if str(r["outcome"]).startswith(("interrupted", "not started"))]
    if stopped:
        return Cancelled(message=f"cancelled: {len(stopped)} table(s) stopped at a window boundary or not started"
                                 f" ({', '.join(stopped)}); rerun to resume")
    return Completed(message=f"{len(rows)} table(s) synced", data=rows)


def budget_connections(target: Any, max_connections: int) -> None:
    """Set the destination's connection budget: a Prefect global concurrency limit named after the destination,
    which every table run occupies CONNECTIONS_PER_TABLE of (their dlt pipelines load with one worker: `Job`'s
    `max_connections`). Raises LearnsyncError for a budget smaller than one table run."""
    from prefect.client.orchestration import get_client

    from learnsync.errors import LearnsyncError
    from learnsync.flows.tasks import CONNECTIONS_PER_TABLE, connection_limit

    if max_connections < CONNECTIONS_PER_TABLE:
        raise LearnsyncError(f"max_connections must be at least {CONNECTIONS_PER_TABLE} (one table run holds that many).")
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(connection_limit(target), max_connections)


def fan_out(keys: list[str], submit: Callable[[str], Any], limit: Optional[int]) -> dict[str, Any]:
    """Submit one task per key, at most `limit` running at once (None: the task runner's bound).

    The first runs alone: in a new dataset it creates dlt's own tables (_dlt_loads, _dlt_version, ...), and
    first loads started together race to create them (DuckDB write-write conflict, Postgres unique violation)."""
    futures: dict[str, Any] = {}
    for i, key in enumerate(keys):
        if limit is not None and i >= limit:
            futures[keys[i - limit]].wait()
        futures[key] = submit(key)
        if i == 0:
            futures[key].wait()
    return futures


@flow(name="learnsync-sync", task_runner=settings_task_runner())
def sync_flow(
    profile: str = "360learning",
    tables: Optional[list[str]] = None,
    source_uri: Optional[str] = None,
    destination: str = DEFAULT_DESTINATION,
    dataset: str = "learning",
    credentials_block: Optional[str] = None,
    max_connections: Optional[int] = None,
    window_rows: int = WINDOW_ROWS,
) -> State:
    """Incremental sync of the share's tables (all by default), one task per table, committed in windows of about
    `window_rows` rows. A cancelled run's tasks stop after the window in flight commits.

    `max_connections` budgets the connections to the destination server, shared by every flow that syncs into
    it at the same time (a Prefect global concurrency limit); each table run takes CONNECTIONS_PER_TABLE."""
    job = Job(vendor_profile(profile), source_uri, destination, dataset, credentials_block, window_rows)
    settings = FlowSettings()
    names = with_retries(list_tables, settings)(job, tables)
    with_retries(reach_destination, settings)(job)
    get_run_logger().info("Syncing %d table(s): %s", len(names), ", ".join(names))
    if max_connections is not None:
        budget_connections(resolve(destination, dataset), max_connections)
    job = replace(job, budgeted=max_connections is not None or has_connection_limit(resolve(destination, dataset)))
    limit = resolve(destination, dataset).max_parallel_loads
    # one query tells which tables changed at all; the others are not run (and open no dlt pipeline)
    skipped = unchanged_tables_task(job, names)
    check = skipped.pop(RUN_TABLE, None)
    run = with_retries(run_table, settings)
    started = fan_out([n for n in names if n not in skipped], lambda t: run.submit(job, t, Mode.INCREMENTAL), limit)
    futures = {n: started[n] if n in started else Finished(skipped[n]) for n in names}
    state = _collect("sync", futures, check=check)
    if state.is_completed():  # the not-synced alert watches this event, one per dataset
        emit_run_event(job, resolve(destination, dataset).dataset_name(dataset), names,
                       sum(r["rows"] or 0 for r in state.result()))
    return state


@dataclass(frozen=True)
class Finished:
    """A table's outcome known without a task run (an unchanged table), shaped like its task future for `_collect`."""

    value: dict[str, Any]

    def result(self, raise_on_failure: bool = True) -> dict[str, Any]:
        return self.value


@flow(name="learnsync-full-refresh", task_runner=settings_task_runner())
def full_refresh_flow(
    tables: Optional[list[str]] = None,
    profile: str = "360learning",
    source_uri: Optional[str] = None,
    destination: str = DEFAULT_DESTINATION,
    dataset: str = "learning",
    credentials_block: Optional[str] = None,
    reset_history: bool = False,
) -> State:
    """Reload tables (all by default) from scratch; each is swapped in whole, never seen empty or half-loaded.
    Tables kept with history keep their versions (the reload becomes versions) unless `reset_history`."""
    job = Job(vendor_profile(profile), source_uri, destination, dataset, credentials_block)
    settings = FlowSettings()
    limit = resolve(destination, dataset).max_parallel_loads
    names = with_retries(list_tables, settings)(job, tables)
    with_retries(reach_destination, settings)(job)
    job = replace(job, budgeted=has_connection_limit(resolve(destination, dataset)))
    run = with_retries(run_table, settings)
    futures = fan_out(names, lambda t: run.submit(job, t, Mode.FULL_REFRESH, reset_history=reset_history), limit)
    return _collect("full-refresh", futures)


@flow(name="learnsync-backfill", task_runner=settings_task_runner())
def backfill_flow(
    tables: list[str],
    start: datetime,
    end: datetime,
    window_hours: float = 24.0,
    parallel: int = 4,
    profile: str = "360learning",
    source_uri: Optional[str] = None,
    destination: str = DEFAULT_DESTINATION,
    dataset: str = "learning",
    credentials_block: Optional[str] = None,
) -> State:
    """Re-read exactly [start, end) of the tables and merge/replace it; never moves the stored cursors.

    The range is cut into windows run in `parallel` lanes; each lane loads through its own staging dataset
    (dlt merges through one staging table per dataset, so two loads of a table must not share one)."""
    from learnsync.pipelines.backfill import backfill_windows, check_destination, lanes
    from learnsync.pipelines.sync import table_lock

    windows = backfill_windows(start, end, timedelta(hours=window_hours))
    target = resolve(destination, dataset)
    check_destination(target)
    job = Job(vendor_profile(profile), source_uri, destination, dataset, credentials_block)
    settings = FlowSettings()
    names = with_retries(list_tables, settings)(job, tables)
    with_retries(reach_destination, settings)(job)
    job = replace(job, budgeted=has_connection_limit(target))
    run = with_retries(run_table, settings)
    dealt = lanes(windows, parallel)
    work = {f"{t} lane {lane}": (t, lane) for t in names for lane in range(len(dealt))}
    with ExitStack() as locks:
        for t in names:
            locks.enter_context(table_lock(target, dataset, t, LOCK_TIMEOUT))
        with_retries(upgrade_fingerprints_task, settings)(job, names)  # before lanes write beside old fingerprints
        futures = fan_out(
            list(work),
            lambda key: run.submit(job, work[key][0], Mode.BACKFILL, dealt[work[key][1]], work[key][1]),
            min(parallel, target.max_parallel_loads or parallel),
        )
        return _collect("backfill", futures, span=f"[{_when(start)}, {_when(end)})")


def _when(value: datetime) -> str:
    """A time in an artifact: `2026-01-01 00:00` (seconds only when it has some)."""
    return value.isoformat(sep=" ", timespec="seconds" if value.second else "minutes")


@flow(name="learnsync-reconcile", task_runner=settings_task_runner())
def reconcile_flow(
    tables: Optional[list[str]] = None,
    dry_run: bool = False,
    profile: str = "360learning",
    source_uri: Optional[str] = None,
    destination: str = DEFAULT_DESTINATION,
    dataset: str = "learning",
    credentials_block: Optional[str] = None,
) -> State:
    """Make the warehouse equal to the share where cursors cannot see the change (in-place updates, hard
    deletes, rows behind the cursor). With `dry_run` it only reports, and ends Failed when anything differs."""
    job = Job(vendor_profile(profile), source_uri, destination, dataset, credentials_block)
    settings = FlowSettings()
    limit = resolve(destination, dataset).max_parallel_loads
    names = with_retries(list_tables, settings)(job, tables)
    with_retries(reach_destination, settings)(job, require_tables=True)
    run = with_retries(reconcile_table_task, settings)
    futures = fan_out(names, lambda t: run.submit(job, t, dry_run), limit)
    rows, failed = [], []
    for table, future in futures.items():
        outcome = future.result(raise_on_failure=False)
        if isinstance(outcome, BaseException):
            failed.append(table)
            rows.append({"table": table, "error": str(outcome).split(": ", 1)[-1]})
        else:
            rows.append(outcome)
    create_table_artifact(rows, key="learnsync-reconcile", description="learnsync reconcile: one row per table")
    drift = [r["table"] for r in rows if r.get("drift")]
    lines = ["# learnsync reconcile" + (" (dry run)" if dry_run else ""), ""]
    lines += [f"- **{r['table']}**: " + (f"failed: {r['error']}" if "error" in r and r["error"] else
              f"checked {r['rows_checked']} rows in {r['buckets']} buckets; updated {r['updated']}, inserted"
              f" {r['inserted']}, deleted {r['deleted']}; {r['rows_fetched']} rows fetched. {r['note']}")
              for r in rows]
    create_markdown_artifact("\n".join(lines), key="learnsync-reconcile-summary", description="learnsync reconcile")
    if failed:
        return Failed(message=f"{len(failed)} table(s) failed: {', '.join(failed)}")
    if dry_run and drift:
        return Failed(message=f"{len(drift)} table(s) differ from the share: {', '.join(drift)}")
    return Completed(message=f"{len(rows)} table(s) reconciled", data=rows)
