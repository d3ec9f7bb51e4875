"""DuckDB, the embedded default: `duckdb:///./rel.duckdb` or `duckdb:///abs/path.duckdb`.

One module for what a DuckDB destination is: the dlt destination (with the catalog alias a file named like its
dataset needs), the locks (DuckDB lets one process write a file), the comment writer, the reconcile dialect and
the dbt profile output.
"""

from __future__ import annotations

import errno
import functools
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional
from urllib.parse import SplitResult, urlsplit

from learnsync.destinations.base import Key, Kind, Target, comment_on, identity, local_path
from learnsync.destinations.locks import Locker, file_lock, process_lock
from learnsync.errors import LearnsyncError
from learnsync.catalog.fingerprint import Dialect

DIALECT = Dialect(
    "duckdb",
    text=lambda e: f"CAST({e} AS VARCHAR)",
    days=lambda e: f"({e} - DATE '1970-01-01')",
    micros=lambda e: f"epoch_us({e})",
    md5=lambda e: f"md5({e})",
    # SUM(BIGINT) is HUGEINT
    hex_prefix=lambda e: f"CAST('0x0' || {e} AS BIGINT)",
    int_div=lambda a, b: f"(({a}) // {b})",  # integer operands
)

MEMORY_LIMIT = "128MB"
"""DuckDB caches table data up to 80% of RAM by default; the loader needs little, so memory stays flat. DuckDB
fills what it is given (memray at 4M rows: 256 MB under dlt's queries at 256MB); what passes it spills to
DuckDB's temp directory (`<file>.tmp`): the first-load check's GROUP BYs over a 16M-row table and its 36M-row
child table take 10.3 s and 221 MB at 128MB (9.0 s, 341 MB at 256MB); a 2M-row first load peaks at 471 MB
instead of 566 MB."""


def _file(parts: SplitResult) -> Path:
    raw = local_path(parts)
    if not raw or raw.endswith("/"):
        raise LearnsyncError("The DuckDB URI needs a file: duckdb:///path/to/file.duckdb (or duckdb:///./file.duckdb).")
    return Path(raw).expanduser().resolve()


def database_file(uri: str) -> Optional[Path]:
    """The DuckDB file a destination URI names, as a sync opens it (`duckdb:///./rel` relative to the working
    directory, `duckdb:///abs` absolute); None when the URI is not a DuckDB one. Raises LearnsyncError for a URI
    that names no file."""
    parts = urlsplit(uri)
    return _file(parts) if parts.scheme.split("+")[0] in KIND.schemes else None


def target(parts: SplitResult, dataset: str, options: dict[str, Any]) -> Target:
    """The DuckDB file of the URI; its folder must exist (a LearnsyncError says so)."""
    import dlt
    from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

    path = _file(parts)
    if not path.parent.is_dir():
        raise LearnsyncError(f"The folder of the DuckDB file does not exist: {path.parent}. Create it first.")
    creds = DuckDbCredentials(str(_catalog_alias(path, dataset)), global_config={"memory_limit": MEMORY_LIMIT})
    return Target(
        destination=dlt.destinations.duckdb(credentials=creds, **options),
        identity="duckdb-" + identity(str(path)),
        display=f"duckdb://{path}",
        lock=lock(path),
        # one process attaches a DuckDB file once, and DuckDB takes one writer: tables load one at a time
        max_parallel_loads=1,
        describe=comment_on(_comments),
        explain=functools.partial(_explain, path),
        dialect=DIALECT,
        exists=path.is_file,
    )


def lock(database: Path) -> Locker:
    """Per-table locks, inside one lock on the DuckDB file between processes: DuckDB lets one process open a file
    for writing, so a second learnsync process waits for the first's table run instead of failing on the file.
    The lock files sit in `.<file>.locks/` beside the database."""
    directory = database.parent / f".{database.name}.locks"
    tables = file_lock(directory)

    @contextmanager
    def locked(key: str, timeout: float) -> Iterator[None]:
        directory.mkdir(parents=True, exist_ok=True)
        busy = (f"Another learnsync process is writing the DuckDB file {database}; waited {timeout:.0f} s for it."
                " Try again when it has finished.")
        with process_lock(directory / "file.lock", timeout, busy), tables(key, timeout):
            yield

    return locked


