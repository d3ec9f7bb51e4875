"""Pipeline names across the run context (issue 23 item 2): dlt keys a table's stored state and cursor by its
pipeline name, so the names a run computes are pinned to those learnsync computed before the context existed
(taken from that code, for a table of each kind, every destination kind, a dataset with upper case, a BigQuery
URI that names its own dataset, and a backfill lane). A changed name would make every table read again in full."""

from __future__ import annotations

from pathlib import Path

import pytest

from learnsync.catalog.tables import Column, Profile, resolve_table
from learnsync.destinations import resolve
from learnsync.pipelines.sync import RunContext, make_pipeline

GROUPS = [Column("ID", "TEXT"), Column("CREATED_AT", "TIMESTAMP_NTZ"), Column("MODIFIED_AT", "TIMESTAMP_NTZ"),
          Column("USERS", "ARRAY"), Column("EMAIL", "TEXT")]
SPECS = {  # an entity table with a child table, an event table, a table without a cursor (replaced)
    "entity_child": ("360learning", lambda: resolve_table(Profile.LEARNING_360, "GROUPS", GROUPS)),
    "events": ("datacamp", lambda: resolve_table(Profile.DATACAMP, "FACT_LEARN_EVENTS", [
        Column("USER_ID", "NUMBER", 38, 0), Column("OCCURRED_AT", "TIMESTAMP_NTZ")])),
    "replace": ("auto", lambda: resolve_table(Profile.AUTO, "LOGS", [Column("MSG", "TEXT")])),
}
DATASET = "Analytics_Prod"  # --dataset as given
# (destination URI, table kind, backfill lane) -> the name learnsync computed before the run context (at d86d346:
# `make_pipeline(profile, spec, target, "Analytics_Prod", dir, suffix).pipeline_name`, the name sync_table used)
BEFORE = {
    ("duckdb:////tmp/w.duckdb", "entity_child", ""):
        "learnsync_360learning_groups_duckdb_029c6288_analytics_prod",
    ("duckdb:////tmp/w.duckdb", "entity_child", "__bf1"):
        "learnsync_360learning_groups_duckdb_029c6288_analytics_prod__bf1",
    ("duckdb:////tmp/w.duckdb", "events", ""):
        "learnsync_datacamp_fact_learn_events_duckdb_029c6288_analytics_prod",
    ("duckdb:////tmp/w.duckdb", "events", "__bf1"):
        "learnsync_datacamp_fact_learn_events_duckdb_029c6288_analytics_prod__bf1",
    ("duckdb:////tmp/w.duckdb", "replace", ""):
        "learnsync_auto_logs_duckdb_029c6288_analytics_prod",
    ("duckdb:////tmp/w.duckdb", "replace", "__bf1"):
        "learnsync_auto_logs_duckdb_029c6288_analytics_prod__bf1",
    ("postgresql://loader@db.internal:5432/warehouse", "entity_child", ""):
        "learnsync_360learning_groups_postgres_758d661f_analytics_prod",
    ("postgresql://loader@db.internal:5432/warehouse", "entity_child", "__bf1"):
        "learnsync_360learning_groups_postgres_758d661f_analytics_prod__bf1",
    ("postgresql://loader@db.internal:5432/warehouse", "events", ""):
        "learnsync_datacamp_fact_learn_events_postgres_758d661f_analytics_prod",
    ("postgresql://loader@db.internal:5432/warehouse", "events", "__bf1"):
        "learnsync_datacamp_fact_learn_events_postgres_758d661f_analytics_prod__bf1",
    ("postgresql://loader@db.internal:5432/warehouse", "replace", ""):
        "learnsync_auto_logs_postgres_758d661f_analytics_prod",
    ("postgresql://loader@db.internal:5432/warehouse", "replace", "__bf1"):
        "learnsync_auto_logs_postgres_758d661f_analytics_prod__bf1",
    ("bigquery://my-project?credentials=SA", "entity_child", ""):
        "learnsync_360learning_groups_bigquery_64126089_analytics_prod",
    ("bigquery://my-project?credentials=SA", "entity_child", "__bf1"):
        "learnsync_360learning_groups_bigquery_64126089_analytics_prod__bf1",
    ("bigquery://my-project?credentials=SA", "events", ""):
        "learnsync_datacamp_fact_learn_events_bigquery_64126089_analytics_prod",
    ("bigquery://my-project?credentials=SA", "events", "__bf1"):
        "learnsync_datacamp_fact_learn_events_bigquery_64126089_analytics_prod__bf1",
    ("bigquery://my-project?credentials=SA", "replace", ""):
        "learnsync_auto_logs_bigquery_64126089_analytics_prod",
    ("bigquery://my-project?credentials=SA", "replace", "__bf1"):
        "learnsync_auto_logs_bigquery_64126089_analytics_prod__bf1",
    ("bigquery://my-project/Uri_Set?credentials=SA", "entity_child", ""):
        "learnsync_360learning_groups_bigquery_8eacf93a_analytics_prod",
    ("bigquery://my-project/Uri_Set?credentials=SA", "entity_child", "__bf1"):
        "learnsync_360learning_groups_bigquery_8eacf93a_analytics_prod__bf1",
    ("bigquery://my-project/Uri_Set?credentials=SA", "events", ""):
        "learnsync_datacamp_fact_learn_events_bigquery_8eacf93a_analytics_prod",
    ("bigquery://my-project/Uri_Set?credentials=SA", "events", "__bf1"):
        "learnsync_datacamp_fact_learn_events_bigquery_8eacf93a_analytics_prod__bf1",
    ("bigquery://my-project/Uri_Set?credentials=SA", "replace", ""):
        "learnsync_auto_logs_bigquery_8eacf93a_analytics_prod",
    ("bigquery://my-project/Uri_Set?credentials=SA", "replace", "__bf1"):
        "learnsync_auto_logs_bigquery_8eacf93a_analytics_prod__bf1",
    ("file:///tmp", "entity_child", ""):
        "learnsync_360learning_groups_file_8c393341_analytics_prod",
    ("file:///tmp", "entity_child", "__bf1"):
        "learnsync_360learning_groups_file_8c393341_analytics_prod__bf1",
    ("file:///tmp", "events", ""):
        "learnsync_datacamp_fact_learn_events_file_8c393341_analytics_prod",
    ("file:///tmp", "events", "__bf1"):
        "learnsync_datacamp_fact_learn_events_file_8c393341_analytics_prod__bf1",
    ("file:///tmp", "replace", ""):
        "learnsync_auto_logs_file_8c393341_analytics_prod",
    ("file:///tmp", "replace", "__bf1"):
        "learnsync_auto_logs_file_8c393341_analytics_prod__bf1",
}
# a service-account file dlt accepts offline (no token is ever asked for: nothing connects)
SERVICE_ACCOUNT = ('{"type": "service_account", "project_id": "my-project", "private_key_id": "x", "private_key":'
                   ' "-----BEGIN PRIVATE KEY-----\\nMIIB\\n-----END PRIVATE KEY-----\\n", "client_email":'
                   ' "x@my-project.iam.gserviceaccount.com", "client_id": "1",'
                   ' "token_uri": "https://oauth2.googleapis.com/token"}')


