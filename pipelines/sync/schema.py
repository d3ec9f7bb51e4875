"""The stored schema against this run's: history started, reset or turned off, columns dropped or retyped in
the share, old composite-key text; each as `pipeline.run` options (a reload) or an error that says what to do."""

from __future__ import annotations

import logging
from typing import Any, Callable

import dlt

from learnsync.destinations import Target
from learnsync.errors import LearnsyncError
from learnsync.catalog.tables import TableSpec
from learnsync.pipelines.drift import column_drift
from learnsync.catalog.fingerprint import ROW_HASH, composite_text
from learnsync.pipelines.history import PARENT_VERSION, scd2_disposition, stored_history
from learnsync.catalog.layout import child_name, parent_column
from learnsync.pipelines.source.children import KEY_TEXT_HINT, LENGTH_PREFIXED
from learnsync.pipelines.sync.pipeline import destination_name, destination_namer, source_name
from learnsync.pipelines.sync.results import Mode

log = logging.getLogger("learnsync.sync")


def versioned_disposition(pipeline: dlt.Pipeline, spec: TableSpec, mode: Mode) -> dict[str, Any]:
    """The scd2 write disposition of a history table for this run: a full refresh (the whole share read) may
    close any current version it did not read; any other run only the versions of the keys it read."""
    escape = pipeline.destination.capabilities().escape_identifier
    return scd2_disposition(spec, escape, "all" if mode is Mode.FULL_REFRESH else "keys")


def history_options(pipeline: dlt.Pipeline, spec: TableSpec, mode: Mode, reset: bool) -> dict[str, Any]:
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


def drift_options(pipeline: dlt.Pipeline, spec: TableSpec) -> dict[str, Any]:
    """Warn about columns the share dropped; reload the table from scratch when a column's type changed
    (dlt cannot alter a column's type, and loading into the old type would cut values)."""
    schema = pipeline.schemas.get(source_name(spec))
    stored = schema.tables.get(destination_name(pipeline, spec.dest_name), {}).get("columns", {}) if schema else {}
    changed, gone = column_drift(stored, spec, destination_namer(pipeline))
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


def bar_joined_children(tables: dict[str, Any], spec: TableSpec, name: Callable[[str], str]) -> list[str]:
    """The child tables of `spec` whose parent column, by a dlt schema's `tables`, holds a composite key's parts
    joined with `|` (no KEY_TEXT_HINT: learnsync before issue 20); `name`: the destination's names."""
    if len(spec.primary_key) < 2:
        return []
    old = []
    for col in spec.json_columns:
        parent = tables.get(name(child_name(spec, col)), {}).get("columns", {}).get(name(parent_column(spec)))
        if parent is not None and parent.get(KEY_TEXT_HINT) != LENGTH_PREFIXED:
            old.append(name(child_name(spec, col)))
    return old


def key_text_migration(pipeline: dlt.Pipeline, spec: TableSpec, target: Target) -> dict[str, Any]:
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
    old = bar_joined_children(schema.tables if schema else {}, spec, name)
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