def _comments(client: Any) -> dict[Key, str]:
    rows = client.execute_sql(
        "SELECT table_name, NULL, comment FROM duckdb_tables()"
        " WHERE database_name = current_database() AND schema_name = %s"
        " UNION ALL SELECT table_name, column_name, comment FROM duckdb_columns()"
        " WHERE database_name = current_database() AND schema_name = %s",
        client.dataset_name,
        client.dataset_name,
    )
    return {(t, c): text or "" for t, c, text in rows or ()}


def _explain(path: Path, exc: BaseException) -> Optional[str]:
    """A DuckDB failure dlt reports as a credentials or network problem (learnsync then: "Cannot reach the
    destination"), as what it is: the file held by another process, or a file or folder this user cannot write."""
    return _held(path, exc) or _unwritable(path, exc)


UNWRITABLE = {errno.EACCES: "Permission denied", errno.EPERM: "Operation not permitted",
              errno.EROFS: "Read-only file system"}


def _unwritable(path: Path, exc: BaseException) -> Optional[str]:
    """The file, its folder or its lock folder cannot be written (permissions, a read-only file system)."""
    chain: list[BaseException] = []
    seen: Optional[BaseException] = exc
    while seen is not None and len(chain) < 20:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    os_error = next((e for e in chain if isinstance(e, OSError) and e.errno in UNWRITABLE), None)
    if os_error is not None:
        why, what = UNWRITABLE[os_error.errno or 0], os_error.filename or path
    else:  # DuckDB's own IOException carries the OS's words in its text
        text = " ".join(str(e) for e in chain)
        why = next((w for w in UNWRITABLE.values() if w in text), None)
        what = path
        if why is None:
            return None
    return (f"Cannot write the DuckDB file {path} ({why}: {what}): point --dest-uri at a folder you can write"
            f" (duckdb:///path/to/file.duckdb), or make {path.parent} and the file writable for this user.")


def _held(path: Path, exc: BaseException) -> Optional[str]:
    """DuckDB's file lock, which dlt reports as a credentials or network problem, as what it is."""
    held = re.search(r"Could not set lock on file .*?Conflicting lock is held in (.*?) \(PID (\d+)\)", str(exc))
    if held is None:
        return None
    return (f"The DuckDB file {path} is in use by another process ({held[1]}, PID {held[2]}); DuckDB lets one"
            " process open it for writing: wait for that process to finish or stop it, then run again.")


def _catalog_alias(path: Path, dataset: str) -> Path:
    """The path DuckDB opens `path` through: the file itself, or a hard link of another name when the file is
    named like the dataset.

    DuckDB names its catalog after the file, so in `x/learning.duckdb` dlt's two-part names `"learning"."t"`
    are an "Ambiguous reference to catalog or schema". DuckDB (2.0) cannot rename its primary catalog, dlt does
    not qualify names with one, and DuckDB names a symlinked file after its target; a hard link is the same
    file under another name. A run killed mid-write leaves its WAL beside the link, and the next run replays it.
    """
    if path.stem.lower() != dataset.lower():
        return path
    import duckdb

    alias = path.parent / f".{path.name}.catalog" / "learnsync_destination.duckdb"
    alias.parent.mkdir(exist_ok=True)
    if not path.exists():
        duckdb.connect(str(path)).close()  # DuckDB takes an existing file only if it is a database
    if alias.exists() and alias.stat().st_ino == path.stat().st_ino:
        return alias
    if Path(f"{alias}.wal").exists():
        raise LearnsyncError(
            f"{path} was replaced while a killed run's unfinished writes wait in {alias}.wal: move that file"
            " away (its writes are lost) or put the old database back."
        )
    alias.unlink(missing_ok=True)
    os.link(path, alias)
    return alias


def dbt_output(parts: SplitResult, schema: str) -> dict[str, Any]:
    """The dbt-duckdb profile output for the file (an absolute path, so the project works from any folder)."""
    # dbt-duckdb names the catalog after the file, and the package's sources are qualified with it, so a file
    # named like a dataset needs no alias here
    return {"type": "duckdb", "path": str(_file(parts)), "schema": schema, "threads": 4}


KIND = Kind(("duckdb",), target, dbt_output)
