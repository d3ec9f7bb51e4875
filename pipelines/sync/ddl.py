"""Statements learnsync runs in the destination besides dlt's loads: comments, primary keys and join indexes,
and the removal of days the share no longer has."""

from __future__ import annotations

import logging
from typing import Any, Sequence

import dlt
from dlt.destinations.exceptions import DatabaseException

from learnsync.destinations import Target
from learnsync.destinations.base import Index
from learnsync.catalog.tables import Strategy, TableSpec
from learnsync.pipelines.descriptions import descriptions
from learnsync.pipelines.history import PARENT_VERSION
from learnsync.catalog.layout import DAY, child_name, parent_column
from learnsync.pipelines.sync.pipeline import destination_namer

log = logging.getLogger("learnsync.sync")


def write_comments(pipeline: dlt.Pipeline, target: Target, table: str) -> int:
    """Write the descriptions of the pipeline's tables as comments where the destination needs learnsync to.

    A failure only warns: the rows and cursor are committed, and the next run writes what is missing."""
    if target.describe is None:
        return 0
    try:
        with pipeline.sql_client() as client:
            return target.describe(client, descriptions(pipeline.default_schema))
    except DatabaseException as exc:  # e.g. a loader role that does not own the tables (Postgres)
        log.warning("Table %s: loaded, but its comments were not written: %s", table, " ".join(str(exc).split())[:300])
        return 0


def write_indexes(pipeline: dlt.Pipeline, target: Target, spec: TableSpec) -> int:
    """Give a merged table its primary key (one row per key after the merge) and its child tables an index on
    `parent_<key>`, where the destination needs learnsync to; returns statements run.

    A failure only warns (rows and cursor are committed; e.g. a loader that does not own the tables)."""
    if target.index is None or spec.strategy is not Strategy.MERGE or not spec.primary_key:
        return 0
    name = destination_namer(pipeline)  # dlt shortens names past the identifier limit
    # a history table holds a row per version: its key is indexed, not unique
    wanted = [Index(name(spec.dest_name), tuple(map(name, spec.key_dest)), not spec.history)]
    wanted += [Index(name(child_name(spec, c)), (name(parent_column(spec)),), False) for c in spec.json_columns]
    if spec.history:  # a version's child rows are merged and joined by the version's fingerprint
        wanted += [Index(name(child_name(spec, c)), (name(PARENT_VERSION),), False) for c in spec.json_columns]
    try:
        with pipeline.sql_client() as client:
            return target.index(client, wanted)
    except DatabaseException as exc:
        log.warning("Table %s: loaded, but its key and indexes were not added: %s", spec.name,
                    " ".join(str(exc).split())[:300])
        return 0


def remove_days(pipeline: dlt.Pipeline, spec: TableSpec, days: Sequence[Any]) -> int:
    """Delete an event table's rows of `days` (days the share no longer has: a read replaces only the days it
    reads rows of); returns the days."""
    if not days:
        return 0
    name = destination_namer(pipeline)
    with pipeline.sql_client() as client:
        client.execute_sql(
            f"DELETE FROM {client.make_qualified_table_name(name(spec.dest_name))}"
            f" WHERE {client.escape_column_name(name(DAY))} IN ({', '.join('%s' for _ in days)})", *days)
    return len(days)
