"""Fixtures: the emulator (one per session and worker), a fresh share per test, the destinations under test."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from learnsync import emulator
from learnsync.emulator.account import AccountSettings
from learnsync.emulator.wire import WireConfig
from tests.support.warehouses import CHUNK_ROWS, PG_URI, Dest, Share, bigquery_dest, drop_pg_schema, new_share


@pytest.fixture(scope="session")
def server() -> Iterator[Any]:
    """One emulator for the session; each test gets its own database in it. It answers as a real account does
    (`learnsync.emulator.wire`), in small chunks so that a few hundred rows span many of them, each chunk with
    its own integer widths, and as an account whose administrators changed its parameters
    (`AccountSettings.strict()`: a parameter learnsync forgets to pin fails a test); the tests' own connections
    pin what their SQL needs (`EmulatorServer.connect`)."""
    # LISTAGG capped at 64 KB (16 MB on a real account), so that a test reaches it with 2,000 rows
    config = WireConfig(chunk_rows=CHUNK_ROWS, account=AccountSettings.strict(listagg_max_bytes=64 * 2**10))
    with emulator.emulated_share(wire=config) as srv:
        yield srv


@pytest.fixture
def share(server: Any) -> Iterator[Share]:
    s = new_share(server, f"T{uuid.uuid4().hex[:10].upper()}")
    yield s
    s.conn.close()


@pytest.fixture(scope="session")
def bigquery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The local-bigquery emulator on 127.0.0.1 for the session (its venv is built once, under ~/.cache)."""
    pytest.importorskip("google.cloud.bigquery", reason="the bigquery extra is not installed")
    from tests.support import bigquery_emulator

    if bigquery_emulator.python313() is None:
        pytest.skip("local-bigquery needs Python 3.13 (set LEARNSYNC_PY313 or install it with pyenv)")
    with bigquery_emulator.serve(tmp_path_factory.mktemp("bigquery")) as emulator:
        yield emulator


@pytest.fixture(params=["duckdb", "postgres", "bigquery"])
def dest(request: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dest]:
    dataset = f"t_{uuid.uuid4().hex[:10]}"
    if request.param == "bigquery":
        yield from bigquery_dest(request, monkeypatch, dataset, tmp_path)
        return
    if request.param == "duckdb":
        path = tmp_path / "warehouse.duckdb"
        yield Dest("duckdb", f"duckdb:///{path}", dataset, path)
        return
    yield Dest("postgres", PG_URI, dataset, tmp_path)
    drop_pg_schema(dataset)


@pytest.fixture(autouse=True)
def _isolated_dlt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test has its own dlt pipelines dir and no user config."""
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))
    monkeypatch.setenv("DLT_PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "ERROR")
    # dlt sends usage telemetry to telemetry.scalevector.ai by default; tests reach loopback only
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
