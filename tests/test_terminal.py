"""Every command that draws progress, run as a person runs it: in a pseudo-terminal, over a share of many tables."""

from __future__ import annotations

import os
import signal

import pytest

from learnsync import emulator
from learnsync.catalog.vendor_docs import LEARNING_360
from tests.support.helpers import assert_table_equal
from tests.support.terminal import in_terminal
from tests.support.warehouses import Dest

pytestmark = [pytest.mark.slow, pytest.mark.long]  # the demo and sync run in a pseudo-terminal, as processes

TABLES = [t.name for t in LEARNING_360]


def _ok_lines(text: str) -> dict[str, str]:
    """Each table's final line (`  NAME  strategy rows ... ok`), by table."""
    lines = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) > 3 and words[0] in TABLES and words[2] == "rows":
            lines[words[0]] = line
    return lines


def test_sync_in_a_terminal_draws_progress_and_syncs_every_table(share, tmp_path):
    emulator.create_360learning(share.conn, share.database, share.schema)
    db = tmp_path / "w.duckdb"
    env = {"LEARNSYNC_SOURCE_URI": share.uri, "LEARNSYNC_DEST_URI": f"duckdb:///{db}", "LEARNSYNC_DATASET": "learning"}

    run = in_terminal("sync", cwd=tmp_path, env=env)
    assert run.returncode == 0, run.text[-3000:]
    assert "Traceback" not in run.text, run.text[-3000:]
    assert run.drew, "a terminal gets the live display"
    lines = _ok_lines(run.text)
    assert sorted(lines) == sorted(TABLES), run.text[-3000:]
    assert all(line.rstrip().endswith("ok") for line in lines.values()), lines
    dest = Dest("duckdb", f"duckdb:///{db}", "learning", db)
    for name in TABLES:
        assert_table_equal(share, dest, name)
    runs = dest.query('SELECT table_name, outcome FROM "{ds}"."_learnsync_runs"')
    assert sorted(runs) == sorted((name, "ok") for name in TABLES)

    # the same terminal without the display: LEARNSYNC_PROGRESS, and --no-progress over it
    for extra, environ in (([], {"LEARNSYNC_PROGRESS": "false"}), (["--no-progress"], {"LEARNSYNC_PROGRESS": "true"})):
        plain = in_terminal("sync", *extra, cwd=tmp_path, env={**env, **environ})
        assert plain.returncode == 0, plain.text[-3000:]
        assert not plain.drew, plain.raw[-2000:]
        assert sorted(_ok_lines(plain.text)) == sorted(TABLES)


def test_demo_serve_in_a_terminal_draws_and_stops_on_ctrl_c_with_an_absolute_duckdb_uri(tmp_path):
    """The demo as a person runs it, in a terminal (its display drawn: LEARNSYNC_PROGRESS at its default), served
    until Ctrl-C, with `--dest-uri duckdb:///abs/path` (the absolute form, as destinations/duckdb.py reads it) from
    another working directory: the sync, the dbt build, what the demo prints and the query it suggests all use that
    one file, and nothing is left in the working directory. The demo without the display and at its default file,
    in a terminal from an empty folder: tests/test_first_hour.py; piped: tests/test_cli.py (one demo run each)."""
    import shlex
    import subprocess

    import duckdb
    import yaml

    from tests.support.cli import in_process

    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    path = elsewhere / "demo.duckdb"

    def ctrl_c_when_served(text: str, pid: int) -> None:
        if "until Ctrl-C" in text and "learnsync dbt-sources" in text.split("until Ctrl-C", 1)[1]:
            os.kill(pid, signal.SIGINT)

    run = in_terminal("demo", "--serve", "--dest-uri", f"duckdb://{path}", cwd=work, timeout=900,
                      on_output=ctrl_c_when_served)
    assert run.returncode == 0, run.text[-3000:]
    assert "Traceback" not in run.text, run.text[-3000:]
    assert run.drew, "a terminal gets the live display"
    assert "Done. Try:" in run.text
    assert "dbt build: Done." in run.text and "ERROR=0" in run.text, run.text[-3000:]
    assert f"What to open in {path.name}:" in run.text
    assert list(work.iterdir()) == [], "the demo wrote into the working directory"
    assert sorted(p.name for p in elsewhere.iterdir()) == ["demo.duckdb"]
    (command,) = [line.split("Try:", 1)[1].strip() for line in run.text.splitlines() if "Try:" in line]
    query = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert query.returncode == 0 and "completion_rate" in query.stdout, query.stdout + query.stderr
    exports = [dict(kv.split("=", 1) for kv in shlex.split(line.strip())[1:])
               for line in run.text.splitlines() if line.strip().startswith("export LEARNSYNC_SOURCE_URI=")]
    assert {e["LEARNSYNC_DEST_URI"] for e in exports} == {f"duckdb://{path}"}, exports
    # the dbt project it suggests points at the datasets the demo loaded (its check passes)
    (line,) = [ln.strip() for ln in run.text.splitlines() if " dbt-project --profile both " in ln]
    # the hints name learnsync as this shell can run it: on PATH, or by its path (a venv not activated)
    hint = shlex.split(line)[0]
    assert subprocess.run([hint, "--version"], cwd=tmp_path, capture_output=True, timeout=60).returncode == 0, line
    made = in_process(*shlex.split(line.split("   ")[0])[1:], "--output", str(tmp_path / "project"), cwd=tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    project = yaml.safe_load((tmp_path / "project" / "dbt_project.yml").read_text())
    assert project["vars"] == {"learnsync_360learning_schema": "learning_360", "learnsync_datacamp_schema": "datacamp"}
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM learning_360.users").fetchall()[0][0] > 0
        assert con.execute("SELECT count(*) FROM learnsync_dbt.learning360__course_completion_funnel").fetchall()[0][0] > 0
