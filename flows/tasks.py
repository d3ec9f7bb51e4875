"""Prefect tasks: each runs the pipeline for one table (or one backfill lane) and reports what it did.

Parameters hold names and secret-free URIs only; the Snowflake login comes from dlt secrets / the environment or
a prefect-snowflake `SnowflakeCredentials` block named by `credentials_block`, read inside the task.
"""

from __future__ import annotations

import dataclasses
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator, Optional, Sequence, cast
from urllib.parse import urlsplit
from uuid import UUID

from dlt.common.exceptions import TerminalException
from learnsync.errors import LearnsyncError, Unreachable
from learnsync.catalog.tables import Profile
from learnsync.catalog.tables import profile as vendor_profile
from learnsync.pipelines.sync import Mode, TableResult
from learnsync.defaults import LOCK_TIMEOUT, WINDOW_ROWS
from learnsync.settings import FlowSettings
from prefect import Task, get_run_logger, task
from prefect.tasks import exponential_backoff

CONNECTIONS_PER_TABLE = 3
"""Destination connections one table run holds at most with one dlt load worker: its lock's session, the
loader's own client and the worker's (measured with pg_stat_activity in tests/test_load.py)."""


def connection_limit(target: Any) -> str:
    """The Prefect global concurrency limit that budgets connections to one destination, across flows."""
    return f"learnsync-connections-{target.identity}"


def has_connection_limit(target: Any) -> bool:
    """Whether the destination's connection limit exists in Prefect (set by a flow given max_connections)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(connection_limit(target))
        except ObjectNotFound:
            return False
    return True


@dataclass(frozen=True)
class Job:
    """What a flow syncs, without secrets (picklable, so Dask workers can take it)."""

    profile: Profile
    """The vendor model: flows pass their string parameter ("360learning", any case) through `vendor_profile`; a
    string given here is turned into the Profile the same way."""
    source_uri: Optional[str]
    destination: Optional[str]
    dataset: str
    credentials_block: Optional[str] = None
    """The name of a prefect-snowflake `SnowflakeCredentials` block holding the Snowflake login (password, key pair
    or token); None: the login comes from dlt secrets or the worker's environment."""
    window_rows: int = WINDOW_ROWS  # rows per committed window
    budgeted: bool = False
    """Table runs take slots of the destination's connection limit (`connection_limit`): the flow was given
    max_connections, or another flow set that limit. False: no limit exists, and no task asks for one (Prefect
    would warn in every task that it does not exist)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "profile", vendor_profile(self.profile))  # a LearnsyncError naming the choices
        for name, uri in (("source_uri", self.source_uri), ("destination", self.destination)):
            if uri and urlsplit(uri).password:
                raise LearnsyncError(
                    f"The {name} parameter holds a password; flow parameters are stored and shown in Prefect."
                    " Put the password in dlt secrets, the environment or a Prefect SnowflakeCredentials block"
                    " (credentials_block)."
                )


def is_transient(exc: Optional[BaseException]) -> bool:
    """Whether a retry may help: network, warehouse and destination-session failures, and a source or destination
    that could not be reached, may pass; a user error (bad credentials, unknown table, a value that cannot load) never does."""
    if isinstance(exc, TableFailed):
        return exc.transient
    if isinstance(exc, TerminalException):  # dlt's mark of a lasting failure (e.g. a load the destination refused)
        return False
    return isinstance(exc, Unreachable) or not isinstance(exc, LearnsyncError)


class TableFailed(Exception):
    """A table run failed; `transient` says whether a retry may help."""

    def __init__(self, result: TableResult) -> None:
        super().__init__(f"{result.table}: {result.error}")
        self.table = result.table
        self.transient = is_transient(result.exception)


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's retry condition: retry only what `is_transient` says may pass."""
    return is_transient(state.result(raise_on_failure=False))


@contextmanager
def open_reader(job: Job, table: Optional[str] = None, mode: Optional[str] = None) -> Iterator[Any]:
    """`open_share` with the job's source, logged in with the job's credentials block when it names one. Its
    session's QUERY_TAG names the profile, the flow run (the run id) and, when given, the table and mode
    (`cost.QueryTag`)."""
    from learnsync.pipelines.snowflake.connection import parse_source_uri
    from learnsync.pipelines.snowflake.reader import open_share

    source = parse_source_uri(job.source_uri)
    if job.credentials_block:
        block_login(source, job.credentials_block)
    with open_share(source, job.window_rows, tag=query_tag(job, table, mode)) as reader:
        yield reader


