"""The `learnsync` command line: a thin layer over the pipeline; flags that configure a connection or a run also
read LEARNSYNC_<NAME> (the README names them)."""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional, TypeVar

import typer

from learnsync.errors import LearnsyncError
from learnsync.console import fmt, run_sync
from learnsync.defaults import LOCK_TIMEOUT, WINDOW_MB, WINDOW_ROWS

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # help texts are plain text: URIs such as bigquery://PROJECT[/DATASET] hold brackets that Rich markup (the
    # default of Typer >= 0.12's help) would read as tags and fail on
    rich_markup_mode=None,
    help="Sync LMS learning-data shares from Snowflake into your own warehouse.",
)
F = TypeVar("F", bound=Callable[..., Any])

ProfileOpt = typer.Option("360learning", "--profile", envvar="LEARNSYNC_PROFILE", help="360learning, datacamp or auto.")
SourceOpt = typer.Option(None, "--source-uri", envvar="LEARNSYNC_SOURCE_URI", show_default=False,
                         help="snowflake://USER@ACCOUNT/DATABASE/SCHEMA?warehouse=WH&role=ROLE; the key"
                         " (private_key_path) or password from .dlt/secrets.toml [sources.learnsync.credentials]"
                         " or SOURCES__LEARNSYNC__CREDENTIALS__*")
DestOpt = typer.Option(None, "--dest-uri", envvar="LEARNSYNC_DEST_URI", show_default=False,
                       help="duckdb:///path/file.duckdb (default ./learnsync.duckdb), postgresql://user@host:port/db,"
                       " bigquery://PROJECT[/DATASET]?location=EU or file:///folder")
DatasetOpt = typer.Option("learning", "--dataset", envvar="LEARNSYNC_DATASET", help="Destination dataset (schema).")
TablesOpt = typer.Option(None, "--tables", envvar="LEARNSYNC_TABLES", help="Comma-separated tables (default: all).")
ProgressOpt = typer.Option(True, "--progress/--no-progress", envvar="LEARNSYNC_PROGRESS",
                           help="On a terminal, a live display per table (windows, rows, rate, ETA);"
                           " --no-progress prints only each table's final line.")
VerboseOpt = typer.Option(False, "--verbose", "-v",
                          help="Log on stderr: learnsync's and dlt's INFO lines (a sync's stages: where each table's"
                          " time went) and the Snowflake connector's warnings.")


def _show_version(value: bool) -> None:
    if value:
        from learnsync import __version__

        typer.echo(f"learnsync {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                 help="Print the version of learnsync and exit."),
) -> None:
    """Sync LMS learning-data shares from Snowflake into your own warehouse."""


def _exit_for(results: list[Any]) -> None:
    """Exit 1 naming the failed tables, or INTERRUPTED when a stop left tables unfinished; return when all synced."""
    failed = [r.table for r in results if not r.ok]
    if failed:
        typer.echo(f"error: {len(failed)} table(s) failed: {', '.join(failed)}", err=True)
        raise typer.Exit(1)
    if any(r.interrupted or not r.started for r in results):
        raise typer.Exit(INTERRUPTED)


