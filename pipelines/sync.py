"""Run the sync: one dlt pipeline per table, one pipeline run per window, state kept in the destination."""

from __future__ import annotations

import logging
import re
import time
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Callable, ContextManager, Optional, Sequence

import dlt
from dlt.common.destination.exceptions import DestinationUndefinedEntity
from dlt.common.exceptions import TerminalException
from dlt.common.normalizers.naming.snake_case import NamingConvention
from dlt.destinations.exceptions import DatabaseException
from dlt.pipeline.exceptions import PipelineStepFailed

from learnsync.destinations import Target, is_staging
from learnsync.destinations.base import Index, pipeline_name
from learnsync.errors import DestinationUnreachable, LearnsyncError
from learnsync.pipelines.catalog import Profile, Strategy, TableSpec, expected_tables, known_tables, resolve_table, select_tables
from learnsync.pipelines.descriptions import descriptions
from learnsync.pipelines.drift import column_drift, warn_gone_tables
from learnsync.pipelines import lookback
from learnsync.pipelines.history import PARENT_VERSION, scd2_disposition, stored_history
from learnsync.pipelines.naming import unique_names
from learnsync.pipelines.snowflake.connection import source_lost
from learnsync.pipelines.snowflake.reader import ShareReader, WindowStream
from learnsync.pipelines.snowflake.windows import FUTURE_TOLERANCE
from learnsync.pipelines.fingerprint import ROW_HASH, composite_text
from learnsync.pipelines.source.children import KEY_TEXT_HINT, LENGTH_PREFIXED, child_name, parent_column
from learnsync.pipelines.source.resource import cursor_column, make_incremental, share_table
from learnsync.pipelines.source.types import DAY
from learnsync.pipelines.stages import Stages
from learnsync.pipelines.values import ValueCounts
from learnsync.defaults import LOCK_TIMEOUT
from learnsync.settings import TableSettings, read_pii_salt, table_settings

log = logging.getLogger("learnsync.sync")


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


def plan(
    reader: ShareReader,
    profile: Profile,
    tables: Optional[Sequence[str]] = None,
    overrides: Optional[dict[str, TableSettings]] = None,
) -> list[TableSpec]:
    """Discover the share and resolve the tables to sync (in the profile's order), with each table's settings
    from config (or `overrides`). Unknown table names, settings that do not fit and a hash policy without its
    salt are a LearnsyncError, raised before anything is read."""
    discovered = reader.discover()
    refuse_unfit_profile(profile, list(discovered))
    names = select_tables(profile, list(discovered))
    if not tables:
        for missing in sorted(set(expected_tables(profile)) - set(discovered)):
            log.warning("Table %s of the %s model is not in the share; skipped.", missing, profile.value)
    else:
        # identifiers match case-insensitively; the share's own spelling is what gets quoted
        wanted = {t.strip().upper(): t.strip() for t in tables if t.strip()}
        unknown = sorted(w for w in wanted if w not in {n.upper() for n in names})
        if unknown:
            raise LearnsyncError(
                f"Unknown table(s) {', '.join(wanted[u] for u in unknown)}; the share has: {', '.join(names)}."
            )
        names = [n for n in names if n.upper() in wanted]

    def settings(name: str) -> TableSettings:
        return overrides.get(name, TableSettings()) if overrides is not None else table_settings(name)

    # table names unique over the whole share (not only the chosen tables), so a table's name never depends on
    # which tables a run selects
    dest_names = unique_names(list(discovered))
    specs = [replace(resolve_table(profile, n, discovered[n], settings(n)), dest_name=dest_names[n]) for n in names]
    hashing = [s.name for s in specs if s.hashed]
    if hashing and read_pii_salt() is None:
        # never an unhashed load: without the salt nothing is read
        raise LearnsyncError(
            f"Table(s) {', '.join(hashing)} hash columns but no salt is set: put pii_salt = \"...\" under"
            " [sources.learnsync] in .dlt/secrets.toml (or set SOURCES__LEARNSYNC__PII_SALT); keep it secret and stable."
        )
    return specs


def refuse_unfit_profile(profile: Profile, discovered: Sequence[str]) -> None:
    """A vendor profile none of whose documented tables is in the share is a LearnsyncError naming the profile
    that fits (loading the share under the wrong vendor's keys, cursors and comments is never what was meant)."""
    documented = known_tables(profile)
    if not documented or documented & set(discovered):
        return
    fits = [p.value for p in Profile if p is not profile and known_tables(p) & set(discovered)]
    hint = f"--profile {fits[0]}" if fits else "the profile of the vendor whose share this is"
    raise LearnsyncError(f"None of the {profile.value} profile's tables is in the share (it has"
                         f" {', '.join(sorted(discovered)[:5])}{', ...' if len(discovered) > 5 else ''}): use {hint},"
                         " or --profile auto to load a share of another shape.")


SOURCE_PREFIX = "learnsync_"
"""Start of every table's dlt source and schema name (the schemas stored in a dataset are found by it)."""


def source_name(spec: TableSpec) -> str:
    """Each table has its own dlt source and schema, so tables never share mutable state."""
    return f"{SOURCE_PREFIX}{spec.dest_name}"


def stored_cursor(pipeline: dlt.Pipeline, spec: TableSpec) -> Any:
    """The cursor position dlt keeps in the pipeline state (for reports only)."""
    path = cursor_column(spec)
    if path is None:
        return None
    try:
        return pipeline.state["sources"][source_name(spec)]["resources"][spec.dest_name]["incremental"][path][
            "last_value"
        ]
    except (KeyError, TypeError):
        return None


