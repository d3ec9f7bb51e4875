"""Keys and join indexes in the destination, through the pipeline's SQL client (Postgres).

dlt 1.31's Postgres client maps only the `unique` column hint to DDL (`HINT_TO_POSTGRES_ATTR`), and only when it
creates a table: no primary key, no plain index, nothing for a table that exists. So after a table's sync
learnsync reads the table's indexes from the catalog and adds what is missing: the parent's primary key (its
rows are one per key after learnsync's merge) and an index on each child table's `parent_<key>` (the join and
the merge's delete both filter on it). Nothing in steady state; a run killed before it is healed by the next.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence


class Index(NamedTuple):
    """An index a table should have: its leading columns, and whether it is the primary key."""

    table: str
    columns: tuple[str, ...]
    primary: bool


Indexer = Callable[[Any, Sequence[Index]], int]
"""(SQL client, wanted indexes) -> statements run. A `Target.index` for one kind of destination."""


def postgres(client: Any, wanted: Sequence[Index]) -> int:
    """Add the missing ones of `wanted` to tables that exist in the client's dataset; returns statements run."""
    rows = client.execute_sql(
        "SELECT c.relname, i.indisprimary, array_agg(a.attname::text ORDER BY k.ord)"
        " FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum"
        " WHERE n.nspname = %s GROUP BY c.relname, i.indexrelid, i.indisprimary",
        client.dataset_name,
    )
    tables = {r[0] for r in client.execute_sql(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relkind IN ('r', 'p')", client.dataset_name) or ()}
    existing = [(t, bool(primary), tuple(cols)) for t, primary, cols in rows or ()]
    statements = []
    for want in wanted:
        if want.table not in tables:  # a child table whose arrays were always empty was never created
            continue
        name = client.make_qualified_table_name(want.table)
        columns = ", ".join(client.escape_column_name(c) for c in want.columns)
        if want.primary and not any(t == want.table and primary for t, primary, _ in existing):
            statements.append(f"ALTER TABLE {name} ADD PRIMARY KEY ({columns})")
        elif not want.primary and not any(t == want.table and cols[: len(want.columns)] == want.columns
                                          for t, _, cols in existing):
            statements.append(f"CREATE INDEX ON {name} ({columns})")
    if statements:
        with client.begin_transaction():
            for sql in statements:
                client.execute_sql(sql)
    return len(statements)
