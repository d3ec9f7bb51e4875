"""The emulated share: fakesnow over HTTP, read back with the real connector's Arrow path."""

from __future__ import annotations

import hashlib
import json
import math
import socket
import uuid
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Iterator

import pytest

from learnsync import emulator
from learnsync.catalog.vendor_docs import DATACAMP_FACTS, LEARNING_360

DOCS = {d.name: d for d in LEARNING_360 + DATACAMP_FACTS + emulator.DATACAMP_DIMENSIONS}
REF = emulator.REFERENCE_TIME


def rows(conn: Any, sql: str) -> list[dict[str, Any]]:
    """Rows through fetch_arrow_batches, the path a sync uses and the one the timestamp patch fixes."""
    cur = conn.cursor()
    try:
        cur.execute(sql)
        return [r for batch in cur.fetch_arrow_batches() for r in batch.to_pylist()]
    finally:
        cur.close()


def table_rows(conn: Any, database: str, schema: str, table: str) -> list[dict[str, Any]]:
    return rows(conn, f'SELECT * FROM "{database}"."{schema}"."{table}"')


def fingerprint(conn: Any, database: str, schema: str, table: str) -> str:
    """Order-independent digest of a table's contents (fakesnow has no HASH_AGG)."""
    lines = sorted(repr(sorted(r.items())) for r in table_rows(conn, database, schema, table))
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def unique(prefix: str) -> str:
    # the emulator's in-memory data is shared by the whole process, so every test run gets its own names
    return f"{prefix}_{uuid.uuid4().hex[:8].upper()}"


@pytest.fixture(scope="module")
def srv() -> Iterator[emulator.EmulatorServer]:
    with emulator.emulated_share() as server:
        yield server


