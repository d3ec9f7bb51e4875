"""What a destination dataset holds as a whole (its learnsync tables, its staging dataset), and the locks of a
dataset and of one table in it."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from typing import ContextManager, Optional

import dlt
from dlt.common.destination.exceptions import DestinationUndefinedEntity

from learnsync.defaults import LOCK_TIMEOUT
from learnsync.destinations import Target, is_staging
from learnsync.destinations.base import pipeline_name
from learnsync.errors import LearnsyncError
from learnsync.pipelines.sync.failures import unreachable
from learnsync.pipelines.sync.pipeline import SOURCE_PREFIX

log = logging.getLogger("learnsync.sync")


def table_lock(target: Target, dataset: str, table: str, timeout: Optional[float]) -> ContextManager[None]:
    """The lock of one table in one destination dataset (a no-op when timeout is None)."""
    if timeout is None:
        return nullcontext()
    # the dataset the rows go to, not --dataset: two runs into one URI-named dataset wait for each other
    return target.lock(f"table {table} of dataset {target.dataset_name(dataset)} in {target.display}", timeout)


def dataset_lock_key(target: Target, dataset: str) -> str:
    """The lock held while a run reads or writes what a dataset holds as a whole (its list of learnsync tables,
    the run history), named as a user reads it in a waiting line: "another learnsync run is syncing dataset X"."""
    return f"dataset {target.dataset_name(dataset)} in {target.display}"


def catalog_pipeline(target: Target, dataset: str, pipelines_dir: Optional[str]) -> dlt.Pipeline:
    """A pipeline that only reads the dataset (dlt's SQL client needs one)."""
    return dlt.pipeline(pipeline_name=pipeline_name("any", "catalog", target, dataset),
                        destination=target.destination, dataset_name=target.dataset_name(dataset),
                        pipelines_dir=pipelines_dir)


def catalog_lock(target: Target, dataset: str, timeout: Optional[float]) -> ContextManager[None]:
    if timeout is None:
        return nullcontext()
    return target.lock(dataset_lock_key(target, dataset), timeout)


def synced_tables(
    target: Target, dataset: str, pipelines_dir: Optional[str] = None, lock_timeout: Optional[float] = LOCK_TIMEOUT,
) -> list[str]:
    """Tables learnsync loaded into the dataset before (each has its own dlt schema, `learnsync_<table>`); [] for a
    dataset nothing was loaded into. One connection to the destination, under the dataset catalog's lock (a DuckDB
    file takes one process at a time: this waits for another's table run, up to `lock_timeout` s, instead of
    failing). A destination that cannot be reached (down, refusing connections or the login) raises
    DestinationUnreachable with the first cause."""
    pipeline = catalog_pipeline(target, dataset, pipelines_dir)
    try:
        with catalog_lock(target, dataset, lock_timeout), pipeline.sql_client() as client:
            try:
                rows = client.execute_sql(
                    f"SELECT DISTINCT schema_name FROM {client.make_qualified_table_name('_dlt_version')}")
            except DestinationUndefinedEntity:  # a dataset nothing was loaded into has no _dlt_version table
                return []
    except DestinationUndefinedEntity:
        return []
    except LearnsyncError:
        raise
    except Exception as exc:  # noqa: BLE001 - drivers raise their own types for a refused connection or login
        raise unreachable(target, exc) from None
    return sorted(r[0][len(SOURCE_PREFIX):] for r in rows or [] if r[0].startswith(SOURCE_PREFIX))


def drop_staging(target: Target, dataset: str, pipelines_dir: Optional[str] = None) -> None:
    """Drop the staging dataset `target` loads through (a backfill lane's, once the lane is done); a failure only
    warns (it holds no data the destination needs: each load truncates it after committing)."""
    try:
        with catalog_pipeline(target, dataset, pipelines_dir).sql_client() as client, \
                client.with_staging_dataset() as staging:
            if staging.has_dataset():
                staging.drop_dataset()
    except Exception as exc:  # noqa: BLE001 - cleanup: the data is committed either way
        log.warning("Could not drop the staging dataset of %s: %s", target.display, " ".join(str(exc).split())[:300])


def learnsync_datasets(target: Target, pipelines_dir: Optional[str] = None) -> list[str]:
    """The datasets of the destination holding tables learnsync loaded, sorted ([] where the destination cannot
    list its datasets). Raises DestinationUnreachable like `synced_tables`."""
    if target.datasets is None:
        return []
    try:
        with catalog_lock(target, "*", LOCK_TIMEOUT), \
                catalog_pipeline(target, "learnsync_catalog", pipelines_dir).sql_client() as client:
            candidates = target.datasets(client)
    except LearnsyncError:
        raise
    except Exception as exc:  # noqa: BLE001 - as in synced_tables
        raise unreachable(target, exc) from None
    return sorted(d for d in candidates if not is_staging(d) and synced_tables(target, d, pipelines_dir))


def require_synced(target: Target, dataset: str, pipelines_dir: Optional[str] = None) -> list[str]:
    """`synced_tables` of a dataset that must hold some: none is a LearnsyncError naming the datasets that do (a
    mistyped --dataset must not pass as a dataset with nothing to report). A destination that is not there (a
    DuckDB file that does not exist) is that error too, and nothing is created."""
    if not target.exists():
        raise LearnsyncError(f"{target.display} does not exist: check --dest-uri (LEARNSYNC_DEST_URI), or run"
                             " learnsync sync first.")
    tables = synced_tables(target, dataset, pipelines_dir)
    if tables:
        return tables
    others = learnsync_datasets(target, pipelines_dir)
    where = f"datasets that do: {', '.join(others)}" if others else "no dataset there does"
    raise LearnsyncError(f"Dataset {target.dataset_name(dataset)!r} in {target.display} holds no learnsync tables"
                         f" ({where}); check --dataset (LEARNSYNC_DATASET), or run learnsync sync first.")


def new_dataset_line(target: Target, dataset: str) -> str:
    """The line that says a sync is the first into a dataset (a mistyped --dataset shows here)."""
    return (f"Dataset {target.dataset_name(dataset)} in {target.display} holds no learnsync tables yet: this first sync"
            " creates it and loads each table it syncs in full.")
