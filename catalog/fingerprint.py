"""Row fingerprints and key buckets: the SQL that lets reconcile compare the share with the destination.

The row fingerprint (`_learnsync_hash`) is computed by Snowflake when a row is read and loaded beside it, so the
destination never has to re-render values the way Snowflake would (floats, timestamps and JSON text print
differently in every engine). What both sides do compute is the bucket of a key: MD5 of a canonical key text
(integers and text as they are, dates as days since 1970, timestamps as epoch microseconds), which every
engine renders alike, and a group's fingerprint: the SUM of its rows' fingerprints' first 15 hex digits as
integers (60 bits each), exact in every engine and with no size limit (LISTAGG, which concatenated them, is
capped at 16 MB: about 500,000 rows). Beside the row count, a changed, added or removed row changes the sum
unless another change cancels it exactly (a chance of 2^-60 for unrelated changes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from learnsync.errors import LearnsyncError
from learnsync.catalog.tables import Column

ROW_HASH = "_learnsync_hash"
"""Destination column holding the fingerprint Snowflake computed for the row."""
SOURCE_HASH = "__LS_HASH"
"""Its alias in the reader's SELECT."""


FINGERPRINT_VERSION = 2
"""How `row_hash_sql` renders values. 1: `TO_VARCHAR(value)` with the session's output formats (milliseconds for
timestamps, whole seconds for TIME by default; an admin's format change changed every fingerprint); 2: each type
rendered explicitly, at full precision (`rendered`). A table's version is kept as FINGERPRINT_HINT on its
fingerprint column in dlt's schema; `pipelines.upgrade` moves a table of version 1 to version 2 in one pass."""
FINGERPRINT_HINT = "x-learnsync-fingerprint"
"""dlt column hint on ROW_HASH: the fingerprint version of the table's rows (absent: version 1)."""
_FULL = "YYYY-MM-DD HH24:MI:SS.FF9"


def rendered(expr: str, sf_type: str, version: int = FINGERPRINT_VERSION) -> str:
    """The text a value is fingerprinted by, in Snowflake's SQL. Version 2 depends on no session parameter:
    timestamps to the nanosecond (TIMESTAMP_LTZ and _TZ as their UTC time), TIME to the nanosecond, DATE ISO,
    BINARY as hex; a FLOAT as its text followed by what that text lost (`x - TO_DOUBLE(TO_VARCHAR(x))`, exact for
    a nearby double, Sterbenz): two doubles that print alike still differ there. Numbers, text, booleans and
    VARIANT/OBJECT/ARRAY (Snowflake's JSON text, its objects' keys sorted) depend on no session parameter as they
    are (a VARIANT holding a *typed* timestamp would; the vendors' JSON holds none)."""
    if version < 2:
        return f"TO_VARCHAR({expr})"
    if sf_type == "TIMESTAMP_NTZ":
        return f"TO_VARCHAR({expr}, '{_FULL}')"
    if sf_type in ("TIMESTAMP_LTZ", "TIMESTAMP_TZ"):
        return f"TO_VARCHAR(CONVERT_TIMEZONE('UTC', {expr}), '{_FULL}')"
    if sf_type == "TIME":
        return f"TO_VARCHAR({expr}, 'HH24:MI:SS.FF9')"
    if sf_type == "DATE":
        return f"TO_VARCHAR({expr}, 'YYYY-MM-DD')"
    if sf_type == "BINARY":
        return f"TO_VARCHAR({expr}, 'HEX')"
    if sf_type == "FLOAT":
        return f"TO_VARCHAR({expr}) || '~' || TO_VARCHAR({expr} - TO_DOUBLE(TO_VARCHAR({expr})))"
    return f"TO_VARCHAR({expr})"


def row_hash_sql(values: Sequence[tuple[str, str]], version: int = FINGERPRINT_VERSION) -> str:
    """Snowflake fingerprint of a row: MD5 over length-prefixed texts of the loaded values, each (expression,
    Snowflake type) rendered by `rendered` (unambiguous: no separator a value could contain; NULL is `-`, which no
    length-prefixed text equals)."""
    texts = [rendered(e, t, version) for e, t in values]
    parts = [f"COALESCE(LENGTH({x}) || ':' || {x}, '-')" for x in texts]
    return f"MD5({' || '.join(parts) or chr(39) * 2})"