@pytest.fixture(scope="module")
def conn(srv: emulator.EmulatorServer) -> Iterator[Any]:
    # the realistic wire sends NUMBER(p,s) as scaled integers, which the connector turns into float64 unless asked
    # for decimals, as any exact reader of Snowflake must (learnsync's own connections do)
    connection = srv.connect(arrow_number_to_decimal=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def l360(conn: Any) -> tuple[str, dict[str, int]]:
    database = unique("L360")
    return database, emulator.create_360learning(conn, database=database)


@pytest.fixture(scope="module")
def datacamp(conn: Any) -> tuple[str, dict[str, int]]:
    database = unique("DC")
    return database, emulator.create_datacamp(conn, database=database, events=3000)


def test_patch_keeps_null_timestamps(conn: Any) -> None:
    emulator.patch_fakesnow()
    emulator.patch_fakesnow()  # idempotent: still our function, not a wrapper of a wrapper
    import fakesnow.arrow

    assert fakesnow.arrow.timestamp_to_sf_struct is emulator.server._timestamp_to_sf_struct_keeping_nulls
    db = unique("TSNULL")
    cur = conn.cursor()
    cur.execute(f'CREATE DATABASE "{db}"')
    cur.execute(f'CREATE SCHEMA "{db}"."S"')
    cur.execute(f'CREATE TABLE "{db}"."S"."T" ("I" NUMBER(38,0), "TS" TIMESTAMP_NTZ(9), "TZ" TIMESTAMP_TZ)')
    cur.execute(
        f"""INSERT INTO "{db}"."S"."T" VALUES (1, '2025-12-31 23:59:59.123456', '2025-12-31 23:59:59+00:00'),
        (2, NULL, NULL)"""
    )
    got = rows(conn, f'SELECT * FROM "{db}"."S"."T" ORDER BY "I"')
    assert got[0]["TS"] == datetime(2025, 12, 31, 23, 59, 59, 123456)
    assert got[0]["TZ"] is not None and got[0]["TZ"].year == 2025
    assert got[1]["TS"] is None and got[1]["TZ"] is None  # unpatched fakesnow gives 1970-01-01


def _expected_type(sf_type: str) -> tuple[set[str], int | None, int | None]:
    """What INFORMATION_SCHEMA.COLUMNS says for a documented type: data types, precision, scale."""
    if sf_type.startswith("VARCHAR"):
        return {"TEXT"}, None, None
    if sf_type.startswith("NUMBER"):
        precision, scale = sf_type[len("NUMBER(") : -1].split(",")
        return {"NUMBER"}, int(precision), int(scale)
    if sf_type.startswith("TIMESTAMP_NTZ"):
        return {"TIMESTAMP_NTZ"}, None, None
    if sf_type == "ARRAY":
        # fakesnow stores ARRAY as JSON and reports it as VARIANT; Snowflake says ARRAY
        return {"ARRAY", "VARIANT"}, None, None
    return {sf_type}, None, None


@pytest.mark.parametrize("share", ["l360", "datacamp"])
def test_tables_and_types_in_information_schema(request: pytest.FixtureRequest, conn: Any, share: str) -> None:
    database, counts = request.getfixturevalue(share)
    schema = "CORE" if share == "l360" else "DATA_CONNECTOR"
    info = rows(
        conn,
        f"""SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE, ORDINAL_POSITION
        FROM "{database}".INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = '{schema}'""",
    )
    by_table: dict[str, list[dict[str, Any]]] = {}
    for r in info:
        by_table.setdefault(r["TABLE_NAME"], []).append(r)
    docs = LEARNING_360 if share == "l360" else DATACAMP_FACTS + emulator.DATACAMP_DIMENSIONS
    expected_tables = {d.name for d in docs}
    assert set(by_table) == expected_tables == set(counts)
    for name, cols in by_table.items():
        cols.sort(key=lambda r: r["ORDINAL_POSITION"])
        doc = DOCS[name]
        assert [c["COLUMN_NAME"] for c in cols] == [c.name for c in doc.columns]
        for col, cdoc in zip(cols, doc.columns):
            types, precision, scale = _expected_type(cdoc.sf_type)
            assert col["DATA_TYPE"] in types, (name, cdoc.name, col["DATA_TYPE"])
            if precision is not None:
                assert (col["NUMERIC_PRECISION"], col["NUMERIC_SCALE"]) == (precision, scale), (name, cdoc.name)


def test_counts_match(conn: Any, l360: tuple[str, dict[str, int]], datacamp: tuple[str, dict[str, int]]) -> None:
    for (database, counts), schema in ((l360, "CORE"), (datacamp, "DATA_CONNECTOR")):
        for table, n in counts.items():
            got = rows(conn, f'SELECT COUNT(*) AS N FROM "{database}"."{schema}"."{table}"')[0]["N"]
            assert got == n, table
    counts = l360[1]
    assert (counts["USERS"], counts["GROUPS"], counts["COURSES"]) == (200, 20, 50)
    assert (counts["COURSES_TRACKINGS"], counts["PATHS"], counts["PATHS_TRACKINGS"]) == (2000, 10, 300)
    assert counts["DAILY_METRICS"] == 60
    sized = {"USERS", "COURSES_TRACKINGS", "PATHS", "PATHS_TRACKINGS", "DAILY_METRICS"}
    assert all(20 <= n <= 100 for t, n in counts.items() if t not in sized)
    dc = datacamp[1]
    facts = [dc[d.name] for d in DATACAMP_FACTS]
    assert sum(facts) == 3000 and dc["FACT_LEARN_EVENTS"] == max(facts)


def test_360_timestamps(conn: Any, l360: tuple[str, dict[str, int]]) -> None:
    database, _ = l360
    trackings = table_rows(conn, database, "CORE", "COURSES_TRACKINGS")
    created = [r["CREATED_AT"] for r in trackings]
    nulls = [c for c in created if c is None]
    assert 0 < len(nulls) < len(created) / 10  # a few NULLs, read back as None and not 1970-01-01
    present = [c for c in created if c is not None]
    assert all(REF - timedelta(days=90) <= c <= REF for c in present)
    # a bulk import: many rows share one CREATED_AT
    tie, ties = Counter(present).most_common(1)[0]
    assert tie == emulator.BULK_IMPORT_AT and ties > 100
    assert all(r["LAST_ACCESSED_AT"] >= r["CREATED_AT"] for r in trackings if r["CREATED_AT"])
    assert all((r["COMPLETED_AT"] is None) == (r["PROGRESS"] != 100) for r in trackings)
    for table in ("COURSES", "PATHS", "PATHS_SESSIONS"):
        for r in table_rows(conn, database, "CORE", table):
            assert r["MODIFIED_AT"] is not None
            assert r["CREATED_AT"] is None or r["MODIFIED_AT"] >= r["CREATED_AT"], (table, r["ID"])
    for doc in LEARNING_360:
        if any(c.name == "CREATED_AT" for c in doc.columns):
            assert any(r["CREATED_AT"] is None for r in table_rows(conn, database, "CORE", doc.name)), doc.name
    days = [r["DATE"] for r in table_rows(conn, database, "CORE", "DAILY_METRICS")]
    assert sorted(days) == [REF - timedelta(days=d) for d in range(60, 0, -1)]


def test_360_arrays_are_json_text(conn: Any, l360: tuple[str, dict[str, int]]) -> None:
    database, _ = l360
    for doc in LEARNING_360:
        arrays = [c.name for c in doc.columns if c.sf_type == "ARRAY"]
        if not arrays:
            continue
        for col in arrays:
            values = [r[col] for r in table_rows(conn, database, "CORE", doc.name)]
            assert all(v is None or isinstance(v, str) for v in values), (doc.name, col)
            parsed = [json.loads(v) for v in values if v is not None]
            assert all(isinstance(p, list) and len(p) <= 5 for p in parsed), (doc.name, col)
            if len(values) >= 50:
                assert None in values and [] in parsed, (doc.name, col)
            elements = [e for p in parsed for e in p]
            if col in ("CUSTOMFIELDS", "ANSWERS"):
                assert elements and all(isinstance(e, dict) for e in elements), (doc.name, col)
            else:
                assert all(isinstance(e, str) for e in elements), (doc.name, col)
    users = table_rows(conn, database, "CORE", "USERS")
    fields = [f for r in users if r["CUSTOMFIELDS"] for f in json.loads(r["CUSTOMFIELDS"])]
    assert all(set(f) == {"name", "value"} for f in fields)
    ids = {r["ID"] for r in users}
    assert "u000001" in ids and "u000200" in ids
    managers = {m for r in users if r["MANAGERS"] for m in json.loads(r["MANAGERS"])}
    assert managers <= ids  # references point at existing users
    trackings = table_rows(conn, database, "CORE", "COURSES_TRACKINGS")
    dates = [d for r in trackings if r["ACCESS_DATES"] for d in json.loads(r["ACCESS_DATES"])]
    assert max(len(json.loads(r["ACCESS_DATES"])) for r in trackings if r["ACCESS_DATES"]) == 5
    assert dates and all(REF - timedelta(days=91) <= datetime.fromisoformat(d.rstrip("Z")) <= REF for d in dates)


def test_360_floats_decimals_and_text(conn: Any, l360: tuple[str, dict[str, int]]) -> None:
    database, _ = l360
    trackings = table_rows(conn, database, "CORE", "COURSES_TRACKINGS")
    scores = [r["SCORE"] for r in trackings if r["SCORE"] is not None]
    assert any(math.isnan(s) for s in scores)
    assert any(s == math.inf for s in scores) and any(s == -math.inf for s in scores)
    assert sum(1 for s in scores if math.isnan(s) or math.isinf(s)) < len(scores) / 20
    spent = [r["TIME_SPENT"] for r in trackings]
    assert all(isinstance(s, Decimal) and s.as_tuple().exponent == -1 for s in spent)
    texts = [
        v
        for doc in LEARNING_360
        for r in table_rows(conn, database, "CORE", doc.name)
        for v in r.values()
        if isinstance(v, str)
    ]
    for needle in ('"', "'", ",", "\n", "\\", "é", "日本", "🔒"):
        assert any(needle in t for t in texts), needle


def test_datacamp_facts(conn: Any, datacamp: tuple[str, dict[str, int]]) -> None:
    database, _ = datacamp
    for doc in DATACAMP_FACTS:
        events = table_rows(conn, database, "DATA_CONNECTOR", doc.name)
        for e in events:
            ts = e["OCCURRED_AT"]
            assert REF - timedelta(days=60) <= ts <= REF
            assert e["DATE_ID"] == ts.year * 10000 + ts.month * 100 + ts.day
        # identical events are separate rows
        counts = Counter(repr(sorted(e.items())) for e in events)
        assert max(counts.values()) == 2, doc.name
    learn = table_rows(conn, database, "DATA_CONNECTOR", "FACT_LEARN_EVENTS")
    percentiles = [e["ASSESSMENT_PERCENTILE"] for e in learn if e["ASSESSMENT_PERCENTILE"] is not None]
    assert percentiles
    assert all(e["ASSESSMENT_SCORE"] is not None for e in learn if e["EVENT_NAME"] == "assessment_completed")
    variants = table_rows(conn, database, "DATA_CONNECTOR", "DIM_COURSE_VARIANT")
    assert sorted((v["COURSE_VARIANT_ID"], v["NAME"]) for v in variants) == [(1, "classic"), (2, "AI-native")]
    users = {u["USER_ID"] for u in table_rows(conn, database, "DATA_CONNECTOR", "DIM_USER")}
    assert {e["USER_ID"] for e in learn} <= users


def test_generation_is_deterministic(
    conn: Any, l360: tuple[str, dict[str, int]], datacamp: tuple[str, dict[str, int]]
) -> None:
    again_360 = unique("L360")
    again_dc = unique("DC")
    assert emulator.create_360learning(conn, database=again_360) == l360[1]
    assert emulator.create_datacamp(conn, database=again_dc, events=3000) == datacamp[1]
    for table in l360[1]:
        assert fingerprint(conn, l360[0], "CORE", table) == fingerprint(conn, again_360, "CORE", table), table
    for table in datacamp[1]:
        a = fingerprint(conn, datacamp[0], "DATA_CONNECTOR", table)
        assert a == fingerprint(conn, again_dc, "DATA_CONNECTOR", table), table
    # and the tables differ from one another: the generator is salted per table
    assert fingerprint(conn, l360[0], "CORE", "POSTS") != fingerprint(conn, l360[0], "CORE", "REACTIONS")


def test_uri_form(srv: emulator.EmulatorServer) -> None:
    assert srv.host == "127.0.0.1"
    assert srv.uri("LEARNING_360", "CORE") == (
        f"snowflake://fake:snow@fakesnow/LEARNING_360/CORE?host=127.0.0.1&port={srv.port}&protocol=http"
    )


@pytest.mark.slow  # the emulator in a process of its own
def test_serve_in_subprocess() -> None:
    with emulator.serve_in_subprocess() as server:
        with server.connect() as c:
            assert rows(c, "SELECT 1 + 1 AS TWO") == [{"TWO": 2}]
            # a fresh process: its own in-memory data, filled by the benchmark generator
            counts = emulator.generate_perf_share(c, events=1000, trackings=500)
            assert counts == {
                "DATACAMP.DATA_CONNECTOR.FACT_LEARN_EVENTS": 1000,
                "LEARNING_360.CORE.COURSES_TRACKINGS": 500,
            }
            trackings = rows(c, 'SELECT "CREATED_AT", "ACCESS_DATES" FROM "LEARNING_360"."CORE"."COURSES_TRACKINGS"')
            assert any(r["CREATED_AT"] is None for r in trackings)  # the subprocess is patched too
        port = server.port
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_datacamp_documented_gotchas(conn: Any, datacamp: tuple[str, dict[str, int]]) -> None:
    """The generated facts hold what DataCamp's documentation warns about, so the dbt package's handling of it
    is tested on data that has it."""
    database, _ = datacamp
    learn = table_rows(conn, database, "DATA_CONNECTOR", "FACT_LEARN_EVENTS")
    content = {c["CONTENT_ID"] for c in table_rows(conn, database, "DATA_CONNECTOR", "DIM_CONTENT")}
    # events on content hard-deleted from DIM_CONTENT
    assert {e["CONTENT_ID"] for e in learn if e["CONTENT_ID"] is not None} - content
    # assignment events carry no XP and no duration; track events no content
    assignments = [e for e in learn if e["EVENT_NAME"].startswith("assignment_")]
    assert assignments and all(e["XP_EARNED"] is None and e["DURATION_ENGAGED"] is None for e in assignments)
    assert all(e["ASSIGNMENT_ID"] is not None for e in assignments)
    tracks = [e for e in learn if e["EVENT_NAME"].startswith("track_")]
    assert tracks and all(e["CONTENT_ID"] is None and e["TRACK_VERSION_ID"] is not None for e in tracks)
    # a learner who completed both variants of one course
    variants: dict[tuple[int, int], set[int]] = {}
    for e in learn:
        if e["EVENT_NAME"] == "course_completed":
            variants.setdefault((e["USER_ID"], e["CONTENT_ID"]), set()).add(e["COURSE_VARIANT_ID"])
    assert {1, 2} in variants.values()
    assert {e["ASSESSMENT_KNOWLEDGE_LEVEL"] for e in learn if e["ASSESSMENT_KNOWLEDGE_LEVEL"]} == {
        "Novice", "Lower Intermediate", "Upper Intermediate", "Lower Advanced", "Upper Advanced"}

    # every workspace_viewed lies inside a workspace_visited of the same user, workbook and time
    datalab = table_rows(conn, database, "DATA_CONNECTOR", "FACT_DATALAB_EVENTS")
    visits = {(e["USER_ID"], e["WORKBOOK_ID"], e["OCCURRED_AT"]): e["DURATION_ENGAGED"]
              for e in datalab if e["EVENT_NAME"] == "workspace_visited"}
    viewed = [e for e in datalab if e["EVENT_NAME"] == "workspace_viewed"]
    assert viewed and all(0 < e["DURATION_ENGAGED"] <= visits[(e["USER_ID"], e["WORKBOOK_ID"], e["OCCURRED_AT"])]
                          for e in viewed)

    # certification attempts: one user and certification each, every outcome
    certs = table_rows(conn, database, "DATA_CONNECTOR", "FACT_CERTIFICATION_EVENTS")
    attempts: dict[int, list[dict[str, Any]]] = {}
    for e in certs:
        attempts.setdefault(e["ATTEMPT_ID"], []).append(e)
    assert all(len({(e["USER_ID"], e["CERTIFICATION_ID"]) for e in a}) == 1 for a in attempts.values())
    names = {e["EVENT_NAME"] for e in certs}
    assert {"certification_registered", "certification_granted", "certification_failed", "certification_expired",
            "certification_withdrawn"} <= names
    assert any(not {e["EVENT_NAME"] for e in a} & {"certification_granted", "certification_failed",
                                                   "certification_expired", "certification_withdrawn"}
               for a in attempts.values())  # still in progress

    # subscriptions with licences purchased, licences allocated then revoked
    permission = table_rows(conn, database, "DATA_CONNECTOR", "FACT_PERMISSION_EVENTS")
    started = [e for e in permission if e["EVENT_NAME"] == "subscription_started"]
    assert started and all(e["NB_LICENSES_PURCHASED"] > 0 and e["GROUP_ID"] for e in started)
    allocated = {(e["USER_ID"], e["SLUG"]) for e in permission if e["EVENT_NAME"] == "user_license_allocated"}
    revoked = [e for e in permission if e["EVENT_NAME"] == "user_license_revoked"]
    assert revoked and all((e["USER_ID"], e["SLUG"]) in allocated for e in revoked)
    assert {e["EVENT_NAME"] for e in permission} == {
        "subscription_started", "subscription_ended", "user_license_allocated", "user_license_revoked",
        "invite_sent", "invite_claimed", "invite_withdrawn"}
