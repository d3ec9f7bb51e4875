"""The declared Python API: plan, sync, reconcile and backfill a share from Python, as the command line does.

Thin wrappers over the engine (`learnsync.pipelines`): each opens its own connection to the share (its session
tagged like a CLI run's), resolves the destination from its URI and returns what the engine returns. Import them
from the package (`import learnsync; learnsync.sync(...)`): `learnsync/__init__.py` loads this module, and with it
dlt, on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Optional, Union

from learnsync.defaults import LOCK_TIMEOUT, WINDOW_MB, WINDOW_ROWS
from learnsync.destinations import resolve
from learnsync.errors import LearnsyncError
from learnsync.pipelines import backfill as _backfill
from learnsync.pipelines import reconcile as _reconcile
from learnsync.pipelines import sync as _sync
from learnsync.catalog.tables import Profile, TableSpec
from learnsync.catalog.tables import profile as _profile
from learnsync.pipelines.reconcile import ReconcileResult
from learnsync.pipelines.snowflake.cost import QueryTag, new_run_id
from learnsync.pipelines.snowflake.reader import open_share
from learnsync.pipelines.sync import TableResult
from learnsync.settings import ShareCredentials, TableSettings, dataset_name

__all__ = ["backfill", "plan", "reconcile", "sync"]

def plan(
    source: Union[str, ShareCredentials],
    *,
    profile: Union[Profile, str] = "360learning",
    tables: Optional[Sequence[str]] = None,
    overrides: Optional[Mapping[str, TableSettings]] = None,
) -> list[TableSpec]:
    """The tables a sync of the share would load, each with its resolved settings; nothing is written.

    What `learnsync tables` prints: each table's key, cursor, strategy, lookback, child tables and column policies.

    Args:
        source: The share: `snowflake://USER@ACCOUNT/DATABASE/SCHEMA?warehouse=WH&role=ROLE`, its secrets read
            from dlt's providers (`[sources.learnsync.credentials]` in `.dlt/secrets.toml` or
            `SOURCES__LEARNSYNC__CREDENTIALS__*`), or `ShareCredentials` already built.
        profile: The vendor model to apply: `"360learning"`, `"datacamp"` or `"auto"` (any case).
        tables: Table names to plan (matched case-insensitively); None plans every table of the profile.
        overrides: Settings per table name instead of the configured `[sources.learnsync.tables.<TABLE>]` (a
            table missing from the mapping gets the defaults).

    Returns:
        One `TableSpec` per table, in the profile's order.

    Raises:
        LearnsyncError: A malformed source URI, a missing secret, an unknown profile or table, settings that do
            not fit a table, hashed columns without a salt.
        SourceUnreachable: The share cannot be reached (a LearnsyncError too).
    """
    prof = _profile(profile)
    with open_share(source, tag=QueryTag(prof.value, new_run_id(), "tables")) as reader:
        return _sync.plan(reader, prof, tables, None if overrides is None else dict(overrides))


def sync(
    source: Union[str, ShareCredentials],
    destination: Optional[str] = None,
    *,
    profile: Union[Profile, str] = "360learning",
    dataset: str = "learning",
    tables: Optional[Sequence[str]] = None,
    full_refresh: bool = False,
    reset_history: bool = False,
    window_rows: int = WINDOW_ROWS,
    window_mb: float = WINDOW_MB,
    lock_timeout: float = LOCK_TIMEOUT,
    on_result: Optional[Callable[[TableResult], None]] = None,
    should_stop: Optional[Callable[[], bool]] = None,
) -> list[TableResult]:
    """Sync the share's tables into the destination, one after another, as `learnsync sync` does.

    Each table resumes from the cursor stored in the destination; a failing table does not stop the others.

    Args:
        source: The share, as `plan` takes it.
        destination: `duckdb:///path/file.duckdb`, `postgresql://user@host:port/db`,
            `bigquery://PROJECT[/DATASET]?location=EU` or `file:///folder`; None is `duckdb:///./learnsync.duckdb`.
        profile: The vendor model: `"360learning"`, `"datacamp"` or `"auto"`.
        dataset: The destination dataset (schema): letters, digits and underscores.
        tables: Table names to sync; None syncs every table of the profile.
        full_refresh: Reload the tables from scratch, each swapped in whole.
        reset_history: With `full_refresh`, drop the versions of tables kept with history.
        window_rows: Rows per committed window (one dlt load, committed with its cursor).
        window_mb: Megabytes per committed window at most, estimated from the share's row sizes.
        lock_timeout: Seconds to wait for another run syncing the same table.
        on_result: Called with each table's result as the table finishes.
        should_stop: Asked between windows and before each table; True stops the run there (the window in flight
            is committed first, the tables after it are not started).

    Returns:
        One `TableResult` per table, in order; a table's failure is in its `error`, never raised.

    Raises:
        LearnsyncError: Before any table is read: a malformed URI or dataset name, an unknown profile or table,
            `reset_history` without `full_refresh`.
        SourceUnreachable: The share cannot be reached (a LearnsyncError too).
        DestinationUnreachable: The destination cannot be reached (a LearnsyncError too), before any table.
    """
    if reset_history and not full_refresh:
        raise LearnsyncError("reset_history drops history only with full_refresh: pass both.")
    prof, target = _profile(profile), resolve(destination, dataset_name(dataset))
    run_id = new_run_id()
    tag = QueryTag(prof.value, run_id, "full_refresh" if full_refresh else "incremental")
    with open_share(source, window_rows, tag=tag, window_mb=window_mb) as reader:
        specs = _sync.plan(reader, prof, tables)
        # the destination is reached once before the tables: down, it is one error, not one per table
        _sync.synced_tables(target, dataset, lock_timeout=lock_timeout)
        run = _sync.RunContext.of(target, dataset, prof.value, lock_timeout=lock_timeout, should_stop=should_stop,
                                  run_id=run_id, reset_history=reset_history)
        return _sync.sync(reader, specs, run, full_refresh, on_result=on_result)


def reconcile(
    source: Union[str, ShareCredentials],
    destination: Optional[str] = None,
    *,
    profile: Union[Profile, str] = "360learning",
    dataset: str = "learning",
    tables: Optional[Sequence[str]] = None,
    dry_run: bool = False,
    on_result: Optional[Callable[[ReconcileResult], None]] = None,
) -> list[ReconcileResult]:
    """Make the destination equal to the share, as `learnsync reconcile` does: rows changed in place, deleted, or
    missed by the cursor are found by comparing fingerprints, and fixed.

    Args:
        source: The share, as `plan` takes it.
        destination: The destination URI (see `sync`); it must hold tables synced before.
        profile: The vendor model: `"360learning"`, `"datacamp"` or `"auto"`.
        dataset: The destination dataset the tables were synced into.
        tables: Table names to reconcile; None reconciles every table of the profile.
        dry_run: Only report what differs (`ReconcileResult.drift`); nothing is written.
        on_result: Called with each table's result as the table finishes.

    Returns:
        One `ReconcileResult` per table, in order; a table's failure is in its `error`, never raised.

    Raises:
        LearnsyncError: A malformed URI or dataset name, an unknown profile or table, a destination or dataset
            that holds no synced tables.
        SourceUnreachable: The share cannot be reached (a LearnsyncError too).
        DestinationUnreachable: The destination cannot be reached (a LearnsyncError too).
    """
    prof, target = _profile(profile), resolve(destination, dataset_name(dataset))
    with open_share(source, tag=QueryTag(prof.value, new_run_id(), "reconcile")) as reader:
        specs = _sync.plan(reader, prof, tables)
        _sync.require_synced(target, dataset)
        return _reconcile.reconcile(reader, specs, target, dataset, prof.value, dry_run, on_result=on_result)


def backfill(
    source: Union[str, ShareCredentials],
    tables: Sequence[str],
    start: datetime,
    end: datetime,
    destination: Optional[str] = None,
    *,
    profile: Union[Profile, str] = "360learning",
    dataset: str = "learning",
    window_hours: float = 24.0,
    parallel: int = 4,
    lock_timeout: float = LOCK_TIMEOUT,
    on_result: Optional[Callable[[TableResult], None]] = None,
    should_stop: Optional[Callable[[], bool]] = None,
) -> list[TableResult]:
    """Re-read `[start, end)` of tables and merge it into the destination, as `learnsync backfill` does; the
    stored cursors never move, so the next sync goes on from where it was.

    Args:
        source: The share, as `plan` takes it.
        tables: The table names to backfill (at least one).
        start: The range's start, inclusive, read in the tables' cursor columns (as `learnsync backfill --start`).
        end: The range's end, exclusive.
        destination: The destination URI (see `sync`); one that can merge rows (not `file://`).
        profile: The vendor model: `"360learning"`, `"datacamp"` or `"auto"`.
        dataset: The destination dataset.
        window_hours: Hours of the range per window.
        parallel: Windows loaded at once, in lanes (a DuckDB file takes one at a time whatever this says).
        lock_timeout: Seconds to wait for another run syncing the same tables.
        on_result: Called with each table's result once all its windows are done.
        should_stop: Asked between windows; True stops the backfill there (a table not begun is not started).

    Returns:
        One `TableResult` per table, in order; a table's failure is in its `error`, never raised.

    Raises:
        LearnsyncError: Before any window runs: no table named, an end not after the start, a malformed URI or
            dataset name, an unknown profile or table, a destination that cannot merge rows.
        SourceUnreachable: The share cannot be reached (a LearnsyncError too).
    """
    if not tables:
        raise LearnsyncError("Name the tables to backfill: tables=['COURSES', 'USERS'].")
    prof, name = _profile(profile), dataset_name(dataset)
    run_id = new_run_id()
    tag = QueryTag(prof.value, run_id, "backfill")
    run = _sync.RunContext.of(resolve(destination, name), name, prof.value, lock_timeout=lock_timeout,
                              should_stop=should_stop, run_id=run_id)
    return _backfill.backfill(lambda: open_share(source, tag=tag), run, destination, list(tables),
                              _backfill.Span(start, end, window_hours, parallel), on_result=on_result)
