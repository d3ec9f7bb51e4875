"""The warehouses under test: the emulated share (`Share`, `new_share`) and the destinations (`Dest`, read back
with each destination's own client), shared by the fixtures in conftest.py and the tools in tests/support."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest

CHUNK_ROWS = 64

PG_URI = os.environ.get("LEARNSYNC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

# a stray Google application-default lookup (no credentials found) would probe the GCE metadata server; in the
# tests it must never leave the loopback. google-auth reads these when first imported, so set them before that.
for _var, _value in (("NO_GCE_CHECK", "true"), ("GCE_METADATA_HOST", "127.0.0.1:9"), ("GCE_METADATA_IP", "127.0.0.1:9")):
    os.environ.setdefault(_var, _value)


@dataclass
class Share:
    """A fresh database.schema in the emulator, with a connection to change it."""

    server: Any
    database: str
    schema: str
    conn: Any

    @property
    def uri(self) -> str:
        return self.server.uri(self.database, self.schema)

    def sql(self, statement: str, params: Any = None) -> list[tuple]:
        cur = self.conn.cursor()
        try:
            cur.execute(statement, params)
            try:
                return cur.fetchall()
            except Exception:  # noqa: BLE001 - DDL/DML have no result set
                return []
        finally:
            cur.close()


def new_share(server: Any, database: str) -> Share:
    """Create DATABASE.CORE in the emulator, on a connection of its own (close `.conn` when done)."""
    # decimals, not float64, for scaled NUMBERs on the row path too: the tests' oracle reads the share with it
    s = Share(server, database, "CORE", server.connect(arrow_number_to_decimal=True))
    s.sql(f'CREATE DATABASE "{database}"')
    s.sql(f'CREATE SCHEMA "{database}"."CORE"')
    s.sql(f'USE SCHEMA "{database}"."CORE"')
    return s


@dataclass
class Dest:
    """A destination under test: its URI, dataset and a way to read it back."""

    kind: str
    uri: str
    dataset: str
    path: Path

    client: Any = None  # a google.cloud.bigquery.Client for `bigquery`

    def query(self, sql: str) -> list[tuple]:
        if self.kind == "bigquery":
            return _bigquery_query(self.client, self.dataset, sql)
        if self.kind == "file":
            return _parquet_query(self.path, self.dataset, sql)
        sql = sql.replace("{ds}", self.dataset)
        if self.kind == "duckdb":
            import duckdb

            con = duckdb.connect(str(self.path), read_only=True)
            try:
                return con.execute(sql).fetchall()
            finally:
                con.close()
        import psycopg2

        con = psycopg2.connect(self.uri, options="-c timezone=UTC")
        try:
            with con.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall()
        finally:
            con.close()

    def execute(self, statement: str) -> None:
        """Run a statement that changes the destination (DuckDB, Postgres or BigQuery), `{ds}` standing for the
        dataset."""
        if self.kind == "bigquery":
            _bigquery_query(self.client, self.dataset, statement)
            return
        statement = statement.replace("{ds}", self.dataset)
        if self.kind == "duckdb":
            import duckdb

            with duckdb.connect(str(self.path)) as con:
                con.execute(statement)
            return
        import psycopg2

        con = psycopg2.connect(self.uri)
        try:
            with con, con.cursor() as cur:
                cur.execute(statement)
        finally:
            con.close()

    def tables(self) -> set[str]:
        """The dataset's tables. BigQuery's come from its tables API: an INFORMATION_SCHEMA query is a query job,
        which the emulator answers in about 0.2 s."""
        if self.kind == "bigquery":
            return {t.table_id for t in self.client.list_tables(self.dataset)}
        return {r[0] for r in self.query("SELECT table_name FROM information_schema.tables WHERE table_schema = '{ds}'")}

    def columns(self, table: str) -> list[str]:
        """The columns of a table of the dataset, in their order; none for a table that is not there."""
        if self.kind == "bigquery":
            from google.api_core.exceptions import NotFound

            try:
                return [f.name for f in self.client.get_table(f"{self.client.project}.{self.dataset}.{table}").schema]
            except NotFound:
                return []
        return [r[0] for r in self.query("SELECT column_name FROM information_schema.columns WHERE table_schema ="
                                         f" '{{ds}}' AND table_name = '{table}' ORDER BY ordinal_position")]


def _bigquery_query(client: Any, dataset: str, sql: str) -> list[tuple]:
    """Run the tests' Postgres-dialect SQL on BigQuery (dataset-qualified INFORMATION_SCHEMA, backticks)."""
    import sqlglot

    sql = re.sub(r"\binformation_schema\.(tables|columns)\b", r'"{ds}".INFORMATION_SCHEMA.\1', sql, flags=re.I)
    sql = sqlglot.transpile(sql.replace("{ds}", dataset), read="postgres", write="bigquery")[0]
    # one jobs.query call that returns the rows, instead of a job and then its result pages
    return [tuple(map(_naive_utc, row.values())) for row in client.query_and_wait(sql)]


