"""Prefect flows on the session's Prefect test server (prefect_test_harness), against the emulator and real destinations."""

from __future__ import annotations

import json
import os
import threading
from datetime import timedelta

import pytest

os.environ.setdefault("LEARNSYNC_RETRY_BACKOFF", "0")  # before the flows module builds its task

from tests.support.helpers import assert_table_equal, create, insert  # noqa: E402
from tests.support.rows import T0, trackings



pytestmark = pytest.mark.usefixtures("prefect_server")  # the session's Prefect test server (tests/conftest.py)


def _params(share, dest) -> dict:
    # the password never travels in parameters: it comes from the environment (dlt secrets)
    return dict(source_uri=share.uri.replace("fake:snow@", "fake@"), destination=dest.uri, dataset=dest.dataset)


@pytest.fixture(autouse=True)
def _password(monkeypatch):
    monkeypatch.setenv("SOURCES__LEARNSYNC__CREDENTIALS__PASSWORD", "snow")


def test_sync_flow_fans_out_and_reports(share, dest):
    from prefect.artifacts import Artifact

    from learnsync.flows.sync import sync_flow

    create(share, "COURSES_TRACKINGS")
    create(share, "SKILLS")
    trackings(share, 20, T0)
    insert(share, "SKILLS", [{"ID": "s1", "CREATED_AT": T0, "NAME": "sql"}])
    state = sync_flow(**_params(share, dest), return_state=True)
    assert state.is_completed(), state.message
    assert_table_equal(share, dest, "COURSES_TRACKINGS")
    assert_table_equal(share, dest, "SKILLS")
    artifact = Artifact.get("learnsync-sync")
    assert artifact is not None and "COURSES_TRACKINGS" in str(artifact.data)


def test_one_failing_table_fails_the_run_but_not_the_others(share, tmp_path):
    import duckdb

    from learnsync.flows.sync import sync_flow
    from tests.support.warehouses import Dest

    create(share, "COURSES_TRACKINGS")
    create(share, "SKILLS")
    trackings(share, 5, T0)
    insert(share, "SKILLS", [{"ID": "s1", "CREATED_AT": T0, "NAME": "sql"}])
    path = tmp_path / "w.duckdb"
    dest = Dest("duckdb", f"duckdb:///{path}", "learning", path)
    con = duckdb.connect(str(path))  # a table the warehouse already has, with a column that cannot take text
    con.execute("CREATE SCHEMA learning; CREATE TABLE learning.skills (id INTEGER, name INTEGER)")
    con.close()
    state = sync_flow(**_params(share, dest), return_state=True)
    assert state.is_failed()
    assert "SKILLS" in state.message and "COURSES_TRACKINGS" not in state.message
    assert_table_equal(share, dest, "COURSES_TRACKINGS")


def test_backfill_rereads_a_range_and_never_moves_the_cursor(share, dest):
    from learnsync.flows.sync import backfill_flow, sync_flow

    create(share, "COURSES_TRACKINGS")
    trackings(share, 48, T0)
    assert sync_flow(**_params(share, dest), return_state=True).is_completed()
    # in place changes inside the range (the cursor does not move), and a row later than everything
    share.sql('UPDATE "COURSES_TRACKINGS" SET "PROGRESS" = 100, "ACCESS_DATES" = PARSE_JSON(\'[]\')'
              ' WHERE "ID" IN (\'ct0005\', \'ct0030\')')
    trackings(share, 1, T0 + timedelta(days=10), prefix="late")
    params = dict(tables=["COURSES_TRACKINGS"], start=T0, end=T0 + timedelta(days=2), window_hours=12, parallel=2,
                  **_params(share, dest))
    for _ in range(2):  # the same backfill twice changes nothing more
        assert backfill_flow(**params, return_state=True).is_completed()
        got = dict(dest.query('SELECT id, progress FROM "{ds}"."courses_trackings"'))
        assert got["ct0005"] == 100 and got["ct0030"] == 100
        assert "late0000" not in got  # outside the range
        assert dest.query('SELECT count(*) FROM "{ds}"."courses_trackings__access_dates"'
                          " WHERE parent_id IN ('ct0005', 'ct0030')") == [(0,)]
        # the lanes' staging datasets are gone once their lanes are done (`<dataset>_staging` is the sync's: its
        # first load merged its first window)
        assert _datasets(dest) == {dest.dataset, f"{dest.dataset}_staging"}, _datasets(dest)
    # the stored cursor did not move, so the next sync still picks the late row up
    assert sync_flow(**_params(share, dest), return_state=True).is_completed()
    assert_table_equal(share, dest, "COURSES_TRACKINGS")


