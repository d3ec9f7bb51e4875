"""Run the `learnsync` command in a pseudo-terminal, as a person at a real terminal runs it (stdout is a tty)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
"""A terminal control sequence (colour, cursor movement, line erase): what a live display writes."""


@dataclass
class TerminalRun:
    """What a command wrote to its terminal (stdout and stderr together, as a person sees them) and its exit code."""

    returncode: int
    raw: str

    @property
    def text(self) -> str:
        """The output without control sequences and carriage returns: the lines a person reads."""
        return "\n".join(part.rsplit("\r", 1)[-1] for part in ANSI.sub("", self.raw).replace("\r\n", "\n").split("\n"))

    @property
    def drew(self) -> bool:
        """True when the command drew a live display (it moved the cursor or erased a line)."""
        return "\x1b[2K" in self.raw or "\x1b[?25l" in self.raw


def in_terminal(
    *args: str, cwd: Path, env: Optional[dict[str, str]] = None, timeout: float = 600, columns: int = 160,
    command: Optional[list[str]] = None, on_output: Optional[Callable[[str, int], None]] = None,
) -> TerminalRun:
    """`python -m learnsync.cli ARGS` (or `command`) with a pseudo-terminal as its stdin, stdout and stderr.
    `on_output(text so far, pid)` is called as output arrives (to send a signal when a line appears)."""
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    environ = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns), **(env or {})}
    for var in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "CI"):
        if var not in (env or {}):
            environ.pop(var, None)
    proc = subprocess.Popen(command or [sys.executable, "-m", "learnsync.cli", *args], cwd=cwd, env=environ,
                            stdin=secondary, stdout=secondary, stderr=secondary, start_new_session=True)
    os.close(secondary)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                raise TimeoutError(f"{args} did not finish in {timeout} s:\n{b''.join(chunks).decode(errors='replace')[-3000:]}")
            ready, _, _ = select.select([primary], [], [], 0.2)
            if not ready:
                if proc.poll() is not None and not _pending(primary):
                    break
                continue
            try:
                data = os.read(primary, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not data:
                break
            chunks.append(data)
            if on_output is not None:
                on_output(b"".join(chunks).decode(errors="replace"), proc.pid)
    finally:
        os.close(primary)
    return TerminalRun(proc.wait(timeout=60), b"".join(chunks).decode(errors="replace"))


def _pending(fd: int) -> bool:
    ready, _, _ = select.select([fd], [], [], 0)
    return bool(ready)
