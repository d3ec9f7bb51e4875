"""BigQuery specifics on the local-bigquery emulator: table layout and URI options.

The row-for-row acceptance tests run on BigQuery through the `dest` fixture (tests/test_sync.py, test_flows.py).
"""

from __future__ import annotations

import json
from datetime import timedelta

import dlt
import pytest

from learnsync.destinations import resolve
from learnsync.errors import LearnsyncError
from learnsync.catalog.tables import DAY_COLUMN, snake_case
from tests.support.warehouses import Dest
from tests.support.helpers import assert_table_equal, create, insert, run_sync
from tests.support.rows import T0, event, tracking

pytest.importorskip("google.cloud.bigquery", reason="the bigquery extra is not installed")
from google.oauth2.credentials import Credentials  # noqa: E402



@pytest.mark.parametrize("dest", ["bigquery"], indirect=True)
def test_event_tables_are_partitioned_by_day_and_entities_clustered_by_key(share, dest):
    create(share, "COURSES_TRACKINGS")
    create(share, "FACT_LEARN_EVENTS")
    insert(share, "COURSES_TRACKINGS", [tracking(i, T0 - timedelta(hours=i)) for i in range(6)])
    insert(share, "FACT_LEARN_EVENTS", [event(i, T0 - timedelta(hours=9 * i)) for i in range(6)])
    run_sync(share, dest, tables=["COURSES_TRACKINGS"])
    run_sync(share, dest, profile="datacamp", tables=["FACT_LEARN_EVENTS"])
    assert_table_equal(share, dest, "COURSES_TRACKINGS")
    assert_table_equal(share, dest, "FACT_LEARN_EVENTS")

    def table(name: str):
        return dest.client.get_table(f"{dest.client.project}.{dest.dataset}.{name}")

    events = table("fact_learn_events")
    assert events.time_partitioning is not None and events.time_partitioning.field == snake_case(DAY_COLUMN)
    assert table("courses_trackings").clustering_fields == ["id"]
    assert table("courses_trackings__access_dates").clustering_fields == ["parent_id"]
    # NUMBER(37,1) does not fit BigQuery's NUMERIC (29 integer digits at most): BIGNUMERIC(39,1), which the
    # emulator's tables API reports as "NUMERIC(39, 1)" (a precision over 38 exists only as BIGNUMERIC)
    time_spent = next(f for f in table("courses_trackings").schema if f.name == "time_spent")
    assert "NUMERIC" in time_spent.field_type and (time_spent.precision, time_spent.scale) == (39, 1), time_spent


def test_uri_options(tmp_path):
    # a credentials object that needs no token refresh: resolving must not reach Google
    with dlt.secrets.values({"destination.bigquery.credentials": Credentials(token="local-bigquery")}):
        _check_uri_options(tmp_path)
    with pytest.raises(LearnsyncError, match="No Google credentials"):
        resolve("bigquery://my-project/analytics", "learning")


def _check_uri_options(tmp_path) -> None:
    target = resolve("bigquery://my-project/analytics?location=EU&partition=false", "learning")
    assert target.dataset == "analytics" and target.run_options == {"loader_file_format": "parquet"}
    assert resolve("bigquery://my-project", "learning").dataset is None  # --dataset then
    # the identity (part of pipeline names) changes with the dataset, never with credentials
    key = tmp_path / "sa.json"
    key.write_text(json.dumps({"project_id": "p", "private_key": "k", "client_email": "loader@p.example"}))
    assert resolve(f"bigquery://p/d?credentials={key}", "x").identity == resolve("bigquery://p/d", "x").identity
    assert resolve("bigquery://p/d", "x").identity != resolve("bigquery://p/e", "x").identity
    for uri, needle in (
        ("bigquery://p?colour=red", "colour"),
        ("bigquery://p?partition=maybe", "true or false"),
        ("bigquery:///d", "project"),
        ("bigquery://p/d/e", "project"),
        (f"bigquery://p?credentials={tmp_path / 'missing.json'}", "missing.json"),
    ):
        with pytest.raises(LearnsyncError, match=needle):
            resolve(uri, "learning")


@pytest.mark.parametrize("dest", ["bigquery"], indirect=True)
def test_the_dataset_in_the_uri_wins_over_the_dataset_flag(share, dest):
    create(share, "SKILLS")
    insert(share, "SKILLS", [{"ID": f"s{i}", "CREATED_AT": T0, "NAME": f"skill {i}"} for i in range(3)])
    in_uri = Dest(dest.kind, f"bigquery://{dest.client.project}/{dest.dataset}?location=EU", "learning", dest.path)
    run_sync(share, in_uri)
    assert_table_equal(share, dest, "SKILLS")
    assert "learning" not in {d.dataset_id for d in dest.client.list_datasets()}