def make_pipeline(
    profile: str, spec: TableSpec, target: Target, dataset: str, pipelines_dir: Optional[str], suffix: str = ""
) -> dlt.Pipeline:
    """The dlt pipeline of one table run: named by `pipeline_name` (+ `suffix` for a backfill lane), its
    state in `pipelines_dir` (None: dlt's default) and in the destination, with learnsync's dlt settings scoped to
    it by name (never global). Never raises for a destination that is down: dlt connects only when it loads."""
    name = pipeline_name(profile, spec.name, target, dataset) + suffix
    # every dlt setting learnsync makes is scoped to this pipeline by its name (dlt looks up `<pipeline>.<section>`
    # first), never global: a user's own pipelines in the same process keep their configuration.
    # Load files stay on this machine; gzipping them was half the time of a Postgres load (measured). A user's
    # `<pipeline>.data_writer.disable_compression` wins.
    if dlt.config.get(f"{name}.data_writer.disable_compression") is None:
        dlt.config[f"{name}.data_writer.disable_compression"] = True
    if target.load_workers is not None:  # a connection budget: dlt's default is 20 threads, each a connection
        dlt.config[f"{name}.load.workers"] = target.load_workers
    # a load job that fails for a lasting reason (a TerminalException) aborts its package and restores the state from before it (dlt 1.31
    # `auto_abort_on_terminal_error`), so the next run reads the window again from the share instead of retrying
    # the same package forever. Not `dlt.config.values(...)`: it restores the whole config document on exit,
    # which undoes what parallel table runs set meanwhile.
    dlt.config[f"{name}.load.auto_abort_on_terminal_error"] = True
    # dlt empties a staging table only before its next load: a full refresh would leave a second copy of the table
    # in <dataset>_staging. dlt's own load option truncates the staging tables right after each load committed
    dlt.config[f"{name}.load.truncate_staging_dataset"] = True
    return dlt.pipeline(
        pipeline_name=name,
        destination=target.destination,
        dataset_name=target.dataset or dataset,
        pipelines_dir=pipelines_dir,
    )


def destination_name(pipeline: dlt.Pipeline, name: str) -> str:
    """The name dlt gives the (already normalized) table or column `name` in the pipeline's destination: the same,
    or shortened with a hash tag past the destination's identifier limit (Postgres: 63 bytes)."""
    return destination_namer(pipeline)(name)


def destination_namer(pipeline: dlt.Pipeline) -> Callable[[str], str]:
    """`destination_name` of one pipeline as a function of the name (the destination's capabilities read once)."""
    caps = pipeline.destination.capabilities()
    return NamingConvention(max_length=caps.max_identifier_length).normalize_path  # keeps `__` of child tables


class Mode(str, Enum):
    """What a table run does with the destination and the stored cursor."""

    INCREMENTAL = "incremental"  # from the stored cursor minus the lookback; moves the cursor
    BACKFILL = "backfill"  # exactly [start, end): merges/replaces that range; never moves the cursor
    FULL_REFRESH = "full_refresh"  # everything, swapped in whole; the cursor restarts from what was read

    def __str__(self) -> str:  # in task run names and messages: "incremental", not "Mode.INCREMENTAL"
        return self.value


def sync_table(
    reader: ShareReader,
    spec: TableSpec,
    target: Target,
    dataset: str,
    profile: str,
    mode: Mode = Mode.INCREMENTAL,
    start: Any = None,
    end: Any = None,
    pipelines_dir: Optional[str] = None,
    pipeline_suffix: str = "",
    lock_timeout: Optional[float] = LOCK_TIMEOUT,
    on_window: Optional[Callable[[TableResult], None]] = None,
    should_stop: Optional[StopCheck] = None,
    run_id: Optional[str] = None,
    reset_history: bool = False,
    lookback_check: Optional[tuple[Any, lookback.LookbackCheck]] = None,
) -> TableResult:
    """Sync one table. Incremental and backfill runs commit window by window (rows and cursor together);
    a full refresh is one run whose tables are swapped in from staging, so readers never see them half-done.
    The table is locked for the run unless `lock_timeout` is None (the caller holds the lock). When
    `should_stop()` turns True the run stops after the window in flight committed (`interrupted`).

    Every Snowflake query of the run is tagged with the table and mode (`ShareReader.tagged`) and counted in
    `queries` / `snowflake_seconds`. With `run_id` (and the table's own lock), the run is appended to the
    dataset's run history (`run_history.RUNS_TABLE`) before the lock is released, failed runs too (best effort; a
    run that never got the lock is not recorded).

    A table kept with history (`spec.history`) is never replaced: a full refresh merges the whole share as
    versions and closes the current versions of rows the share no longer has (`pipelines.history`); only
    `reset_history` (with `Mode.FULL_REFRESH`) drops its versions and starts its history again. Turning history
    off for a table that holds versions needs `reset_history`, else the run fails with a LearnsyncError saying so.

    `lookback_check`: (a stored cursor, the `lookback.LookbackCheck` made from it moments ago by
    `unchanged_tables`); an incremental run whose stored cursor is that one uses it instead of comparing again."""
    if not target.merges and mode is Mode.INCREMENTAL:
        mode = Mode.FULL_REFRESH  # the destination cannot merge: every run rewrites the table whole
    result = TableResult(spec.name, spec.strategy.value, started_at=datetime.now(timezone.utc))
    started = time.monotonic()
    stream = WindowStream(reader, spec)
    queries, seconds = reader.stats.snapshot()
    pipeline: Optional[dlt.Pipeline] = None
    locked = ExitStack()
    try:
        with reader.tagged(spec.name, mode.value):
            try:
                if not target.merges and mode is Mode.BACKFILL:
                    raise LearnsyncError(
                        f"{target.display} cannot merge rows, so a range cannot be backfilled: run a sync.")
                if not target.merges and spec.history:
                    raise LearnsyncError(f"{target.display} cannot merge rows, so it cannot keep the history of"
                                         f" table {spec.name}: turn history off for it, or sync into a database.")
                locked.enter_context(table_lock(target, dataset, spec.name, lock_timeout))
                pipeline = make_pipeline(profile, spec, target, dataset, pipelines_dir, pipeline_suffix)
                if lock_timeout is not None and pipeline.default_schema_name is not None:
                    # before the load too: an index an earlier learnsync made (a btree over a text key, which a
                    # key longer than 2.7 kB overflows) is replaced before it can refuse this run's rows. Only
                    # for a pipeline that has loaded: without a schema dlt would make one named after the
                    # pipeline, which may exceed its 64-character schema names (and there is no index yet)
                    result.indexes = write_indexes(pipeline, target, spec)
                _run(pipeline, spec, stream, mode, start, end, target, result, on_window, should_stop,
                     reset_history, lookback_check, dataset)
                if lock_timeout is not None:
                    # a backfill's lanes share one table without its lock: commenting the same objects at once
                    # collides on Postgres ("tuple concurrently updated"); the table's next locked run writes them
                    result.comments = write_comments(pipeline, target, spec.name)
                    result.indexes += write_indexes(pipeline, target, spec)
            except PipelineStepFailed as exc:
                log.debug("step failed", exc_info=True)
                root = _root(exc)
                if isinstance(root, KeyboardInterrupt):
                    # dlt wraps it like any failure; it is the operator stopping the whole run, not this table
                    raise KeyboardInterrupt from exc
                result.error, result.exception = target.explain(root) or source_lost(root) or _failed(exc, root), root
            except LearnsyncError as exc:
                result.error, result.exception = str(exc), exc
            finally:
                stream.close()
                result.stages = stream.stages
                result.values = stream.values
                result.windows = stream.windows
                result.seconds = time.monotonic() - started
                after = reader.stats.snapshot()
                result.queries, result.snowflake_seconds = after[0] - queries, after[1] - seconds
        if result.stages:
            log.info("Table %s stages: %s", spec.name, result.stages.line())
        if pipeline is not None:
            _split_rows(pipeline, spec, result, mode)
            if run_id is not None and lock_timeout is not None:
                # still under the table's lock (a DuckDB file takes one writing process)
                _record(target, dataset, result, run_id, mode, pipelines_dir)
    finally:
        locked.close()
    return result