def _parquet_query(folder: Path, dataset: str, sql: str) -> list[tuple]:
    """Run SQL over the Parquet files of a `file://` destination: one DuckDB view per table folder."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(f'CREATE SCHEMA "{dataset}"')
        for table in sorted((folder / dataset).iterdir()):
            files = sorted(table.glob("*.parquet"))
            if files:
                paths = ", ".join(f"'{f}'" for f in files)
                con.execute(f'CREATE VIEW "{dataset}"."{table.name}" AS SELECT * FROM read_parquet([{paths}], union_by_name = true)')
        return con.execute(sql.replace("{ds}", dataset)).fetchall()
    finally:
        con.close()


def _naive_utc(value: Any) -> Any:
    """dlt 1.31 loads every timestamp into BigQuery as TIMESTAMP (its DATETIME does not load from parquet), so a
    TIMESTAMP_NTZ lands as the same wall clock in UTC; compare it as that wall clock, and nothing else."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        assert value.utcoffset() == timedelta(0), value
        return value.replace(tzinfo=None)
    return value


def bigquery_dest(request: Any, monkeypatch: pytest.MonkeyPatch, dataset: str, tmp_path: Path) -> Iterator[Dest]:
    """A BigQuery destination on the emulator. The product resolves credentials the dlt way; here dlt gets a
    credentials object that needs no token refresh (credentials from config would try to reach Google)."""
    if request.node.get_closest_marker("subprocess_sync"):
        pytest.skip("a sync in a subprocess cannot be handed the emulator's in-memory credentials object")
    import dlt
    from google.cloud import bigquery as bq
    from google.oauth2.credentials import Credentials

    emulator = request.getfixturevalue("bigquery")
    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", emulator.endpoint)
    # dlt waits a fixed second before each look at a BigQuery load job (dlt 1.31
    # destinations/impl/bigquery/bigquery.py: `sleep(1)` in BigQueryLoadJob.run; no setting): a real load job takes
    # seconds, the emulator's is done before it answers, and those waits were 19 of a test's 31 s. Here it looks
    # every 50 ms; the job, its states and its errors are the emulator's, as before. (Fails if dlt renames it.)
    from dlt.destinations.impl.bigquery import bigquery as dlt_bigquery
    from dlt.common.runtime.signals import sleep

    monkeypatch.setattr(dlt_bigquery, "sleep", lambda seconds: sleep(min(seconds, 0.05)))
    # the emulator does not unzip uploaded load files
    monkeypatch.setenv("NORMALIZE__DATA_WRITER__DISABLE_COMPRESSION", "true")
    credentials = Credentials(token="local-bigquery")
    client = bq.Client(project=emulator.project, credentials=credentials,
                       client_options={"api_endpoint": emulator.endpoint})
    with dlt.secrets.values({"destination.bigquery.credentials": credentials}):
        yield Dest("bigquery", f"bigquery://{emulator.project}?location=EU", dataset, tmp_path, client)
    for ds in client.list_datasets():
        if ds.dataset_id == dataset or ds.dataset_id.startswith(f"{dataset}_staging"):
            client.delete_dataset(ds.dataset_id, delete_contents=True, not_found_ok=True)
    client.close()


def drop_pg_schema(dataset: str) -> None:
    import psycopg2

    con = psycopg2.connect(PG_URI)
    con.autocommit = True
    with con.cursor() as cur:
        # the dataset, its staging dataset and the backfill lanes' staging datasets (<dataset>_staging_bfN)
        cur.execute("SELECT nspname FROM pg_namespace WHERE nspname = %s OR nspname LIKE %s",
                    (dataset, f"{dataset}\\_staging%"))
        for (schema,) in cur.fetchall():
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    con.close()


