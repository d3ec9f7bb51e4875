"""Backfill: re-read exactly [start, end) of tables, in lanes of windows, without moving any stored cursor.

The engine the CLI runs on its own (lanes as threads, `backfill`) and the Prefect backfill flow runs lane by lane
as tasks (`backfill_lane`); both cut the range and deal its windows the same way (`lanes`).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from datetime import datetime, timedelta
from typing import Any, Callable, Optional, Sequence

from learnsync.destinations import Target, resolve
from learnsync.errors import LearnsyncError
from learnsync.catalog.tables import Profile, TableSpec
from learnsync.pipelines.snowflake.reader import ShareReader
from learnsync.pipelines.sync import (
    Mode, RunContext, TableResult, destination_namer, drop_staging, make_pipeline, plan, resume, source_name,
    sync_table,
)
from learnsync.pipelines.upgrade import upgrade

Window = tuple[datetime, datetime]
OpenReader = Callable[[], AbstractContextManager[ShareReader]]
"""Opens a session on the share: every lane reads through its own (a connector connection is not shared)."""


def backfill_windows(start: datetime, end: datetime, window: timedelta) -> list[Window]:
    """[start, end) cut into windows of `window` (the last one shorter). An end not after the start is a
    LearnsyncError."""
    if end <= start:
        raise LearnsyncError(f"The backfill end {end.isoformat(sep=' ')} must be after its start"
                             f" {start.isoformat(sep=' ')} (the end is exclusive).")
    out, lo = [], start
    while lo < end:
        out.append((lo, min(lo + window, end)))
        lo += window
    return out


def lanes(windows: Sequence[Window], parallel: int) -> list[list[Window]]:
    """The windows dealt round-robin to at most `parallel` lanes (one lane per window at most)."""
    count = max(1, min(parallel, len(windows)))
    return [list(windows[lane::count]) for lane in range(count)]


def lane_target(destination: Optional[str], dataset: str, table: str, lane: int) -> Target:
    """The destination as a lane loads into it: through a staging dataset of its own (dlt merges through one staging
    table per dataset, so two lanes of a table must not share one), named per table too, so dropping it when the
    lane is done never touches another backfill's lane."""
    suffix = f"_bf{lane}_{hashlib.sha1(table.encode()).hexdigest()[:6]}"
    return resolve(destination, dataset, staging_suffix=suffix)


def backfill_lane(
    reader: ShareReader, spec: TableSpec, run: RunContext, windows: Sequence[Window], lane: int,
    on_range: Optional[Callable[[TableResult, Window], None]] = None,
) -> TableResult:
    """Run one lane of `run`: its windows one after another on the lane's own staging dataset (`lane_target`, the
    target of `run`), dropped when the lane ends. The caller holds the table's lock. Returns the lane's windows
    summed; stops at the first failed or interrupted window. `on_range` receives each window's result."""
    total: Optional[TableResult] = None
    target, dataset = run.target, run.given_dataset
    run = run.lane(lane)
    try:
        for window in windows:
            result = sync_table(reader, spec, run, Mode.BACKFILL, window[0], window[1])
            if on_range is not None:
                on_range(result, window)
            total = result if total is None else _add(total, result)
            if not result.ok or result.interrupted:
                break
    finally:  # the lane's staging holds nothing the destination needs once the lane is done
        drop_staging(target, dataset)
    return total if total is not None else TableResult(spec.name, spec.strategy.value, started=False)


def _add(total: TableResult, more: TableResult) -> TableResult:
    """`more`, a later part of the same table's backfill, added into `total`; seconds are the caller's to set."""
    for name in ("rows", "rows_new", "rows_reread", "queries", "snowflake_seconds", "seconds", "windows"):
        setattr(total, name, getattr(total, name) + getattr(more, name))
    total.error, total.exception = total.error or more.error, total.exception or more.exception
    total.interrupted = total.interrupted or more.interrupted
    return total


