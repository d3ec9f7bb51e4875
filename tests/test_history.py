"""History mode (`history = true`): every version of a row, with its validity range, read back from the destination."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from learnsync.destinations import resolve
from learnsync.catalog.tables import Profile
from learnsync.pipelines.sync import RunContext, plan, sync
from tests.support.warehouses import drop_pg_schema
from tests.support.crashkit import kill_nine, seed, start_sync
from tests.support.helpers import assert_table_equal, create, insert, run_reconcile, run_sync, share_reader
from tests.support.rows import T0, tracking

TABLE = "COURSES_TRACKINGS"
HISTORY_ENV = f"SOURCES__LEARNSYNC__TABLES__{TABLE}__HISTORY"


@pytest.fixture
def history(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HISTORY_ENV, "true")


class Current:
    """The destination as its current view: the oracle (`assert_table_equal`) reads `courses_trackings` as its rows
    whose valid_to is NULL, and the child table as the elements of those versions."""

    def __init__(self, dest: Any) -> None:
        self.dest = dest

    def query(self, sql: str) -> list[tuple]:
        child = ('(SELECT * FROM "{ds}"."courses_trackings__access_dates" WHERE "_learnsync_parent_hash" IN'
                 ' (SELECT "_learnsync_hash" FROM "{ds}"."courses_trackings" WHERE "valid_to" IS NULL))')
        parent = '(SELECT * FROM "{ds}"."courses_trackings" WHERE "valid_to" IS NULL)'
        sql = sql.replace('"{ds}"."courses_trackings__access_dates"', child + " AS access_dates")
        sql = re.sub(r'"\{ds\}"\."courses_trackings"(?!__)(?! WHERE "valid_to")', parent + " AS trackings", sql, count=1)
        return self.dest.query(sql)

    def tables(self) -> set[str]:
        return self.dest.tables()

    def columns(self, table: str) -> list[str]:
        return self.dest.columns(table)


def _tracking(i: int, created: datetime, progress: int, dates: list[str]) -> dict:
    """One state of tracking ct<i>: its progress and access dates (the other columns stay the same)."""
    return tracking(i, created, dates, ID=f"ct{i}", COURSE="c1", USER=f"u{i}", PROGRESS=progress)


def versions(dest: Any, key: str) -> list[tuple]:
    """(progress, elements of that version in order, valid_from, valid_to) of every version of one tracking."""
    rows = dest.query(
        'SELECT "_learnsync_hash", "progress", "valid_from", "valid_to" FROM "{ds}"."courses_trackings"'
        f" WHERE \"id\" = '{key}' ORDER BY \"valid_from\"")
    out = []
    for version, progress, start, end in rows:
        elements = dest.query(
            'SELECT "value" FROM "{ds}"."courses_trackings__access_dates"'
            f" WHERE \"_learnsync_parent_hash\" = '{version}' ORDER BY \"position\"")
        out.append((progress, [e[0] for e in elements], _utc(start), _utc(end)))
    return out


def _utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)  # BigQuery's client: aware; the others as stored
    return value.astimezone(timezone.utc) if isinstance(value, datetime) else value


class Clock:
    """Wall-clock bounds of each step, to check the validity timestamps a step wrote."""

    def __init__(self) -> None:
        self.steps: list[tuple[datetime, datetime]] = []

    def __call__(self, action: Any, *args: Any, **kwargs: Any) -> Any:
        start = datetime.now(timezone.utc)
        out = action(*args, **kwargs)
        self.steps.append((start - timedelta(seconds=1), datetime.now(timezone.utc) + timedelta(seconds=1)))
        return out

    def within(self, step: int, at: datetime) -> bool:
        lo, hi = self.steps[step]
        return lo <= at <= hi


def test_versions_of_one_tracking(share, dest, history):
    """progress 10 -> 50 -> 100, an array that grows then empties (found by the cursor's lookback), a hard delete
    (found by reconcile), a re-insert of the same key; and a row behind the cursor changed in place (reconcile only)."""
    create(share, TABLE)
    insert(share, TABLE, [_tracking(1, T0, 10, ["2026-01-01 10:00:00"]),
                          _tracking(0, T0 - timedelta(days=10), 1, [])])
    clock = Clock()
    q = f'"{share.database}"."CORE"."{TABLE}"'
    clock(run_sync, share, dest)  # step 0
    share.sql(f"UPDATE {q} SET \"PROGRESS\" = 50, \"ACCESS_DATES\" = PARSE_JSON('[\"2026-01-01 10:00:00\","
              f" \"2026-01-02 10:00:00\"]') WHERE \"ID\" = 'ct1'")
    share.sql(f'UPDATE {q} SET "PROGRESS" = 2 WHERE "ID" = \'ct0\'')  # behind the cursor and its lookback
    clock(run_sync, share, dest)  # step 1
    assert [v[0] for v in versions(dest, "ct0")] == [1]  # the cursor cannot see it
    clock(run_reconcile, share, dest)  # step 2: only ct0 differs
    share.sql(f"UPDATE {q} SET \"PROGRESS\" = 100, \"ACCESS_DATES\" = PARSE_JSON('[]') WHERE \"ID\" = 'ct1'")
    clock(run_sync, share, dest)  # step 3
    share.sql(f"DELETE FROM {q} WHERE \"ID\" = 'ct1'")
    clock(run_sync, share, dest)  # step 4: a sync cannot see a hard delete
    assert versions(dest, "ct1")[-1][3] is None
    done = clock(run_reconcile, share, dest)  # step 5
    assert (done[TABLE].updated, done[TABLE].inserted, done[TABLE].deleted) == (0, 0, 1)
    insert(share, TABLE, [_tracking(1, T0 + timedelta(minutes=1), 0, ["2026-02-01 10:00:00"])])
    clock(run_sync, share, dest)  # step 6

    got = versions(dest, "ct1")
    assert [(p, e) for p, e, _, _ in got] == [
        (10, ["2026-01-01 10:00:00"]),
        (50, ["2026-01-01 10:00:00", "2026-01-02 10:00:00"]),
        (100, []),
        (0, ["2026-02-01 10:00:00"]),
    ]
    (_, _, f1, t1), (_, _, f2, t2), (_, _, f3, t3), (_, _, f4, t4) = got
    assert clock.within(0, f1) and t1 == f2 and clock.within(1, f2)  # each version closes as the next opens
    assert t2 == f3 and clock.within(3, f3)
    assert clock.within(5, t3) and clock.within(6, f4) and t3 < f4  # deleted, then inserted again
    assert t4 is None
    old = versions(dest, "ct0")
    assert [(p, e) for p, e, _, _ in old] == [(1, []), (2, [])]
    assert clock.within(0, old[0][2]) and old[0][3] == old[1][2] and clock.within(2, old[1][2]) and old[1][3] is None
    assert_table_equal(share, Current(dest), TABLE)
    again = run_reconcile(share, dest)[TABLE]
    assert not again.drift, again  # the current view is what reconcile compares


@pytest.mark.parametrize("dest", ["duckdb", "postgres"], indirect=True)
def test_full_refresh_keeps_history_and_reset_history_clears_it(share, dest, monkeypatch):
    create(share, TABLE)
    insert(share, TABLE, [_tracking(i, T0, i, ["2026-01-01 10:00:00"] * i) for i in range(1, 4)])
    run_sync(share, dest)  # loaded before history was on
    monkeypatch.setenv(HISTORY_ENV, "true")
    turned_on = datetime.now(timezone.utc) - timedelta(seconds=1)
    run_sync(share, dest)  # history starts here
    rows = dest.query('SELECT "valid_from", "valid_to" FROM "{ds}"."courses_trackings"')
    assert len(rows) == 3 and all(_utc(f) >= turned_on and t is None for f, t in rows)

    q = f'"{share.database}"."CORE"."{TABLE}"'
    share.sql(f"UPDATE {q} SET \"PROGRESS\" = 99, \"ACCESS_DATES\" = PARSE_JSON('[\"x\"]') WHERE \"ID\" = 'ct2'")
    share.sql(f"DELETE FROM {q} WHERE \"ID\" = 'ct3'")
    run_sync(share, dest, full_refresh=True)  # reads the whole share: the change and the delete become history
    assert [(p, e, t is None) for p, e, _, t in versions(dest, "ct2")] == [
        (2, ["2026-01-01 10:00:00"] * 2, False), (99, ["x"], True)]
    assert [(p, t is None) for p, _, _, t in versions(dest, "ct3")] == [(3, False)]
    assert [(p, t is None) for p, _, _, t in versions(dest, "ct1")] == [(1, True)]
    assert_table_equal(share, Current(dest), TABLE)
    run_sync(share, dest, full_refresh=True)  # nothing changed: nothing new
    assert dest.query('SELECT count(*) FROM "{ds}"."courses_trackings"') == [(4,)]

    with share_reader(share) as reader:
        specs = plan(reader, Profile.LEARNING_360, [TABLE])
        run = RunContext.of(resolve(dest.uri, dest.dataset), dest.dataset, "360learning", reset_history=True)
        results = sync(reader, specs, run, full_refresh=True)
    assert all(r.ok for r in results), results
    assert dest.query('SELECT count(*), count("valid_to") FROM "{ds}"."courses_trackings"') == [(2, 0)]
    assert dest.query('SELECT count(*) FROM "{ds}"."courses_trackings__access_dates"') == [(2,)]
    assert_table_equal(share, Current(dest), TABLE)

    monkeypatch.delenv(HISTORY_ENV)  # history off on a table holding versions: refused, nothing erased
    (result,) = run_sync(share, dest, expect_ok=False)
    assert "--reset-history" in (result.error or ""), result.error


@pytest.mark.subprocess_sync
@pytest.mark.parametrize("dest", ["duckdb", "postgres"], indirect=True)
def test_a_crash_in_a_versioned_load_leaves_no_half_version(share, dest, tmp_path, history):
    """`kill -9` in the middle of a full refresh that gives every row a new version; the rerun finishes it: every key
    has its old version closed exactly where its new one opens, each version with all of its elements."""
    seed(share, 200)
    run_sync(share, dest)
    share.sql(f'UPDATE "{share.database}"."CORE"."{TABLE}" SET "PROGRESS" = "PROGRESS" + 1000')
    # On Postgres the child table's merge is held back by a lock this test takes (writes wait, reads do not), so
    # the kill certainly falls between the parent's committed merge and the child's: without it a fast load could
    # finish between two polls (seen once in CI). DuckDB's loads are slow enough to be caught in the act.
    held = None
    if dest.kind == "postgres":
        import psycopg2

        from tests.support.warehouses import PG_URI

        held = psycopg2.connect(PG_URI)
        held.cursor().execute(f'LOCK TABLE "{dest.dataset}"."{TABLE.lower()}__access_dates" IN EXCLUSIVE MODE')
    try:
        proc = start_sync(share, dest, tmp_path, "--full-refresh")
        deadline = time.monotonic() + 120
        # kill inside the versioned load, once a first table's merge committed: the parent's versions and its child
        # rows are merged by separate jobs (dlt merges a table chain per job; learnsync's child tables are tables of
        # their own), so the other one is still to come
        while not list((tmp_path / "dlt").glob("pipelines/*/load/normalized/*/completed_jobs/*.sql")):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.02)
        kill_nine(proc)
        if held is not None:
            # the killed process's session still waits on the lock server-side; it dies with the process, as a
            # server would find on its next write: nothing of its pending merge may commit once the lock is gone
            held.cursor().execute("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE NOT granted"
                                  " AND relation = %s::regclass", (f'"{dest.dataset}"."{TABLE.lower()}__access_dates"',))
    finally:
        if held is not None:
            held.close()  # ends the transaction and its lock
    rerun = start_sync(share, dest, tmp_path, "--full-refresh")
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err

    per_key = dest.query(
        'SELECT "id", count(*), count("valid_to"), min("progress"), max("progress"),'
        ' min("valid_to"), max("valid_from") FROM "{ds}"."courses_trackings" GROUP BY "id"')
    assert len(per_key) == 200
    for key, n, closed, low, high, closed_at, opened_at in per_key:
        assert (n, closed, high - low) == (2, 1, 1000), key
        assert closed_at == opened_at, key  # no gap, no overlap
    children = dest.query(
        'SELECT t."id", t."progress", count(c."position") FROM "{ds}"."courses_trackings" t'
        ' LEFT JOIN "{ds}"."courses_trackings__access_dates" c ON c."_learnsync_parent_hash" = t."_learnsync_hash"'
        ' GROUP BY t."id", t."progress"')
    assert all(n == int(key[2:]) % 4 for key, _, n in children)  # seed: row i has i % 4 elements per version
    assert_table_equal(share, Current(dest), TABLE)


@pytest.mark.slow  # dbt builds the staging models
@pytest.mark.parametrize("dest", ["duckdb", "postgres"], indirect=True)
def test_dbt_staging_reads_current_versions_and_the_trend_reads_history(share, dest, history, tmp_path):
    """The dbt package on a history table: staging holds the current versions (and their elements) only; the
    completion trend's rate as recorded counts the versions current at each week's end."""
    pytest.importorskip("dbt.cli", reason="the dbt extra is not installed")
    from learnsync.dbt_project import ProjectSpec, Vendors, run_dbt, write_project

    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    create(share, TABLE)
    create(share, "USERS")
    insert(share, "USERS", [{"ID": f"u{i}", "CREATED_AT": T0, "DELETED": False} for i in (1, 2)])
    insert(share, TABLE, [_tracking(1, now, 10, ["2026-01-01 10:00:00"]), {**_tracking(2, now, 100, []), "COMPLETED_AT": now}])
    run_sync(share, dest)
    q = f'"{share.database}"."CORE"."{TABLE}"'
    share.sql(f"UPDATE {q} SET \"PROGRESS\" = 100, \"COMPLETED_AT\" = %s,"
              " \"ACCESS_DATES\" = PARSE_JSON('[\"2026-01-02 10:00:00\"]') WHERE \"ID\" = 'ct1'", (now,))
    share.sql(f"DELETE FROM {q} WHERE \"ID\" = 'ct2'")
    run_sync(share, dest)
    run_reconcile(share, dest)
    assert dest.query('SELECT count(*) FROM "{ds}"."courses_trackings"') == [(3,)]

    project, schema = tmp_path / "dbt", f"{dest.dataset}_dbt"  # models beside the dataset, dropped with it below
    write_project(project, ProjectSpec(Vendors.LEARNING_360, {"360learning": dest.dataset}, dest.uri, schema))
    try:
        # cautious: only the tests of the models built (the relationships to models of other tables are left out)
        for args in (("deps",), ("build", "--indirect-selection", "cautious", "--select",
                                 "+learning360__completion_trend stg_360learning__course_tracking_access_dates")):
            proc = run_dbt(project, *args)
            assert proc.returncode == 0, proc.stdout[-3000:]
        staged = dest.query(f'SELECT course_tracking_id, progress FROM "{schema}".stg_360learning__courses_trackings')
        assert staged == [("ct1", 100)]
        elements = dest.query(
            f'SELECT course_tracking_id, accessed_at FROM "{schema}".stg_360learning__course_tracking_access_dates')
        assert elements == [("ct1", datetime(2026, 1, 2, 10))]  # the element of the current version only
        trend = dest.query(f'SELECT week_start, completion_rate_recorded FROM "{schema}".learning360__completion_trend')
        assert [rate for _, rate in trend] == [1.0]  # this week: ct1 completed, ct2 deleted
    finally:
        if dest.kind == "postgres":
            drop_pg_schema(schema)


def test_history_settings_that_do_not_fit_are_refused():
    """history needs a keyed merge table, and replaces soft_delete; the validity names are kept free for it."""
    from learnsync.errors import LearnsyncError
    from learnsync.catalog.tables import Column, resolve_table
    from learnsync.settings import TableSettings

    columns = [Column("ID", "TEXT"), Column("CREATED_AT", "TIMESTAMP_NTZ"), Column("VALID_TO", "TEXT")]
    spec = resolve_table(Profile.AUTO, "THINGS", columns, TableSettings(history=True))
    assert spec.history and spec.dest("VALID_TO") == "valid_to_2"  # the share's own VALID_TO keeps its data apart
    with pytest.raises(LearnsyncError, match="soft_delete"):
        resolve_table(Profile.AUTO, "THINGS", columns, TableSettings(history=True, soft_delete=True))
    with pytest.raises(LearnsyncError, match="strategy 'merge'"):
        resolve_table(Profile.AUTO, "EVENTS", [Column("OCCURRED_AT", "TIMESTAMP_NTZ")], TableSettings(history=True))


def test_reset_history_needs_full_refresh(tmp_path):
    from tests.support.cli import in_process

    proc = in_process("sync", "--reset-history", cwd=tmp_path)
    assert proc.returncode == 2 and "--reset-history drops history only with --full-refresh" in proc.stderr, proc.stderr
