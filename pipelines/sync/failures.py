"""Failures as one line: a failed dlt step's root cause, a refused load, an unreachable destination, and how many
runs in a row failed the same way (a left-behind load is set aside after `SET_ASIDE_AFTER`)."""

from __future__ import annotations

import re
from typing import Callable, Optional

from dlt.common.exceptions import TerminalException
from dlt.pipeline.exceptions import PipelineStepFailed

from learnsync.destinations import Target
from learnsync.errors import DestinationUnreachable, LearnsyncError
from learnsync.catalog.tables import TableSpec
from learnsync.pipelines.snowflake.connection import source_lost


SET_ASIDE = "set_aside"
"""The run history's outcome of a run that set a load aside (and then went on, `TableResult.set_aside`)."""


SET_ASIDE_AFTER = 3
"""Runs in a row a left-behind load may fail the same way before it is set aside."""


Failures = Callable[[str], int]
"""A failure's one line -> how many runs in a row before this one failed with that line."""


def failure_counter(target: Target, dataset: str, spec: TableSpec) -> Failures:
    """`resume`'s count of earlier runs in a row that failed with a given line (the run history; 0 without one)."""
    from learnsync.pipelines import runs as run_history

    def count(error: str) -> int:
        if not dataset or not run_history.supported(target):
            return 0
        try:
            runs = run_history.read(target, dataset, spec.name, limit=SET_ASIDE_AFTER)
        except Exception:  # noqa: BLE001 - no history to read: the load stays, as without this check
            return 0
        n = 0
        for run in runs:
            if run_history.kind(run.mode) != "sync" or run.outcome != "failed" or _shape(run.error) != _shape(error):
                break
            n += 1
        return n

    return count


def _shape(error: Optional[str]) -> str:
    """An error line with its numbers masked: the same failure names another retry's job file (`.4.parquet`,
    `.9.parquet`) or another tuple on every run."""
    return re.sub(r"\d+", "#", error or "")


def error_line(exc: PipelineStepFailed, root: BaseException, target: Optional[Target]) -> str:
    """A failed step's error as the run history keeps it (`TableResult.error`, one line)."""
    from learnsync.pipelines import runs as run_history

    text = (target.explain(root) if target is not None else None) or source_lost(root) or failed_line(exc, root)
    return run_history.one_line(text) or ""


def root_cause(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None and not isinstance(exc, LearnsyncError):
        exc = exc.__cause__
    return exc


def failed_line(exc: PipelineStepFailed, root: BaseException) -> str:
    """A failed step as one line; a load the destination refused for good says what happened to its rows."""
    if exc.step == "load" and isinstance(root, TerminalException) and not isinstance(root, LearnsyncError):
        # dlt's job failure (LoadClientJobFailed) carries a traceback in its message: say the destination's own
        # words, from the client exception or else the traceback's last line
        cause = getattr(root, "client_exception", None)
        lines = [ln for ln in str(getattr(root, "failed_message", "") or root).splitlines() if ln.strip()]
        text = " ".join(str(cause).split()) if cause is not None else (lines[-1].strip() if lines else str(root))
        return (f"the destination refused the load ({text[:400]}). The window was not loaded"
                " and the stored cursor did not move: the next run reads it again from the share; fix the cause"
                " in the destination first.")
    return reason(exc)


def reason(exc: BaseException) -> str:
    """The root cause of a failed dlt step as one line (a LearnsyncError inside wins)."""
    root = root_cause(exc)
    if isinstance(root, LearnsyncError):
        return str(root)
    text = " ".join(str(root).split())
    return f"{type(root).__name__}: {text[:500]}"


def unreachable(target: Target, exc: BaseException) -> DestinationUnreachable:
    """The destination's failure to answer as one line: its own explanation (a DuckDB file held by another
    program names the program), else the first cause."""
    cause = " ".join(str(root_cause(exc)).split())[:300] or type(exc).__name__
    return DestinationUnreachable(target.explain(exc) or f"Cannot reach the destination {target.display}: {cause}")
