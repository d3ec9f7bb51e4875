"""`learnsync demo`: an emulated share with generated data, synced into a local DuckDB file."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Callable, Optional

from learnsync.destinations.duckdb import database_file
from learnsync.errors import LearnsyncError

DEMO_SHARES = (
    # profile, database, schema, dataset
    ("360learning", "LEARNING_360", "CORE", "learning_360"),
    ("datacamp", "DATACAMP", "DATA_CONNECTOR", "datacamp"),
)
QUERY = ("SELECT c.name, count(*) AS attempts, round(avg(t.progress), 1) AS avg_progress"
         " FROM learning_360.courses_trackings t JOIN learning_360.courses c ON c.id = t.course"
         " GROUP BY 1 ORDER BY 2 DESC LIMIT 5")
"""The suggested query without dbt: every attempt in the share, deleted learners' too."""
MART = "learning360__course_completion_funnel"
MART_ORDER = "attempts desc, course_id"
MART_QUERY = (f"SELECT course_name, attempts, learners, completed_attempts, round(completion_rate, 2) AS"
              f" completion_rate, round(success_rate, 2) AS success_rate FROM learnsync_dbt.{MART}"
              f" ORDER BY {MART_ORDER} LIMIT 5")
"""The suggested query once the dbt package was built: the same five courses the demo printed."""


def run_demo(
    size: int, dest_uri: str, echo: Callable[[str], None] = print, serve: Optional[threading.Event] = None,
    progress: bool = True,
) -> bool:
    """Generate both vendor shares (`size` >= 1 scales the rows) in a local emulator and sync them into `dest_uri`
    (datasets `learning_360` and `datacamp`); True when every table synced. Only its arguments choose where the
    data goes (never LEARNSYNC_DEST_URI or LEARNSYNC_DATASET). With `serve`, the emulated share keeps running
    after the sync, and the commands to try against it are printed, until the event is set. `progress`: the live
    display of `learnsync.console.run_sync` on a terminal.

    Raises LearnsyncError for a destination URI it cannot use, or when the demo extra (fakesnow) is missing."""
    try:
        from learnsync import emulator
    except ImportError as exc:
        if exc.name != "fakesnow":
            raise
        raise LearnsyncError("learnsync demo runs an emulated share, which needs the demo extra: "
                             "pip install 'learnsync[demo]'.") from None
    from learnsync.console import run_sync
    from learnsync.destinations import resolve
    from learnsync.catalog.tables import profile as vendor_profile
    from learnsync.pipelines.snowflake.cost import new_run_id
    from learnsync.pipelines.snowflake.reader import open_share

    targets = {dataset: resolve(dest_uri, dataset) for _, _, _, dataset in DEMO_SHARES}
    locks = _new_lock_folders(dest_uri)
    # the emulator's DB-API copy warning is noise for a user
    warnings.filterwarnings("ignore", module="fakesnow")
    ok = True
    with emulator.emulated_share() as server:
        echo(f"Started an emulated Snowflake share on 127.0.0.1:{server.port}")
        with server.connect() as conn:
            counts = emulator.create_360learning(conn, scale=size)
            counts.update(emulator.create_datacamp(conn, events=5000 * size))
        echo(f"Generated {sum(counts.values())} rows in {len(counts)} tables")
        # the demo's dlt state lives in a throwaway folder; the DuckDB file keeps a copy of it anyway
        run_id = new_run_id()  # the demo's syncs are in the run history (`learnsync history`) like any sync
        with tempfile.TemporaryDirectory(prefix="learnsync-demo-") as pipelines_dir:
            for profile, database, schema, dataset in DEMO_SHARES:
                with open_share(server.uri(database, schema)) as reader:
                    results = run_sync(reader, vendor_profile(profile), targets[dataset], dataset, None, False,
                                       pipelines_dir, progress=progress, run_id=run_id)
                ok = ok and all(r.ok for r in results)
        for folder in locks:  # the file locks of this run's syncs: nothing left behind in the working directory
            shutil.rmtree(folder, ignore_errors=True)
        built = None
        path = database_file(dest_uri)
        if ok and path is not None:
            built = show_mart(path, echo)
        if path is not None:
            what_to_open(path, built, echo)
        echo("")
        if path is not None:
            echo(f"Done. Try:  {try_command(dest_uri, mart=built is not None)}")
        else:
            where = targets[DEMO_SHARES[0][3]].display
            echo(f"Done. The data is in {where}, datasets {' and '.join(d for *_, d in DEMO_SHARES)}.")
        if serve is not None:
            _serve(server, dest_uri, echo, serve)
    return ok


MART_COLUMNS = ("course_name", "attempts", "learners", "completed_attempts", "completion_rate", "success_rate")
"""The columns of the course completion funnel the demo prints (the mart has more)."""


def show_mart(duckdb_path: Path, echo: Callable[[str], None] = print) -> Optional[str]:
    """The demo's last step: build the whole dbt package on the demo's DuckDB file (`learnsync.dbt_project.
    build_package`: every staging model and mart of both vendors, with their tests) and print the top of the
    course completion funnel; returns dbt's summary line, None when nothing was built. Without dbt (the `dbt`
    extra) it prints one line saying how to install it; a failed build prints dbt's one-line reason (the synced
    data is there either way)."""
    import importlib.util

    from learnsync.errors import LearnsyncError

    echo("")
    if importlib.util.find_spec("dbt") is None or importlib.util.find_spec("dbt.cli") is None:
        echo("The dbt package builds marts over these tables: pip install 'learnsync[dbt]', then run"
             f" {command()} demo again.")
        return None
    from learnsync.dbt_project import DEFAULT_SCHEMA, build_package, read_mart

    echo("Building the dbt package on it (every staging model and mart of both vendors, with their tests)...")
    try:
        done = build_package(duckdb_path)
    except LearnsyncError as exc:
        echo(f"The dbt build did not finish: {exc}")
        return None
    echo(f"dbt build: {done}")
    rows = read_mart(duckdb_path, MART, MART_ORDER)
    echo(f"{DEFAULT_SCHEMA}.{MART}, top {len(rows)} courses by attempts (attempts of learners the share flags"
         " deleted are left out):")
    columns = [c for c in MART_COLUMNS if rows and c in rows[0]]
    cells = [[_cell(r[c]) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    for line in [columns] + cells:
        echo(("  " + "  ".join(v.ljust(w) for v, w in zip(line, widths))).rstrip())
    return done


def what_to_open(duckdb_path: Path, built: Optional[str], echo: Callable[[str], None] = print) -> None:
    """A short list of what the demo left in the DuckDB file, and the commands that read it."""
    import duckdb

    con = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        kinds = dict(con.execute(
            "SELECT table_schema, count(*) FROM information_schema.tables WHERE table_name NOT LIKE '\\_%' ESCAPE '\\'"
            " GROUP BY 1").fetchall())
        marts = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'learnsync_dbt'"
                            " AND table_name NOT LIKE 'stg\\_%' ESCAPE '\\'").fetchall()[0][0]
    finally:
        con.close()
    uri = f"duckdb://{duckdb_path}"
    echo("")
    echo(f"What to open in {duckdb_path.name}:")
    for profile, _, _, dataset in DEMO_SHARES:
        echo(f"  {dataset + '.*':<16} {kinds.get(dataset, 0)} tables synced from the {profile} share (child tables"
             " of its JSON columns included)")
    if built is not None:
        staging = kinds.get("learnsync_dbt", 0) - marts
        echo(f"  {'learnsync_dbt.*':<16} the dbt package: {staging} staging models and {marts} marts")
    echo(f"  {command()} history --dest-uri {shlex.quote(uri)} --dataset learning_360   what each sync did")
    datasets = " ".join(f"--{profile}-dataset {dataset}" for profile, _, _, dataset in DEMO_SHARES)
    echo(f"  {command()} dbt-project --profile both {datasets} --dest-uri {shlex.quote(uri)}   a dbt project of your"
         " own on it")


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return "" if value is None else str(value)


def _duckdb_path(dest_uri: str) -> Path:
    """The demo's DuckDB file, read from its URI as the destination reads it (one parser for both)."""
    path = database_file(dest_uri)
    if path is None:
        raise LearnsyncError(f"{dest_uri} is not a DuckDB destination URI: duckdb:///path/to/file.duckdb.")
    return path


def command() -> str:
    """`learnsync` as the person can type it in this shell: the name where PATH finds this installation's script
    (an activated venv, pipx), else that script's path (`.venv/bin/learnsync` after the README's install)."""
    script = Path(sys.executable).with_name("learnsync")  # not resolved: a venv's python is a symlink
    found = shutil.which("learnsync")
    if not script.exists() or (found is not None and Path(found).resolve() == script.resolve()):
        return "learnsync"
    return shlex.quote(str(script))


def try_command(dest_uri: str, mart: bool = False) -> str:
    """A shell command that queries the demo's DuckDB file with what `pip install` brought (Python's duckdb
    package; the duckdb CLI is not installed): the mart's top five the demo printed when `mart`, else every
    attempt per course."""
    path = str(_duckdb_path(dest_uri))
    # double-quoted Python strings, so the shell's single quotes around the code need no escapes
    query = MART_QUERY if mart else QUERY
    code = f"import duckdb; duckdb.connect({json.dumps(path)}, read_only=True).sql({json.dumps(query)}).show()"
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"


def _new_lock_folders(dest_uri: str) -> list[Path]:
    """The lock folder a DuckDB destination gets beside its file (`.<file>.locks`), if this run creates it."""
    path = database_file(dest_uri)
    if path is None:
        return []
    folder = path.parent / f".{path.name}.locks"
    return [] if folder.exists() else [folder]


def _serve(server: object, dest_uri: str, echo: Callable[[str], None], stop: threading.Event) -> None:
    """Print what to try against the running share, then wait for `stop`."""
    path = database_file(dest_uri)
    where = f"duckdb://{path}" if path is not None else dest_uri
    echo("")
    echo("The emulated share keeps running until Ctrl-C. In another shell, for each vendor:")
    for profile, database, schema, dataset in DEMO_SHARES:
        uri = server.uri(database, schema)  # type: ignore[attr-defined]
        echo("")
        echo(f"  export LEARNSYNC_SOURCE_URI={shlex.quote(uri)} LEARNSYNC_DEST_URI={shlex.quote(where)}"
             f" LEARNSYNC_PROFILE={profile} LEARNSYNC_DATASET={dataset}")
        echo("  " + "; ".join(f"{command()} {c}" for c in ("tables", "status", "reconcile --dry-run", "dbt-sources")))
    stop.wait()
