"""The idle check: the tables of an incremental run that need not run at all, found with one query to the share
and one to the destination."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Optional, Sequence

from learnsync.destinations import Target
from learnsync.errors import LearnsyncError
from learnsync.pipelines import lookback
from learnsync.catalog.tables import TableSpec
from learnsync.pipelines.snowflake.reader import ShareReader
from learnsync.pipelines.sync.context import RunContext
from learnsync.pipelines.sync.dataset import catalog_lock, catalog_pipeline
from learnsync.pipelines.sync.pipeline import destination_namer, source_name
from learnsync.pipelines.sync.results import Mode, TableResult, history_row
from learnsync.pipelines.sync.schema import bar_joined_children

log = logging.getLogger("learnsync.sync")


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


def key_text_to_migrate(client: Any, specs: Sequence[TableSpec], name: Callable[[str], str]) -> set[str]:
    """The tables among `specs` whose child tables hold a composite key joined with `|` (`schema.key_text_migration`
    brings them to the length-prefixed text when the table runs), read from the dlt schemas stored in the
    destination (one query, only when a table has a composite key and child tables). A table whose schema cannot
    be read counts as one to migrate: running it is always correct."""
    import json

    keyed = {source_name(s): s for s in specs if len(s.primary_key) > 1 and s.json_columns}
    if not keyed:
        return set()
    try:
        esc = client.escape_column_name
        rows = client.execute_sql(
            f"SELECT {esc('schema_name')}, {esc('schema')}, {esc('inserted_at')}"
            f" FROM {client.make_qualified_table_name('_dlt_version')}"
            f" WHERE {esc('schema_name')} IN ({', '.join(['%s'] * len(keyed))})", *keyed) or []
        newest: dict[str, tuple[Any, str]] = {}
        for schema_name, doc, at in rows:
            if schema_name not in newest or at > newest[schema_name][0]:
                newest[schema_name] = (at, doc)
        return {spec.name for source, spec in keyed.items()
                if source not in newest or bar_joined_children(json.loads(newest[source][1]).get("tables", {}),
                                                               spec, name)}
    except Exception as exc:  # noqa: BLE001 - an optimization: running a table is always correct
        log.info("Could not read the stored schemas (%s); the tables with composite keys run.",
                 " ".join(str(exc).split())[:200])
        return {s.name for s in keyed.values()}


def unchanged_tables(
    reader: ShareReader,
    specs: Sequence[TableSpec],
    run: RunContext,
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
    That query is the run's, not any table's: with `run.run_id`, one run-level row (table `runs.RUN_TABLE`, mode
    `runs.CHECK`) records it, and the skipped tables' rows (mode incremental, 0 rows, 0 queries) go in the same
    insert, so the tables' figures add up to the run's total. Returns an empty `Checked` where nothing qualifies,
    or when the check fails for any reason (logged; the tables then run one by one, which is always correct).
    `recorded`: `recorded_cursors` when the caller read them already. `checks`, when given, receives {table:
    (the recorded cursor, its LookbackCheck)} for the tables that did change, so their runs need not compare
    again (`sync_table`'s `lookback_check`)."""
    from learnsync.pipelines import runs as run_history

    target, dataset, pipelines_dir, run_id = run.target, run.dataset, run.pipelines_dir, run.run_id
    candidates = [s for s in specs if lookback.applies(s)]
    if not candidates or not target.merges or target.dialect is None or not run_history.supported(target):
        return Checked()
    started, started_at = time.monotonic(), datetime.now(timezone.utc)
    before = reader.stats.snapshot()
    try:
        with catalog_lock(target, dataset, run.lock_timeout):
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
            pipeline = catalog_pipeline(target, dataset, pipelines_dir)
            name = destination_namer(pipeline)
            with pipeline.sql_client() as client:
                texts = [f"SELECT {i} AS T, q.* FROM"
                         f" ({lookback.destination_summary(spec, stored[spec.name], client, target.dialect, name)}) q"
                         for i, spec in enumerate(chosen)]
                dest_rows: list[Sequence[Any]] = []
                for group in lookback.batched(texts):
                    dest_rows += client.execute_sql(" UNION ALL ".join(texts[i] for i in group)) or []
                migrating = key_text_to_migrate(client, chosen, name)
            skipped: dict[str, TableResult] = {}
            for i, spec in enumerate(chosen):
                if spec.name in migrating:  # its run migrates it, unchanged or not
                    continue
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
            check_run = TableResult(run_history.RUN_TABLE, run_history.CHECK, started_at=started_at,
                                    seconds=time.monotonic() - started, queries=int(queries),
                                    snowflake_seconds=float(seconds))
            if run_id is not None:
                rows = [history_row(check_run, run_id, run_history.CHECK)]
                rows += [history_row(r, run_id, Mode.INCREMENTAL) for r in skipped.values()]
                run_history.record_many(target, dataset, rows, pipelines_dir)
    except LearnsyncError:
        raise
    except Exception as exc:  # noqa: BLE001 - an optimization: running every table is always correct
        log.info("The check for unchanged tables failed (%s); every table runs.", " ".join(str(exc).split())[:300])
        return Checked()
    log.info("%d of %d table(s) unchanged since their last sync (checked in %.2fs): not run.", len(skipped),
             len(specs), time.monotonic() - started)
    return Checked(skipped, check_run)
