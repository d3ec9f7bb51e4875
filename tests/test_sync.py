"""Incremental sync, compared with the source row for row on DuckDB and Postgres."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest

from tests.support.helpers import assert_table_equal, create, insert, run_sync
from tests.support.rows import T0, event, tracking, trackings



def test_incremental_entity_tables(share, dest):
    create(share, "COURSES_TRACKINGS")
    create(share, "COURSES")
    create(share, "USERS")
    # a bulk import: many rows tie on one CREATED_AT; one row has no cursor at all
    insert(share, "COURSES_TRACKINGS", [tracking(i, T0 - timedelta(hours=i % 3)) for i in range(30)])
    insert(share, "COURSES_TRACKINGS", [tracking(99, None, SCORE=float("nan"))])
    insert(share, "COURSES", [
        {"ID": f"c{i}", "CREATED_AT": T0 - timedelta(days=3), "MODIFIED_AT": T0 - timedelta(days=1),
         "NAME": f"Course {i}", "SKILLS": [f"s{j}" for j in range(i)], "CO_AUTHORS": [], "COURSE_DURATION": 10 * i,
         "ARCHIVED": False}
        for i in range(5)
    ])
    insert(share, "USERS", [
        {"ID": f"u{i}", "CREATED_AT": T0, "EMAIL": f"u{i}@example.com", "DELETED": False,
         "MANAGERS": ["u0"] if i else None,
         "CUSTOMFIELDS": [{"name": "team", "value": "sales"}, {"name": "site", "value": {"city": "Paris"}}]}
        for i in range(3)
    ])
    run_sync(share, dest)
    for t in ("COURSES_TRACKINGS", "COURSES", "USERS"):
        assert_table_equal(share, dest, t)

    # new rows, rows tied with the stored cursor, rows arriving late inside the lookback window
    insert(share, "COURSES_TRACKINGS", [tracking(100 + i, T0) for i in range(5)])
    insert(share, "COURSES_TRACKINGS", [tracking(200 + i, T0 - timedelta(hours=20)) for i in range(3)])
    insert(share, "COURSES_TRACKINGS", [tracking(300 + i, T0 + timedelta(minutes=i)) for i in range(4)])
    # updates through MODIFIED_AT that shrink and empty arrays
    share.sql('UPDATE "COURSES" SET "SKILLS" = PARSE_JSON(\'["s0"]\'), "MODIFIED_AT" = %s WHERE "ID" = \'c4\'', (T0,))
    share.sql('UPDATE "COURSES" SET "SKILLS" = PARSE_JSON(\'[]\'), "MODIFIED_AT" = %s WHERE "ID" = \'c3\'', (T0,))
    share.sql('UPDATE "COURSES" SET "SKILLS" = NULL, "MODIFIED_AT" = %s WHERE "ID" = \'c2\'', (T0,))
    run_sync(share, dest)
    for t in ("COURSES_TRACKINGS", "COURSES", "USERS"):
        assert_table_equal(share, dest, t)

    # a run with no change changes nothing
    before = dest.query('SELECT count(*) FROM "{ds}"."courses_trackings__access_dates"')
    run_sync(share, dest)
    for t in ("COURSES_TRACKINGS", "COURSES", "USERS"):
        assert_table_equal(share, dest, t)
    assert dest.query('SELECT count(*) FROM "{ds}"."courses_trackings__access_dates"') == before


def test_every_column_exists_even_when_empty_or_null(share, dest):
    create(share, "PROJECTS")
    create(share, "SKILLS")
    insert(share, "SKILLS", [{"ID": "s1", "CREATED_AT": T0}])
    run_sync(share, dest)
    for table, expected in (("projects", {"id", "created_at", "completed_at", "name", "group"}),
                            ("skills", {"id", "created_at", "author", "name", "external_id"})):
        cols = set(dest.columns(table))
        assert expected <= cols, (table, cols)
    assert_table_equal(share, dest, "SKILLS")


def test_windows_commit_one_at_a_time(share, dest):
    create(share, "COURSES_TRACKINGS")
    insert(share, "COURSES_TRACKINGS", [tracking(i, T0 - timedelta(minutes=i)) for i in range(60)])
    results = run_sync(share, dest, window_rows=10)
    assert results[0].windows > 2
    assert_table_equal(share, dest, "COURSES_TRACKINGS")
    insert(share, "COURSES_TRACKINGS", [tracking(500 + i, T0 + timedelta(minutes=i)) for i in range(15)])
    run_sync(share, dest, window_rows=10)
    assert_table_equal(share, dest, "COURSES_TRACKINGS")


@pytest.mark.parametrize("dest", ["duckdb"], indirect=True)
def test_a_table_run_restores_its_state_from_the_destination_once(share, dest, tmp_path, monkeypatch):
    """A table run reads its state from the destination once, however many windows it loads: dlt restores it in a
    pipeline's first `run`, which learnsync's resume is (each restore is a query of the destination; on BigQuery a
    query job). A fresh machine (another pipelines dir) finds the stored cursor the same way."""
    from dlt.destinations.job_client_impl import SqlJobClientBase

    create(share, "COURSES_TRACKINGS")
    insert(share, "COURSES_TRACKINGS", [tracking(i, T0 - timedelta(minutes=i)) for i in range(40)])
    restores = []
    stored_state = SqlJobClientBase.get_stored_state
    monkeypatch.setattr(SqlJobClientBase, "get_stored_state",
                        lambda self, *a, **k: restores.append(1) or stored_state(self, *a, **k))
    first = run_sync(share, dest, window_rows=10)
    assert first[0].windows > 2 and len(restores) == 1, (first[0].windows, len(restores))
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "another-machine"))
    insert(share, "COURSES_TRACKINGS", [tracking(500 + i, T0 + timedelta(minutes=i)) for i in range(25)])
    again = run_sync(share, dest, window_rows=10)
    assert again[0].windows > 2 and again[0].old_cursor == first[0].new_cursor and len(restores) == 2
    assert_table_equal(share, dest, "COURSES_TRACKINGS")


def test_duplicate_keys_keep_newest(share, dest, caplog):
    create(share, "COURSES_TRACKINGS")
    insert(share, "COURSES_TRACKINGS", [tracking(1, T0 - timedelta(hours=1), PROGRESS=10)])
    insert(share, "COURSES_TRACKINGS", [tracking(1, T0, PROGRESS=90, ACCESS_DATES=["a"])])
    with caplog.at_level(logging.WARNING, logger="learnsync"):
        run_sync(share, dest)
    assert dest.query('SELECT progress FROM "{ds}"."courses_trackings"') == [(90,)]
    assert dest.query('SELECT value FROM "{ds}"."courses_trackings__access_dates"') == [("a",)]
    assert any("share a key" in r.message and "COURSES_TRACKINGS" in r.message for r in caplog.records)


def test_event_tables_replace_recent_days(share, dest):
    create(share, "FACT_LEARN_EVENTS")
    events = [event(i, T0 - timedelta(hours=7 * i)) for i in range(40)]
    events.append(events[3])  # two identical events stay two rows
    insert(share, "FACT_LEARN_EVENTS", events)
    run_sync(share, dest, profile="datacamp")
    assert_table_equal(share, dest, "FACT_LEARN_EVENTS")
    # late events inside the 3-day lookback, new events, and a re-run
    insert(share, "FACT_LEARN_EVENTS", [event(100 + i, T0 - timedelta(days=2, hours=i)) for i in range(3)])
    insert(share, "FACT_LEARN_EVENTS", [event(200 + i, T0 + timedelta(hours=i)) for i in range(3)])
    run_sync(share, dest, profile="datacamp")
    assert_table_equal(share, dest, "FACT_LEARN_EVENTS")
    run_sync(share, dest, profile="datacamp")
    assert_table_equal(share, dest, "FACT_LEARN_EVENTS")
    n = dest.query('SELECT count(*) FROM "{ds}"."fact_learn_events"')[0][0]
    assert n == 47


def test_event_windows_never_split_a_day(share, dest):
    create(share, "FACT_LEARN_EVENTS")
    insert(share, "FACT_LEARN_EVENTS", [event(i, T0 - timedelta(hours=5 * i)) for i in range(60)])
    results = run_sync(share, dest, profile="datacamp", window_rows=8)
    assert results[0].windows > 2
    assert_table_equal(share, dest, "FACT_LEARN_EVENTS")


def test_non_utc_process_and_server_timezone(share, dest, monkeypatch):
    create(share, "COURSES_TRACKINGS")
    insert(share, "COURSES_TRACKINGS", [tracking(i, T0 + timedelta(minutes=i)) for i in range(5)])
    monkeypatch.setenv("TZ", "America/New_York")
    monkeypatch.setenv("PGTZ", "Asia/Tokyo")  # the destination session's zone
    time.tzset()
    try:
        run_sync(share, dest)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert_table_equal(share, dest, "COURSES_TRACKINGS")
    assert (T0,) in dest.query('SELECT created_at FROM "{ds}"."courses_trackings"')


def test_full_refresh_reloads(share, dest):
    create(share, "SKILLS")
    insert(share, "SKILLS", [{"ID": f"s{i}", "CREATED_AT": T0, "NAME": f"skill {i}"} for i in range(5)])
    run_sync(share, dest)
    share.sql('DELETE FROM "SKILLS" WHERE "ID" = \'s1\'')
    run_sync(share, dest, full_refresh=True)
    assert_table_equal(share, dest, "SKILLS")


def test_table_settings_from_environment(share, monkeypatch):
    create(share, "USERS")
    insert(share, "USERS", [{"ID": "u1", "CREATED_AT": T0, "EMAIL": "secret@example.com", "FIRST_NAME": "Ada"}])
    monkeypatch.setenv("SOURCES__LEARNSYNC__TABLES__USERS__COLUMN_POLICY", '{"EMAIL": "exclude"}')
    monkeypatch.setenv("SOURCES__LEARNSYNC__TABLES__USERS__LOOKBACK_HOURS", "48")
    from learnsync.catalog.tables import Profile
    from learnsync.pipelines.snowflake.connection import connect, parse_source_uri
    from learnsync.pipelines.snowflake.reader import ShareReader
    from learnsync.pipelines.sync import plan

    source = parse_source_uri(share.uri)
    conn = connect(source)
    try:
        spec = plan(ShareReader(conn, source.database, source.schema), Profile.LEARNING_360)[0]
    finally:
        conn.close()
    assert spec.excluded == ("EMAIL",) and spec.lookback == timedelta(hours=48)
    assert "EMAIL" not in [c.name for c in spec.columns]


def test_empty_strings_stay_empty_and_nulls_stay_null(share, dest):
    """'' and NULL are different values in every destination (a CSV COPY into Postgres would make '' NULL)."""
    create(share, "SKILLS")
    insert(share, "SKILLS", [{"ID": "s1", "CREATED_AT": T0, "NAME": "", "AUTHOR": None},
                             {"ID": "s2", "CREATED_AT": T0, "NAME": None, "AUTHOR": ""}])
    run_sync(share, dest, tables=["SKILLS"])
    assert sorted(dest.query('SELECT "id", "name", "author" FROM "{ds}"."skills"')) == [("s1", "", None), ("s2", None, "")]
    assert_table_equal(share, dest, "SKILLS")


def test_a_warehouse_synced_before_the_run_context_resumes_without_reading_again(share, dest):
    """Issue 23 item 2: dlt keys a table's stored state and cursor by its pipeline name, so the run context must not
    rename a pipeline. The names stored in the destination are those learnsync computed before it (the formula,
    written out here), and a second sync finds the stored cursors: an entity table with a child table and an
    event table read only what is new."""
    import re

    from learnsync.destinations import resolve

    def before(profile: str, table: str) -> str:  # destinations.base.pipeline_name before the context, verbatim
        raw = f"learnsync_{profile}_{table}_{resolve(dest.uri, dest.dataset).identity}_{dest.dataset}".lower()
        return re.sub(r"[^a-z0-9_]+", "_", raw)

    create(share, "COURSES_TRACKINGS")
    trackings(share, 48, T0 - timedelta(days=4))
    create(share, "FACT_LEARN_EVENTS")
    insert(share, "FACT_LEARN_EVENTS", [event(i, T0 - timedelta(days=6, hours=-5 * i)) for i in range(30)])
    first = (run_sync(share, dest, tables=["COURSES_TRACKINGS"])
             + run_sync(share, dest, profile="datacamp", tables=["FACT_LEARN_EVENTS"]))
    assert [r.rows for r in first] == [48, 30]
    stored = {r[0] for r in dest.query('SELECT DISTINCT pipeline_name FROM "{ds}"."_dlt_pipeline_state"')}
    assert stored == {before("360learning", "COURSES_TRACKINGS"), before("datacamp", "FACT_LEARN_EVENTS")}

    trackings(share, 2, T0 + timedelta(days=1), prefix="new")
    insert(share, "FACT_LEARN_EVENTS", [event(100 + i, T0 + timedelta(days=1, hours=i)) for i in range(3)])
    second = (run_sync(share, dest, tables=["COURSES_TRACKINGS"])
              + run_sync(share, dest, profile="datacamp", tables=["FACT_LEARN_EVENTS"]))
    for result, earlier, new in zip(second, first, (2, 3)):
        assert result.old_cursor is not None, result  # the stored cursor was found
        assert result.rows_new == new and result.rows < earlier.rows, result  # incremental: no full re-read
    assert_table_equal(share, dest, "COURSES_TRACKINGS")
    assert_table_equal(share, dest, "FACT_LEARN_EVENTS")


@pytest.mark.parametrize("dest", ["duckdb", "postgres"], indirect=True)
def test_a_warehouse_that_lost_its_tables_is_loaded_again_in_full(share, dest, caplog):
    """The new-user trial's silent wrong data: a sync into a DuckDB file, the file removed, the same sync again. dlt
    wipes this machine's state only for the first table (its dataset is gone); the next tables found the dataset
    made again and kept their stored cursors, so they loaded only their lookback, every line `ok`. Each table whose
    state says it was loaded but whose destination table is gone is loaded in full; a single dropped table too."""
    from tests.support.warehouses import drop_pg_schema

    tables = ("COURSES_TRACKINGS", "USERS", "COURSES")
    for t in tables:
        create(share, t)
    trackings(share, 60, T0 - timedelta(days=5))  # 5 days back: a 24 h lookback reads a fifth of them
    insert(share, "USERS", [
        {"ID": f"u{i}", "CREATED_AT": T0 - timedelta(days=4 + i), "EMAIL": f"u{i}@example.com", "DELETED": False,
         "MANAGERS": ["u0", "u1"] if i else None} for i in range(20)])
    insert(share, "COURSES", [
        {"ID": f"c{i}", "CREATED_AT": T0 - timedelta(days=9), "MODIFIED_AT": T0 - timedelta(days=3 + i),
         "NAME": f"Course {i}", "SKILLS": [f"s{i}"], "ARCHIVED": False} for i in range(10)])
    full = {r.table: r.rows for r in run_sync(share, dest)}
    assert full == {"COURSES_TRACKINGS": 60, "USERS": 20, "COURSES": 10}

    if dest.kind == "duckdb":
        dest.path.unlink()  # the whole file, as the user did
    else:
        drop_pg_schema(dest.dataset)
    caplog.set_level(logging.WARNING, logger="learnsync")
    again = run_sync(share, dest)
    assert {r.table: r.rows for r in again} == full
    assert all(r.old_cursor is None for r in again), [(r.table, r.old_cursor) for r in again]
    for t in tables:
        assert_table_equal(share, dest, t)

    # one table dropped by hand (its child table kept): that table alone is loaded again, its child rows once
    caplog.clear()
    dest.execute('DROP TABLE "{ds}"."users"')
    third = {r.table: r for r in run_sync(share, dest)}
    assert third["USERS"].rows == 20
    assert [m for m in caplog.messages if "no longer holds it" in m] == [
        m for m in caplog.messages if m.startswith("Table USERS: the destination no longer holds it")]
    assert len([m for m in caplog.messages if "no longer holds it" in m]) == 1
    for t in tables:
        assert_table_equal(share, dest, t)
    # and the run after reads only what is new
    assert all(r.rows == 0 or r.unchanged for r in run_sync(share, dest)), "an unchanged share read rows again"


def test_a_window_larger_than_the_read_ahead_streams_through_it(share, dest):
    """Issue 22: a window is handed to the load batch by batch through a queue of at most the read-ahead's bytes,
    so a window of any size (here a tie on the cursor that no window can split, 5 result chunks) holds no more
    memory than that: with room for one batch, the reader waits for the load, and the sync is exact."""
    from learnsync.pipelines.snowflake.reader import WindowStream
    from learnsync.pipelines.sync import plan
    from learnsync.catalog.tables import Profile
    from tests.support.helpers import share_reader

    create(share, "COURSES_TRACKINGS")
    insert(share, "COURSES_TRACKINGS", [tracking(i, T0) for i in range(300)])  # one CREATED_AT: one window
    with share_reader(share, window_rows=10) as reader:
        (spec,) = plan(reader, Profile("360learning"), ["COURSES_TRACKINGS"])
        stream = WindowStream(reader, spec, read_ahead_mb=1e-9)  # room for one batch at a time
        try:
            batches = stream.take(None, True)
            assert stream.done  # the tie is the whole window
            first = next(batches)
            window = stream._current
            time.sleep(0.5)
            assert window is not None and window.future is not None and not window.future.done(), \
                "the reader read the window to its end while the load held one batch"
            rows = first.num_rows + sum(b.num_rows for b in batches)
            assert rows == 300 and window.future.done()
        finally:
            stream.close()
    results = run_sync(share, dest, window_rows=10, tables=["COURSES_TRACKINGS"])
    assert results[0].windows == 1
    assert_table_equal(share, dest, "COURSES_TRACKINGS")


@pytest.mark.parametrize("dest", ["duckdb", "postgres"], indirect=True)
def test_a_window_handed_to_dlt_in_slices_loads_exactly(share, dest, monkeypatch):
    """Issue 22: each window goes to dlt in slices of ITEM_ROWS rows (dlt's Arrow incremental copies each item
    twice, so the slice bounds those copies, not the window). Many slices per window, arrays, a row tied on the
    cursor across slices and an update in place: the destination equals the share, parent and child rows."""
    from learnsync.pipelines.source import resource

    monkeypatch.setattr(resource, "ITEM_ROWS", 7)
    create(share, "COURSES_TRACKINGS")
    insert(share, "COURSES_TRACKINGS", [tracking(i, T0 - timedelta(hours=i % 5)) for i in range(61)])
    first = run_sync(share, dest, tables=["COURSES_TRACKINGS"])
    assert first[0].rows == 61 and first[0].windows == 1
    assert_table_equal(share, dest, "COURSES_TRACKINGS")
    insert(share, "COURSES_TRACKINGS", [tracking(100 + i, T0 + timedelta(minutes=i)) for i in range(20)])
    share.sql('UPDATE "COURSES_TRACKINGS" SET "ACCESS_DATES" = PARSE_JSON(\'[]\'), "CREATED_AT" = %s'
              ' WHERE "ID" = \'ct00003\'', (T0 + timedelta(hours=1),))
    run_sync(share, dest, tables=["COURSES_TRACKINGS"])
    assert_table_equal(share, dest, "COURSES_TRACKINGS")
