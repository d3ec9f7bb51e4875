"""Shared by the crash tests and the soak script: run `learnsync sync` as a process, kill it, check the result."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.support.helpers import assert_table_equal, create, insert
from tests.support.rows import DAY_START as T0

TABLE = "COURSES_TRACKINGS"


def seed(share: Any, rows: int = 400) -> None:
    """The crash table with `rows` rows (some with arrays, so child tables load too)."""
    create(share, TABLE)
    insert(share, TABLE, [
        {"ID": f"ct{i:05d}", "CREATED_AT": T0 + timedelta(minutes=7 * i), "PROGRESS": i % 100,
         "ACCESS_DATES": [f"2025-12-0{1 + i % 9} 10:00:00"] * (i % 4)}
        for i in range(rows)
    ])


def move_on(share: Any, round_: int, rows: int = 5) -> None:
    """The share changes while a run is dead: new rows, newer than everything before."""
    insert(share, TABLE, [
        {"ID": f"new{round_}_{i}", "CREATED_AT": T0 + timedelta(days=5 + round_, minutes=i), "ACCESS_DATES": ["x"]}
        for i in range(rows)
    ])


def start_sync(share: Any, dest: Any, cwd: Path, *extra: str, window_rows: int = 40) -> subprocess.Popen:
    """`learnsync sync` of the share into the destination, as its own process."""
    env = {**os.environ, "LEARNSYNC_SOURCE_URI": share.uri, "LEARNSYNC_DEST_URI": dest.uri,
           "LEARNSYNC_DATASET": dest.dataset, "LEARNSYNC_WINDOW_ROWS": str(window_rows)}
    return subprocess.Popen([sys.executable, "-m", "learnsync.cli", "sync", *extra], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_nine(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)


def landed(dest: Any, table: str = "courses_trackings") -> int:
    """Rows in the destination table (0 before the first load created it)."""
    try:
        return int(dest.query(f'SELECT count(*) FROM "{{ds}}"."{table}"')[0][0])
    except Exception:  # noqa: BLE001 - killed before the first load created the table
        return 0


def assert_exact(share: Any, dest: Any) -> None:
    """Destination equals source row for row, and the stored cursor is not ahead of the data."""
    assert_table_equal(share, dest, TABLE)
    newest = share.sql(f'SELECT max("CREATED_AT") FROM "{share.database}"."{share.schema}"."{TABLE}"')
    assert dest.query('SELECT max(created_at) FROM "{ds}"."courses_trackings"') == newest
