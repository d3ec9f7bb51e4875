"""What a real Snowflake account sends lands exactly, on every destination (the emulator answers through
`learnsync.emulator.wire`: results in chunks of 64 rows, each chunk with its own integer widths, scaled numbers as
scaled integers, pretty JSON with `undefined`, nanosecond timestamps, the account's TIMEZONE)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Iterator

import pytest

from learnsync import emulator
from learnsync.emulator.wire import WireConfig
from tests.support.warehouses import CHUNK_ROWS, new_share
from tests.support.helpers import assert_table_equal, create, dest_rows, insert, run_sync
from tests.support.rows import T0

UTC = timezone.utc


def _fq(share: Any, table: str) -> str:
    return f'"{share.database}"."CORE"."{table}"'


def _column_types(dest: Any, table: str) -> dict[str, str]:
    rows = dest.query("SELECT column_name, data_type FROM information_schema.columns"
                      f" WHERE table_schema = '{{ds}}' AND table_name = '{table}'")
    return {name: str(t).upper() for name, t in rows}


def test_scaled_numbers_and_per_chunk_widths_land_exactly(share, dest):
    """COURSES_TRACKINGS.TIME_SPENT is NUMBER(37,1): the connector's default would hand it over as float64 (Postgres:
    "COPY Writer from Arrow type 'double' to PostgreSQL numeric is not implemented"); its chunks here arrive as
    int8, int16, int32 and int64 scaled integers."""
    create(share, "COURSES_TRACKINGS")

    def rows(magnitudes: list[int], first: int) -> list[dict]:
        out = []
        for chunk, big in enumerate(magnitudes):
            for i in range(CHUNK_ROWS):
                n = first + chunk * CHUNK_ROWS + i
                out.append({"ID": f"ct{n:05d}", "CREATED_AT": T0 + timedelta(minutes=n), "PROGRESS": n,
                            "TIME_SPENT": f"{big + i}.{n % 10}", "SCORE": n / 7})
        return out

    # integer parts whose scaled values need int8, int16, int32 and int64 (17 digits: through float64 the last
    # digits would be lost)
    insert(share, "COURSES_TRACKINGS", rows([1, 3000, 200_000_000, 12345678901234567], 0))
    run_sync(share, dest, tables=["COURSES_TRACKINGS"])
    assert_table_equal(share, dest, "COURSES_TRACKINGS")
    spent = dict(dest_rows(dest, "courses_trackings", ["id", "time_spent"]))
    assert Decimal(spent["ct00255"]) == Decimal("12345678901234630.5")

    # past 64 bits once scaled: decimal128(38,1) chunks. (22 digits, not 30: the local-bigquery emulator reads
    # parquet decimals through NUMERIC(38,9), which holds 29; BigQuery itself takes BIGNUMERIC past that, as
    # dlt's load job allows with decimal_target_types)
    insert(share, "COURSES_TRACKINGS", rows([1234567890123456789012], 1000))
    run_sync(share, dest, tables=["COURSES_TRACKINGS"])
    assert_table_equal(share, dest, "COURSES_TRACKINGS")
    spent = dict(dest_rows(dest, "courses_trackings", ["id", "time_spent"]))
    assert Decimal(spent["ct01063"]) == Decimal("1234567890123456789075.3")


def test_fact_table_number_widths_and_first_chunk_types(share, dest):
    """FACT_PERMISSION_EVENTS' NUMBER(38,0) columns arrive as int8 in the first chunk (small ids) and wider later:
    dlt's parquet writer refused the mixed schemas, and a first run created TINYINT columns."""
    create(share, "FACT_PERMISSION_EVENTS")
    rows = []
    for n in range(3 * CHUNK_ROWS):
        group = n if n < CHUNK_ROWS else n * 1_000 if n < 2 * CHUNK_ROWS else n * 10_000_000_000
        rows.append({"OCCURRED_AT": T0 + timedelta(hours=n), "GROUP_ID": group, "USER_ID": n % 100,
                     "NB_LICENSES_PURCHASED": n % 3, "EVENT_NAME": "permission_granted"})
    insert(share, "FACT_PERMISSION_EVENTS", rows)
    run_sync(share, dest, profile="datacamp", tables=["FACT_PERMISSION_EVENTS"])
    assert_table_equal(share, dest, "FACT_PERMISSION_EVENTS")
    types = _column_types(dest, "fact_permission_events")
    assert types["group_id"] in ("BIGINT", "INT64"), types  # never a first chunk's TINYINT/SMALLINT
    assert types["user_id"] in ("BIGINT", "INT64"), types


def test_number_38_2_is_never_a_float(share, dest):
    share.sql(f'CREATE TABLE {_fq(share, "AMOUNTS")} ("ID" TEXT, "UPDATED_AT" TIMESTAMP_NTZ, "AMOUNT" NUMBER(38,2))')
    share.sql(f"INSERT INTO {_fq(share, 'AMOUNTS')} VALUES ('a', %s, 1234567890123456.78), ('b', %s, -0.01),"
              " ('c', %s, NULL)", [T0, T0, T0])
    run_sync(share, dest, profile="auto")
    got = dict(dest_rows(dest, "amounts", ["id", "amount"]))
    assert got == {"a": Decimal("1234567890123456.78"), "b": Decimal("-0.01"), "c": None}, got