def _datasets(dest) -> set:
    """The destination's datasets named after the test's dataset."""
    if dest.kind == "bigquery":
        return {d.dataset_id for d in dest.client.list_datasets() if d.dataset_id.startswith(dest.dataset)}
    return {r[0] for r in dest.query("SELECT schema_name FROM information_schema.schemata")
            if r[0].startswith(dest.dataset)}


def test_full_refresh_flow_replaces_the_table(share, dest):
    from learnsync.flows.sync import full_refresh_flow, sync_flow

    create(share, "COURSES_TRACKINGS")
    trackings(share, 30, T0)
    assert sync_flow(**_params(share, dest), return_state=True).is_completed()
    share.sql('DELETE FROM "COURSES_TRACKINGS" WHERE "ID" = \'ct0003\'')  # a hard delete a cursor cannot see
    assert full_refresh_flow(tables=["COURSES_TRACKINGS"], **_params(share, dest), return_state=True).is_completed()
    assert_table_equal(share, dest, "COURSES_TRACKINGS")


def test_a_dry_run_reconcile_that_finds_drift_ends_failed_without_a_traceback(share, tmp_path):
    """Drift found by a dry run is the run's answer, not a crash: Failed with a message naming the table, and no
    engine traceback in the run's logs (issue 21 item 7); the warehouse is left as it was."""
    import logging

    import duckdb
    from prefect.exceptions import FailedRun
    from prefect.flow_engine import run_flow
    from prefect.logging.loggers import get_logger

    from learnsync.flows.sync import reconcile_flow, sync_flow

    params = dict(source_uri=share.uri.replace("fake:snow@", "fake@"), dataset="learning",
                  destination=f"duckdb:///{tmp_path / 'w.duckdb'}")
    create(share, "SKILLS")
    insert(share, "SKILLS", [{"ID": f"s{i}", "CREATED_AT": T0 + timedelta(hours=i), "NAME": "n"} for i in range(4)])
    assert sync_flow(**params, return_state=True).is_completed()
    share.sql("UPDATE \"SKILLS\" SET \"NAME\" = 'renamed' WHERE \"ID\" = 's1'")  # in place: no cursor sees it

    class Records(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.DEBUG)
            self.records: list[logging.LogRecord] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.records.append(record)

    logs, run_logger = Records(), get_logger("flow_runs")  # the run's logger: what Prefect's UI shows for the run
    run_logger.addHandler(logs)
    try:
        state = reconcile_flow(**params, dry_run=True, return_state=True)
        # as a worker runs a deployment's flow run (prefect.flow_engine._run_flow_from_runtime_entrypoint): the
        # result is asked for, so the Failed state is raised, and the engine logs what it raised to the run's logger
        with pytest.raises(FailedRun, match="differ from the share"):
            run_flow(reconcile_flow, parameters=dict(params, dry_run=True), error_logger=run_logger)
    finally:
        run_logger.removeHandler(logs)
    assert state.is_failed() and "1 table(s) differ from the share: SKILLS" in state.message, state.message
    said = [r.getMessage() for r in logs.records]
    assert sum("Finished in state Failed('1 table(s) differ from the share: SKILLS')" in m for m in said) == 2, said
    assert not [r for r in logs.records if r.exc_info or r.levelno >= logging.ERROR], said
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT name FROM learning.skills WHERE id = 's1'").fetchone() == ("n",)


def test_passwords_are_refused_as_parameters(share, dest):
    from learnsync.flows.sync import sync_flow

    state = sync_flow(source_uri=share.uri, destination=dest.uri, dataset=dest.dataset, return_state=True)
    assert state.is_failed() and "password" in state.message.lower()
    assert "snow" not in state.message.replace("fakesnow", "")


def test_a_second_run_of_the_same_table_waits_for_the_lock(share, dest):
    from learnsync.destinations import resolve
    from learnsync.pipelines.sync import table_lock
    from tests.support.helpers import run_sync

    create(share, "SKILLS")
    insert(share, "SKILLS", [{"ID": "s1", "CREATED_AT": T0}])
    target = resolve(dest.uri, dest.dataset)
    held = threading.Event()
    release = threading.Event()

    def holder():
        with table_lock(target, dest.dataset, "SKILLS", 5):
            held.set()
            release.wait(30)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(10)
    try:
        results = run_sync(share, dest, expect_ok=False, lock_timeout=1)
        assert not results[0].ok and "Another learnsync run" in results[0].error
    finally:
        release.set()
        t.join()
    run_sync(share, dest)
    assert_table_equal(share, dest, "SKILLS")


