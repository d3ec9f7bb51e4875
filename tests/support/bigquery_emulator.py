"""The `local-bigquery` emulator for tests: installed once into a cached venv, served on 127.0.0.1.

`local-bigquery` 0.4.0 needs Python >= 3.13, so it runs as its own process from its own venv. Its DuckDB 2.0
downloads extensions at start and this machine has no internet: the venv gets DuckDB 1.5.5 instead (--no-deps:
the emulator pins duckdb >= 2.0 but runs on 1.5.5) plus the extensions' PyPI wheels, which are FORCE INSTALLed
into the emulator's own $HOME/.duckdb/extensions.

`python -m tests.support.bigquery_emulator install` builds the cache (CI runs it; the fixture runs it too when missing).
"""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

VERSION = "0.4.0"
DUCKDB = "1.5.5"
EXTENSIONS = ("ducklake", "icu", "spatial")
PROJECT = "test-project"
MAIN = "import sys; from local_bigquery.cli import main; sys.argv[0] = 'local-bigquery'; sys.exit(main())"


def cache_dir() -> Path:
    """Outside the repo, so CI and every worktree pay the install once."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "learnsync" / f"local-bigquery-{VERSION}"


def python313() -> Optional[str]:
    """A Python >= 3.13: LEARNSYNC_PY313, pyenv's 3.13.x, or python3.13 on PATH (a pyenv shim may not run)."""
    candidates = [os.environ.get("LEARNSYNC_PY313")]
    for base in ("/root/.pyenv", str(Path.home() / ".pyenv")):
        candidates += sorted(glob.glob(f"{base}/versions/3.13*/bin/python3.13"), reverse=True)
    candidates.append(shutil.which("python3.13"))
    for c in filter(None, candidates):
        if subprocess.run([c, "-c", "import venv"], capture_output=True).returncode == 0:
            return c
    return None


def install(root: Optional[Path] = None) -> Path:
    """Build the emulator's venv and DuckDB extensions under `root` (once); return `root`."""
    root = root or cache_dir()
    if (root / "ready").exists():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    # pytest -n 2: both workers may get here at once; one builds, the other waits and then finds it ready
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (root / "ready").exists():
            return root
        return _build(root)


def _build(root: Path) -> Path:
    python = python313()
    if python is None:
        raise RuntimeError("local-bigquery needs Python 3.13: set LEARNSYNC_PY313 or install it with pyenv")
    tmp = root.with_name(root.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    venv, home = tmp / "venv", tmp / "home"
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    subprocess.run(pip + [f"local-bigquery=={VERSION}"], check=True)
    wheels = [f"duckdb=={DUCKDB}"] + [f"duckdb-extension-{e}=={DUCKDB}" for e in EXTENSIONS]
    subprocess.run(pip + ["--no-deps"] + wheels, check=True)
    home.mkdir(parents=True)
    script = (
        "import duckdb, glob, sys\ncon = duckdb.connect()\n"
        "for f in glob.glob(sys.argv[1] + '/lib/python*/site-packages/duckdb_extension_*/extensions/*/*.duckdb_extension'):\n"
        "    con.execute(\"FORCE INSTALL '\" + f + \"'\")\n"
        f"for e in {EXTENSIONS!r}:\n    con.execute('LOAD ' + e)\n"
    )
    subprocess.run([str(venv / "bin" / "python"), "-c", script, str(venv)], check=True, env={**os.environ, "HOME": str(home)})
    # the venv is moved into place whole, so a half-built one is never taken for ready; its console scripts keep
    # the temporary path, so the emulator is started as `python -c` (below), never through bin/local-bigquery
    (tmp / "ready").write_text(VERSION)
    shutil.rmtree(root, ignore_errors=True)
    root.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, root)
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Emulator:
    """A running emulator: where to point a BigQuery client (`BIGQUERY_EMULATOR_HOST`)."""

    endpoint: str
    project: str = PROJECT


@contextmanager
def serve(data_dir: Path, root: Optional[Path] = None, timeout: float = 60.0) -> Iterator[Emulator]:
    """Start `local-bigquery serve` on free loopback ports with a fresh data dir; stop it on exit."""
    root = install(root)
    port, grpc_port = free_port(), free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = open(data_dir / "emulator.log", "wb")
    cmd = [str(root / "venv" / "bin" / "python"), "-c", MAIN, "serve", "--host", "127.0.0.1",
           "--port", str(port), "--grpc-port", str(grpc_port), "--project", PROJECT, "--data-dir", str(data_dir / "data")]
    env = {**os.environ, "HOME": str(root / "home")}
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"local-bigquery exited: {(data_dir / 'emulator.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{endpoint}/discovery/v1/apis/bigquery/v2/rest", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"local-bigquery did not answer on {endpoint} in {timeout:.0f} s") from None
                time.sleep(0.3)
        yield Emulator(endpoint)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


if __name__ == "__main__":
    if sys.argv[1:] != ["install"]:
        sys.exit("usage: python -m tests.support.bigquery_emulator install")
    started = time.monotonic()
    print(f"local-bigquery {VERSION} ready in {install()} ({time.monotonic() - started:.0f} s)")
