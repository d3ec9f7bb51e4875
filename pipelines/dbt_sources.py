"""A dbt `sources.yml` for a synced dataset: tables, columns, descriptions, key tests, relationships, freshness.

Tables are described from the dlt schemas that each table's pipeline stored in the destination (what was
really loaded, child tables and object keys included) or, without a destination, from the vendor's catalog.
Both paths read dlt table schemas, so the file says the same thing either way.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import yaml
from dlt.common.schema import Schema
from dlt.common.schema.typing import TTableSchema
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from learnsync.destinations import Target
from learnsync.destinations.base import sql_job
from learnsync.errors import LearnsyncError
from learnsync.catalog.tables import Column, Profile, resolve_table
from learnsync.pipelines.descriptions import column_description, is_child, table_description, table_name
from learnsync.pipelines.snowflake.sql import base_type
from learnsync.pipelines.source.resource import CURSOR_HINT, share_table
from learnsync.pipelines.sync import SOURCE_PREFIX
from learnsync.settings import table_settings
from learnsync.catalog.vendor_docs import DATACAMP_FACTS, LEARNING_360, TableDoc

VENDORS = {
    Profile.LEARNING_360: ("360Learning Data Connect", LEARNING_360),
    Profile.DATACAMP: ("DataCamp Data Connector 2.0", DATACAMP_FACTS),
    Profile.AUTO: ("a Snowflake data share", ()),
}


@dataclass(frozen=True)
class Freshness:
    """dbt source freshness thresholds on the cursor column, in hours (None: no such threshold)."""

    warn_after_hours: Optional[int] = 36  # a daily vendor refresh plus a margin
    error_after_hours: Optional[int] = 72

    def as_dbt(self) -> Optional[dict[str, Any]]:
        rules = {
            f"{level}_after": {"count": hours, "period": "hour"}
            for level, hours in (("warn", self.warn_after_hours), ("error", self.error_after_hours))
            if hours
        }
        return rules or None


def catalog_tables(profile: Profile) -> list[TTableSchema]:
    """The tables a sync of the vendor's documented model creates, as the source declares them."""
    docs: Sequence[TableDoc] = VENDORS[profile][1]
    if not docs:
        raise LearnsyncError(
            f"The {profile.value} profile documents no tables: pass --dest-uri to describe what a sync loaded."
        )
    tables: list[TTableSchema] = []
    for doc in docs:
        columns = [_documented(c.name, c.sf_type, c.description) for c in doc.columns]
        spec = resolve_table(profile, doc.name, columns, table_settings(doc.name))
        source = share_table(spec, None)
        tables.extend(r.compute_table_schema() for r in source.resources.values())
    return tables


def _documented(name: str, sf_type: str, description: str) -> Column:
    size = re.search(r"\((\d+)(?:\s*,\s*(\d+))?\)", sf_type)
    precision, scale = (int(size[1]), int(size[2] or 0)) if size else (None, None)
    return Column(name, base_type(sf_type), precision, scale, description)


def destination_tables(target: Target, dataset: str) -> list[TTableSchema]:
    """learnsync's tables as they are in the destination: their stored dlt schemas, cut to the columns present."""
    import dlt

    with tempfile.TemporaryDirectory() as pipelines_dir:  # a read-only look: no local pipeline left behind
        pipeline = dlt.pipeline("learnsync_dbt_sources", destination=target.destination, dataset_name=dataset,
                                pipelines_dir=pipelines_dir)
        with pipeline.destination_client() as any_client:
            client = sql_job(any_client)
            schemas = _stored_schemas(client, dataset, target)
            tables = [t for s in schemas for t in s.data_tables()]
            present = dict(client.get_storage_tables([table_name(t) for t in tables]))
    out = []
    for table in tables:
        stored = present.get(table_name(table)) or {}
        if not stored:
            continue  # in a schema but not (or no longer) in the dataset
        declared = {name.lower(): hint for name, hint in table.get("columns", {}).items()}
        columns = {name: declared.get(name.lower(), {"name": name}) for name in stored}
        out.append({**table, "columns": columns})  # type: ignore[typeddict-item]
    return out


def _stored_schemas(client: Any, dataset: str, target: Target) -> list[Schema]:
    sql = client.sql_client
    version_table = sql.make_qualified_table_name(client.schema.version_table_name)
    try:
        names = [r[0] for r in sql.execute_sql(f"SELECT DISTINCT schema_name FROM {version_table}") or ()]
    except DatabaseUndefinedRelation:
        names = []
    names = sorted(n for n in names if n.startswith(SOURCE_PREFIX))
    if not names:
        raise LearnsyncError(f"Dataset {dataset} in {target.display} holds no learnsync tables: run a sync first.")
    return [Schema.from_stored_schema(json.loads(client.get_stored_schema(n).schema)) for n in names]


def sources_yml(
    tables: Sequence[TTableSchema], name: str, dataset: str, profile: Profile, freshness: Freshness = Freshness()
) -> dict[str, Any]:
    """The dbt source properties of the tables, as a dict ready for YAML."""
    vendor = VENDORS[profile][0]
    return {
        "version": 2,
        "sources": [
            {
                "name": name,
                "description": f"{vendor}, synced by learnsync into dataset {dataset}.",
                "schema": dataset,
                "tables": [_table(t, name, freshness) for t in sorted(tables, key=table_name)],
            }
        ],
    }


def _table(table: TTableSchema, source: str, freshness: Freshness) -> dict[str, Any]:
    out: dict[str, Any] = {"name": table_name(table), "description": table_description(table)}
    cursor = _cursor(table)
    rules = freshness.as_dbt()
    if cursor and rules:
        out["config"] = {"loaded_at_field": cursor, "freshness": rules}
    columns = table.get("columns", {})
    keys = [c for c, h in columns.items() if h.get("primary_key")]
    # read as mappings: dlt's TTableReference marks every key optional, but a stored reference has columns,
    # referenced_table and referenced_columns
    references: list[Mapping[str, Any]] = list(table.get("references") or ())
    parents = {ref["columns"][0]: ref for ref in references if len(ref["columns"]) == 1}
    out["columns"] = []
    for column, hint in columns.items():
        tests: list[Any] = []
        if column in keys:
            # a composite key is unique only as a whole, which needs dbt_utils: each part is only not null
            tests = ["unique", "not_null"] if len(keys) == 1 else ["not_null"]
        elif is_child(table) and hint.get("merge_key"):
            tests = ["not_null"]
        if column in parents:
            ref = parents[column]
            to = f"source('{source}', '{ref['referenced_table']}')"
            tests.append({"relationships": {"arguments": {"to": to, "field": ref["referenced_columns"][0]}}})
        entry: dict[str, Any] = {"name": column, "description": column_description(table, column)}
        if tests:
            entry["data_tests"] = tests
        out["columns"].append(entry)
    return out


def _cursor(table: TTableSchema) -> Optional[str]:
    """The source cursor (tables loaded before learnsync stored it: the column dlt's incremental tracks)."""
    columns = table.get("columns", {})
    cursor = table.get(CURSOR_HINT)  # type: ignore[misc]
    if cursor in columns:
        return str(cursor)
    return next((c for c, h in columns.items() if h.get("incremental")), None)


def write_sources(document: dict[str, Any], path: Optional[str]) -> str:
    """The YAML text, also written to `path` when one is given."""
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)
    if path:
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            raise LearnsyncError(f"Cannot write {path}: {exc.strerror}.") from None
    return text