def flow_run_id() -> str:
    """The id of the calling flow run (a fresh one outside a flow run): the run id of query tags and history."""
    from prefect.runtime import flow_run

    from learnsync.pipelines.snowflake.cost import new_run_id

    return str(flow_run.id or new_run_id())


def query_tag(job: Job, table: Optional[str] = None, mode: Optional[str] = None) -> Any:
    from learnsync.pipelines.snowflake.cost import QueryTag

    return QueryTag(job.profile.value, flow_run_id(), None if mode is None else str(mode), table)


def block_login(source: Any, name: str) -> None:
    """Take the login of a prefect-snowflake `SnowflakeCredentials` block (user, password, private key and its
    passphrase, authenticator, token, role) into `source` (`settings.ShareCredentials`); the URI keeps naming the
    database, schema and warehouse. A block that cannot be loaded is a LearnsyncError."""
    try:
        from prefect_snowflake import SnowflakeCredentials
    except ImportError:
        raise LearnsyncError("credentials_block needs prefect-snowflake: pip install 'learnsync[prefect-snowflake]'.") from None
    try:
        # Prefect's async_dispatch types load() as "the block or its coroutine"; called from sync code (a task, the
        # CLI) it returns the block
        block = cast(SnowflakeCredentials, SnowflakeCredentials.load(name))
    except ValueError as exc:
        raise LearnsyncError(f"Cannot load the SnowflakeCredentials block {name!r}: {exc}") from None

    def secret(value: Any) -> Optional[str]:
        raw = value.get_secret_value() if value is not None else None
        return raw.decode() if isinstance(raw, bytes) else raw

    source.username = block.user or source.username
    source.password = secret(block.password)
    source.private_key = secret(block.private_key)
    source.private_key_path = str(block.private_key_path) if block.private_key_path else None
    source.private_key_passphrase = secret(block.private_key_passphrase)
    source.token = secret(block.token)
    source.role = block.role or source.role
    # the block's default authenticator is "snowflake" even when it holds a key: let the key pick key-pair login
    has_key = bool(source.private_key or source.private_key_path)
    source.authenticator = None if block.authenticator == "snowflake" and has_key else block.authenticator


def flow_run_cancelled() -> bool:
    """Whether the flow run of the calling task is being cancelled (asked between windows: one API read each).

    Prefect marks the run Cancelling, then sends its process SIGTERM and kills it 30 s later; a task that sees
    the mark first stops after the window in flight commits, so the run ends with whole windows and a report."""
    from prefect.client.orchestration import get_client
    from prefect.context import TaskRunContext

    ctx = TaskRunContext.get()
    if ctx is None or ctx.task_run.flow_run_id is None:
        return False
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(ctx.task_run.flow_run_id).state
    return state is not None and (state.is_cancelling() or state.is_cancelled())


def lag_seconds(cursor: Any) -> Optional[float]:
    """Seconds from a cursor value (a TIMESTAMP_NTZ is UTC wall-clock time; a date: its midnight UTC) to now; None
    for a cursor that is no time (or none)."""
    from datetime import date

    if isinstance(cursor, datetime):
        newest = cursor if cursor.tzinfo else cursor.replace(tzinfo=timezone.utc)
    elif isinstance(cursor, date):
        newest = datetime(cursor.year, cursor.month, cursor.day, tzinfo=timezone.utc)
    else:
        return None
    return round(max(0.0, (datetime.now(timezone.utc) - newest).total_seconds()), 1)


def summary(result: TableResult) -> dict[str, Any]:
    """A table run as artifact row: rows (new, re-read), duration, Snowflake queries and seconds, cursors and the
    lag of the newest row behind now in seconds (a number, for sorting and alerting)."""
    return {
        "table": result.table,
        "outcome": ("failed: " + str(result.error)) if not result.ok else "not started" if not result.started else
                   ("interrupted: " + result.stopped_line().split(": ", 1)[1]) if result.interrupted else "ok",
        "rows": result.rows,
        "rows_new": result.rows_new,
        "rows_reread": result.rows_reread,
        "seconds": round(result.seconds, 1),
        "snowflake_queries": result.queries,
        "snowflake_seconds": round(result.snowflake_seconds, 2),
        "old_cursor": None if result.old_cursor is None else str(result.old_cursor),
        "new_cursor": None if result.new_cursor is None else str(result.new_cursor),
        "lag_seconds": lag_seconds(result.new_cursor if result.new_cursor is not None else result.old_cursor),
    }


