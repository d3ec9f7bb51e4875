"""The command line as a user runs it: real emulator, clear one-line errors, no secrets. The commands run in this
process through Typer's CliRunner (`in_process`); what is about the process itself (the console script's error
line, help and version, `demo --serve` stopped by Ctrl-C) runs as one."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time

import pytest

from tests.support.helpers import assert_table_equal, create, insert
from tests.support.cli import CANARY, assert_user_error, in_process, learnsync



def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# every URI points at a closed loopback port: nothing here may try a real account
LOOP = f"host=127.0.0.1&port={_closed_port()}&protocol=http&login_timeout=5"


@pytest.mark.parametrize(
    "args, needles",
    [
        (["--source-uri", f"mysql://u:p@h/db?{LOOP}"], ["snowflake://"]),
        (["--source-uri", f"snowflake://u:{CANARY}@acct/ONLYDB?{LOOP}"], ["database", "schema"]),
        (["--source-uri", f"snowflake://u:{CANARY}@acct/DB/S?colour=red&{LOOP}"], ["colour"]),
        (["--profile", "moodle", "--source-uri", f"snowflake://u:{CANARY}@acct/DB/S?{LOOP}"], ["moodle", "360learning"]),
        (["--dest-uri", "oracle://x/y", "--source-uri", f"snowflake://u:{CANARY}@acct/DB/S?{LOOP}"], ["oracle", "duckdb"]),
        (["--dest-uri", "duckdb:////no/such/dir/x.duckdb", "--source-uri", f"snowflake://u:{CANARY}@acct/DB/S?{LOOP}"],
         ["does not exist"]),
        (["--dataset", "bad;name", "--source-uri", f"snowflake://u:{CANARY}@acct/DB/S?{LOOP}"], ["dataset"]),
        pytest.param(
            ["--dest-uri", "bigquery://proj?location=EU", "--source-uri", f"snowflake://u:{CANARY}@acct/DB/S?{LOOP}"],
            ["pip install", "bigquery"],
            marks=pytest.mark.skipif(importlib.util.find_spec("google.cloud.bigquery") is not None,
                                     reason="the bigquery extra is installed (the dev extra has it)"),
        ),
        (["--dest-uri", "bigquery://proj?colour=red", "--source-uri", f"snowflake://u:{CANARY}@acct/DB/S?{LOOP}"],
         ["colour", "location"]),
    ],
    ids=["scheme", "no-schema", "unknown-option", "profile", "dest-scheme", "duckdb-dir", "dataset", "missing-extra",
         "bigquery-option"],
)
def test_bad_input_is_one_clear_line(args, needles, tmp_path):
    assert_user_error(in_process("sync", *args, cwd=tmp_path), *needles)


def test_bad_input_in_a_process_of_its_own(tmp_path):
    """One of the cases above as a user types it: the console script's process prints the same one line."""
    assert_user_error(learnsync("sync", "--source-uri", f"mysql://u:{CANARY}@h/db?{LOOP}", cwd=tmp_path), "snowflake://")


def test_a_short_password_is_masked_without_mangling_the_line(tmp_path):
    """The connector's words stay readable when the password is a letter they hold ("attempt(s)", not
    "attem***t(s)"); a password standing alone in them would still be masked (tests/unit/test_settings.py)."""
    proc = in_process("sync", "--source-uri", f"snowflake://u:p@acct/DB/S?{LOOP}", cwd=tmp_path)
    assert_user_error(proc, "could not reach", "attempt(s)")


def test_unreachable_host_fails_fast_without_leaking(tmp_path):
    uri = f"snowflake://u:{CANARY}@acct/DB/S?{LOOP}"
    started = time.monotonic()
    proc = in_process("sync", "--source-uri", uri, cwd=tmp_path)
    assert time.monotonic() - started < 30
    assert_user_error(proc, "could not reach")


