"""What the destination holds per table: stored cursor, last load, row count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from learnsync.destinations import Target
from learnsync.pipelines.catalog import VALID_TO, TableSpec
from learnsync.pipelines.sync import make_pipeline, source_name, stored_cursor


@dataclass
class TableStatus:
    table: str
    cursor: Any = None
    last_load: Optional[Any] = None
    rows: Optional[int] = None


def table_status(specs: Sequence[TableSpec], target: Target, dataset: str, profile: str) -> list[TableStatus]:
    """Read each table's pipeline state from the destination and count its rows there (a table kept with
    history: its current versions)."""
    out = []
    for spec in specs:
        st = TableStatus(spec.name)
        pipeline = make_pipeline(profile, spec, target, dataset, None)
        try:
            pipeline.sync_destination()
            st.cursor = stored_cursor(pipeline, spec)
            with pipeline.sql_client() as client:
                table = client.make_qualified_table_name(spec.dest_name)
                current = f" WHERE {client.escape_column_name(VALID_TO)} IS NULL" if spec.history else ""
                st.rows = int(client.execute_sql(f"SELECT COUNT(*) FROM {table}{current}")[0][0])
                loads = client.make_qualified_table_name("_dlt_loads")
                rows = client.execute_sql(
                    f"SELECT MAX(inserted_at) FROM {loads} WHERE schema_name = %s AND status = 0",
                    source_name(spec),
                )
                st.last_load = rows[0][0] if rows else None
        except Exception:  # noqa: BLE001 - a table never synced has no state, table or loads yet
            pass
        out.append(st)
    return out
