"""What the CLI and the demo print while they sync: one line per table as it finishes.

Above the engine (`learnsync.pipelines.sync`), beside the CLI and the demo, which both use it.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Optional

import typer

from learnsync.pipelines.catalog import Profile
from learnsync.pipelines.snowflake.reader import ShareReader
from learnsync.pipelines.sync import TableResult, new_dataset_line, plan, sync, synced_tables
from learnsync.destinations import Target
from learnsync.settings import LOCK_TIMEOUT


def fmt(value: Any) -> str:
    """`value` as printed in a table line: "-" for None (no None in any output)."""
    return "-" if value is None else str(value)


def run_sync(
    reader: ShareReader, prof: Profile, target: Target, dataset: str, tables: Optional[list[str]],
    full_refresh: bool, pipelines_dir: Optional[str] = None, lock_timeout: Optional[float] = None,
    should_stop: Optional[Callable[[], bool]] = None,
) -> list[TableResult]:
    """Plan and sync `tables` (None: every table of the profile), printing one line per table as it finishes (a
    stopped run: what each table committed); the results in table order. Waits up to `lock_timeout` s (None:
    LOCK_TIMEOUT) for another run's table. Raises LearnsyncError before any table for a destination that cannot
    be reached or a bad table name; a table's own failure is in its result, never raised.
    """
    specs = plan(reader, prof, tables)

    lock_timeout = LOCK_TIMEOUT if lock_timeout is None else lock_timeout
    # the destination is reached once before the tables: down, it is one line and exit 2, not one per table
    if not synced_tables(target, dataset, pipelines_dir, lock_timeout):
        typer.echo(new_dataset_line(target, dataset))
    typer.echo(f"Syncing {len(specs)} table(s) of profile {prof.value} into {target.display} dataset {dataset}")

    tty = sys.stdout.isatty()

    def progress(r: TableResult) -> None:
        # on a terminal, one line that updates after every committed window
        typer.echo(f"\r  {r.table:<28} window {r.windows}, {r.rows} rows so far...", nl=False)

    def show(r: TableResult) -> None:
        if tty:
            typer.echo("\r\033[K", nl=False)
        if r.ok and (r.interrupted or not r.started):
            typer.echo(f"  {r.stopped_line()}")
            return
        status = "ok" if r.ok else f"FAILED: {r.error}"
        typer.echo(
            f"  {r.table:<28} {r.strategy:<8} rows {r.rows:>9}  {r.seconds:6.1f}s  windows {r.windows}"
            f"  cursor {fmt(r.old_cursor)} -> {fmt(r.new_cursor)}  {status}"
        )

    return sync(reader, specs, target, dataset, prof.value, full_refresh, pipelines_dir, on_result=show,
                on_window=progress if tty else None, lock_timeout=lock_timeout, should_stop=should_stop)


