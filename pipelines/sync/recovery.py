"""Crash recovery: the state restored from the destination, and a load a killed run left behind finished,
discarded or set aside."""

from __future__ import annotations

import logging
from typing import Optional

import dlt
from dlt.common.exceptions import TerminalException
from dlt.pipeline.exceptions import PipelineStepFailed

from learnsync.destinations import Target
from learnsync.catalog.tables import TableSpec
from learnsync.pipelines.sync.failures import SET_ASIDE_AFTER, Failures, error_line, reason, root_cause
from learnsync.pipelines.sync.pipeline import destination_name, rows_normalized, stored_cursor
from learnsync.pipelines.sync.results import TableResult

log = logging.getLogger("learnsync.sync")


def resume(pipeline: dlt.Pipeline, spec: TableSpec, target: Target, failures: Optional[Failures] = None,
           result: Optional[TableResult] = None) -> int:
    """Restore the state kept in the destination (a fresh machine) and finish a load a killed run left behind
    (its rows and cursor go together); returns the rows that load normalized now (0 if normalized before).

    A left-behind load that fails for a lasting reason is discarded with its state (its rows are read again from
    the share). A transient failure raises PipelineStepFailed and the package stays for the next run, unless
    `failures` says the runs before failed the same way SET_ASIDE_AFTER - 1 times: whatever dlt calls the error,
    such a load is set aside then (aborted: dlt restores the state from before it, so the stored cursor never
    passes its rows, which are read again from the share), said in one line naming the table, the error and the
    rows, and kept in `result.set_aside`."""
    if not pipeline.has_pending_data:
        # dlt restores the state from the destination in a pipeline object's first `run`, once: a run without data
        # does only that (nothing is pending), so the window runs after it do not ask the destination again
        pipeline.run()
        return 0
    pipeline.sync_destination()  # restoring may discard what is pending (a dataset that is gone)
    if not pipeline.has_pending_data:
        return 0
    if lost_in_destination(pipeline, spec, target):  # its rows would go into a table that lost the rows before them
        discard_pending(pipeline, spec, "the destination no longer holds the table")
        return 0
    log.warning("Table %s: completing the load a previous run left unfinished.", spec.name)
    try:
        pipeline.run(None, **target.run_options)
    except PipelineStepFailed as exc:
        root = root_cause(exc)
        if not isinstance(root, TerminalException):
            error = error_line(exc, root, target)
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
        discard_pending(pipeline, spec, f"it failed again: {reason(exc)}", always=True)
        return 0
    return rows_normalized(pipeline, spec)


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


def discard_pending(pipeline: dlt.Pipeline, spec: TableSpec, why: str, always: bool = False) -> None:
    """Abort load packages an earlier run left (dlt restores the state from before them: nothing committed is
    lost, their rows are read again from the share)."""
    pending = pipeline.has_pending_data
    if pending or always:
        log.warning("Table %s: discarded the load an earlier run left unfinished (%s); its rows are read again"
                    " from the share.", spec.name, why)
    if pending:
        pipeline.abort_packages()


def lost_in_destination(pipeline: dlt.Pipeline, spec: TableSpec, target: Target) -> bool:
    """True when this machine's state says the table was loaded (a stored cursor) but the destination no longer
    holds it: the table was dropped, or the whole dataset or DuckDB file was removed. dlt restores the state from
    the destination and wipes the local one only when the dataset is gone entirely; once another table's run has
    made the dataset again, it keeps the local cursor (dlt 1.x `Pipeline._sync_destination`), and the table would
    get only the rows past a cursor its rows never reached. One look at the destination's catalog
    (`Target.present`), only for a table with a stored cursor."""
    if stored_cursor(pipeline, spec) is None:
        return False
    from dlt.destinations.job_client_impl import SqlJobClientBase

    with pipeline.destination_client() as client:
        if not isinstance(client, SqlJobClientBase):  # files: every run rewrites the table whole
            return False
        name = destination_name(pipeline, spec.dest_name)
        return name not in target.present(client, [name])