def composite_text(parts: Sequence[str], text: Callable[[str], str]) -> str:
    """One text of a key's parts (SQL text expressions), unambiguous: a single part as it is; the parts of a
    composite key each prefixed with its length and joined with `|` (`3:a|b|1:c` for ('a|b', 'c'), `1:a|3:b|c` for
    ('a', 'b|c')), so no part's text can pass for another split (dlt-hub/dlt#4274). `text` renders the length
    as text in the engine's SQL; LENGTH counts characters in every engine learnsync speaks."""
    if len(parts) == 1:
        return parts[0]
    return " || '|' || ".join(f"{text(f'LENGTH({p})')} || ':' || {p}" for p in parts)


@dataclass(frozen=True)
class Dialect:
    """How one engine spells the few expressions reconcile needs."""

    name: str
    text: Callable[[str], str]
    days: Callable[[str], str]
    micros: Callable[[str], str]
    md5: Callable[[str], str]
    hex_prefix: Callable[[str], str]
    """The integer of a fingerprint's first 15 hex digits (60 bits), in a type whose SUM cannot overflow."""
    int_div: Callable[[str, int], str]
    """`a / b` rounded down, for a >= 0 and b > 0 integers (the lookback's hour buckets), exactly."""
    loaded_text: Callable[[str], str] = lambda e: e
    """A text value as it is loaded: the share's side removes NUL characters, as the load does
    (`pipelines.values`), so a key holding one has the same key text on both sides."""
    pairs: Callable[[Sequence[tuple[str, str]]], str] = lambda rows: (
        "(VALUES " + ", ".join(f"('{a}', '{b}')" for a, b in rows) + ") AS m(h1, h2)")
    """A relation `m(h1, h2)` of text pairs written into the SQL (for fingerprints only: hex digits, checked by
    the caller), to join in an UPDATE ... FROM."""

    def key_text(self, exprs: Sequence[str], columns: Sequence[Column]) -> str:
        """Canonical text of a key; the parts of a composite key length-prefixed (`composite_text`)."""
        parts = []
        for expr, col in zip(exprs, columns):
            if col.sf_type == "DATE":
                parts.append(self.text(self.days(expr)))
            elif col.sf_type.startswith("TIMESTAMP"):
                parts.append(self.text(self.micros(expr)))
            elif col.sf_type == "TEXT":
                parts.append(self.loaded_text(self.text(expr)))
            elif col.sf_type == "NUMBER" and not col.scale:
                parts.append(self.text(expr))
            else:
                raise LearnsyncError(
                    f"Key column {col.name} has type {col.sf_type}: reconcile compares keys of type NUMBER(p,0),"
                    " TEXT, DATE or TIMESTAMP only."
                )
        return composite_text(parts, self.text)

    def bucket(self, key_text: str, length: int) -> str:
        return f"SUBSTR({self.md5(key_text)}, 1, {length})"

    def fingerprint(self, hash_expr: str) -> str:
        """Fingerprint of a group of rows (`hash_expr`: their fingerprints; on a destination '' or NULL counts as
        0): independent of row order, duplicates counted, of any size."""
        return f"COALESCE(SUM({self.hex_prefix(f'SUBSTR({hash_expr}, 1, 15)')}), 0)"


SNOWFLAKE = Dialect(
    "snowflake",
    text=lambda e: f"TO_VARCHAR({e})",
    days=lambda e: f"DATEDIFF('day', '1970-01-01'::DATE, {e})",
    micros=lambda e: f"DATE_PART(EPOCH_MICROSECOND, {e})",
    md5=lambda e: f"MD5({e})",
    # NUMBER(38,0): a SUM of 60-bit integers overflows after 2^66 rows
    hex_prefix=lambda e: f"TO_NUMBER(UPPER({e}), 'XXXXXXXXXXXXXXX')",
    # Snowflake's `/` of integers is rounded to 6 decimals ("arithmetic operators" page): FLOOR(a / b) puts a row
    # within ~2 ms of a bucket's end into the next bucket. a - MOD(a, b) is a multiple of b: its quotient is exact
    int_div=lambda a, b: f"((({a}) - MOD(({a}), {b})) / {b})",
    loaded_text=lambda e: f"REPLACE({e}, CHR(0), '')",
)
