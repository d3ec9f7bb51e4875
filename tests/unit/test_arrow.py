"""Type casting of the Arrow batches a real account sends (per-chunk integer widths, decimal128 scaled numbers,
nanosecond timestamps, pretty JSON with `undefined`), vectorized, to the table's declared schema."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest

from learnsync.errors import LearnsyncError
from learnsync.catalog.tables import Column, Strategy, TableSpec
from learnsync.pipelines.source.arrow import prepare_batch, to_json_text
from learnsync.pipelines.source.types import arrow_schema

SPEC = TableSpec("T", (Column("ID", "NUMBER", 38, 0), Column("AMOUNT", "NUMBER", 38, 2),
                       Column("AT", "TIMESTAMP_NTZ"), Column("TAGS", "ARRAY")),
                 ("ID",), "AT", Strategy.MERGE, timedelta(hours=24))


def _batch(ids: pa.Array, amounts: list, ats: pa.Array, tags: list) -> pa.Table:
    return pa.table({"ID": ids, "AMOUNT": pa.array(amounts, pa.decimal128(38, 2)), "AT": ats,
                     "TAGS": pa.array(tags, pa.string())})


def test_chunks_of_different_integer_widths_prepare_to_one_schema() -> None:
    ns = pa.array([1_767_268_800_123_456_789], pa.timestamp("ns"))
    small = prepare_batch(SPEC, _batch(pa.array([7], pa.int8()), [Decimal("1.50")], ns, ['[\n  1\n]']))
    large = prepare_batch(SPEC, _batch(pa.array([2**40], pa.int64()), [Decimal("1234567890123456.78")], ns, [None]))
    assert small.schema == large.schema == arrow_schema(SPEC)
    assert small.schema.field("id").type == pa.int64() and small.schema.field("amount").type == pa.decimal128(38, 2)
    assert large["amount"][0].as_py() == Decimal("1234567890123456.78")  # exact, never through a float
    assert small["at"][0].as_py() == datetime(2026, 1, 1, 12, 0, 0, 123456)  # floored to microseconds


def test_nanoseconds_before_1970_floor_to_the_earlier_microsecond() -> None:
    t = pa.array([-1], pa.timestamp("ns"))  # 1969-12-31 23:59:59.999999999
    out = prepare_batch(SPEC, _batch(pa.array([1], pa.int8()), [Decimal(0)], t, [None]))
    assert out["at"][0].as_py() == datetime(1969, 12, 31, 23, 59, 59, 999999)


def test_float64_numbers_are_refused() -> None:
    batch = _batch(pa.array([1], pa.int8()), [Decimal(0)], pa.array([None], pa.timestamp("us")), [None])
    batch = batch.set_column(1, "AMOUNT", pa.array([1.5], pa.float64()))
    with pytest.raises(LearnsyncError, match="arrow_number_to_decimal"):
        prepare_batch(SPEC, batch)


def test_a_key_past_64_bits_says_how_to_load_it() -> None:
    ids = pa.array([Decimal(2**64 + 7)], pa.decimal128(38, 0))
    with pytest.raises(LearnsyncError, match="decimal_columns"):
        prepare_batch(SPEC, _batch(ids, [Decimal(0)], pa.array([None], pa.timestamp("us")), [None]))


def test_pretty_json_is_minified_with_undefined_as_null() -> None:
    pretty = '{\n  "a": [\n    1,\n    undefined\n  ],\n  "b": "x: undefined",\n  "c\\"": "\\n"\n}'
    out = to_json_text(pa.chunked_array([[pretty, None]]))
    assert out[0].as_py() == '{"a":[1,null],"b":"x: undefined","c\\"":"\\n"}'
    assert json.loads(out[0].as_py())["b"] == "x: undefined" and out[1].as_py() is None


def test_structured_values_and_vectors_render_as_json() -> None:
    vec = pa.array([[0.1, 2.5]], pa.list_(pa.float32(), 2))
    assert to_json_text(pa.chunked_array([vec]))[0].as_py() == "[0.1,2.5]"
    rows = pa.array([{"k": 1, "v": "x"}], pa.struct([("k", pa.int64()), ("v", pa.string())]))
    assert json.loads(to_json_text(pa.chunked_array([rows]))[0].as_py()) == {"k": 1, "v": "x"}
