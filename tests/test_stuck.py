"""Nothing wedges, nothing freezes: a refused load, a "never" cursor value, a column created too narrow."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import dlt
import pyarrow as pa
import pytest

from learnsync.destinations import resolve
from learnsync.flows.tasks import TableFailed, is_transient
from learnsync.catalog.tables import Profile
from learnsync.pipelines.sync import make_pipeline, plan, source_name, stored_cursor
from tests.support.helpers import assert_table_equal, create, dest_rows, insert, run_sync, share_reader
from tests.support.rows import T0

NEVER = datetime(9999, 12, 31)


def _pipeline(share: Any, dest: Any, table: str, profile: str = "360learning") -> Any:
    with share_reader(share) as reader:
        spec = plan(reader, Profile(profile), [table])[0]
    pipeline = make_pipeline(profile, spec, resolve(dest.uri, dest.dataset), dest.dataset, None)
    pipeline.sync_destination()
    return spec, pipeline


def _course(i: int, modified: datetime | None, **extra: Any) -> dict:
    row = {"ID": f"c{i}", "CREATED_AT": T0 - timedelta(days=30), "MODIFIED_AT": modified, "NAME": f"Course {i}",
           "SKILLS": [f"s{i}"], "COURSE_DURATION": i}
    row.update(extra)
    return row


def _retype(dest: Any, table: str, column: str, sql_type: str) -> None:
    """Change a destination column's type behind learnsync's back. SMALLINT: the column can no longer hold big
    values (as after an operator's ALTER), so a load that meets one fails for a lasting reason no retry fixes."""
    dest.execute(f'ALTER TABLE "{{ds}}"."{table}" ALTER COLUMN "{column}" TYPE {sql_type}')


def test_refused_load_never_wedges_the_table(share, dest, caplog):
    if dest.kind not in ("duckdb", "postgres"):
        pytest.skip("the refusal is provoked by altering the destination column (DuckDB, Postgres)")
    create(share, "COURSES")
    insert(share, "COURSES", [_course(i, T0) for i in range(3)])
    run_sync(share, dest, tables=["COURSES"])
    spec, pipeline = _pipeline(share, dest, "COURSES")
    cursor = stored_cursor(pipeline, spec)
    _retype(dest, "courses", "course_duration", "SMALLINT")
    insert(share, "COURSES", [_course(9, T0 + timedelta(hours=1), COURSE_DURATION=1_000_000)])

    failed = run_sync(share, dest, tables=["COURSES"], expect_ok=False)[0]
    assert not failed.ok and "refused the load" in failed.error and "reads it again from the share" in failed.error
    assert "Traceback" not in failed.error and "\n" not in failed.error, failed.error
    assert "out of range" in failed.error, failed.error  # the destination's own reason
    assert not is_transient(failed.exception)  # a Prefect flow does not retry it
    assert not TableFailed(failed).transient
    spec, pipeline = _pipeline(share, dest, "COURSES")
    assert not pipeline.has_pending_data  # nothing left to replay forever
    assert stored_cursor(pipeline, spec) == cursor  # the cursor did not move past the rows not loaded

    # the same cause again: the same one error, not a package replayed from before
    with caplog.at_level(logging.WARNING, logger="learnsync"):
        again = run_sync(share, dest, tables=["COURSES"], expect_ok=False)[0]
    assert not again.ok and "refused the load" in again.error
    assert "left unfinished" not in caplog.text

    # the cause fixed, the next run reads the refused rows again from the share: nothing was lost
    _retype(dest, "courses", "course_duration", "BIGINT")
    run_sync(share, dest, tables=["COURSES"])
    assert_table_equal(share, dest, "COURSES")


def test_old_wedged_package_is_discarded_and_read_again(share, dest, caplog):
    """A load package an older learnsync left behind that fails for good: the next run discards it (dlt restores
    the state from before it) and reads its rows again from the share; a full refresh never replays it."""
    if dest.kind not in ("duckdb", "postgres"):
        pytest.skip("the refusal is provoked by altering the destination column (DuckDB, Postgres)")
    create(share, "COURSES")
    insert(share, "COURSES", [_course(i, T0) for i in range(3)])
    run_sync(share, dest, tables=["COURSES"])
    _retype(dest, "courses", "course_duration", "SMALLINT")
    insert(share, "COURSES", [_course(9, T0 + timedelta(hours=1), COURSE_DURATION=1_000_000)])

    def leave_package() -> None:
        # what an older learnsync left: a window extracted and normalized whose load then failed, kept pending
        from learnsync.pipelines.snowflake.reader import WindowStream
        from learnsync.pipelines.source.resource import make_incremental, share_table

        spec, pipeline = _pipeline(share, dest, "COURSES")
        with share_reader(share) as reader:
            stream = WindowStream(reader, spec)
            source = share_table.with_args(name=source_name(spec))(spec, stream, make_incremental(spec))
            pipeline.extract(source)
            stream.close()
        pipeline.normalize()
        assert pipeline.has_pending_data

    leave_package()
    with caplog.at_level(logging.WARNING, logger="learnsync"):
        res = run_sync(share, dest, tables=["COURSES"], expect_ok=False)[0]
    assert "discarded the load an earlier run left unfinished" in caplog.text, caplog.text
    assert not res.ok and "refused the load" in res.error  # read again, refused again: one clear line
    _, pipeline = _pipeline(share, dest, "COURSES")
    assert not pipeline.has_pending_data

    leave_package()
    _retype(dest, "courses", "course_duration", "BIGINT")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="learnsync"):
        run_sync(share, dest, tables=["COURSES"], full_refresh=True)
    assert "a full refresh reads everything again" in caplog.text, caplog.text
    assert_table_equal(share, dest, "COURSES")


