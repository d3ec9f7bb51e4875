"""BigQuery: `bigquery://PROJECT[/DATASET]?location=EU&partition=true&cluster=true&credentials=/path/sa.json`.

One module for what a BigQuery destination is: the dlt destination (parquet load jobs), the table adapter
(partitioning, clustering, table descriptions), listing datasets, the reconcile dialect and the dbt profile
output. BigQuery has no advisory locks: two runs of one table are kept apart by a lock file on the machine that
runs them (the default `Target.lock`).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, cast
from urllib.parse import SplitResult, unquote

from learnsync.destinations.base import Kind, Target, flag, identity, query_options
from learnsync.errors import LearnsyncError
from learnsync.catalog.fingerprint import Dialect

if TYPE_CHECKING:
    from dlt.extract.source import DltSource

    from learnsync.catalog.tables import TableSpec

DIALECT = Dialect(
    "bigquery",
    text=lambda e: f"CAST({e} AS STRING)",
    days=lambda e: f"UNIX_DATE({e})",
    micros=lambda e: f"UNIX_MICROS(TIMESTAMP({e}))",
    md5=lambda e: f"TO_HEX(MD5({e}))",
    # SUM(INT64) overflows past 8 rows of 60 bits: NUMERIC holds 29 integer digits
    hex_prefix=lambda e: f"CAST(CAST(CONCAT('0x0', {e}) AS INT64) AS NUMERIC)",
    # integer operands; the parentheses: the local-bigquery emulator reads DIV(a - b, c) as a - DIV(b, c)
    int_div=lambda a, b: f"DIV(({a}), {b})",
    pairs=lambda rows: "UNNEST([" + ", ".join(f"STRUCT('{a}' AS h1, '{b}' AS h2)" for a, b in rows) + "]) AS m",
)
EXAMPLE = "bigquery://PROJECT[/DATASET]?location=EU"
OPTIONS = {"location": "US", "partition": "true", "cluster": "true", "credentials": ""}


def target(parts: SplitResult, dataset: str, options: dict[str, Any]) -> Target:
    """The BigQuery project (and dataset, which wins over --dataset) of the URI. Credentials the dlt way:
    `credentials=/path/sa.json` in the URI, `[destination.bigquery.credentials]` in dlt secrets,
    GOOGLE_APPLICATION_CREDENTIALS, or application default; none found is a LearnsyncError up front."""
    project, uri_dataset = parts.netloc, unquote(parts.path.strip("/"))
    if not project or "@" in project or "/" in uri_dataset:
        raise LearnsyncError(f"The BigQuery URI needs a project and at most a dataset: {EXAMPLE}.")
    opts = query_options(parts, OPTIONS, EXAMPLE)
    partition, cluster = flag(opts, "partition"), flag(opts, "cluster")
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
    # dlt parses a service-account key's JSON text into GcpServiceAccountCredentials (its native form), but the
    # factory's annotation names only the parsed type
    dest = dlt.destinations.bigquery(credentials=cast(Any, credentials), location=opts["location"], project_id=project,
                                     **options)
    # dlt resolves credentials only when loading, and then explains a miss in 30 lines; say it in one, up front
    found = dest.configuration(dest.spec(), accept_partial=True).credentials
    if found is None or not found.is_resolved():
        raise LearnsyncError(
            "No Google credentials for BigQuery: add ?credentials=/path/service-account.json to the URI, set"
            " GOOGLE_APPLICATION_CREDENTIALS, put them under [destination.bigquery.credentials] in .dlt/secrets.toml,"
            " or run `gcloud auth application-default login`."
        )
    return Target(
        destination=dest,
        identity="bigquery-" + identity(project, uri_dataset),
        display=parts.geturl(),
        # parquet load jobs: typed columns, NaN and decimals loaded exactly as the Arrow batches hold them
        run_options={"loader_file_format": "parquet"},
        dataset=uri_dataset or None,
        adapt=adapter(partition, cluster),
        datasets=_datasets,
        dialect=DIALECT,
        present=_present,
    )


def adapter(partition: bool, cluster: bool) -> Callable[["DltSource", "TableSpec"], None]:
    """Partition event tables by their UTC day, cluster entity tables and child tables by key: the merge's
    DELETE then touches only the re-read days' partitions and the reloaded keys' blocks. BigQuery sets both
    only when it creates a table, so a change applies to tables created (or fully refreshed) after it."""
    from dlt.destinations.adapters import bigquery_adapter
    from dlt.destinations.impl.bigquery.bigquery_adapter import TABLE_DESCRIPTION_HINT

    from learnsync.catalog.tables import Strategy
    from learnsync.catalog.layout import DAY, child_description, child_name, column_hint, dlt_columns, parent_column

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
                parent.apply_hints(columns=dlt_columns({hint["name"]: {**hint, "precision": 39}}))
        if partition and spec.strategy is Strategy.EVENTS:
            bigquery_adapter(parent, partition=DAY)
        if cluster and spec.strategy is Strategy.MERGE and spec.primary_key:
            # BigQuery clusters by at most 4 columns
            bigquery_adapter(parent, cluster=list(spec.key_dest)[:4])
            for name, resource in source.resources.items():
                if name != spec.dest_name:
                    bigquery_adapter(resource, cluster=[parent_column(spec)])

    return adapt


def _datasets(client: Any) -> list[str]:
    """BigQuery's information_schema is per region or dataset: list the project's datasets through its API."""
    bq = client.native_connection
    return [ds.dataset_id for ds in bq.list_datasets()
            if any(t.table_id == "_dlt_version" for t in bq.list_tables(ds.dataset_id))]


def _present(job: Any, names: Sequence[str]) -> set[str]:
    """Through the tables API, one `tables.get` per table: dlt's `get_storage_tables` is a query job of
    INFORMATION_SCHEMA.COLUMNS (billed, and seconds of queueing on BigQuery; 0.2 s on the tests' emulator)."""
    from google.api_core.exceptions import NotFound

    client = job.sql_client
    found = set()
    for name in names:
        try:  # as dlt's own `get_storage_tables` does for a hidden dataset
            client.native_connection.get_table(client.make_qualified_table_name(name, quote=False),
                                               timeout=job.config.http_timeout)
        except NotFound:
            continue
        found.add(name)
    return found


def dbt_output(parts: SplitResult, schema: str) -> dict[str, Any]:
    """The dbt-bigquery profile output: a service-account key by path (never its content), else oauth
    (application default credentials, as learnsync's own fallback)."""
    if not parts.netloc or "@" in parts.netloc:
        raise LearnsyncError(f"The BigQuery URI needs a project: {EXAMPLE}.")
    opts = query_options(parts, OPTIONS, EXAMPLE)
    output: dict[str, Any] = {"type": "bigquery", "project": parts.netloc, "dataset": schema,
                              "location": opts["location"], "threads": 4}
    if opts["credentials"]:
        output.update(method="service-account", keyfile=str(Path(opts["credentials"]).expanduser().resolve()))
    else:
        output["method"] = "oauth"
    return output


KIND = Kind(("bigquery",), target, dbt_output)
