"""Prefect tasks: each runs the pipeline for one table (or one backfill lane) and reports what it did.

Parameters hold names and secret-free URIs only; the Snowflake login comes from dlt secrets / the environment or
a prefect-snowflake `SnowflakeCredentials` block named by `credentials_block`, read inside the task.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator, Optional, Sequence
from urllib.parse import urlsplit

from dlt.common.exceptions import TerminalException
from prefect import get_run_logger, task
from prefect.tasks import exponential_backoff

from learnsync.errors import LearnsyncError, Unreachable
from learnsync.settings import LOCK_TIMEOUT, WINDOW_ROWS
from learnsync.pipelines.sync import Mode, TableResult

CONNECTIONS_PER_TABLE = 3
"""Destination connections one table run holds at most with one dlt load worker: its lock's session, the
loader's own client and the worker's (measured with pg_stat_activity in tests/test_load.py)."""


def connection_limit(target: Any) -> str:
    """The Prefect global concurrency limit that budgets connections to one destination, across flows."""
    return f"learnsync-connections-{target.identity}"


@dataclass(frozen=True)
class Job:
    """What a flow syncs, without secrets (picklable, so Dask workers can take it)."""

    profile: str
    source_uri: Optional[str]
    destination: Optional[str]
    dataset: str
    credentials_block: Optional[str] = None
    """The name of a prefect-snowflake `SnowflakeCredentials` block holding the Snowflake login (password, key pair
    or token); None: the login comes from dlt secrets or the worker's environment."""
    window_rows: int = WINDOW_ROWS  # rows per committed window

    def __post_init__(self) -> None:
        for name, uri in (("source_uri", self.source_uri), ("destination", self.destination)):
            if uri and urlsplit(uri).password:
                raise LearnsyncError(
                    f"The {name} parameter holds a password; flow parameters are stored and shown in Prefect."
                    " Put the password in dlt secrets, the environment or a prefect-snowflake SnowflakeCredentials block"
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
def open_reader(job: Job) -> Iterator[Any]:
    """A reader on its own connection (tasks run in threads or processes and never share one), logged in with the
    job's credentials block when it names one."""
    from learnsync.pipelines.snowflake.connection import connect, parse_source_uri
    from learnsync.pipelines.snowflake.reader import ShareReader

    source = parse_source_uri(job.source_uri)
    if job.credentials_block:
        block_login(source, job.credentials_block)
    conn = connect(source)
    try:
        yield ShareReader(conn, source.database, source.schema, window_rows=job.window_rows)
    finally:
        conn.close()


def block_login(source: Any, name: str) -> None:
    """Take the login of a prefect-snowflake `SnowflakeCredentials` block (user, password, private key and its
    passphrase, authenticator, token, role) into `source` (`settings.ShareCredentials`); the URI keeps naming the
    database, schema and warehouse. A block that cannot be loaded is a LearnsyncError."""
    try:
        from prefect_snowflake import SnowflakeCredentials
    except ImportError:
        raise LearnsyncError("credentials_block needs prefect-snowflake: pip install 'learnsync[prefect-snowflake]'.") from None
    try:
        block = SnowflakeCredentials.load(name)
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


def summary(result: TableResult) -> dict[str, Any]:
    """A table run as artifact row: rows, duration, cursors and the lag of the newest row behind now."""
    lag = None
    if isinstance(result.new_cursor, datetime):
        newest = result.new_cursor if result.new_cursor.tzinfo else result.new_cursor.replace(tzinfo=timezone.utc)
        lag = str(datetime.now(timezone.utc) - newest).split(".")[0]
    return {
        "table": result.table,
        "outcome": ("failed: " + str(result.error)) if not result.ok else "not started" if not result.started else
                   ("interrupted: " + result.stopped_line().split(": ", 1)[1]) if result.interrupted else "ok",
        "rows": result.rows,
        "seconds": round(result.seconds, 1),
        "old_cursor": None if result.old_cursor is None else str(result.old_cursor),
        "new_cursor": None if result.new_cursor is None else str(result.new_cursor),
        "lag": lag,
    }


RETRIES: dict[str, Any] = dict(
    retries=3,
    # 10 s, 20 s, 40 s by default; LEARNSYNC_RETRY_BACKOFF scales it (tests use 0)
    retry_delay_seconds=exponential_backoff(backoff_factor=float(os.environ.get("LEARNSYNC_RETRY_BACKOFF", "10"))),
    retry_condition_fn=retry_if_transient,
)
"""Tasks retry transient failures (network, warehouse, a dropped session, an unreachable source) with bounded
backoff; never user errors, nor a table still locked after the lock timeout (that run already waited for it)."""


@task(name="list-tables", **RETRIES)
def list_tables(job: Job, tables: Optional[Sequence[str]]) -> list[str]:
    """The tables a flow will run, validated against the share (unknown names are a LearnsyncError). A task, so a
    source that is briefly away when the flow starts is retried like a table's run."""
    from learnsync.pipelines.catalog import Profile
    from learnsync.pipelines.sync import plan

    with open_reader(job) as reader:
        return [s.name for s in plan(reader, Profile(job.profile), tables)]


@task(name="reach-destination", **RETRIES)
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


@task(name="sync-table", task_run_name="{mode} {table}", **RETRIES)
def run_table(
    job: Job,
    table: str,
    mode: str = Mode.INCREMENTAL.value,
    windows: Sequence[tuple[Any, Any]] = ((None, None),),
    lane: Optional[int] = None,
    reset_history: bool = False,
) -> dict[str, Any]:
    """Run one table; a backfill lane runs its windows one after another on its own staging dataset.
    `reset_history` (a full refresh only) drops the versions of a table kept with history (`sync_table`)."""
    import hashlib

    from learnsync.destinations import resolve
    from learnsync.pipelines.catalog import Profile
    from learnsync.pipelines.sync import drop_staging, plan, sync_table

    from prefect.concurrency.sync import concurrency

    logger = get_run_logger()
    if flow_run_cancelled():
        logger.warning("%s not started; rerun to sync it", table)
        return summary(TableResult(table, mode, started=False))
    # a lane merges through a staging dataset of its own (dlt stages one table per dataset), named per table too,
    # so dropping it when the lane is done never touches another backfill's lane
    suffix = "" if lane is None else f"_bf{lane}_{hashlib.sha1(table.encode()).hexdigest()[:6]}"
    target = resolve(job.destination, job.dataset, staging_suffix=suffix)
    total: Optional[TableResult] = None
    # without a limit of that name (no max_connections given) this does not wait
    try:
        with concurrency(connection_limit(target), occupy=CONNECTIONS_PER_TABLE, strict=False), \
                open_reader(job) as reader:
            spec = plan(reader, Profile(job.profile), [table])[0]
            for start, end in windows:
                result = sync_table(
                    reader, spec, target, job.dataset, job.profile, Mode(mode), start, end,
                    pipeline_suffix="" if lane is None else f"__bf{lane}",
                    # a backfill's lanes share the table lock their flow holds
                    lock_timeout=None if lane is not None else LOCK_TIMEOUT,
                    should_stop=flow_run_cancelled, reset_history=reset_history,
                )
                logger.info("%s %s [%s, %s): %s rows in %.1f s", mode, table, start, end, result.rows, result.seconds)
                if not result.ok:
                    raise TableFailed(result)
                if total is None:
                    total = result
                else:
                    total.rows += result.rows
                    total.seconds += result.seconds
                    total.windows += result.windows
                    total.new_cursor, total.interrupted = result.new_cursor, result.interrupted
                if result.interrupted:
                    logger.warning("%s", total.stopped_line())
                    break
    finally:
        if lane is not None:  # the lane's staging holds nothing the destination needs once the lane is done
            drop_staging(target, job.dataset)
    assert total is not None
    return summary(total)


@task(name="reconcile-table", task_run_name="reconcile {table}", **RETRIES)
def reconcile_table_task(job: Job, table: str, dry_run: bool = False) -> dict[str, Any]:
    """Reconcile one table; its report row (rows checked, buckets, updated/inserted/deleted, rows fetched)."""
    from learnsync.destinations import resolve
    from learnsync.pipelines.catalog import Profile
    from learnsync.pipelines.reconcile import reconcile_table
    from learnsync.pipelines.sync import plan

    with open_reader(job) as reader:
        spec = plan(reader, Profile(job.profile), [table])[0]
        result = reconcile_table(reader, spec, resolve(job.destination, job.dataset), job.dataset, job.profile, dry_run)
    get_run_logger().info("reconcile %s: %s", table, result)
    if not result.ok:
        raise TableFailed(TableResult(table, result.method, error=result.error))
    return result.as_dict()
