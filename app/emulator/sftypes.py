"""Snowflake types as the realistic wire describes them, and the table columns a test declares with one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

NANOS = 1_000_000_000


@dataclass(frozen=True)
class SfType:
    """A Snowflake type as the wire describes it: `kind` is the rowtype's `type` (fixed, text, vector...)."""

    kind: str
    precision: int | None = None
    scale: int | None = None
    dimension: int | None = None  # VECTOR(_, n)
    fields: tuple[tuple[str | None, SfType], ...] = ()  # ARRAY(t): one unnamed; OBJECT(a t, ...); VECTOR(t, n)

    @property
    def structured(self) -> bool:
        return self.kind in ("array", "object") and bool(self.fields)

    @property
    def data_type(self) -> str:
        """The base type as INFORMATION_SCHEMA.COLUMNS.DATA_TYPE names it."""
        return _DATA_TYPES.get(self.kind, self.kind.upper())


_DATA_TYPES = {"fixed": "NUMBER", "real": "FLOAT", "text": "TEXT"}
TIMESTAMPS = ("timestamp_ntz", "timestamp_ltz", "timestamp_tz")
SEMI_STRUCTURED = ("variant", "array", "object")


def parse_type(text: str) -> SfType:
    """A declared Snowflake type (`VECTOR(INT, 3)`, `OBJECT(a VARCHAR, b NUMBER(10,2))`...) as the wire sends it.

    Raises ValueError for a type the wire cannot send (MAP, TIMESTAMP scales other than 9, elements of
    structured types other than numbers, text, booleans and semi-structured values).
    """
    try:
        parsed = exp.DataType.build(text, dialect="snowflake")
    except (ParseError, ValueError) as e:
        raise ValueError(f"{text!r} is not a Snowflake type: {e}") from None
    return _from_sqlglot(parsed, text)


def _from_sqlglot(d: Any, text: str, nested: bool = False) -> SfType:
    T = exp.DataType.Type
    params = [int(p.this.this) if isinstance(p.this, exp.Literal) else int(p.name) for p in d.expressions
              if isinstance(p, exp.DataTypeParam)]
    t = d.this
    if t in (T.DECIMAL, T.BIGDECIMAL):
        return SfType("fixed", params[0] if params else 38, params[1] if len(params) > 1 else 0)
    if t in (T.INT, T.BIGINT, T.SMALLINT, T.TINYINT, T.MEDIUMINT):
        return SfType("fixed", 38, 0)  # Snowflake's INT is NUMBER(38,0)
    if t in (T.DOUBLE, T.FLOAT):
        return SfType("real")
    if t in (T.VARCHAR, T.TEXT, T.CHAR, T.NCHAR, T.NVARCHAR):
        return SfType("text", None, None)
    if t == T.BOOLEAN:
        return SfType("boolean")
    if t in (T.BINARY, T.VARBINARY):
        return SfType("binary")
    if t == T.DATE:
        return SfType("date")
    if t == T.TIME:
        return SfType("time", 0, params[0] if params else 9)
    if t in (T.TIMESTAMP, T.TIMESTAMPNTZ, T.DATETIME, T.TIMESTAMPLTZ, T.TIMESTAMPTZ):
        if params and params[0] != 9:
            raise ValueError(f"{text}: the wire sends timestamps at scale 9 only")
        kind = {T.TIMESTAMPLTZ: "timestamp_ltz", T.TIMESTAMPTZ: "timestamp_tz"}.get(t, "timestamp_ntz")
        if nested:
            raise ValueError(f"{text}: timestamps inside structured types are not emulated")
        return SfType(kind, 0, 9)
    if t == T.VARIANT:
        return SfType("variant")
    if t == T.GEOGRAPHY and not nested:
        return SfType("geography")
    if t == T.DECFLOAT and not nested:
        return SfType("decfloat", 38, 0)
    if t == T.VECTOR and not nested:
        element = _from_sqlglot(d.expressions[0], text, nested=True)
        if element.kind not in ("fixed", "real") or len(params) != 1 or not 0 < params[0] <= 4096:
            raise ValueError(f"{text}: a VECTOR holds INT or FLOAT elements, 1 to 4096 of them")
        element = SfType("fixed", 38, 0) if element.kind == "fixed" else element
        return SfType("vector", dimension=params[0], fields=((None, element),))
    if t == T.ARRAY:
        children = [e for e in d.expressions if isinstance(e, exp.DataType)]
        return SfType("array", fields=tuple((None, _from_sqlglot(c, text, True)) for c in children))
    if t in (T.OBJECT, T.STRUCT):
        fields = []
        for c in d.expressions:
            if not isinstance(c, exp.ColumnDef):
                raise ValueError(f"{text}: an OBJECT's fields are `name TYPE`")
            fields.append((c.this.name, _from_sqlglot(c.args["kind"], text, True)))
        return SfType("object", fields=tuple(fields))
    raise ValueError(f"{text}: the wire cannot send {d.sql(dialect='snowflake')}")


@dataclass(frozen=True)
class Declared:
    """A declared column's type, and what the wire adds to what fakesnow holds (`RealisticWire.declare`)."""

    type: SfType
    nanos: int | None = None
    tz_offset_minutes: int | None = None


@dataclass(frozen=True)
class ColumnRef:
    """A table column, names as INFORMATION_SCHEMA spells them."""

    database: str
    schema: str
    table: str
    column: str


class WireError(Exception):
    """A declared type does not fit what fakesnow holds; answered as a failed query, with this message."""
