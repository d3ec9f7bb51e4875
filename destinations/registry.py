"""One registry: destination URI -> dlt destination and its load options.

Adding a destination is one entry in `REGISTRY` (a function from the parsed URI to a `Target`); callers
never branch on the scheme.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional
from urllib.parse import SplitResult, unquote, urlsplit

from learnsync.destinations import comments, indexes
from learnsync.errors import LearnsyncError
from learnsync.secrets import read_password
from learnsync.pipelines.locking import Locker, duckdb_lock, file_lock, postgres_advisory_lock

if TYPE_CHECKING:
    from dlt.extract.source import DltSource

    from learnsync.pipelines.catalog import TableSpec

DEFAULT_URI = "duckdb:///./learnsync.duckdb"
STAGING = "_staging"
"""dlt stages merges and swapped-in replaces in `<dataset>_staging` (a backfill lane of a table:
`<dataset>_staging_bf<n>_<hash of the table>`, dropped when the lane is done)."""


def is_staging(dataset: str) -> bool:
    """Whether a dataset name is one of learnsync's staging datasets."""
    return re.fullmatch(rf".+{STAGING}(_bf\d+_[0-9a-f]{{6}})?", dataset) is not None


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
    # writes table/column descriptions as comments after a load; None where dlt writes them itself or cannot.
    # BigQuery: dlt 1.31 puts column descriptions in its DDL, but table descriptions only through the
    # `x-bigquery-table-description` hint; plug a `comments.Describer` here (ALTER TABLE ... SET OPTIONS)
    describe: Optional[comments.Describer] = None
    index: Optional[indexes.Indexer] = None
    """Adds the primary keys and child-table join indexes dlt does not create, after a load; None: leave them."""
    dataset: Optional[str] = None  # the dataset the URI names; it wins over --dataset
    adapt: Callable[["DltSource", "TableSpec"], None] = lambda source, spec: None
    """Shapes one table's dlt source for this destination (e.g. BigQuery partitioning), before it runs."""
    merges: bool = True
    """False: the destination cannot merge or delete rows, so every sync reloads its tables whole."""
    explain: Callable[[BaseException], Optional[str]] = lambda exc: None  # a clearer line for a known failure
    datasets: Optional[Callable[[Any], list[str]]] = field(default_factory=lambda: _schemas_with_dlt_tables)
    """Given an open dlt SQL client, the datasets holding dlt's `_dlt_version` table; None: cannot list them."""


def _schemas_with_dlt_tables(client: Any) -> list[str]:
    """Through the SQL standard's information_schema (DuckDB, Postgres and most SQL destinations)."""
    rows = client.execute_sql(
        "SELECT DISTINCT table_schema FROM information_schema.tables WHERE table_name = '_dlt_version'")
    return [r[0] for r in rows or []]


def _bigquery_datasets(client: Any) -> list[str]:
    """BigQuery's information_schema is per region or dataset: list the project's datasets through its API."""
    bq = client.native_connection
    return [ds.dataset_id for ds in bq.list_datasets()
            if any(t.table_id == "_dlt_version" for t in bq.list_tables(ds.dataset_id))]


Factory = Callable[[SplitResult, str, dict[str, Any]], Target]
"""(parsed URI, dataset, dlt destination options) -> Target."""


def _redact(parts: SplitResult) -> str:
    if parts.password is None:
        return parts.geturl()
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


def _identity(*pieces: str) -> str:
    return hashlib.sha1("|".join(pieces).encode()).hexdigest()[:8]


def _params(parts: SplitResult) -> dict[str, str]:
    """The URI's query string as it is."""
    return dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)


def _local_path(parts: SplitResult) -> str:
    """The path of a local URI: x:///./rel, x:///~/rel and x:rel are relative, x:///abs is absolute."""
    raw = unquote(parts.netloc + parts.path)
    return raw[1:] if raw.startswith(("/./", "/../", "/~")) else raw


