"""End to end, the way an operator runs it: a real Prefect server (SQLite, 127.0.0.1) with its scheduler on, the
deployments of deploy/prefect.yaml made with the Prefect CLI for two vendors, a process worker, and flow runs
(the first ones created by the scheduler) that sync an emulated share (in its own process) into a DuckDB file and
the local Postgres side by side, compared with the share row for row.

Deselect with `-m "not e2e"`.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

from learnsync.flows.deployments import deployment_name
from learnsync import emulator
from tests.support.warehouses import PG_URI, Dest, Share
from tests.support.helpers import assert_table_equal, insert, source_rows
from tests.support.prefect_server import PREFECT, Service, clean_env, free_port, wait_healthy

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DATABASE = "LEARNING_360"
COMPARED = ["COURSES_TRACKINGS", "USERS"]  # compared row for row (and their child tables)
# a backfill range well before the sync's lookback window (the share's newest row is near 2026-01-01)
BACKFILL_START, BACKFILL_END = datetime(2025, 12, 1), datetime(2025, 12, 3)
RUN_TIMEOUT = 120.0
FLOWS = ("learnsync-sync", "learnsync-backfill", "learnsync-full-refresh", "learnsync-reconcile")


def _cli(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120.0) -> str:
    done = subprocess.run(
        [PREFECT, *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=timeout,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"prefect {' '.join(args)} exited with {done.returncode}:\n{out[-6000:]}"
    return out


def _drop_pg_dataset(dataset: str) -> None:
    """The dataset and its staging datasets (`_staging`, and `_staging_bf<lane>` of the backfill lanes)."""
    import psycopg2

    con = psycopg2.connect(PG_URI, connect_timeout=10)
    con.autocommit = True
    try:
        with con.cursor() as cur:
            cur.execute(
                "SELECT schema_name FROM information_schema.schemata WHERE schema_name = %s OR schema_name LIKE %s",
                (dataset, dataset.replace("_", "\\_") + "\\_staging%"),
            )
            for (schema,) in cur.fetchall():
                cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        con.close()


def _wait_duckdb_released(path: Path, timeout: float = 30.0) -> None:
    """A run is Completed a moment before its process exits; DuckDB allows one writing process at a time."""
    import duckdb

    deadline = time.monotonic() + timeout
    while True:
        try:
            duckdb.connect(str(path), read_only=True).close()
            return
        except duckdb.IOException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def share_server() -> Iterator[Any]:
    with emulator.serve_in_subprocess() as srv:
        yield srv


@pytest.mark.postgres
@pytest.mark.subprocess_sync  # the worker's flow runs are processes: BigQuery's emulator credentials cannot reach them
def test_deployments_sync_and_backfill_through_a_worker(
    tmp_path: Path, share_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both destinations at once, as an operator with two warehouses deploys them: a DuckDB file and the local
    Postgres, each a deployment of its own on one server and worker. Their first sync runs come from the same
    schedule minute and run side by side; every later run is started for both and compared for each."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter, ArtifactFilterKey, DeploymentFilter, DeploymentFilterId, FlowRunFilter, FlowRunFilterId,
        FlowRunFilterState, FlowRunFilterStateType, LogFilter, LogFilterFlowRunId,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort, LogSort
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.setenv("DO_NOT_TRACK", "1")  # this process talks to the server too, through the client
    port = free_port()
    api_url = f"http://{HOST}:{port}/api"
    dests = [Dest("duckdb", f"duckdb:///{tmp_path / 'warehouse.duckdb'}", _dataset(), tmp_path / "warehouse.duckdb"),
             Dest("postgres", PG_URI, _dataset(), tmp_path)]
    # the password is not in the URI: the worker's environment has it
    source_uri = share_server.uri(DATABASE, "CORE").replace("fake:snow@", "fake@")
    assert ":snow@" not in source_uri
    for d in ("prefect", "worker", "dlt", "dlt-project"):
        (tmp_path / d).mkdir()

    env = clean_env(
        PREFECT_HOME=str(tmp_path / "prefect"),  # SQLite database, profiles and logs in here
        PREFECT_API_URL=api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_ENABLED="false",
        # the scheduler creates the first sync runs (an every-minute cron); the test turns the schedules off after
        PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="true",
        PREFECT_SERVER_LOGGING_LEVEL="WARNING",
        PREFECT_WORKER_QUERY_SECONDS="1",
        PREFECT_CLI_COLORS="false",
        PREFECT_CLI_WRAP_LINES="false",
        COLUMNS="200",  # Rich panels in the CLI output, unwrapped
        DO_NOT_TRACK="1",
        RUNTIME__DLTHUB_TELEMETRY="false",
    )
    services: list[Service] = []
    share: Optional[Share] = None
    try:
        server = Service(
            "prefect server", [PREFECT, "server", "start", "--host", HOST, "--port", str(port)],
            env, tmp_path / "prefect", tmp_path / "server.log",
        )
        services.append(server)

        # the share fills while the server starts
        t0 = time.monotonic()
        share = Share(share_server, DATABASE, "CORE", share_server.connect())
        counts = emulator.create_360learning(share.conn, database=DATABASE, schema="CORE", scale=1)
        assert counts["COURSES_TRACKINGS"] > 0 and counts["USERS"] > 0
        wait_healthy(server, api_url)
        print(f"share filled and server up in {time.monotonic() - t0:.1f} s")

        # what an operator types, from the repository root; the deployments' defaults come from LEARNSYNC_*
        _cli(["work-pool", "create", "learnsync", "--type", "process"], env, ROOT)
        deploy_envs = {d.kind: dict(env, LEARNSYNC_SOURCE_URI=source_uri, LEARNSYNC_DEST_URI=d.uri,
                                    LEARNSYNC_DATASET=d.dataset, LEARNSYNC_PROFILE="360learning",
                                    LEARNSYNC_CRON="* * * * *") for d in dests}
        unnamed = subprocess.run(
            [PREFECT, "--no-prompt", "deploy", "--all", "--prefect-file", "deploy/prefect.yaml"], cwd=ROOT,
            env={k: v for k, v in deploy_envs["duckdb"].items() if k != "LEARNSYNC_PROFILE"},
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        assert unnamed.returncode != 0 and "set LEARNSYNC_PROFILE" in unnamed.stdout + unnamed.stderr, unnamed
        deployed_at = time.monotonic()
        names: dict[str, str] = {}
        for d in dests:
            out = _cli(["--no-prompt", "deploy", "--all", "--prefect-file", "deploy/prefect.yaml"],
                       deploy_envs[d.kind], ROOT)
            names[d.kind] = name = deployment_name("360learning", d.dataset)
            assert name == f"360learning-{d.dataset}"
            # the header names the deployment (issue 21 item 9), not a template
            assert out.count(f"Deploying {name}") == len(FLOWS) and "{{" not in out, out[-4000:]
            for flow in FLOWS:
                assert f"Deployment '{flow}/{name}' successfully" in out, out[-4000:]
        # the second vendor deploys beside the first (yearly: it does not run during the test)
        dc_dataset = f"{dests[0].dataset}_dc"
        dc_env = dict(deploy_envs["duckdb"], LEARNSYNC_PROFILE="datacamp", LEARNSYNC_DATASET=dc_dataset,
                      LEARNSYNC_CRON="0 0 1 1 *")
        out = _cli(["--no-prompt", "deploy", "--all", "--prefect-file", "deploy/prefect.yaml"], dc_env, ROOT)
        dc_name = deployment_name("datacamp", dc_dataset)
        for flow in FLOWS:
            assert f"Deployment '{flow}/{dc_name}' successfully" in out, out[-4000:]

        # the worker runs elsewhere than the checkout: the deployments' pull step finds the code
        worker_env = dict(
            env,
            # the flows' own default unless the caller sets one (LEARNSYNC_MAX_PARALLEL=1: tables one at a time)
            **{k: os.environ[k] for k in ("LEARNSYNC_MAX_PARALLEL",) if k in os.environ},
            SOURCES__LEARNSYNC__CREDENTIALS__PASSWORD="snow",
            LEARNSYNC_RETRY_BACKOFF="0",
            DLT_DATA_DIR=str(tmp_path / "dlt"),
            DLT_PROJECT_DIR=str(tmp_path / "dlt-project"),  # no .dlt/ config of the checkout
            RUNTIME__LOG_LEVEL="WARNING",
        )
        worker = Service(
            "prefect worker", [PREFECT, "worker", "start", "--pool", "learnsync"],
            worker_env, tmp_path / "worker", tmp_path / "worker.log",
        )
        services.append(worker)

        with temporary_settings(updates={PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:

            def deployment(flow: str, dep: str) -> Any:
                return client.read_deployment_by_name(f"{flow}/{dep}")

            def read_logs(flow_run: Any) -> list[Any]:
                return client.read_logs(
                    log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run.id])),
                    sort=LogSort.TIMESTAMP_ASC,
                )

            def logs_of(flow_run: Any) -> str:
                return "\n".join(f"{log.level} {log.name}: {log.message}" for log in read_logs(flow_run))

            def common(dest: Dest) -> dict[str, Any]:
                return dict(source_uri=source_uri, destination=dest.uri, dataset=dest.dataset)

            def wait_final(flow_run: Any, deadline: float) -> None:
                while not (state := client.read_flow_run(flow_run.id).state) or not state.is_final():
                    worker.check_alive()
                    assert time.monotonic() < deadline, f"{flow_run.name} is still {state}\n{worker.tail()}"
                    time.sleep(1)

            def run_each(flow: str, **parameters: Any) -> dict[str, Any]:
                """One run of `flow` per destination, started together (the worker runs them side by side),
                each Completed."""
                worker.check_alive()
                started = time.monotonic()
                runs = {d.kind: run_deployment(f"{flow}/{names[d.kind]}", parameters=dict(parameters, **common(d)),
                                               timeout=0) for d in dests}
                for d in dests:
                    wait_final(runs[d.kind], started + RUN_TIMEOUT)
                return {d.kind: finished(f"{flow} [{d.kind}]", runs[d.kind], started, d) for d in dests}

            def finished(name: str, flow_run: Any, started: float, dest: Dest) -> Any:
                """The flow run ended Completed, cleanly; its logs reached Prefect."""
                flow_run = client.read_flow_run(flow_run.id)
                if not (flow_run.state and flow_run.state.is_completed()):
                    state = flow_run.state
                    raise AssertionError(
                        f"{name} run ended {state.type if state else None}: {state.message if state else ''}\n"
                        f"--- flow run logs ---\n{logs_of(flow_run)[-8000:]}\n{worker.tail()}"
                    )
                # a clean run: no task needed a retry (retries would hide a failure that heals itself)
                task_runs = client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id]))
                )
                retried = [(t.name, t.run_count) for t in task_runs if t.run_count != 1]
                if retried or not task_runs:
                    why = [line for line in logs_of(flow_run).splitlines() if "failed with exception" in line]
                    raise AssertionError(f"{name}: task runs retried {retried}:\n" + "\n".join(why)[-6000:])
                # the deployment's job_variables reach the flow run: dlt did not put its prefix on Prefect's lines
                # (logs reach the API in batches, so the last lines may come a moment after the state)
                deadline = time.monotonic() + 15
                while not any(
                    log.name == "prefect.flow_runs" and log.message.startswith("Finished in state Completed(")
                    for log in read_logs(flow_run)
                ):
                    assert time.monotonic() < deadline, logs_of(flow_run)[-3000:]
                    time.sleep(0.5)
                print(f"{name}: Completed in {time.monotonic() - started:.1f} s")
                if dest.kind == "duckdb":
                    _wait_duckdb_released(dest.path)
                return flow_run

            def table_artifact(key: str, flow_run: Any) -> list[dict[str, Any]]:
                found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
                mine = [a for a in found if a.flow_run_id == flow_run.id]
                assert mine, f"no artifact {key!r} for flow run {flow_run.id}: {[(a.key, a.flow_run_id) for a in found]}"
                assert mine[0].type == "table"
                data = mine[0].data
                return json.loads(data) if isinstance(data, str) else data

            # the deployments as deploy/prefect.yaml describes them, both vendors and both warehouses side by side
            sync_deps = {d.kind: deployment("learnsync-sync", names[d.kind]) for d in dests}
            for d in dests:
                name, sync_dep = names[d.kind], sync_deps[d.kind]
                assert [(s.schedule.cron, s.schedule.timezone, s.active) for s in sync_dep.schedules] == [
                    ("* * * * *", "UTC", True)
                ]
                assert sync_dep.parameters == {"profile": "360learning", **common(d)}
                assert [(s.schedule.cron, s.active) for s in deployment("learnsync-reconcile", name).schedules] == [
                    ("30 3 * * *", True)
                ]
                for flow in FLOWS:
                    dep = deployment(flow, name)
                    assert dep.work_pool_name == "learnsync" and dep.description
                    assert dep.job_variables["env"]["PREFECT_LOGGING_EXTRA_LOGGERS"] == "dlt,learnsync"
                    # the worker's LEARNSYNC_HOME, else the checkout deployed from (this one)
                    steps = [next(iter(step)) for step in dep.pull_steps]
                    assert steps == [
                        "prefect.deployments.steps.run_shell_script", "prefect.deployments.steps.set_working_directory"
                    ], dep.pull_steps
                    assert f'"${{LEARNSYNC_HOME:-{ROOT}}}"' in dep.pull_steps[0][steps[0]]["script"], dep.pull_steps
                    assert "snow@" not in json.dumps(dep.parameters)
                assert not deployment("learnsync-backfill", name).schedules
                assert not deployment("learnsync-full-refresh", name).schedules
            for flow in FLOWS:
                assert deployment(flow, dc_name).parameters == {
                    "profile": "datacamp", "source_uri": source_uri, "destination": dests[0].uri,
                    "dataset": dc_dataset,
                }
            assert [(s.schedule.cron, s.active) for s in deployment("learnsync-sync", dc_name).schedules] == [
                ("0 0 1 1 *", True)
            ]

            # 1. the scheduler creates each sync's runs, and the worker runs the first of each to Completed
            def sync_runs(dest: Dest, *states: StateType) -> list[Any]:
                found = client.read_flow_runs(
                    deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[sync_deps[dest.kind].id])),
                    flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=list(states)))),
                    sort=FlowRunSort.EXPECTED_START_TIME_ASC,
                )
                return list(found)

            deadline = time.monotonic() + 60
            while not all(scheduled := [sync_runs(d, StateType.SCHEDULED) for d in dests]):
                server.check_alive()
                assert time.monotonic() < deadline, "no scheduled run was created in 60 s\n" + server.tail()
                time.sleep(0.5)
            assert all(r.auto_scheduled and r.state_name == "Scheduled" for runs in scheduled for r in runs), scheduled
            print(f"scheduled sync runs created {time.monotonic() - deployed_at:.1f} s after deploy, the first due at"
                  f" {[runs[0].expected_start_time for runs in scheduled]}")
            firsts: dict[str, Any] = {}
            deadline = time.monotonic() + 90  # the next minute, plus the worker's poll
            while len(firsts) < len(dests):
                worker.check_alive()
                assert time.monotonic() < deadline, f"the worker started no scheduled run of {set(names) - set(firsts)}\n" + worker.tail()
                for d in dests:
                    started = [] if d.kind in firsts else sync_runs(
                        d, StateType.PENDING, StateType.RUNNING, StateType.COMPLETED, StateType.FAILED,
                        StateType.CRASHED)
                    if started:
                        firsts[d.kind] = started[0]
                        # no second scheduled sync in the middle of the test: the schedule goes off (Prefect then
                        # deletes the runs it had scheduled) once the worker has the first
                        sync_dep = sync_deps[d.kind]
                        client.update_deployment_schedule(sync_dep.id, sync_dep.schedules[0].id, active=False)
                time.sleep(0.5)
            for d in dests:
                wait_final(firsts[d.kind], time.monotonic() + RUN_TIMEOUT)
            for d in dests:
                first = finished(f"learnsync-sync [{d.kind}]", firsts[d.kind], deployed_at, d)
                assert first.auto_scheduled
                others = [r for r in sync_runs(d, *StateType) if r.id != first.id and r.state_type != StateType.SCHEDULED]
                assert not others, f"another sync ran meanwhile: {others}"
                for t in COMPARED:
                    assert_table_equal(share, d, t)
                report = {r["table"]: r for r in table_artifact("learnsync-sync", first)}
                assert set(report) == set(counts)
                assert all(r["outcome"] == "ok" and r["rows"] == counts[t] for t, r in report.items()), report

            # 2. the vendor corrects an old row (CREATED_AT unchanged) and a new row arrives
            fq = f'"{DATABASE}"."CORE"."COURSES_TRACKINGS"'
            trackings = source_rows(share, "COURSES_TRACKINGS")
            in_range = sorted(
                (r for r in trackings if r["CREATED_AT"] and BACKFILL_START <= r["CREATED_AT"] < BACKFILL_END),
                key=lambda r: r["ID"],
            )
            assert len(in_range) > 5, "the backfill range should hold some rows of the share"
            fixed = in_range[0]
            new_progress = (fixed["PROGRESS"] + 50) % 101
            share.sql(f'UPDATE {fq} SET "PROGRESS" = %s WHERE "ID" = %s', (new_progress, fixed["ID"]))
            newest = max(r["CREATED_AT"] for r in trackings if r["CREATED_AT"])
            new_row = {
                "ID": "ct-e2e-new", "CREATED_AT": newest + timedelta(hours=1), "COURSE": "c000001",
                "USER": "u000001", "PROGRESS": 10, "RESULT": "inProgress",
                "ACCESS_DATES": ["2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z"], "LANG": "fr",
            }
            insert(share, "COURSES_TRACKINGS", [new_row])

            def dest_progress(dest: Dest, row_id: str) -> list[tuple]:
                return dest.query(f"""SELECT progress FROM "{{ds}}"."courses_trackings" WHERE id = '{row_id}'""")

            for d in dests:
                assert dest_progress(d, fixed["ID"]) == [(fixed["PROGRESS"],)]

            # 3. a backfill of the range (2 lanes of 12 h windows) takes the correction, not the newer row
            backfills = run_each(
                "learnsync-backfill", tables=["COURSES_TRACKINGS"], start=BACKFILL_START.isoformat(),
                end=BACKFILL_END.isoformat(), window_hours=12, parallel=2,
            )
            for d in dests:
                assert dest_progress(d, fixed["ID"]) == [(new_progress,)], d.kind
                assert dest_progress(d, new_row["ID"]) == [], "a backfill must not load rows after its range"
                total = d.query('SELECT count(*) FROM "{ds}"."courses_trackings"')[0][0]
                assert total == len(trackings), d.kind
                # two lanes ran (one task each); the artifact groups them per table with the backfilled range
                backfill = backfills[d.kind]
                lanes = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[backfill.id])))
                assert sorted(t.name for t in lanes if t.name.startswith("backfill ")) == [
                    "backfill COURSES_TRACKINGS", "backfill COURSES_TRACKINGS"], [t.name for t in lanes]
                grouped = table_artifact("learnsync-backfill", backfill)
                assert len(grouped) == 1 and grouped[0]["outcome"] == "ok", grouped
                assert grouped[0]["table"] == "COURSES_TRACKINGS" and grouped[0]["rows"] == len(in_range), grouped
                # an artifact's times read as words: to the minute when they have no seconds (issue 21 item 9)
                assert grouped[0]["range"] == f"[{BACKFILL_START:%Y-%m-%d %H:%M}, {BACKFILL_END:%Y-%m-%d %H:%M})"

            # 4. the next sync picks the new row up from the untouched cursor
            seconds = run_each("learnsync-sync")
            for d in dests:
                assert dest_progress(d, new_row["ID"]) == [(10,)], d.kind
                for t in COMPARED:
                    assert_table_equal(share, d, t)
                report = {r["table"]: r for r in table_artifact("learnsync-sync", seconds[d.kind])}
                assert report["COURSES_TRACKINGS"]["new_cursor"] == str(new_row["CREATED_AT"]), report

            # 5. the vendor deletes a row and corrects another in place: the daily reconcile finds and applies both
            share.sql(f'DELETE FROM {fq} WHERE "ID" = %s', (in_range[1]["ID"],))
            share.sql(f'UPDATE {fq} SET "PROGRESS" = %s WHERE "ID" = %s', ((new_progress + 1) % 101, fixed["ID"]))
            reconciled = run_each("learnsync-reconcile", tables=["COURSES_TRACKINGS"])
            for d in dests:
                (row,) = table_artifact("learnsync-reconcile", reconciled[d.kind])
                assert (row["table"], row["updated"], row["deleted"], row["rows_fetched"]) == (
                    "COURSES_TRACKINGS", 1, 1, 1), d.kind
                assert_table_equal(share, d, "COURSES_TRACKINGS")
    finally:
        for service in reversed(services):
            service.stop()
        if share is not None:
            share.conn.close()
        for d in dests:
            if d.kind == "postgres":
                _drop_pg_dataset(d.dataset)


def _dataset() -> str:
    """A dataset name of its own (as the `dest` fixture makes one)."""
    return f"t_{uuid.uuid4().hex[:10]}"
