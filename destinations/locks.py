"""Lock primitives: two runs never sync the same table of the same destination dataset at once.

The lock lives where the data does; each destination module builds its own from these (Postgres: an advisory
lock held by a session, so it works across machines and frees itself if the holder dies; DuckDB: flocks on files
beside the database). A run that cannot get the lock in time stops with a clear message; it never waits forever.
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

from learnsync.errors import LearnsyncError

Locker = Callable[[str, float], ContextManager[None]]


def wait(acquire: Callable[[], bool], timeout: float, every: float, busy: Callable[[], LearnsyncError]) -> None:
    """Call `acquire` until it returns True; after `timeout` seconds raise `busy()` (never wait forever)."""
    deadline = time.monotonic() + timeout
    while not acquire():
        if time.monotonic() >= deadline:
            raise busy()
        time.sleep(every)


def try_flock(fd: int) -> bool:
    """Take an exclusive `flock` on the open file `fd` without waiting: True when taken, False when another
    process holds it. The kernel frees it when that process dies, so a crashed run never leaves a lock behind."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def busy_error(key: str, timeout: float) -> LearnsyncError:
    """The one line for a table another run still held after `timeout` seconds of waiting."""
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
            wait(lambda: try_flock(fd), timeout, 0.2, lambda: busy_error(key, timeout))
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
            if try_flock(fd):
                _held[key] = [fd, 1]
                return True
            os.close(fd)
            return False

    wait(acquire, timeout, 0.2, lambda: LearnsyncError(busy))
    try:
        yield
    finally:
        with _held_guard:
            entry = _held[key]
            entry[1] -= 1
            if entry[1] == 0:
                del _held[key]
                os.close(entry[0])  # closing the descriptor releases the lock