def _duckdb(parts: SplitResult, dataset: str, options: dict[str, Any]) -> Target:
    import dlt

    raw = _local_path(parts)
    if not raw or raw.endswith("/"):
        raise LearnsyncError("The DuckDB URI needs a file: duckdb:///path/to/file.duckdb (or duckdb:///./file.duckdb).")
    path = Path(raw).expanduser().resolve()
    if not path.parent.is_dir():
        raise LearnsyncError(f"The folder of the DuckDB file does not exist: {path.parent}. Create it first.")
    from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

    # DuckDB caches table data up to 80% of RAM by default; the loader needs little, so memory stays flat
    creds = DuckDbCredentials(str(_catalog_alias(path, dataset)), global_config={"memory_limit": "256MB"})
    return Target(
        destination=dlt.destinations.duckdb(credentials=creds, **options),
        identity="duckdb-" + _identity(str(path)),
        display=f"duckdb://{path}",
        lock=duckdb_lock(path),
        # one process attaches a DuckDB file once, and DuckDB takes one writer: tables load one at a time
        max_parallel_loads=1,
        describe=comments.DUCKDB,
        explain=functools.partial(_duckdb_held, path),
    )


def _duckdb_held(path: Path, exc: BaseException) -> Optional[str]:
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
    creds.query = _params(parts)
    dsn = creds.to_native_representation()
    from dlt.destinations.impl.postgres.postgres import PostgresParquetCopyJob

    # dlt 1.31 hands ADBC a whole file's batches, and a zero-row file (an empty table, created with every column)
    # has none: "Must pass schema, or at least one RecordBatch". Per row group, an empty file ingests nothing.
    PostgresParquetCopyJob._ingest_per_rowgroup = True
    return Target(
        destination=dlt.destinations.postgres(credentials=dsn, **options),
        identity="postgres-" + _identity(parts.hostname, str(port), creds.database),
        display=_redact(parts),
        # parquet through ADBC's binary COPY: dlt's CSV COPY marks nullable columns FORCE_NULL, which loads ''
        # as NULL, and its default would render INSERT statements
        run_options={"loader_file_format": "parquet"},
        lock=postgres_advisory_lock(dsn),
        describe=comments.POSTGRES,
        index=indexes.postgres,
        explain=functools.partial(_postgres_lost, _redact(parts)),
    )


def _query(parts: SplitResult, known: dict[str, str], example: str) -> dict[str, str]:
    """The URI's query options over their defaults; an unknown option is a LearnsyncError."""
    given = _params(parts)
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise LearnsyncError(f"Unknown option(s) {', '.join(unknown)} in {example}: use {', '.join(known)}.")
    return {**known, **{k: unquote(v) for k, v in given.items()}}


def _flag(options: dict[str, str], name: str) -> bool:
    value = options[name].lower()
    if value not in ("true", "false"):
        raise LearnsyncError(f"The destination option {name} must be true or false, not {options[name]!r}.")
    return value == "true"


def _bigquery_tables(partition: bool, cluster: bool) -> Callable[["DltSource", "TableSpec"], None]:
    """Partition event tables by their UTC day, cluster entity tables and child tables by key: the merge's
    DELETE then touches only the re-read days' partitions and the reloaded keys' blocks. BigQuery sets both
    only when it creates a table, so a change applies to tables created (or fully refreshed) after it."""
    from dlt.destinations.adapters import bigquery_adapter
    from dlt.destinations.impl.bigquery.bigquery_adapter import TABLE_DESCRIPTION_HINT

    from learnsync.pipelines.catalog import Strategy
    from learnsync.pipelines.children import child_description, child_name, parent_column
    from learnsync.pipelines.types import DAY, column_hint

    def adapt(source: "DltSource", spec: "TableSpec") -> None:
        parent = source.resources[spec.dest_name]
        # dlt writes column descriptions into BigQuery's DDL itself, table descriptions from its adapter's table
        # hint; set directly: `bigquery_adapter(table_description=...)` replaces a resource's column hints
        # (a child table would lose its merge key and hard-delete flag)
        if spec.description:
            parent.apply_hints(additional_table_hints={TABLE_DESCRIPTION_HINT: spec.description})
        for col in spec.json_columns:
            source.resources[child_name(spec, col)].apply_hints(
                additional_table_hints={TABLE_DESCRIPTION_HINT: child_description(spec, col)})
        for hint in map(column_hint, spec.columns):
            # BigQuery's NUMERIC holds at most 29 integer digits, but dlt 1.31 writes NUMERIC(37,1) for a
            # NUMBER(37,1), which BigQuery refuses; any precision over 38 makes dlt write BIGNUMERIC(39,s) instead
            if hint["data_type"] == "decimal" and 0 < hint["scale"] <= 9 and hint["precision"] - hint["scale"] > 29:
                parent.apply_hints(columns={hint["name"]: {**hint, "precision": 39}})
        if partition and spec.strategy is Strategy.EVENTS:
            bigquery_adapter(parent, partition=DAY)
        if cluster and spec.strategy is Strategy.MERGE and spec.primary_key:
            # BigQuery clusters by at most 4 columns
            bigquery_adapter(parent, cluster=list(spec.key_dest)[:4])
            for name, resource in source.resources.items():
                if name != spec.dest_name:
                    bigquery_adapter(resource, cluster=[parent_column(spec)])

    return adapt


