"""One table's dlt pipeline: its name, its settings, its source and schema name, and the state it keeps."""

from __future__ import annotations

import weakref
from typing import Any, Callable, Optional

import dlt
from dlt.common.normalizers.naming.snake_case import NamingConvention

from learnsync.destinations import Target
from learnsync.destinations.base import pipeline_name
from learnsync.catalog.tables import TableSpec
from learnsync.pipelines.source.resource import cursor_column


SOURCE_PREFIX = "learnsync_"
"""Start of every table's dlt source and schema name (the schemas stored in a dataset are found by it)."""


def source_name(spec: TableSpec) -> str:
    """Each table has its own dlt source and schema, so tables never share mutable state."""
    return f"{SOURCE_PREFIX}{spec.dest_name}"


def resource_state(state: Any, spec: TableSpec) -> dict[str, Any]:
    """The dlt resource state of the table's parent resource in a pipeline state (`pipeline.state`, or the one
    `pipeline.managed_state()` yields, whose changes are kept); empty when it has none yet."""
    try:
        found = state.get("sources", {})[source_name(spec)]["resources"][spec.dest_name]
    except (KeyError, TypeError):
        return {}
    return found if isinstance(found, dict) else {}


def stored_cursor(pipeline: dlt.Pipeline, spec: TableSpec) -> Any:
    """The cursor position dlt keeps in the pipeline state (for reports only)."""
    path = cursor_column(spec)
    if path is None:
        return None
    try:  # a missing key means no cursor
        return resource_state(pipeline.state, spec)["incremental"][path]["last_value"]
    except (KeyError, TypeError):
        return None


def table_pipeline_name(profile: str, spec: TableSpec, target: Target, dataset: str, suffix: str = "") -> str:
    """The dlt pipeline name of one table: `pipeline_name` of (profile, table, destination, --dataset as given),
    + `suffix` (a backfill lane's). dlt keys the table's stored state and cursor by it: never change it."""
    return pipeline_name(profile, spec.name, target, dataset) + suffix


def make_pipeline(
    profile: str, spec: TableSpec, target: Target, dataset: str, pipelines_dir: Optional[str], suffix: str = ""
) -> dlt.Pipeline:
    """The dlt pipeline of one table run: named by `pipeline_name` (+ `suffix` for a backfill lane), its
    state in `pipelines_dir` (None: dlt's default) and in the destination, with learnsync's dlt settings scoped to
    it by name (never global). Never raises for a destination that is down: dlt connects only when it loads."""
    name = table_pipeline_name(profile, spec, target, dataset, suffix)
    # every dlt setting learnsync makes is scoped to this pipeline by its name (dlt looks up `<pipeline>.<section>`
    # first), never global: a user's own pipelines in the same process keep their configuration.
    # Load files stay on this machine; gzipping them was half the time of a Postgres load (measured). A user's
    # `<pipeline>.data_writer.disable_compression` wins.
    if dlt.config.get(f"{name}.data_writer.disable_compression") is None:
        dlt.config[f"{name}.data_writer.disable_compression"] = True
    if target.load_workers is not None:  # a connection budget: dlt's default is 20 threads, each a connection
        dlt.config[f"{name}.load.workers"] = target.load_workers
    # a load job that fails for a lasting reason (a TerminalException) aborts its package and restores the state from before it (dlt 1.31
    # `auto_abort_on_terminal_error`), so the next run reads the window again from the share instead of retrying
    # the same package forever. Not `dlt.config.values(...)`: it restores the whole config document on exit,
    # which undoes what parallel table runs set meanwhile.
    dlt.config[f"{name}.load.auto_abort_on_terminal_error"] = True
    # dlt empties a staging table only before its next load: a full refresh would leave a second copy of the table
    # in <dataset>_staging. dlt's own load option truncates the staging tables right after each load committed
    dlt.config[f"{name}.load.truncate_staging_dataset"] = True
    return dlt.pipeline(
        pipeline_name=name,
        destination=target.destination,
        dataset_name=target.dataset_name(dataset),
        pipelines_dir=pipelines_dir,
    )


def destination_name(pipeline: dlt.Pipeline, name: str) -> str:
    """The name dlt gives the (already normalized) table or column `name` in the pipeline's destination: the same,
    or shortened with a hash tag past the destination's identifier limit (Postgres: 63 bytes)."""
    return destination_namer(pipeline)(name)


_NAMERS: "weakref.WeakKeyDictionary[Any, Callable[[str], str]]" = weakref.WeakKeyDictionary()
"""`destination_namer` by dlt destination object: dlt resolves the destination's whole configuration each time its
capabilities are read (about 5 ms; a table run asked 20 times, a tenth of an incremental run's CPU)."""


def destination_namer(pipeline: dlt.Pipeline) -> Callable[[str], str]:
    """`destination_name` of one pipeline as a function of the name (the destination's capabilities read once per
    destination object)."""
    destination = pipeline.destination
    namer = _NAMERS.get(destination)
    if namer is None:
        caps = destination.capabilities()
        # keeps `__` of child tables
        namer = _NAMERS[destination] = NamingConvention(max_length=caps.max_identifier_length).normalize_path
    return namer


def rows_normalized(pipeline: dlt.Pipeline, spec: TableSpec) -> int:
    """Parent rows the last run normalized (0 when it only loaded a package normalized earlier)."""
    info = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
    return info.row_counts.get(spec.dest_name, 0) if info else 0
