"""Alerts: the Prefect automations of `deploy/automations.yaml`, created through the Prefect API with a notification
block of the operator's (Slack webhook, email, custom webhook, ...).

Two automations: a learnsync flow run that ends Failed or Crashed (reactive, on Prefect's own
`prefect.flow-run.*` events, its message naming the failed tables), and a dataset whose `learnsync.run.synced`
event (`flows.tasks.emit_run_event`, sent when a sync flow run completed) has been absent for `within` seconds
(proactive, one bucket per dataset: one notification per incident, naming the dataset's tables).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from learnsync.errors import LearnsyncError

AUTOMATIONS_FILE = Path(__file__).resolve().parents[1] / "deploy" / "automations.yaml"
"""deploy/automations.yaml: the checkout's (flows/ is `learnsync.flows`), or the installed package data
`learnsync/deploy/automations.yaml` (pyproject.toml ships it), both one folder above this module."""
MIN_WITHIN_SECONDS = 10.0
"""Prefect refuses a proactive trigger with a shorter window (`EventTrigger.within`)."""


def load(path: Path, block_document_id: str, stale_hours: Optional[float] = None) -> list[Any]:
    """The automations of a YAML file in Prefect's format (`automations: [...]`), each notification action pointed at
    `block_document_id`, and, with `stale_hours`, each proactive trigger's window set to it (hours, at least
    MIN_WITHIN_SECONDS). Raises LearnsyncError for a missing or invalid file or a window out of bounds."""
    import yaml
    from prefect.events.schemas.automations import AutomationCore
    from pydantic import ValidationError

    if stale_hours is not None and stale_hours * 3600 < MIN_WITHIN_SECONDS:
        raise LearnsyncError(f"--stale-hours must be at least {MIN_WITHIN_SECONDS / 3600:.4f} ({MIN_WITHIN_SECONDS:.0f} s),"
                             f" not {stale_hours:g}.")
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise LearnsyncError(f"Cannot read the automations file {path}: {exc.strerror}; pass --file.") from None
    except yaml.YAMLError as exc:
        raise LearnsyncError(f"The automations file {path} is not valid YAML: {' '.join(str(exc).split())}") from None
    items = doc.get("automations") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not items:
        raise LearnsyncError(f"The automations file {path} has no `automations:` list.")
    out = []
    for item in items:
        for action in item.get("actions") or []:
            if action.get("type") == "send-notification":
                action["block_document_id"] = block_document_id
        trigger = item.get("trigger") or {}
        if stale_hours is not None and str(trigger.get("posture", "")).lower() == "proactive":
            trigger["within"] = stale_hours * 3600
        for action in item.get("actions") or []:
            for key in ("subject", "body"):
                if isinstance(action.get(key), str):
                    action[key] = action[key].replace(STALE_WINDOW, hours_text(float(trigger.get("within") or 0)))
        try:
            out.append(AutomationCore.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise LearnsyncError(f"Automation {item.get('name')!r} in {path} is invalid at {where}: {first['msg']}.") from None
    return out


STALE_WINDOW = "STALE_WINDOW"
"""Placeholder in a notification's subject and body: the trigger's window in words ("26 hours")."""


def hours_text(seconds: float) -> str:
    """A window in words: `26 hours`, `1 hour`, `30 minutes`, `1.5 hours`."""
    if seconds < 60:
        return f"{seconds:g} second{'s' if seconds != 1 else ''}"
    if seconds < 3600:
        minutes = round(seconds / 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = seconds / 3600
    return f"{hours:g} hour{'s' if hours != 1 else ''}"


def schedule_warnings(client: Any, within_seconds: float) -> list[str]:
    """A line for each learnsync-sync deployment whose schedule runs less often than `within_seconds`: with such a
    window, the not-synced automation fires between two runs that were on time."""
    import asyncio

    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.server.schemas.schedules import CronSchedule

    out = []
    deployments = client.read_deployments(flow_filter=FlowFilter(name=FlowFilterName(any_=["learnsync-sync"])))
    for deployment in deployments:
        for schedule in getattr(deployment, "schedules", None) or []:
            cron = getattr(schedule.schedule, "cron", None)
            interval = getattr(schedule.schedule, "interval", None)
            if cron:
                first, second = asyncio.run(CronSchedule(cron=cron, timezone=schedule.schedule.timezone).get_dates(n=2))
                every = (second - first).total_seconds()
            elif interval is not None:
                every = interval.total_seconds()
            else:
                continue
            if within_seconds < every:
                out.append(f"--stale-hours ({hours_text(within_seconds)}) is shorter than the schedule of deployment"
                           f" {deployment.name} (every {hours_text(every)}): every run would be reported as late;"
                           f" pass at least {every / 3600:g}.")
    return out


def notification_block_id(client: Any, name: str) -> str:
    """The id of the notification block `name` (`<block type slug>/<name>`, or a name only one notification block
    has). Raises LearnsyncError naming the notification blocks there are when it is not found or not one."""
    slug, _, block = name.rpartition("/")
    documents = [d for d in client.read_block_documents(include_secrets=False) if not d.is_anonymous]

    def notifies(d: Any) -> bool:
        return "notify" in (getattr(d.block_schema, "capabilities", None) or [])

    def label(d: Any) -> str:
        return f"{d.block_type.slug}/{d.name}" if d.block_type else str(d.name)

    found = [d for d in documents if d.name == block and (not slug or (d.block_type and d.block_type.slug == slug))]
    usable = [d for d in found if notifies(d)]
    if len(usable) == 1:
        return str(usable[0].id)
    known = ", ".join(sorted(label(d) for d in documents if notifies(d))) or "none"
    if len(usable) > 1:
        raise LearnsyncError(f"Several notification blocks are named {name!r} ({', '.join(map(label, usable))}):"
                             " name one as <block type>/<name>.")
    if found:
        raise LearnsyncError(f"Block {name!r} cannot send notifications; notification blocks: {known}.")
    raise LearnsyncError(f"No notification block named {name!r} in Prefect; notification blocks: {known}. Create one"
                         " (e.g. a CustomWebhookNotificationBlock, a SlackWebhook) in the UI or with Python first.")


def apply(block: str, path: Optional[Path] = None, stale_hours: Optional[float] = None
          ) -> tuple[list[tuple[str, str, bool]], list[str]]:
    """Create the file's automations in the Prefect API of this environment (PREFECT_API_URL), notifying through the
    notification block `block`; automations of the same names are replaced, so applying twice changes nothing.
    Returns ([(name, id, whether it replaced one)], warnings: `schedule_warnings` of the not-synced window).
    Raises LearnsyncError for a missing block, an invalid file, no PREFECT_API_URL or an unreachable API."""
    from prefect.client.orchestration import get_client

    from learnsync.flows.server import configured_api_url

    if configured_api_url() is None:  # else Prefect starts a throwaway server of its own and writes there
        raise LearnsyncError("No Prefect API to create the automations in: set PREFECT_API_URL to your Prefect"
                             " server (e.g. http://127.0.0.1:4200/api, from `prefect server start`).")
    path = path or AUTOMATIONS_FILE
    try:
        with get_client(sync_client=True) as client:
            automations = load(path, notification_block_id(client, block), stale_hours)
            created = []
            for automation in automations:
                old = client.read_automations_by_name(automation.name)
                for existing in old:
                    client.delete_automation(existing.id)
                created.append((automation.name, str(client.create_automation(automation)), bool(old)))
            windows = [a.trigger.within.total_seconds() for a in automations
                       if str(getattr(a.trigger, "posture", "")).lower().endswith("proactive")]
            warnings = [w for within in windows for w in schedule_warnings(client, within)]
    except LearnsyncError:
        raise
    except Exception as exc:  # noqa: BLE001 - httpx/Prefect raise their own types for an API that cannot be reached
        raise LearnsyncError(f"Cannot create the automations through the Prefect API: {' '.join(str(exc).split())[:300]}"
                             " (is PREFECT_API_URL set to a running server?)") from None
    return created, warnings
