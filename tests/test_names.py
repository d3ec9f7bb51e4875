"""Every name a share can hold lands in a column of its own, and learnsync finds the names dlt created."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest

from tests.support.helpers import dest_rows, run_reconcile, run_sync
from tests.support.rows import T0



def _fq(share: Any, table: str) -> str:
    return f'"{share.database}"."CORE"."{table}"'


def test_naming_rules_unit():
    from learnsync.catalog.naming import snake_case, unique_names

    assert snake_case("COURSES_TRACKINGS") == "courses_trackings"
    assert snake_case("userId") == "user_id"
    assert snake_case("") == "empty_key" and snake_case("  ") == "empty_key"
    assert snake_case("名前") == "x"  # dlt's snake_case keeps ASCII letters and digits only
    assert unique_names(["userId", "USER_ID", "user-id"]) == {"userId": "user_id", "USER_ID": "user_id_2",
                                                              "user-id": "user_id_3"}
    assert unique_names(["_learnsync_hash"], taken={"learnsync_hash"}) == {"_learnsync_hash": "learnsync_hash_2"}


def test_colliding_column_names_keep_their_own_values(share, dest):
    # "userId" and USER_ID are both user_id in snake_case: before, one value was lost (and the column held the
    # row fingerprint)
    share.sql(f'CREATE TABLE {_fq(share, "ENROLMENTS")} ("ID" TEXT, "UPDATED_AT" TIMESTAMP_NTZ, "userId" TEXT,'
              ' "USER_ID" TEXT, "user id" NUMBER(10,0))')
    share.sql(f"INSERT INTO {_fq(share, 'ENROLMENTS')} VALUES ('a', %s, 'camel', 'upper', 7), ('b', %s, NULL, 'u2', NULL)",
              [T0, T0])
    run_sync(share, dest, profile="auto")
    cols = [c for c in dest.columns("enrolments") if not c.startswith("_dlt")]
    assert cols[:5] == ["id", "updated_at", "user_id", "user_id_2", "user_id_3"], cols
    assert sorted(dest_rows(dest, "enrolments", ["id", "user_id", "user_id_2", "user_id_3"])) == [
        ("a", "camel", "upper", 7), ("b", None, "u2", None)]
    # a second run finds the same names (no drift warning, no reload)
    share.sql(f"INSERT INTO {_fq(share, 'ENROLMENTS')} VALUES ('c', %s, 'x', 'y', 1)", [T0 + timedelta(hours=1)])
    run_sync(share, dest, profile="auto")
    assert len(dest_rows(dest, "enrolments", ["id"])) == 3


KEYS = {"first-name": "Ada", "first_name": "Grace", "First Name": "Lin", "": "empty", "a.b": "dot",
        'q"x': "quote", "b\\s": "backslash", "名前": "kanji", "имя": "cyrillic", "value": "v"}


def test_colliding_object_keys_keep_their_own_values(share, dest):
    share.sql(f'CREATE TABLE {_fq(share, "PEOPLE")} ("ID" TEXT, "UPDATED_AT" TIMESTAMP_NTZ, "ATTRS" VARIANT)')
    share.sql(f"INSERT INTO {_fq(share, 'PEOPLE')} SELECT 'p1', %s, PARSE_JSON(%s)", [T0, json.dumps([KEYS])])
    run_sync(share, dest, profile="auto")
    child = "people__attrs"
    names = [c for c in dest.columns(child) if c not in ("parent_id", "position", "_learnsync_replaced")
             and not c.startswith("_dlt")]
    # every key has a column of its own; the key already in normal form keeps the plain name
    assert sorted(names) == sorted(["first_name", "first_name_2", "first_name_3", "empty_key", "a_b", "q_x", "b_s",
                                    "x", "x_2", "value"]), names
    got = dict(zip(names, dest.query(f'SELECT {", ".join(chr(34) + n + chr(34) for n in names)} FROM "{{ds}}"."{child}"')[0]))
    # keys already in normal form first, then the others by text (catalog.naming.name_order)
    assert got == {"first_name": "Grace", "value": "v", "empty_key": "empty", "first_name_2": "Lin", "a_b": "dot",
                   "b_s": "backslash", "first_name_3": "Ada", "q_x": "quote", "x": "cyrillic", "x_2": "kanji"}, got

    # the mapping is kept: a later batch holding only some of the keys puts each in the same column as before
    share.sql(f"INSERT INTO {_fq(share, 'PEOPLE')} SELECT 'p2', %s, PARSE_JSON(%s)",
              [T0 + timedelta(hours=1), json.dumps([{"first-name": "Ann"}, {"名前": "k2"}])])
    run_sync(share, dest, profile="auto")
    rows = dest.query(f'SELECT position, "first_name", "first_name_3", "x", "x_2" FROM "{{ds}}"."{child}"'
                      " WHERE parent_id = 'p2' ORDER BY position")
    assert rows == [(0, None, "Ann", None, None), (1, None, None, None, "k2")], rows


def test_quoted_lower_case_identifiers(share, dest, monkeypatch):
    # a share whose identifiers were created quoted in lower case: profile auto finds key and cursor, so runs are
    # incremental, not a full reload every time
    share.sql(f'CREATE TABLE {_fq(share, "enrollments")} ("id" TEXT, "created_at" TIMESTAMP_NTZ,'
              ' "modified_at" TIMESTAMP_NTZ, "score" NUMBER(5,1))')
    share.sql(f"INSERT INTO {_fq(share, 'enrollments')} VALUES ('e1', %s, %s, 1.5), ('e2', %s, %s, 2.5)",
              [T0, T0, T0, T0])
    first = run_sync(share, dest, profile="auto")
    assert first[0].strategy == "merge" and first[0].new_cursor is not None, first
    share.sql(f"UPDATE {_fq(share, 'enrollments')} SET \"score\" = 9.5, \"modified_at\" = %s WHERE \"id\" = 'e1'",
              [T0 + timedelta(hours=2)])
    run_sync(share, dest, profile="auto")
    assert sorted(dest_rows(dest, "enrollments", ["id", "score"])) == [("e1", 9.5), ("e2", 2.5)] or sorted(
        (i, float(s)) for i, s in dest_rows(dest, "enrollments", ["id", "score"])) == [("e1", 9.5), ("e2", 2.5)]
    # config may name them in any case
    monkeypatch.setenv("SOURCES__LEARNSYNC__TABLES__ENROLLMENTS__CURSOR", "CREATED_AT")
    monkeypatch.setenv("SOURCES__LEARNSYNC__TABLES__ENROLLMENTS__PRIMARY_KEY", '["ID"]')
    res = run_sync(share, dest, profile="auto", tables=["ENROLLMENTS"])
    assert res[0].ok


LONG = "LEARNER_ENGAGEMENT_SCORE_COMPUTED_ACROSS_ALL_PROGRAMS_AND_PATHS_SINCE_ENROLMENT_DATE"
LONG_ARRAY = "ACCESS_DATES_OF_EVERY_SESSION_THE_LEARNER_OPENED_IN_THE_MOBILE_APPLICATION_AND_THE_WEB"


def test_long_names_postgres(share, dest, caplog):
    if dest.kind != "postgres":
        pytest.skip("Postgres shortens names past 63 bytes")
    share.sql(f'CREATE TABLE {_fq(share, "TRACKS")} ("ID" TEXT, "UPDATED_AT" TIMESTAMP_NTZ, "{LONG}" NUMBER(10,0),'
              f' "{LONG_ARRAY}" ARRAY)')
    share.sql(f"INSERT INTO {_fq(share, 'TRACKS')} SELECT 't1', %s, 5, PARSE_JSON('[1,2]')", [T0])
    share.sql(f"INSERT INTO {_fq(share, 'TRACKS')} SELECT 't2', %s, 6, PARSE_JSON('[3]')", [T0])
    run_sync(share, dest, profile="auto")
    with caplog.at_level(logging.WARNING, logger="learnsync"):
        run_sync(share, dest, profile="auto")
    assert "no longer in the share" not in caplog.text, caplog.text
    # a deleted parent's child rows go with it, although dlt shortened the child table's name
    share.sql(f"DELETE FROM {_fq(share, 'TRACKS')} WHERE \"ID\" = 't1'")
    done = run_reconcile(share, dest, profile="auto", tables=["TRACKS"])
    assert done["TRACKS"].deleted == 1
    children = [t for t in dest.tables() if t.startswith("tracks__")]
    assert len(children) == 1 and len(children[0]) <= 63, children
    assert dest.query(f'SELECT parent_id, value FROM "{{ds}}"."{children[0]}"') == [("t2", "3")]
