"""Postgres: `postgresql://user[:password]@host:port/db`.

One module for what a Postgres destination is: the dlt destination (parquet through ADBC's binary COPY), the
advisory locks, the comment writer, the primary keys and join indexes dlt does not create, the reconcile dialect
and the dbt profile output.
"""

from __future__ import annotations

import functools
import hashlib
import os
from contextlib import contextmanager
from typing import Any, Iterator, Optional, Sequence
from urllib.parse import SplitResult, unquote

from learnsync.destinations.base import Index, Key, Kind, Target, comment_on, identity, params, redact, run_in_transaction
from learnsync.destinations.locks import Locker, busy_error, holder_info, wait, waiting_line
from learnsync.errors import DestinationUnreachable, LearnsyncError
from learnsync.catalog.fingerprint import Dialect
from learnsync.settings import read_password

DIALECT = Dialect(
    "postgres",
    text=lambda e: f"CAST({e} AS TEXT)",
    days=lambda e: f"({e} - DATE '1970-01-01')",
    micros=lambda e: f"CAST(EXTRACT(EPOCH FROM {e}) * 1000000 AS BIGINT)",
    md5=lambda e: f"md5({e})",
    # 15 hex digits as a 64-bit integer; SUM(bigint) is NUMERIC
    hex_prefix=lambda e: f"('x' || LPAD({e}, 16, '0'))::bit(64)::bigint",
    int_div=lambda a, b: f"(({a}) / {b})",  # integer operands
)
URI_FORM = "postgresql://user[:password]@host:port/db"
DBT_PASSWORD_ENV = "DESTINATION__POSTGRES__CREDENTIALS__PASSWORD"
"""dbt reads the Postgres password from the variable learnsync reads it from (never from the URI: the written
profiles.yml holds no secret)."""


def _host_port(parts: SplitResult) -> tuple[str, int]:
    if not parts.hostname or not parts.path.strip("/"):
        raise LearnsyncError(f"The Postgres URI needs a host and a database: {URI_FORM}.")
    try:
        return parts.hostname, parts.port or 5432
    except ValueError:
        raise LearnsyncError(f"The Postgres URI has an invalid port: {URI_FORM}.") from None


def target(parts: SplitResult, dataset: str, options: dict[str, Any]) -> Target:
    """The Postgres database of the URI. The password comes from the URI, else from dlt secrets
    (DESTINATION__POSTGRES__CREDENTIALS__PASSWORD); none at all lets libpq use trust auth or `~/.pgpass`."""
    import dlt
    from dlt.common.configuration.specs import ConnectionStringCredentials
    from dlt.destinations.impl.postgres.postgres import PostgresParquetCopyJob

    host, port = _host_port(parts)
    creds = ConnectionStringCredentials()
    creds.drivername = "postgresql"
    # dlt insists on a password; an empty one lets libpq fall back to trust auth or ~/.pgpass
    creds.username = unquote(parts.username or os.environ.get("PGUSER", "postgres"))
    creds.password = unquote(parts.password or "") or (read_password("destination", "postgres", "credentials") or "")
    creds.host, creds.port, creds.database = host, port, parts.path.strip("/")
    creds.query = params(parts)
    dsn = creds.to_native_representation()
    # dlt 1.31 hands ADBC a whole file's batches, and a zero-row file (an empty table, created with every column)
    # has none: "Must pass schema, or at least one RecordBatch". Per row group, an empty file ingests nothing.
    PostgresParquetCopyJob._ingest_per_rowgroup = True
    return Target(
        destination=dlt.destinations.postgres(credentials=dsn, **options),
        identity="postgres-" + identity(host, str(port), creds.database),
        display=redact(parts),
        # parquet through ADBC's binary COPY: dlt's CSV COPY marks nullable columns FORCE_NULL, which loads ''
        # as NULL, and its default would render INSERT statements
        run_options={"loader_file_format": "parquet"},
        lock=advisory_lock(dsn),
        describe=comment_on(_comments),
        index=add_indexes,
        explain=functools.partial(_lost, redact(parts)),
        dialect=DIALECT,
    )


