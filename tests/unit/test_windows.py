"""Window planning without Snowflake: the secant search, the cursor grains, the future limit."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from learnsync.catalog.tables import Column, Strategy, TableSpec
from learnsync.pipelines.snowflake.windows import (
    FUTURE_TOLERANCE, SEARCH_STEPS, ceil_bound, floor_bound, interpolate, plus_tolerance, window_end,
)

T0 = datetime(2026, 1, 1, 12, 0, 0)


def _spec(strategy: Strategy = Strategy.MERGE, cursor_type: str = "TIMESTAMP_NTZ") -> TableSpec:
    cols = (Column("ID", "TEXT"), Column("AT", cursor_type))
    key = ("ID",) if strategy is Strategy.MERGE else ()
    return TableSpec("T", cols, key, "AT", strategy, timedelta(hours=24))


def _uniform(rows_per_hour: int):
    """count(lo, hi) of a table with `rows_per_hour` rows spread evenly (one per 3600/rows_per_hour s)."""
    calls: list[tuple] = []

    def count(lo: datetime, hi: datetime) -> int:
        calls.append((lo, hi))
        return max(0, int((hi - lo).total_seconds() * rows_per_hour // 3600))

    return count, calls


def test_the_rest_fits_in_one_window() -> None:
    count, calls = _uniform(100)
    assert window_end(_spec(), T0, T0 + timedelta(hours=5), 500, 1000, count) is None
    assert calls == []  # no query spent


def test_a_window_holds_about_window_rows() -> None:
    count, calls = _uniform(100)
    last = T0 + timedelta(hours=100)
    hi = window_end(_spec(), T0, last, 10_000, 1_000, count)
    assert hi is not None and T0 < hi < last
    assert 800 <= count(T0, hi) <= 1_100  # within the accepted band (4/5 .. 11/10 of window_rows)
    assert len(calls) <= SEARCH_STEPS + 1


def test_a_skewed_range_converges_within_the_step_budget() -> None:
    """Nine tenths of the rows sit in the last hour: the secant search narrows in and never asks more than
    SEARCH_STEPS counts."""
    last = T0 + timedelta(hours=100)
    dense = last - timedelta(hours=1)

    calls = []

    def count(lo: datetime, hi: datetime) -> int:
        calls.append(hi)
        sparse = max(0.0, (min(hi, dense) - lo).total_seconds()) / 3600 * 10
        packed = max(0.0, (hi - max(lo, dense)).total_seconds()) / 3600 * 9_000
        return int(sparse + packed)

    hi = window_end(_spec(), T0, last, 10_000, 1_000, count)
    assert len(calls) <= SEARCH_STEPS
    assert hi is None or T0 < hi <= last


def test_event_windows_are_whole_days() -> None:
    spec = _spec(Strategy.EVENTS)
    assert floor_bound(spec, T0) == datetime(2026, 1, 1)
    assert ceil_bound(spec, T0, datetime(2026, 1, 1)) == datetime(2026, 1, 2)
    assert ceil_bound(spec, datetime(2026, 1, 3), datetime(2026, 1, 1)) == datetime(2026, 1, 3)  # already a day
    # never an empty window: at least one day past lo
    assert ceil_bound(spec, datetime(2026, 1, 1), datetime(2026, 1, 1)) == datetime(2026, 1, 2)
    # entity tables keep the exact value
    assert floor_bound(_spec(), T0) == T0


def test_window_ends_are_strictly_above_lo_at_the_cursor_grain() -> None:
    assert ceil_bound(_spec(), T0, T0) == T0 + timedelta(microseconds=1)
    assert ceil_bound(_spec(cursor_type="DATE"), date(2026, 1, 1), date(2026, 1, 1)) == date(2026, 1, 2)
    assert ceil_bound(_spec(cursor_type="NUMBER"), 10, 10) == 11


def test_interpolate_each_cursor_type() -> None:
    assert interpolate(T0, T0 + timedelta(hours=10), 0.5) == T0 + timedelta(hours=5)
    assert interpolate(date(2026, 1, 1), date(2026, 1, 11), 0.25) == date(2026, 1, 3)
    assert interpolate(0, 100, 0.333) == 33


def test_the_future_limit_is_the_source_clock_plus_the_tolerance() -> None:
    aware = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    assert plus_tolerance(_spec(), aware) == datetime(2026, 1, 2, 12)  # NTZ: naive UTC wall clock
    assert plus_tolerance(_spec(cursor_type="TIMESTAMP_TZ"), aware) == aware + FUTURE_TOLERANCE
    assert plus_tolerance(_spec(cursor_type="DATE"), date(2026, 1, 1)) == date(2026, 1, 2)