def user_errors(fn: F) -> F:
    """Print a LearnsyncError as one line and exit 2; never a traceback for a user mistake."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LearnsyncError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s", stream=sys.stderr)
    logging.getLogger("learnsync").setLevel(logging.INFO if verbose else logging.WARNING)
    # dlt reports arrow/schema hint differences we resolve on purpose; keep its errors only
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "INFO" if verbose else "ERROR")
    # dlt sends anonymous usage telemetry to telemetry.scalevector.ai unless told not to; learnsync sends nothing
    # off the machine but its queries to the share and its loads (RUNTIME__DLTHUB_TELEMETRY=true turns dlt's on)
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    # the connector logs each retry and a lost source's traceback; learnsync reports the failure as one line
    # (never DEBUG: the connector then logs every query's bound values, the personal-data salt among them)
    logging.getLogger("snowflake.connector").setLevel(logging.WARNING if verbose else logging.CRITICAL)
    threading.excepthook = _connector_thread_error
    if not verbose:
        # dlt logs a load job it will retry (a dropped destination session) with a traceback: one line is enough
        logging.getLogger("dlt").addFilter(_one_line)


def _one_line(record: logging.LogRecord) -> bool:
    """A log record with its exception folded into the message, without the traceback (dlt also writes one
    into the message of a failed load job; learnsync reports that failure in its own line)."""
    if record.exc_info and record.exc_info[1] is not None:
        exc = record.exc_info[1]
        record.msg, record.args = f"{record.getMessage()} ({type(exc).__name__}: {' '.join(str(exc).split())[:300]})", ()
        record.exc_info, record.exc_text = None, None
    message = record.getMessage()
    if "Traceback (most recent call last)" in message:
        lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
        record.msg, record.args = f"{message.split('Traceback')[0].strip()} {lines[-1][:300]}", ()
    return True


def _connector_thread_error(args: Any) -> None:
    """The connector cancels a timed-out query from a timer thread; when the source is gone that cancel fails
    too, after the run has reported the failure: one debug line, not a traceback."""
    if args.exc_type is not None and args.exc_type.__module__.startswith("snowflake.connector"):
        logging.getLogger("learnsync").debug("background connector thread: %s", args.exc_value)
        return
    threading.__excepthook__(args)


INTERRUPTED = 130
"""Exit code of a run stopped by SIGINT/SIGTERM (128 + SIGINT, as a shell reports Ctrl-C)."""


@contextmanager
def _stop_on_signals() -> Iterator[Callable[[], bool]]:
    """SIGINT (Ctrl-C) and SIGTERM ask the run to stop after the window in flight commits; a second one stops at
    once (KeyboardInterrupt). Yields the check the sync asks between windows."""
    import signal

    asked = threading.Event()
    # dlt would otherwise catch the first signal in its normalize and load steps and abandon the window in flight
    os.environ["RUNTIME__INTERCEPT_SIGNALS"] = "false"

    def handler(signum: int, frame: Any) -> None:
        if asked.is_set():
            raise KeyboardInterrupt
        asked.set()
        typer.echo(f"{signal.Signals(signum).name}: stopping after the window in flight commits"
                   " (send it again to stop at once)", err=True)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield asked.is_set
    except KeyboardInterrupt:
        typer.echo("error: stopped at once; the window in flight was not committed (the next run finishes it)."
                   " Rerun to resume.", err=True)
        raise typer.Exit(INTERRUPTED) from None
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _profile(name: str) -> Any:
    from learnsync.catalog.tables import profile

    return profile(name)


def _dataset(name: str) -> str:
    from learnsync.settings import dataset_name

    return dataset_name(name)


@contextmanager
def _share(source_uri: Optional[str], window_rows: int = WINDOW_ROWS, tag: Any = None,
           window_mb: float = WINDOW_MB) -> Iterator[Any]:
    from learnsync.pipelines.snowflake.reader import open_share

    with open_share(source_uri, window_rows, tag=tag, window_mb=window_mb) as reader:
        yield reader


def _run_id() -> str:
    from learnsync.pipelines.snowflake.cost import new_run_id

    return new_run_id()


def _tag(profile: Any, run_id: str, mode: Optional[str] = None) -> Any:
    """The QUERY_TAG of a CLI run's Snowflake session (`cost.QueryTag`)."""
    from learnsync.pipelines.snowflake.cost import QueryTag

    return QueryTag(profile.value, run_id, mode)


def _dest_name(table: str) -> str:
    """A share table's name in the destination (`COURSES_TRACKINGS` -> `courses_trackings`)."""
    from learnsync.catalog.naming import snake_case

    return snake_case(table)


def _split(tables: Optional[str]) -> Optional[list[str]]:
    return [t for t in tables.split(",") if t.strip()] if tables else None


def _target(dest_uri: Optional[str], dataset: str) -> Any:
    from learnsync.destinations import resolve

    return resolve(dest_uri, _dataset(dataset))