def test_never_cursor_value_does_not_freeze_the_incremental(share, dest, caplog):
    create(share, "COURSES")
    insert(share, "COURSES", [_course(i, T0 + timedelta(minutes=i)) for i in range(3)])
    # a common placeholder for "never modified"
    insert(share, "COURSES", [_course(90, NEVER), _course(91, NEVER)])
    with caplog.at_level(logging.WARNING, logger="learnsync"):
        run_sync(share, dest, tables=["COURSES"])
    assert_table_equal(share, dest, "COURSES")
    assert "2 row(s) have MODIFIED_AT past" in caplog.text and "COURSES" in caplog.text, caplog.text
    spec, pipeline = _pipeline(share, dest, "COURSES")
    assert stored_cursor(pipeline, spec) < datetime(2100, 1, 1)
    assert {r[0] for r in dest_rows(dest, "courses", ["modified_at"])} >= {NEVER}  # loaded exactly

    # later rows keep arriving; and a row moved to "never" is updated too
    insert(share, "COURSES", [_course(4, T0 + timedelta(days=1))])
    share.sql('UPDATE "COURSES" SET "NAME" = \'renamed\', "MODIFIED_AT" = %s WHERE "ID" = \'c0\'', (NEVER,))
    run_sync(share, dest, tables=["COURSES"])
    assert_table_equal(share, dest, "COURSES")
    spec, pipeline = _pipeline(share, dest, "COURSES")
    assert stored_cursor(pipeline, spec) == T0 + timedelta(days=1)


def test_column_created_too_narrow_is_reloaded(share, dest, caplog):
    """An earlier learnsync created a column from the first chunk's width (int8: TINYINT); the next larger value
    would fail the table. Now the table is reloaded with the declared type, with one warning."""
    if dest.kind == "bigquery":
        pytest.skip("BigQuery has one INT64 type: no column there is narrower than 64 bits")
    create(share, "COURSES")
    insert(share, "COURSES", [_course(i, T0) for i in range(3)])
    spec, pipeline = _pipeline(share, dest, "COURSES")

    # the earlier learnsync's load: the same pipeline and table, but course_duration as the int8 of a first chunk
    def old() -> Any:
        yield pa.table({"id": ["c0", "c1", "c2"], "created_at": [T0 - timedelta(days=30)] * 3,
                        "modified_at": [T0] * 3, "course_duration": pa.array([0, 1, 2], pa.int8())})

    resource = dlt.resource(old, name="courses", primary_key="id", write_disposition="merge")
    pipeline.run(dlt.source(lambda: resource, name=source_name(spec))(), loader_file_format=None)
    stored = pipeline.schemas[source_name(spec)].tables["courses"]["columns"]["course_duration"]
    assert stored.get("precision") == 8, stored  # dlt records a TINYINT

    insert(share, "COURSES", [_course(5, T0 + timedelta(hours=1), COURSE_DURATION=40_000)])
    with caplog.at_level(logging.WARNING, logger="learnsync"):
        run_sync(share, dest, tables=["COURSES"])
    assert "course_duration" in caplog.text and "reloaded from scratch" in caplog.text, caplog.text
    assert_table_equal(share, dest, "COURSES")


def test_never_occurred_at_does_not_freeze_an_event_table(share, dest):
    """Event tables track the UTC day of `occurred_at`: a far-future event lands (on its day) without moving it."""
    create(share, "FACT_PERMISSION_EVENTS")

    def events(first: int, at: datetime, n: int = 3) -> list[dict]:
        return [{"OCCURRED_AT": at + timedelta(minutes=i), "GROUP_ID": first + i, "EVENT_NAME": "granted"}
                for i in range(n)]

    insert(share, "FACT_PERMISSION_EVENTS", events(0, T0) + events(100, NEVER - timedelta(hours=1)))
    run_sync(share, dest, profile="datacamp", tables=["FACT_PERMISSION_EVENTS"])
    assert_table_equal(share, dest, "FACT_PERMISSION_EVENTS")
    spec, pipeline = _pipeline(share, dest, "FACT_PERMISSION_EVENTS", "datacamp")
    assert stored_cursor(pipeline, spec) == T0.date()
    insert(share, "FACT_PERMISSION_EVENTS", events(200, T0 + timedelta(days=2)))
    run_sync(share, dest, profile="datacamp", tables=["FACT_PERMISSION_EVENTS"])
    assert_table_equal(share, dest, "FACT_PERMISSION_EVENTS")
