"""Per-table locks: two runs never sync the same table of the same destination dataset at once.

The lock lives where the data does: a Postgres advisory lock (held by a session, so it works across
machines and frees itself if the holder dies), or an flock on a file beside a DuckDB database (DuckDB is a
local file anyway), taken inside one flock on the whole file between processes (DuckDB has one writing process).
A run that cannot get the lock in time stops with a clear message; it never waits forever.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, ContextManager, Iterator

from learnsync.errors import DestinationUnreachable, LearnsyncError

DEFAULT_TIMEOUT = 600.0
Locker = Callable[[str, float], ContextManager[None]]


def _wait(acquire: Callable[[], bool], timeout: float, every: float, busy: Callable[[], LearnsyncError]) -> None:
    """Call `acquire` until it returns True; after `timeout` seconds raise `busy()` (never wait forever)."""
    deadline = time.monotonic() + timeout
    while not acquire():
        if time.monotonic() >= deadline:
            raise busy()
        time.sleep(every)


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _busy(key: str, timeout: float) -> LearnsyncError:
    return LearnsyncError(
        f"Another learnsync run is syncing {key}; waited {timeout:.0f} s for it. Try again when it has finished."
    )


def file_lock(directory: Path) -> Locker:
    """Locks as flock()ed files in `directory` (a lock per key; freed when the process dies)."""

    @contextmanager
    def lock(key: str, timeout: float) -> Iterator[None]:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / (hashlib.sha1(key.encode()).hexdigest()[:16] + ".lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _wait(lambda: _try_flock(fd), timeout, 0.2, lambda: _busy(key, timeout))
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    return lock


_held: dict[str, list[int]] = {}  # lock file -> [descriptor, holders in this process]
_held_guard = threading.Lock()


@contextmanager
def process_lock(path: Path, timeout: float, busy: str) -> Iterator[None]:
    """An flock on `path` that this process holds while any of its threads is inside (re-entrant across threads),
    exclusive between processes; waits up to `timeout` and then raises LearnsyncError(busy)."""
    key = str(path)

    def acquire() -> bool:
        with _held_guard:
            if key in _held:
                _held[key][1] += 1
                return True
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            if _try_flock(fd):
                _held[key] = [fd, 1]
                return True
            os.close(fd)
            return False

    _wait(acquire, timeout, 0.2, lambda: LearnsyncError(busy))
    try:
        yield
    finally:
        with _held_guard:
            entry = _held[key]
            entry[1] -= 1
            if entry[1] == 0:
                del _held[key]
                os.close(entry[0])  # closing the descriptor releases the lock


def duckdb_lock(database: Path) -> Locker:
    """Per-table locks, inside one lock on the DuckDB file between processes: DuckDB lets one process open a file
    for writing, so a second learnsync process waits for the first's table run instead of failing on the file."""
    directory = database.parent / f".{database.name}.locks"
    tables = file_lock(directory)

    @contextmanager
    def lock(key: str, timeout: float) -> Iterator[None]:
        directory.mkdir(parents=True, exist_ok=True)
        busy = (f"Another learnsync process is writing the DuckDB file {database}; waited {timeout:.0f} s for it."
                " Try again when it has finished.")
        with process_lock(directory / "file.lock", timeout, busy), tables(key, timeout):
            yield

    return lock


def postgres_advisory_lock(dsn: str) -> Locker:
    """Locks as session-level advisory locks on the destination server."""

    @contextmanager
    def lock(key: str, timeout: float) -> Iterator[None]:
        import psycopg2

        lock_id = int.from_bytes(hashlib.sha1(key.encode()).digest()[:8], "big", signed=True)
        try:
            conn = psycopg2.connect(dsn, connect_timeout=30)
        except psycopg2.OperationalError as exc:
            raise DestinationUnreachable(
                f"Cannot reach the Postgres destination to lock {key}: {' '.join(str(exc).split())}") from None
        conn.autocommit = True
        try:
            with conn.cursor() as cur:

                def acquire() -> bool:
                    cur.execute("SELECT pg_try_advisory_lock(%s)", (lock_id,))
                    return bool(cur.fetchone()[0])

                _wait(acquire, timeout, 0.5, lambda: _busy(key, timeout))
            yield
        finally:
            conn.close()  # ending the session releases the lock

    return lock