def _postgres_lost(display: str, exc: BaseException) -> Optional[str]:
    """A session the server ended (restart, pg_terminate_backend, network) as what it means for the data."""
    gone = ("server closed the connection", "terminating connection", "connection already closed")
    if not any(s in str(exc) for s in gone):
        return None
    return (f"The Postgres destination {display} closed the connection during the load (server restarted or"
            " session terminated): the window in flight was rolled back, the windows before stay committed with"
            " their cursor. Run again; the next run finishes that window first.")


def _bigquery(parts: SplitResult, dataset: str, options: dict[str, Any]) -> Target:
    """`bigquery://PROJECT[/DATASET]?location=EU`. Credentials the dlt way: `credentials=/path/sa.json` in the URI,
    `[destination.bigquery.credentials]` in dlt secrets, GOOGLE_APPLICATION_CREDENTIALS, or application default."""
    import importlib.util

    example = "bigquery://PROJECT[/DATASET]?location=EU"
    project, uri_dataset = parts.netloc, unquote(parts.path.strip("/"))
    if not project or "@" in project or "/" in uri_dataset:
        raise LearnsyncError(f"The BigQuery URI needs a project and at most a dataset: {example}.")
    opts = _query(parts, {"location": "US", "partition": "true", "cluster": "true", "credentials": ""}, example)
    partition, cluster = _flag(opts, "partition"), _flag(opts, "cluster")
    if importlib.util.find_spec("google.cloud.bigquery") is None:
        raise LearnsyncError("The bigquery destination needs extra packages: pip install 'learnsync[bigquery]'.")
    import dlt

    credentials: Optional[str] = None
    if opts["credentials"]:
        # a service-account key file; only its path is ever shown
        key = Path(opts["credentials"]).expanduser()
        try:
            credentials = key.read_text()
        except OSError as exc:
            raise LearnsyncError(f"Cannot read the BigQuery service-account file {key}: {exc.strerror}.") from None
    dest = dlt.destinations.bigquery(credentials=credentials, location=opts["location"], project_id=project, **options)
    # dlt resolves credentials only when loading, and then explains a miss in 30 lines; say it in one, up front
    found = dest.configuration(None, accept_partial=True).credentials
    if found is None or not found.is_resolved():
        raise LearnsyncError(
            "No Google credentials for BigQuery: add ?credentials=/path/service-account.json to the URI, set"
            " GOOGLE_APPLICATION_CREDENTIALS, put them under [destination.bigquery.credentials] in .dlt/secrets.toml,"
            " or run `gcloud auth application-default login`."
        )
    return Target(
        destination=dest,
        identity="bigquery-" + _identity(project, uri_dataset),
        display=parts.geturl(),
        # parquet load jobs: typed columns, NaN and decimals loaded exactly as the Arrow batches hold them
        run_options={"loader_file_format": "parquet"},
        dataset=uri_dataset or None,
        adapt=_bigquery_tables(partition, cluster),
        datasets=_bigquery_datasets,
    )


def _filesystem(parts: SplitResult, dataset: str, options: dict[str, Any]) -> Target:
    """`file:///abs/folder` (or `file:///./rel`): Parquet files in `<folder>/<dataset>/<table>/`.

    dlt writes plain files by appending or replacing them; merging or deleting rows needs a table format
    (delta/iceberg, with the `upsert` strategy only, not the delete-insert this sync relies on), so every sync
    rewrites each table whole from the share: always complete and correct, never incremental."""
    import dlt

    raw = _local_path(parts)
    if not raw.strip("/"):
        raise LearnsyncError("The file URI needs a folder: file:///path/to/folder (or file:///./folder).")
    folder = Path(raw).expanduser().resolve()
    if not folder.parent.is_dir():
        raise LearnsyncError(f"The parent of the destination folder does not exist: {folder.parent}. Create it first.")
    return Target(
        destination=dlt.destinations.filesystem(bucket_url=folder.as_uri()),
        identity="file-" + _identity(str(folder)),
        display=folder.as_uri(),
        run_options={"loader_file_format": "parquet"},
        lock=file_lock(folder / ".learnsync-locks"),
        merges=False,
        datasets=None,
    )


