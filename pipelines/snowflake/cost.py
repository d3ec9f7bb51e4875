"""What learnsync costs in the customer's Snowflake account: a query tag on every session, and per-table counts of
the queries sent and the time Snowflake took to answer them.

Snowflake bills warehouse time, and every query can resume a suspended warehouse (billed for at least 60 s). The
`QUERY_TAG` session parameter lands in `SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY.QUERY_TAG`, so an account admin can
attribute learnsync's queries (and their credits) to the tool, the profile, the table and the run.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Optional

TOOL = "learnsync"
"""The `tool` of every tag: `QUERY_TAG:tool` in QUERY_HISTORY finds all of learnsync's queries."""
TAG_LIMIT = 2000
"""Snowflake's limit on QUERY_TAG, in characters."""
STATEMENT_CHARS = 2000
"""Characters kept of each statement's text (`QueryStats.statements`): what `reconcile -v` prints."""


def new_run_id() -> str:
    """A run id for a CLI run (a Prefect flow run uses its own id): 32 hex digits."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class QueryTag:
    """The JSON learnsync puts in Snowflake's `QUERY_TAG` session parameter: tool, version, profile, table, mode and
    run id. `table` and `mode` are None for the queries that are not about one table (discovery)."""

    profile: str
    run_id: str
    mode: Optional[str] = None
    table: Optional[str] = None

    def text(self) -> str:
        """The tag as compact JSON (keys always present, in a fixed order; at most TAG_LIMIT characters: a longer
        table name is cut)."""
        from learnsync import __version__

        doc = {"tool": TOOL, "version": __version__, "profile": self.profile, "table": self.table,
               "mode": self.mode, "run_id": self.run_id}
        text = json.dumps(doc, separators=(",", ":"))
        if len(text) > TAG_LIMIT and self.table:
            return replace(self, table=self.table[: len(self.table) - (len(text) - TAG_LIMIT)]).text()
        return text

    def for_table(self, table: str, mode: str) -> "QueryTag":
        """The tag of one table's run."""
        return replace(self, table=table, mode=mode)


@dataclass
class QueryStats:
    """Queries a reader sent to Snowflake and the seconds Snowflake took to answer them.

    `seconds` is wall-clock time inside `cursor.execute()`: from sending the query-request until the connector has
    Snowflake's answer that the query finished (with the first result chunk), so it holds the network round trip,
    queueing and warehouse resume besides execution; it does not hold downloading the rest of the result chunks.
    Thread-safe (a table's next window is read in a background thread)."""

    queries: int = 0
    seconds: float = 0.0
    query_ids: list[str] = field(default_factory=list, repr=False)
    statements: list[str] = field(default_factory=list, repr=False)
    """The text of each query sent (its first STATEMENT_CHARS characters; values are bound, never in it)."""
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @contextmanager
    def measure(self, cursor: Any) -> Iterator[None]:
        """Count one query run on `cursor` inside the block and add the block's duration; the query id
        (`cursor.sfqid`) is kept when the connector has one (also for a query that failed)."""
        started = time.monotonic()
        try:
            yield
        finally:
            took = time.monotonic() - started
            with self._guard:
                self.queries += 1
                self.seconds += took
                if getattr(cursor, "sfqid", None):
                    self.query_ids.append(cursor.sfqid)
                self.statements.append(str(getattr(cursor, "query", None) or "")[:STATEMENT_CHARS])

    def snapshot(self) -> tuple[int, float]:
        """(queries, seconds) so far, for a difference around one table's run."""
        with self._guard:
            return self.queries, self.seconds
