"""Real parts: the fakesnow emulator over HTTP, DuckDB files, the Postgres server on 127.0.0.1."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from learnsync import emulator

PG_URI = os.environ.get("LEARNSYNC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def server() -> Iterator[Any]:
    """One emulator for the session; each test gets its own database in it."""
    with emulator.emulated_share() as srv:
        yield srv


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


@pytest.fixture
def share(server: Any) -> Iterator[Share]:
    database = f"T{uuid.uuid4().hex[:10].upper()}"
    conn = server.connect()
    s = Share(server, database, "CORE", conn)
    s.sql(f'CREATE DATABASE "{database}"')
    s.sql(f'CREATE SCHEMA "{database}"."CORE"')
    s.sql(f'USE SCHEMA "{database}"."CORE"')
    yield s
    conn.close()


@dataclass
class Dest:
    """A destination under test: its URI, dataset and a way to read it back."""

    kind: str
    uri: str
    dataset: str
    path: Path

    def query(self, sql: str) -> list[tuple]:
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

    def tables(self) -> set[str]:
        rows = self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = '{ds}'"
        )
        return {r[0] for r in rows}


def _drop_pg_schema(dataset: str) -> None:
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


@pytest.fixture(params=["duckdb", "postgres"])
def dest(request: Any, tmp_path: Path) -> Iterator[Dest]:
    dataset = f"t_{uuid.uuid4().hex[:10]}"
    if request.param == "duckdb":
        path = tmp_path / "warehouse.duckdb"
        yield Dest("duckdb", f"duckdb:///{path}", dataset, path)
        return
    yield Dest("postgres", PG_URI, dataset, tmp_path)
    _drop_pg_schema(dataset)


@pytest.fixture(autouse=True)
def _isolated_dlt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test has its own dlt pipelines dir and no user config."""
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))
    monkeypatch.setenv("DLT_PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "ERROR")
