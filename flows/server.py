"""The Prefect server `learnsync serve` starts for itself when no PREFECT_API_URL is set.

Prefect's own answer to a missing API URL is its temporary ("ephemeral") server, which runs no scheduler in
Prefect 3.9 (`prefect/server/services/perpetual_services.py`: only services marked `run_in_ephemeral` run there,
and the scheduler is not one), so served deployments never get a scheduled run. `prefect server start` runs every
service; this module runs it on a free loopback port for as long as `serve` runs, with Prefect's anonymous
telemetry off (it posts to sens-o-matic.prefect.io: nothing here leaves the machine).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional

from learnsync.errors import LearnsyncError

HOST = "127.0.0.1"
STARTUP_SECONDS = 180.0
"""How long the server may take to answer: its first start migrates a SQLite database (40 s on a loaded 2-core
machine)."""
SERVER_ENV = {
    # the server's anonymous usage heartbeat (prefect/server/services/telemetry.py) goes to prefect.io
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_API_HOST": HOST,
}


def configured_api_url() -> Optional[str]:
    """The Prefect API this process would talk to (PREFECT_API_URL, from the environment or the active Prefect
    profile); None when none is set and Prefect would start its temporary server."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


@contextmanager
def local_server(echo: Callable[[str], None], startup_seconds: float = STARTUP_SECONDS) -> Iterator[str]:
    """`prefect server start` on a free port of 127.0.0.1 for the block, and this process (and the flow runs it
    starts) talking to it; yields its API URL. Its database is Prefect's default (PREFECT_HOME), so runs and
    deployments stay for the next start; its output goes to `server.log` there. Raises LearnsyncError when it
    does not answer within `startup_seconds`."""
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    import signal

    port = _free_port()
    api_url = f"http://{HOST}:{port}/api"
    home = Path(PREFECT_HOME.value()).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    log = home / "learnsync-serve-server.log"
    # until the runner takes SIGTERM over (it stops gracefully), one stops the start and the server with it
    previous_term = signal.signal(signal.SIGTERM, _interrupt)
    with open(log, "wb") as out:
        # its own session: a Ctrl-C meant for `serve` must not stop the server before the runner has paused the
        # schedules and finished its runs (it is stopped below, after them)
        proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", HOST, "--port", str(port)],
            env={**os.environ, **SERVER_ENV}, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        try:
            _wait_healthy(proc, api_url, log, startup_seconds)
        finally:
            signal.signal(signal.SIGTERM, previous_term)
        echo(f"No PREFECT_API_URL: started a Prefect server at http://{HOST}:{port} for this process (its UI is"
             f" there; log {log}). For one that outlives it: prefect server start, and set PREFECT_API_URL.")
        previous = os.environ.get("PREFECT_API_URL")
        os.environ["PREFECT_API_URL"] = api_url  # the flow runs the runner starts are processes of their own
        try:
            with temporary_settings(updates={PREFECT_API_URL: api_url}):
                yield api_url
        finally:
            if previous is None:
                os.environ.pop("PREFECT_API_URL", None)
            else:
                os.environ["PREFECT_API_URL"] = previous
    finally:
        _stop(proc)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _wait_healthy(proc: subprocess.Popen[bytes], api_url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = " ".join(log.read_text(errors="replace").split())[-300:]
            why = f"exited with code {proc.returncode}" if proc.returncode is not None else f"did not answer in {timeout:.0f} s"
            raise LearnsyncError(f"The Prefect server learnsync serve starts {why} ({tail}). Start one with `prefect"
                                 " server start` and set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api).")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server and everything it started (its session's process group)."""
    import signal

    if proc.poll() is not None:
        return

    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass
