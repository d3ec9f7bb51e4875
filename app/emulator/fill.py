"""SQL building blocks of the generated data: every generated row has n (0-based row number), k (the key its values
derive from, normally n) and r0..r9, pseudo-random integers in [0, 2^31-1) computed from k. Deterministic: derived
from row numbers by integer arithmetic and a fixed reference time, never from RANDOM() or the clock."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from learnsync.catalog.vendor_docs import TableDoc

# the generated data is anchored here rather than at now(), so that runs on different days are identical
REFERENCE_TIME = datetime(2026, 1, 1)
# many rows share this CREATED_AT, like a bulk import: a sync's cursor must not lose rows on such ties
BULK_IMPORT_AT = datetime(2025, 11, 15, 9, 0, 0)

# REFERENCE_TIME as a Snowflake expression
REF_SQL = "CAST('2026-01-01 00:00:00' AS TIMESTAMP_NTZ)"
_BULK_OFFSET_S = int((REFERENCE_TIME - BULK_IMPORT_AT).total_seconds())
DAY_S = 86_400
# the Mersenne prime 2^31-1: pseudo-random values stay below it, so products of two of them fit in a BIGINT
# (DuckDB, behind the emulator, raises on 64-bit overflow instead of promoting like Snowflake's NUMBER(38))
_P = 2_147_483_647
_RANDOMS = 10  # r0..r9, the pseudo-random columns every generated row gets


# --------------------------------------------------------------------------------------------------------------
# SQL building blocks. Every generated row has n (0-based row number), k (the key its values derive from,
# normally n) and r0..r9, pseudo-random integers in [0, 2^31-1) computed from k.


def _q(name: str) -> str:
    """A quoted identifier: the models have columns named USER, GROUP, DATE and PATH."""
    return '"' + name.replace('"', '""') + '"'


def _fq(database: str, schema: str, table: str) -> str:
    return f"{_q(database)}.{_q(schema)}.{_q(table)}"


def lit(value: str | None) -> str:
    """A Snowflake string literal (backslash is an escape character in Snowflake literals)."""
    if value is None:
        return "NULL"
    return "'" + value.replace("\\", "\\\\").replace("'", "''").replace("\n", "\\n") + "'"


def hashed(key: str, salt: int) -> str:
    """A deterministic pseudo-random integer in [0, 2^31-1) from an integer key (no HASH() in fakesnow)."""
    a = (2_654_435_761 * (salt + 1)) % _P or 1
    b = (40_503 * (salt + 7) * 97) % _P
    c = (salt + 1) * 1_234_567
    # an affine step spreads consecutive keys, squaring breaks the linearity between salts
    return f"MOD(MOD({key} * {a} + {b}, {_P}) * MOD({key} * {a} + {b}, {_P}) + {c}, {_P})"


def sub_random(r: str, i: int) -> str:
    """Another pseudo-random value derived from r, one per array element."""
    multipliers = (48_271, 69_621, 16_807, 39_373, 40_692, 40_014, 45_742)
    return f"MOD({r} * {multipliers[i % len(multipliers)]} + {7_919 * (i + 1)}, {_P})"


def _width(count: int) -> int:
    return max(6, len(str(count)))


def text_id(prefix: str, num: str, count: int) -> str:
    """A text id like 'u000001' for row number num (0-based) of a table with count rows."""
    return f"'{prefix}' || LPAD(TO_VARCHAR({num} + 1), {_width(count)}, '0')"


def ref_id(prefix: str, r: str, count: int) -> str:
    """The id of a pseudo-random existing row of a table with count rows."""
    return text_id(prefix, f"MOD({r}, {count})", count)


def pick(r: str, values: Sequence[str | None]) -> str:
    """One of the given strings (None for NULL), chosen by r."""
    whens = " ".join(f"WHEN {i} THEN {lit(v)}" for i, v in enumerate(values))
    return f"CASE MOD({r}, {len(values)}) {whens} END"


def null_if(cond: str, expr: str) -> str:
    """NULL where cond holds, else expr."""
    return f"CASE WHEN {cond} THEN NULL ELSE {expr} END"


def bool_sql(r: str, true_in: int = 2) -> str:
    """TRUE for about one row in true_in."""
    return f"MOD({r}, {true_in}) = 0"


def array_sql(r: str, element: Callable[[str], str], max_len: int = 5) -> str:
    """An ARRAY of 0..max_len elements (some NULL, some []), element(r_i) giving the i-th element's SQL."""
    branches = " ".join(
        f"WHEN {n} THEN ARRAY_CONSTRUCT({', '.join(element(sub_random(r, i)) for i in range(n))})"
        for n in range(max_len + 1)
    )
    # ARRAY_SLICE would be shorter but fakesnow 0.12.1 can't run it, so pick the length with a CASE
    return f"CASE WHEN MOD({r}, 11) = 3 THEN NULL ELSE CASE MOD({sub_random(r, 99)}, {max_len + 1}) {branches} END END"