def with_retries(task_: Task, settings: Optional[FlowSettings] = None) -> Task:
    """`task_` retrying what `is_transient` says may pass (network, warehouse, a dropped session, an unreachable
    source), never user errors nor a table still locked after the lock timeout (that run already waited): up to
    `settings.retries` times, the first after `settings.retry_backoff` s, each next one twice as long (Prefect's
    `exponential_backoff`). `settings` defaults to FlowSettings() read now, at run time."""
    settings = settings or FlowSettings()
    return task_.with_options(
        retries=settings.retries,
        retry_delay_seconds=exponential_backoff(backoff_factor=settings.retry_backoff),
        retry_condition_fn=retry_if_transient,
    )


def _dlt_hint_note(record: Any) -> bool:
    """False for dlt's warning that arrow and dlt schema hints differ: learnsync casts every batch to the table's
    declared schema on purpose (pipelines/source/arrow.py), so in a flow's logs it is noise (one per window)."""
    return "when merging arrow schema with dlt schema" not in record.getMessage()


def quiet_dlt_hints() -> None:
    """Drop `_dlt_hint_note`'s warning from dlt's logger (once per process; dlt's other warnings stay)."""
    import logging

    dlt_log = logging.getLogger("dlt")
    if _dlt_hint_note not in dlt_log.filters:
        dlt_log.addFilter(_dlt_hint_note)


class WindowProgress:
    """Called after each committed window of a table run in a flow: a log line, and for a run of more than one
    planned window a progress artifact (percent of the rows Snowflake counted when the run planned its first
    window), updated window by window."""

    def __init__(self, table: str, mode: str) -> None:
        import re

        self.table, self.mode = table, mode
        self.artifact: Optional[UUID] = None
        # artifact keys: lower-case letters, digits and dashes
        self.key = "learnsync-progress-" + re.sub(r"[^a-z0-9]+", "-", table.lower()).strip("-")

    def __call__(self, result: TableResult) -> None:
        from prefect.artifacts import create_progress_artifact, update_progress_artifact

        planned = f" of {result.planned_windows}" if result.planned_windows else ""
        get_run_logger().info("%s %s: window %d%s committed, %d rows so far", self.mode, self.table, result.windows,
                              planned, result.rows)
        if not result.planned_rows or not result.planned_windows or result.planned_windows < 2:
            return
        percent = min(100.0, 100.0 * result.rows / result.planned_rows)
        what = f"learnsync {self.mode} of {self.table}: {result.rows:,} of {result.planned_rows:,} rows"
        if self.artifact is None:
            # sync code gets the UUID itself (async_dispatch types the result as "it or its coroutine")
            self.artifact = cast(UUID, create_progress_artifact(percent, key=self.key, description=what))
        else:
            update_progress_artifact(self.artifact, percent, description=what)


SYNCED, FAILED = "learnsync.table.synced", "learnsync.table.failed"
"""The Prefect events a table run emits (resource `learnsync.table.<dataset>.<table>`)."""


def table_resource(dataset: str, table: str) -> str:
    """The Prefect resource id of one table of one destination dataset."""
    return f"learnsync.table.{dataset}.{table}"


def emit_table_event(job: Job, dataset: str, result: TableResult) -> None:
    """Emit `learnsync.table.synced` (or `.failed`) for a table run, with rows, lag seconds, duration, Snowflake
    queries and seconds (and the error) as payload; Prefect relates it to the flow and task run. Automations
    act on them (deploy/automations.yaml). Never raises (Prefect logs an event it cannot send)."""
    from prefect.events import emit_event

    payload = summary(result)
    payload.pop("outcome")
    if not result.ok:
        payload["error"] = result.error
    emit_event(
        FAILED if not result.ok else SYNCED,
        resource={"prefect.resource.id": table_resource(dataset, result.table),
                  "prefect.resource.name": result.table, "learnsync.dataset": dataset,
                  "learnsync.profile": job.profile.value},
        payload=payload,
    )


CHECKED = "learnsync.run.checked"
"""The Prefect event of a sync run's check for unchanged tables (resource `learnsync.run.<dataset>`): its
Snowflake queries are the run's, so the tables' events plus this one add up to the run's total."""


def emit_check_event(job: Job, dataset: str, check: TableResult, tables: int) -> None:
    """Emit `CHECKED` for a run's check for unchanged tables, with its queries, seconds and the tables checked."""
    from prefect.events import emit_event

    emit_event(CHECKED, resource={"prefect.resource.id": f"learnsync.run.{dataset}", "learnsync.dataset": dataset,
                                  "learnsync.profile": job.profile.value},
               payload={"tables": tables, "seconds": round(check.seconds, 1), "snowflake_queries": check.queries,
                        "snowflake_seconds": round(check.snowflake_seconds, 2)})


