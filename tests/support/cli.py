"""Run the `learnsync` command as a user types it, and check a user error's one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CANARY = "canary-Pa55word-7f3a"
"""A password the tests put in URIs: it must never appear in any output."""


def learnsync(*args: str, cwd: Path, timeout: float = 180, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m learnsync.cli ARGS` in `cwd` (this interpreter, so the installed package), output captured."""
    return subprocess.run(
        [sys.executable, "-m", "learnsync.cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )


def assert_user_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit 2, no traceback, no CANARY, exactly one `error:` line holding every needle (any case)."""
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "Traceback" not in out, out
    assert CANARY not in out
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, out
    for needle in needles:
        assert needle.lower() in lines[0].lower(), lines[0]