def test_sync_tables_status_through_the_cli(share, tmp_path):
    create(share, "SKILLS")
    create(share, "COURSES")
    insert(share, "SKILLS", [{"ID": f"s{i}", "CREATED_AT": "2026-01-01 00:00:00", "NAME": f"n{i}"} for i in range(4)])
    insert(share, "COURSES", [{"ID": "c1", "CREATED_AT": "2026-01-01 00:00:00", "MODIFIED_AT": "2026-01-02 00:00:00",
                               "SKILLS": ["s1", "s2"]}])
    db = tmp_path / "w.duckdb"
    env = {"LEARNSYNC_SOURCE_URI": share.uri, "LEARNSYNC_DEST_URI": f"duckdb:///{db}", "LEARNSYNC_DATASET": "learning"}

    tables = in_process("tables", cwd=tmp_path, env=env)
    assert tables.returncode == 0, tables.stderr
    assert "COURSES" in tables.stdout and "MODIFIED_AT" in tables.stdout and "courses__skills" in tables.stdout

    proc = in_process("sync", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SKILLS" in proc.stdout and "rows         4" in proc.stdout

    unknown = in_process("sync", "--tables", "SKILLS,NOPE", cwd=tmp_path, env=env)
    assert_user_error(unknown, "NOPE", "SKILLS")

    status = in_process("status", cwd=tmp_path, env=env)
    assert status.returncode == 0, status.stderr
    assert "rows 4" in status.stdout and "2026-01-02" in status.stdout

    from tests.support.warehouses import Dest

    dest = Dest("duckdb", f"duckdb:///{db}", "learning", db)
    assert_table_equal(share, dest, "SKILLS")
    assert_table_equal(share, dest, "COURSES")


def test_reconcile_through_the_cli(share, tmp_path):
    import json

    create(share, "SKILLS")
    insert(share, "SKILLS", [{"ID": f"s{i}", "CREATED_AT": "2026-01-01 00:00:00", "NAME": f"n{i}"} for i in range(5)])
    db = tmp_path / "w.duckdb"
    env = {"LEARNSYNC_SOURCE_URI": share.uri, "LEARNSYNC_DEST_URI": f"duckdb:///{db}", "LEARNSYNC_DATASET": "learning"}
    assert in_process("sync", cwd=tmp_path, env=env).returncode == 0
    clean = in_process("reconcile", "--dry-run", cwd=tmp_path, env=env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    share.sql('UPDATE "SKILLS" SET "NAME" = \'renamed\' WHERE "ID" = \'s2\'')
    share.sql('DELETE FROM "SKILLS" WHERE "ID" = \'s4\'')

    dry = in_process("reconcile", "--dry-run", "--json", cwd=tmp_path, env=env)
    assert dry.returncode == 1, dry.stdout + dry.stderr  # drift gates a pipeline
    report = [json.loads(line) for line in dry.stdout.splitlines()]
    assert [(r["table"], r["updated"], r["deleted"], r["drift"]) for r in report] == [("SKILLS", 1, 1, True)]

    done = in_process("reconcile", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SKILLS" in done.stdout and "updated      1" in done.stdout and "deleted      1" in done.stdout
    assert in_process("reconcile", "--dry-run", cwd=tmp_path, env=env).returncode == 0

    from tests.support.warehouses import Dest

    assert_table_equal(share, Dest("duckdb", f"duckdb:///{db}", "learning", db), "SKILLS")


@pytest.mark.slow  # the whole demo, then commands against its share
@pytest.mark.long
def test_demo_serve_on_a_fresh_directory_ignores_the_production_settings(tmp_path):
    """`learnsync demo --serve` with a production warehouse exported: the demo data goes only into
    ./learnsync-demo.duckdb, the suggested query runs with what pip installed, nothing else is left in the working
    directory, and the printed exports make status, tables, reconcile and dbt-sources work against the share."""
    import shlex
    import signal
    import threading

    work, prod = tmp_path / "work", tmp_path / "prod.duckdb"
    work.mkdir()
    trap = {"LEARNSYNC_DEST_URI": f"duckdb:///{prod}", "LEARNSYNC_DATASET": "production"}
    proc = subprocess.Popen([sys.executable, "-m", "learnsync.cli", "demo", "--serve"], cwd=work,
                            env={**os.environ, **trap}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        deadline = time.monotonic() + 600
        while sum(" tables; " in line and " status; " in line for line in lines) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)[-4000:]
            time.sleep(0.5)
        out = "".join(lines)
        assert "Traceback" not in out and "FAILED" not in out, out[-4000:]
        assert not prod.exists(), "the demo wrote into LEARNSYNC_DEST_URI"
        # its last step: the dbt package built on the demo file, one mart printed (dbt is in the dev extra)
        assert "learnsync_dbt.learning360__course_completion_funnel, top 5 courses" in out, out[-4000:]
        assert sorted(p.name for p in work.iterdir()) == ["learnsync-demo.duckdb"], list(work.iterdir())
        (command,) = [line.split("Try:", 1)[1].strip() for line in lines if "Try:" in line]
        query = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert query.returncode == 0 and "attempts" in query.stdout, query.stdout + query.stderr
        exports = [dict(kv.split("=", 1) for kv in shlex.split(line.strip())[1:])
                   for line in lines if line.strip().startswith("export LEARNSYNC_SOURCE_URI=")]
        assert [e["LEARNSYNC_DATASET"] for e in exports] == ["learning_360", "datacamp"], exports
        for env, commands in zip(exports, ([["tables"], ["reconcile", "--dry-run"], ["dbt-sources"]], [])):
            for command in commands:
                done = learnsync(*command, cwd=tmp_path, env=env)
                assert done.returncode == 0, (command, env, done.stdout + done.stderr)
            status = learnsync("status", cwd=tmp_path, env=env).stdout
            assert "rows -" not in status and "rows 0" not in status.replace("rows 0.", ""), status
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0, "".join(lines)[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    import duckdb

    con = duckdb.connect(str(work / "learnsync-demo.duckdb"), read_only=True)
    try:
        tables = {r[0] for r in con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()}
        assert "learning_360.courses_trackings__access_dates" in tables
        assert "datacamp.fact_learn_events" in tables
        assert con.execute("SELECT count(*) FROM learning_360.users").fetchall()[0][0] > 0
    finally:
        con.close()


def test_backfill_and_full_refresh_run_here_without_a_server_and_without_leaking(share, tmp_path):
    create(share, "COURSES_TRACKINGS")
    insert(share, "COURSES_TRACKINGS", [
        {"ID": f"ct{i}", "CREATED_AT": f"2026-01-0{1 + i % 5} 10:00:00", "PROGRESS": i, "ACCESS_DATES": ["a"] * i}
        for i in range(6)
    ])
    db = tmp_path / "w.duckdb"
    home = tmp_path / "prefect-home"
    env = {
        "LEARNSYNC_SOURCE_URI": share.uri.replace("fake:snow@", f"fake:{CANARY}@"),
        "LEARNSYNC_DEST_URI": f"duckdb:///{db}", "LEARNSYNC_DATASET": "learning",
        "PREFECT_HOME": str(home), "PREFECT_API_URL": "", "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": "true",
    }
    assert in_process("sync", cwd=tmp_path, env=env).returncode == 0
    share.sql('UPDATE "COURSES_TRACKINGS" SET "PROGRESS" = 99 WHERE "ID" = \'ct1\'')
    proc = in_process("backfill", "--table", "COURSES_TRACKINGS", "--start", "2026-01-01", "--end", "2026-01-03",
                     cwd=tmp_path, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    share.sql('DELETE FROM "COURSES_TRACKINGS" WHERE "ID" = \'ct4\'')
    proc2 = in_process("full-refresh", "--tables", "COURSES_TRACKINGS", cwd=tmp_path, env=env)
    assert proc2.returncode == 0, proc2.stdout + proc2.stderr

    from tests.support.warehouses import Dest

    assert_table_equal(share, Dest("duckdb", f"duckdb:///{db}", "learning", db), "COURSES_TRACKINGS")
    # the password reached neither the output nor anything Prefect or dlt stored
    assert CANARY not in out + proc2.stdout + proc2.stderr
    for path in tmp_path.rglob("*"):  # Prefect home, dlt pipelines dir (state, traces), the warehouse
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


def _commands(command, path=()):
    """Every command and subcommand of the CLI, as the argument lists that reach it."""
    yield list(path)
    # Typer ships its own copy of click, so test for the attribute, not click.Group
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


def test_help_of_every_command_and_the_version(tmp_path):
    import typer.main

    from learnsync import __version__
    from learnsync.cli import app

    commands = list(_commands(typer.main.get_command(app)))
    assert len(commands) >= 10, commands  # the app and its subcommands
    for path in commands:
        proc = in_process(*path, "--help", cwd=tmp_path)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0 and "Traceback" not in out, (path, out[-2000:])
        assert "Usage:" in proc.stdout, (path, out[-2000:])
    # the URI help keeps its brackets as text (Rich markup read them as tags), in the console script's process
    assert "bigquery://PROJECT[/DATASET]" in " ".join(learnsync("sync", "--help", cwd=tmp_path, env={"COLUMNS": "300"}).stdout.split())
    version = learnsync("--version", cwd=tmp_path)
    assert (version.returncode, version.stdout.strip()) == (0, f"learnsync {__version__}"), version.stderr
    from importlib.metadata import version as installed

    assert installed("learnsync") == __version__


def test_a_dataset_without_learnsync_tables_is_refused_and_a_new_one_announced(share, tmp_path):
    create(share, "SKILLS")
    insert(share, "SKILLS", [{"ID": f"s{i}", "CREATED_AT": "2026-01-01 00:00:00", "NAME": f"n{i}"} for i in range(3)])
    db = tmp_path / "w.duckdb"
    env = {"LEARNSYNC_SOURCE_URI": share.uri, "LEARNSYNC_DEST_URI": f"duckdb:///{db}", "LEARNSYNC_DATASET": "learning"}
    first = in_process("sync", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    new = [line for line in first.stdout.splitlines() if "holds no learnsync tables yet" in line]
    assert len(new) == 1 and "learning" in new[0], first.stdout
    again = in_process("sync", cwd=tmp_path, env=env)
    assert again.returncode == 0 and "holds no learnsync tables" not in again.stdout, again.stdout + again.stderr
    for command in (["status"], ["reconcile", "--dry-run"], ["reconcile", "--dry-run", "--json"], ["reconcile"]):
        proc = in_process(*command, "--dataset", "lerning", cwd=tmp_path, env=env)
        assert_user_error(proc, "'lerning'", "holds no learnsync tables", "datasets that do: learning")
        assert not proc.stdout.strip(), proc.stdout  # nothing that looks like a report
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:  # the guards created nothing
        schemas = {r[0] for r in con.execute("SELECT schema_name FROM information_schema.schemata").fetchall()}
    finally:
        con.close()
    assert "lerning" not in schemas and "learning" in schemas, schemas


def test_a_destination_that_is_down_is_one_line_and_exit_2(share, tmp_path):
    for name in ("SKILLS", "COURSES", "USERS"):
        create(share, name)
    env = {"LEARNSYNC_SOURCE_URI": share.uri, "LEARNSYNC_DATASET": "learning",
           "LEARNSYNC_DEST_URI": f"postgresql://postgres@127.0.0.1:{_closed_port()}/test"}
    started = time.monotonic()
    for command in ("sync", "status", "reconcile"):
        proc = in_process(command, cwd=tmp_path, env=env)
        assert_user_error(proc, "cannot reach the postgres destination", "connection refused")
        assert not any(t in proc.stdout for t in ("SKILLS", "COURSES", "USERS")), proc.stdout
    assert time.monotonic() - started < 60


def test_a_duckdb_folder_this_user_cannot_write_is_said_so(share, tmp_path):
    """A DuckDB file in a read-only folder, as a person at a terminal meets it: one line saying the file cannot be
    written and what to do, not "Cannot reach the destination". As root, permissions do not stop a write, so the
    folder is a read-only mount (a mount namespace of the command's own); as anyone else, mode 0555."""
    import shutil

    from tests.support.terminal import in_terminal

    create(share, "SKILLS")
    folder = tmp_path / "readonly"
    folder.mkdir()
    sync = [sys.executable, "-m", "learnsync.cli", "sync", "--source-uri", share.uri,
            "--dest-uri", f"duckdb://{folder}/w.duckdb"]
    if os.geteuid() != 0:
        folder.chmod(0o555)
        command = sync
    else:
        remount = f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}"
        if shutil.which("unshare") is None or subprocess.run(
                ["unshare", "--mount", "sh", "-c", remount], capture_output=True).returncode != 0:
            pytest.skip("root without mount namespaces: no way to make a folder read-only here")
        command = ["unshare", "--mount", "sh", "-c", f"{remount} && exec \"$0\" \"$@\"", *sync]
    run = in_terminal(command=command, cwd=tmp_path, timeout=120)
    lines = [ln for ln in run.text.splitlines() if ln.startswith("error:")]
    assert run.returncode == 2 and len(lines) == 1, run.text[-3000:]
    assert "Traceback" not in run.text and "Cannot reach" not in run.text, run.text[-3000:]
    assert f"Cannot write the DuckDB file {folder}/w.duckdb" in lines[0] and "--dest-uri" in lines[0], lines[0]
    assert "snow" not in run.text.replace("Snowflake", "")