RUN_SYNCED = "learnsync.run.synced"
"""The Prefect event of a sync flow run that completed (every table synced or found unchanged), about the resource
`learnsync.run.<dataset>`: the not-synced automation watches it, one bucket per dataset (deploy/automations.yaml)."""


def emit_run_event(job: Job, dataset: str, tables: Sequence[str], rows: int) -> None:
    """Emit `RUN_SYNCED` with the tables of the run and the rows it loaded. Never raises."""
    from prefect.events import emit_event

    emit_event(RUN_SYNCED, resource={"prefect.resource.id": f"learnsync.run.{dataset}", "learnsync.dataset": dataset,
                                     "learnsync.profile": job.profile.value},
               payload={"tables": list(tables), "rows": rows})


@task(name="list-tables")
def list_tables(job: Job, tables: Optional[Sequence[str]]) -> list[str]:
    """The tables a flow will run, validated against the share (unknown names are a LearnsyncError). A task, so a
    source that is briefly away when the flow starts is retried like a table's run."""
    from learnsync.pipelines.sync import plan

    with open_reader(job) as reader:
        return [s.name for s in plan(reader, job.profile, tables)]


@task(name="unchanged-tables")
def unchanged_tables_task(job: Job, tables: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The tables of an incremental flow run that need not run (`pipelines.sync.unchanged_tables`: one query to
    the share for all of them), as their artifact rows by table, and under `runs.RUN_TABLE` the check's own row
    (its query is the run's, not the tables'); the runs are recorded and their events emitted like a table run's
    (the check: `learnsync.run.checked`). {} when none qualifies or the check fails for any reason, a source that
    is away included (every table then runs, in its own retried task); never raises."""
    from learnsync.destinations import resolve
    from learnsync.pipelines.sync import RunContext, plan, recorded_cursors, unchanged_tables

    target = resolve(job.destination, job.dataset)
    try:
        # no login to the share unless some table's newest sync succeeded (a first sync skips nothing)
        recorded = recorded_cursors(target, job.dataset)
        if not recorded:
            return {}
        with open_reader(job, mode="check") as reader:
            specs = plan(reader, job.profile, list(tables))
            run = RunContext.of(target, job.dataset, job.profile.value, run_id=flow_run_id())
            checked = unchanged_tables(reader, specs, run, recorded=recorded)
    except Exception as exc:  # noqa: BLE001 - an optimization: the table tasks run (and are retried) either way
        get_run_logger().info("The check for unchanged tables failed (%s); every table runs.",
                              " ".join(str(exc).split())[:300])
        return {}
    dataset = target.dataset_name(job.dataset)
    for result in checked.skipped.values():
        emit_table_event(job, dataset, result)
    if checked.skipped:
        get_run_logger().info("%d table(s) unchanged since their last sync, not run: %s", len(checked.skipped),
                              ", ".join(checked.skipped))
    rows = {name: summary(result) for name, result in checked.skipped.items()}
    if checked.run is not None:
        emit_check_event(job, dataset, checked.run, len(specs))
        rows[checked.run.table] = {**summary(checked.run), "outcome": f"check: {len(checked.skipped)} of {len(specs)}"
                                   " table(s) unchanged"}
    return rows


@task(name="reach-destination")
def reach_destination(job: Job, require_tables: bool = False) -> list[str]:
    """Reach the destination once, before any table runs: the tables learnsync loaded into the dataset ([] for a new
    one). Down, it raises DestinationUnreachable, which is retried with backoff; with `require_tables`, a dataset
    holding no learnsync tables is a LearnsyncError naming those that do."""
    from learnsync.destinations import resolve
    from learnsync.pipelines.sync import new_dataset_line, require_synced, synced_tables

    target = resolve(job.destination, job.dataset)
    if require_tables:
        return require_synced(target, job.dataset)
    tables = synced_tables(target, job.dataset)
    if not tables:
        get_run_logger().info("%s", new_dataset_line(target, job.dataset))
    return tables


@task(name="upgrade-fingerprints")
def upgrade_fingerprints_task(job: Job, tables: Sequence[str]) -> dict[str, int]:
    """Before a backfill's lanes: move each table's fingerprints to the current version where an older learnsync
    left them (`pipelines.backfill.upgrade_table`); {table: rows rewritten} of the tables that needed it. The
    flow holds the tables' locks."""
    from learnsync.destinations import resolve
    from learnsync.pipelines.backfill import upgrade_table
    from learnsync.pipelines.sync import plan

    done = {}
    with open_reader(job, None, Mode.BACKFILL.value) as reader:
        for spec in plan(reader, job.profile, list(tables)):
            rows = upgrade_table(reader, spec, resolve(job.destination, job.dataset), job.dataset, job.profile.value)
            if rows is not None:
                done[spec.name] = rows
    return done


@task(name="sync-table", task_run_name="{mode} {table}")
def run_table(
    job: Job,
    table: str,
    mode: Mode = Mode.INCREMENTAL,
    windows: Sequence[tuple[Any, Any]] = ((None, None),),
    lane: Optional[int] = None,
    reset_history: bool = False,
) -> dict[str, Any]:
    """Run one table, or one backfill lane (`lane`: its windows one after another on its own staging dataset,
    through the engine's `pipelines.backfill.backfill_lane`, as the CLI runs it). `reset_history` (a full
    refresh only) drops the versions of a table kept with history (`sync_table`)."""
    from learnsync.destinations import resolve
    from learnsync.pipelines.backfill import backfill_lane, lane_target
    from learnsync.pipelines.sync import RunContext, plan, sync_table
    from prefect.concurrency.sync import concurrency

    logger = get_run_logger()
    quiet_dlt_hints()
    if flow_run_cancelled():
        logger.warning("%s not started; rerun to sync it", table)
        return summary(TableResult(table, mode, started=False))
    target = resolve(job.destination, job.dataset) if lane is None else \
        lane_target(job.destination, job.dataset, table, lane)
    if job.budgeted:  # a table run holds CONNECTIONS_PER_TABLE with one dlt load worker
        target = dataclasses.replace(target, load_workers=1)
    on_window = WindowProgress(table, mode)
    budget = (concurrency(connection_limit(target), occupy=CONNECTIONS_PER_TABLE, strict=False) if job.budgeted
              else nullcontext())

    def logged(result: TableResult, window: tuple[Any, Any]) -> None:
        logger.info("%s %s%s: %s rows in %.1f s, %d Snowflake queries (%.1f s)", mode, table, span_text(*window),
                    result.rows, result.seconds, result.queries, result.snowflake_seconds)

    began = time.time()
    with budget, open_reader(job, table, mode) as reader:
        spec = plan(reader, job.profile, [table])[0]
        run = RunContext.of(target, job.dataset, job.profile.value, lock_timeout=LOCK_TIMEOUT,
                            should_stop=flow_run_cancelled, run_id=flow_run_id(), on_window=on_window,
                            reset_history=reset_history)
        if lane is not None:
            total = backfill_lane(reader, spec, run, list(windows), lane, on_range=logged)
        else:
            total = sync_table(reader, spec, run, mode)
            logged(total, (None, None))
    emit_table_event(job, target.dataset_name(job.dataset), total)
    if not total.ok:
        raise TableFailed(total)
    if total.interrupted:
        logger.warning("%s", total.stopped_line())
    # a lane's wall-clock span: its table's row in the artifact spans all its lanes (`flows.sync.group_lanes`)
    return summary(total) if lane is None else {**summary(total), "lane_span": (began, time.time())}


def span_text(start: Any, end: Any) -> str:
    """A backfill window as ` [2026-01-01 00:00, 2026-01-02 00:00)`; nothing for a run without one."""
    if start is None and end is None:
        return ""
    def text(value: Any) -> str:
        return value.isoformat(sep=" ", timespec="minutes") if isinstance(value, datetime) else str(value)
    return f" [{text(start)}, {text(end)})"


@task(name="reconcile-table", task_run_name="reconcile {table}")
def reconcile_table_task(job: Job, table: str, dry_run: bool = False) -> dict[str, Any]:
    """Reconcile one table; its report row (rows checked, buckets, updated/inserted/deleted, rows fetched)."""
    from learnsync.destinations import resolve
    from learnsync.pipelines.reconcile import reconcile_table
    from learnsync.pipelines.sync import plan

    with open_reader(job, table, "reconcile") as reader:
        spec = plan(reader, job.profile, [table])[0]
        result = reconcile_table(reader, spec, resolve(job.destination, job.dataset), job.dataset, job.profile.value, dry_run)
    get_run_logger().info("reconcile %s: %s", table, result)
    if not result.ok:
        raise TableFailed(TableResult(table, result.method, error=result.error))
    return result.as_dict()
