"""A person's first hour (issue 21): what the demo shows, numbers that add up, input refused in one line, backfills
without a Prefect server, alerts and words a person can act on."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from learnsync.cli import app
from tests.support.cli import in_process, learnsync
from tests.support.helpers import create, insert
from tests.support.rows import T0, tracking


def cli(*args: str, env: dict | None = None) -> Any:
    """The command in process (Typer's CliRunner): for input a run refuses before it starts."""
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


def one_error_line(result: Any, *needles: str) -> str:
    """Exit 2 with one `error:` line holding every needle, and no traceback."""
    out = result.output
    assert result.exit_code == 2, out
    assert "Traceback" not in out, out
    lines = [ln for ln in out.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, out
    for needle in needles:
        assert needle.lower() in lines[0].lower(), lines[0]
    return lines[0]


def _duckdb_rows(path: Path, sql: str) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _queries(line: str) -> int:
    return int(re.search(r"snowflake (\d+) queries", line).group(1))


# item 3: numbers add up
def test_an_idle_runs_check_is_charged_to_the_run_not_to_every_table(share, tmp_path):
    create(share, "COURSES_TRACKINGS")
    create(share, "SKILLS")
    insert(share, "COURSES_TRACKINGS", [tracking(i, T0 - timedelta(hours=i)) for i in range(6)])
    insert(share, "SKILLS", [{"ID": "s1", "CREATED_AT": T0, "NAME": "sql"}])
    path = tmp_path / "w.duckdb"
    env = {"LEARNSYNC_SOURCE_URI": share.uri, "LEARNSYNC_DEST_URI": f"duckdb:///{path}", "LEARNSYNC_DATASET": "d"}
    assert in_process("sync", cwd=tmp_path, env=env).returncode == 0

    idle = in_process("sync", cwd=tmp_path, env=env)
    assert idle.returncode == 0, idle.stdout + idle.stderr
    lines = idle.stdout.splitlines()
    tables = [ln for ln in lines if ln.strip().startswith(("COURSES_TRACKINGS", "SKILLS"))]
    check = [ln for ln in lines if ln.strip().startswith("(check)")]
    assert len(tables) == 2 and len(check) == 1, idle.stdout
    assert [_queries(ln) for ln in tables] == [0, 0], tables
    total = re.search(r"Snowflake: (\d+) queries, .* \((\d+) by the tables, (\d+) for the check, (\d+) reading",
                      idle.stdout)
    assert total, idle.stdout
    all_, by_tables, by_check, catalog = map(int, total.groups())
    assert by_tables == 0 and by_check == _queries(check[0]) == 1 and all_ == by_tables + by_check + catalog

    runs = _duckdb_rows(path, "SELECT table_name, mode, queries FROM d._learnsync_runs WHERE run_id = (SELECT run_id"
                              " FROM d._learnsync_runs ORDER BY started_at DESC LIMIT 1) ORDER BY table_name")
    assert runs == [("*", "check", 1), ("COURSES_TRACKINGS", "incremental", 0), ("SKILLS", "incremental", 0)], runs
    # the check row is no table: status still reports the two tables, and nothing reports a table "*"
    status = in_process("status", "--json", cwd=tmp_path, env=env)
    assert [json.loads(ln)["table"] for ln in status.stdout.splitlines()] == ["COURSES_TRACKINGS", "SKILLS"]


# item 4: a profile that does not fit the share
def test_a_profile_none_of_whose_tables_is_in_the_share_is_refused(share, tmp_path):
    create(share, "COURSES")
    insert(share, "COURSES", [{"ID": "c1", "CREATED_AT": T0, "MODIFIED_AT": T0, "NAME": "Course"}])
    path = tmp_path / "w.duckdb"
    result = cli("sync", "--profile", "datacamp", "--source-uri", share.uri, "--dest-uri", f"duckdb:///{path}")
    one_error_line(result, "datacamp", "--profile 360learning", "--profile auto")
    assert not path.exists()


# item 2: the demo shows the whole product (and item 7: its syncs are in the run history)
@pytest.mark.slow  # the demo syncs two shares and builds the whole dbt package: minutes
@pytest.mark.long
def test_the_demo_builds_the_whole_dbt_package_and_its_two_top_fives_agree(tmp_path):
    """`learnsync demo --no-progress` in a terminal from an empty folder: no live display, only its DuckDB file left
    (the demo with its display: tests/test_terminal.py). One demo run for both, about a minute."""
    import shlex
    import subprocess

    from learnsync.dbt_project import PACKAGE_DIR
    from tests.support.terminal import in_terminal

    demo = in_terminal("demo", "--no-progress", cwd=tmp_path, timeout=900)
    out = demo.text
    assert demo.returncode == 0 and "Traceback" not in out, out[-4000:]
    assert not demo.drew, demo.raw[-2000:]
    assert "Done. Try:" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["learnsync-demo.duckdb"]
    assert re.search(r"dbt build: Done\. PASS=\d+ WARN=0 ERROR=0 SKIP=0", out), out[-3000:]
    path = tmp_path / "learnsync-demo.duckdb"
    built = {r[0] for r in _duckdb_rows(path, "SELECT table_name FROM information_schema.tables"
                                              " WHERE table_schema = 'learnsync_dbt'")}
    models = {p.stem for p in (PACKAGE_DIR / "models").rglob("*.sql")}
    assert models <= built, sorted(models - built)
    assert "What to open in learnsync-demo.duckdb:" in out and " history --dest-uri" in out, out[-3000:]
    # item 8: marts a BI tool reads: counts as BIGINT (never HUGEINT), descriptions as comments
    assert _duckdb_rows(path, "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema ="
                              " 'learnsync_dbt' AND data_type = 'HUGEINT'") == []
    uncommented = _duckdb_rows(path, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'learnsync_dbt' AND"
                                     " comment IS NULL UNION ALL SELECT view_name FROM duckdb_views() WHERE"
                                     " schema_name = 'learnsync_dbt' AND comment IS NULL")
    assert uncommented == [], uncommented

    # the printed top five and the suggested query's: the same courses and counts
    lines = out.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith("learnsync_dbt.learning360__course_completion_funnel"))
    printed = [ln.split()[-5] for ln in lines[head + 2: head + 7]]  # the attempts column
    (command,) = [ln.split("Try:", 1)[1].strip() for ln in lines if "Try:" in ln]
    query = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert query.returncode == 0, query.stderr
    rows = _duckdb_rows(path, "SELECT attempts FROM learnsync_dbt.learning360__course_completion_funnel"
                              " ORDER BY attempts DESC, course_id LIMIT 5")
    assert printed == [str(r[0]) for r in rows], (printed, rows)
    assert "learnsync_dbt.learning360__course_completion_funnel" in shlex.split(command)[-1]
    assert [str(r[0]) for r in rows][0] in query.stdout, query.stdout

    history = learnsync("history", "--dest-uri", f"duckdb:///{path}", "--dataset", "datacamp", "--json",
                        cwd=tmp_path)
    assert history.returncode == 0, history.stdout + history.stderr
    assert {json.loads(ln)["table"] for ln in history.stdout.splitlines()} >= {"FACT_LEARN_EVENTS", "DIM_USER"}


# item 7: what the operator reads is true
def test_status_and_history_on_a_missing_duckdb_file_create_nothing(share, tmp_path):
    create(share, "SKILLS")
    path = tmp_path / "nowhere.duckdb"
    uri = f"duckdb:///{path}"
    one_error_line(cli("history", "--dest-uri", uri), "does not exist", str(path))
    one_error_line(cli("status", "--source-uri", share.uri, "--dest-uri", uri), "does not exist")
    assert not path.exists() and not (tmp_path / ".nowhere.duckdb.locks").exists(), list(tmp_path.iterdir())


def test_status_after_a_dry_run_that_found_drift_says_nothing_was_changed(share, tmp_path):
    create(share, "SKILLS")
    insert(share, "SKILLS", [{"ID": f"s{i}", "CREATED_AT": T0, "NAME": f"n{i}"} for i in range(3)])
    flags = ["--source-uri", share.uri, "--dest-uri", f"duckdb:///{tmp_path / 'w.duckdb'}"]
    assert cli("sync", *flags).exit_code == 0
    share.sql(f'UPDATE "{share.database}"."{share.schema}"."SKILLS" SET "NAME" = \'changed\' WHERE "ID" = \'s1\'')
    assert cli("reconcile", "--dry-run", *flags).exit_code == 1
    status = cli("status", *flags)
    assert status.exit_code == 0, status.output
    line = next(ln for ln in status.output.splitlines() if ln.startswith("SKILLS"))
    assert "dry run: 1 row differing from the share, not changed" in line and "not changed" in line and "rows changed" not in line, line
    report = json.loads(cli("status", "--json", *flags).output.splitlines()[0])
    assert report["last_reconcile_dry_run"] is True and report["last_reconcile_drift"] == 1, report


def test_help_shows_the_key_pair_form_of_the_source_uri():
    text = cli("sync", "--help").output
    assert "USER:PASSWORD" not in text and "snowflake://USER@ACCOUNT" in text and "private_key_path" in text, text


# item 5: backfill and full refresh from the command line, without a Prefect server
def test_backfill_input_is_refused_in_one_line_before_anything_starts(share, tmp_path):
    create(share, "COURSES_TRACKINGS")
    duck = f"duckdb:///{tmp_path / 'w.duckdb'}"
    flags = ["--source-uri", share.uri, "--dest-uri", duck]
    one_error_line(cli("backfill", "--tables", "COURSES_TRACKINGS", "--start", "2026-01-03", "--end", "2026-01-01",
                       *flags), "must be after its start")
    one_error_line(cli("backfill", "--tables", "NOPE", "--start", "2026-01-01", "--end", "2026-01-03", *flags),
                   "unknown table", "NOPE")
    one_error_line(cli("backfill", "--tables", "COURSES_TRACKINGS", "--start", "2026-01-01", "--end", "2026-01-03",
                       "--source-uri", share.uri, "--dest-uri", f"file://{tmp_path / 'files'}"), "cannot merge rows")
    one_error_line(cli("backfill", "--start", "2026-01-01", "--end", "2026-01-03", *flags), "--tables")
    assert not (tmp_path / "w.duckdb").exists() and not (tmp_path / "files").exists()


def test_backfill_runs_its_lanes_here_and_full_refresh_is_a_full_sync(share, tmp_path):
    from tests.support.helpers import assert_table_equal
    from tests.support.warehouses import Dest

    create(share, "COURSES_TRACKINGS")
    insert(share, "COURSES_TRACKINGS", [tracking(i, T0 - timedelta(hours=6 * i)) for i in range(16)])
    path = tmp_path / "w.duckdb"
    dest = Dest("duckdb", f"duckdb:///{path}", "learning", path)
    env = {"LEARNSYNC_SOURCE_URI": share.uri, "LEARNSYNC_DEST_URI": dest.uri,
           "PREFECT_API_URL": "http://127.0.0.1:9/api"}  # a server that is not there: nothing may need one
    assert in_process("sync", cwd=tmp_path, env=env).returncode == 0
    # changed in place, far behind the cursor: only a backfill (or a reconcile) takes it
    share.sql(f'UPDATE "{share.database}"."{share.schema}"."COURSES_TRACKINGS" SET "PROGRESS" = 99'
              " WHERE \"ID\" IN ('ct00011', 'ct00012')")
    start, end = (T0 - timedelta(days=4)).date().isoformat(), (T0 - timedelta(days=2)).date().isoformat()
    run = in_process("backfill", "--tables", "COURSES_TRACKINGS", "--start", start, "--end", end,
                    "--window-hours", "12", "--parallel", "2", cwd=tmp_path, env=env)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "Traceback" not in out and "prefect" not in out.lower() and "database is locked" not in out, out
    # --parallel 2, but a DuckDB file loads one window at a time: the header says what happens (it said "2 at once")
    assert "windows of 12 h, 1 at once (--parallel 2: it loads one at a time)" in out and re.search(r"COURSES_TRACKINGS .* windows 4 .* ok", out), out
    assert_table_equal(share, dest, "COURSES_TRACKINGS")

    share.sql(f'DELETE FROM "{share.database}"."{share.schema}"."COURSES_TRACKINGS" WHERE "ID" = \'ct00003\'')
    refresh = in_process("full-refresh", "--tables", "COURSES_TRACKINGS", cwd=tmp_path, env=env)
    assert refresh.returncode == 0, refresh.stdout + refresh.stderr
    assert "prefect" not in (refresh.stdout + refresh.stderr).lower(), refresh.stdout + refresh.stderr
    assert_table_equal(share, dest, "COURSES_TRACKINGS")


# item 6: alerts a person can act on (the notifications themselves: tests/test_watching.py's alert test)
def test_alert_bodies_say_the_window_in_words_and_what_to_run():
    from learnsync.flows.automations import AUTOMATIONS_FILE, hours_text, load

    automations = {a.name: a for a in load(AUTOMATIONS_FILE, "00000000-0000-0000-0000-000000000000", stale_hours=3)}
    stale = automations["learnsync table not synced"]
    action = stale.actions[0]
    assert "3 hours" in action.subject and "3 hours" in action.body and "STALE_WINDOW" not in action.body
    assert "0:03:00" not in action.body and "learnsync status --profile" in action.body
    assert "Tables affected" in action.body and stale.trigger.for_each == {"prefect.resource.id"}
    assert "learnsync status --profile" in automations["learnsync flow run failed"].actions[0].body
    assert [hours_text(s) for s in (14.4, 1800, 3600, 93600)] == ["14.4 seconds", "30 minutes", "1 hour", "26 hours"]


# item 9: words, not reprs
def test_reports_hold_words_and_json_nulls_not_reprs(share):
    from learnsync.flows.sync import group_lanes
    from learnsync.flows.tasks import span_text, summary
    from learnsync.pipelines.sync import TableResult

    row = summary(TableResult("SKILLS", "merge"))
    assert row["old_cursor"] is None and row["new_cursor"] is None and json.dumps(row).count("null") >= 2
    assert span_text(None, None) == "" and "None" not in span_text(T0, T0 + timedelta(hours=1))
    lane = {"table": "A lane 0", "outcome": "ok", "rows": 1, "rows_new": 0, "rows_reread": 1, "seconds": 10.0,
            "snowflake_queries": 1, "snowflake_seconds": 0.1, "old_cursor": None, "new_cursor": None,
            "lag_seconds": None}
    # two lanes side by side for 10 s each: the table took 12 s of wall time, not 20
    [grouped] = group_lanes([{**lane, "lane_span": (100.0, 110.0)},
                             {**lane, "table": "A lane 1", "lane_span": (102.0, 112.0)}], "[a, b)")
    assert grouped["seconds"] == 12.0 and "lane_span" not in grouped, grouped
    create(share, "SKILLS")
    tables = cli("tables", "--source-uri", share.uri, "--tables", "SKILLS")
    assert tables.exit_code == 0 and "lookback 24 h" in tables.output and "day" not in tables.output, tables.output


# item 8: a warehouse a BI user can read
def test_the_run_history_keeps_run_history_days_pruned_by_the_runs(tmp_path, monkeypatch):
    from datetime import datetime, timezone

    from learnsync.destinations import resolve
    from learnsync.pipelines import runs

    path = tmp_path / "w.duckdb"
    target = resolve(f"duckdb:///{path}", "d")
    now = datetime.now(timezone.utc)

    def run(table: str, days_ago: float) -> Any:
        return runs.RunRecord(table, "r", "incremental", now - timedelta(days=days_ago), 1.0, 0, 0, 0, None, None,
                              "ok", None, 0, 0.0)

    monkeypatch.setenv("LEARNSYNC_RUN_HISTORY_DAYS", "0")  # kept forever
    assert runs.record_many(target, "d", [run("OLD", 120), run("MIDDLE", 40)])
    monkeypatch.delenv("LEARNSYNC_RUN_HISTORY_DAYS")  # the default: 90 days
    assert runs.record(target, "d", run("NEW", 0))
    assert sorted(r[0] for r in _duckdb_rows(path, "SELECT table_name FROM d._learnsync_runs")) == ["MIDDLE", "NEW"]
    monkeypatch.setenv("LEARNSYNC_RUN_HISTORY_DAYS", "30")
    assert runs.record(target, "d", run("NEWER", 0))
    assert sorted(r[0] for r in _duckdb_rows(path, "SELECT table_name FROM d._learnsync_runs")) == ["NEW", "NEWER"]


def test_serve_refuses_a_password_in_a_uri_in_one_line_as_deploy_does(share, tmp_path):
    uri = share.uri.replace("fake:snow@", "fake:canary-Pa55word-7f3a@")
    result = cli("serve", "--source-uri", uri, "--dest-uri", f"duckdb:///{tmp_path / 'w.duckdb'}")
    line = one_error_line(result, "--source-uri holds a password", "SOURCES__LEARNSYNC__CREDENTIALS__PASSWORD")
    assert "canary" not in result.output, line


def test_history_of_a_table_the_dataset_does_not_hold_is_refused_naming_those_it_holds(share, tmp_path):
    create(share, "SKILLS")
    insert(share, "SKILLS", [{"ID": f"s{i}", "CREATED_AT": T0, "NAME": f"n{i}"} for i in range(3)])
    uri = f"duckdb:///{tmp_path / 'w.duckdb'}"
    assert learnsync("sync", "--source-uri", share.uri, "--dest-uri", uri, cwd=tmp_path).returncode == 0
    one_error_line(cli("history", "--dest-uri", uri, "--table", "SKILSS"), "SKILSS", "SKILLS", "--table")
    found = cli("history", "--dest-uri", uri, "--table", "skills")  # share names in any case, as elsewhere
    assert found.exit_code == 0 and "SKILLS" in found.output and " ok " in found.output, found.output


def test_serve_refuses_a_schedule_that_is_not_a_cron_in_one_line_before_anything_starts(share, tmp_path):
    uri = share.uri.replace("fake:snow@", "fake@")  # the password comes from the environment, as serve wants
    for cron in ("not a cron", "99 * * * *"):
        result = cli("serve", "--source-uri", uri, "--dest-uri", f"duckdb:///{tmp_path / 'w.duckdb'}", "--cron", cron)
        one_error_line(result, f"--cron {cron!r} is not a cron schedule", "'0 * * * *'")
        assert "started a Prefect server" not in result.output, result.output


def test_automations_apply_without_a_prefect_api_is_refused_in_one_line_before_prefect_starts(tmp_path):
    home = tmp_path / "prefect-home"
    result = cli("automations", "apply", "--notify-block", "slack", env={"PREFECT_API_URL": "", "PREFECT_HOME": str(home)})
    one_error_line(result, "PREFECT_API_URL", "prefect server start")
    assert not [p for p in home.rglob("*") if p.is_file()]  # Prefect's throwaway server would have made its database