def test_pretty_json_and_undefined(share, dest):
    """Snowflake prints ARRAY_CONSTRUCT(1, NULL, 3) as `[\\n  1,\\n  undefined,\\n  3\\n]`: not JSON. It lands
    as compact JSON with null, and its child rows keep every position."""
    create(share, "GROUPS")
    share.sql(f"INSERT INTO {_fq(share, 'GROUPS')} (\"ID\", \"CREATED_AT\", \"NAME\", \"USERS\", \"ADMINS\")"
              " SELECT 'g1', %s, 'one', PARSE_JSON('[\"u1\", null, \"u3\"]'),"
              " PARSE_JSON('[{\"id\": \"u1\", \"since\": null, \"tags\": [1, null]}]')", [T0])
    run_sync(share, dest, tables=["GROUPS"])
    assert_table_equal(share, dest, "GROUPS")
    users, admins = dest_rows(dest, "groups", ["users", "admins"])[0]
    assert users == '["u1",null,"u3"]', users
    assert json.loads(admins) == [{"id": "u1", "since": None, "tags": [1, None]}], admins
    assert sorted(dest.query('SELECT position, value FROM "{ds}"."groups__users"'), key=lambda r: r[0]) == [
        (0, "u1"), (1, None), (2, "u3")]


@pytest.fixture
def declared(share: Any) -> Any:
    """Declare columns of types fakesnow cannot hold; the wire sends them as a real account does."""

    def declare(table: str, column: str, sf_type: str, **options: Any) -> None:
        share.server.wire.declare(share.database, "CORE", table, column, sf_type, **options)

    return declare


def test_nanosecond_timestamps_and_zones(share, dest, declared):
    """TIMESTAMP(9) values carry nanoseconds: 9999-12-31 23:59:59.999999999 would make the connector raise
    OverflowError; pre-1970 values must floor (1969-12-31 23:59:59.999999999 stays on 1969-12-31). TIMESTAMP_TZ
    is sent with its offset, TIMESTAMP_LTZ labelled with the session zone (the account default here is
    America/Los_Angeles; learnsync pins UTC)."""
    share.sql(f'CREATE TABLE {_fq(share, "EVENTS")} ("ID" TEXT, "UPDATED_AT" TIMESTAMP_NTZ, "AT_NS" TIMESTAMP_NTZ,'
              ' "AT_TZ" TIMESTAMP_TZ, "AT_LTZ" TIMESTAMP_TZ)')
    declared("EVENTS", "AT_NS", "TIMESTAMP_NTZ(9)", nanos=999)
    declared("EVENTS", "AT_TZ", "TIMESTAMP_TZ(9)", tz_offset_minutes=120, nanos=500)
    declared("EVENTS", "AT_LTZ", "TIMESTAMP_LTZ(9)")
    instant = datetime(2025, 6, 1, 10, 0, 0, 123456, tzinfo=UTC)
    values = [("far", datetime(9999, 12, 31, 23, 59, 59, 999999)), ("pre", datetime(1969, 12, 31, 23, 59, 59, 999999)),
              ("now", datetime(2025, 11, 13, 8, 30, 0, 1)), ("null", None)]
    for key, at in values:
        share.sql(f"INSERT INTO {_fq(share, 'EVENTS')} VALUES (%s, %s, %s, %s, %s)", [key, T0, at, instant, instant])
    run_sync(share, dest, profile="auto")
    got = {r[0]: r[1:] for r in dest_rows(dest, "events", ["id", "at_ns", "at_tz", "at_ltz"])}
    # nanoseconds floored to microseconds, never rounded or wrapped
    assert got["far"][0] == datetime(9999, 12, 31, 23, 59, 59, 999999)
    assert got["pre"][0] == datetime(1969, 12, 31, 23, 59, 59, 999999)
    assert got["now"][0] == datetime(2025, 11, 13, 8, 30, 0, 1)
    assert got["null"][0] is None
    for key in ("far", "pre", "now"):  # the instant, whatever offset or zone it was sent with
        for v in got[key][1:]:
            assert _utc(v) == instant.replace(tzinfo=None), (key, v)


def _utc(v: Any) -> datetime:
    return v.astimezone(UTC).replace(tzinfo=None) if isinstance(v, datetime) and v.tzinfo else v


