"""Row builders for the emulated share: one T0 and one builder per table shape the tests use."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.support.helpers import create, insert

T0 = datetime(2026, 1, 1, 12, 0, 0)
"""The tests' reference time: noon, so that hours before and after it stay on the same day."""
DAY_START = T0.replace(hour=0)
"""Midnight of T0's day, for tests about rows created at a day boundary."""


def tracking(i: int, created: datetime | None, dates: list | None = None, **extra: object) -> dict:
    """A COURSES_TRACKINGS row: key ct<i:05d>, text with quotes/newline/non-ASCII, ACCESS_DATES with i % 4
    elements (or `dates`); `extra` overrides columns."""
    row = {
        "ID": f"ct{i:05d}", "CREATED_AT": created, "COURSE": f"c{i % 7}", "USER": f"u{i % 13}",
        "SCORE": float(i) / 3, "PROGRESS": i % 101, "TIME_SPENT": f"{i}.5", "RESULT": "success",
        "ACCESS_DATES": dates if dates is not None else [f"2025-12-{(i % 28) + 1:02d} 10:00:00"] * (i % 4),
        "LANG": "fr" if i % 2 else "en, \"quoted\"\nnewline ☃",
    }
    row.update(extra)
    return row


def trackings(share: Any, n: int, start: datetime, prefix: str = "ct") -> None:
    """Insert n COURSES_TRACKINGS rows, one per hour from `start`, keys <prefix><i:04d>."""
    insert(share, "COURSES_TRACKINGS", [
        {"ID": f"{prefix}{i:04d}", "CREATED_AT": start + timedelta(hours=i), "PROGRESS": i,
         "ACCESS_DATES": [f"2025-12-0{1 + i % 9} 10:00:00"] * (i % 3)}
        for i in range(n)
    ])


def skills(share: Any, n: int = 3, created: datetime = T0, step: timedelta = timedelta(0)) -> None:
    """Create SKILLS with n rows s0..s<n-1>, created at `created` + i * `step`."""
    create(share, "SKILLS")
    insert(share, "SKILLS", [{"ID": f"s{i}", "CREATED_AT": created + i * step, "NAME": f"skill {i}"}
                             for i in range(n)])


def event(i: int, at: datetime, name: str = "course_started") -> dict:
    """A DataCamp FACT_LEARN_EVENTS row of user i % 9 at `at`."""
    return {"GROUP_ID": 1, "USER_ID": i % 9, "DATE_ID": int(at.strftime("%Y%m%d")), "CONTENT_ID": i,
            "EVENT_NAME": name, "OCCURRED_AT": at, "XP_EARNED": i * 10, "ASSESSMENT_PERCENTILE": 0.5}
