"""Table resolution: key, cursor and strategy by profile rules, then the table's settings; every bad setting is
one line saying what to change."""

from __future__ import annotations

from datetime import timedelta

import pytest

from learnsync.errors import LearnsyncError
from learnsync.catalog.tables import Column, Profile, Strategy, profile, resolve_table
from learnsync.settings import TableSettings

GROUPS = [Column("ID", "TEXT"), Column("CREATED_AT", "TIMESTAMP_NTZ"), Column("MODIFIED_AT", "TIMESTAMP_NTZ"),
          Column("USERS", "ARRAY"), Column("EMAIL", "TEXT")]


def test_360learning_tables_merge_on_id_by_modified_at() -> None:
    spec = resolve_table(Profile.LEARNING_360, "GROUPS", GROUPS)
    assert (spec.primary_key, spec.cursor, spec.strategy) == (("ID",), "MODIFIED_AT", Strategy.MERGE)
    assert spec.lookback == timedelta(hours=24) and spec.dest_name == "groups"
    assert [c.name for c in spec.json_columns] == ["USERS"]  # an ARRAY becomes a child table
    assert spec.description  # the vendor's description comes with it


def test_datacamp_facts_are_keyless_events_by_occurred_at() -> None:
    spec = resolve_table(Profile.DATACAMP, "FACT_LEARN_EVENTS",
                         [Column("USER_ID", "NUMBER", 38, 0), Column("OCCURRED_AT", "TIMESTAMP_NTZ")])
    assert (spec.primary_key, spec.cursor, spec.strategy) == ((), "OCCURRED_AT", Strategy.EVENTS)


def test_unknown_tables_follow_conventions() -> None:
    spec = resolve_table(Profile.AUTO, "WIDGETS", [Column("WIDGET_ID", "NUMBER", 38, 0),
                                                    Column("UPDATED_AT", "TIMESTAMP_NTZ")])
    assert (spec.primary_key, spec.cursor, spec.strategy) == (("WIDGET_ID",), "UPDATED_AT", Strategy.MERGE)
    spec = resolve_table(Profile.AUTO, "LOGS", [Column("MSG", "TEXT")])
    assert (spec.primary_key, spec.cursor, spec.strategy) == ((), None, Strategy.REPLACE)  # reloaded whole


def test_settings_override_and_match_names_in_any_case() -> None:
    spec = resolve_table(Profile.LEARNING_360, "GROUPS", GROUPS,
                         TableSettings(column_policy={"email": "hash"}, lookback_hours=2, cursor="created_at"))
    assert spec.hashed == ("EMAIL",) and spec.lookback == timedelta(hours=2) and spec.cursor == "CREATED_AT"


@pytest.mark.parametrize("settings, needle", [
    (TableSettings(cursor="NOPE"), "has no column 'NOPE'"),
    (TableSettings(cursor="EMAIL"), "cannot be a cursor (type TEXT)"),
    (TableSettings(strategy="upsert"), "strategy must be one of"),
    (TableSettings(column_policy={"EMAIL": "mask"}), "column_policy value must be one of"),
    (TableSettings(column_policy={"ID": "exclude"}), "key or cursor column cannot be excluded"),
    (TableSettings(exclude_columns=["EMAIL"]), "replaced by column_policy"),
])
def test_bad_settings_are_one_line(settings: TableSettings, needle: str) -> None:
    with pytest.raises(LearnsyncError) as err:
        resolve_table(Profile.LEARNING_360, "GROUPS", GROUPS, settings)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_profiles_by_name() -> None:
    assert profile("DataCamp") is Profile.DATACAMP
    with pytest.raises(LearnsyncError, match="Unknown profile 'moodle'"):
        profile("moodle")