def advisory_lock(dsn: str) -> Locker:
    """Locks as session-level advisory locks on the destination server: they work across machines, and a holder
    that dies frees them with its session. A server that cannot be reached is DestinationUnreachable."""

    @contextmanager
    def locked(key: str, timeout: float) -> Iterator[None]:
        import psycopg2

        lock_id = int.from_bytes(hashlib.sha1(key.encode()).digest()[:8], "big", signed=True)
        me = holder_info()
        try:
            # the session's application_name names this run's host and pid, so a run waiting for the lock can
            # say who holds it (pg_stat_activity); Postgres keeps 63 bytes of it
            conn = psycopg2.connect(dsn, connect_timeout=30, application_name=f"learnsync {me['host']} pid {me['pid']}"[:63])
        except psycopg2.OperationalError as exc:
            raise DestinationUnreachable(
                f"Cannot reach the Postgres destination to lock {key}: {' '.join(str(exc).split())}") from None
        conn.autocommit = True
        try:
            with conn.cursor() as cur:

                def acquire() -> bool:
                    cur.execute("SELECT pg_try_advisory_lock(%s)", (lock_id,))
                    (row,) = cur.fetchall()  # one row: the call's answer
                    return bool(row[0])

                def holder() -> Optional[dict]:
                    return advisory_holder(cur, lock_id)

                wait(acquire, timeout, 0.5, lambda: busy_error(key, timeout, _describe(holder())),
                     lambda: waiting_line(key, _describe(holder()), timeout))
            yield
        finally:
            conn.close()  # ending the session releases the lock

    return locked


def advisory_holder(cur: Any, lock_id: int) -> Optional[dict]:
    """Who holds the advisory lock `lock_id` (a bigint: Postgres shows its high and low 32 bits as classid and
    objid, objsubid 1): the holding session's application_name (learnsync's names host and pid), its backend pid
    and client address, and since when its session exists (backend_start: a lock session is opened to lock). None
    when nobody holds it any more (or the role may not read pg_stat_activity of others)."""
    unsigned = lock_id & 0xFFFFFFFFFFFFFFFF
    cur.execute(
        "SELECT a.application_name, a.pid, a.client_addr, to_char(a.backend_start AT TIME ZONE 'UTC',"
        " 'YYYY-MM-DD HH24:MI:SS') FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s AND l.objsubid = 1",
        (unsigned >> 32, unsigned & 0xFFFFFFFF),
    )
    row = cur.fetchone()
    if row is None:
        return None
    name, pid, addr, since = row
    return {"application_name": name, "backend_pid": pid, "client_addr": addr, "since": f"{since} UTC" if since else None}


def _describe(info: Optional[dict]) -> str:
    """A Postgres lock holder as `learnsync host H pid P (backend pid B from A), since S`."""
    if not info:
        return "a holder that just let go"
    who = info.get("application_name") or "a session without application_name"
    where = f"backend pid {info['backend_pid']}" + (f" from {info['client_addr']}" if info.get("client_addr") else "")
    return f"{who} ({where}), since {info.get('since') or 'an unknown time'}"


def _comments(client: Any) -> dict[Key, str]:
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


