"""The SQL learnsync sends to Snowflake, built as pure functions: cursor ranges, the newest row per key, hashed
columns, the fingerprint, text reads of types the connector cannot convert."""

from __future__ import annotations

from datetime import datetime, timedelta

from learnsync.catalog.tables import Column, Strategy, TableSpec
from learnsync.catalog.fingerprint import SOURCE_HASH
from learnsync.pipelines.snowflake import sql

T0 = datetime(2026, 1, 1, 12)


def _spec(strategy: Strategy = Strategy.MERGE, **kw) -> TableSpec:
    cols = (Column("ID", "TEXT"), Column("AT", "TIMESTAMP_NTZ"), Column("EMAIL", "TEXT"), Column("AMOUNT", "DECFLOAT"))
    return TableSpec("T", cols, ("ID",) if strategy is Strategy.MERGE else (), "AT", strategy, timedelta(hours=24),
                     **kw)


def test_quoting_and_base_types() -> None:
    assert sql.quote('we"ird') == '"we""ird"'
    assert sql.fqn("DB", "CORE", "T") == '"DB"."CORE"."T"'
    assert [sql.base_type(t) for t in ("VARCHAR(16777216)", "VECTOR(FLOAT, 256)", "ARRAY(NUMBER(38,0))", "INT")] == [
        "TEXT", "VECTOR", "ARRAY", "NUMBER"]


def test_cursor_ranges_are_half_open_and_bind_their_values() -> None:
    where, params = sql.cursor_range(_spec(), T0, T0 + timedelta(hours=1), nulls=False)
    assert where == '"AT" >= %(lo)s AND "AT" < %(hi)s' and params == {"lo": T0, "hi": T0 + timedelta(hours=1)}
    # unbounded below: rows without a cursor are left out, unless asked for
    assert sql.cursor_range(_spec(), None, T0, nulls=False)[0] == '("AT" < %(hi)s) AND "AT" IS NOT NULL'
    assert sql.cursor_range(_spec(), None, None, nulls=True)[0] == '(TRUE) OR "AT" IS NULL'


def test_entity_reads_keep_the_newest_row_per_key_deterministically() -> None:
    text = sql.select(_spec(), '"DB"."CORE"."T"', "TRUE")
    # every row with a NULL key passes: the dlt source counts and skips them (issue 20)
    assert text.endswith(f'QUALIFY ROW_NUMBER() OVER (PARTITION BY "ID" ORDER BY "AT" DESC NULLS LAST,'
                         f' "{SOURCE_HASH}") = 1 OR "ID" IS NULL')
    assert f'COUNT(*) OVER (PARTITION BY "ID") AS "{sql.DUPS_COLUMN}"' in text


def test_event_reads_keep_every_row() -> None:
    text = sql.select(_spec(Strategy.EVENTS), '"DB"."CORE"."T"', "TRUE")
    assert "QUALIFY" not in text and "PARTITION" not in text


def test_hashed_columns_never_leave_snowflake_and_decfloat_reads_as_text() -> None:
    spec = _spec(hashed=("EMAIL",))
    assert sql.loaded(spec, "EMAIL") == 'SHA2(%(pii_salt)s || "EMAIL", 256)'
    assert sql.loaded(spec, "AMOUNT") == 'TO_VARCHAR("AMOUNT")'  # connector 4.8 has no Arrow converter for it
    assert sql.loaded(spec, "ID") == '"ID"'
    assert 'SHA2(%(pii_salt)s || "EMAIL", 256) AS "EMAIL"' in sql.select(spec, "t", "TRUE")


def test_a_hashed_key_is_compared_by_its_hash() -> None:
    # a text key without its NUL characters, as it is loaded (issue 20)
    assert sql.key_text(_spec()) == 'REPLACE(TO_VARCHAR("ID"), CHR(0), \'\')'
    assert sql.key_text(_spec(hashed=("ID",))) == 'REPLACE(TO_VARCHAR(SHA2(%(pii_salt)s || "ID", 256)), CHR(0), \'\')'


def test_the_source_clock_matches_the_cursor_type() -> None:
    assert sql.now(_spec()) == "SYSDATE()"  # TIMESTAMP_NTZ holds UTC wall clock
    event = TableSpec("E", (Column("D", "DATE"),), (), "D", Strategy.EVENTS, timedelta(hours=24))
    assert sql.now(event) == "CURRENT_DATE()" and sql.day(event) == '"D"'
    assert sql.day(_spec(Strategy.EVENTS)) == 'TO_DATE("AT")'


def test_values_are_bound_on_the_server_never_pasted() -> None:
    from datetime import timezone

    text, values = sql.server_bound(
        'SELECT SHA2(%(pii_salt)s || "E", 256) FROM t WHERE "AT" >= %(lo)s AND "AT" < %(hi)s AND "X" LIKE \'a%%\''
        ' AND "E" <> %(pii_salt)s', {"pii_salt": "s3cret", "lo": T0, "hi": T0.replace(tzinfo=timezone.utc)})
    assert text == 'SELECT SHA2(:1 || "E", 256) FROM t WHERE "AT" >= :2 AND "AT" < :3 AND "X" LIKE \'a%\' AND "E" <> :1'
    assert values == ["s3cret", T0, ("TIMESTAMP_TZ", T0.replace(tzinfo=timezone.utc))]
    assert sql.server_bound("SELECT 1", {}) == ("SELECT 1", [])
    assert sql.literal('{"a":"it\'s \\ x"}') == "'{\"a\":\"it''s \\\\ x\"}'"


def test_fingerprint_version_2_renders_each_type_with_no_session_format() -> None:
    """Version 1 left every value to TO_VARCHAR and the session's output formats; version 2 names a format for
    each type that has one, so nothing the account sets changes a fingerprint (issue 19 item 2)."""
    from learnsync.catalog.fingerprint import rendered, row_hash_sql

    assert rendered('"X"', "TIMESTAMP_NTZ") == """TO_VARCHAR("X", 'YYYY-MM-DD HH24:MI:SS.FF9')"""
    assert rendered('"X"', "TIMESTAMP_LTZ") == """TO_VARCHAR(CONVERT_TIMEZONE('UTC', "X"), 'YYYY-MM-DD HH24:MI:SS.FF9')"""
    assert rendered('"X"', "TIMESTAMP_TZ") == rendered('"X"', "TIMESTAMP_LTZ")
    assert rendered('"X"', "TIME") == """TO_VARCHAR("X", 'HH24:MI:SS.FF9')"""
    assert rendered('"X"', "DATE") == """TO_VARCHAR("X", 'YYYY-MM-DD')"""
    assert rendered('"X"', "BINARY") == """TO_VARCHAR("X", 'HEX')"""
    assert rendered('"X"', "FLOAT") == """TO_VARCHAR("X") || '~' || TO_VARCHAR("X" - TO_DOUBLE(TO_VARCHAR("X")))"""
    for plain in ("NUMBER", "TEXT", "BOOLEAN", "VARIANT", "ARRAY"):
        assert rendered('"X"', plain) == 'TO_VARCHAR("X")'
    assert all(rendered('"X"', t, version=1) == 'TO_VARCHAR("X")' for t in ("TIMESTAMP_NTZ", "FLOAT", "BINARY"))
    v2 = sql.row_hash(_spec())
    assert "HH24:MI:SS.FF9" in v2 and "HH24" not in sql.row_hash(_spec(), version=1)
    assert row_hash_sql([('"A"', "TEXT")]) == """MD5(COALESCE(LENGTH(TO_VARCHAR("A")) || ':' || TO_VARCHAR("A"), '-'))"""
