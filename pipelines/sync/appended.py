"""A first load without merges: into an empty table, a keyed table's windows after the first are appended (dlt's
`append`), and once they are in, the table is checked for keys loaded twice. The first window is merged as
always: into an empty table that costs what an append does, and a load of one window (most small tables) then
owes no check.

A merge deletes the rows of the window's keys before inserting them, which joins each window with the whole
table: a first load of N rows in windows of W rows joins N^2 / 2W rows (287 s of a 16M-row first load into DuckDB,
issue 22). Into an empty table a key can be loaded twice only when the share moved a row between two windows of
the load (its cursor changed while the load ran) or when a load job ran again after a crash between its commit and
dlt's record of it. Both leave a key with two rows, or a child row with two copies. So the windows are appended,
and one check reads the table once (`duplicated_keys`): each key it finds is read again from the share and merged
(the merge replaces every row of the key and its child rows), or deleted with its child rows when the share no
longer has it. The table's dlt state says a check is owed (`APPENDED`, written with each appended window, so a run
killed mid-load leaves it for the next run, which checks before anything else) until the check has run.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import dlt

from learnsync.catalog.fingerprint import composite_text
from learnsync.catalog.layout import child_name, parent_column
from learnsync.catalog.tables import Strategy, TableSpec
from learnsync.destinations import Target
from learnsync.destinations.base import sql_job
from learnsync.pipelines.snowflake.reader import Fetched, ShareReader
from learnsync.pipelines.source.children import POSITION
from learnsync.pipelines.source.resource import APPENDED, share_table
from learnsync.pipelines.sync.pipeline import destination_name, destination_namer, resource_state, source_name

log = logging.getLogger("learnsync.sync")

CHUNK = 500
"""Keys per DELETE statement of keys the share no longer has."""


def appends(pipeline: dlt.Pipeline, spec: TableSpec, target: Target) -> bool:
    """Whether a first load's windows (a run without a stored cursor) are appended: those of a keyed table without
    history or soft deletes, into a database whose table is absent or empty (a table with rows is merged into)."""
    if not (target.merges and target.dialect is not None and spec.strategy is Strategy.MERGE
            and spec.primary_key and not spec.history and not spec.soft_delete):
        return False
    if pipeline.default_schema_name is None:
        return True  # nothing of this table's pipeline in the destination; leftovers would be found by the check
    with pipeline.destination_client() as any_job:
        job = sql_job(any_job)
        name = destination_name(pipeline, spec.dest_name)
        if name not in target.present(job, [name]):
            return True
        client = job.sql_client
        return not client.execute_sql(f"SELECT 1 FROM {client.make_qualified_table_name(name)} LIMIT 1")


@contextmanager
def unstaged(pipeline: dlt.Pipeline, append: bool) -> Iterator[None]:
    """The loads of the block, when `append`, leave the staging dataset alone: they stage nothing, but dlt 1.31's
    `truncate_staging_dataset` (set by `make_pipeline`) creates `<dataset>_staging` after any load
    (`Load._maybe_truncate_staging_dataset` -> `initialize_storage`), without the `_dlt_version` table that a later
    `refresh="drop_resources"` (a table lost in the destination) deletes from: that run failed with
    "Table with name _dlt_version does not exist"."""
    key = f"{pipeline.pipeline_name}.load.truncate_staging_dataset"
    if not append:
        yield
        return
    dlt.config[key] = False
    try:
        yield
    finally:
        dlt.config[key] = True


def owed(pipeline: dlt.Pipeline, spec: TableSpec) -> bool:
    """The table holds appended windows not yet checked."""
    return bool(resource_state(pipeline.state, spec).get(APPENDED))


def check(pipeline: dlt.Pipeline, spec: TableSpec, target: Target, reader: ShareReader) -> int:
    """The check an appended load owes: keys loaded twice read again from the share and merged, or deleted when
    the share no longer has them; then the state says the check is done. Returns the keys put right."""
    if not owed(pipeline, spec):
        return 0
    keys = duplicated_keys(pipeline, spec, target)
    if keys:
        log.warning("Table %s: %d key(s) were loaded twice by the first load (rows that moved while it ran, or a"
                    " load repeated after a crash); they are read again from the share.", spec.name, len(keys))
        batches = [b for b in reader.read_keys(spec, keys) if b.num_rows]
        if batches:
            source = share_table.with_args(name=source_name(spec))(
                spec, Fetched(batches), None, False, pipeline.schemas.get(source_name(spec)))
            target.adapt(source, spec)
            pipeline.run(source, **target.run_options)
        gone = duplicated_keys(pipeline, spec, target)  # what the merge could not put right: gone from the share
        if gone:
            _delete(pipeline, spec, target, gone)
    with pipeline.managed_state(extract_state=True) as state:
        resource_state(state, spec).pop(APPENDED, None)
    with unstaged(pipeline, True):
        pipeline.run(None, **target.run_options)  # commits the state
    return len(keys)


def duplicated_keys(pipeline: dlt.Pipeline, spec: TableSpec, target: Target) -> list[str]:
    """Canonical texts of the keys with two rows in the table, or whose child rows hold a position twice (one
    scan of the table and of each child table)."""
    with pipeline.destination_client() as any_job:
        job = sql_job(any_job)
        name = destination_name(pipeline, spec.dest_name)
        if name not in target.present(job, [name]):
            return []  # dropped since: a sync loads it again in full
        t = _KeySql.of(pipeline, spec, target, job)
        run = job.sql_client.execute_sql
        found = {row[0] for row in run(
            f"SELECT {t.key_text} FROM {t.parent} GROUP BY {', '.join(t.cols)} HAVING COUNT(*) > 1") or []}
        position = job.sql_client.escape_column_name(POSITION)
        for child in t.children:
            found.update(row[0] for row in run(
                f"SELECT {t.key_text} FROM {t.parent} WHERE {t.child_key} IN (SELECT {t.pcol} FROM {child}"
                f" GROUP BY {t.pcol}, {position} HAVING COUNT(*) > 1)") or [])
    return sorted(found)


def _delete(pipeline: dlt.Pipeline, spec: TableSpec, target: Target, keys: list[str]) -> None:
    """Remove keys the share no longer has, child rows first (after a crash in between the parent rows are still
    there, so the next check finds the keys again)."""
    with pipeline.destination_client() as any_job:
        job = sql_job(any_job)
        t = _KeySql.of(pipeline, spec, target, job)
        for i in range(0, len(keys), CHUNK):
            chunk = keys[i : i + CHUNK]
            marks = ", ".join("%s" for _ in chunk)
            for child in t.children:
                job.sql_client.execute_sql(f"DELETE FROM {child} WHERE {t.pcol} IN"
                                           f" (SELECT {t.child_key} FROM {t.parent} WHERE {t.key_text} IN ({marks}))",
                                           *chunk)
            job.sql_client.execute_sql(f"DELETE FROM {t.parent} WHERE {t.key_text} IN ({marks})", *chunk)


@dataclass(frozen=True)
class _KeySql:
    """A keyed table's SQL pieces in one destination: the table, its key columns, the key's canonical text (as
    `ShareReader.read_keys` takes it), the same key as its child rows hold it, and the child tables present."""

    parent: str
    cols: list[str]
    key_text: str
    child_key: str
    pcol: str
    children: list[str]

    @classmethod
    def of(cls, pipeline: dlt.Pipeline, spec: TableSpec, target: Target, job: Any) -> _KeySql:
        assert target.dialect is not None  # `appends` appends only where there is one
        dialect, client, name = target.dialect, job.sql_client, destination_namer(pipeline)
        cols = [client.escape_column_name(name(k)) for k in spec.key_dest]
        children = [name(child_name(spec, c)) for c in spec.json_columns]
        present = target.present(job, children)
        return cls(
            parent=client.make_qualified_table_name(name(spec.dest_name)),
            cols=cols,
            key_text=dialect.key_text(cols, [spec.column(k) for k in spec.primary_key]),
            # a child's parent column holds the key (or its parts' text, length-prefixed), as children.unnest writes it
            child_key=composite_text([c if len(cols) == 1 else dialect.text(c) for c in cols], dialect.text),
            pcol=client.escape_column_name(name(parent_column(spec))),
            children=[client.make_qualified_table_name(n) for n in children if n in present],
        )