@app.command("sync")
@user_errors
def sync_cmd(
    profile: str = ProfileOpt,
    source_uri: Optional[str] = SourceOpt,
    dest_uri: Optional[str] = DestOpt,
    dataset: str = DatasetOpt,
    tables: Optional[str] = TablesOpt,
    full_refresh: bool = typer.Option(False, "--full-refresh", envvar="LEARNSYNC_FULL_REFRESH",
                                      help="Reload the tables from scratch; each is swapped in whole (tables kept"
                                           " with history: the reload becomes versions, history stays)."),
    reset_history: bool = typer.Option(False, "--reset-history", envvar="LEARNSYNC_RESET_HISTORY",
                                       help="With --full-refresh: drop the versions of tables kept with history;"
                                            " their history starts again."),
    window_rows: int = typer.Option(WINDOW_ROWS, "--window-rows", envvar="LEARNSYNC_WINDOW_ROWS", min=1,
                                    help="Rows per committed window (one dlt load, committed with its cursor)."),
    window_mb: float = typer.Option(WINDOW_MB, "--window-mb", envvar="LEARNSYNC_WINDOW_MB", min=0.001,
                                    help="Megabytes per committed window at most (estimated from the share's"
                                         " row sizes): wide rows make windows of fewer rows."),
    lock_timeout: float = typer.Option(LOCK_TIMEOUT, "--lock-timeout", envvar="LEARNSYNC_LOCK_TIMEOUT", min=0,
                                       help="Seconds to wait for another run syncing the same table."),
    progress: bool = ProgressOpt,
    verbose: bool = VerboseOpt,
) -> None:
    """Sync the share into the destination; exit code 0 only if every table succeeded."""
    _setup_logging(verbose)
    # check everything local before the first connection
    if reset_history and not full_refresh:
        raise LearnsyncError("--reset-history drops history only with --full-refresh: pass both.")
    prof, target = _profile(profile), _target(dest_uri, dataset)
    run_id = _run_id()
    mode = "full_refresh" if full_refresh else "incremental"
    with _stop_on_signals() as should_stop, _share(source_uri, window_rows, _tag(prof, run_id, mode),
                                                    window_mb) as reader:
        results = run_sync(reader, prof, target, dataset, _split(tables), full_refresh, lock_timeout=lock_timeout,
                           should_stop=should_stop, run_id=run_id, progress=progress,
                           reset_history=reset_history)
    _exit_for(results)


@app.command("tables")
@user_errors
def tables_cmd(
    profile: str = ProfileOpt,
    source_uri: Optional[str] = SourceOpt,
    tables: Optional[str] = TablesOpt,
) -> None:
    """Show what would be synced: key, cursor, strategy, lookback, child tables and column policies per table."""
    from learnsync.catalog.layout import child_name
    from learnsync.pipelines.sync import plan

    _setup_logging()
    prof = _profile(profile)
    with _share(source_uri, tag=_tag(prof, _run_id(), "tables")) as reader:
        specs = plan(reader, prof, _split(tables))
    for s in specs:
        children = ", ".join(child_name(s, c) for c in s.json_columns) or "-"
        policy = ", ".join(f"{c}={p.value}" for c, p in s.policies.items()) or "-"
        typer.echo(
            f"{s.name:<28} key {','.join(s.primary_key) or '-':<10} cursor {fmt(s.cursor):<14} "
            f"strategy {s.strategy.value:<8} lookback {_hours(s.lookback.total_seconds() / 3600)}  children {children}  policy {policy}"
            + ("  history (valid_from, valid_to)" if s.history else "")
        )