def test_fan_out_on_a_two_process_dask_cluster(share):
    """Tables sync in Dask worker processes (Postgres: DuckDB takes one writing process at a time)."""
    from prefect_dask import DaskTaskRunner

    from learnsync.flows.sync import sync_flow
    from tests.support.warehouses import PG_URI, Dest, drop_pg_schema

    for table in ("COURSES_TRACKINGS", "SKILLS", "USERS"):
        create(share, table)
    trackings(share, 25, T0)
    insert(share, "SKILLS", [{"ID": f"s{i}", "CREATED_AT": T0, "NAME": f"skill {i}"} for i in range(3)])
    insert(share, "USERS", [{"ID": "u1", "CREATED_AT": T0, "MANAGERS": ["u2", "u3"]}])
    dest = Dest("postgres", PG_URI, f"t_dask_{os.getpid()}", None)
    runner = DaskTaskRunner(cluster_kwargs={"n_workers": 2, "processes": True, "threads_per_worker": 1})
    try:
        state = sync_flow.with_options(task_runner=runner)(**_params(share, dest), return_state=True)
        assert state.is_completed(), state.message
        for table in ("COURSES_TRACKINGS", "SKILLS", "USERS"):
            assert_table_equal(share, dest, table)
    finally:
        drop_pg_schema(dest.dataset)


@pytest.mark.parametrize("login, retried", [(1, "list-tables"), (2, "incremental COURSES_TRACKINGS")])
def test_a_source_outage_in_a_task_is_retried_and_heals(share, tmp_path, login, retried):
    """The source goes away as a task logs in (a proxy cuts every connection for 4 s): the flow's first task,
    which lists the tables, or the table's task. The task fails fast (short timeouts), Prefect retries it, a later
    attempt runs once the source is back, and the data is exact."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from learnsync.flows.sync import sync_flow
    from tests.support.warehouses import Dest
    from tests.support.flaky_proxy import FlakyProxy

    create(share, "COURSES_TRACKINGS")
    trackings(share, 30, T0)
    path = tmp_path / "w.duckdb"
    dest = Dest("duckdb", f"duckdb:///{path}", "learning", path)
    proxy = FlakyProxy(share.server.port)
    proxy.outage_at_login(login, 4.0)
    params = _params(share, dest)
    params["source_uri"] = (params["source_uri"].replace(f"port={share.server.port}", f"port={proxy.port}")
                            + "&login_timeout=2&network_timeout=3&socket_timeout=3")
    try:
        state = sync_flow(tables=["COURSES_TRACKINGS"], **params, return_state=True)
    finally:
        proxy.close()
    assert len(proxy.outages) == 1 and proxy.refused > 0, "the outage did not happen"
    assert state.is_completed(), state.message
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(any_=[state.state_details.flow_run_id])))
    counts = {r.name.rsplit("-", 1)[0]
              if r.name.startswith(("list-tables", "reach-destination", "unchanged-tables")) else r.name:
              r.run_count for r in runs}
    assert set(counts) == {"list-tables", "reach-destination", "unchanged-tables", "incremental COURSES_TRACKINGS"}, \
        counts
    assert all(r.state.is_completed() for r in runs)
    assert counts[retried] >= 2, counts  # the task that met the outage ran again
    assert_table_equal(share, dest, "COURSES_TRACKINGS")


def test_only_failures_that_may_pass_are_retried():
    from learnsync.flows.tasks import TableFailed, is_transient
    from learnsync.errors import DestinationUnreachable, LearnsyncError, SourceUnreachable
    from learnsync.pipelines.sync import TableResult

    def failed(exc: BaseException) -> TableFailed:
        return TableFailed(TableResult("T", "merge", error=str(exc), exception=exc))

    assert is_transient(SourceUnreachable("Could not reach ..."))
    assert is_transient(DestinationUnreachable("Cannot reach ..."))
    assert is_transient(ConnectionResetError()) and is_transient(failed(ConnectionResetError()))
    assert not is_transient(LearnsyncError("Login ... failed")) and not is_transient(failed(LearnsyncError("x")))


def test_serve_of_two_vendors_keeps_both_sets_of_deployments(tmp_path):
    """`learnsync serve` for a second vendor adds its four deployments beside the first vendor's."""
    import signal
    import subprocess
    import sys
    import time

    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    from learnsync.flows.deployments import deployment_name

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "LEARNSYNC_DEST_URI": f"duckdb:///{tmp_path}/w.duckdb",
           "LEARNSYNC_SOURCE_URI": "snowflake://reader@acct/DB/CORE?host=127.0.0.1&port=9&protocol=http"}
    vendors = [("360learning", "learning_a"), ("datacamp", "learning_b")]
    procs = [subprocess.Popen([sys.executable, "-m", "learnsync.cli", "serve", "--profile", p, "--dataset", d],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True) for p, d in vendors]
    wanted = {(flow, deployment_name(p, d)): (p, d) for p, d in vendors
              for flow in ("learnsync-sync", "learnsync-backfill", "learnsync-full-refresh", "learnsync-reconcile")}
    try:
        deadline = time.monotonic() + 120
        with get_client(sync_client=True) as client:
            while True:
                found = {}
                for dep in client.read_deployments():
                    flow = client.read_flow(dep.flow_id).name
                    found[(flow, dep.name)] = (dep.parameters.get("profile"), dep.parameters.get("dataset"))
                if all(found.get(k) == v for k, v in wanted.items()):
                    break
                for proc in procs:
                    assert proc.poll() is None, proc.communicate()[0][-3000:]
                assert time.monotonic() < deadline, (sorted(found), sorted(wanted))
                time.sleep(1)
            schedules = {(k, dep.name): [s.schedule.cron for s in dep.schedules]
                         for dep in client.read_deployments()
                         for k in [client.read_flow(dep.flow_id).name]}
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.communicate(timeout=30)
    assert deployment_name("360learning", "learning_a") == "360learning-learning_a"
    assert schedules[("learnsync-sync", "datacamp-learning_b")] == ["0 * * * *"]
    assert schedules[("learnsync-reconcile", "360learning-learning_a")] == ["30 3 * * *"]


