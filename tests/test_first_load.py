"""A first load into an empty table appends its windows after the first (no merge joins each window with the table
so far) and then checks the table once for keys loaded twice (`pipelines.sync.appended`, issue 22): rows the share moved
between two windows of the load are read again and merged, or deleted when the share no longer has them."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from learnsync.pipelines.sync import TableResult
from tests.support.helpers import assert_table_equal, create, insert, run_sync
from tests.support.rows import T0, trackings

TABLE = "COURSES_TRACKINGS"
START = T0 - timedelta(days=5)


def _sync_moving_rows(share: Any, dest: Any) -> TableResult:
    """A first load of 60 rows in windows of 20; after the first window commits, the share moves three of its
    rows past the last row (new values, new arrays): a later window of the same load reads them again."""
    fq = f'"{share.database}"."{share.schema}"."{TABLE}"'
    later = START + timedelta(hours=70)

    def vendor_changes(result: TableResult) -> None:
        if result.windows == 1:
            for i, row_id in enumerate(("ct0001", "ct0002", "ct0003")):
                share.sql(f'UPDATE {fq} SET "CREATED_AT" = %s, "PROGRESS" = %s, "ACCESS_DATES" = PARSE_JSON(%s)'
                          f' WHERE "ID" = %s', (later + timedelta(minutes=i), 90 + i, json.dumps(["x"] * (i + 2)),
                                                row_id))

    (result,) = run_sync(share, dest, tables=[TABLE], window_rows=20, on_window=vendor_changes)
    return result


def test_a_first_load_appends_and_puts_right_the_rows_that_moved_while_it_ran(share, dest, caplog):
    create(share, TABLE)
    trackings(share, 60, START)
    with caplog.at_level(logging.WARNING, "learnsync.sync"):
        first = _sync_moving_rows(share, dest)
    assert first.rows == 60 + 3, first.rows  # the moved rows were read twice
    # the windows after the first were appended (a merge would have replaced the moved rows): the check ran once
    # and found the three keys loaded twice
    assert first.stages["check"] > 0, first.stages.line()
    assert f"Table {TABLE}: 3 key(s) were loaded twice" in caplog.text, caplog.text
    assert_table_equal(share, dest, TABLE)

    # the next run merges as always (the table has rows), from the cursor the first load stored
    insert(share, TABLE, [{"ID": "ct-new", "CREATED_AT": START + timedelta(hours=80), "PROGRESS": 1,
                           "ACCESS_DATES": ["a", "b"]}])
    share.sql(f'UPDATE "{share.database}"."{share.schema}"."{TABLE}" SET "PROGRESS" = 7 WHERE "ID" = %s', ("ct0003",))
    (second,) = run_sync(share, dest, tables=[TABLE], window_rows=20)
    assert "check" not in second.stages, second.stages.line()
    assert_table_equal(share, dest, TABLE)


def test_a_table_with_rows_is_merged_into_and_a_check_owed_is_made_first(share, dest):
    """The check is owed until it ran: a run stopped after its first window leaves it to the next run, which
    makes it before reading anything (and then merges, since the table has rows)."""
    create(share, TABLE)
    trackings(share, 60, START)
    committed: list[int] = []  # a stop asked once the second window (the first appended) committed
    (stopped,) = run_sync(share, dest, tables=[TABLE], window_rows=20, on_window=lambda r: committed.append(r.windows),
                          should_stop=lambda: len(committed) >= 2)
    assert stopped.ok and stopped.interrupted and stopped.windows == 2, (stopped.error, stopped.windows)
    assert "check" not in stopped.stages, stopped.stages.line()
    # rows of the first window loaded again by hand, as a load job repeated after a crash would; the share has
    # since deleted one of them: the check deletes it (a sync alone would keep a row the share deleted)
    for row_id in ("ct0004", "ct0005"):
        dest.execute('INSERT INTO "{ds}"."courses_trackings" SELECT * FROM "{ds}"."courses_trackings"'
                     f" WHERE id = '{row_id}'")
    share.sql(f'DELETE FROM "{share.database}"."{share.schema}"."{TABLE}" WHERE "ID" = %s', ("ct0005",))
    (rest,) = run_sync(share, dest, tables=[TABLE], window_rows=20)
    assert rest.stages["check"] > 0 and rest.stages["merge"] > 0, rest.stages.line()
    assert_table_equal(share, dest, TABLE)
    assert run_sync(share, dest, tables=[TABLE], window_rows=20)[0].rows < 60  # incremental from the cursor



def test_a_load_of_one_window_is_merged_and_owes_no_check(share, dest):
    """The first window of a first load is merged (into an empty table that costs what an append does), so a load
    of one window, as most small tables are, makes no check."""
    create(share, TABLE)
    trackings(share, 10, START)
    (result,) = run_sync(share, dest, tables=[TABLE], window_rows=20)
    assert result.windows == 1 and result.stages["merge"] > 0 and "check" not in result.stages, result.stages.line()
    assert_table_equal(share, dest, TABLE)
