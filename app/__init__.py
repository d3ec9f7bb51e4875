"""learnsync: sync LMS learning-data shares from Snowflake into your own warehouse.

The Python API, what the command line does from Python:

    import learnsync

    results = learnsync.sync("snowflake://USER@ACCOUNT/DATABASE/SCHEMA?warehouse=WH",
                             "duckdb:///learning.duckdb", profile="360learning")
    assert all(r.ok for r in results)

`plan`, `sync`, `reconcile` and `backfill` (`learnsync.api`), the settings types (`learnsync.settings`), what they
return and the one error they raise. Each name is imported when first used (PEP 562): `import learnsync` and
`learnsync --help` load neither dlt nor Prefect.
"""

import importlib
import os
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Arrow's default allocator in the pyarrow wheels is mimalloc, which keeps freed windows mapped: a 200k-row sync into
# DuckDB peaked at 534-555 MB with it, 411 MB with the system allocator and 431 MB with jemalloc (measured, issue 13;
# pyarrow reads ARROW_DEFAULT_MEMORY_POOL when its default pool is first used). A choice already made wins.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

# name -> the module that defines it
_EXPORTS = {
    "plan": "learnsync.api",
    "sync": "learnsync.api",
    "reconcile": "learnsync.api",
    "backfill": "learnsync.api",
    "ShareCredentials": "learnsync.settings",
    "TableSettings": "learnsync.settings",
    "FlowSettings": "learnsync.settings",
    "HistorySettings": "learnsync.settings",
    "Profile": "learnsync.catalog.tables",
    "TableSpec": "learnsync.catalog.tables",
    "TableResult": "learnsync.pipelines.sync",
    "ReconcileResult": "learnsync.pipelines.reconcile",
    "LearnsyncError": "learnsync.errors",
}

__all__ = [
    "FlowSettings", "HistorySettings", "LearnsyncError", "Profile", "ReconcileResult", "ShareCredentials",
    "TableResult", "TableSettings", "TableSpec", "backfill", "plan", "reconcile", "sync",
]

if TYPE_CHECKING:  # what type checkers and editors read; at run time, __getattr__ imports on first use
    from learnsync.api import backfill, plan, reconcile, sync
    from learnsync.errors import LearnsyncError
    from learnsync.catalog.tables import Profile, TableSpec
    from learnsync.pipelines.reconcile import ReconcileResult
    from learnsync.pipelines.sync import TableResult
    from learnsync.settings import FlowSettings, HistorySettings, ShareCredentials, TableSettings


def __getattr__(name: str) -> Any:
    """A name of the API, imported from its module when first asked for (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'learnsync' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