def test_decfloat_vector_geography_and_structured_types(share, dest, declared):
    share.sql(f'CREATE TABLE {_fq(share, "SHAPES")} ("ID" TEXT, "UPDATED_AT" TIMESTAMP_NTZ, "D" VARCHAR,'
              ' "VI" ARRAY, "VF" ARRAY, "G" VARCHAR, "A" ARRAY, "O" VARIANT)')
    declared("SHAPES", "D", "DECFLOAT")
    declared("SHAPES", "VI", "VECTOR(INT, 3)")
    declared("SHAPES", "VF", "VECTOR(FLOAT, 4)")
    declared("SHAPES", "G", "GEOGRAPHY")
    declared("SHAPES", "A", "ARRAY(NUMBER(38,0))")
    declared("SHAPES", "O", "OBJECT(name VARCHAR, age NUMBER(38,0))")
    point = {"type": "Point", "coordinates": [2.35, 48.85]}
    line = {"type": "LineString", "coordinates": [[0, 0], [1, 1.5]]}
    share.sql(
        f"INSERT INTO {_fq(share, 'SHAPES')} SELECT 's1', %s, '12345678901234567890123456789012.3456',"
        " PARSE_JSON('[1, 2, 3]'), PARSE_JSON('[0.1, 0.5, 1.25, -2]'), %s, PARSE_JSON('[7, 8]'),"
        " PARSE_JSON('{\"name\": \"Ada\", \"age\": 36}')", [T0, json.dumps(point)])
    share.sql(f"INSERT INTO {_fq(share, 'SHAPES')} SELECT 's2', %s, '-1E-30', NULL, NULL, %s, PARSE_JSON('[]'), NULL",
              [T0, json.dumps(line)])
    run_sync(share, dest, profile="auto")
    got = {r[0]: r[1:] for r in dest_rows(dest, "shapes", ["id", "d", "vi", "vf", "g", "a", "o"])}
    d, vi, vf, g, a, o = got["s1"]
    assert d == "12345678901234567890123456789012.3456"  # DECFLOAT: the exact decimal, as text
    assert json.loads(vi) == [1, 2, 3] and json.loads(vf) == [0.1, 0.5, 1.25, -2.0], (vi, vf)  # VECTOR: a JSON array
    assert json.loads(g) == point  # GEOGRAPHY: GeoJSON, compact
    assert json.loads(a) == [7, 8] and json.loads(o) == {"name": "Ada", "age": 36}
    assert got["s2"][0] == "-1E-30" and json.loads(got["s2"][3]) == line and got["s2"][4] == "[]"
    assert got["s2"][1] is None and got["s2"][5] is None
    types = _column_types(dest, "shapes")
    assert all(types[c] in ("TEXT", "VARCHAR", "STRING", "CHARACTER VARYING") for c in ("d", "vi", "vf", "g")), types
    # structured types unnest like semi-structured ones
    assert sorted(dest.query('SELECT parent_id, position, value FROM "{ds}"."shapes__a"')) == [("s1", 0, "7"), ("s1", 1, "8")]
    assert dest.query('SELECT parent_id, position, name, age FROM "{ds}"."shapes__o"') == [("s1", 0, "Ada", "36")]
    # a second run reads the same shapes and changes nothing (fingerprints stable)
    share.sql(f"UPDATE {_fq(share, 'SHAPES')} SET \"UPDATED_AT\" = %s WHERE \"ID\" = 's2'", [T0 + timedelta(hours=1)])
    run_sync(share, dest, profile="auto")
    assert len(dest_rows(dest, "shapes", ["id"])) == 2


@pytest.fixture
def strict_account(server: Any) -> Iterator[Any]:
    """An account whose defaults would break a reader that does not pin its session: JSON results, WKB
    geography, chunks of 7 rows with an empty inline first chunk."""
    config = WireConfig(chunk_rows=7, first_chunk_rows=0, account_result_format="JSON",
                        geography_output_format="WKB", account_timezone="Asia/Tokyo")
    with emulator.emulated_share(wire=config) as srv:
        yield srv


def test_account_defaults_do_not_reach_the_data(strict_account, dest, declared_share):
    share = declared_share(strict_account)
    create(share, "COURSES_TRACKINGS")
    insert(share, "COURSES_TRACKINGS", [{"ID": f"ct{i}", "CREATED_AT": T0 + timedelta(minutes=i), "TIME_SPENT": f"{i}.5",
                                         "ACCESS_DATES": [f"d{i}"] * (i % 3)} for i in range(30)])
    run_sync(share, dest, tables=["COURSES_TRACKINGS"])
    assert_table_equal(share, dest, "COURSES_TRACKINGS")
    pinned = [q.parameters for q in strict_account.wire.queries if "COURSES_TRACKINGS" in q.sql and "QUALIFY" in q.sql]
    assert pinned and all(p["PYTHON_CONNECTOR_QUERY_RESULT_FORMAT"] == "ARROW" and p["TIMEZONE"] == "UTC"
                          and p["GEOGRAPHY_OUTPUT_FORMAT"] == "GeoJSON" for p in pinned), pinned[:1]
    assert strict_account.wire.chunk_gets  # the reads came in downloaded chunks


@pytest.fixture
def declared_share(request: Any) -> Iterator[Any]:
    shares = []

    def make(server: Any) -> Any:
        import uuid

        s = new_share(server, f"T{uuid.uuid4().hex[:10].upper()}")
        shares.append(s)
        return s

    yield make
    for s in shares:
        s.conn.close()
