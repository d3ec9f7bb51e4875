"""Run the sync: one dlt pipeline per table, one pipeline run per window, state kept in the destination.

The public API of the engine (as dlt's `sql_database/__init__.py` is its source's): `plan` the tables, `sync` them
(or one with `sync_table`), and read what a dataset holds. Each concern has its module:

- `plan`: the share discovered, the tables resolved with their settings
- `context`: `RunContext`, what every table of a run shares (destination, dataset resolved once, pipeline names)
- `run`: a run over tables (`sync`); `table`: one table's run, window by window
- `appended`: a first load into an empty table appended, then checked once for keys loaded twice
- `idle`: the check for tables that need not run; `recovery`: a load a killed run left behind
- `schema`: the stored schema against this run's (history, drift, key text); `ddl`: comments, indexes, days removed
- `pipeline`: a table's dlt pipeline, its names and stored cursor; `dataset`: a dataset's tables, staging and locks
- `results`: what a run did and its run history row; `failures`: failures as one line
"""

from learnsync.pipelines.sync.context import RunContext
from learnsync.pipelines.sync.dataset import (
    dataset_lock_key, drop_staging, learnsync_datasets, new_dataset_line, require_synced, synced_tables, table_lock,
)
from learnsync.pipelines.sync.ddl import remove_days, write_comments, write_indexes
from learnsync.pipelines.sync.failures import SET_ASIDE, SET_ASIDE_AFTER, reason
from learnsync.pipelines.sync.idle import Checked, recorded_cursors, unchanged_tables
from learnsync.pipelines.sync.pipeline import (
    SOURCE_PREFIX, destination_name, destination_namer, make_pipeline, source_name, stored_cursor,
    table_pipeline_name,
)
from learnsync.pipelines.sync.plan import plan, refuse_unfit_profile
from learnsync.pipelines.sync.recovery import resume
from learnsync.pipelines.sync.results import Mode, StopCheck, TableResult
from learnsync.pipelines.sync.run import sync
from learnsync.pipelines.sync.schema import versioned_disposition
from learnsync.pipelines.sync.table import sync_table

__all__ = [
    "SET_ASIDE", "SET_ASIDE_AFTER", "SOURCE_PREFIX", "Checked", "Mode", "RunContext", "StopCheck", "TableResult",
    "dataset_lock_key", "destination_name", "destination_namer", "drop_staging", "learnsync_datasets",
    "make_pipeline", "new_dataset_line", "plan", "reason", "recorded_cursors", "refuse_unfit_profile",
    "remove_days", "require_synced", "resume", "source_name", "stored_cursor", "sync", "sync_table",
    "synced_tables", "table_lock", "table_pipeline_name", "unchanged_tables", "versioned_disposition",
    "write_comments", "write_indexes",
]
