"""Window planning: where the next committed window of a table ends, from cheap counts (no connection here).

A window is [lo, hi) on the cursor; hi None means "to the end". Memory follows the rows of a window, so its end
is searched to hold about `window_rows` rows. Bounds are whole days for event tables (each window replaces the
days it holds, so a day is never split). A cursor value far in the future never plans a bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable, Optional

from learnsync.catalog.tables import Strategy, TableSpec
from learnsync.pipelines.snowflake.sql import Bound

FUTURE_TOLERANCE = timedelta(hours=24)
"""How far past the source's current time a cursor value may lie and still move the stored cursor. Beyond it
(`9999-12-31` as "never" is common) the row loads, but the cursor ignores it: else no later row would ever be
read again."""
SEARCH_STEPS = 12
"""Counts spent at most on finding one window's end (a cursor value holding more rows than a window is read whole)."""


@dataclass
class WindowPlan:
    """The next window of a table run: [lo, hi) (hi None: to the end); `limit`: the cursor value past which rows
    do not move the stored cursor (None: no such limit); `beyond`: rows past it."""

    lo: Optional[Bound]
    hi: Optional[Bound]
    limit: Optional[Bound] = None
    beyond: int = 0
    total: int = 0
    """Rows from `lo` on (the count the plan was made from): what is left of the run when it was planned."""
    row_bytes: Optional[float] = None
    """A row's estimated bytes (`sql.row_bytes`), which bounds the rows of a window (`ShareReader.rows_per_window`)."""


def plus_tolerance(spec: TableSpec, now: Bound) -> Bound:
    """The future limit of a cursor: the source's current time `now` plus FUTURE_TOLERANCE (whole days for a
    DATE cursor), naive for a TIMESTAMP_NTZ cursor (UTC wall-clock time)."""
    if isinstance(now, datetime):
        limit = now + FUTURE_TOLERANCE
        if spec.cursor_column is not None and spec.cursor_column.sf_type == "TIMESTAMP_NTZ":
            limit = limit.replace(tzinfo=None)
        return limit
    return now + timedelta(days=math.ceil(FUTURE_TOLERANCE.total_seconds() / 86400))  # type: ignore[operator]


def window_end(
    spec: TableSpec, lo: Bound, last: Bound, total: int, window_rows: int, count: Callable[[Bound, Bound], int]
) -> Optional[Bound]:
    """The end of the window starting at `lo`, holding about `window_rows` of the `total` rows from `lo` to
    `last` (the last cursor value): a secant search on the cursor range, asking `count(lo, hi)` (rows in [lo, hi))
    at most SEARCH_STEPS times. None: the rest fits in one window (or cannot be cut below `last`)."""
    if total <= window_rows:
        return None
    fraction, hi = window_rows / total, None
    for _ in range(SEARCH_STEPS):
        candidate = ceil_bound(spec, interpolate(lo, last, min(fraction, 1.0)), lo)
        if candidate > last:  # type: ignore[operator]
            return hi
        hi, n = candidate, count(lo, candidate)
        if window_rows * 4 // 5 <= n <= window_rows * 11 // 10:
            break
        fraction *= min(4.0, max(0.25, window_rows / n)) if n else 4.0
    return hi


def floor_bound(spec: TableSpec, value: Bound) -> Bound:
    """A first cursor value as a window start: the start of its day for event tables."""
    if spec.strategy is Strategy.EVENTS and isinstance(value, datetime):
        return datetime.combine(value.date(), datetime.min.time(), value.tzinfo)
    return value


def interpolate(lo: Bound, hi: Bound, fraction: float) -> Bound:
    """The cursor value `fraction` (0..1) of the way from lo to hi."""
    if isinstance(lo, datetime) and isinstance(hi, datetime):
        return lo + (hi - lo) * fraction
    # a datetime is a date too: two of them were handled above, one with a date is no pair of bounds
    if isinstance(lo, date) and isinstance(hi, date) and not isinstance(lo, datetime) and not isinstance(hi, datetime):
        return lo + timedelta(days=int((hi - lo).days * fraction))
    return int(lo + (hi - lo) * fraction)  # type: ignore[operator]


def ceil_bound(spec: TableSpec, value: Bound, lo: Bound) -> Bound:
    """A window end rounded up to the cursor's grain, strictly above lo (a whole day for event tables)."""
    if spec.strategy is Strategy.EVENTS and isinstance(value, datetime):
        day = datetime.combine(value.date(), datetime.min.time(), value.tzinfo)
        value = day if day == value else day + timedelta(days=1)
        return max(value, lo + timedelta(days=1))  # type: ignore[operator]
    if isinstance(value, datetime):
        return max(value, lo + timedelta(microseconds=1))  # type: ignore[operator]
    if isinstance(value, date):
        return max(value, lo + timedelta(days=1))  # type: ignore[operator]
    return max(value, lo + 1)  # type: ignore[operator]
