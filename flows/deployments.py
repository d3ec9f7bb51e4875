"""Deployments: their names, and `learnsync serve`, the four deployments served from one process for teams
without a worker setup."""

from __future__ import annotations

import os
from contextlib import nullcontext
from typing import Any, Callable, Optional

from learnsync.errors import LearnsyncError

DEFAULT_CRON = "0 * * * *"
"""The sync's schedule (UTC): hourly, on the hour."""


def deployment_name(profile: str, dataset: str) -> str:
    """The name of every learnsync deployment of one vendor profile into one dataset, e.g. `360learning-learning`
    (the deployment `learnsync-sync/360learning-learning`). Two vendors, or one vendor into two datasets, so deploy
    side by side instead of replacing each other; `deploy/prefect.yaml` names them the same way."""
    return f"{profile.lower()}-{dataset}"


def check_cron(cron: str) -> None:
    """Raise LearnsyncError (one line) unless `cron` is a schedule Prefect takes (its own validator: five fields,
    or six with seconds)."""
    from prefect._internal.schemas.validators import validate_cron_string

    try:
        validate_cron_string(cron)
    except ValueError as exc:
        raise LearnsyncError(f"--cron {cron!r} is not a cron schedule ({exc}); e.g. '0 * * * *' runs hourly, on"
                             " the hour (UTC).") from None


def deployments(
    profile: str,
    source_uri: Optional[str],
    destination: str,
    dataset: str,
    cron: str = DEFAULT_CRON,
    timezone: str = "UTC",
) -> list[Any]:
    """The four runner deployments of one profile and dataset: `learnsync-sync` (on `cron`, in `timezone`),
    `learnsync-reconcile` (daily, 03:30) and `learnsync-backfill` / `learnsync-full-refresh` (on demand), each named
    `deployment_name(profile, dataset)`."""
    from prefect.schedules import Cron

    from learnsync.flows.sync import backfill_flow, full_refresh_flow, reconcile_flow, sync_flow

    name = deployment_name(profile, dataset)
    common: dict[str, Any] = dict(profile=profile, source_uri=source_uri, destination=destination, dataset=dataset)
    return [
        sync_flow.to_deployment(
            name=name, schedule=Cron(cron, timezone=timezone), parameters=common,
            description="Incremental sync of every shared table into the warehouse.",
        ),
        backfill_flow.to_deployment(
            name=name, parameters=common,
            description="Re-read [start, end) of tables; never moves the stored cursor.",
        ),
        full_refresh_flow.to_deployment(
            name=name, parameters=common,
            description="Reload tables from scratch; readers never see them empty or half-loaded.",
        ),
        reconcile_flow.to_deployment(
            name=name, schedule=Cron("30 3 * * *", timezone=timezone), parameters=common,
            description="Daily: make the warehouse equal to the share where cursors cannot see the change.",
        ),
    ]


def serve(
    profile: str,
    source_uri: Optional[str],
    destination: str,
    dataset: str,
    cron: str = DEFAULT_CRON,
    timezone: str = "UTC",
    echo: Callable[[str], None] = print,
) -> None:
    """Serve `deployments(...)` from this process until it is stopped. Without a Prefect API (PREFECT_API_URL),
    a Prefect server runs beside it for as long (`flows.server.local_server`), so the schedules run; `echo` says
    where it is."""
    # Prefect's SDK sends usage events to prefect.io from `import prefect` on (a first import in a terminal, flow
    # runs, deployments); the server learnsync starts sends none either (`flows.server`): nothing leaves the machine
    os.environ.setdefault("DO_NOT_TRACK", "1")
    check_cron(cron)  # before a server starts: a mistyped schedule is the user's, one line
    # dlt's and learnsync's own logs belong in the flow run logs
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "dlt,learnsync")
    # dlt formats the first handler of its logger, which is then Prefect's API handler: keep records plain
    os.environ.setdefault("RUNTIME__LOG_FORMAT", "{message}")
    from prefect import serve as prefect_serve

    from learnsync.flows.server import configured_api_url, local_server

    with nullcontext() if configured_api_url() else local_server(echo):
        prefect_serve(*deployments(profile, source_uri, destination, dataset, cron, timezone))
