"""A real account's settings and Snowflake's limits never change what lands (issue 19), on the strict emulator
(`AccountSettings.strict()`, the tests' account): every run compared with the share row for row."""

from __future__ import annotations

from datetime import timedelta
import uuid
from typing import Any

import pytest

from learnsync.emulator.account import AccountSettings
from learnsync.emulator.server import TEST_SESSION_PARAMETERS
from learnsync.emulator.wire import WireConfig
from tests.support.cli import in_process
from tests.support.helpers import assert_table_equal, create, insert, run_sync
from tests.support.rows import T0, tracking
from tests.support.warehouses import CHUNK_ROWS, Dest, new_share


def _fq(share: Any, table: str) -> str:
    return f'"{share.database}"."CORE"."{table}"'


def _bare(share: Any) -> Any:
    """A connection that pins nothing: it gets the account's parameters."""
    return share.server.connect(share.database, "CORE", session_parameters={k: None for k in TEST_SESSION_PARAMETERS})


def _cli(share: Any, tmp_path: Any, *args: str, dest: Dest | None = None, code: int = 0) -> Any:
    """`learnsync ARGS` on the share, into `dest` (default: a DuckDB file in tmp_path, dataset d)."""
    dest = dest or _dest(tmp_path)
    env = {"LEARNSYNC_SOURCE_URI": share.uri, "LEARNSYNC_DEST_URI": dest.uri, "LEARNSYNC_DATASET": dest.dataset}
    proc = in_process(*args, cwd=tmp_path, env=env)
    assert proc.returncode == code, proc.stdout + proc.stderr
    return proc


def _dest(tmp_path: Any) -> Dest:
    path = tmp_path / "w.duckdb"
    return Dest("duckdb", f"duckdb:///{path}", "d", path)


def test_the_strict_account_refuses_what_a_real_one_would(share):
    """The emulator's account: parameters at non-default values apply to a session that does not pin them, and
    Snowflake's limits apply to every session."""
    share.sql(f'CREATE TABLE {_fq(share, "T")} ("ID" NUMBER(38,0), "createdAt" TIMESTAMP_NTZ, "K" TEXT)')
    share.sql(f"INSERT INTO {_fq(share, 'T')} VALUES (3599999999, '2026-01-01 10:59:59.999999', 'x')")
    with _bare(share) as conn:
        cur = conn.cursor()
        with pytest.raises(Exception, match="invalid identifier"):
            cur.execute(f'SELECT "createdAt" FROM {_fq(share, "T")}')
        with pytest.raises(Exception, match="is not recognized"):
            cur.execute(f"SELECT COUNT(*) FROM {_fq(share, 'T')} WHERE \"ID\" > 0 AND '2026-01-01'::DATE < CURRENT_DATE()")
        cur.execute("SHOW PARAMETERS LIKE 'QUOTED_IDENTIFIERS_IGNORE_CASE' IN SESSION")
        assert cur.fetchall()[0][:4] == ("QUOTED_IDENTIFIERS_IGNORE_CASE", "true", "false", "ACCOUNT")
    # the limits: integer division rounded to scale 6, a statement's size
    [(bucket,)] = share.sql(f'SELECT FLOOR("ID" / 3600000000) FROM {_fq(share, "T")}')
    assert bucket == 1
    with pytest.raises(Exception, match="exceeds"):
        share.sql("SELECT 1 /*" + "x" * 2**20 + "*/")
    # TO_VARCHAR without a format prints what the output format does: milliseconds
    [(text,)] = share.sql(f'SELECT TO_VARCHAR("createdAt") FROM {_fq(share, "T")}')
    assert text.endswith("59.999"), text