def combine(table: str, parts: Sequence[TableResult], seconds: float) -> TableResult:
    """One table's lanes as one result: counts summed, the first failure kept, `seconds` the table's wall time
    (lanes run side by side, so their seconds summed would overstate it)."""
    out = TableResult(table, parts[0].strategy if parts else "backfill", started=any(p.started for p in parts))
    for part in parts:
        _add(out, part)
    out.seconds = seconds
    out.old_cursor = out.new_cursor = next((p.old_cursor for p in parts if p.old_cursor is not None), None)
    return out


def upgrade_table(reader: ShareReader, spec: TableSpec, target: Target, dataset: str, profile: str,
                  pipelines_dir: Optional[str] = None) -> Optional[int]:
    """Move the table's fingerprints to the current version (`pipelines.upgrade`) through the table's own pipeline,
    before a backfill's lanes write rows beside them. The caller holds the table's lock."""
    pipeline = make_pipeline(profile, spec, target, dataset, pipelines_dir)
    resume(pipeline, spec, target)
    return upgrade(pipeline, spec, reader, target, (source_name(spec), destination_namer(pipeline)))


def check_destination(target: Target) -> None:
    """A destination that cannot merge rows cannot take a range: a LearnsyncError before anything runs."""
    if not target.merges:
        raise LearnsyncError(f"{target.display} cannot merge rows, so a range cannot be backfilled: run learnsync"
                             " sync (a full reload) instead.")


@dataclass(frozen=True)
class Span:
    """What a backfill re-reads, and how: [start, end) cut into windows of `window_hours`, dealt to `parallel`
    lanes per table."""

    start: datetime
    end: datetime
    window_hours: float = 24.0
    parallel: int = 4


def lanes_at_once(parallel: int, target: Target) -> int:
    """Lanes a backfill runs at once: `parallel` (--parallel), at most what the destination loads at once (a
    DuckDB file: one)."""
    return max(1, min(parallel, target.max_parallel_loads or parallel))


def backfill(
    open_reader: OpenReader, run: RunContext, destination: Optional[str], tables: Sequence[str], span: Span,
    on_result: Optional[Callable[[TableResult], None]] = None,
) -> list[TableResult]:
    """Re-read `span` of `tables` and merge it into the destination of `run` (`destination`, its URI: each lane
    loads through a staging dataset of its own); no stored cursor moves. The range is cut into windows, dealt to
    lanes per table, run as threads (at most `span.parallel` at once, and no more than the destination loads at
    once: a DuckDB file one). Everything a user can get wrong (an end not after the start, an unknown table, a
    destination that cannot merge) is a LearnsyncError raised before any lane starts. Returns one result per table
    (`combine`), each passed to `on_result` when its lanes are done; a table's failure is in its result."""
    windows = backfill_windows(span.start, span.end, timedelta(hours=span.window_hours))
    target, dataset = run.target, run.given_dataset
    check_destination(target)
    with open_reader() as reader:
        specs = plan(reader, Profile(run.profile), list(tables))
    dealt = lanes(windows, span.parallel)
    workers = lanes_at_once(span.parallel, target)

    def run_lane(spec: TableSpec, lane: int) -> TableResult:
        if run.stopping():
            return TableResult(spec.name, spec.strategy.value, started=False)
        with open_reader() as reader:
            lane_run = replace(run, target=lane_target(destination, dataset, spec.name, lane))
            return backfill_lane(reader, spec, lane_run, dealt[lane], lane)

    results = []
    with ExitStack() as locks, ThreadPoolExecutor(max_workers=workers, thread_name_prefix="backfill") as pool:
        for spec in specs:
            locks.enter_context(run.lock(spec))
        with open_reader() as reader:
            for spec in specs:  # before the lanes, which load side by side through pipelines of their own
                upgrade_table(reader, spec, target, dataset, run.profile)
        for i, spec in enumerate(specs):
            began = time.monotonic()
            # a table's first lane runs alone: in a new dataset it creates dlt's own tables, which lanes
            # started together would race to create
            first = [run_lane(spec, 0)] if i == 0 else []
            rest = list(pool.map(lambda lane: run_lane(spec, lane), range(len(first), len(dealt))))
            result = combine(spec.name, first + rest, time.monotonic() - began)
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results
