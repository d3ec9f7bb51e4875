"""One run's context, as dlt's `Pipeline` carries one pipeline's: the destination and its dataset (resolved once),
the names of the run's dlt pipelines, and how the run locks, reports, stops and records. Every table of a run
shares it; a function of the run takes it instead of a dozen loose parameters."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, ContextManager, Optional

import dlt

from learnsync.catalog.tables import TableSpec
from learnsync.defaults import LOCK_TIMEOUT
from learnsync.destinations import Target
from learnsync.pipelines.sync.dataset import table_lock
from learnsync.pipelines.sync.pipeline import make_pipeline, table_pipeline_name
from learnsync.pipelines.sync.results import StopCheck, TableResult


@dataclass(frozen=True)
class RunContext:
    """What every table of one run shares. Build it with `RunContext.of`, which resolves the dataset."""

    target: Target
    dataset: str
    """The dataset the run loads into, resolved once (`Target.dataset_name`: the URI's dataset, else --dataset);
    its locks, run history and messages name it."""
    profile: str
    """The profile's name (`Profile.value`), part of the pipeline names."""
    given_dataset: str
    """--dataset as given. The pipeline names are made from it, not from `dataset`: dlt keys a table's stored
    state (its cursor) by its pipeline name, so the names stay what learnsync always made them."""
    pipelines_dir: Optional[str] = None
    """Where dlt keeps the pipelines' local working state (None: dlt's default)."""
    lock_timeout: Optional[float] = LOCK_TIMEOUT
    """Seconds to wait for a table's lock; None: the caller holds the locks (a backfill lane, a reconcile), and
    the run writes no comments, indexes or run history of its own."""
    run_id: Optional[str] = None
    """With the table's own lock, each table run is appended to the dataset's run history under this id."""
    on_window: Optional[Callable[[TableResult], None]] = None
    """Called with the table's result so far after every committed window."""
    should_stop: Optional[StopCheck] = None
    reset_history: bool = False
    """With a full refresh: drop the versions of tables kept with history and start their history again."""
    pipeline_suffix: str = ""
    """Added to every pipeline name of the run (a backfill lane's `__bf<n>`: its own local state)."""

    @classmethod
    def of(cls, target: Target, dataset: str, profile: str, **options: Any) -> RunContext:
        """The context of a run into `dataset` (--dataset) of `target`, with `options` (the fields after
        `given_dataset`); the dataset is resolved here, once."""
        return cls(target, target.dataset_name(dataset), profile, dataset, **options)

    def lane(self, lane: int) -> RunContext:
        """The context of backfill lane `lane` of this run (whose target has the lane's own staging dataset): the
        lane's own local pipeline state, under the tables' locks its caller holds."""
        return replace(self, pipeline_suffix=f"__bf{lane}", lock_timeout=None)

    def pipeline_name(self, spec: TableSpec) -> str:
        """The name of a table's dlt pipeline in this run (`pipeline.table_pipeline_name`)."""
        return table_pipeline_name(self.profile, spec, self.target, self.given_dataset, self.pipeline_suffix)

    def pipeline(self, spec: TableSpec) -> dlt.Pipeline:
        """The dlt pipeline of a table in this run (`pipeline.make_pipeline`)."""
        return make_pipeline(self.profile, spec, self.target, self.given_dataset, self.pipelines_dir,
                             self.pipeline_suffix)

    def lock(self, spec: TableSpec) -> ContextManager[None]:
        """The table's lock in the run's dataset (a no-op when the caller holds it: `lock_timeout` None)."""
        return table_lock(self.target, self.dataset, spec.name, self.lock_timeout)

    def stopping(self) -> bool:
        """Whether the run was asked to stop (`should_stop`)."""
        return self.should_stop is not None and self.should_stop()