def test_session_parameters_are_pinned_at_login(share, tmp_path):
    """An `auto` share with mixed-case names and a timestamp cursor, synced three times through the command on
    the strict account: the quoted names resolve as written, the cursor bounds (ISO text) are read with AUTO."""
    share.sql(f'CREATE TABLE {_fq(share, "Enrolments")} ("id" TEXT, "updatedAt" TIMESTAMP_NTZ, "Score" NUMBER(5,1))')
    share.sql(f"INSERT INTO {_fq(share, 'Enrolments')} VALUES ('a', %s, 1.5), ('b', %s, NULL)",
              [T0, T0 + timedelta(hours=1)])
    _cli(share, tmp_path, "sync", "--profile", "auto")
    share.sql(f"INSERT INTO {_fq(share, 'Enrolments')} VALUES ('c', %s, 3.0)", [T0 + timedelta(hours=2)])
    share.sql(f'UPDATE {_fq(share, "Enrolments")} SET "Score" = 9.5 WHERE "id" = \'a\'')
    share.sql(f'UPDATE {_fq(share, "Enrolments")} SET "updatedAt" = %s WHERE "id" = \'a\'', [T0 + timedelta(hours=3)])
    _cli(share, tmp_path, "sync", "--profile", "auto")
    _cli(share, tmp_path, "sync", "--profile", "auto")
    expected = sorted(share.sql(f'SELECT "id", "updatedAt", "Score" FROM {_fq(share, "Enrolments")}'))
    got = sorted(_dest(tmp_path).query('SELECT "id", "updated_at", "score" FROM "{ds}"."enrolments"'))
    assert got == expected


@pytest.mark.parametrize("dest", ["duckdb", "postgres"], indirect=True)
def test_hour_buckets_are_exact_on_every_engine(share, dest, tmp_path):
    """Rows within 2 ms of an hour bucket's end (behind the stored cursor T0): Snowflake's integer division rounds
    to 6 decimals, so FLOOR(a / b) put them in the next bucket on the share and not on the destination, and the
    table never looked unchanged. Now an idle run reads nothing. Through the command on DuckDB and Postgres (the
    command in a subprocess has no BigQuery emulator credentials; BigQuery's DIV was exact already and its
    bucket sums are compared by test_lookback's BigQuery cases)."""
    create(share, "COURSES_TRACKINGS")
    edges = [T0 - timedelta(hours=1) + timedelta(milliseconds=1), T0 - timedelta(hours=2) + timedelta(microseconds=1),
             T0.replace(hour=9, minute=59, second=59, microsecond=999000),
             T0.replace(hour=8, minute=59, second=59, microsecond=999999), T0]
    insert(share, "COURSES_TRACKINGS", [tracking(i, at) for i, at in enumerate(edges)])
    _cli(share, tmp_path, "sync", dest=dest)
    idle = _cli(share, tmp_path, "sync", dest=dest)
    assert "1 of 1 table(s) unchanged" in idle.stdout, idle.stdout + idle.stderr
    assert_table_equal(share, dest, "COURSES_TRACKINGS")


LISTAGG_MAX_BYTES = 64 * 2**10
"""The tests' account caps LISTAGG at 64 KB (conftest): 2,000 fingerprints; a real one at 16 MB (500,000)."""


def test_a_bucket_of_any_size_is_compared(share, tmp_path):
    """A day of 2,500 events: more fingerprints than the account's LISTAGG holds. The idle run still finds the
    table unchanged (it read the whole lookback), and reconcile compares it (it failed)."""
    create(share, "FACT_LEARN_EVENTS")
    day = T0.replace(hour=0)
    values = ", ".join(f"(1, {i % 9}, {int(day.strftime('%Y%m%d'))}, {i}, 'course_started',"
                       f" '{day + timedelta(seconds=i * 30)}', {i}, 0.5)" for i in range(2500))
    share.sql(f'INSERT INTO "FACT_LEARN_EVENTS" ("GROUP_ID", "USER_ID", "DATE_ID", "CONTENT_ID", "EVENT_NAME",'
              f' "OCCURRED_AT", "XP_EARNED", "ASSESSMENT_PERCENTILE") VALUES {values}')
    assert 2500 * 32 > LISTAGG_MAX_BYTES  # fingerprints of 32 characters
    _cli(share, tmp_path, "sync", "--profile", "datacamp")
    idle = _cli(share, tmp_path, "sync", "--profile", "datacamp")
    assert "1 of 1 table(s) unchanged" in idle.stdout, idle.stdout + idle.stderr
    _cli(share, tmp_path, "reconcile", "--profile", "datacamp", "--dry-run")
    insert(share, "FACT_LEARN_EVENTS", [{"GROUP_ID": 1, "USER_ID": 1, "DATE_ID": 1, "CONTENT_ID": 9999,
                                         "EVENT_NAME": "late", "OCCURRED_AT": day + timedelta(hours=1),
                                         "XP_EARNED": 1, "ASSESSMENT_PERCENTILE": 0.1}])
    _cli(share, tmp_path, "reconcile", "--profile", "datacamp")
    assert_table_equal(share, _dest(tmp_path), "FACT_LEARN_EVENTS")


