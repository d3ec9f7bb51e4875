"""The lookback is read only where it changed (issue 13): the share's and the destination's hour buckets (days for
event tables) of the lookback are compared, and a run reads from the oldest bucket that differs, or nothing.
Every run is compared with the share row for row."""

from __future__ import annotations

from datetime import timedelta

from tests.support.cli import in_process
from tests.support.helpers import assert_table_equal, create, insert, run_sync
from tests.support.rows import T0, event, tracking
from tests.support.warehouses import Dest


def test_entity_table_reads_from_the_oldest_changed_hour(share, dest):
    create(share, "COURSES_TRACKINGS")
    # one row every 30 minutes over the 24 h up to T0 (the stored cursor will be T0)
    insert(share, "COURSES_TRACKINGS", [tracking(i, T0 - timedelta(minutes=30 * i)) for i in range(48)])
    [first] = run_sync(share, dest, tables=["COURSES_TRACKINGS"])
    assert first.rows == 48
    assert_table_equal(share, dest, "COURSES_TRACKINGS")

    # nothing changed: nothing read, nothing loaded
    [idle] = run_sync(share, dest, tables=["COURSES_TRACKINGS"])
    assert idle.ok and idle.unchanged and idle.rows == 0 and idle.windows == 0, idle
    assert idle.new_cursor == idle.old_cursor

    # a late row 3 h 10 min behind the cursor, and a row changed in place (its cursor unchanged) 5 h behind it:
    # the oldest differing bucket is (T0 - 6 h, T0 - 5 h], so the run reads from T0 - 6 h: 13 rows + the late one
    # (the whole 24 h lookback would be 49)
    insert(share, "COURSES_TRACKINGS", [tracking(500, T0 - timedelta(hours=3, minutes=10))])
    share.sql('UPDATE "COURSES_TRACKINGS" SET "PROGRESS" = 77 WHERE "ID" = %s', ("ct00010",))
    [late] = run_sync(share, dest, tables=["COURSES_TRACKINGS"])
    assert not late.unchanged and late.rows == 14, late
    assert_table_equal(share, dest, "COURSES_TRACKINGS")

    # new rows only: read from the stored cursor (its ties read again): the row at T0 and the new one
    insert(share, "COURSES_TRACKINGS", [tracking(600, T0 + timedelta(hours=1))])
    [new] = run_sync(share, dest, tables=["COURSES_TRACKINGS"])
    assert new.rows == 2, new
    assert_table_equal(share, dest, "COURSES_TRACKINGS")

    # a row deleted from the share inside the lookback: its bucket differs on every run (a sync does not delete;
    # reconcile does), so those runs read from there, as every run did before: never less than needed
    share.sql('DELETE FROM "COURSES_TRACKINGS" WHERE "ID" = %s', ("ct00002",))  # T0 - 1 h
    [after] = run_sync(share, dest, tables=["COURSES_TRACKINGS"])
    assert not after.unchanged and after.rows >= 3, after


def test_event_table_reads_from_the_oldest_changed_day(share, dest):
    create(share, "FACT_LEARN_EVENTS")
    events = [event(i, T0 - timedelta(hours=7 * i)) for i in range(40)]
    insert(share, "FACT_LEARN_EVENTS", events)
    run_sync(share, dest, profile="datacamp")
    assert_table_equal(share, dest, "FACT_LEARN_EVENTS")
    [idle] = run_sync(share, dest, profile="datacamp")
    assert idle.unchanged and idle.rows == 0, idle

    # late events two days back (inside the 3-day lookback): the days from that one on are read again, whole
    late = [event(100 + i, T0 - timedelta(days=2, hours=i)) for i in range(3)]
    insert(share, "FACT_LEARN_EVENTS", late)
    [run] = run_sync(share, dest, profile="datacamp")
    first_day = (T0 - timedelta(days=2)).date()
    assert run.rows == sum(1 for e in events + late if e["OCCURRED_AT"].date() >= first_day), run
    assert_table_equal(share, dest, "FACT_LEARN_EVENTS")


def test_the_command_checks_every_table_once_and_runs_only_the_changed(share, tmp_path):
    """`learnsync sync` as a user types it: an idle run opens no table (one check query for all of them), and a
    run after a late row reads only from that row's hour, reusing the check instead of comparing again."""
    create(share, "COURSES_TRACKINGS")
    create(share, "SKILLS")
    insert(share, "COURSES_TRACKINGS", [tracking(i, T0 - timedelta(minutes=30 * i)) for i in range(48)])
    insert(share, "SKILLS", [{"ID": f"s{i}", "CREATED_AT": T0 - timedelta(hours=i), "NAME": f"n{i}"} for i in range(5)])
    path = tmp_path / "w.duckdb"
    env = {"LEARNSYNC_SOURCE_URI": share.uri, "LEARNSYNC_DEST_URI": f"duckdb:///{path}", "LEARNSYNC_DATASET": "d"}
    assert in_process("sync", cwd=tmp_path, env=env).returncode == 0

    idle = in_process("sync", cwd=tmp_path, env=env)
    assert idle.returncode == 0, idle.stdout + idle.stderr
    # discovery, the one check of both tables, and the discovery that looks for tables gone from the share
    assert "Snowflake: 3 queries" in idle.stdout and "2 of 2 table(s) unchanged" in idle.stdout, idle.stdout

    insert(share, "COURSES_TRACKINGS", [tracking(500, T0 - timedelta(hours=3, minutes=10))])
    late = in_process("sync", "-v", cwd=tmp_path, env=env)
    assert late.returncode == 0, late.stdout + late.stderr
    line = next(ln for ln in late.stdout.splitlines() if ln.strip().startswith("COURSES_TRACKINGS"))
    # from T0 - 4 h: 9 rows and the late one (the whole lookback: 49)
    assert "rows        10 (0 new, 10 re-read)" in line, line
    assert "1 of 2 table(s) unchanged" in late.stdout, late.stdout
    assert "lookback" not in next(ln for ln in late.stderr.splitlines() if "COURSES_TRACKINGS stages" in ln)
    assert_table_equal(share, Dest("duckdb", f"duckdb:///{path}", "d", path), "COURSES_TRACKINGS")
