"""`learnsync serve` as a person starts it on a fresh machine, in a terminal, with no Prefect server configured
(no PREFECT_API_URL): the schedule it serves runs, on the Prefect server it starts for itself, and that server
sends Prefect no telemetry."""

from __future__ import annotations

import os
import re
import signal
import urllib.request

import pytest

from tests.support.cli import in_process
from tests.support.helpers import assert_table_equal, create, insert
from tests.support.terminal import ANSI, in_terminal
from tests.support.warehouses import Dest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

FLOW_RUN_DONE = r"Flow run '[^']*' - Finished in state (\w+)"
"""The line a flow run (not one of its task runs) ends with in the runner's output."""


def test_serve_without_a_prefect_server_runs_its_schedule(share, tmp_path):
    create(share, "COURSES_TRACKINGS")
    insert(share, "COURSES_TRACKINGS", [
        {"ID": f"ct{i}", "CREATED_AT": f"2026-01-0{1 + i % 5} 10:00:00", "PROGRESS": i, "ACCESS_DATES": ["a"] * i}
        for i in range(6)
    ])
    db, home = tmp_path / "w.duckdb", tmp_path / "prefect-home"
    env = {
        "PREFECT_API_URL": "", "PREFECT_HOME": str(home),
        # the runner asks for due runs every 2 s instead of 10; the scheduler is Prefect's own, as configured
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        "LEARNSYNC_SOURCE_URI": share.uri.replace("fake:snow@", "fake@"),  # serve refuses a password in a URI
        "SOURCES__LEARNSYNC__CREDENTIALS__PASSWORD": "snow",
        "LEARNSYNC_DEST_URI": f"duckdb:///{db}", "LEARNSYNC_DATASET": "learning",
    }

    sent: list[int] = []

    def ctrl_c_after_a_run(text: str, pid: int) -> None:
        if re.search(FLOW_RUN_DONE, ANSI.sub("", text)) and not sent:
            sent.append(pid)
            os.kill(pid, signal.SIGINT)

    # every 15 seconds (Prefect's cron takes a sixth field, seconds), so the first run comes without waiting for a
    # minute; the schedule is still Prefect's, made by its scheduler
    run = in_terminal("serve", "--profile", "360learning", "--cron", "* * * * * */15", cwd=tmp_path, env=env,
                      timeout=300, on_output=ctrl_c_after_a_run)
    (tmp_path / "run.txt").write_text(run.text)
    done = re.search(FLOW_RUN_DONE, run.text)
    assert done and done[1] == "Completed", run.text[-4000:]
    started = re.search(r"started a Prefect server at (http://127\.0\.0\.1:\d+)", run.text)
    assert started, run.text[-4000:]
    assert_table_equal(share, Dest("duckdb", f"duckdb:///{db}", "learning", db), "COURSES_TRACKINGS")
    history = in_process("history", "--dest-uri", f"duckdb:///{db}", "--dataset", "learning", cwd=tmp_path)
    assert history.returncode == 0 and "COURSES_TRACKINGS" in history.stdout, history.stdout + run.text[-3000:]
    # no telemetry attempt (nothing leaves the machine), and the server went with the process
    log = (home / "learnsync-serve-server.log").read_text(errors="replace")
    assert "telemetry" not in (run.text + log).lower(), log[-3000:]
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{started[1]}/api/health", timeout=5)
