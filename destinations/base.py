"""What the engine sees of a destination (`Target`), and what destination modules share: URI helpers, the staging
layout, SQL `COMMENT ON` and the index types.

A destination module (`duckdb`, `postgres`, `bigquery`, `filesystem`) holds everything one kind of destination is:
its factory from a parsed URI, its lock, its comment writer, its reconcile dialect, its dbt profile output. The
package's `resolve` picks the module by URI scheme; callers never branch on the scheme.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, NamedTuple, Optional, Sequence, cast
from urllib.parse import SplitResult, unquote

from learnsync.destinations.locks import Locker, file_lock
from learnsync.errors import LearnsyncError
from learnsync.catalog.fingerprint import Dialect

if TYPE_CHECKING:
    from dlt.common.destination.client import JobClientBase
    from dlt.destinations.job_client_impl import SqlJobClientBase
    from dlt.extract.source import DltSource

    from learnsync.catalog.tables import TableSpec

STAGING = "_staging"
"""dlt stages merges and swapped-in replaces in `<dataset>_staging` (a backfill lane of a table:
`<dataset>_staging_bf<n>_<hash of the table>`, dropped when the lane is done)."""
SWAP = "insert-from-staging"
"""Replace loads into the staging dataset, then swaps rows in one transaction: readers never see a table
empty or half-loaded during a full refresh."""


def is_staging(dataset: str) -> bool:
    """Whether a dataset name is one of learnsync's staging datasets."""
    return re.fullmatch(rf".+{STAGING}(_bf\d+_[0-9a-f]{{6}})?", dataset) is not None


def sql_job(job: JobClientBase) -> SqlJobClientBase:
    """A pipeline's `destination_client()` as what it is on a SQL destination (duckdb, postgres, bigquery): dlt types
    it as the base JobClientBase of every destination, which has no get_storage_table(s) or sql_client."""
    return cast("SqlJobClientBase", job)


# -- comments --------------------------------------------------------------------------------------------------

Key = tuple[str, Optional[str]]
"""(table, None) for a table comment, (table, column) for a column comment."""
ReadComments = Callable[[Any], dict[Key, str]]
"""SQL client -> the current comment of every table and column of its dataset ("" when none)."""
Describer = Callable[[Any, Mapping[Key, str]], int]
"""(SQL client, wanted descriptions) -> statements run. A `Target.describe` for one kind of destination."""


