"""One table's run: locked, resumed, compared with the lookback, then read and loaded window by window."""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack
from datetime import datetime, timezone
from typing import Any, Optional

import dlt
from dlt.pipeline.exceptions import PipelineStepFailed

from learnsync.destinations import Target
from learnsync.errors import LearnsyncError
from learnsync.pipelines import lookback
from learnsync.catalog.tables import TableSpec
from learnsync.pipelines.snowflake.connection import source_lost
from learnsync.pipelines.snowflake.reader import ShareReader, WindowStream
from learnsync.pipelines.snowflake.windows import FUTURE_TOLERANCE
from learnsync.pipelines.source.resource import make_incremental, share_table
from learnsync.pipelines.sync.appended import appends, check as check_appended, owed as check_owed, unstaged
from learnsync.pipelines.sync.context import RunContext
from learnsync.pipelines.sync.ddl import remove_days, write_comments, write_indexes
from learnsync.pipelines.sync.failures import failed_line, failure_counter, root_cause
from learnsync.pipelines.sync.pipeline import (
    destination_namer, rows_normalized, source_name, stored_cursor,
)
from learnsync.pipelines.sync.recovery import discard_pending, lost_in_destination, resume
from learnsync.pipelines.sync.results import Mode, TableResult, record_run, split_rows
from learnsync.pipelines.sync.schema import drift_options, history_options, key_text_migration, versioned_disposition
from learnsync.pipelines.upgrade import upgrade as upgrade_fingerprints

log = logging.getLogger("learnsync.sync")


def sync_table(
    reader: ShareReader,
    spec: TableSpec,
    run: RunContext,
    mode: Mode = Mode.INCREMENTAL,
    start: Any = None,
    end: Any = None,
    lookback_check: Optional[tuple[Any, lookback.LookbackCheck]] = None,
) -> TableResult:
    """Sync one table in `run` (its destination, dataset, pipeline names, lock, reporting and stop check).
    Incremental and backfill runs commit window by window (rows and cursor together); a backfill reads exactly
    [start, end). A full refresh is one run whose tables are swapped in from staging, so readers never see them
    half-done. The table is locked for the run unless `run.lock_timeout` is None (the caller holds the lock). When
    `run.should_stop()` turns True the run stops after the window in flight committed (`interrupted`).

    Every Snowflake query of the run is tagged with the table and mode (`ShareReader.tagged`) and counted in
    `queries` / `snowflake_seconds`. With `run.run_id` (and the table's own lock), the run is appended to the
    dataset's run history (`run_history.RUNS_TABLE`) before the lock is released, failed runs too (best effort; a
    run that never got the lock is not recorded).

    A table kept with history (`spec.history`) is never replaced: a full refresh merges the whole share as
    versions and closes the current versions of rows the share no longer has (`pipelines.history`); only
    `run.reset_history` (with `Mode.FULL_REFRESH`) drops its versions and starts its history again. Turning history
    off for a table that holds versions needs `reset_history`, else the run fails with a LearnsyncError saying so.

    `lookback_check`: (a stored cursor, the `lookback.LookbackCheck` made from it moments ago by
    `unchanged_tables`); an incremental run whose stored cursor is that one uses it instead of comparing again."""
    target = run.target
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
                locked.enter_context(run.lock(spec))
                pipeline = run.pipeline(spec)
                if (run.lock_timeout is not None and pipeline.default_schema_name is not None
                        and not check_owed(pipeline, spec)):  # keys loaded twice would refuse a primary key
                    # before the load too: an index an earlier learnsync made (a btree over a text key, which a
                    # key longer than 2.7 kB overflows) is replaced before it can refuse this run's rows. Only
                    # for a pipeline that has loaded: without a schema dlt would make one named after the
                    # pipeline, which may exceed its 64-character schema names (and there is no index yet)
                    result.indexes = write_indexes(pipeline, target, spec)
                run_windows(pipeline, spec, stream, run, mode, (start, end), result, lookback_check)
                if run.lock_timeout is not None:
                    # a backfill's lanes share one table without its lock: commenting the same objects at once
                    # collides on Postgres ("tuple concurrently updated"); the table's next locked run writes them
                    result.comments = write_comments(pipeline, target, spec.name)
                    if not check_owed(pipeline, spec):  # a stopped first load: its next run checks, then indexes
                        result.indexes += write_indexes(pipeline, target, spec)
            except PipelineStepFailed as exc:
                log.debug("step failed", exc_info=True)
                root = root_cause(exc)
                if isinstance(root, KeyboardInterrupt):
                    # dlt wraps it like any failure; it is the operator stopping the whole run, not this table
                    raise KeyboardInterrupt from exc
                result.error, result.exception = target.explain(root) or source_lost(root) or failed_line(exc, root), root
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
            split_rows(pipeline, spec, result, mode)
            if run.run_id is not None and run.lock_timeout is not None:
                # still under the table's lock (a DuckDB file takes one writing process)
                record_run(target, run.dataset, result, run.run_id, mode, run.pipelines_dir)
    finally:
        locked.close()
    return result


