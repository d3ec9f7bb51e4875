"""Per-table locks: two runs never sync the same table of the same destination dataset at once.

The lock lives where the data does: a Postgres advisory lock (held by a session, so it works across
machines and frees itself if the holder dies), or an flock on a file beside a DuckDB database (DuckDB is a
local file anyway). A run that cannot get the lock in time stops with a clear message; it never waits forever.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, ContextManager, Iterator

from learnsync.errors import LearnsyncError

DEFAULT_TIMEOUT = 600.0
Locker = Callable[[str, float], ContextManager[None]]


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
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise _busy(key, timeout) from None
                    time.sleep(0.2)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

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
            raise LearnsyncError(f"Could not reach the Postgres destination to lock {key}: {str(exc).strip()}") from None
        conn.autocommit = True
        try:
            deadline = time.monotonic() + timeout
            with conn.cursor() as cur:
                while True:
                    cur.execute("SELECT pg_try_advisory_lock(%s)", (lock_id,))
                    if cur.fetchone()[0]:
                        break
                    if time.monotonic() >= deadline:
                        raise _busy(key, timeout)
                    time.sleep(0.5)
            yield
        finally:
            conn.close()  # ending the session releases the lock

    return lock
