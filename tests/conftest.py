"""Fixtures: the emulator (one per session and worker), a fresh share per test, the destinations under test, one
Prefect test server per session and worker; and the lanes: each test's markers, from what it uses."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
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


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """One Prefect test server (prefect_test_harness: its own SQLite file) for the session: flows called in the
    test process report to it. Starting one costs about 25 s, so every test that needs one shares it (one per
    xdist worker: xdist 3.8's --dist loadgroup does not group under pytest 9, whose node ids it can no longer set)."""
    from prefect.testing.utilities import prefect_test_harness

    # 300 s, not the 120 s each module and test had: this one start serves every Prefect test of the worker, and
    # on a loaded machine (several test runs on 2 cores) it took over 120 s; a healthy start takes 10-25 s
    with prefect_test_harness(server_startup_timeout=300):
        yield


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `pip wheel .` builds from this checkout, built once per run: xdist's workers share it through
    their common base temp dir, the first to need it builds it under a lock."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # pytest-N/, above each worker's popen-gwN/
    out = shared / "wheel"
    with open(shared / "wheel.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not any(out.glob("learnsync-*.whl")):
            root = Path(__file__).resolve().parents[1]
            proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                                   "-w", str(out), str(root)], capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, proc.stderr[-2000:]
    (found,) = out.glob("learnsync-*.whl")
    return found


# the lanes (pyproject.toml registers the markers): `-m "not slow"` is the unit tier plus the DuckDB integration tests
LANE_PARAMS = {"postgres", "bigquery"}  # a parametrized destination (`dest`, `sql_dest`, `kind`) of a server's
LANE_FIXTURES = {"bigquery": "bigquery", "prefect_server": "prefect", "file_dest": "filesystem"}
SLOW_FIXTURES = {"wheel", "site"}  # a pip build of the checkout; an mkdocs build of the docs site (tests/test_site.py)
SLOW_MARKERS = {"e2e", "load", "subprocess_sync", "postgres", "bigquery", "prefect", "filesystem"}
LONG_MARKERS = {"long", "e2e", "load"}  # half a minute or more each: run first


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks every test by what it uses, so a new test lands in its lane without a marker of its own: a Postgres or
    BigQuery parameter marks `postgres` / `bigquery`, the Prefect server `prefect`, a `file://` destination
    (tests/test_filesystem.py's `file_dest`) `filesystem`; each of those is `slow`. Then orders them, longest first."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        fixtures = set(getattr(item, "fixturenames", ()))
        lanes = {v for v in params.values() if isinstance(v, str) and v in LANE_PARAMS}
        lanes |= {lane for name, lane in LANE_FIXTURES.items() if name in fixtures}
        for lane in sorted(lanes):
            item.add_marker(lane)
        if fixtures & SLOW_FIXTURES or any(item.get_closest_marker(m) for m in SLOW_MARKERS):
            item.add_marker("slow")
    # the longest first (a stable sort: the rest keep pytest's order). xdist hands each worker consecutive tests
    # and refills the one that runs dry, so the long ones start at once and short ones fill in at the end: the two
    # workers finish together instead of one running a demo alone for the last minute
    items.sort(key=_length_rank)


def _length_rank(item: pytest.Item) -> int:
    """0: a long test (LONG_MARKERS); 1: a BigQuery case (the emulator answers in about 0.1 s a request, so these
    take 10-40 s); 2: the rest."""
    if any(item.get_closest_marker(m) for m in LONG_MARKERS):
        return 0
    return 1 if item.get_closest_marker("bigquery") else 2


@pytest.fixture(autouse=True)
def _isolated_dlt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test has its own dlt pipelines dir and no user config."""
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))
    monkeypatch.setenv("DLT_PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "ERROR")
    # dlt sends usage telemetry to telemetry.scalevector.ai by default; tests reach loopback only
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