def add_indexes(client: Any, wanted: Sequence[Index]) -> int:
    """Add the missing ones of `wanted` to tables that exist in the client's dataset; returns statements run.

    dlt 1.31's Postgres client maps only the `unique` column hint to DDL (`HINT_TO_POSTGRES_ATTR`), and only when
    it creates a table: no primary key, no plain index, nothing for a table that exists. So after a table's sync
    learnsync reads the table's indexes from the catalog and adds what is missing: the parent's primary key (its
    rows are one per key after learnsync's merge) and an index on each child table's `parent_<key>` (the join and
    the merge's delete both filter on it). Nothing in steady state; a run killed before it is healed by the next.

    A btree entry holds at most about 2.7 kB (SQLSTATE 54000: a longer key would stop the table for good), so an
    index over a text column never is a plain btree: a key with a text part is unique through a unique index on
    the MD5 of its text parts (`_text_index`), and a plain index over one text column is a hash index. A table
    indexed by an earlier learnsync with a btree over text gets the new index in place of the old one."""
    rows = client.execute_sql(
        "SELECT c.relname, ic.relname, i.indisprimary, am.amname,"
        " array_agg(coalesce(a.attname::text, '') ORDER BY k.ord)"
        " FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam"
        " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)"
        " LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum"
        " WHERE n.nspname = %s GROUP BY c.relname, ic.relname, i.indisprimary, am.amname",
        client.dataset_name,
    )
    columns = client.execute_sql(
        "SELECT c.relname, a.attname, t.typcategory FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        " JOIN pg_type t ON t.oid = a.atttypid WHERE n.nspname = %s AND c.relkind IN ('r', 'p')", client.dataset_name)
    tables = {r[0] for r in columns or ()}
    text = {(t, c) for t, c, category in columns or () if category == "S"}
    existing = [(t, name, bool(primary), method, tuple(cols)) for t, name, primary, method, cols in rows or ()]
    statements = []
    for want in wanted:
        if want.table not in tables:  # a child table whose arrays were always empty was never created
            continue
        if any((want.table, c) in text for c in want.columns):
            statements += _text_index(client, want, text, existing)
            continue
        name = client.make_qualified_table_name(want.table)
        columns_sql = ", ".join(client.escape_column_name(c) for c in want.columns)
        if want.primary and not any(t == want.table and primary for t, _, primary, _, _ in existing):
            statements.append(f"ALTER TABLE {name} ADD PRIMARY KEY ({columns_sql})")
        elif not want.primary and not any(t == want.table and cols[: len(want.columns)] == want.columns
                                          for t, _, _, _, cols in existing):
            statements.append(f"CREATE INDEX ON {name} ({columns_sql})")
    return run_in_transaction(client, statements)


def _text_index(client: Any, want: Index, text: set[tuple[str, str]], existing: list[tuple]) -> list[str]:
    """The statements that give `want` (over a text column) its index of any key length: a unique index on the
    key with its text parts as MD5 (a primary key), else a hash index on its one column (or a plain index on
    the MD5 of the text parts); an earlier btree over the same columns (a primary key, or an index learnsync
    made) is dropped first. Named after the table and columns, so a run finds its own index again."""
    tag = hashlib.sha1("\0".join((want.table, *want.columns)).encode()).hexdigest()[:12]
    index = f"learnsync_{'key' if want.primary else 'idx'}_{tag}"
    if any(name == index for _, name, _, _, _ in existing):
        return []
    table = client.make_qualified_table_name(want.table)
    out = []
    for t, name, primary, method, cols in existing:
        if t == want.table and method == "btree" and (primary if want.primary else cols[: len(want.columns)] == want.columns and not primary):
            out.append(f"ALTER TABLE {table} DROP CONSTRAINT {client.escape_column_name(name)}" if primary
                       else f"DROP INDEX {client.make_qualified_table_name(name)}")
    parts = [f"md5({client.escape_column_name(c)})" if (want.table, c) in text else client.escape_column_name(c)
             for c in want.columns]
    if want.primary:
        out.append(f"CREATE UNIQUE INDEX {index} ON {table} ({', '.join(f'({p})' for p in parts)})")
    elif len(want.columns) == 1:
        out.append(f"CREATE INDEX {index} ON {table} USING hash ({client.escape_column_name(want.columns[0])})")
    else:
        out.append(f"CREATE INDEX {index} ON {table} ({', '.join(f'({p})' for p in parts)})")
    return out


def _lost(display: str, exc: BaseException) -> Optional[str]:
    """A session the server ended (restart, pg_terminate_backend, network) as what it means for the data."""
    gone = ("server closed the connection", "terminating connection", "connection already closed")
    if not any(s in str(exc) for s in gone):
        return None
    return (f"The Postgres destination {display} closed the connection during the load (server restarted or"
            " session terminated): the window in flight was rolled back, the windows before stay committed with"
            " their cursor. Run again; the next run finishes that window first.")


def dbt_output(parts: SplitResult, schema: str) -> dict[str, Any]:
    """The dbt-postgres profile output; its password is read from DBT_PASSWORD_ENV when dbt runs."""
    host, port = _host_port(parts)
    return {
        "type": "postgres", "host": host, "port": port,
        "user": unquote(parts.username or os.environ.get("PGUSER", "postgres")),
        "password": "{{ env_var('" + DBT_PASSWORD_ENV + "', '') }}",
        "dbname": unquote(parts.path.strip("/")), "schema": schema, "threads": 4,
    }


KIND = Kind(("postgresql", "postgres"), target, dbt_output)