@app.command("status")
@user_errors
def status_cmd(
    profile: str = ProfileOpt,
    source_uri: Optional[str] = SourceOpt,
    dest_uri: Optional[str] = DestOpt,
    dataset: str = DatasetOpt,
    tables: Optional[str] = TablesOpt,
    as_json: bool = typer.Option(False, "--json", help="One JSON object per table on stdout (lag in seconds)."),
) -> None:
    """Per table: state (ok, stale, failed), rows, newest stored cursor, lag behind now, last successful sync and
    last error. A table is stale when its lag passes its max_lag_hours setting."""
    import json

    from learnsync.pipelines.status import duration, table_status
    from learnsync.pipelines.sync import plan, require_synced

    _setup_logging()
    prof, target = _profile(profile), _target(dest_uri, dataset)
    with _share(source_uri, tag=_tag(prof, _run_id(), "status")) as reader:
        specs = plan(reader, prof, _split(tables))
    require_synced(target, dataset)
    for st in table_status(specs, target, dataset, prof.value):
        if as_json:
            typer.echo(json.dumps(st.as_json()))
            continue
        limit = f" (max {st.max_lag_hours:g}h)" if st.max_lag_hours is not None else ""
        error = f"  last error {_when_text(st.last_error_at)}: {st.last_error}" if st.last_error else ""
        checked = ""
        if st.last_reconcile is not None:
            found = (f"failed: {st.last_reconcile_error}" if st.last_reconcile_error
                     else f"dry run: {_rows(st.last_reconcile_drift)} differing from the share, not changed; run"
                          " learnsync reconcile to fix" if st.last_reconcile_dry_run and st.last_reconcile_drift
                     else f"dry run: no drift" if st.last_reconcile_dry_run
                     else f"{_rows(st.last_reconcile_drift)} changed")
            checked = f"  reconciled {_when_text(st.last_reconcile)} ({found})"
        typer.echo(
            f"{st.table:<28} {st.state.value:<6} rows {fmt(st.rows)}  cursor {fmt(st.cursor)}"
            f"  lag {duration(st.lag_seconds)}{limit}  last sync {_when_text(st.last_success or st.last_load)}"
            f"{checked}{error}"
        )


def _rows(n: Optional[int]) -> str:
    """`1 row`, `3 rows`."""
    return f"{n} row" if n == 1 else f"{n} rows"


def _when_text(value: Any) -> str:
    """A time as `2026-11-30 13:05 UTC`; `-` for none."""
    from datetime import timezone

    if value is None:
        return "-"
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%d %H:%M UTC")