def _split_rows(pipeline: dlt.Pipeline, spec: TableSpec, result: TableResult, mode: Mode) -> None:
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
            past = int(client.execute_sql(f"SELECT COUNT(*) FROM {table} WHERE {column} > %s",
                                          result.old_cursor)[0][0])
    except Exception as exc:  # noqa: BLE001 - a report only: the rows and cursor are committed
        log.debug("Table %s: could not count new rows: %s", spec.name, exc)
        return
    result.rows_new = min(past, result.rows)
    result.rows_reread = result.rows - result.rows_new


def _record(target: Target, dataset: str, result: TableResult, run_id: str, mode: Mode,
            pipelines_dir: Optional[str]) -> None:
    from learnsync.pipelines import runs as run_history

    run_history.record(target, dataset, _run_record(result, run_id, mode), pipelines_dir)


def _run_record(result: TableResult, run_id: str, mode: str) -> Any:
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


def table_lock(target: Target, dataset: str, table: str, timeout: Optional[float]) -> ContextManager[None]:
    """The lock of one table in one destination dataset (a no-op when timeout is None)."""
    if timeout is None:
        return nullcontext()
    return target.lock(f"table {table} of dataset {dataset} in {target.display}", timeout)


def _run(
    pipeline: dlt.Pipeline, spec: TableSpec, stream: WindowStream, mode: Mode, start: Any, end: Any,
    target: Target, result: TableResult, on_window: Optional[Callable[[TableResult], None]],
    should_stop: Optional[StopCheck] = None,
    reset_history: bool = False,
    known: Optional[tuple[Any, lookback.LookbackCheck]] = None,
    dataset: str = "",
) -> None:
    if mode is Mode.FULL_REFRESH:
        pipeline.sync_destination()
        _discard_pending(pipeline, spec, "a full refresh reads everything again")
    else:
        result.rows += resume(pipeline, spec, target.run_options, _failures(target, dataset, spec, result), target,
                              result)
    result.old_cursor = stored_cursor(pipeline, spec)
    replace = mode is Mode.FULL_REFRESH
    history = _history_options(pipeline, spec, mode, reset_history)
    options = {**target.run_options, **(history or _drift_options(pipeline, spec)
                                        or _key_text_migration(pipeline, spec, target))}
    if mode is Mode.INCREMENTAL and "refresh" not in options and result.old_cursor is not None:
        if known is not None and known[0] == result.old_cursor:
            check: Optional[lookback.LookbackCheck] = known[1]
        else:
            with stream.stages.timed("lookback"):
                check = _compare_lookback(pipeline, spec, stream.reader, target, result.old_cursor)
        if check is not None and check.unchanged:
            result.unchanged, result.new_cursor = True, result.old_cursor
            return
        if check is not None and check.gone:
            result.days_removed = remove_days(pipeline, spec, check.gone)
            log.warning("Table %s: removed %d day(s) the share no longer has: %s.", spec.name, len(check.gone),
                        ", ".join(map(str, check.gone)))
        if check is not None:
            stream.start_at = check.start
    # a history table's full refresh reads everything without its cursor: dlt resets the incremental state only
    # for a replaced resource, and the stored cursor would cut the rows before it (history is never replaced)
    cursorless = spec.history and replace and not history
    while True:
        incremental = make_incremental(spec, start, end) if mode is Mode.BACKFILL else make_incremental(spec)
        stored = pipeline.schemas.get(source_name(spec))
        versioned = versioned_disposition(pipeline, spec, mode) if spec.history else None
        source = share_table.with_args(name=source_name(spec))(
            spec, stream, None if cursorless else incremental, replace, stored, versioned)
        target.adapt(source, spec)
        pipeline.run(source, **options)
        stream.stages.add_trace(pipeline.last_trace)
        options = target.run_options  # a reload for a changed type drops the tables once, before the first window
        result.rows += _rows_normalized(pipeline, spec)
        result.windows = stream.windows
        if stream.planned_rows is not None:
            result.planned_rows = stream.planned_rows
            result.planned_windows = max(stream.windows, -(-stream.planned_rows // stream.reader.rows_per_window(stream.row_bytes)))
        if on_window:
            on_window(result)
        if stream.done:
            break
        if should_stop is not None and should_stop():
            result.interrupted = True
            break
    result.new_cursor = stored_cursor(pipeline, spec)
    if stream.beyond:
        log.warning(
            "Table %s: %d row(s) have %s past %s (the source's current time plus %s; e.g. 9999-12-31 as 'never'):"
            " they are loaded, but the stored cursor ignores them, so every run reads them again.",
            spec.name, stream.beyond, spec.cursor, stream.limit, FUTURE_TOLERANCE,
        )


def remove_days(pipeline: dlt.Pipeline, spec: TableSpec, days: Sequence[Any]) -> int:
    """Delete an event table's rows of `days` (days the share no longer has: a read replaces only the days it
    reads rows of); returns the days."""
    if not days:
        return 0
    name = destination_namer(pipeline)
    with pipeline.sql_client() as client:
        client.execute_sql(
            f"DELETE FROM {client.make_qualified_table_name(name(spec.dest_name))}"
            f" WHERE {client.escape_column_name(name(DAY))} IN ({', '.join('%s' for _ in days)})", *days)
    return len(days)


def _compare_lookback(pipeline: dlt.Pipeline, spec: TableSpec, reader: ShareReader, target: Target,
                      stored: Any) -> Optional[lookback.LookbackCheck]:
    """`lookback.compare` for one incremental run, or None where it does not apply or failed (the run then reads
    its whole lookback, as without it; a failure is logged, never raised)."""
    if target.dialect is None or not lookback.applies(spec):
        return None
    try:
        with pipeline.sql_client() as client:
            check = lookback.compare(reader, spec, client, target.dialect, destination_namer(pipeline),
                                     stored)
    except Exception as exc:  # noqa: BLE001 - an optimization: the whole lookback is always correct
        log.info("Table %s: the lookback comparison failed (%s); reading the whole lookback.", spec.name,
                 " ".join(str(exc).split())[:300])
        return None
    log.info("Table %s: lookback %d bucket(s), %d differ; reading from %s.", spec.name, check.buckets,
             check.differing, "nowhere (unchanged)" if check.unchanged else check.start)
    return check


SET_ASIDE = "set_aside"
"""The run history's outcome of a run that set a load aside (and then went on, `TableResult.set_aside`)."""
SET_ASIDE_AFTER = 3
"""Runs in a row a left-behind load may fail the same way before it is set aside."""

Failures = Callable[[str], int]
"""A failure's one line -> how many runs in a row before this one failed with that line."""


def resume(pipeline: dlt.Pipeline, spec: TableSpec, run_options: dict[str, Any],
           failures: Optional[Failures] = None, target: Optional[Target] = None,
           result: Optional[TableResult] = None) -> int:
    """Restore the state kept in the destination (a fresh machine) and finish a load a killed run left behind
    (its rows and cursor go together); returns the rows that load normalized now (0 if normalized before).

    A left-behind load that fails for a lasting reason is discarded with its state (its rows are read again from
    the share). A transient failure raises PipelineStepFailed and the package stays for the next run, unless
    `failures` says the runs before failed the same way SET_ASIDE_AFTER - 1 times: whatever dlt calls the error,
    such a load is set aside then (aborted: dlt restores the state from before it, so the stored cursor never
    passes its rows, which are read again from the share), said in one line naming the table, the error and the
    rows, and kept in `result.set_aside`."""
    pipeline.sync_destination()
    if not pipeline.has_pending_data:
        return 0
    log.warning("Table %s: completing the load a previous run left unfinished.", spec.name)
    try:
        pipeline.run(None, **run_options)
    except PipelineStepFailed as exc:
        root = _root(exc)
        if not isinstance(root, TerminalException):
            error = _error_line(exc, root, target)
            if failures is None or failures(error) < SET_ASIDE_AFTER - 1:
                raise
            rows = _pending_rows(pipeline, spec)
            line = (f"a load of {rows} row(s) failed {SET_ASIDE_AFTER} runs in a row the same way ({error}); it was"
                    " set aside and its rows are read again from the share")
            log.warning("Table %s: %s.", spec.name, line)
            if result is not None:
                result.set_aside = line
            pipeline.abort_packages()
            return 0
        # the destination refuses it for good: dlt aborted the package and restored the state from before it
        _discard_pending(pipeline, spec, f"it failed again: {_reason(exc)}", always=True)
        return 0
    return _rows_normalized(pipeline, spec)


def _error_line(exc: PipelineStepFailed, root: BaseException, target: Optional[Target]) -> str:
    """A failed step's error as the run history keeps it (`TableResult.error`, one line)."""
    from learnsync.pipelines import runs as run_history

    text = (target.explain(root) if target is not None else None) or source_lost(root) or _failed(exc, root)
    return run_history.one_line(text) or ""


def _failures(target: Target, dataset: str, spec: TableSpec, result: TableResult) -> Failures:
    """`resume`'s count of earlier runs in a row that failed with a given line (the run history; 0 without one)."""
    from learnsync.pipelines import runs as run_history

    def count(error: str) -> int:
        if not dataset or not run_history.supported(target):
            return 0
        try:
            runs = run_history.read(target, dataset, spec.name, limit=SET_ASIDE_AFTER)
        except Exception:  # noqa: BLE001 - no history to read: the load stays, as without this check
            return 0
        n = 0
        for run in runs:
            if run_history.kind(run.mode) != "sync" or run.outcome != "failed" or _shape(run.error) != _shape(error):
                break
            n += 1
        return n

    return count


def _shape(error: Optional[str]) -> str:
    """An error line with its numbers masked: the same failure names another retry's job file (`.4.parquet`,
    `.9.parquet`) or another tuple on every run."""
    return re.sub(r"\d+", "#", error or "")


def _pending_rows(pipeline: dlt.Pipeline, spec: TableSpec) -> int:
    """Parent rows in the pipeline's pending load packages (from their parquet files' metadata)."""
    import pyarrow.parquet as pq

    rows = 0
    for load_id in pipeline.list_normalized_load_packages():
        for jobs in pipeline.get_load_package_info(load_id).jobs.values():
            for job in jobs:
                if job.job_file_info.table_name == spec.dest_name and job.file_path.endswith(".parquet"):
                    try:
                        rows += pq.ParquetFile(job.file_path).metadata.num_rows
                    except Exception:  # noqa: BLE001 - a report only
                        pass
    return rows


def _discard_pending(pipeline: dlt.Pipeline, spec: TableSpec, why: str, always: bool = False) -> None:
    """Abort load packages an earlier run left (dlt restores the state from before them: nothing committed is
    lost, their rows are read again from the share)."""
    pending = pipeline.has_pending_data
    if pending or always:
        log.warning("Table %s: discarded the load an earlier run left unfinished (%s); its rows are read again"
                    " from the share.", spec.name, why)
    if pending:
        pipeline.abort_packages()


def write_comments(pipeline: dlt.Pipeline, target: Target, table: str) -> int:
    """Write the descriptions of the pipeline's tables as comments where the destination needs learnsync to.

    A failure only warns: the rows and cursor are committed, and the next run writes what is missing."""
    if target.describe is None:
        return 0
    try:
        with pipeline.sql_client() as client:
            return target.describe(client, descriptions(pipeline.default_schema))
    except DatabaseException as exc:  # e.g. a loader role that does not own the tables (Postgres)
        log.warning("Table %s: loaded, but its comments were not written: %s", table, " ".join(str(exc).split())[:300])
        return 0


def write_indexes(pipeline: dlt.Pipeline, target: Target, spec: TableSpec) -> int:
    """Give a merged table its primary key (one row per key after the merge) and its child tables an index on
    `parent_<key>`, where the destination needs learnsync to; returns statements run.

    A failure only warns (rows and cursor are committed; e.g. a loader that does not own the tables)."""
    if target.index is None or spec.strategy is not Strategy.MERGE or not spec.primary_key:
        return 0
    name = destination_namer(pipeline)  # dlt shortens names past the identifier limit
    # a history table holds a row per version: its key is indexed, not unique
    wanted = [Index(name(spec.dest_name), tuple(map(name, spec.key_dest)), not spec.history)]
    wanted += [Index(name(child_name(spec, c)), (name(parent_column(spec)),), False) for c in spec.json_columns]
    if spec.history:  # a version's child rows are merged and joined by the version's fingerprint
        wanted += [Index(name(child_name(spec, c)), (name(PARENT_VERSION),), False) for c in spec.json_columns]
    try:
        with pipeline.sql_client() as client:
            return target.index(client, wanted)
    except DatabaseException as exc:
        log.warning("Table %s: loaded, but its key and indexes were not added: %s", spec.name,
                    " ".join(str(exc).split())[:300])
        return 0


def versioned_disposition(pipeline: dlt.Pipeline, spec: TableSpec, mode: Mode) -> dict[str, Any]:
    """The scd2 write disposition of a history table for this run: a full refresh (the whole share read) may
    close any current version it did not read; any other run only the versions of the keys it read."""
    escape = pipeline.destination.capabilities().escape_identifier
    return scd2_disposition(spec, escape, "all" if mode is Mode.FULL_REFRESH else "keys")


def _history_options(pipeline: dlt.Pipeline, spec: TableSpec, mode: Mode, reset: bool) -> dict[str, Any]:
    """`pipeline.run` options for the table's history: drop it and load again (dlt's `refresh="drop_resources"`:
    its tables, child tables and cursor) when history starts for a table loaded before, or when the history is
    reset; {} otherwise. Raises LearnsyncError for history turned off on a table that holds versions (without
    `reset`): nothing erases history unless asked."""
    schema = pipeline.schemas.get(source_name(spec))
    stored = schema.tables.get(destination_name(pipeline, spec.dest_name), {}).get("columns", {}) if schema else {}
    versions = stored_history(stored)
    if versions is None:
        return {}
    if reset and mode is Mode.FULL_REFRESH and (spec.history or versions):
        log.warning("Table %s: --reset-history: its versions are dropped and it is loaded again%s.", spec.name,
                    "; its history starts now" if spec.history else "")
        return {"refresh": "drop_resources"}
    if versions and not spec.history:
        raise LearnsyncError(
            f"Table {spec.name} holds history (valid_from/valid_to) but history is off in its config: turn it back"
            f" on, or run `learnsync sync --full-refresh --reset-history --tables {spec.name}` to drop its history.")
    if spec.history and not versions:
        log.warning("Table %s: history is on: the table is loaded again, and its history starts now.", spec.name)
        return {"refresh": "drop_resources"}
    return {}


def _drift_options(pipeline: dlt.Pipeline, spec: TableSpec) -> dict[str, Any]:
    """Warn about columns the share dropped; reload the table from scratch when a column's type changed
    (dlt cannot alter a column's type, and loading into the old type would cut values)."""
    schema = pipeline.schemas.get(source_name(spec))
    stored = schema.tables.get(destination_name(pipeline, spec.dest_name), {}).get("columns", {}) if schema else {}
    changed, gone = column_drift(stored, spec, lambda name: destination_name(pipeline, name))
    for name in gone:
        log.warning("Table %s: column %s is no longer in the share; it stays in the destination, NULL in rows"
                    " loaded from now on.", spec.name, name)
    if not changed:
        return {}
    if spec.history:
        # dlt cannot alter a column's type, and reloading would erase the versions: the operator decides
        raise LearnsyncError(
            f"Table {spec.name}: column(s) {', '.join(changed)} changed type in the share; a table kept with history"
            f" cannot change a column's type in place. Run `learnsync sync --full-refresh --reset-history --tables"
            f" {spec.name}` (its history starts again), or keep a copy of the versions first.")
    log.warning("Table %s: column(s) %s are stored with another type than the share declares (the type changed in"
                " the share, or an earlier learnsync created the column too narrow); the table is reloaded from"
                " scratch so no value is cut.", spec.name, ", ".join(changed))
    # drops the table, its child tables and its cursor, in the destination too
    return {"refresh": "drop_resources"}


def _key_text_migration(pipeline: dlt.Pipeline, spec: TableSpec, target: Target) -> dict[str, Any]:
    """Bring child tables whose parent column holds a composite key's parts joined with `|` (learnsync before
    issue 20: ambiguous, ('a|b', 'c') = ('a', 'b|c')) to the length-prefixed text (`fingerprint.composite_text`).
    A plain table is loaded again (`refresh="drop_resources"`, returned as run options): the old text cannot be
    split back for certain. A history table cannot be reloaded without losing its versions, and needs no split:
    each child row names its parent version, so its parent column is rewritten from that version's key parts in
    one UPDATE per child table (idempotent: a run killed after it rewrites the same text)."""
    if len(spec.primary_key) < 2 or not spec.json_columns or target.dialect is None:
        return {}
    schema = pipeline.schemas.get(source_name(spec))
    name = destination_namer(pipeline)
    old = []
    for col in spec.json_columns:
        columns = schema.tables.get(name(child_name(spec, col)), {}).get("columns", {}) if schema else {}
        parent = columns.get(name(parent_column(spec)))
        if parent is not None and parent.get(KEY_TEXT_HINT) != LENGTH_PREFIXED:
            old.append(name(child_name(spec, col)))
    if not old:
        return {}
    if not spec.history:
        log.warning("Table %s: its child tables hold the composite key joined with '|', which is ambiguous; the"
                    " table is loaded again once with the length-prefixed key text.", spec.name)
        return {"refresh": "drop_resources"}
    d = target.dialect
    with pipeline.sql_client() as client:
        esc = client.escape_column_name
        text = composite_text([d.text(f"p.{esc(name(k))}") for k in spec.key_dest], d.text)
        for child in old:
            client.execute_sql(
                f"UPDATE {client.make_qualified_table_name(child)} AS c SET {esc(name(parent_column(spec)))} = {text}"
                f" FROM {client.make_qualified_table_name(name(spec.dest_name))} AS p"
                f" WHERE c.{esc(name(PARENT_VERSION))} = p.{esc(ROW_HASH)}")
    log.warning("Table %s: the composite key text of its child tables was rewritten length-prefixed.", spec.name)
    return {}


def _rows_normalized(pipeline: dlt.Pipeline, spec: TableSpec) -> int:
    """Parent rows the last run normalized (0 when it only loaded a package normalized earlier)."""
    info = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
    return info.row_counts.get(spec.dest_name, 0) if info else 0


def _root(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None and not isinstance(exc, LearnsyncError):
        exc = exc.__cause__
    return exc


def _failed(exc: PipelineStepFailed, root: BaseException) -> str:
    """A failed step as one line; a load the destination refused for good says what happened to its rows."""
    if exc.step == "load" and isinstance(root, TerminalException) and not isinstance(root, LearnsyncError):
        # dlt's job failure (LoadClientJobFailed) carries a traceback in its message: say the destination's own
        # words, from the client exception or else the traceback's last line
        cause = getattr(root, "client_exception", None)
        lines = [ln for ln in str(getattr(root, "failed_message", "") or root).splitlines() if ln.strip()]
        text = " ".join(str(cause).split()) if cause is not None else (lines[-1].strip() if lines else str(root))
        return (f"the destination refused the load ({text[:400]}). The window was not loaded"
                " and the stored cursor did not move: the next run reads it again from the share; fix the cause"
                " in the destination first.")
    return _reason(exc)


def _reason(exc: BaseException) -> str:
    """The root cause of a failed dlt step as one line (a LearnsyncError inside wins)."""
    root = _root(exc)
    if isinstance(root, LearnsyncError):
        return str(root)
    text = " ".join(str(root).split())
    return f"{type(root).__name__}: {text[:500]}"


def _catalog_pipeline(target: Target, dataset: str, pipelines_dir: Optional[str]) -> dlt.Pipeline:
    """A pipeline that only reads the dataset (dlt's SQL client needs one)."""
    return dlt.pipeline(pipeline_name=pipeline_name("any", "catalog", target, dataset),
                        destination=target.destination, dataset_name=target.dataset or dataset,
                        pipelines_dir=pipelines_dir)


def _catalog_lock(target: Target, dataset: str, timeout: Optional[float]) -> ContextManager[None]:
    if timeout is None:
        return nullcontext()
    return target.lock(dataset_lock_key(target, dataset), timeout)


def dataset_lock_key(target: Target, dataset: str) -> str:
    """The lock held while a run reads or writes what a dataset holds as a whole (its list of learnsync tables,
    the run history), named as a user reads it in a waiting line: "another learnsync run is syncing dataset X"."""
    return f"dataset {dataset} in {target.display}"


def _unreachable(target: Target, exc: BaseException) -> DestinationUnreachable:
    """The destination's failure to answer as one line: its own explanation (a DuckDB file held by another
    program names the program), else the first cause."""
    cause = " ".join(str(_root(exc)).split())[:300] or type(exc).__name__
    return DestinationUnreachable(target.explain(exc) or f"Cannot reach the destination {target.display}: {cause}")


def synced_tables(
    target: Target, dataset: str, pipelines_dir: Optional[str] = None, lock_timeout: Optional[float] = LOCK_TIMEOUT,
) -> list[str]:
    """Tables learnsync loaded into the dataset before (each has its own dlt schema, `learnsync_<table>`); [] for a
    dataset nothing was loaded into. One connection to the destination, under the dataset catalog's lock (a DuckDB
    file takes one process at a time: this waits for another's table run, up to `lock_timeout` s, instead of
    failing). A destination that cannot be reached (down, refusing connections or the login) raises
    DestinationUnreachable with the first cause."""
    pipeline = _catalog_pipeline(target, dataset, pipelines_dir)
    try:
        with _catalog_lock(target, dataset, lock_timeout), pipeline.sql_client() as client:
            try:
                rows = client.execute_sql(
                    f"SELECT DISTINCT schema_name FROM {client.make_qualified_table_name('_dlt_version')}")
            except DestinationUndefinedEntity:  # a dataset nothing was loaded into has no _dlt_version table
                return []
    except DestinationUndefinedEntity:
        return []
    except LearnsyncError:
        raise
    except Exception as exc:  # noqa: BLE001 - drivers raise their own types for a refused connection or login
        raise _unreachable(target, exc) from None
    return sorted(r[0][len(SOURCE_PREFIX):] for r in rows or [] if r[0].startswith(SOURCE_PREFIX))


def drop_staging(target: Target, dataset: str, pipelines_dir: Optional[str] = None) -> None:
    """Drop the staging dataset `target` loads through (a backfill lane's, once the lane is done); a failure only
    warns (it holds no data the destination needs: each load truncates it after committing)."""
    try:
        with _catalog_pipeline(target, dataset, pipelines_dir).sql_client() as client, \
                client.with_staging_dataset() as staging:
            if staging.has_dataset():
                staging.drop_dataset()
    except Exception as exc:  # noqa: BLE001 - cleanup: the data is committed either way
        log.warning("Could not drop the staging dataset of %s: %s", target.display, " ".join(str(exc).split())[:300])


def learnsync_datasets(target: Target, pipelines_dir: Optional[str] = None) -> list[str]:
    """The datasets of the destination holding tables learnsync loaded, sorted ([] where the destination cannot
    list its datasets). Raises DestinationUnreachable like `synced_tables`."""
    if target.datasets is None:
        return []
    try:
        with _catalog_lock(target, "*", LOCK_TIMEOUT), \
                _catalog_pipeline(target, "learnsync_catalog", pipelines_dir).sql_client() as client:
            candidates = target.datasets(client)
    except LearnsyncError:
        raise
    except Exception as exc:  # noqa: BLE001 - as in synced_tables
        raise _unreachable(target, exc) from None
    return sorted(d for d in candidates if not is_staging(d) and synced_tables(target, d, pipelines_dir))


def require_synced(target: Target, dataset: str, pipelines_dir: Optional[str] = None) -> list[str]:
    """`synced_tables` of a dataset that must hold some: none is a LearnsyncError naming the datasets that do (a
    mistyped --dataset must not pass as a dataset with nothing to report). A destination that is not there (a
    DuckDB file that does not exist) is that error too, and nothing is created."""
    if not target.exists():
        raise LearnsyncError(f"{target.display} does not exist: check --dest-uri (LEARNSYNC_DEST_URI), or run"
                             " learnsync sync first.")
    tables = synced_tables(target, dataset, pipelines_dir)
    if tables:
        return tables
    others = learnsync_datasets(target, pipelines_dir)
    where = f"datasets that do: {', '.join(others)}" if others else "no dataset there does"
    raise LearnsyncError(f"Dataset {target.dataset or dataset!r} in {target.display} holds no learnsync tables"
                         f" ({where}); check --dataset (LEARNSYNC_DATASET), or run learnsync sync first.")


def new_dataset_line(target: Target, dataset: str) -> str:
    """The line that says a sync is the first into a dataset (a mistyped --dataset shows here)."""
    return (f"Dataset {target.dataset or dataset} in {target.display} holds no learnsync tables yet: this first sync"
            " creates it and loads every table in full.")


def recorded_cursors(target: Target, dataset: str, pipelines_dir: Optional[str] = None) -> dict[str, str]:
    """{table: the cursor its newest recorded sync stored, as text} for the tables whose newest sync in the run
    history succeeded (one query to the destination; {} when none was recorded or the destination keeps no
    history). Raises what the driver raises for a destination that cannot be read."""
    from learnsync.pipelines import runs as run_history

    if not run_history.supported(target):
        return {}
    newest = run_history.latest(target, dataset, pipelines_dir)
    out: dict[str, str] = {}
    for (table, kind, outcome), ok in newest.items():
        if kind != "sync" or outcome != "ok" or not ok.cursor_after:
            continue
        later = [newest.get((table, "sync", o)) for o in ("failed", "interrupted")]
        if not any(r is not None and r.started_at >= ok.started_at for r in later):
            out[table] = ok.cursor_after
    return out


@dataclass
class Checked:
    """What a run's check for unchanged tables found: the tables that need not run, and the check itself."""

    skipped: dict[str, TableResult] = field(default_factory=dict)
    """{table: its result, `unchanged`, 0 rows, 0 queries}: the check's cost is the run's (`run`), not theirs."""
    run: Optional[TableResult] = None
    """The check as a run-level result (table `runs.RUN_TABLE`, strategy `runs.CHECK`) holding the one share
    query and its seconds; None when no check was made."""


def unchanged_tables(
    reader: ShareReader,
    specs: Sequence[TableSpec],
    target: Target,
    dataset: str,
    pipelines_dir: Optional[str] = None,
    lock_timeout: Optional[float] = LOCK_TIMEOUT,
    run_id: Optional[str] = None,
    recorded: Optional[dict[str, str]] = None,
    checks: Optional[dict[str, tuple[Any, lookback.LookbackCheck]]] = None,
) -> Checked:
    """The tables of an incremental run that need not run at all (`Checked.skipped`), and the check (`.run`).

    A table qualifies when its newest recorded sync (`runs.latest`) succeeded, and the share and the destination
    hold the same rows in the lookback of the cursor that sync stored and past it (`lookback`: the hour buckets'
    counts and fingerprints). All tables are checked in one query to the share and one to the destination
    (plus one to the run history; one more each per `lookback.STATEMENT_BYTES` of SQL, so that a share of hundreds
    of tables stays within Snowflake's statement size), under the dataset catalog's lock; such a table's dlt
    pipeline is never opened.
    On a real account every query wakes a warehouse that bills at least a minute: an idle run costs one query.
    That query is the run's, not any table's: with `run_id`, one run-level row (table `runs.RUN_TABLE`, mode
    `runs.CHECK`) records it, and the skipped tables' rows (mode incremental, 0 rows, 0 queries) go in the same
    insert, so the tables' figures add up to the run's total. Returns an empty `Checked` where nothing qualifies,
    or when the check fails for any reason (logged; the tables then run one by one, which is always correct).
    `recorded`: `recorded_cursors` when the caller read them already. `checks`, when given, receives {table:
    (the recorded cursor, its LookbackCheck)} for the tables that did change, so their runs need not compare
    again (`sync_table`'s `lookback_check`)."""
    from learnsync.pipelines import runs as run_history

    candidates = [s for s in specs if lookback.applies(s)]
    if not candidates or not target.merges or target.dialect is None or not run_history.supported(target):
        return Checked()
    started, started_at = time.monotonic(), datetime.now(timezone.utc)
    before = reader.stats.snapshot()
    try:
        with _catalog_lock(target, dataset, lock_timeout):
            if recorded is None:
                recorded = recorded_cursors(target, dataset, pipelines_dir)
            stored: dict[str, Any] = {}
            for spec in candidates:
                cursor = lookback.parse_cursor(spec, recorded.get(spec.name))
                if cursor is not None:
                    stored[spec.name] = cursor
            chosen = [s for s in candidates if s.name in stored]
            if not chosen:
                return Checked()
            summaries = [lookback.share_summary(reader, spec, stored[spec.name], tag=str(i))
                         for i, spec in enumerate(chosen)]
            texts = [f"SELECT {i} AS T, q.* FROM ({text}) q" for i, (text, _) in enumerate(summaries)]
            share_rows: list[tuple] = []
            for group in lookback.batched(texts):
                params = {k: v for i in group for k, v in summaries[i][1].items()}
                hashed = [chosen[i] for i in group if chosen[i].hashed]
                share_rows += reader.query(" UNION ALL ".join(texts[i] for i in group), params,
                                           hashed[0] if hashed else None)
            pipeline = _catalog_pipeline(target, dataset, pipelines_dir)
            name = destination_namer(pipeline)
            with pipeline.sql_client() as client:
                texts = [f"SELECT {i} AS T, q.* FROM"
                         f" ({lookback.destination_summary(spec, stored[spec.name], client, target.dialect, name)}) q"
                         for i, spec in enumerate(chosen)]
                dest_rows: list[tuple] = []
                for group in lookback.batched(texts):
                    dest_rows += client.execute_sql(" UNION ALL ".join(texts[i] for i in group)) or []
            skipped: dict[str, TableResult] = {}
            for i, spec in enumerate(chosen):
                src = lookback.buckets(r[1:] for r in share_rows if int(r[0]) == i)
                dst = lookback.buckets(r[1:] for r in dest_rows if int(r[0]) == i)
                check = lookback.decide(spec, stored[spec.name], src, dst)
                if not check.unchanged and checks is not None:
                    checks[spec.name] = (stored[spec.name], check)
                if check.unchanged:
                    skipped[spec.name] = TableResult(
                        spec.name, spec.strategy.value, unchanged=True, old_cursor=stored[spec.name],
                        new_cursor=stored[spec.name], started_at=started_at)
            queries, seconds = (a - b for a, b in zip(reader.stats.snapshot(), before))
            run = TableResult(run_history.RUN_TABLE, run_history.CHECK, started_at=started_at,
                              seconds=time.monotonic() - started, queries=int(queries),
                              snowflake_seconds=float(seconds))
            if run_id is not None:
                rows = [_run_record(run, run_id, run_history.CHECK)]
                rows += [_run_record(r, run_id, Mode.INCREMENTAL) for r in skipped.values()]
                run_history.record_many(target, dataset, rows, pipelines_dir)
    except LearnsyncError:
        raise
    except Exception as exc:  # noqa: BLE001 - an optimization: running every table is always correct
        log.info("The check for unchanged tables failed (%s); every table runs.", " ".join(str(exc).split())[:300])
        return Checked()
    log.info("%d of %d table(s) unchanged since their last sync (checked in %.2fs): not run.", len(skipped),
             len(specs), time.monotonic() - started)
    return Checked(skipped, run)


def sync(
    reader: ShareReader,
    specs: Sequence[TableSpec],
    target: Target,
    dataset: str,
    profile: str,
    full_refresh: bool = False,
    pipelines_dir: Optional[str] = None,
    on_result: Optional[Callable[[TableResult], None]] = None,
    lock_timeout: Optional[float] = LOCK_TIMEOUT,
    on_window: Optional[Callable[[TableResult], None]] = None,
    should_stop: Optional[StopCheck] = None,
    run_id: Optional[str] = None,
    reset_history: bool = False,
    on_check: Optional[Callable[[TableResult], None]] = None,
) -> list[TableResult]:
    """Sync tables one after another; a failing table does not stop the others. When `should_stop()` turns
    True, the table in flight stops after its current window and the tables after it are not started
    (`started=False`); both are passed to `on_result`. `reset_history` (with `full_refresh`) drops the versions
    of tables kept with history and starts their history again (see `sync_table`). `on_check` receives the
    run's check for unchanged tables (`Checked.run`), when one was made, before any table's result."""
    results = []
    mode = Mode.FULL_REFRESH if full_refresh else Mode.INCREMENTAL
    checks: dict[str, tuple[Any, lookback.LookbackCheck]] = {}
    checked = Checked() if full_refresh else unchanged_tables(reader, specs, target, dataset, pipelines_dir,
                                                              lock_timeout, run_id, checks=checks)
    skipped = checked.skipped
    if checked.run is not None and on_check is not None:
        on_check(checked.run)
    for spec in specs:
        if spec.name in skipped:
            results.append(skipped[spec.name])
            if on_result:
                on_result(skipped[spec.name])
            continue
        if should_stop is not None and should_stop():
            res = TableResult(spec.name, spec.strategy.value, started=False)
            results.append(res)
            if on_result:
                on_result(res)
            continue
        if spec.strategy is Strategy.REPLACE:
            log.warning("Table %s has no usable cursor: it is fully reloaded on every run.", spec.name)
        res = sync_table(
            reader, spec, target, dataset, profile, mode, pipelines_dir=pipelines_dir, lock_timeout=lock_timeout,
            on_window=on_window, should_stop=should_stop, run_id=run_id, reset_history=reset_history,
            lookback_check=checks.get(spec.name),
        )
        results.append(res)
        if on_result:
            on_result(res)
    if all(r.ok and r.started and not r.interrupted for r in results):
        # after the tables, not before their locks: a DuckDB file takes one process at a time, and a run waiting
        # for another's lock must not open it meanwhile
        try:
            loaded = synced_tables(target, dataset, pipelines_dir)
        except DestinationUnreachable as exc:  # the tables are loaded: this check only warns
            log.warning("%s", exc)
        else:
            warn_gone_tables(loaded, set(unique_names(list(reader.discover())).values()))
    return results
