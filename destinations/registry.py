"""One registry: destination URI -> dlt destination and its load options.

Adding a destination is one entry in `REGISTRY` (a function from the parsed URI to a `Target`); callers
never branch on the scheme.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import SplitResult, unquote, urlsplit

from learnsync.errors import LearnsyncError
from learnsync.secrets import read_password
from pipelines.locking import Locker, file_lock, postgres_advisory_lock

DEFAULT_URI = "duckdb:///./learnsync.duckdb"
SWAP = "insert-from-staging"
"""Replace loads into the staging dataset, then swaps rows in one transaction: readers never see a table
empty or half-loaded during a full refresh."""


@dataclass(frozen=True)
class Target:
    """A resolved destination: what to hand dlt, and how to name it without secrets."""

    destination: Any  # a dlt Destination instance
    identity: str  # stable and secret-free: part of pipeline names
    display: str  # the URI with the password masked
    run_options: dict[str, Any] = field(default_factory=dict)  # extra `pipeline.run` kwargs
    lock: Locker = field(default_factory=lambda: file_lock(Path.home() / ".learnsync" / "locks"))
    max_parallel_loads: Optional[int] = None  # None: any number of tables may load at once


Factory = Callable[[SplitResult, str, dict[str, Any]], Target]
"""(parsed URI, dataset, dlt destination options) -> Target."""


def _redact(parts: SplitResult) -> str:
    if parts.password is None:
        return parts.geturl()
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


def _identity(*pieces: str) -> str:
    return hashlib.sha1("|".join(pieces).encode()).hexdigest()[:8]


def _duckdb(parts: SplitResult, dataset: str, options: dict[str, Any]) -> Target:
    import dlt

    raw = unquote(parts.netloc + parts.path)
    # duckdb:///./x.duckdb and duckdb:x.duckdb are relative; duckdb:///abs/x.duckdb is absolute
    if raw.startswith(("/./", "/../", "/~")):
        raw = raw[1:]
    if not raw or raw.endswith("/"):
        raise LearnsyncError("The DuckDB URI needs a file: duckdb:///path/to/file.duckdb (or duckdb:///./file.duckdb).")
    path = Path(raw).expanduser().resolve()
    if not path.parent.is_dir():
        raise LearnsyncError(f"The folder of the DuckDB file does not exist: {path.parent}. Create it first.")
    if path.stem.lower() == dataset.lower():
        # DuckDB names its catalog after the file, and dlt's `dataset.table` then resolves ambiguously
        raise LearnsyncError(
            f"The DuckDB file {path.name} and the dataset {dataset!r} have the same name, which DuckDB cannot tell"
            " apart: rename the file or pick another --dataset."
        )
    from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

    # DuckDB caches table data up to 80% of RAM by default; the loader needs little, so memory stays flat
    creds = DuckDbCredentials(str(path), global_config={"memory_limit": "256MB"})
    return Target(
        destination=dlt.destinations.duckdb(credentials=creds, **options),
        identity="duckdb-" + _identity(str(path)),
        display=f"duckdb://{path}",
        lock=file_lock(path.parent / f".{path.name}.locks"),
        # one process attaches a DuckDB file once, and DuckDB takes one writer: tables load one at a time
        max_parallel_loads=1,
    )


def _postgres(parts: SplitResult, dataset: str, options: dict[str, Any]) -> Target:
    import dlt

    if not parts.hostname or not parts.path.strip("/"):
        raise LearnsyncError("The Postgres URI needs a host and a database: postgresql://user[:password]@host:port/db.")
    try:
        port = parts.port or 5432
    except ValueError:
        raise LearnsyncError("The Postgres URI has an invalid port: postgresql://user[:password]@host:port/db.") from None
    user = unquote(parts.username or os.environ.get("PGUSER", "postgres"))
    # from the URI, else dlt secrets (DESTINATION__POSTGRES__CREDENTIALS__PASSWORD); dlt insists on one,
    # and an empty one lets libpq fall back to trust auth or ~/.pgpass
    password = unquote(parts.password or "") or (read_password("destination", "postgres", "credentials") or "")
    from dlt.common.configuration.specs import ConnectionStringCredentials

    creds = ConnectionStringCredentials()
    creds.drivername = "postgresql"
    creds.username, creds.password, creds.host, creds.port = user, password, parts.hostname, port
    creds.database = parts.path.strip("/")
    creds.query = {k: v for k, v in (p.split("=", 1) for p in parts.query.split("&") if "=" in p)}
    dsn = creds.to_native_representation()
    return Target(
        destination=dlt.destinations.postgres(credentials=dsn, **options),
        identity="postgres-" + _identity(parts.hostname, str(port), creds.database),
        display=_redact(parts),
        # Arrow batches load through COPY; dlt's default for Postgres would render INSERT statements
        run_options={"loader_file_format": "csv"},
        lock=postgres_advisory_lock(dsn),
    )


def _bigquery(parts: SplitResult, dataset: str, options: dict[str, Any]) -> Target:
    """`bigquery://PROJECT[/DATASET]?location=EU`; credentials the dlt way (GOOGLE_APPLICATION_CREDENTIALS,
    a service-account file in secrets, or application default). Emulator testing is issue #5's work."""
    import importlib.util

    if importlib.util.find_spec("google.cloud.bigquery") is None:
        raise LearnsyncError("The bigquery destination needs extra packages: pip install 'learnsync[bigquery]'.")
    import dlt

    if not parts.hostname:
        raise LearnsyncError("The BigQuery URI needs a project: bigquery://PROJECT?location=EU.")
    query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
    dest = dlt.destinations.bigquery(location=query.get("location", "US"), **options)
    return Target(destination=dest, identity="bigquery-" + _identity(parts.netloc), display=parts.geturl())


REGISTRY: dict[str, Factory] = {
    "bigquery": _bigquery,
    "duckdb": _duckdb,
    "postgresql": _postgres,
    "postgres": _postgres,
}


def resolve(uri: Optional[str], dataset: str, staging_suffix: str = "") -> Target:
    """Turn a destination URI into a `Target`, or raise a LearnsyncError saying what is accepted.

    `staging_suffix` gives concurrent loads of one table their own staging dataset (dlt merges through it)."""
    uri = uri or DEFAULT_URI
    parts = urlsplit(uri)
    factory = REGISTRY.get(parts.scheme.split("+")[0])
    if factory is None:
        known = ", ".join(f"{s}://" for s in REGISTRY)
        raise LearnsyncError(f"Unknown destination {parts.scheme or uri!r}: use one of {known}.")
    try:
        options = {"replace_strategy": SWAP, "staging_dataset_name_layout": "%s_staging" + staging_suffix}
        return factory(parts, dataset, options)
    except ImportError as exc:
        raise LearnsyncError(
            f"The {parts.scheme} destination needs an extra package ({exc.name}): pip install 'learnsync[{parts.scheme}]'."
        ) from None
