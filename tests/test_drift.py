"""Drift in the share: columns added, dropped and widened, tables added and removed between two runs."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

from tests.support.helpers import run_sync
from tests.support.rows import T0

TABLE = "ITEMS"

def _fq(share: Any, table: str = TABLE) -> str:
    return f'"{share.database}"."CORE"."{table}"'

def _items(share: Any, columns: str = '"ID" TEXT, "UPDATED_AT" TIMESTAMP_NTZ, "NAME" VARCHAR(10),'
           ' "QTY" NUMBER(10,0), "PRICE" NUMBER(10,0)', table: str = TABLE) -> None:
    share.sql(f"CREATE TABLE {_fq(share, table)} ({columns})")
    share.sql(f"INSERT INTO {_fq(share, table)} (\"ID\", \"UPDATED_AT\", \"NAME\", \"QTY\", \"PRICE\")"
              " VALUES ('a', %s, 'short', 1, 10), ('b', %s, NULL, 2, 20)", [T0, T0])

def _dest_columns(dest: Any, table: str = "items") -> list[str]:
    return [c for c in dest.columns(table) if not c.startswith("_dlt")]

def test_added_column_appears(share, dest):
    _items(share)
    run_sync(share, dest, profile="auto")
    share.sql(f'ALTER TABLE {_fq(share)} ADD COLUMN "COLOUR" TEXT')
    share.sql(f"INSERT INTO {_fq(share)} (\"ID\", \"UPDATED_AT\", \"COLOUR\") VALUES ('c', %s, 'red')",
              [T0 + timedelta(hours=1)])
    run_sync(share, dest, profile="auto")
    assert "colour" in _dest_columns(dest)
    assert dest.query('SELECT id, colour FROM "{ds}"."items" ORDER BY id') == [("a", None), ("b", None), ("c", "red")]

def test_dropped_column_stays_with_nulls_and_a_warning(share, dest, caplog):
    _items(share)
    share.sql(f"INSERT INTO {_fq(share)} (\"ID\", \"UPDATED_AT\", \"NAME\") VALUES ('d', %s, 'late')",
              [T0 + timedelta(days=3)])
    run_sync(share, dest, profile="auto")
    share.sql(f'ALTER TABLE {_fq(share)} DROP COLUMN "NAME"')
    share.sql(f"INSERT INTO {_fq(share)} (\"ID\", \"UPDATED_AT\", \"QTY\") VALUES ('c', %s, 3)",
              [T0 + timedelta(days=3, hours=1)])
    with caplog.at_level(logging.WARNING, logger="learnsync"):
        run_sync(share, dest, profile="auto")
    assert "name" in _dest_columns(dest)
    # a and b are older than the lookback and keep their names; d is re-read by the lookback, so it is a row
    # loaded after the drop, like c
    assert dest.query('SELECT id, name, qty FROM "{ds}"."items" ORDER BY id') == [
        ("a", "short", 1), ("b", None, 2), ("c", None, 3), ("d", None, None)]
    assert any("column name is no longer in the share" in r.message for r in caplog.records), caplog.text

def test_widened_types_load_without_loss(share, dest):
    _items(share)
    run_sync(share, dest, profile="auto")
    # Snowflake cannot change a NUMBER's scale in place: the vendor recreates the table
    share.sql(f'CREATE OR REPLACE TABLE {_fq(share)} ("ID" TEXT, "UPDATED_AT" TIMESTAMP_NTZ, "NAME" VARCHAR(200),'
              ' "QTY" FLOAT, "PRICE" NUMBER(38,2))')
    share.sql(f"INSERT INTO {_fq(share)} VALUES ('a', %s, 'short', 1, 10), ('b', %s, NULL, 2, 20),"
              f" ('c', %s, '{'x' * 150}', 2.5, 123456789012.34)", [T0, T0, T0 + timedelta(hours=1)])
    run_sync(share, dest, profile="auto")
    assert not [c for c in _dest_columns(dest) if "__v_" in c], _dest_columns(dest)
    got = dest.query('SELECT id, name, qty, price FROM "{ds}"."items" ORDER BY id')
    assert [(i, n, float(q), Decimal(p)) for i, n, q, p in got] == [
        ("a", "short", 1.0, Decimal(10)), ("b", None, 2.0, Decimal(20)),
        ("c", "x" * 150, 2.5, Decimal("123456789012.34"))]

def test_added_table_is_discovered_and_removed_table_warns_and_stays(share, dest, caplog):
    _items(share)
    run_sync(share, dest, profile="auto")
    _items(share, table="EXTRAS")
    run_sync(share, dest, profile="auto")
    assert {"items", "extras"} <= dest.tables()
    share.sql(f"DROP TABLE {_fq(share, 'EXTRAS')}")
    with caplog.at_level(logging.WARNING, logger="learnsync"):
        results = run_sync(share, dest, profile="auto")
    assert [r.table for r in results] == [TABLE]
    assert dest.query('SELECT count(*) FROM "{ds}"."extras"') == [(2,)]
    assert any("extras is no longer in the share" in r.message for r in caplog.records), caplog.text
