"""Drift between the share and what a table's stored dlt schema holds: columns whose type changed, columns
that are no longer read, tables that left the share."""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable, Mapping

from learnsync.catalog.tables import VALID_FROM, VALID_TO, TableSpec
from learnsync.pipelines.source.types import table_hints

log = logging.getLogger("learnsync.drift")

_TYPE_KEYS = ("data_type", "precision", "scale", "timezone")


def column_drift(
    stored: Mapping[str, Mapping[str, Any]], spec: TableSpec, name: Callable[[str], str] = lambda n: n
) -> tuple[list[str], list[str]]:
    """(destination columns whose type differs from the share's, destination columns the share no longer has).

    `name` maps a column name to the one dlt created in the destination (shortened past its identifier limit).
    A changed type is not loaded into dlt's variant column (`col__v_double`) nor cast to the old type: dlt
    casts Arrow data to the stored type and would cut 2.5 to 2 or 12.34 to 12 without a word. A 64-bit integer
    column stored narrower (an earlier learnsync created it from a first batch of small values: dlt records
    int8 as bigint of precision 8, a TINYINT) counts as changed too."""
    hints = {name(n): h for n, h in table_hints(spec).items()}
    changed = [name for name, hint in hints.items() if name in stored and not _holds(stored[name], hint)]
    own = {name(VALID_FROM), name(VALID_TO)} if spec.history else set()  # history's validity columns
    gone = [n for n in stored if n not in hints and n not in own and not n.startswith(("_dlt", "_learnsync"))]
    return changed, gone


def _holds(stored: Mapping[str, Any], hint: Mapping[str, Any]) -> bool:
    """Whether the stored column takes the share's values unchanged: the same type, or a wider decimal of the
    same scale (a destination may widen one, e.g. BigQuery's BIGNUMERIC for what NUMERIC cannot hold)."""
    if hint.get("data_type") == "decimal" and stored.get("data_type") == "decimal":
        return stored.get("scale") == hint.get("scale") and (stored.get("precision") or 0) >= (hint.get("precision") or 0)
    if hint.get("data_type") == "bigint" and stored.get("data_type") == "bigint":
        return (stored.get("precision") or 64) >= 64
    return all(stored.get(k) == hint[k] for k in _TYPE_KEYS if k in hint)


def warn_gone_tables(synced: Iterable[str], in_share: Iterable[str]) -> list[str]:
    """Warn about tables loaded into the dataset before that the share no longer has; returns them."""
    gone = sorted(set(synced) - set(in_share))
    for table in gone:
        log.warning("Table %s is no longer in the share: its data stays in the destination, no longer updated.",
                    table)
    return gone