def _recorded_sync(share: Any, dest: Dest) -> list[Any]:
    """A sync of an `auto` share as the command runs it: with a run id, so its runs are recorded and the next run
    checks for unchanged tables."""
    from learnsync.destinations import resolve
    from learnsync.catalog.tables import Profile
    from learnsync.pipelines.snowflake.cost import new_run_id
    from learnsync.pipelines.sync import RunContext, plan, sync
    from tests.support.helpers import share_reader

    with share_reader(share) as reader:
        run = RunContext.of(resolve(dest.uri, dest.dataset), dest.dataset, "auto", run_id=new_run_id())
        results = sync(reader, plan(reader, Profile("auto")), run)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    return results


def test_a_check_too_big_for_one_statement_is_split(tmp_path, monkeypatch):
    """The idle check of every table was one UNION ALL: over 1 MB for an `auto` share of 300 tables of 30 columns,
    which Snowflake advises against and the tests' account refuses (every table then ran). Scaled down to a test's
    time (syncing 300 tables takes minutes): 12 tables of 30 columns on an account taking 24 KB a statement, with
    learnsync's budget scaled alike (a quarter of the limit, as 256 KB is of 1 MB). The check is several
    statements within the budget, and the idle run finds every table unchanged."""
    from learnsync import emulator
    from learnsync.pipelines import lookback

    limit = 24 * 1024
    monkeypatch.setattr(lookback, "STATEMENT_BYTES", limit // 4)
    config = WireConfig(chunk_rows=CHUNK_ROWS, account=AccountSettings.strict(statement_max_bytes=limit))
    with emulator.emulated_share(wire=config) as srv:
        share = new_share(srv, f"T{uuid.uuid4().hex[:10].upper()}")
        columns = [f"MEASUREMENT_{k:02d}" for k in range(28)]
        for t in range(12):
            share.sql(f'CREATE TABLE {_fq(share, f"T{t:02d}")} ("ID" TEXT, "UPDATED_AT" TIMESTAMP_NTZ,'
                      + ", ".join(f'"{c}" NUMBER(10,0)' for c in columns) + ")")
            share.sql(f"INSERT INTO {_fq(share, f'T{t:02d}')} VALUES ('a', %s, {', '.join(map(str, range(28)))})", [T0])
        dest = _dest(tmp_path)
        _recorded_sync(share, dest)
        sent = len(srv.wire.queries)
        idle = _recorded_sync(share, dest)
        share.conn.close()
    # unchanged by the check (no query of their own), not by comparing each table after a refused check
    assert all(r.unchanged and r.queries == 0 for r in idle), [(r.table, r.queries) for r in idle]
    checks = [q.sql for q in srv.wire.queries[sent:] if " AS T, q.* FROM (" in q.sql]
    assert sum(map(len, checks)) > limit and max(map(len, checks)) <= limit // 4, [len(q) for q in checks]
    assert dest.query('SELECT COUNT(*) FROM "{ds}"."t11"') == [(1,)]
