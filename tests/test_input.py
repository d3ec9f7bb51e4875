"""Bad-input leftovers that must work: a DuckDB file named like its dataset, NUMBERs beyond 64 bits configured
as decimal, dataset names that need quoting."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from tests.support.warehouses import Dest
from tests.support.helpers import assert_table_equal, insert, run_sync
from tests.support.rows import T0, skills

BIG = Decimal(2**64 + 7)


def test_duckdb_file_named_like_the_dataset(share, tmp_path):
    skills(share)
    path = tmp_path / "x" / "learning.duckdb"
    path.parent.mkdir()
    dest = Dest("duckdb", f"duckdb:///{path}", "learning", path)
    run_sync(share, dest, tables=["SKILLS"])
    insert(share, "SKILLS", [{"ID": "s9", "CREATED_AT": T0, "NAME": "late"}])
    run_sync(share, dest, tables=["SKILLS"])
    # the data is in the file the user named, under catalog `learning`, schema `learning`
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute('SELECT id, name FROM "learning"."learning"."skills" ORDER BY id').fetchall()
    finally:
        con.close()
    src = share.sql(f'SELECT "ID", "NAME" FROM "{share.database}"."CORE"."SKILLS" ORDER BY "ID"')
    assert rows == src and len(rows) == 4


def _bigs(share) -> str:
    name = "LEDGER"
    share.sql(f'CREATE TABLE "{share.database}"."CORE"."{name}" ("ID" TEXT, "CREATED_AT" TIMESTAMP_NTZ,'
              ' "AMOUNT" NUMBER(37,0))')
    # a literal: the emulator binds a Python int as a 64-bit integer; NUMBER(37,0), since the emulator keeps
    # NUMBER(38,0) (Snowflake's INTEGER) as a 64-bit BIGINT
    share.sql(f'INSERT INTO "{share.database}"."CORE"."{name}" VALUES (\'a\', %s, {BIG}::NUMBER(37,0)),'
              f' (\'b\', %s, -42), (\'c\', %s, NULL)', [T0, T0, T0])
    return name


def test_number_beyond_64_bits_fails_clearly_unless_configured_as_decimal(share, dest, monkeypatch):
    table = _bigs(share)
    failed = run_sync(share, dest, profile="auto", expect_ok=False)
    assert len(failed) == 1 and not failed[0].ok
    assert "column AMOUNT" in failed[0].error and "decimal_columns" in failed[0].error
    monkeypatch.setenv(f"SOURCES__LEARNSYNC__TABLES__{table}__DECIMAL_COLUMNS", '["AMOUNT"]')
    run_sync(share, dest, profile="auto")
    got = dest.query('SELECT id, amount FROM "{ds}"."ledger" ORDER BY id')
    assert [(i, None if a is None else Decimal(a)) for i, a in got] == [("a", BIG), ("b", Decimal(-42)), ("c", None)]


def test_decimal_columns_refuses_a_column_that_is_not_number_p_0(share, dest, monkeypatch):
    _bigs(share)
    monkeypatch.setenv("SOURCES__LEARNSYNC__TABLES__LEDGER__DECIMAL_COLUMNS", '["ID"]')
    from learnsync.errors import LearnsyncError

    with pytest.raises(LearnsyncError, match="decimal_columns lists ID"):
        run_sync(share, dest, profile="auto")


@pytest.mark.parametrize("dataset", ["select", "user", "Learning_2026"])
def test_dataset_names_that_need_quoting(share, dest, dataset):
    skills(share)
    # dlt's naming convention folds the dataset to lower case; readers see it under that name
    quoted = Dest(dest.kind, dest.uri, dataset.lower(), dest.path, dest.client)
    try:
        run_sync(share, Dest(dest.kind, dest.uri, dataset, dest.path, dest.client), tables=["SKILLS"])
        assert_table_equal(share, quoted, "SKILLS")
    finally:
        if dest.kind == "postgres":
            from tests.support.warehouses import drop_pg_schema

            drop_pg_schema(dataset.lower())