@app.command("history")
@user_errors
def history_cmd(
    dest_uri: Optional[str] = DestOpt,
    dataset: str = DatasetOpt,
    table: Optional[str] = typer.Option(None, "--table", help="Only this table (as the share names it, e.g. COURSES)."),
    limit: int = typer.Option(20, "--limit", min=1, max=10_000, help="Newest runs to show."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per run on stdout."),
) -> None:
    """What each run of each table did, newest first: rows new and re-read, seconds, Snowflake queries and time,
    cursor before and after, outcome and error. Kept in the dataset's _learnsync_runs table."""
    import json

    from learnsync.pipelines import runs as run_history
    from learnsync.pipelines.sync import require_synced

    _setup_logging()
    target = _target(dest_uri, dataset)
    if not run_history.supported(target):
        raise LearnsyncError(f"{target.display} keeps no run history (file destinations have no SQL to keep it in).")
    synced = require_synced(target, dataset)
    if table is not None and _dest_name(table) not in synced:
        raise LearnsyncError(f"Unknown table {table!r} in dataset {target.dataset_name(dataset)}: it holds"
                             f" {', '.join(t.upper() for t in synced)}; check --table.")
    runs = run_history.read(target, dataset, table, limit)
    if not runs and not as_json:
        typer.echo(f"No recorded runs{' of ' + table if table else ''} in dataset {dataset} yet.")
    for r in runs:
        if as_json:
            typer.echo(json.dumps(r.as_json()))
            continue
        error = f": {r.error}" if r.error else ""
        if run_history.kind(r.mode) == run_history.CHECK:
            typer.echo(f"{_when_text(r.started_at)}  {'(check of every table)':<28} {r.mode:<12} {r.outcome:<11}"
                       f"  {r.seconds:.1f}s  snowflake {r.queries} queries {r.snowflake_seconds:.1f}s{error}")
            continue
        typer.echo(
            f"{_when_text(r.started_at)}  {r.table_name:<28} {r.mode:<12} {r.outcome:<11} rows {r.rows}"
            + (f" fetched, {r.changed} changed" if run_history.kind(r.mode) == run_history.RECONCILE
               else f" ({r.rows_new} new, {r.rows_reread} re-read)")
            + f"  {r.seconds:.1f}s  snowflake {r.queries} queries"
            f" {r.snowflake_seconds:.1f}s  cursor {fmt(r.cursor_before)} -> {fmt(r.cursor_after)}{error}"
        )


@app.command("reconcile")
@user_errors
def reconcile_cmd(
    profile: str = ProfileOpt,
    source_uri: Optional[str] = SourceOpt,
    dest_uri: Optional[str] = DestOpt,
    dataset: str = DatasetOpt,
    tables: Optional[str] = TablesOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="Only report what differs; exit code 1 if anything does."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per table on stdout."),
    verbose: bool = VerboseOpt,
) -> None:
    """Make the destination equal to the share: rows changed in place, deleted, or missed by the cursor."""
    import json

    from learnsync.pipelines.reconcile import reconcile
    from learnsync.pipelines.sync import plan, require_synced

    _setup_logging(verbose)
    prof, target = _profile(profile), _target(dest_uri, dataset)

    def show(r: Any) -> None:
        if as_json:
            typer.echo(json.dumps(r.as_dict()))
            return
        status = f"FAILED: {r.error}" if not r.ok else r.note or ("drift" if r.drift and dry_run else "ok")
        typer.echo(
            f"  {r.table:<28} {r.method:<7} checked {r.rows_checked:>9}  buckets {r.buckets:>6}  updated {r.updated:>6}"
            f"  inserted {r.inserted:>6}  deleted {r.deleted:>6}  fetched {r.rows_fetched:>7} (+{r.fingerprints}"
            f" fingerprints)  queries {r.queries:>4}  {r.seconds:6.1f}s  {status}"
        )
        if verbose:  # what Snowflake was asked, values bound beside the text (never in it)
            for text in r.statements:
                typer.echo(f"    query: {' '.join(text.split())}")

    with _share(source_uri, tag=_tag(prof, _run_id(), "reconcile")) as reader:
        specs = plan(reader, prof, _split(tables))
        require_synced(target, dataset)
        if not as_json:
            what = "Comparing" if dry_run else "Reconciling"
            typer.echo(f"{what} {len(specs)} table(s) of profile {prof.value} with {target.display} dataset {dataset}")
        results = reconcile(reader, specs, target, dataset, prof.value, dry_run, on_result=show)
    failed = [r.table for r in results if not r.ok]
    if failed:
        typer.echo(f"error: {len(failed)} table(s) failed: {', '.join(failed)}", err=True)
        raise typer.Exit(1)
    if dry_run and any(r.drift for r in results):
        raise typer.Exit(1)


def _no_password(uri: Optional[str], flag: str, env_key: str) -> Optional[str]:
    """`uri` when it holds no password; else a LearnsyncError saying where the password goes. Flow parameters are
    stored and shown by Prefect, so `serve` refuses a password in a URI as `prefect deploy` does
    (deploy/prefect.yaml) and the flows do (`flows.tasks.Job`)."""
    from urllib.parse import urlsplit

    if uri and urlsplit(uri).password is not None:
        raise LearnsyncError(f"{flag} holds a password, which would be stored with the deployments in Prefect: leave"
                             f" it out; the flows read it from {env_key} (or .dlt/secrets.toml) where they run.")
    return uri


def _flow_params(profile: str, source_uri: Optional[str], dest_uri: Optional[str], dataset: str) -> dict[str, Any]:
    from learnsync.defaults import DEFAULT_DESTINATION

    _profile(profile)
    _target(dest_uri, dataset)  # check the destination before Prefect starts
    return dict(
        profile=profile,
        source_uri=_no_password(source_uri, "--source-uri", "SOURCES__LEARNSYNC__CREDENTIALS__PASSWORD"),
        destination=_no_password(dest_uri or DEFAULT_DESTINATION, "--dest-uri",
                                 "DESTINATION__POSTGRES__CREDENTIALS__PASSWORD"),
        dataset=dataset,
    )


def _when(value: str, flag: str) -> Any:
    from datetime import datetime

    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise LearnsyncError(f"{flag} must be an ISO date or date-time, like 2026-01-31 or 2026-01-31T12:00.") from None


@app.command("backfill")
@user_errors
def backfill_cmd(
    tables: Optional[str] = typer.Option(None, "--tables", help="Comma-separated tables to backfill."),
    table: Optional[list[str]] = typer.Option(None, "--table", help="A table to backfill (repeat for several)."),
    start: str = typer.Option(..., "--start", help="ISO date/time, inclusive."),
    end: str = typer.Option(..., "--end", help="ISO date/time, exclusive."),
    window_hours: float = typer.Option(24.0, "--window-hours", min=0.01, help="Hours of the range per window."),
    parallel: int = typer.Option(4, "--parallel", min=1, help="Windows loaded at once (lanes; a DuckDB file"
                                 " takes one at a time)."),
    profile: str = ProfileOpt,
    source_uri: Optional[str] = SourceOpt,
    dest_uri: Optional[str] = DestOpt,
    dataset: str = DatasetOpt,
) -> None:
    """Re-read [start, end) of tables and merge it into the destination, in lanes of windows run here (no
    Prefect server); the stored cursors never move. Exit code 0 only if every table succeeded."""
    from datetime import timedelta

    from learnsync.console import table_line
    from learnsync.pipelines.backfill import Span, backfill, backfill_windows, check_destination, lanes_at_once
    from learnsync.pipelines.sync import RunContext

    _setup_logging()
    # everything local is checked before the first connection: one line, exit 2
    names = list(table or []) + (_split(tables) or [])
    if not names:
        raise LearnsyncError("Name the tables to backfill: --tables COURSES,USERS (or --table COURSES).")
    lo, hi = _when(start, "--start"), _when(end, "--end")
    backfill_windows(lo, hi, timedelta(hours=window_hours))
    prof, name, target = _profile(profile), _dataset(dataset), _target(dest_uri, dataset)
    check_destination(target)
    run_id = _run_id()
    at_once = lanes_at_once(parallel, target)
    typer.echo(f"Backfilling [{_when_text(lo)}, {_when_text(hi)}) of {', '.join(names)} into {target.display}"
               f" dataset {name}, windows of {_hours(window_hours)}, {at_once} at once"
               + (f" (--parallel {parallel}: it loads one at a time)" if at_once < parallel else ""))
    with _stop_on_signals() as should_stop:
        run = RunContext.of(target, name, prof.value, should_stop=should_stop, run_id=run_id)
        results = backfill(lambda: _share(source_uri, tag=_tag(prof, run_id, "backfill")), run, dest_uri, names,
                           Span(lo, hi, window_hours, parallel), on_result=lambda r: typer.echo(table_line(r)))
    _exit_for(results)


def _hours(hours: float) -> str:
    """`24 h`, `1.5 h`."""
    return f"{hours:g} h"


@app.command("full-refresh")
@user_errors
def full_refresh_cmd(
    tables: Optional[str] = TablesOpt,
    profile: str = ProfileOpt,
    source_uri: Optional[str] = SourceOpt,
    dest_uri: Optional[str] = DestOpt,
    dataset: str = DatasetOpt,
    reset_history: bool = typer.Option(False, "--reset-history", envvar="LEARNSYNC_RESET_HISTORY",
                                       help="Drop the versions of tables kept with history; their history starts again."),
    progress: bool = ProgressOpt,
) -> None:
    """Reload tables from scratch (learnsync sync --full-refresh); readers never see them half-loaded."""
    import inspect

    given: dict[str, Any] = dict(profile=profile, source_uri=source_uri, dest_uri=dest_uri, dataset=dataset,
                                 tables=tables, full_refresh=True, reset_history=reset_history, progress=progress)
    # sync's other options at their defaults (a Typer option's default sits in its OptionInfo)
    options = {name: given.get(name, getattr(p.default, "default", p.default))
               for name, p in inspect.signature(sync_cmd).parameters.items()}
    sync_cmd(**options)


@app.command("serve")
@user_errors
def serve_cmd(
    profile: str = ProfileOpt,
    source_uri: Optional[str] = SourceOpt,
    dest_uri: Optional[str] = DestOpt,
    dataset: str = DatasetOpt,
    cron: str = typer.Option("0 * * * *", "--cron", envvar="LEARNSYNC_CRON", help="Sync schedule (UTC)."),
) -> None:
    """Serve the sync (on --cron), reconcile (daily 03:30 UTC), backfill and full-refresh deployments from this
    process, named <profile>-<dataset> (e.g. learnsync-sync/360learning-learning), so vendors serve side by side.
    Without PREFECT_API_URL, a Prefect server runs on 127.0.0.1 for as long as this process (its address is
    printed); no usage data is sent to Prefect."""
    _setup_logging()
    params = _flow_params(profile, source_uri, dest_uri, dataset)
    from learnsync.flows.deployments import serve

    serve(params["profile"], params["source_uri"], params["destination"], params["dataset"], cron,
          echo=lambda line: typer.echo(line, err=True))


@app.command("demo")
@user_errors
def demo_cmd(
    size: int = typer.Option(1, "--size", min=1, help="Scale of the generated share."),
    # its own flags only: an exported LEARNSYNC_DEST_URI (a production warehouse) must never receive demo data
    dest_uri: str = typer.Option("duckdb:///./learnsync-demo.duckdb", "--dest-uri",
                                 help="Where the demo data goes (datasets learning_360 and datacamp)."),
    serve: bool = typer.Option(False, "--serve", help="Keep the emulated share running after the sync (until"
                               " Ctrl-C) and print what to export to try status, tables, reconcile and dbt-sources."),
    progress: bool = ProgressOpt,
) -> None:
    """Start an emulated share with generated data and sync both vendor models into a local DuckDB file."""
    import signal

    from learnsync.demo import run_demo

    _setup_logging()
    stop = threading.Event() if serve else None
    if stop is not None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    ok = run_demo(size, dest_uri, echo=typer.echo, serve=stop, progress=progress)
    if not ok:
        raise typer.Exit(1)


@app.command("dbt-sources")
@user_errors
def dbt_sources_cmd(
    profile: str = ProfileOpt,
    dataset: str = DatasetOpt,
    dest_uri: Optional[str] = typer.Option(
        None, "--dest-uri", envvar="LEARNSYNC_DEST_URI", show_default=False,
        help="Describe what is in this destination; without it, what the vendor's catalog documents."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="File to write (default: standard output)."),
    source_name: Optional[str] = typer.Option(None, "--source-name", help="dbt source name (default: the dataset)."),
    warn_after: int = typer.Option(36, "--warn-after-hours", min=0, help="Freshness warning threshold (0: none)."),
    error_after: int = typer.Option(72, "--error-after-hours", min=0, help="Freshness error threshold (0: none)."),
) -> None:
    """Write a dbt sources.yml for the synced dataset: descriptions, key and relationship tests, freshness."""
    from learnsync.pipelines.dbt_sources import Freshness, catalog_tables, destination_tables, sources_yml, write_sources

    _setup_logging()
    prof, name = _profile(profile), _dataset(dataset)
    tables = destination_tables(_target(dest_uri, name), name) if dest_uri else catalog_tables(prof)
    document = sources_yml(tables, source_name or name, name, prof, Freshness(warn_after or None, error_after or None))
    text = write_sources(document, output)
    if output:
        typer.echo(f"Wrote {len(document['sources'][0]['tables'])} tables to {output}", err=True)
    else:
        typer.echo(text, nl=False)


@app.command("dbt-project")
@user_errors
def dbt_project_cmd(
    profile: str = typer.Option("360learning", "--profile", envvar="LEARNSYNC_PROFILE",
                                help="360learning, datacamp or both: whose models the project builds."),
    dataset: str = DatasetOpt,
    dataset_360: Optional[str] = typer.Option(
        None, "--360learning-dataset", show_default=False,
        help="Dataset of the 360Learning tables when it is not --dataset (with --profile both)."),
    dataset_datacamp: Optional[str] = typer.Option(
        None, "--datacamp-dataset", show_default=False,
        help="Dataset of the DataCamp tables when it is not --dataset (with --profile both)."),
    dest_uri: Optional[str] = typer.Option(
        None, "--dest-uri", envvar="LEARNSYNC_DEST_URI", show_default=False,
        help="The destination learnsync syncs into, where dbt builds too: duckdb:///file.duckdb (default"
        " ./learnsync.duckdb), postgresql://user@host:port/db or bigquery://PROJECT?location=EU."),
    schema: str = typer.Option("learnsync_dbt", "--schema", help="Schema (BigQuery: dataset) the models are built in."),
    output: str = typer.Option("./learnsync_dbt", "--output", "-o", help="Folder of the project."),
    force: bool = typer.Option(False, "--force", help="Overwrite the files of an existing project."),
    check: bool = typer.Option(True, "--check/--no-check",
                               help="Check that each vendor's dataset holds its tables in the destination (one"
                               " connection); --no-check writes the project before the first sync."),
) -> None:
    """Write a ready-to-run dbt project that builds learnsync's dbt package: staging models and marts."""
    from pathlib import Path

    from learnsync.dbt_project import ProjectSpec, Vendors, check_datasets, write_project

    _setup_logging()
    try:
        vendors = Vendors(profile.lower())
    except ValueError:
        raise LearnsyncError(f"Unknown profile {profile!r}: dbt-project takes 360learning, datacamp or both.") from None
    datasets = {"360learning": _dataset(dataset_360 or dataset), "datacamp": _dataset(dataset_datacamp or dataset)}
    spec = ProjectSpec(vendors, datasets, dest_uri, _dataset(schema))
    folder = Path(output).expanduser()
    if check:
        one = len(vendors.enabled) == 1
        flags = {v: "--dataset" if one else f"--{v}-dataset" for v in vendors.enabled}
        warning = check_datasets(spec, flags)
        if warning:
            typer.echo(f"warning: {warning}", err=True)
    write_project(folder, spec, force)
    where = ", ".join(f"{v} in dataset {datasets[v]}" for v in vendors.enabled)
    typer.echo(f"Wrote a dbt project for {where} to {folder}")
    typer.echo(f"Next: pip install 'learnsync[dbt]' (BigQuery: dbt-bigquery), then: cd {folder} && dbt deps && dbt build")


@app.command("check")
@user_errors
def check_cmd(
    profile: str = ProfileOpt,
    source_uri: Optional[str] = SourceOpt,
    dest_uri: Optional[str] = DestOpt,
    dataset: str = DatasetOpt,
) -> None:
    """Before a first sync: check, one line each, that the secrets resolve, the source login works (and which
    method it uses), the role sees the share's tables, the warehouse runs, and the destination accepts writes (a
    scratch table created and dropped). Exit code 0 only when every check passes (1 otherwise); no secret is
    printed."""
    from learnsync.check import run_checks

    _setup_logging()
    prof, target = _profile(profile), _target(dest_uri, dataset)
    results = []
    for check in run_checks(source_uri, prof, target, dataset):
        typer.echo(check.line())
        results.append(check)
    # a check skipped because another failed comes with that failure; a skip of its own (file://) passes
    if any(c.ok is False for c in results):
        raise typer.Exit(1)


automations_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None,
    help="Prefect automations that notify when a learnsync flow run fails or a table stops syncing.",
)
app.add_typer(automations_app, name="automations")


