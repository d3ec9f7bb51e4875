"""A run over tables: the idle check first, then each table in turn; a failing table does not stop the others."""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional, Sequence

from learnsync.errors import DestinationUnreachable
from learnsync.pipelines import lookback
from learnsync.catalog.tables import Strategy, TableSpec
from learnsync.pipelines.drift import warn_gone_tables
from learnsync.catalog.naming import unique_names
from learnsync.pipelines.snowflake.reader import ShareReader
from learnsync.pipelines.sync.context import RunContext
from learnsync.pipelines.sync.dataset import synced_tables
from learnsync.pipelines.sync.idle import Checked, unchanged_tables
from learnsync.pipelines.sync.results import Mode, TableResult
from learnsync.pipelines.sync.table import sync_table

log = logging.getLogger("learnsync.sync")


def sync(
    reader: ShareReader,
    specs: Sequence[TableSpec],
    run: RunContext,
    full_refresh: bool = False,
    on_result: Optional[Callable[[TableResult], None]] = None,
    on_check: Optional[Callable[[TableResult], None]] = None,
) -> list[TableResult]:
    """Sync tables one after another in `run`; a failing table does not stop the others. When `run.should_stop()`
    turns True, the table in flight stops after its current window and the tables after it are not started
    (`started=False`); both are passed to `on_result`. `run.reset_history` (with `full_refresh`) drops the versions
    of tables kept with history and starts their history again (see `sync_table`). `on_check` receives the
    run's check for unchanged tables (`Checked.run`), when one was made, before any table's result."""
    results = []
    mode = Mode.FULL_REFRESH if full_refresh else Mode.INCREMENTAL
    checks: dict[str, tuple[Any, lookback.LookbackCheck]] = {}
    checked = Checked() if full_refresh else unchanged_tables(reader, specs, run, checks=checks)
    skipped = checked.skipped
    if checked.run is not None and on_check is not None:
        on_check(checked.run)
    for spec in specs:
        if spec.name in skipped:
            results.append(skipped[spec.name])
            if on_result:
                on_result(skipped[spec.name])
            continue
        if run.stopping():
            res = TableResult(spec.name, spec.strategy.value, started=False)
            results.append(res)
            if on_result:
                on_result(res)
            continue
        if spec.strategy is Strategy.REPLACE:
            log.warning("Table %s has no usable cursor: it is fully reloaded on every run.", spec.name)
        res = sync_table(reader, spec, run, mode, lookback_check=checks.get(spec.name))
        results.append(res)
        if on_result:
            on_result(res)
    if all(r.ok and r.started and not r.interrupted for r in results):
        # after the tables, not before their locks: a DuckDB file takes one process at a time, and a run waiting
        # for another's lock must not open it meanwhile
        try:
            loaded = synced_tables(run.target, run.dataset, run.pipelines_dir)
        except DestinationUnreachable as exc:  # the tables are loaded: this check only warns
            log.warning("%s", exc)
        else:
            warn_gone_tables(loaded, set(unique_names(list(reader.discover())).values()))
    return results
