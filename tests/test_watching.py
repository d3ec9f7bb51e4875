"""Watching it: every Snowflake query tagged and counted, freshness and last error in `status`, run history."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import create, insert
from tests.support.cli import in_process, learnsync
from tests.support.rows import T0



def _course(i: int, **extra: Any) -> dict:
    return {"ID": f"c{i}", "CREATED_AT": T0 - timedelta(days=30), "MODIFIED_AT": T0, "NAME": f"Course {i}",
            "COURSE_DURATION": i, **extra}


def _env(share: Any, db: Path) -> dict:
    return {"LEARNSYNC_SOURCE_URI": share.uri, "LEARNSYNC_DEST_URI": f"duckdb:///{db}", "LEARNSYNC_DATASET": "learning"}


def test_every_query_carries_the_query_tag_and_is_counted(share, tmp_path):
    create(share, "COURSES")
    create(share, "SKILLS")
    insert(share, "COURSES", [_course(i) for i in range(3)])
    insert(share, "SKILLS", [{"ID": "s1", "CREATED_AT": T0, "NAME": "n"}])
    wire = share.server.wire
    first = len(wire.queries)
    proc = in_process("sync", cwd=tmp_path, env=_env(share, tmp_path / "w.duckdb"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    received = wire.queries[first:]
    assert received, "the emulator received no query"

    untagged = [q.sql for q in received if "QUERY_TAG" not in q.parameters]
    assert not untagged, untagged
    tags = [json.loads(q.parameters["QUERY_TAG"]) for q in received]
    assert {t["tool"] for t in tags} == {"learnsync"}
    assert {t["profile"] for t in tags} == {"360learning"}
    assert len({t["run_id"] for t in tags}) == 1 and {t["mode"] for t in tags} <= {"incremental"}
    from learnsync import __version__

    assert {t["version"] for t in tags} == {__version__}
    # the login carried the run's tag (SESSION_PARAMETERS of the login request): the session's first query, the
    # discovery, has it before any ALTER SESSION
    assert not received[0].sql.upper().startswith("ALTER SESSION") and tags[0]["table"] is None
    # each table's reads carry that table's tag
    for q, t in zip(received, tags):
        if f'"{share.database}"."CORE"."COURSES"' in q.sql:
            assert t["table"] == "COURSES", q.sql
        if f'"{share.database}"."CORE"."SKILLS"' in q.sql:
            assert t["table"] == "SKILLS", q.sql

    # the per-table counts the run printed are the queries the server received for that table, plus the one
    # ALTER SESSION that switched the tag to it
    for table in ("COURSES", "SKILLS"):
        line = next(ln for ln in proc.stdout.splitlines() if ln.strip().startswith(table))
        printed = int(line.split("snowflake ")[1].split(" queries")[0])
        tagged = sum(1 for q, t in zip(received, tags) if t["table"] == table and not q.sql.upper().startswith("ALTER"))
        assert printed == tagged + 1, (line, tagged)
        assert "None" not in line


def _retype_smallint(uri: str, db: Path, dataset: str) -> None:
    """The destination column can no longer hold big values (as after an operator's ALTER): the next load that
    meets one fails for a lasting reason."""
    statement = f'ALTER TABLE "{dataset}"."courses" ALTER COLUMN "course_duration" TYPE SMALLINT'
    if uri.startswith("duckdb"):
        import duckdb

        con = duckdb.connect(str(db))
        con.execute(statement)
        con.close()
        return
    import psycopg2

    con = psycopg2.connect(uri)
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(statement)
    con.close()


@pytest.fixture(params=["duckdb", "postgres"])
def sql_dest(request, tmp_path):
    """(URI, DuckDB file, dataset) of a DuckDB file or a fresh Postgres dataset."""
    import uuid

    from tests.support.warehouses import PG_URI, drop_pg_schema

    if request.param == "duckdb":
        yield f"duckdb:///{tmp_path / 'w.duckdb'}", tmp_path / "w.duckdb", "learning"
        return
    dataset = f"t_{uuid.uuid4().hex[:10]}"
    yield PG_URI, tmp_path, dataset
    drop_pg_schema(dataset)


def test_status_reports_lag_state_and_last_error_after_a_failing_run(share, tmp_path, sql_dest):
    create(share, "COURSES")
    create(share, "SKILLS")
    insert(share, "COURSES", [_course(i) for i in range(3)])
    insert(share, "SKILLS", [{"ID": "s1", "CREATED_AT": T0, "NAME": "n"}])
    uri, db, dataset = sql_dest
    env = {**_env(share, db), "LEARNSYNC_DEST_URI": uri, "LEARNSYNC_DATASET": dataset,
           "SOURCES__LEARNSYNC__TABLES__SKILLS__MAX_LAG_HOURS": "24"}
    assert in_process("sync", cwd=tmp_path, env=env).returncode == 0
    # nothing changed: the lookback's fingerprints match, so nothing is read (issue 13), and the run is recorded
    again = in_process("sync", "--tables", "COURSES", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "rows         0 (0 new, 0 re-read)" in again.stdout, again.stdout
    assert "1 of 1 table(s) unchanged since their last sync" in again.stdout, again.stdout

    _retype_smallint(uri, db, dataset)
    insert(share, "COURSES", [_course(9, MODIFIED_AT=T0 + timedelta(hours=1), COURSE_DURATION=1_000_000)])
    failed = in_process("sync", cwd=tmp_path, env=env)
    assert failed.returncode == 1, failed.stdout + failed.stderr

    status = in_process("status", "--json", cwd=tmp_path, env=env)
    assert status.returncode == 0, status.stdout + status.stderr
    report = {r["table"]: r for r in map(json.loads, status.stdout.splitlines())}
    courses, skills = report["COURSES"], report["SKILLS"]
    assert courses["state"] == "failed"
    assert "out of range" in courses["last_error"] and courses["last_error_at"]
    assert courses["last_outcome"] == "failed" and courses["last_success"]
    assert courses["rows"] == 3 and courses["cursor"].startswith("2026-01-01 12:00:00")
    assert isinstance(courses["lag_seconds"], float)
    now_lag = (datetime.utcnow() - T0).total_seconds()
    assert abs(courses["lag_seconds"] - now_lag) < 600
    # SKILLS synced fine, but its newest row is far older than its max_lag_hours: a warning state
    assert skills["state"] == "stale" and skills["max_lag_hours"] == 24 and skills["lag_seconds"] > 24 * 3600
    assert skills["last_error"] is None

    text = in_process("status", cwd=tmp_path, env=env)
    assert text.returncode == 0 and "None" not in text.stdout, text.stdout
    line = next(ln for ln in text.stdout.splitlines() if ln.startswith("COURSES"))
    assert " failed " in line and "last error" in line and "out of range" in line, line
    assert "stale" in next(ln for ln in text.stdout.splitlines() if ln.startswith("SKILLS"))
    print(text.stdout)

    hist = in_process("history", "--table", "courses", "--json", cwd=tmp_path, env=env)
    assert hist.returncode == 0, hist.stdout + hist.stderr
    runs = [json.loads(ln) for ln in hist.stdout.splitlines()]
    assert [r["outcome"] for r in runs] == ["failed", "ok", "ok"]
    # the second run found the lookback unchanged and read nothing (issue 13)
    assert [(r["rows_new"], r["rows_reread"]) for r in runs[1:]] == [(0, 0), (3, 0)]
    assert runs[0]["cursor_before"].startswith("2026-01-01 12:00:00") and "out of range" in runs[0]["error"]
    # the unchanged run read nothing: the check's one query is the run's row (table *), not this table's (issue 21)
    assert [r["queries"] > 0 for r in runs] == [True, False, True]
    assert all(isinstance(r["snowflake_seconds"], float) for r in runs)
    assert len({r["run_id"] for r in runs}) == 3
    if not uri.startswith("duckdb"):
        return  # the rest is about the command line, not the destination
    plain = in_process("history", cwd=tmp_path, env=env)
    assert plain.returncode == 0 and "None" not in plain.stdout and plain.stdout.count("SKILLS") == 2, plain.stdout
    print(plain.stdout)

    bad = in_process("status", cwd=tmp_path, env={**env, "SOURCES__LEARNSYNC__TABLES__SKILLS__MAX_LAG_HOURS": "-1"})
    assert bad.returncode == 2 and bad.stderr.count("error:") == 1 and "max_lag_hours" in bad.stderr, bad.stderr


def test_status_shows_the_last_reconcile_and_what_it_changed(share, tmp_path):
    """Reconcile runs land in the run history too: `status` shows when a table was last reconciled and how many
    rows it changed (a dry run: found differing), `history` lists them apart from syncs; a table's sync state and
    last successful sync are its syncs' only."""
    create(share, "SKILLS")
    insert(share, "SKILLS", [{"ID": f"s{i}", "CREATED_AT": T0, "NAME": "n"} for i in range(3)])
    env = _env(share, tmp_path / "w.duckdb")
    assert in_process("sync", cwd=tmp_path, env=env).returncode == 0
    share.sql('DELETE FROM "SKILLS" WHERE "ID" = \'s2\'')  # a hard delete no cursor sees

    def report() -> dict:
        status = in_process("status", "--json", cwd=tmp_path, env=env)
        assert status.returncode == 0, status.stdout + status.stderr
        return json.loads(status.stdout.splitlines()[0])

    assert report()["last_reconcile"] is None
    dry = in_process("reconcile", "--dry-run", cwd=tmp_path, env=env)
    assert dry.returncode == 1, dry.stdout + dry.stderr  # a dry run that finds drift fails
    found = report()
    assert found["last_reconcile"] and found["last_reconcile_drift"] == 1 and found["state"] == "ok", found
    assert in_process("reconcile", cwd=tmp_path, env=env).returncode == 0
    fixed = report()
    assert fixed["last_reconcile_drift"] == 1 and fixed["rows"] == 2 and fixed["last_reconcile"] >= found["last_reconcile"]
    assert fixed["last_success"] == found["last_success"]  # reconciling is not a sync
    text = in_process("status", cwd=tmp_path, env=env).stdout
    assert "reconciled" in text and "(1 row changed)" in text and "None" not in text, text
    hist = in_process("history", "--table", "SKILLS", cwd=tmp_path, env=env)
    modes = [ln.split()[4] for ln in hist.stdout.splitlines()]
    assert modes == ["reconcile", "reconcile", "incremental"], hist.stdout
    assert "1 changed" in hist.stdout and "None" not in hist.stdout, hist.stdout


# --------------------------------------------------------------------------------------------------------------
# alerts, end to end: a Prefect server (its triggers and actions services on), the automations applied with the
# CLI, flow runs in this process, and a webhook receiver on 127.0.0.1 that gets the notifications


class _Receiver:
    """An HTTP server on 127.0.0.1 that records the JSON bodies POSTed to it."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                received.append(json.loads(body or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, needle: str, timeout: float) -> dict:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for body in list(self.received):
                if needle in json.dumps(body):
                    return body
            time.sleep(0.5)
        raise AssertionError(f"no notification with {needle!r} in {timeout:.0f} s; received: {self.received}")

    def close(self) -> None:
        self.server.shutdown()


@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_alerts_reach_a_webhook_when_a_run_fails_and_when_a_table_stops_syncing(share, tmp_path, monkeypatch):
    import time

    from prefect.blocks.notifications import CustomWebhookNotificationBlock
    from tests.support.prefect_server import PREFECT, Service, api_of, clean_env, free_port, wait_healthy

    create(share, "SKILLS")
    insert(share, "SKILLS", [{"ID": f"s{i}", "CREATED_AT": T0 + timedelta(hours=i), "NAME": "n"} for i in range(6)])
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    (tmp_path / "prefect").mkdir()
    quiet = {f"PREFECT_SERVER_SERVICES_{s}_ENABLED": "false" for s in (
        "SCHEDULER", "LATE_RUNS", "FOREMAN", "PAUSE_EXPIRATIONS", "REPOSSESSOR", "CANCELLATION_CLEANUP")}
    env = clean_env(PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_API_URL=api_url, DO_NOT_TRACK="1",
                     PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_SERVER_UI_ENABLED="false",
                     PREFECT_SERVER_LOGGING_LEVEL="WARNING", **quiet)
    server = Service("prefect server", [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                     env, tmp_path / "prefect", tmp_path / "server.log")
    receiver = _Receiver()
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    monkeypatch.setenv("SOURCES__LEARNSYNC__CREDENTIALS__PASSWORD", "snow")
    try:
        started = time.monotonic()
        wait_healthy(server, api_url)
        print(f"server up in {time.monotonic() - started:.1f} s")
        with api_of(api_url):  # the flows' events go to this server, not the session's test server
            CustomWebhookNotificationBlock(
                name="learnsync alerts", url=receiver.url, json_data={"subject": "{{subject}}", "body": "{{body}}"},
            ).save("learnsync-alerts")
            # bad input first: one error line, exit 2
            missing = learnsync("automations", "apply", "--notify-block", "nope", cwd=tmp_path, env=env)
            assert missing.returncode == 2 and missing.stderr.count("error:") == 1, missing.stderr
            assert "learnsync-alerts" in missing.stderr  # names the notification blocks there are
            applied = learnsync("automations", "apply", "--notify-block", "learnsync-alerts", "--stale-hours", "0.004",
                                cwd=tmp_path, env=env)
            assert applied.returncode == 0, applied.stdout + applied.stderr
            assert applied.stdout.count("created") == 2, applied.stdout
            again = learnsync("automations", "apply", "--notify-block", "learnsync-alerts", "--stale-hours", "0.004",
                              cwd=tmp_path, env=env)  # replaces, never duplicates, and says so
            assert again.returncode == 0, again.stdout + again.stderr
            assert again.stdout.count("replaced") == 2 and "created" not in again.stdout, again.stdout
            from prefect.client.orchestration import get_client

            with get_client(sync_client=True) as client:
                names = sorted(a.name for a in client.read_automations())
            assert names == ["learnsync flow run failed", "learnsync table not synced"], names

            from learnsync.flows.sync import sync_flow

            params = dict(source_uri=share.uri.replace("fake:snow@", "fake@"),
                          destination=f"duckdb:///{tmp_path / 'w.duckdb'}", dataset="learning")
            ok = sync_flow(**params, window_rows=2, return_state=True)  # three windows: a progress artifact
            assert ok.is_completed(), ok.message
            synced_at = time.monotonic()
            failed = sync_flow(**params, tables=["NOPE"], return_state=True)
            assert failed.is_failed()

            alert = receiver.wait_for("Failed", timeout=60)
            print(f"failure notification {time.monotonic() - synced_at:.1f} s after the run:\n{json.dumps(alert, indent=2)}")
            assert "learnsync-sync" in alert["subject"] and "NOPE" in alert["body"], alert
            stale = receiver.wait_for("dataset learning has not synced", timeout=90)
            print(f"not-synced notification {time.monotonic() - synced_at:.1f} s after the sync:\n"
                  f"{json.dumps(stale, indent=2)}")
            # one notification for the dataset, naming its tables, the window in words and what to run (issue 21)
            assert "14.4 seconds" in stale["subject"] and "SKILLS" in stale["body"], stale
            assert "learnsync status --profile 360learning --dataset learning" in stale["body"], stale

            from prefect.events.filters import EventFilter, EventNameFilter

            with get_client(sync_client=True) as client:
                events = client.read_events(filter=EventFilter(event=EventNameFilter(prefix=["learnsync."])), limit=50)
            [synced] = [e for e in events.events if e.event.startswith("learnsync.table.")]
            [run_synced] = [e for e in events.events if e.event == "learnsync.run.synced"]
            assert run_synced.payload["tables"] == ["SKILLS"], run_synced.payload
            assert synced.event == "learnsync.table.synced" and synced.resource.id == "learnsync.table.learning.SKILLS"
            assert synced.payload["rows"] == 6 and synced.payload["rows_new"] == 6
            assert isinstance(synced.payload["lag_seconds"], float) and synced.payload["snowflake_queries"] > 0
            assert any(r.id.startswith("prefect.flow-run.") for r in synced.related)  # Prefect relates it to the run
            from prefect.artifacts import Artifact

            progress = Artifact.get("learnsync-progress-skills")
            assert progress is not None and progress.type == "progress" and float(progress.data) == 100.0, progress
            # quiet logs: no warning about a concurrency limit nobody asked for, no dlt schema-hint notes
            from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

            with get_client(sync_client=True) as client:
                logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(
                    any_=[ok.state_details.flow_run_id])))
            text = "\n".join(log.message for log in logs)
            assert "window 3 of 3 committed" in text, text
            assert "Concurrency limits" not in text and "merging arrow schema" not in text, text
    finally:
        receiver.close()
        server.stop()


# --------------------------------------------------------------------------------------------------------------
# a run waiting for another run's table lock says so at once and names the holder

_HOLD = """
import sys, time
from learnsync.destinations import resolve
from learnsync.pipelines.sync import table_lock
uri, dataset = sys.argv[1:3]
with table_lock(resolve(uri, dataset), dataset, "SKILLS", 30):
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_a_waiting_run_names_the_lock_holder(kind, share, tmp_path):
    import socket
    import uuid

    from tests.support.warehouses import PG_URI, drop_pg_schema

    create(share, "SKILLS")
    insert(share, "SKILLS", [{"ID": "s1", "CREATED_AT": T0, "NAME": "n"}])
    dataset = f"t_{uuid.uuid4().hex[:10]}"
    uri = f"duckdb:///{tmp_path / 'w.duckdb'}" if kind == "duckdb" else PG_URI
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, uri, dataset], stdout=subprocess.PIPE, text=True,
                              cwd=tmp_path, env={**os.environ})
    try:
        assert holder.stdout.readline().strip() == "held"
        env = {"LEARNSYNC_SOURCE_URI": share.uri, "LEARNSYNC_DEST_URI": uri, "LEARNSYNC_DATASET": dataset}
        proc = in_process("sync", "--lock-timeout", "3", cwd=tmp_path, env=env)
    finally:
        holder.kill()
        holder.wait()
        if kind == "postgres":
            drop_pg_schema(dataset)
    out = proc.stdout + proc.stderr
    waiting = [ln for ln in proc.stderr.splitlines() if "Waiting" in ln]
    assert len(waiting) == 1, out
    assert f"pid {holder.pid}" in waiting[0] and socket.gethostname() in waiting[0] and "since 20" in waiting[0], waiting
    assert proc.returncode in (1, 2) and f"pid {holder.pid}" in out.replace(waiting[0], ""), out  # the error names it too
    print(waiting[0])


