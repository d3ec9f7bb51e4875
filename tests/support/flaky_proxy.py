"""A TCP proxy on the loopback in front of the emulator that can make the source go away for a while.

It forwards bytes untouched. `outage_at_login(n, seconds)` arms it: when the n-th login request comes through (its
HTTP request line is plain text, the body is gzipped), every open connection is cut and new ones are reset for
`seconds`; then it forwards again. So a fault lands at a chosen step of a run, not at a moment guessed by a timer."""

from __future__ import annotations

import socket
import struct
import threading
import time
from typing import Optional

LOGIN = b"POST /session/v1/login-request"


class FlakyProxy:
    def __init__(self, upstream_port: int, host: str = "127.0.0.1") -> None:
        self.upstream = (host, upstream_port)
        self._listener = socket.create_server((host, 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._down_until = 0.0
        self._logins = 0
        self._arm: Optional[tuple[int, float]] = None
        self.outages: list[float] = []  # monotonic times the source went away
        self.refused = 0  # connections reset while it was away
        self._refuse = 0  # connections still to reset (refuse_next)
        threading.Thread(target=self._accept, daemon=True).start()

    def outage_at_login(self, nth: int, seconds: float) -> None:
        self._arm = (nth, seconds)

    def refuse_next(self, connections: int) -> None:
        """Reset the next `connections` connections, as a server that is restarting does; then forward again."""
        self._refuse = connections

    def close(self) -> None:
        self._listener.close()
        self._cut()

    def _down(self) -> bool:
        return time.monotonic() < self._down_until

    def _cut(self) -> None:
        with self._lock:
            for s in list(self._open):
                _reset(s)
            self._open.clear()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._down() or self._refuse > 0:
                self._refuse -= 1
                self.refused += 1
                _reset(client)
                continue
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._open.update((client, server))
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if upstream and LOGIN in data:
                    self._logins += 1
                    if self._arm and self._logins == self._arm[0]:
                        self._down_until = time.monotonic() + self._arm[1]
                        self.outages.append(time.monotonic())
                        self._cut()  # this login never reaches the source, nor does anything else for a while
                        return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _reset(sock: socket.socket) -> None:
    """Close with an RST, as a dropped network path or a restarting server looks to the client."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass
