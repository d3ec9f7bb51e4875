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
from tests.support.cli import learnsync
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
    assert learnsync("sync", cwd=tmp_path, env=env).returncode == 0

    idle = learnsync("sync", cwd=tmp_path, env=env)
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
    status = learnsync("status", "--json", cwd=tmp_path, env=env)
    assert [json.loads(ln)["table"] for ln in status.stdout.splitlines()] == ["COURSES_TRACKINGS", "SKILLS"]


# item 4: a profile that does not fit the share
def test_a_profile_none_of_whose_tables_is_in_the_share_is_refused(share, tmp_path):
    create(share, "COURSES")
    insert(share, "COURSES", [{"ID": "c1", "CREATED_AT": T0, "MODIFIED_AT": T0, "NAME": "Course"}])
    path = tmp_path / "w.duckdb"
    result = cli("sync", "--profile", "datacamp", "--source-uri", share.uri, "--dest-uri", f"duckdb:///{path}")
    one_error_line(result, "datacamp", "--profile 360learning", "--profile auto")
    assert not path.exists()