def run_windows(
    pipeline: dlt.Pipeline, spec: TableSpec, stream: WindowStream, run: RunContext, mode: Mode,
    window: tuple[Any, Any], result: TableResult, known: Optional[tuple[Any, lookback.LookbackCheck]] = None,
) -> None:
    """The table run inside its lock: a left-behind load finished (or discarded for a full refresh), the stored
    schema brought in line, the lookback compared (`known`: a comparison made moments ago), then one dlt run per
    window ([start, end) of `window` for a backfill) until the stream is done or the run is asked to stop."""
    target = run.target
    if mode is Mode.FULL_REFRESH:
        pipeline.sync_destination()
        discard_pending(pipeline, spec, "a full refresh reads everything again")
    else:
        result.rows += resume(pipeline, spec, target, failure_counter(target, run.dataset, spec), result)
        if check_owed(pipeline, spec):  # a first load that was cut off: its check comes before anything else
            with stream.stages.timed("check"):
                check_appended(pipeline, spec, target, stream.reader)
    replace = mode is Mode.FULL_REFRESH
    lost = mode is Mode.INCREMENTAL and lost_in_destination(pipeline, spec, target)
    if lost:
        log.warning("Table %s: the destination no longer holds it (dropped, or its dataset or file was removed)"
                    " though the state on this machine says it was loaded; it is loaded again in full.", spec.name)
    result.old_cursor = None if lost else stored_cursor(pipeline, spec)
    # a lost table: dlt's refresh drops what is left of it (child tables) and its cursor, here and in the destination
    history = {} if lost else history_options(pipeline, spec, mode, run.reset_history)
    options = {**target.run_options, **({"refresh": "drop_resources"} if lost else history
                                        or drift_options(pipeline, spec) or key_text_migration(pipeline, spec, target))}
    if "refresh" not in options and not (replace and not spec.history):  # a table loaded again needs no pass
        names = (source_name(spec), destination_namer(pipeline))
        if upgrade_fingerprints(pipeline, spec, stream.reader, target, names) is not None:
            known = None  # a check made before the pass compared the old fingerprints
    if mode is Mode.INCREMENTAL and "refresh" not in options and result.old_cursor is not None:
        if known is not None and known[0] == result.old_cursor:
            check: Optional[lookback.LookbackCheck] = known[1]
        else:
            with stream.stages.timed("lookback"):
                check = compare_lookback(pipeline, spec, stream.reader, target, result.old_cursor)
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
    # a first load into an empty table appends its windows instead of merging each into what came before; its
    # first window is merged (into an empty table that costs what an append does), so a load of one window owes
    # no check
    append = (mode is Mode.INCREMENTAL and "refresh" not in options and result.old_cursor is None
              and appends(pipeline, spec, target))
    appended = False
    while True:
        incremental = make_incremental(spec, *window) if mode is Mode.BACKFILL else make_incremental(spec)
        stored = pipeline.schemas.get(source_name(spec))
        versioned = versioned_disposition(pipeline, spec, mode) if spec.history else None
        appending = append and stream.windows > 0
        source = share_table.with_args(name=source_name(spec))(
            spec, stream, None if cursorless else incremental, replace, stored, versioned, appending)
        target.adapt(source, spec)
        with unstaged(pipeline, appending):
            pipeline.run(source, **options)
        appended = appended or appending
        stream.stages.add_trace(pipeline.last_trace)
        options = target.run_options  # a reload for a changed type drops the tables once, before the first window
        result.rows += rows_normalized(pipeline, spec)
        result.windows = stream.windows
        if stream.planned_rows is not None:
            result.planned_rows = stream.planned_rows
            result.planned_windows = max(stream.windows, -(-stream.planned_rows // stream.reader.rows_per_window(stream.row_bytes)))
        if run.on_window:
            run.on_window(result)
        if stream.done:
            break
        if run.stopping():
            result.interrupted = True
            break
    if appended and not result.interrupted:  # a stopped run leaves the check to the next one
        with stream.stages.timed("check"):
            check_appended(pipeline, spec, target, stream.reader)
    result.new_cursor = stored_cursor(pipeline, spec)
    if stream.beyond:
        log.warning(
            "Table %s: %d row(s) have %s past %s (the source's current time plus %s; e.g. 9999-12-31 as 'never'):"
            " they are loaded, but the stored cursor ignores them, so every run reads them again.",
            spec.name, stream.beyond, spec.cursor, stream.limit, FUTURE_TOLERANCE,
        )


def compare_lookback(pipeline: dlt.Pipeline, spec: TableSpec, reader: ShareReader, target: Target,
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