REGISTRY: dict[str, Factory] = {
    "bigquery": _bigquery,
    "duckdb": _duckdb,
    "file": _filesystem,
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
        options = {"replace_strategy": SWAP, "staging_dataset_name_layout": "%s" + STAGING + staging_suffix}
        return factory(parts, dataset, options)
    except ImportError as exc:
        raise LearnsyncError(
            f"The {parts.scheme} destination needs an extra package ({exc.name}): pip install 'learnsync[{parts.scheme}]'."
        ) from None


# --------------------------------------------------------------------------------------------------------------
# dbt: the profile output that builds the learnsync dbt package in the same destination


DbtOutput = Callable[[SplitResult, str], dict[str, Any]]
"""(parsed URI, schema the models are built in) -> a dbt profile output, without any secret."""

DBT_PASSWORD_ENV = "DESTINATION__POSTGRES__CREDENTIALS__PASSWORD"
"""dbt reads the Postgres password from the variable learnsync reads it from (never from the URI: the written
profiles.yml holds no secret)."""


def _duckdb_dbt(parts: SplitResult, schema: str) -> dict[str, Any]:
    raw = _local_path(parts)
    if not raw or raw.endswith("/"):
        raise LearnsyncError("The DuckDB URI needs a file: duckdb:///path/to/file.duckdb (or duckdb:///./file.duckdb).")
    # absolute, so the project works from any folder; dbt-duckdb names the catalog after the file, and the
    # package's sources are qualified with it, so a file named like a dataset needs no alias here
    return {"type": "duckdb", "path": str(Path(raw).expanduser().resolve()), "schema": schema, "threads": 4}


def _postgres_dbt(parts: SplitResult, schema: str) -> dict[str, Any]:
    if not parts.hostname or not parts.path.strip("/"):
        raise LearnsyncError("The Postgres URI needs a host and a database: postgresql://user@host:port/db.")
    try:
        port = parts.port or 5432
    except ValueError:
        raise LearnsyncError("The Postgres URI has an invalid port: postgresql://user@host:port/db.") from None
    return {
        "type": "postgres", "host": parts.hostname, "port": port,
        "user": unquote(parts.username or os.environ.get("PGUSER", "postgres")),
        "password": "{{ env_var('" + DBT_PASSWORD_ENV + "', '') }}",
        "dbname": unquote(parts.path.strip("/")), "schema": schema, "threads": 4,
    }


def _bigquery_dbt(parts: SplitResult, schema: str) -> dict[str, Any]:
    example = "bigquery://PROJECT[/DATASET]?location=EU"
    if not parts.netloc or "@" in parts.netloc:
        raise LearnsyncError(f"The BigQuery URI needs a project: {example}.")
    opts = _query(parts, {"location": "US", "partition": "true", "cluster": "true", "credentials": ""}, example)
    output: dict[str, Any] = {"type": "bigquery", "project": parts.netloc, "dataset": schema,
                              "location": opts["location"], "threads": 4}
    if opts["credentials"]:
        # the key file's path, as the URI names it; its content stays in the file
        output.update(method="service-account", keyfile=str(Path(opts["credentials"]).expanduser().resolve()))
    else:
        output["method"] = "oauth"  # application default credentials, as learnsync's own fallback
    return output


DBT_OUTPUTS: dict[str, DbtOutput] = {
    "bigquery": _bigquery_dbt,
    "duckdb": _duckdb_dbt,
    "postgresql": _postgres_dbt,
    "postgres": _postgres_dbt,
}


def dbt_output(uri: Optional[str], schema: str) -> dict[str, Any]:
    """The dbt profile output (type, connection, target `schema`) for a learnsync destination URI.

    Returns a dict ready for profiles.yml: no password (Postgres reads `DBT_PASSWORD_ENV`), a service-account
    key by path only. Raises LearnsyncError for a malformed URI or a destination dbt cannot build in (file://).
    """
    uri = uri or DEFAULT_URI
    parts = urlsplit(uri)
    scheme = parts.scheme.split("+")[0]
    if scheme not in DBT_OUTPUTS:
        known = ", ".join(f"{s}://" for s in DBT_OUTPUTS)
        raise LearnsyncError(f"dbt cannot build in the destination {parts.scheme or uri!r}: use one of {known}.")
    return DBT_OUTPUTS[scheme](parts, schema)
