"""Shared by the crash tests and the soak script: run `learnsync sync` as a process, kill it, check the result."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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


# the moments of a window's way through dlt, as its load package appears in the pipelines dir (dlt's storages):
# extracted (read from the share), normalized (ready to load), loaded (committed; later windows still to come)
MOMENTS = {
    "extracted": "pipelines/*/normalize/extracted/*",
    "normalized": "pipelines/*/load/normalized/*",
    "loaded": "pipelines/*/load/loaded/*",
}


def wait_for(proc: subprocess.Popen, cwd: Path, moment: str, timeout: float = 120) -> str:
    """Wait until the sync started in `cwd` reaches `moment` (or a later one: a package can pass a stage between
    two looks) and return the moment seen; fails if the process ends first."""
    later = list(MOMENTS)[list(MOMENTS).index(moment):]
    deadline = time.monotonic() + timeout
    while True:
        for seen in later:
            if next((cwd / "dlt").glob(MOMENTS[seen]), None) is not None:
                return seen
        assert proc.poll() is None, ("the sync ended before it was " + moment, proc.communicate())
        assert time.monotonic() < deadline, f"the sync was not {moment} after {timeout:.0f} s"
        time.sleep(0.01)


def waiting(proc: subprocess.Popen) -> str:
    """Read the stderr of a sync started with `start_sync` until it says it waits for a lock (the line a waiting
    run prints at once, `destinations.locks.wait`) or ends; returns what it read, for the caller to put before
    the rest (`proc.communicate()`). An event instead of a fixed sleep before checking that the run waits."""
    assert proc.stderr is not None
    head = []
    while line := proc.stderr.readline():
        head.append(line)
        if "Waiting" in line:
            break
    return "".join(head)


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