@pytest.mark.parametrize("dest", ["postgres"], indirect=True)
def test_a_cancelled_sync_stops_its_tasks_at_a_window_boundary(share, dest):
    """Cancelling a flow run: the table in flight stops after its window commits, the next is not started, the run
    ends Cancelled with what each table committed, and the next run is exact."""
    import time

    from prefect.artifacts import Artifact
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType
    from prefect.states import Cancelling

    from learnsync.flows.sync import sync_flow
    from tests.support.crashkit import landed

    create(share, "COURSES_TRACKINGS")
    create(share, "SKILLS")
    trackings(share, 400, T0)
    insert(share, "SKILLS", [{"ID": "s1", "CREATED_AT": T0, "NAME": "sql"}])
    params = dict(**_params(share, dest), tables=["COURSES_TRACKINGS", "SKILLS"], window_rows=40)
    outcome: dict = {}
    runner = threading.Thread(target=lambda: outcome.update(state=sync_flow(**params, return_state=True)))
    runner.start()
    deadline = time.monotonic() + 120
    while not landed(dest):
        assert runner.is_alive() and time.monotonic() < deadline, outcome
        time.sleep(0.05)
    running = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING])))
    with get_client(sync_client=True) as client:
        (flow_run,) = [r for r in client.read_flow_runs(flow_run_filter=running) if r.parameters.get("window_rows") == 40]
        client.set_flow_run_state(flow_run.id, Cancelling(), force=True)
    runner.join(timeout=120)
    state = outcome["state"]
    assert state.is_cancelled(), (state.type, state.message)
    rows = landed(dest)
    assert 0 < rows < 400, rows
    (newest,) = dest.query('SELECT max(created_at) FROM "{ds}"."courses_trackings"')[0]
    import json

    data = Artifact.get("learnsync-sync").data  # type: ignore[union-attr]
    report = {r["table"]: r for r in (json.loads(data) if isinstance(data, str) else data)}
    assert report["COURSES_TRACKINGS"]["outcome"] == (
        f"interrupted: committed through {newest}, {rows:,} rows; rerun to resume"), report
    assert report["SKILLS"]["outcome"] == "not started", report
    assert "skills" not in dest.tables()
    again = sync_flow(**params, return_state=True)
    assert again.is_completed(), again.message
    assert_table_equal(share, dest, "COURSES_TRACKINGS")
    assert_table_equal(share, dest, "SKILLS")


