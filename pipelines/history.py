"""History mode (`history = true` per table): every version of a row is kept, through dlt's `scd2` merge strategy.

A parent row version is identified by its fingerprint `_learnsync_hash` (Snowflake's MD5 over every loaded
column, key included), given to dlt as scd2's `row_version_column_name`; dlt stamps `valid_from` on the version
it inserts and `valid_to` on the version it retires, both with the load package's creation time (UTC,
`dlt/destinations/sql_jobs.py` `gen_scd2_sql`). `valid_to IS NULL` marks the current version.

Which current versions a load may retire is its *destination scope* (dlt 1.31 `destination_scope`, which
replaces `merge_key`): dlt's scd2 retires every current row absent from a load unless it is scoped (incremental
scd2: dlt-hub/dlt#1789, #1818). An incremental window or a reconcile holds only some keys, so only the keys it
holds can get a new version (a key absent from a window is not deleted); a full refresh reads the whole share, so
every current version whose fingerprint it did not read is closed (hard deletes included). The scope is written
on every run, never left to the stored schema: dlt keeps a merge hint from an earlier run when a later run omits
it (dlt-hub/dlt#2440), and a full refresh's "retire everything absent" must never outlive that run. A composite
key is scoped column by column: dlt's compound `merge_key` compares the keys' concatenated text, so ("a", "bc")
would retire ("ab", "c") (dlt-hub/dlt#4244).

Child tables (learnsync's own unnested ARRAY/VARIANT tables, not dlt nested tables: `max_table_nesting=0`) are
not versioned by dlt; each child row carries its parent version's fingerprint (`_learnsync_parent_hash`) and a
version's child rows are merged by it, so the children of every version stay, and the children of a current
parent are `child._learnsync_parent_hash = parent._learnsync_hash`.
"""

from __future__ import annotations

from typing import Any, Callable, Literal, Mapping, Optional

from learnsync.catalog.tables import VALID_FROM, VALID_TO, TableSpec
from learnsync.catalog.fingerprint import ROW_HASH
from learnsync.pipelines.source.children import PARENT_VERSION

__all__ = ["PARENT_VERSION", "VALIDITY", "Scope", "destination_scope", "scd2_disposition", "stored_history"]

VALIDITY = (VALID_FROM, VALID_TO)

Scope = Literal["keys", "all"]
"""What a versioned load may retire: the current versions of the keys it read ("keys": incremental windows,
backfills, reconcile) or every current version it did not read ("all": a full refresh of the whole share)."""


def scd2_disposition(spec: TableSpec, escape: Callable[[str], str], scope: Scope) -> dict[str, Any]:
    """dlt's write disposition of a history table's parent: scd2 with learnsync's validity column names and row
    fingerprint, and the destination scope of `scope` written with the destination's identifier quoting
    (`escape`, e.g. `pipeline.destination.capabilities().escape_identifier`).

    Source: dlt merge-loading docs ("scd2 strategy") and `dlt/common/schema/typing.py` `TScd2StrategyDict`."""
    return {
        "disposition": "merge",
        "strategy": "scd2",
        "validity_column_names": list(VALIDITY),
        "row_version_column_name": ROW_HASH,
        "destination_scope": destination_scope(spec, escape, scope),
    }


def destination_scope(spec: TableSpec, escape: Callable[[str], str], scope: Scope) -> str:
    """The SQL condition (dlt placeholders `{table}`, `{staging_table}`) selecting the current versions a load may
    retire. Raises ValueError for a table without a key (history needs one; the catalog refuses it before)."""
    if scope == "all":
        return "1 = 1"
    keys = [escape(k).replace("{", "{{").replace("}", "}}") for k in spec.key_dest]
    if not keys:
        raise ValueError(f"table {spec.name} has no key")
    if len(keys) == 1:
        return f"{keys[0]} IN (SELECT {keys[0]} FROM {{staging_table}})"
    on = " AND ".join(f"s.{k} = {{table}}.{k}" for k in keys)
    return f"EXISTS (SELECT 1 FROM {{staging_table}} s WHERE {on})"


def stored_history(columns: Mapping[str, Any]) -> Optional[bool]:
    """Whether a parent table's stored dlt columns hold versions: True (dlt's scd2 validity column, not a vendor's
    column of that name), False (a plain table), None (the table was never loaded)."""
    if not columns:
        return None
    return bool(columns.get(VALID_TO, {}).get("x-valid-to"))
