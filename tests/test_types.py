"""Batch preparation on Arrow data shaped like the connector's: overflow, NUL characters, timestamps."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest

from learnsync.errors import LearnsyncError
from learnsync.catalog.tables import Column, Strategy, TableSpec
from learnsync.pipelines.source.arrow import prepare_batch


def _spec(*cols: Column) -> TableSpec:
    return TableSpec("T", cols, ("ID",), None, Strategy.MERGE, timedelta(hours=24))


def test_number_38_0_overflow_names_table_and_column():
    # the real connector hands NUMBER(38,0) chunks whose values exceed int64 over as decimal128
    spec = _spec(Column("ID", "TEXT"), Column("BIG", "NUMBER", 38, 0))
    ok = pa.table({"ID": ["a"], "BIG": pa.array([Decimal(2**62)], pa.decimal128(38, 0))})
    assert prepare_batch(spec, ok)["big"].to_pylist() == [2**62]
    too_big = pa.table({"ID": ["a"], "BIG": pa.array([Decimal(2**64)], pa.decimal128(38, 0))})
    with pytest.raises(LearnsyncError, match=r"Table T, column BIG: .*64-bit"):
        prepare_batch(spec, too_big)


def test_nul_characters_are_dropped_with_a_warning(caplog):
    spec = _spec(Column("ID", "TEXT"), Column("NAME", "TEXT"))
    batch = pa.table({"ID": ["a", "b"], "NAME": ["x\x00y", "plain"]})
    with caplog.at_level(logging.WARNING, logger="learnsync"):
        out = prepare_batch(spec, batch)
    assert out["name"].to_pylist() == ["xy", "plain"]
    assert any("NUL" in r.message and "NAME" in r.message for r in caplog.records)


def test_nanosecond_timestamps_keep_wall_clock_and_floats_keep_nan():
    spec = _spec(Column("ID", "TEXT"), Column("AT", "TIMESTAMP_NTZ"), Column("F", "FLOAT"))
    at = datetime(2026, 1, 1, 23, 59, 59, 123456)
    batch = pa.table({
        "ID": ["a"],
        "AT": pa.array([at], pa.timestamp("ns")),
        "F": pa.array([float("nan")]),
    })
    out = prepare_batch(spec, batch)
    assert out["at"].type == pa.timestamp("us")
    assert out["at"].to_pylist() == [at]
    assert str(out["f"][0].as_py()) == "nan"