def before(ms: str) -> str:
    """REFERENCE_TIME minus ms milliseconds."""
    return f"DATEADD(MILLISECOND, -({ms}), {REF_SQL})"


def iso_text(ts: str) -> str:
    """A timestamp as ISO 8601 text, as the vendors write dates inside arrays."""
    return f"REPLACE(TO_VARCHAR({ts}), ' ', 'T') || 'Z'"


def float_sql(r: str, scale: int = 100, top: int = 10_000) -> str:
    """A FLOAT in [0, top/scale] with a few NaN, +inf and -inf, which JSON and many warehouses can't hold."""
    return (
        f"CASE WHEN MOD({r}, 97) = 11 THEN CAST('NaN' AS FLOAT) WHEN MOD({r}, 197) = 23 THEN CAST('inf' AS FLOAT)"
        f" WHEN MOD({r}, 293) = 37 THEN CAST('-inf' AS FLOAT) ELSE MOD({r}, {top + 1}) / {scale} END"
    )


def created_layers(days: int = 90, tie_every: int = 9, null_every: int = 37) -> list[dict[str, str]]:
    """off/frac/created: CREATED_AT within `days` before the reference time, with bulk-import ties and NULLs.

    off is whole seconds before the reference time, so later timestamps (MODIFIED_AT, ...) can be placed
    between CREATED_AT and the reference time as REFERENCE_TIME - (off - MOD(r, off + 1)) seconds.
    """
    tie = f"MOD(n, {tie_every}) = 4"
    return [
        {
            "off": f"CASE WHEN {tie} THEN {_BULK_OFFSET_S} ELSE MOD(r0, {days * DAY_S}) END",
            "frac": f"CASE WHEN {tie} THEN 0 ELSE MOD(r1, 1000) END",
        },
        {"created": null_if(f"MOD(n, {null_every}) = 5", before("off * 1000 + frac"))},
    ]


def after_created(r: str) -> str:
    """A timestamp between CREATED_AT (or its would-be value when NULL) and the reference time."""
    return before(f"(off - MOD({r}, off + 1)) * 1000")


# text that catches sloppy CSV/JSON/SQL quoting on the way to a warehouse
TITLES = (
    'Excel: "advanced" formulas, part 2',
    "L'art du feedback",
    "Sécurité & conformité 🔒",
    "Onboarding\nWeek 1",
    "日本語のビジネスマナー",
    "Data, AI & you",
    "Négociation — niveau 2",
    "GDPR basics",
    "Leadership 101",
    "Path C:\\Training\\intro",
)
LONG_TEXT = (
    "Line one.\nLine two, with a comma.",
    'She said "hello", then left.',
    "Ünïcödé: Zoë, Łódź, 東京, Ελληνικά ✅",
    "Tabs\tand 'single quotes'",
    "",
    None,
    "Plain text.",
)
FIRST_NAMES = ("Zoë", "José", "Łukasz", "Ana-María", "Chloé", "Sven", "Aiko", "Noah", "Fatima", "Liam")
LAST_NAMES = ("O'Brien", "Müller", "Nguyễn", "D'Angelo", "Smith, Jr.", "李", "García", "Dubois", "Kowalski", "Ndlovu")
LANGS = ("en", "fr", "de", "es", "ja", "pt-BR")


