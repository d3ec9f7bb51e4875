"""Run the `learnsync` command as a user types it (a process) or in this process (Typer's CliRunner: the same app,
streams and exit code without a Python start-up), and check a user error's one line."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from typing import Any, Iterator

from typer.testing import CliRunner

CANARY = "canary-Pa55word-7f3a"
"""A password the tests put in URIs: it must never appear in any output."""


def learnsync(*args: str, cwd: Path, timeout: float = 180, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m learnsync.cli ARGS` in `cwd` (this interpreter, so the installed package), output captured."""
    return subprocess.run(
        [sys.executable, "-m", "learnsync.cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )


def in_process(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """`learnsync ARGS` through Typer's CliRunner in this process: the same app, exit code, stdout and stderr as
    `learnsync()` without a Python start-up (2-3 s each, and up to 8 s on a loaded machine: dlt, the connector).
    For every test that is not about the process itself (signals, a terminal, a kill, the console script).
    The log lines a process writes to its stderr land in the result's stderr here too: the root logger starts
    without handlers (as in a new process, so the command's `logging.basicConfig` installs its own), and dlt's
    handler writes to this command's stderr. An exception the app lets through becomes what the interpreter
    would print, its traceback on stderr and exit code 1, so `assert_user_error` still sees it. What a command
    changes in the process (environment, logging, threading.excepthook) is put back."""
    from learnsync.cli import app

    with _process_state_restored(), contextlib.chdir(cwd):
        logging.getLogger().handlers[:] = []
        result = _Runner().invoke(app, list(args), env=env, prog_name="learnsync")
    stderr = result.stderr
    code = result.exit_code
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(*result.exc_info))
        code = 1
    return subprocess.CompletedProcess(["learnsync", *args], code, result.stdout, stderr)


class _Runner(CliRunner):
    """CliRunner whose isolated stderr also receives dlt's log lines: dlt binds its logger's handler to the stderr
    of the moment it first logs (`dlt.common.logger._create_logger`), once per process."""

    @contextlib.contextmanager
    def isolation(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        outer = sys.stderr
        dlt = logging.getLogger("dlt")
        with super().isolation(*args, **kwargs) as streams:
            before = {h: h.stream for h in _stream_handlers(dlt)}
            for h in before:
                h.setStream(sys.stderr)
            try:
                yield streams
            finally:  # a handler dlt made during the command goes back to the stderr outside it, as the others
                for h in _stream_handlers(dlt):
                    h.setStream(before.get(h, outer))


def _stream_handlers(logger: logging.Logger) -> list[logging.StreamHandler]:
    return [h for h in logger.handlers if type(h) is logging.StreamHandler]  # type, not isinstance: no FileHandler


@contextlib.contextmanager
def _process_state_restored() -> Iterator[None]:
    environ = dict(os.environ)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    named = {n: (logging.getLogger(n).level, logging.getLogger(n).filters[:]) for n in ("learnsync", "dlt", "snowflake.connector")}
    hook = threading.excepthook
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(environ)
        root.handlers[:], root.level = handlers, level
        for name, (lvl, filters) in named.items():
            logging.getLogger(name).setLevel(lvl)
            logging.getLogger(name).filters[:] = filters
        threading.excepthook = hook


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