@automations_app.command("apply")
@user_errors
def automations_apply_cmd(
    notify_block: str = typer.Option(..., "--notify-block", "--webhook-block", envvar="LEARNSYNC_NOTIFY_BLOCK",
                                     help="Name of a Prefect notification block (Slack webhook, email, custom webhook),"
                                     " as NAME or BLOCK-TYPE/NAME."),
    stale_hours: Optional[float] = typer.Option(
        None, "--stale-hours", help="Hours without a successful sync of a table before it is reported (default 26,"
        " as the file says)."),
    file: Optional[str] = typer.Option(None, "--file", help="Automations file (default: deploy/automations.yaml)."),
) -> None:
    """Create (or replace) the automations of deploy/automations.yaml in the Prefect server of PREFECT_API_URL: a
    notification when a learnsync flow run fails or crashes, and when a table has not synced for --stale-hours."""
    from pathlib import Path

    from learnsync.flows.automations import apply

    _setup_logging()
    created, warnings = apply(notify_block, Path(file) if file else None, stale_hours)
    for name, automation_id, replaced in created:
        typer.echo(f"Automation {name!r} {'replaced' if replaced else 'created'} ({automation_id}), notifying through"
                   f" {notify_block}")
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)


def main() -> None:
    """The `learnsync` console script: runs the Typer app (exit 2 with one `error:` line for a user mistake)."""
    app()


if __name__ == "__main__":
    main()
