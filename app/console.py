"""What the CLI and the demo print while they sync: one line per table as it finishes, and on a terminal a
Rich progress display of the tables in flight.

Above the engine (`learnsync.pipelines.sync`), beside the CLI and the demo, which both use it.
"""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

import typer

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the engine is imported when a sync starts: `learnsync --help` must not pay for dlt
    from learnsync.destinations import Target
    from learnsync.catalog.tables import Profile
    from learnsync.pipelines.snowflake.reader import ShareReader
    from learnsync.pipelines.sync import TableResult
from learnsync.defaults import LOCK_TIMEOUT


def fmt(value: Any) -> str:
    """`value` as printed in a table line: "-" for None (no None in any output)."""
    return "-" if value is None else str(value)


def run_sync(
    reader: ShareReader, prof: Profile, target: Target, dataset: str, tables: Optional[list[str]],
    full_refresh: bool, pipelines_dir: Optional[str] = None, lock_timeout: Optional[float] = None,
    should_stop: Optional[Callable[[], bool]] = None, run_id: Optional[str] = None, progress: bool = True,
    reset_history: bool = False,
) -> list[TableResult]:
    """Plan and sync `tables` (None: every table of the profile), printing one line per table as it finishes (a
    stopped run: what each table committed): rows (new / re-read), seconds, windows, Snowflake queries and their
    seconds, cursor before -> after. With `progress` on a terminal, a Rich display shows the tables in flight
    (`_Live`). Waits up to `lock_timeout` s (None: LOCK_TIMEOUT) for another run's table. Raises LearnsyncError
    before any table for a destination that cannot be reached or a bad table name; a table's own failure is in
    its result, never raised. Returns the results in table order. `reset_history` (with `full_refresh`) drops
    the versions of tables kept with history."""
    from learnsync.pipelines.sync import RunContext, new_dataset_line, plan, sync, synced_tables

    specs = plan(reader, prof, tables)

    lock_timeout = LOCK_TIMEOUT if lock_timeout is None else lock_timeout
    # the destination is reached once before the tables: down, it is one line and exit 2, not one per table
    if not synced_tables(target, dataset, pipelines_dir, lock_timeout):
        typer.echo(new_dataset_line(target, dataset))
    typer.echo(f"Syncing {len(specs)} table(s) of profile {prof.value} into {target.display} dataset {dataset}")

    with _progress_display(progress and sys.stdout.isatty()) as display:

        def window(r: Any) -> None:
            display.update(r)

        def show(r: Any) -> None:
            display.done(r, table_line(r))

        checks: list[TableResult] = []

        def check(r: TableResult) -> None:
            checks.append(r)
            display.done(r, f"  {'(check)':<28} {len(specs)} table(s) compared with the share in one query"
                            f"  {r.seconds:6.1f}s  snowflake {r.queries} queries {r.snowflake_seconds:.1f}s")

        run = RunContext.of(target, dataset, prof.value, pipelines_dir=pipelines_dir, lock_timeout=lock_timeout,
                            run_id=run_id, on_window=window, should_stop=should_stop, reset_history=reset_history)
        results = sync(reader, specs, run, full_refresh, on_result=show, on_check=check)
    typer.echo(cost_line(reader.stats.snapshot(), results, checks))
    return results


def cost_line(total: tuple[int, float], results: list[TableResult], checks: list[TableResult]) -> str:
    """The run's Snowflake queries and seconds, split so that the printed lines add up to it: the tables' own, the
    check for unchanged tables, and the rest (reading the share's catalog). Every query wakes the warehouse,
    which bills at least a minute."""
    queries, seconds = total
    tables = sum(r.queries for r in results)
    check = sum(r.queries for r in checks)
    unchanged = sum(1 for r in results if r.unchanged)
    return (f"Snowflake: {queries} queries, {seconds:.1f}s in all ({tables} by the tables, {check} for the check,"
            f" {queries - tables - check} reading the share's catalog); {unchanged} of {len(results)} table(s)"
            " unchanged since their last sync")


