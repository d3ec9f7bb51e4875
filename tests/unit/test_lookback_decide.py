"""Where a run reads from, given both sides' lookback buckets (`pipelines.lookback.decide`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from learnsync.catalog.tables import Column, Profile, resolve_table
from learnsync.pipelines.lookback import NEW, decide, parse_cursor
from learnsync.settings import TableSettings

STORED = datetime(2026, 1, 1, 12, 0)


def _trackings():
    cols = [Column("ID", "TEXT"), Column("CREATED_AT", "TIMESTAMP_NTZ")]
    return resolve_table(Profile("360learning"), "COURSES_TRACKINGS", cols, TableSettings())


def _events():
    cols = [Column("USER_ID", "NUMBER", 38, 0), Column("OCCURRED_AT", "TIMESTAMP_NTZ")]
    return resolve_table(Profile("datacamp"), "FACT_LEARN_EVENTS", cols, TableSettings())


def test_nothing_differs_reads_nothing():
    same = {0: (3, "a"), 5: (1, "b"), NEW: (0, "")}
    assert decide(_trackings(), STORED, same, dict(same)).unchanged


def test_only_new_rows_read_from_the_stored_cursor():
    check = decide(_trackings(), STORED, {0: (3, "a"), NEW: (2, "n")}, {0: (3, "a")})
    assert check.start == STORED and check.differing == 1


def test_oldest_differing_hour_is_read_from_its_start():
    src = {0: (3, "a"), 2: (1, "x"), 5: (2, "y")}
    dst = {0: (3, "a"), 2: (1, "changed"), 5: (1, "y")}
    assert decide(_trackings(), STORED, src, dst).start == STORED - timedelta(hours=6)


def test_never_before_the_lookback_start():
    spec = _trackings()  # 24 h lookback
    assert decide(spec, STORED, {24: (1, "x")}, {}).start == STORED - spec.lookback


def test_event_tables_use_days():
    stored = date(2026, 1, 1)
    assert decide(_events(), stored, {2: (1, "x")}, {2: (1, "y")}).start == date(2025, 12, 30)
    assert decide(_events(), stored, {NEW: (1, "x")}, {}).start == date(2026, 1, 2)


def test_cursor_text_round_trip():
    assert parse_cursor(_trackings(), "2026-01-01 12:00:00.250000") == datetime(2026, 1, 1, 12, 0, 0, 250000)
    assert parse_cursor(_events(), "2026-01-01") == date(2026, 1, 1)
    assert parse_cursor(_trackings(), None) is None and parse_cursor(_trackings(), "garbage") is None
