"""The Python API against the emulator: `learnsync.plan`, `sync`, `reconcile` and `backfill` as a user calls them,
the destination compared with the share afterwards."""

from __future__ import annotations

from datetime import timedelta

import pytest

import learnsync
from tests.support.helpers import assert_table_equal, create
from tests.support.rows import T0, trackings


@pytest.mark.parametrize("dest", ["duckdb", "postgres"], indirect=True)
def test_sync_from_python(share, dest):
    create(share, "COURSES_TRACKINGS")
    create(share, "SKILLS")
    trackings(share, 48, T0)

    specs = learnsync.plan(share.uri, tables=["courses_trackings"])
    assert [(s.name, s.cursor, s.dest_name) for s in specs] == [("COURSES_TRACKINGS", "CREATED_AT", "courses_trackings")]

    seen: list[str] = []
    results = learnsync.sync(share.uri, dest.uri, dataset=dest.dataset, on_result=lambda r: seen.append(r.table))
    assert [(r.table, r.ok, r.rows) for r in results] == [("COURSES_TRACKINGS", True, 48), ("SKILLS", True, 0)]
    assert seen == ["COURSES_TRACKINGS", "SKILLS"]
    assert_table_equal(share, dest, "COURSES_TRACKINGS")
    assert_table_equal(share, dest, "SKILLS")

    # a change in place the cursor cannot see (no new CREATED_AT): the dry run reports it, reconcile fixes it
    share.sql('UPDATE "COURSES_TRACKINGS" SET "PROGRESS" = 100 WHERE "ID" = \'ct0005\'')
    (drift,) = learnsync.reconcile(share.uri, dest.uri, dataset=dest.dataset, tables=["COURSES_TRACKINGS"],
                                   dry_run=True)
    assert drift.ok and drift.drift and drift.updated == 1
    assert dest.query('SELECT progress FROM "{ds}"."courses_trackings" WHERE id = \'ct0005\'') == [(5,)]
    (fixed,) = learnsync.reconcile(share.uri, dest.uri, dataset=dest.dataset, tables=["COURSES_TRACKINGS"])
    assert fixed.ok and fixed.updated == 1
    assert_table_equal(share, dest, "COURSES_TRACKINGS")

    # a backfill re-reads its range and leaves the stored cursor where it was: the late row waits for the sync
    share.sql('UPDATE "COURSES_TRACKINGS" SET "PROGRESS" = 99 WHERE "ID" = \'ct0030\'')
    trackings(share, 1, T0 + timedelta(days=10), prefix="late")
    (filled,) = learnsync.backfill(share.uri, ["COURSES_TRACKINGS"], T0, T0 + timedelta(days=2), dest.uri,
                                   dataset=dest.dataset, window_hours=12, parallel=2)
    assert filled.ok, filled.error
    got = dict(dest.query('SELECT id, progress FROM "{ds}"."courses_trackings"'))
    assert got["ct0030"] == 99 and "late0000" not in got
    learnsync.sync(share.uri, dest.uri, dataset=dest.dataset)
    assert_table_equal(share, dest, "COURSES_TRACKINGS")


def test_mistakes_are_learnsync_errors_before_anything_runs(share, tmp_path):
    with pytest.raises(learnsync.LearnsyncError, match="Unknown profile"):
        learnsync.plan(share.uri, profile="moodle")
    with pytest.raises(learnsync.LearnsyncError, match="reset_history"):
        learnsync.sync(share.uri, f"duckdb:///{tmp_path}/w.duckdb", reset_history=True)
    with pytest.raises(learnsync.LearnsyncError, match="Invalid dataset name"):
        learnsync.sync(share.uri, f"duckdb:///{tmp_path}/w.duckdb", dataset="my-data")
    with pytest.raises(learnsync.LearnsyncError, match="Name the tables"):
        learnsync.backfill(share.uri, [], T0, T0 + timedelta(days=1))
    assert not (tmp_path / "w.duckdb").exists()


def test_sync_from_python_logs_no_schema_hint_warnings(share, tmp_path, monkeypatch):
    """A Python caller at dlt's default log level: learnsync's Arrow batches and dlt's column hints agree (the key
    and the child tables' parent column NOT NULL in both), so dlt does not warn "several column hints were
    different" once per table and window (it did for every table with a key, 38 lines for the demo's share)."""
    import logging

    from learnsync import emulator

    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "WARNING")  # dlt's default; the tests otherwise run it at ERROR
    emulator.create_360learning(share.conn, share.database, share.schema)
    records: list[logging.LogRecord] = []
    seen = logging.Handler(logging.WARNING)
    seen.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("dlt").addHandler(seen)  # dlt's logger does not propagate to the root
    try:
        dest = f"duckdb:///{tmp_path}/w.duckdb"
        results = learnsync.sync(share.uri, dest, tables=["COURSES_TRACKINGS", "USERS", "COURSES"])
    finally:
        logging.getLogger("dlt").removeHandler(seen)
    assert [r.ok for r in results] == [True, True, True], [r.error for r in results]
    hints = [r.getMessage() for r in records if "column hints were different" in r.getMessage()]
    assert hints == [], hints[:3]
    from tests.support.warehouses import Dest

    assert_table_equal(share, Dest("duckdb", dest, "learning", tmp_path / "w.duckdb"), "USERS")