def table_line(r: Any) -> str:
    """A table run's line: rows (new / re-read), seconds, windows, Snowflake queries and seconds, cursor before ->
    after, and ok or the failure; a stopped run: what it committed."""
    if r.ok and (r.interrupted or not r.started):
        return f"  {r.stopped_line()}"
    status = "ok" if r.ok else f"FAILED: {r.error}"
    line = (
        f"  {r.table:<28} {r.strategy:<8} rows {r.rows:>9} ({r.rows_new} new, {r.rows_reread} re-read)"
        f"  {r.seconds:6.1f}s  windows {r.windows}  snowflake {r.queries} queries {r.snowflake_seconds:.1f}s"
        f"  cursor {fmt(r.old_cursor)} -> {fmt(r.new_cursor)}  {status}"
    )
    notes = [r.values.line()] + ([f"{r.days_removed} day(s) the share no longer has removed"]
                                 if r.days_removed else []) + ([r.set_aside] if r.set_aside else [])
    if any(notes):
        line += f"  ({', '.join(n for n in notes if n)})"
    return line


class _Plain:
    """Progress without a display: only each table's final line (not a terminal, or --no-progress)."""

    def update(self, r: Any) -> None:
        pass

    def done(self, r: Any, line: str) -> None:
        typer.echo(line)


class _Live:
    """A Rich progress display, one line per table in flight: windows done of planned, rows of planned, rate, ETA
    (from the rows Snowflake counted when the run planned its first window); each table's final line is printed
    above it when the table ends. A failure of the display itself never stops a sync: it falls back to the plain
    lines (`_Plain`) for the rest of the run."""

    def __init__(self, progress: Any) -> None:
        # table -> (Rich task id, monotonic start); Rich's `Progress.tasks` is a list, and a task id is not its
        # index once an earlier task was removed, so nothing here indexes that list
        self.progress, self.tasks, self.broken = progress, {}, False

    def update(self, r: Any) -> None:
        if not self.broken:
            self._guarded(self._update, r)

    def done(self, r: Any, line: str) -> None:
        if self.broken:
            typer.echo(line)
            return
        self._guarded(self._done, r, line)

    def _update(self, r: Any) -> None:
        import time

        if r.table not in self.tasks:
            self.tasks[r.table] = (self.progress.add_task(r.table, total=None, windows="", rows="", rate=""),
                                   time.monotonic())
        task, started = self.tasks[r.table]
        windows = f"window {r.windows} of {r.planned_windows}" if r.planned_windows else f"window {r.windows}"
        total = max(r.planned_rows or 0, r.rows) or None
        rows = f"{r.rows:,} of {total:,} rows" if total else f"{r.rows:,} rows"
        self.progress.update(task, completed=r.rows, total=total, windows=windows, rows=rows,
                             rate=f"{r.rows / max(time.monotonic() - started, 1e-3):,.0f} rows/s")

    def _done(self, r: Any, line: str) -> None:
        task, _ = self.tasks.pop(r.table, (None, None))
        if task is not None:
            self.progress.remove_task(task)
        self.progress.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def _guarded(self, step: Callable[..., None], *args: Any) -> None:
        try:
            step(*args)
        except Exception as exc:  # noqa: BLE001 - the display is a convenience; the sync's data must not depend on it
            self.broken = True
            logging.getLogger("learnsync").warning("progress display failed (%s: %s); printing plain lines",
                                                   type(exc).__name__, exc)
            if len(args) == 2:
                typer.echo(args[1])


@contextmanager
def _progress_display(enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield _Plain()
        return
    # rich comes with typer (and Prefect)
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("  {task.description:<28}"), BarColumn(bar_width=24), TextColumn("{task.fields[windows]}"),
               TextColumn("{task.fields[rows]}"), TextColumn("{task.fields[rate]}"), TextColumn("ETA"),
               TimeRemainingColumn())
    with Progress(*columns, refresh_per_second=4) as progress:
        yield _Live(progress)
