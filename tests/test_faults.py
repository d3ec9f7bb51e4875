"""Faults injected into real parts: the source process killed mid-read, the loading Postgres session
terminated, a DuckDB file held by another process, two CLI runs of one table at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from learnsync import emulator
from tests.support.warehouses import Share, new_share
from tests.support.crashkit import TABLE, assert_exact, landed, seed, start_sync, waiting
from tests.support.rows import DAY_START



def _wait_for(predicate, timeout: float, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def _emulated(database: str):
    """An emulator in its own process, with one database; returns (context, share)."""
    ctx = emulator.serve_in_subprocess()
    return ctx, new_share(ctx.__enter__(), database)


class _Timeouts(Share):
    """The share's URI with short timeouts, so the test is fast (the defaults are checked on their own): a refused
    request is retried for network_timeout (5 s; the connector's backoff takes it to about 10 s, 20 s with 10), a
    slow answer on a busy machine still has socket_timeout's 10 s before it counts as a lost source."""

    @property
    def uri(self) -> str:
        return super().uri + "&network_timeout=5&socket_timeout=10"


@pytest.mark.subprocess_sync
@pytest.mark.long
def test_source_killed_mid_read_fails_clearly_then_the_rerun_is_exact(dest, tmp_path):
    ctx, share = _emulated("GONE")
    try:
        seed(share, 400)
        short = _Timeouts(share.server, share.database, share.schema, share.conn)
        proc = start_sync(short, dest, tmp_path)
        # a committed window leaves its load package in dlt's `loaded` folder (polling the DuckDB file instead
        # would take its lock from the writer)
        assert _wait_for(lambda: any((tmp_path / "dlt" / "pipelines").glob("*/load/loaded/*")), 120), "no window"
        os.kill(share.server.pid, signal.SIGKILL)  # the source dies between or in the middle of reads
        killed = time.monotonic()
        out, err = proc.communicate(timeout=120)
        took = time.monotonic() - killed
        before = landed(dest)
    finally:
        share.conn.close()
        ctx.__exit__(None, None, None)
    print(f"failed {took:.1f} s after the source died, {before} of 400 rows committed")
    assert proc.returncode == 1, out + err
    assert "Traceback" not in out + err, err[err.find("Traceback") - 600:][:1500]
    assert "stopped answering" in out and TABLE in out, out
    assert took < 60
    assert 0 < before < 400
    # the source is back (a new process, the same data): the next run goes on from the committed windows
    ctx, share = _emulated("GONE")
    try:
        seed(share, 400)
        rerun = start_sync(share, dest, tmp_path)
        out, err = rerun.communicate(timeout=300)
        assert rerun.returncode == 0, out + err
        assert_exact(share, dest)
    finally:
        share.conn.close()
        ctx.__exit__(None, None, None)


def test_connector_timeouts_are_bounded_by_default():
    from learnsync.pipelines.snowflake.connection import parse_source_uri

    kwargs = parse_source_uri("snowflake://u:p@acct/DB/S").to_connector_params()
    assert (kwargs["login_timeout"], kwargs["network_timeout"], kwargs["socket_timeout"]) == (30, 120, 60)


def _terminate_loading_session(dataset: str, table: str, stop: threading.Event, killed: list[int]) -> None:
    """Hold the destination table locked until the loader's next statement on it waits, then terminate that
    session (only ours: the dataset name is unique). The lock makes the cut land mid-load however fast loads are."""
    import psycopg2

    from tests.support.warehouses import PG_URI

    holder, con = psycopg2.connect(PG_URI), psycopg2.connect(PG_URI)
    con.autocommit = True
    try:
        with holder.cursor() as lock, con.cursor() as cur:
            lock.execute(f'LOCK TABLE "{dataset}"."{table}" IN ACCESS EXCLUSIVE MODE')
            while not stop.is_set() and not killed:
                cur.execute(
                    "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
                    " AND query ILIKE %s", (f"%{dataset}%",))
                for (pid,) in cur.fetchall()[:1]:
                    cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
                    killed.append(pid)
                time.sleep(0.01)
    finally:
        holder.rollback()
        holder.close()
        con.close()


@pytest.mark.postgres
def test_postgres_session_terminated_mid_load_is_retried_or_fails_clearly_then_exact(share, tmp_path):
    """dlt retries a load job whose session died (a transient error) within the run; when the retry fails too,
    the run fails in one clear line. Either way the destination ends exact, after a rerun in the second case."""
    import uuid

    from tests.support.warehouses import PG_URI, Dest, drop_pg_schema

    dest = Dest("postgres", PG_URI, f"t_{uuid.uuid4().hex[:10]}", tmp_path)
    try:
        seed(share, 400)
        stop, killed = threading.Event(), []
        proc = start_sync(share, dest, tmp_path)
        # let a few windows commit first, so the cut comes in the middle of the run
        assert _wait_for(lambda: len(list((tmp_path / "dlt" / "pipelines").glob("*/load/loaded/*"))) >= 2, 120)
        sampler = threading.Thread(target=_terminate_loading_session,
                                   args=(dest.dataset, "courses_trackings", stop, killed))
        sampler.start()
        out, err = proc.communicate(timeout=300)
        stop.set()
        sampler.join()
        assert killed, "no loading session was seen"
        assert "Traceback" not in out + err, err
        assert proc.returncode in (0, 1), out + err
        if proc.returncode == 1:
            line = next(line for line in out.splitlines() if "FAILED" in line)
            assert "Postgres" in line and "connection" in line, line
            assert 0 < landed(dest) < 400
            rerun = start_sync(share, dest, tmp_path)
            out, err = rerun.communicate(timeout=300)
            assert rerun.returncode == 0, out + err
        assert_exact(share, dest)
    finally:
        drop_pg_schema(dest.dataset)


@pytest.mark.slow  # a holder process and two syncs as processes
def test_duckdb_file_held_by_another_process_is_named(share, tmp_path):
    from tests.support.warehouses import Dest

    path = tmp_path / "held.duckdb"
    dest = Dest("duckdb", f"duckdb:///{path}", "learning_held", path)
    seed(share, 10)
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]);"
                               " print('open', flush=True); time.sleep(120)", str(path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        proc = start_sync(share, dest, tmp_path)
        out, err = proc.communicate(timeout=120)
    finally:
        holder.kill()
        holder.communicate()
    # found when the destination is reached, before any table: one error line, exit 2
    assert proc.returncode == 2, out + err
    assert "Traceback" not in out + err
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    assert f"The DuckDB file {path} is in use by another process" in line and f"PID {holder.pid}" in line, err
    assert TABLE not in out, out
    rerun = start_sync(share, dest, tmp_path)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, out + err
    assert_exact(share, dest)


@pytest.mark.subprocess_sync
def test_two_cli_runs_of_one_table_one_waits_none_duplicates(share, dest, tmp_path):
    """The test itself holds the table's lock (the product's own lock, as a running sync holds it), so "another run
    is busy" is certain rather than a race against a fast first run; then two runs wait for it at once."""
    from learnsync.destinations import resolve
    from learnsync.pipelines.sync import table_lock

    seed(share, 400)
    here, there = tmp_path / "a", tmp_path / "b"  # two working directories: two local pipeline states
    here.mkdir()
    there.mkdir()
    with table_lock(resolve(dest.uri, dest.dataset), dest.dataset, TABLE, 5):
        impatient = start_sync(share, dest, here, "--lock-timeout", "1")
        out, err = impatient.communicate(timeout=120)
        assert "Traceback" not in out + err, err
        if dest.kind == "duckdb":
            # the file is busy already when the run first opens it (to reach the destination, before any table)
            assert impatient.returncode == 2, out + err
            (line,) = [x for x in err.splitlines() if x.startswith("error:")]
            assert f"Another learnsync process is writing the DuckDB file {dest.path}" in line, err
        else:
            assert impatient.returncode == 1, out + err
            assert "Another learnsync run is syncing table COURSES_TRACKINGS" in out, out
        assert landed(dest) == 0  # nothing half-applied
        runs = [start_sync(share, dest, here), start_sync(share, dest, there)]  # both wait (default: 10 minutes)
        heads = [waiting(proc) for proc in runs]  # each said it waits
        assert [proc.poll() for proc in runs] == [None, None], heads
    for proc, head in zip(runs, heads):
        out, err = proc.communicate(timeout=300)
        err = head + err
        assert proc.returncode == 0, out + err
    assert_exact(share, dest)
    assert dest.query('SELECT count(*), count(DISTINCT id) FROM "{ds}"."courses_trackings"') == [(400, 400)]


@pytest.mark.slow  # syncs as processes
def test_two_processes_syncing_different_tables_of_one_duckdb_file_take_turns(share, tmp_path):
    """DuckDB lets one process write a file: a second learnsync process waits for the first's table run (a lock on
    the file between processes) instead of failing on DuckDB's own lock. The test holds that lock first, so both
    runs are certainly waiting at once; then both finish and both tables are exact."""
    from learnsync.destinations import resolve
    from learnsync.pipelines.sync import table_lock
    from tests.support.warehouses import Dest
    from tests.support.helpers import assert_table_equal, create, insert

    path = tmp_path / "shared.duckdb"
    dest = Dest("duckdb", f"duckdb:///{path}", "learning", path)
    seed(share, 200)
    create(share, "SKILLS")
    insert(share, "SKILLS", [{"ID": f"s{i}", "CREATED_AT": DAY_START, "NAME": f"skill {i}"} for i in range(50)])
    dirs = [tmp_path / "a", tmp_path / "b"]
    for d in dirs:
        d.mkdir()
    with table_lock(resolve(dest.uri, dest.dataset), dest.dataset, "SOMETHING_ELSE", 5):
        runs = [start_sync(share, dest, d, "--tables", t) for d, t in zip(dirs, (TABLE, "SKILLS"))]
        heads = [waiting(proc) for proc in runs]  # each said it waits
        # both wait for the file (a run that ended says why)
        assert [proc.poll() for proc in runs] == [None, None], (heads, [p.communicate() for p in runs if p.poll() is not None])
    for proc, head in zip(runs, heads):
        out, err = proc.communicate(timeout=300)
        err = head + err
        assert proc.returncode == 0, out + err
        assert "Traceback" not in out + err, err
    assert_exact(share, dest)
    assert_table_equal(share, dest, "SKILLS")
