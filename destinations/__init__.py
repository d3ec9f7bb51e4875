"""Destinations: a URI -> a `Target` (the dlt destination and everything learnsync does there).

One module per kind of destination (`duckdb`, `postgres`, `bigquery`, `filesystem`), each holding its factory,
lock, comment writer, reconcile dialect and dbt profile output; this registry picks the module by URI scheme, so
callers never branch on it. Adding a destination is one module with a `KIND` and one line in `KINDS`.
"""

from __future__ import annotations

from typing import Any, Optional
from urllib.parse import urlsplit

from learnsync.destinations import bigquery, duckdb, filesystem, postgres
from learnsync.destinations.base import STAGING, SWAP, Kind, Target, is_staging
from learnsync.errors import LearnsyncError
from learnsync.defaults import DEFAULT_DESTINATION

__all__ = ["DEFAULT_DESTINATION", "Kind", "Target", "dbt_output", "is_staging", "resolve"]

KINDS: tuple[Kind, ...] = (bigquery.KIND, duckdb.KIND, filesystem.KIND, postgres.KIND)
REGISTRY: dict[str, Kind] = {scheme: kind for kind in KINDS for scheme in kind.schemes}


def _kind(uri: str) -> tuple[Kind, Any]:
    parts = urlsplit(uri)
    kind = REGISTRY.get(parts.scheme.split("+")[0])
    if kind is None:
        known = ", ".join(f"{s}://" for s in REGISTRY)
        raise LearnsyncError(f"Unknown destination {parts.scheme or uri!r}: use one of {known}.")
    return kind, parts


def resolve(uri: Optional[str], dataset: str, staging_suffix: str = "") -> Target:
    """Turn a destination URI (None: DEFAULT_DESTINATION) into a `Target`, or raise a LearnsyncError saying what
    is accepted (an unknown scheme, a malformed URI, a missing extra package).

    `staging_suffix` gives concurrent loads of one table their own staging dataset (dlt merges through it)."""
    kind, parts = _kind(uri or DEFAULT_DESTINATION)
    try:
        options = {"replace_strategy": SWAP, "staging_dataset_name_layout": "%s" + STAGING + staging_suffix}
        return kind.target(parts, dataset, options)
    except ImportError as exc:
        raise LearnsyncError(
            f"The {parts.scheme} destination needs an extra package ({exc.name}): pip install 'learnsync[{parts.scheme}]'."
        ) from None


def dbt_output(uri: Optional[str], schema: str) -> dict[str, Any]:
    """The dbt profile output (type, connection, target `schema`) for a learnsync destination URI.

    Returns a dict ready for profiles.yml: no password (Postgres reads it from an environment variable), a
    service-account key by path only. Raises LearnsyncError for a malformed URI or a destination dbt cannot
    build in (file://)."""
    parts = urlsplit(uri or DEFAULT_DESTINATION)
    kind = REGISTRY.get(parts.scheme.split("+")[0])
    if kind is None or kind.dbt_output is None:
        known = ", ".join(f"{s}://" for k in KINDS if k.dbt_output for s in k.schemes)
        raise LearnsyncError(f"dbt cannot build in the destination {parts.scheme or uri!r}: use one of {known}.")
    return kind.dbt_output(parts, schema)
