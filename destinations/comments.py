"""Table and column descriptions -> comments in the destination, through the pipeline's SQL client.

dlt 1.31 writes `description` hints itself only on some destinations (Snowflake and Databricks COMMENT
clauses, BigQuery column OPTIONS); on Postgres and DuckDB it ignores them, so learnsync writes `COMMENT ON`
after a load. Each run reads the comments already there and writes only what differs: nothing in steady
state, and a run killed before commenting is healed by the next one.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

Key = tuple[str, Optional[str]]
"""(table, None) for a table comment, (table, column) for a column comment."""

ReadComments = Callable[[Any], dict[Key, str]]
"""SQL client -> the current comment of every table and column of its dataset ("" when none)."""
Describer = Callable[[Any, Mapping[Key, str]], int]
"""(SQL client, wanted descriptions) -> statements run. A `Target.describe` for one kind of destination."""


def _postgres_comments(client: Any) -> dict[Key, str]:
    rows = client.execute_sql(
        "SELECT c.relname, NULL, obj_description(c.oid, 'pg_class') FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind IN ('r', 'p')"
        " UNION ALL SELECT c.relname, a.attname, col_description(c.oid, a.attnum) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        " WHERE n.nspname = %s AND c.relkind IN ('r', 'p')",
        client.dataset_name,
        client.dataset_name,
    )
    return {(t, c): text or "" for t, c, text in rows or ()}


def _duckdb_comments(client: Any) -> dict[Key, str]:
    rows = client.execute_sql(
        "SELECT table_name, NULL, comment FROM duckdb_tables()"
        " WHERE database_name = current_database() AND schema_name = %s"
        " UNION ALL SELECT table_name, column_name, comment FROM duckdb_columns()"
        " WHERE database_name = current_database() AND schema_name = %s",
        client.dataset_name,
        client.dataset_name,
    )
    return {(t, c): text or "" for t, c, text in rows or ()}


def comment_on(read: ReadComments) -> Describer:
    """A describer for destinations with SQL `COMMENT ON TABLE/COLUMN` (Postgres, DuckDB, Redshift...)."""

    def describe(client: Any, wanted: Mapping[Key, str]) -> int:
        current = read(client)
        statements = []
        # only objects that exist: a child table whose arrays were always empty was never created
        for (table, column), text in sorted(wanted.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            if (table, column) not in current or current[(table, column)] == text:
                continue
            name = client.make_qualified_table_name(table)
            target = f"TABLE {name}" if column is None else f"COLUMN {name}.{client.escape_column_name(column)}"
            statements.append(f"COMMENT ON {target} IS {client.capabilities.escape_literal(text)}")
        if statements:
            with client.begin_transaction():
                for sql in statements:
                    client.execute_sql(sql)
        return len(statements)

    return describe


POSTGRES = comment_on(_postgres_comments)
DUCKDB = comment_on(_duckdb_comments)