# --------------------------------------------------------------------------------------------------------------
# learnsync check


def test_check_passes_one_line_each_and_fails_on_a_refused_login(share, tmp_path):
    create(share, "SKILLS")
    insert(share, "SKILLS", [{"ID": "s1", "CREATED_AT": T0, "NAME": "n"}])
    env = {**_env(share, tmp_path / "w.duckdb")}
    ok = in_process("check", cwd=tmp_path, env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    lines = ok.stdout.splitlines()
    assert [ln.split()[:2] for ln in lines] == [["ok", "secrets"], ["ok", "source"], ["ok", "share"],
                                                ["ok", "warehouse"], ["info", "account"], ["ok", "destination"]], ok.stdout
    assert "(snowflake)" in lines[1] and "snow@" not in ok.stdout and ":snow" not in ok.stdout
    assert "1 table(s)" in lines[2] and "scratch table" in lines[5]
    # the tests' account sets what learnsync pins (AccountSettings.strict()): listed, and no failure
    assert "QUOTED_IDENTIFIERS_IGNORE_CASE=true" in lines[4] and "TIMESTAMP_INPUT_FORMAT=DD/MM/YYYY" in lines[4]
    print(ok.stdout)

    # a password the account refuses (the emulator checks it: tests/auth_server.py), a destination that is down
    from learnsync import emulator
    from tests.support.auth_server import Accounts
    from tests.support.warehouses import Share

    accounts = Accounts(user="FAKE", password="right-Pa55")
    with emulator.emulated_share(wrap=accounts.middleware) as srv:
        uri = Share(srv, share.database, "CORE", None).uri.replace("fake:snow@", "fake:wrong-Pa55@")
        bad = in_process("check", cwd=tmp_path, env={**env, "LEARNSYNC_SOURCE_URI": uri,
                                                    "LEARNSYNC_DEST_URI": "postgresql://postgres@127.0.0.1:1/test"})
    assert bad.returncode == 1, bad.stdout + bad.stderr
    marks = [ln.split()[0] for ln in bad.stdout.splitlines()]
    assert marks == ["ok", "FAIL", "skip", "skip", "FAIL"], bad.stdout
    assert "wrong-Pa55" not in bad.stdout + bad.stderr and "Traceback" not in bad.stdout + bad.stderr
    print(bad.stdout)


# --------------------------------------------------------------------------------------------------------------
# progress on a terminal


@pytest.mark.slow  # a learnsync process in a pseudo-terminal, as tests/test_terminal.py
def test_progress_display_on_a_terminal_and_plain_lines_without(share, tmp_path):
    import pty
    import re

    create(share, "COURSES")
    insert(share, "COURSES", [_course(i, MODIFIED_AT=T0 + timedelta(hours=i)) for i in range(12)])
    env = {**os.environ, **_env(share, tmp_path / "w.duckdb"), "LEARNSYNC_WINDOW_ROWS": "4", "COLUMNS": "200"}
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "learnsync.cli", "sync"], cwd=tmp_path, env=env, stdin=follower,
                            stdout=follower, stderr=subprocess.PIPE)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(leader)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode("utf-8", "replace"))
    assert proc.returncode == 0, screen
    assert re.search(r"window \d of 3", screen) and " of 12 rows" in screen and "rows/s" in screen, screen
    assert "rows        12 (12 new, 0 re-read)" in screen, screen

    plain = learnsync("sync", "--no-progress", cwd=tmp_path, env=_env(share, tmp_path / "w.duckdb"))
    assert plain.returncode == 0 and "rows/s" not in plain.stdout and "\r" not in plain.stdout, plain.stdout


def test_backfill_artifact_rows_group_lanes_per_table_with_the_range():
    from learnsync.flows.sync import group_lanes

    def row(table, outcome="ok", rows=0, lag=None):
        return {"table": table, "outcome": outcome, "rows": rows, "rows_new": 0, "rows_reread": rows, "seconds": 1.0,
                "snowflake_queries": 2, "snowflake_seconds": 0.5, "old_cursor": "-", "new_cursor": "-",
                "lag_seconds": lag}

    grouped = group_lanes([row("A lane 0", rows=3, lag=10.0), row("A lane 1", rows=4, lag=5.0),
                           row("B lane 0", "failed: boom"), row("B lane 1", rows=1)], "[2026-01-01 00:00:00, 2026-01-03 00:00:00)")
    assert [(r["table"], r["rows"], r["rows_reread"], r["snowflake_queries"], r["seconds"], r["outcome"],
             r["lag_seconds"], r["range"]) for r in grouped] == [
        ("A", 7, 7, 4, 2.0, "ok", 5.0, "[2026-01-01 00:00:00, 2026-01-03 00:00:00)"),
        ("B", 1, 1, 4, 2.0, "failed: boom", None, "[2026-01-01 00:00:00, 2026-01-03 00:00:00)"),
    ]
