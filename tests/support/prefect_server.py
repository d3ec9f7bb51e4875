"""A real Prefect server (and worker) as processes of their own, for the end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

PREFECT = str(Path(sys.executable).with_name("prefect"))  # the CLI of this environment
HOST = "127.0.0.1"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Service:
    """A long-running CLI process in its own process group, its output in a file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        self.name, self.log = name, log
        self._out = open(log, "wb")
        self.proc = subprocess.Popen(
            args, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=self._out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its children (uvicorn, flow run processes) go down with it
        )

    def tail(self, chars: int = 6000) -> str:
        return f"--- {self.name} output ({self.log}) ---\n" + self.log.read_text(errors="replace")[-chars:]

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited with code {self.proc.returncode}\n{self.tail()}")

    def stop(self) -> None:
        try:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        finally:
            self._out.close()


def wait_healthy(server: Service, api_url: str, timeout: float = 90.0) -> None:
    """Wait until the server answers /health (an AssertionError with its output after `timeout` s)."""
    deadline = time.monotonic() + timeout
    while True:
        server.check_alive()
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"The Prefect server did not answer {api_url}/health in {timeout:.0f} s\n{server.tail()}")
        time.sleep(0.25)



def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any Prefect, learnsync or dlt setting of the caller's, plus `extra`."""
    prefixes = ("PREFECT_", "LEARNSYNC_", "SOURCES__", "DESTINATION__", "DLT_", "RUNTIME__")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(extra)
    return env


@contextlib.contextmanager
def api_of(api_url: str):
    """This process talks to the Prefect server at `api_url` (flows called here report to it) for the block, then to
    whatever it talked to before. Prefect's events and log workers are process-wide services keyed by client type,
    not by API URL (prefect/events/worker.py `EventsWorker.instance`): one started earlier, for the session's test
    server, would keep sending this block's events there. They are drained (stopped once their queue is sent) on the
    way in and out, so the next event starts a worker for the URL in force."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    def drain() -> None:
        EventsWorker.drain_all(timeout=30)
        APILogWorker.drain_all(timeout=30)

    drain()
    try:
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            yield
            drain()
    finally:
        drain()
