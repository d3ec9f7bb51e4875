"""Moving a warehouse to the current row fingerprint (`fingerprint.FINGERPRINT_VERSION`), one table at a time, in
one pass that re-reads no row and makes no history version.

A fingerprint is a function of a row's content, so the share can map each old fingerprint to the new one: one
query computes both for every row of the table (`SELECT old, new ... GROUP BY old`), and the destination rewrites
`_learnsync_hash` where it holds an old fingerprint the share still has (a history table: in its versions and in
its child tables' parent-version column too, so every version keeps its child rows). A row that changed in the
share since it was loaded, or is gone from it, keeps its old fingerprint, which differs from the share's as a
change does: the next sync, lookback or reconcile finds it as it would have anyway. An old fingerprint that maps
to two new ones (two rows that only differed where version 1 could not see) is left alone the same way.

The pass runs before a table's first write with the new learnsync (sync, backfill, reconcile; a plain full refresh
reloads the table instead), under the table's lock. It is idempotent: a pass cut short is done again (a rewritten
fingerprint is never an old one). When it ends it writes a row to `_learnsync_fingerprints` (table, version, when,
rows); the version also rides on the fingerprint column of dlt's schema (`fingerprint.FINGERPRINT_HINT`) from the
table's next load on, which is what later runs read.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Optional, Sequence

import dlt

from learnsync.destinations import Target
from learnsync.pipelines import runs
from learnsync.catalog.tables import TableSpec
from learnsync.catalog.fingerprint import FINGERPRINT_HINT, FINGERPRINT_VERSION, ROW_HASH
from learnsync.pipelines.snowflake import sql
from learnsync.pipelines.snowflake.reader import ShareReader
from learnsync.catalog.layout import child_name
from learnsync.pipelines.source.children import PARENT_VERSION

log = logging.getLogger("learnsync.upgrade")

UPGRADES_TABLE = "_learnsync_fingerprints"
"""One row per table whose fingerprints a pass moved: table_name, version, upgraded_at, rows."""
STATEMENT_BYTES = 256 * 2**10
"""The fingerprint pairs of one UPDATE, at most (well within every destination's statement size)."""
_HEX = re.compile(r"[0-9a-f]{32}")


Names = tuple[str, Callable[[str], str]]
"""How the table's pipeline names things: (its dlt schema's name, the destination name of a table or column name:
`sync.source_name(spec)`, `sync.destination_namer(pipeline)`)."""


def stored_version(pipeline: dlt.Pipeline, spec: TableSpec, names: Names) -> Optional[int]:
    """The fingerprint version of the table's rows by dlt's stored schema: None for a table not loaded yet (or
    loaded without fingerprints), 1 when the column carries no version."""
    schema_name, name = names
    schema = pipeline.schemas.get(schema_name)
    table = schema.tables.get(name(spec.dest_name)) if schema else None
    column = (table or {}).get("columns", {}).get(ROW_HASH)
    return None if column is None else int(column.get(FINGERPRINT_HINT) or 1)


def needs_upgrade(pipeline: dlt.Pipeline, spec: TableSpec, target: Target, names: Names) -> bool:
    """Whether the table holds fingerprints of an older version that no pass has moved yet (one query to the
    destination, made only while dlt's schema says the older version)."""
    version = stored_version(pipeline, spec, names)
    if version is None or version >= FINGERPRINT_VERSION or target.dialect is None:
        return False
    with pipeline.sql_client() as client:
        return _recorded(client, spec) < FINGERPRINT_VERSION


def upgrade(pipeline: dlt.Pipeline, spec: TableSpec, reader: ShareReader, target: Target, names: Names
            ) -> Optional[int]:
    """Move the table's fingerprints to FINGERPRINT_VERSION if they are older (see the module); returns the
    destination rows rewritten, None when there was nothing to do. The caller holds the table's lock and has
    restored the pipeline's state (`sync.resume`)."""
    if not needs_upgrade(pipeline, spec, target, names):
        return None
    old = stored_version(pipeline, spec, names) or 1
    log.warning("Table %s: its fingerprints are of version %d (an older learnsync); moving them to version %d in one"
                " pass (no row is read again, no history version is made).", spec.name, old, FINGERPRINT_VERSION)
    started = time.monotonic()
    mapping = (f"SELECT H1, MIN(H2) AS H2 FROM (SELECT {sql.row_hash(spec, old)} AS H1, {sql.row_hash(spec)} AS H2"
               f" FROM {reader.fqn(spec.name)}) GROUP BY H1 HAVING COUNT(DISTINCT H2) = 1")
    rows = 0
    with pipeline.sql_client() as client:
        tables = _fingerprint_columns(spec, client, names[1])
        for pairs in _batches(reader.stream(mapping, spec)):
            for table, column in tables:
                rows += _rewrite(client, target, table, column, pairs)
        _record(client, target, spec, rows)
    log.warning("Table %s: fingerprints moved to version %d: %d row(s) rewritten in %.1f s.", spec.name,
                FINGERPRINT_VERSION, rows, time.monotonic() - started)
    return rows


def _fingerprint_columns(spec: TableSpec, client: Any, name: Callable[[str], str]) -> list[tuple[str, str]]:
    """(qualified table, escaped column) of every column holding the table's fingerprints: the table's own, and
    for a history table its child tables' parent version."""
    out = [(client.make_qualified_table_name(name(spec.dest_name)), client.escape_column_name(ROW_HASH))]
    if spec.history:
        out += [(client.make_qualified_table_name(name(child_name(spec, c))),
                 client.escape_column_name(name(PARENT_VERSION))) for c in spec.json_columns]
    return out


def _batches(chunks: Iterator[Any]) -> Iterator[list[tuple[str, str]]]:
    """(old, new) fingerprint pairs of the share's answer, in batches of at most STATEMENT_BYTES of SQL. A value
    that is not an MD5 in hex is never written into SQL (it cannot be one of learnsync's fingerprints)."""
    batch: list[tuple[str, str]] = []
    size = 0
    for chunk in chunks:
        for old, new in zip(chunk.column(0).to_pylist(), chunk.column(1).to_pylist()):
            if not (isinstance(old, str) and isinstance(new, str) and _HEX.fullmatch(old) and _HEX.fullmatch(new)):
                continue
            if old == new:
                continue
            batch.append((old, new))
            size += len(old) + len(new) + 32
            if size >= STATEMENT_BYTES:
                yield batch
                batch, size = [], 0
    if batch:
        yield batch


def _rewrite(client: Any, target: Target, table: str, column: str, pairs: Sequence[tuple[str, str]]) -> int:
    """UPDATE `column` of `table` from each pair's old fingerprint to its new one; returns the rows changed (as
    the driver reports them; 0 when it does not)."""
    relation = target.dialect.pairs(pairs)  # type: ignore[union-attr]
    cursor = client.execute_sql(
        f"UPDATE {table} AS t SET {column} = m.h2 FROM {relation} WHERE t.{column} = m.h1")
    return _changed(client, cursor)


def _changed(client: Any, result: Any) -> int:
    """Rows an UPDATE changed: DuckDB returns them as a one-row result; psycopg2 and BigQuery keep a rowcount."""
    if isinstance(result, list) and result and isinstance(result[0], (tuple, list)) and result[0]:
        try:
            return int(result[0][0])
        except (TypeError, ValueError):
            return 0
    for holder in (getattr(client, "_cursor", None), getattr(client, "native_cursor", None)):
        count = getattr(holder, "rowcount", None)
        if isinstance(count, int) and count >= 0:
            return count
    return 0


def _ensure(client: Any, target: Target) -> str:
    text, integer, _, timestamp = runs.TYPES[target.dialect.name]  # type: ignore[union-attr]
    table = client.make_qualified_table_name(UPGRADES_TABLE)
    client.execute_sql(f"CREATE TABLE IF NOT EXISTS {table} (table_name {text}, version {integer},"
                       f" upgraded_at {timestamp}, rows {integer})")
    return table


def _record(client: Any, target: Target, spec: TableSpec, rows: int) -> None:
    table = _ensure(client, target)
    client.execute_sql(f"DELETE FROM {table} WHERE table_name = %s", spec.dest_name)
    client.execute_sql(f"INSERT INTO {table} (table_name, version, upgraded_at, rows) VALUES (%s, %s, %s, %s)",
                       spec.dest_name, FINGERPRINT_VERSION, datetime.now(timezone.utc), rows)


def _recorded(client: Any, spec: TableSpec) -> int:
    """The version a pass recorded for the table (0: none, or no such table yet)."""
    table = client.make_qualified_table_name(UPGRADES_TABLE)
    try:
        found = client.execute_sql(f"SELECT MAX(version) FROM {table} WHERE table_name = %s", spec.dest_name)
    except Exception as exc:  # noqa: BLE001 - drivers raise their own "undefined table"
        if runs.undefined_table(exc):
            return 0
        raise
    return int(found[0][0] or 0) if found else 0
