"""Alerts: the Prefect automations of `deploy/automations.yaml`, created through the Prefect API with a notification
block of the operator's (Slack webhook, email, custom webhook, ...).

Two automations: a learnsync flow run that ends Failed or Crashed (reactive, on Prefect's own
`prefect.flow-run.*` events), and a table whose `learnsync.table.synced` event (`flows.tasks.emit_table_event`)
has been absent for `within` seconds (proactive, one bucket per table resource).
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
        try:
            out.append(AutomationCore.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise LearnsyncError(f"Automation {item.get('name')!r} in {path} is invalid at {where}: {first['msg']}.") from None
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


def apply(block: str, path: Optional[Path] = None, stale_hours: Optional[float] = None) -> list[tuple[str, str]]:
    """Create the file's automations in the Prefect API of this environment (PREFECT_API_URL), notifying through the
    notification block `block`; automations of the same names are replaced, so applying twice changes nothing.
    Returns [(name, id)]. Raises LearnsyncError for a missing block, an invalid file or an unreachable API."""
    from prefect.client.orchestration import get_client

    path = path or AUTOMATIONS_FILE
    try:
        with get_client(sync_client=True) as client:
            automations = load(path, notification_block_id(client, block), stale_hours)
            created = []
            for automation in automations:
                for old in client.read_automations_by_name(automation.name):
                    client.delete_automation(old.id)
                created.append((automation.name, str(client.create_automation(automation))))
    except LearnsyncError:
        raise
    except Exception as exc:  # noqa: BLE001 - httpx/Prefect raise their own types for an API that cannot be reached
        raise LearnsyncError(f"Cannot create the automations through the Prefect API: {' '.join(str(exc).split())[:300]}"
                             " (is PREFECT_API_URL set to a running server?)") from None
    return created
