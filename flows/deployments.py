"""`learnsync serve`: the three deployments served from one process, for teams without a worker setup."""

from __future__ import annotations

import os
from typing import Any, Optional


def serve(
    profile: str,
    source_uri: Optional[str],
    destination: str,
    dataset: str,
    cron: str = "0 * * * *",
    timezone: str = "UTC",
) -> None:
    """Serve `learnsync-sync` and `learnsync-reconcile` (daily) on schedules, and `learnsync-backfill` /
    `learnsync-full-refresh` on demand."""
    # dlt's and learnsync's own logs belong in the flow run logs
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "dlt,learnsync")
    # dlt formats the first handler of its logger, which is then Prefect's API handler: keep records plain
    os.environ.setdefault("RUNTIME__LOG_FORMAT", "{message}")
    from prefect import serve as prefect_serve

    from flows.sync import backfill_flow, full_refresh_flow, reconcile_flow, sync_flow

    common: dict[str, Any] = dict(profile=profile, source_uri=source_uri, destination=destination, dataset=dataset)
    prefect_serve(
        sync_flow.to_deployment(
            name="learnsync-sync", cron=cron, parameters=common,
            description="Incremental sync of every shared table into the warehouse.",
        ),
        backfill_flow.to_deployment(
            name="learnsync-backfill", parameters=common,
            description="Re-read [start, end) of tables; never moves the stored cursor.",
        ),
        full_refresh_flow.to_deployment(
            name="learnsync-full-refresh", parameters=common,
            description="Reload tables from scratch; readers never see them empty or half-loaded.",
        ),
        reconcile_flow.to_deployment(
            name="learnsync-reconcile", cron="30 3 * * *", parameters=common,
            description="Daily: make the warehouse equal to the share where cursors cannot see the change.",
        ),
    )