def comment_on(read: ReadComments) -> Describer:
    """A describer for destinations with SQL `COMMENT ON TABLE/COLUMN` (Postgres, DuckDB, Redshift...).

    dlt 1.31 writes `description` hints itself only on some destinations (Snowflake and Databricks COMMENT
    clauses, BigQuery column OPTIONS); elsewhere learnsync writes them after a load. Each run reads the comments
    already there and writes only what differs, in one transaction: nothing in steady state, and a run killed
    before commenting is healed by the next one."""

    def describe(client: Any, wanted: Mapping[Key, str]) -> int:
        current = read(client)
        statements = []
        # only objects that exist: a child table whose arrays were always empty was never created
        for (table, column), text in sorted(wanted.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            if (table, column) not in current or current[(table, column)] == text:
                continue
            name = client.make_qualified_table_name(table)
            target = f"TABLE {name}" if column is None else f"COLUMN {name}.{client.escape_column_name(column)}"
            statements.append(f"COMMENT ON {target} IS {client.capabilities.escape_literal(text)}")
        return run_in_transaction(client, statements)

    return describe


def run_in_transaction(client: Any, statements: list[str]) -> int:
    """Run `statements` in one transaction of dlt's SQL client (none: nothing is sent); returns how many ran."""
    if statements:
        with client.begin_transaction():
            for sql in statements:
                client.execute_sql(sql)
    return len(statements)


# -- keys and indexes ------------------------------------------------------------------------------------------


class Index(NamedTuple):
    """An index a table should have: its leading columns, and whether it is the primary key."""

    table: str
    columns: tuple[str, ...]
    primary: bool


Indexer = Callable[[Any, Sequence[Index]], int]
"""(SQL client, wanted indexes) -> statements run. A `Target.index` for one kind of destination."""


# -- the target ------------------------------------------------------------------------------------------------


def information_schema_datasets(client: Any) -> list[str]:
    """The datasets holding dlt's `_dlt_version` table, through the SQL standard's information_schema (DuckDB,
    Postgres and most SQL destinations)."""
    rows = client.execute_sql(
        "SELECT DISTINCT table_schema FROM information_schema.tables WHERE table_name = '_dlt_version'")
    return [r[0] for r in rows or []]


def storage_tables(job: Any, names: Sequence[str]) -> set[str]:
    """Which of the tables `names` (as named in the destination) a SQL job client's dataset holds: dlt's
    `get_storage_tables`, one query of the destination's information_schema."""
    return {name for name, columns in job.get_storage_tables(names) if columns}


@dataclass(frozen=True)
class Target:
    """A resolved destination: what to hand dlt, and how to name it without secrets."""

    destination: Any  # a dlt Destination instance
    identity: str  # stable and secret-free: part of pipeline names
    display: str  # the URI with the password masked
    run_options: dict[str, Any] = field(default_factory=dict)  # extra `pipeline.run` kwargs
    lock: Locker = field(default_factory=lambda: file_lock(Path.home() / ".learnsync" / "locks"))
    max_parallel_loads: Optional[int] = None  # None: any number of tables may load at once
    load_workers: Optional[int] = None
    """dlt load workers (threads, each on its own connection) per table; None: dlt's default (20)."""
    describe: Optional[Describer] = None
    """Writes table/column descriptions as comments after a load; None where dlt writes them itself or cannot."""
    index: Optional[Indexer] = None
    """Adds the primary keys and child-table join indexes dlt does not create, after a load; None: leave them."""
    dataset: Optional[str] = None  # the dataset the URI names; it wins over --dataset (`dataset_name`)
    adapt: Callable[["DltSource", "TableSpec"], None] = lambda source, spec: None
    """Shapes one table's dlt source for this destination (e.g. BigQuery partitioning), before it runs."""
    merges: bool = True
    """False: the destination cannot merge or delete rows, so every sync reloads its tables whole."""
    explain: Callable[[BaseException], Optional[str]] = lambda exc: None  # a clearer line for a known failure
    datasets: Optional[Callable[[Any], list[str]]] = information_schema_datasets
    """Given an open dlt SQL client, the datasets holding dlt's `_dlt_version` table; None: cannot list them."""
    dialect: Optional[Dialect] = None
    """How the destination's SQL spells reconcile's expressions; None: reconcile is not supported there."""
    present: Callable[[Any, Sequence[str]], set[str]] = storage_tables
    """Given a pipeline's SQL job client, which of these tables (as named in the destination) its dataset holds."""
    exists: Callable[[], bool] = lambda: True
    """Whether the destination is there to be read, asked without touching it (a DuckDB file: whether the file
    exists), so that commands that only read never create it."""

    def dataset_name(self, given: str) -> str:
        """The dataset this destination loads into: the one its URI names, else `given` (--dataset). The one
        place it is decided; a run resolves it once (`pipelines.sync.RunContext`)."""
        return self.dataset or given


Factory = Callable[[SplitResult, str, dict[str, Any]], Target]
"""(parsed URI, dataset, dlt destination options) -> Target."""
DbtOutput = Callable[[SplitResult, str], dict[str, Any]]
"""(parsed URI, schema the models are built in) -> a dbt profile output, without any secret."""


@dataclass(frozen=True)
class Kind:
    """One kind of destination, as the registry knows it: its URI schemes, its factory and its dbt output."""

    schemes: tuple[str, ...]
    target: Factory
    dbt_output: Optional[DbtOutput] = None


# -- URI helpers -----------------------------------------------------------------------------------------------


def redact(parts: SplitResult) -> str:
    """The URI with its password masked."""
    if parts.password is None:
        return parts.geturl()
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


def identity(*pieces: str) -> str:
    """A short stable digest of secret-free pieces (part of pipeline names)."""
    return hashlib.sha1("|".join(pieces).encode()).hexdigest()[:8]


def params(parts: SplitResult) -> dict[str, str]:
    """The URI's query string as it is."""
    return dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)


def local_path(parts: SplitResult) -> str:
    """The path of a local URI: x:///./rel, x:///~/rel and x:rel are relative, x:///abs is absolute."""
    raw = unquote(parts.netloc + parts.path)
    return raw[1:] if raw.startswith(("/./", "/../", "/~")) else raw


def query_options(parts: SplitResult, known: dict[str, str], example: str) -> dict[str, str]:
    """The URI's query options over their defaults; an unknown option is a LearnsyncError."""
    given = params(parts)
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise LearnsyncError(f"Unknown option(s) {', '.join(unknown)} in {example}: use {', '.join(known)}.")
    return {**known, **{k: unquote(v) for k, v in given.items()}}


def flag(options: dict[str, str], name: str) -> bool:
    """A true/false URI option; anything else is a LearnsyncError."""
    value = options[name].lower()
    if value not in ("true", "false"):
        raise LearnsyncError(f"The destination option {name} must be true or false, not {options[name]!r}.")
    return value == "true"


def pipeline_name(profile: str, table: str, target: Target, dataset: str) -> str:
    """The dlt pipeline name of one table synced into a destination dataset: `learnsync_<profile>_<table>_<target
    identity>_<dataset>`, lower-case, [a-z0-9_] only. Deterministic, so a fresh machine finds the same state in
    the destination; one per table (`profile` "any" for pipelines that only read the dataset)."""
    raw = f"learnsync_{profile}_{table}_{target.identity}_{dataset}".lower()
    return re.sub(r"[^a-z0-9_]+", "_", raw)