@dataclass(frozen=True)
class Fill:
    """How to generate one table: row count, an SQL expression per column, derived helper columns."""

    rows: int
    columns: dict[str, str]
    # each layer's expressions may use n, k, r0..r9 and the names defined by earlier layers
    layers: list[dict[str, str]] = field(default_factory=list)
    # the key the pseudo-random columns derive from: rows with the same key are identical duplicates
    key: str = "n"


def create_table(conn: Any, database: str, schema: str, doc: TableDoc) -> None:
    """(Re)create one table from its documented columns, every identifier quoted."""
    columns = ", ".join(f"{_q(c.name)} {c.sf_type}" for c in doc.columns)
    _execute(conn, f"CREATE OR REPLACE TABLE {_fq(database, schema, doc.name)} ({columns})")


def _execute(conn: Any, sql: str) -> None:
    cur = conn.cursor()
    try:
        cur.execute(sql)
    finally:
        cur.close()


def _scalar(conn: Any, sql: str) -> Any:
    cur = conn.cursor()
    try:
        cur.execute(sql)
        row = cur.fetchone()
        return row[0] if row else None
    finally:
        cur.close()


def ensure_schema(conn: Any, database: str, schema: str) -> None:
    """Create the database and schema when they are not there yet."""
    _execute(conn, f"CREATE DATABASE IF NOT EXISTS {_q(database)}")
    _execute(conn, f"CREATE SCHEMA IF NOT EXISTS {_q(database)}.{_q(schema)}")


def _fill_sql(target: str, doc: TableDoc, fill: Fill) -> str:
    """INSERT ... SELECT over TABLE(GENERATOR()), one statement for the whole table."""
    names = [c.name for c in doc.columns]
    if missing := [n for n in names if n not in fill.columns]:
        raise ValueError(f"{doc.name}: no generator for documented column(s) {', '.join(missing)}")
    if extra := sorted(set(fill.columns) - set(names)):
        raise ValueError(f"{doc.name}: generator for undocumented column(s) {', '.join(extra)}")
    # ROW_NUMBER over SEQ4 rather than SEQ4 alone: Snowflake's SEQ4 may have gaps, row numbers don't
    sql = (
        "SELECT ROW_NUMBER() OVER (ORDER BY SEQ4()) - 1 AS n"
        f" FROM TABLE(GENERATOR(ROWCOUNT => {fill.rows}))"
    )
    sql = f"SELECT q.n, {fill.key} AS k FROM ({sql}) q"
    # salted by the table name, so that row n of two tables doesn't get the same values
    seed = zlib.crc32(doc.name.encode()) % 9_973
    randoms = ", ".join(f"{hashed('q.k', seed * _RANDOMS + i)} AS r{i}" for i in range(_RANDOMS))
    sql = f"SELECT q.*, {randoms} FROM ({sql}) q"
    for layer in fill.layers:
        sql = f"SELECT q.*, {', '.join(f'{e} AS {name}' for name, e in layer.items())} FROM ({sql}) q"
    select = ", ".join(fill.columns[n] for n in names)
    return f"INSERT INTO {target} ({', '.join(_q(n) for n in names)}) SELECT {select} FROM ({sql}) q"


def create_and_fill(conn: Any, database: str, schema: str, doc: TableDoc, fill: Fill) -> int:
    """(Re)create one documented table and generate its rows; returns the rows it holds."""
    create_table(conn, database, schema, doc)
    target = _fq(database, schema, doc.name)
    if fill.rows > 0:
        _execute(conn, _fill_sql(target, doc, fill))
    # count what landed rather than trusting the plan
    return int(_scalar(conn, f"SELECT COUNT(*) FROM {target}"))