@pytest.fixture(scope="module")
def service_account(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gcp") / "sa.json"
    path.write_text(SERVICE_ACCOUNT)
    return path


def _run(uri: str, kind: str, lane: str, service_account: Path) -> tuple[RunContext, object]:
    if uri.startswith("bigquery"):
        pytest.importorskip("google.cloud.bigquery")
    profile, spec = SPECS[kind]
    run = RunContext.of(resolve(uri.replace("SA", str(service_account)), DATASET), DATASET, profile)
    return (run.lane(1) if lane else run), spec()


@pytest.mark.parametrize("uri, kind, lane", sorted(BEFORE), ids=lambda v: str(v).split("?")[0] or "table")
def test_pipeline_names_are_those_before_the_run_context(uri: str, kind: str, lane: str,
                                                          service_account: Path) -> None:
    run, spec = _run(uri, kind, lane, service_account)
    assert run.pipeline_name(spec) == BEFORE[(uri, kind, lane)]


@pytest.mark.parametrize("uri", sorted({u for u, _, _ in BEFORE}), ids=lambda u: u.split("?")[0])
def test_the_run_opens_the_pipeline_it_names(uri: str, service_account: Path, tmp_path: Path) -> None:
    run, spec = _run(uri, "entity_child", "", service_account)
    run = RunContext.of(run.target, DATASET, run.profile, pipelines_dir=str(tmp_path))
    pipeline = run.pipeline(spec)
    assert pipeline.pipeline_name == BEFORE[(uri, "entity_child", "")]
    assert pipeline.pipeline_name == make_pipeline(run.profile, spec, run.target, DATASET, str(tmp_path)).pipeline_name


def test_the_dataset_is_resolved_once_and_the_uri_wins(service_account: Path) -> None:
    pytest.importorskip("google.cloud.bigquery")
    run = RunContext.of(resolve(f"bigquery://my-project/Uri_Set?credentials={service_account}", DATASET), DATASET,
                        "360learning")
    assert (run.dataset, run.given_dataset) == ("Uri_Set", DATASET)
    duck = RunContext.of(resolve("duckdb:////tmp/w.duckdb", DATASET), DATASET, "360learning")
    assert (duck.dataset, duck.given_dataset) == (DATASET, DATASET)
