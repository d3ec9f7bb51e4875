"""The `file://` destination: Parquet files, compared with the source row for row after every run.

Plain files cannot merge or delete rows, so each sync rewrites every table whole (see destinations/filesystem.py):
an updated row, a deleted row and a shrunk array are all exact after the next run, and nothing accumulates.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from learnsync.destinations import resolve
from learnsync.catalog.tables import Profile
from learnsync.pipelines.snowflake.connection import connect, parse_source_uri
from learnsync.pipelines.snowflake.reader import ShareReader
from learnsync.pipelines.sync import Mode, RunContext, plan, sync_table
from tests.support.warehouses import Dest
from tests.support.helpers import assert_table_equal, create, insert, run_sync
from tests.support.rows import T0, event, tracking

TABLES = ("COURSES_TRACKINGS", "COURSES", "USERS")


@pytest.fixture
def file_dest(tmp_path: Path) -> Dest:
    return Dest("file", f"file://{tmp_path / 'lake'}", "learning", tmp_path / "lake")


def _parquet_files(dest: Dest) -> list[Path]:
    return sorted((dest.path / dest.dataset).glob("*/*.parquet"))


def test_file_destination_equals_the_source_after_every_run(share, file_dest):
    create(share, "COURSES_TRACKINGS")
    create(share, "COURSES")
    create(share, "USERS")
    insert(share, "COURSES_TRACKINGS", [tracking(i, T0 - timedelta(hours=i % 3)) for i in range(30)])
    insert(share, "COURSES_TRACKINGS", [tracking(99, None, SCORE=float("nan"))])
    insert(share, "COURSES", [
        {"ID": f"c{i}", "CREATED_AT": T0, "MODIFIED_AT": T0, "NAME": f"Course {i}", "SKILLS": [f"s{j}" for j in range(i)]}
        for i in range(5)
    ])
    insert(share, "USERS", [
        {"ID": f"u{i}", "CREATED_AT": T0, "EMAIL": f"u{i}@example.com", "MANAGERS": ["u0"] if i else None,
         "CUSTOMFIELDS": [{"name": "team", "value": "sales"}]}
        for i in range(3)
    ])
    run_sync(share, file_dest)
    for t in TABLES:
        assert_table_equal(share, file_dest, t)
    # plain Parquet that any reader opens, timestamps without a zone
    table = pq.read_table(file_dest.path / file_dest.dataset / "courses_trackings")
    assert table.num_rows == 31 and table.schema.field("created_at").type.tz is None

    # updates that shrink and empty arrays, a deleted row, new rows: a merge would keep the deleted row,
    # the rewrite drops it
    share.sql('UPDATE "COURSES" SET "SKILLS" = PARSE_JSON(\'["s0"]\'), "MODIFIED_AT" = %s WHERE "ID" = \'c4\'',
              (T0 + timedelta(hours=1),))
    share.sql('UPDATE "COURSES" SET "SKILLS" = NULL, "MODIFIED_AT" = %s WHERE "ID" = \'c3\'', (T0 + timedelta(hours=1),))
    share.sql('DELETE FROM "COURSES_TRACKINGS" WHERE "ID" = \'ct00001\'')
    insert(share, "COURSES_TRACKINGS", [tracking(100 + i, T0 + timedelta(minutes=i)) for i in range(5)])
    run_sync(share, file_dest)
    for t in TABLES:
        assert_table_equal(share, file_dest, t)

    # a run without changes, read in windows, rewrites the same data: no file of an earlier run is left behind
    # (it would show as duplicate rows), and every file is of this run
    run_sync(share, file_dest, window_rows=10)
    for t in TABLES:
        assert_table_equal(share, file_dest, t)
    for folder in {f.parent for f in _parquet_files(file_dest)}:
        assert len({f.name.split(".")[0] for f in folder.glob("*.parquet")}) == 1, folder  # one load id
    assert file_dest.query('SELECT count(*) FROM "{ds}"."courses_trackings"') == [(35,)]


def test_file_destination_event_tables(share, file_dest):
    create(share, "FACT_LEARN_EVENTS")
    events = [event(i, T0 - timedelta(hours=7 * i)) for i in range(40)]
    events.append(events[3])  # two identical events stay two rows
    insert(share, "FACT_LEARN_EVENTS", events)
    run_sync(share, file_dest, profile="datacamp", window_rows=8)
    assert_table_equal(share, file_dest, "FACT_LEARN_EVENTS")
    insert(share, "FACT_LEARN_EVENTS", [event(100 + i, T0 - timedelta(days=20, hours=i)) for i in range(3)])
    run_sync(share, file_dest, profile="datacamp")
    assert_table_equal(share, file_dest, "FACT_LEARN_EVENTS")
    assert file_dest.query('SELECT count(*) FROM "{ds}"."fact_learn_events"') == [(44,)]


def test_file_destination_refuses_a_backfill(share, file_dest):
    create(share, "SKILLS")
    insert(share, "SKILLS", [{"ID": "s1", "CREATED_AT": T0}])
    source = parse_source_uri(share.uri)
    conn = connect(source)
    try:
        reader = ShareReader(conn, source.database, source.schema)
        spec = plan(reader, Profile.LEARNING_360, ["SKILLS"])[0]
        target = resolve(file_dest.uri, file_dest.dataset)
        run = RunContext.of(target, file_dest.dataset, "360learning")
        result = sync_table(reader, spec, run, Mode.BACKFILL, T0, T0)
    finally:
        conn.close()
    assert not result.ok and "cannot merge" in result.error
    assert not (file_dest.path / file_dest.dataset).exists()
