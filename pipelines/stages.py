"""Where a table run's time goes: seconds per stage, summed over the run's windows.

The stages, in the order a window passes them:

- `snowflake_wait`: the load waiting for the reader (the read runs one window ahead in its own thread, so this is
  the part of the Snowflake read that is not hidden behind the load); `snowflake_read` is the reader thread's own
  time in the connector (the query and the download of its result chunks), overlapped or not.
- `arrow`: casting each batch to the table's Arrow schema (`source.arrow.prepare_batch`).
- `children`: unnesting ARRAY/VARIANT columns into child-table rows (`source.children.unnest`).
- `extract`: dlt's extract step as a whole (it pulls the rows, so it contains the three above, and writes the
  parquet files); `normalize`: dlt's normalize step; `load`: dlt's load step as a whole.
- Inside `load`, from dlt's per-job metrics (`LoadJobMetrics`, dlt >= 1.0): `copy` (jobs that load files),
  `merge` (the SQL jobs that merge or swap staging into the final tables) and `state` (dlt's own tables:
  `_dlt_pipeline_state`, `_dlt_version`). Jobs of one package may run in parallel, so these sum job time, not
  wall time.
- `lookback`: comparing the lookback range's hourly fingerprints with the destination (`pipelines.sync`).
"""

from __future__ import annotations

import time
from collections import Counter
from contextlib import contextmanager
from typing import Any, Iterator

ORDER = ("snowflake_wait", "snowflake_read", "arrow", "children", "extract", "normalize", "load", "copy", "merge",
         "state", "lookback", "check")


class Stages(Counter):  # type: ignore[type-arg]
    """Seconds per stage name (a Counter of floats); thread-safe enough for its use: each stage is added to by
    one thread."""

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Add the block's wall time (s) to `stage`."""
        started = time.perf_counter()
        try:
            yield
        finally:
            # typeshed's Counter holds ints; this one holds seconds (Counter adds floats the same way)
            self[stage] += time.perf_counter() - started  # pyright: ignore[reportArgumentType]

    def add_trace(self, trace: Any) -> None:
        """Add the steps of a dlt `PipelineTrace` (extract, normalize, load) and the load step's jobs (copy,
        merge, state) by dlt's own timestamps; a step without them adds nothing."""
        for step in getattr(trace, "steps", None) or []:
            if step.step in ("extract", "normalize", "load") and step.started_at and step.finished_at:
                self[step.step] += (step.finished_at - step.started_at).total_seconds()
            info = step.step_info if step.step == "load" else None
            for metrics in (getattr(info, "metrics", None) or {}).values():
                for package in metrics:
                    for job in package.get("job_metrics", {}).values():
                        if job.started_at and job.finished_at:
                            self[_job_stage(job)] += (job.finished_at - job.started_at).total_seconds()

    def line(self) -> str:
        """`stage 1.23s, ...` in ORDER (stages never entered left out)."""
        return ", ".join(f"{name} {self[name]:.2f}s" for name in ORDER if name in self)


def _job_stage(job: Any) -> str:
    if job.table_name.startswith("_dlt_"):
        return "state"
    return "merge" if str(job.file_path).endswith(".sql") else "copy"
