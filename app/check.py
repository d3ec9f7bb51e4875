"""`learnsync check`: before a first sync, verify one thing per line that the source and destination are usable.

Checks, in order (a check whose prerequisite failed is reported as not run): the secrets and settings resolve,
the source login (and which method), the role sees the share's tables, the warehouse runs a query, (information)
the account's session parameters that differ from what learnsync pins, the destination accepts writes (a scratch table created and dropped in the dataset). No line holds a secret: every
failure is one of learnsync's scrubbed messages.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

from learnsync.errors import LearnsyncError


@dataclass
class Check:
    """One line of `learnsync check`."""

    name: str
    ok: Optional[bool]  # None: not run (a prerequisite failed), or information
    detail: str
    info: bool = False
    """Information, not a check (neither passes nor fails)."""

    def line(self) -> str:
        mark = "info" if self.info else "ok  " if self.ok else "FAIL" if self.ok is False else "skip"
        return f"{mark}  {self.name:<18} {self.detail}"


def _one_line(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, LearnsyncError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:400]


def run_checks(source_uri: Optional[str], profile: Any, target: Any, dataset: str) -> Iterator[Check]:
    """Yield the checks' results one by one (so the CLI prints each as it finishes). A malformed source URI raises
    LearnsyncError before anything is checked (a usage error, like in every command)."""
    from learnsync.catalog.tables import expected_tables
    from learnsync.pipelines.snowflake.connection import connect, parse_source_uri
    from learnsync.pipelines.snowflake.cost import QueryTag, new_run_id
    from learnsync.pipelines.snowflake.reader import ShareReader
    from learnsync.pipelines.sync import plan

    source = parse_source_uri(source_uri)
    missing = source.missing()
    try:
        method = source.method
    except LearnsyncError as exc:
        missing = missing or str(exc)
        method = None
    yield Check("secrets", missing is None, missing or f"the {method.value if method else '?'} login's secret"
                " resolves (value not shown)")

    reader: Optional[ShareReader] = None
    conn = None
    if missing is None:
        try:
            tag = QueryTag(profile.value, new_run_id(), "check")
            conn = connect(source, tag)
            reader = ShareReader(conn, *source.share(), tag=tag)
            yield Check("source login", True, f"{source.redacted()} as {source.username} ({method.value})")  # type: ignore[union-attr]
        except LearnsyncError as exc:
            yield Check("source login", False, _one_line(exc))
    else:
        yield Check("source login", None, "not tried: a secret is missing")
    try:
        yield from _share_checks(reader, profile, source, expected_tables, plan)
        if reader is not None:
            yield _account_settings(reader)
    finally:
        if conn is not None:
            conn.close()
    yield _destination_check(target, dataset)


def _share_checks(reader: Any, profile: Any, source: Any, expected: Callable, plan: Callable) -> Iterator[Check]:
    if reader is None:
        yield Check("share tables", None, "not checked: no login")
        yield Check("warehouse", None, "not checked: no login")
        return
    try:
        specs = plan(reader, profile)  # discovery, the table settings and the salt a hashed column needs
    except LearnsyncError as exc:
        yield Check("share tables", False, _one_line(exc))
        yield Check("warehouse", None, "not checked: no table to read")
        return
    lacking = sorted(set(expected(profile)) - {s.name for s in specs})
    note = f"; the share lacks {len(lacking)} the {profile.value} model documents: {', '.join(lacking)}" if lacking else ""
    yield Check("share tables", bool(specs),
                f"{len(specs)} table(s) of profile {profile.value} visible in {source.database}.{source.schema}{note}")
    if not specs:
        yield Check("warehouse", None, "not checked: no table to read")
        return
    first = specs[0]
    try:
        # reading a row needs a running warehouse (counts and constants are answered without one)
        reader.query(f"SELECT * FROM {reader.fqn(first.name)} LIMIT 1")
        where = f"warehouse {source.warehouse}" if source.warehouse else "the user's default warehouse"
        yield Check("warehouse", True, f"{where} read a row of {first.name}")
    except Exception as exc:  # noqa: BLE001 - the connector's ProgrammingError names the missing warehouse
        hint = "" if source.warehouse else " (no ?warehouse= in the source URI)"
        yield Check("warehouse", False, f"{_one_line(exc)}{hint}")


def _account_settings(reader: Any) -> Check:
    """The session parameters whose account (or user) value differs from what learnsync pins at login
    (`settings.SESSION_PARAMETERS`): information, since the pins apply to every learnsync session. The pins are
    unset on this connection first (its last use), so SHOW PARAMETERS answers the account's values."""
    from learnsync.settings import SESSION_PARAMETERS

    pinned = {k: v for k, v in SESSION_PARAMETERS.items() if k != "CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED"}
    try:
        reader.query(f"ALTER SESSION UNSET {', '.join(pinned)}")
        shown = {str(row[0]).upper(): str(row[1]) for row in reader.query("SHOW PARAMETERS IN SESSION")}
    except Exception as exc:  # noqa: BLE001 - information only: a refused SHOW never fails the check
        return Check("account settings", None, f"not read: {_one_line(exc)}", info=True)
    differ = [f"{k}={shown[k]}" for k, v in pinned.items() if k in shown and shown[k].upper() != _text(v).upper()]
    if not differ:
        return Check("account settings", None, f"the account keeps the {len(pinned)} parameters learnsync pins"
                     " at their defaults", info=True)
    return Check("account settings", None, f"the account sets {', '.join(differ)}; learnsync pins them at login"
                 " (see the Snowflake account settings in the docs), so they change no run", info=True)


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _destination_check(target: Any, dataset: str) -> Check:
    """Create and drop a scratch table in the dataset (the dataset itself is created when missing and dropped again
    when the check created it)."""
    import dlt

    from learnsync.pipelines import runs as run_history
    from learnsync.destinations.base import pipeline_name
    from learnsync.pipelines.sync import dataset_lock_key

    if not run_history.supported(target):
        return Check("destination", None, f"{target.display}: not checked (no SQL; a sync writes files there)")
    name = f"_learnsync_check_{uuid.uuid4().hex[:8]}"
    integer = run_history.TYPES[target.dialect.name][1]
    try:
        with target.lock(dataset_lock_key(target, dataset), 60), \
                dlt.pipeline(pipeline_name=pipeline_name("any", "check", target, dataset),
                             destination=target.destination,
                             dataset_name=target.dataset_name(dataset)).sql_client() as client:
            created = not client.has_dataset()
            if created:
                client.create_dataset()
            table = client.make_qualified_table_name(name)
            client.execute_sql(f"CREATE TABLE {table} (id {integer})")
            client.execute_sql(f"DROP TABLE {table}")
            if created:
                client.drop_dataset()
    except Exception as exc:  # noqa: BLE001 - drivers raise their own types for a refused login or write
        return Check("destination", False, f"{target.display} dataset {dataset}: {_one_line(exc)}")
    return Check("destination", True, f"{target.display} dataset {dataset}: created and dropped a scratch table")