def _task_runs(state) -> dict:
    """The flow run's task runs by name (without Prefect's numeric suffix): (run_count, state)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(any_=[state.state_details.flow_run_id])))
    # a table's task is named "<mode> <TABLE>"; the others get a suffix from Prefect ("list-tables-66a")
    return {r.name if " " in r.name else r.name.rsplit("-", 1)[0]: (r.run_count, r.state) for r in runs}


def test_a_destination_that_is_down_is_retried_and_the_failure_names_its_cause(share):
    """Postgres refusing connections: the flow reaches it once before any table, retries that with backoff,
    then fails with the refused connection in its message; no table ran."""
    import socket

    from learnsync.flows.sync import sync_flow

    create(share, "SKILLS")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    params = dict(source_uri=share.uri.replace("fake:snow@", "fake@"), dataset="learning",
                  destination=f"postgresql://postgres@127.0.0.1:{port}/test")
    state = sync_flow(**params, return_state=True)
    assert state.is_failed()
    assert "Cannot reach the Postgres destination" in state.message and "Connection refused" in state.message, state.message
    runs = _task_runs(state)
    assert set(runs) == {"list-tables", "reach-destination"}, runs
    assert runs["reach-destination"][0] == 4, runs  # the first attempt and 3 retries


def test_a_destination_restarting_heals_within_the_retries(share, dest):
    """The destination resets the next two connections (a server restarting): the reach is retried and the run
    completes, exact."""
    from learnsync.flows.sync import sync_flow
    from tests.support.flaky_proxy import FlakyProxy

    if dest.kind != "postgres":
        pytest.skip("a proxy sits in front of a server destination")
    create(share, "SKILLS")
    insert(share, "SKILLS", [{"ID": "s1", "CREATED_AT": T0, "NAME": "sql"}])
    proxy = FlakyProxy(5432)
    proxy.refuse_next(2)
    params = _params(share, dest)
    params["destination"] = dest.uri.replace(":5432/", f":{proxy.port}/")
    try:
        state = sync_flow(**params, return_state=True)
    finally:
        proxy.close()
    assert state.is_completed(), state.message
    assert proxy.refused == 2
    assert _task_runs(state)["reach-destination"][0] == 3
    assert_table_equal(share, dest, "SKILLS")


def test_an_idle_runs_check_is_one_artifact_row_and_the_tables_carry_none_of_it(share, tmp_path):
    """Issue 21 item 3: summed per table, an idle run's Snowflake queries are the tables' own (none); the one check
    query is the run's row `*` in the artifact and in `_learnsync_runs`."""
    import duckdb
    from prefect.artifacts import Artifact

    from learnsync.flows.sync import sync_flow
    from tests.support.warehouses import Dest

    create(share, "COURSES_TRACKINGS")
    create(share, "SKILLS")
    trackings(share, 6, T0)
    insert(share, "SKILLS", [{"ID": "s1", "CREATED_AT": T0, "NAME": "sql"}])
    path = tmp_path / "w.duckdb"
    dest = Dest("duckdb", f"duckdb:///{path}", "learning", path)
    assert sync_flow(**_params(share, dest), return_state=True).is_completed()
    idle = sync_flow(**_params(share, dest), return_state=True)
    assert idle.is_completed(), idle.message
    data = Artifact.get("learnsync-sync").data
    rows = {r["table"]: r for r in (json.loads(data) if isinstance(data, str) else data)}
    assert set(rows) == {"COURSES_TRACKINGS", "SKILLS", "*"}, rows
    assert rows["COURSES_TRACKINGS"]["snowflake_queries"] == rows["SKILLS"]["snowflake_queries"] == 0, rows
    assert rows["*"]["snowflake_queries"] == 1 and rows["*"]["outcome"].startswith("check: 2 of 2"), rows["*"]
    con = duckdb.connect(str(path), read_only=True)
    recorded = con.execute("SELECT table_name, mode, queries FROM learning._learnsync_runs WHERE mode = 'check'"
                           " OR queries = 0 ORDER BY table_name").fetchall()
    con.close()
    assert recorded == [("*", "check", 1), ("COURSES_TRACKINGS", "incremental", 0), ("SKILLS", "incremental", 0)]
