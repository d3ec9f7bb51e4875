"""Lock primitives: two runs never sync the same table of the same destination dataset at once.

The lock lives where the data does; each destination module builds its own from these (Postgres: an advisory
lock held by a session, so it works across machines and frees itself if the holder dies; DuckDB: flocks on files
beside the database). A run that cannot get the lock in time stops with a clear message; it never waits forever.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import socket
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, ContextManager, Iterator, Optional

from learnsync.errors import LearnsyncError

Locker = Callable[[str, float], ContextManager[None]]
log = logging.getLogger("learnsync.locks")


def holder_info() -> dict[str, object]:
    """Who holds a lock, as written beside it: this machine's host name, this process's pid, since now (UTC)."""
    return {"host": socket.gethostname(), "pid": os.getpid(),
            "since": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")}


def describe_holder(info: Optional[dict]) -> str:
    """`host H, pid P, since S` of a holder's info; `an unknown holder` when nothing was recorded."""
    if not info:
        return "an unknown holder"
    return ", ".join(f"{k} {info[k]}" for k in ("host", "pid", "since") if info.get(k) is not None) or "an unknown holder"


def wait(acquire: Callable[[], bool], timeout: float, every: float, busy: Callable[[], LearnsyncError],
         waiting: Optional[Callable[[], str]] = None) -> None:
    """Call `acquire` until it returns True; after `timeout` seconds raise `busy()` (never wait forever). When the
    first try fails, log at once (WARNING, logger learnsync.locks) that the run waits, with `waiting()`: who holds
    the lock."""
    deadline = time.monotonic() + timeout
    first = True
    while not acquire():
        if first and waiting is not None:
            log.warning("%s", waiting())
        first = False
        if time.monotonic() >= deadline:
            raise busy()
        time.sleep(every)


def _write_holder(fd: int) -> None:
    """Record this process as the holder in a lock file it holds (readers see it while they wait)."""
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(holder_info()).encode(), 0)


def read_holder(path: Path) -> Optional[dict]:
    """The holder info a lock file holds (None when unreadable or empty: e.g. written by an older learnsync)."""
    try:
        return json.loads(path.read_text() or "null")
    except (OSError, ValueError):
        return None


def waiting_line(key: str, holder: str, timeout: float) -> str:
    """The line a run waiting for a lock prints at once."""
    return f"Waiting for another learnsync run syncing {key} ({holder}); waiting up to {timeout:.0f} s."


def try_flock(fd: int) -> bool:
    """Take an exclusive `flock` on the open file `fd` without waiting: True when taken, False when another
    process holds it. The kernel frees it when that process dies, so a crashed run never leaves a lock behind."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def busy_error(key: str, timeout: float, holder: Optional[str] = None) -> LearnsyncError:
    """The error of a run that waited `timeout` s for a lock in vain, naming the holder (`holder`) when known."""
    who = f" ({holder})" if holder else ""
    return LearnsyncError(
        f"Another learnsync run is syncing {key}{who}; waited {timeout:.0f} s for it. Try again when it has finished."
    )


def file_lock(directory: Path) -> Locker:
    """Locks as flock()ed files in `directory` (a lock per key; freed when the process dies)."""

    @contextmanager
    def lock(key: str, timeout: float) -> Iterator[None]:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / (hashlib.sha1(key.encode()).hexdigest()[:16] + ".lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            wait(lambda: try_flock(fd), timeout, 0.2, lambda: busy_error(key, timeout, describe_holder(read_holder(path))),
                 lambda: waiting_line(key, describe_holder(read_holder(path)), timeout))
            _write_holder(fd)
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
                _write_holder(fd)
                _held[key] = [fd, 1]
                return True
            os.close(fd)
            return False

    wait(acquire, timeout, 0.2, lambda: LearnsyncError(f"{busy} It is held by {describe_holder(read_holder(path))}."),
         lambda: f"Waiting: {busy.split(';')[0]} ({describe_holder(read_holder(path))}); up to {timeout:.0f} s.")
    try:
        yield
    finally:
        with _held_guard:
            entry = _held[key]
            entry[1] -= 1
            if entry[1] == 0:
                del _held[key]
                os.close(entry[0])  # closing the descriptor releases the lock
