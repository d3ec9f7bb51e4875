"""Test helpers: build shared tables, run a sync, compare destination with source row for row."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from decimal import Decimal
from contextlib import contextmanager, nullcontext
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

from learnsync.destinations import resolve
from learnsync.catalog.tables import Profile, snake_case
from learnsync.pipelines.snowflake.connection import connect, parse_source_uri
from learnsync.pipelines.snowflake.reader import ShareReader
from learnsync.pipelines.reconcile import ReconcileResult, reconcile
from learnsync.pipelines.sync import RunContext, TableResult, plan, sync
from learnsync.catalog.vendor_docs import DATACAMP_FACTS, LEARNING_360, TableDoc

DOCS = {t.name: t for t in LEARNING_360 + DATACAMP_FACTS}


def create(share: Any, name: str) -> TableDoc:
    doc = DOCS[name]
    cols = ", ".join(f'"{c.name}" {c.sf_type}' for c in doc.columns)
    share.sql(f'CREATE TABLE "{share.database}"."{share.schema}"."{name}" ({cols})')
    return doc


def insert(share: Any, name: str, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows given as {COLUMN: value}; lists/dicts become ARRAY/VARIANT via PARSE_JSON."""
    doc = DOCS[name]
    for row in rows:
        cols, exprs, params = [], [], []
        for c in doc.columns:
            if c.name not in row:
                continue
            v = row[c.name]
            cols.append(f'"{c.name}"')
            if c.sf_type in ("ARRAY", "VARIANT", "OBJECT") and v is not None:
                exprs.append("PARSE_JSON(%s)")
                params.append(v if isinstance(v, str) else json.dumps(v))
            elif isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
                exprs.append(f"'{v}'::FLOAT")
            else:
                exprs.append("%s")
                params.append(v)
        share.sql(
            f'INSERT INTO "{share.database}"."{share.schema}"."{name}" ({", ".join(cols)}) SELECT {", ".join(exprs)}',
            params,
        )


@contextmanager
def share_reader(share: Any, window_rows: int = 250_000) -> Iterator[ShareReader]:
    source = parse_source_uri(share.uri)
    conn = connect(source)
    try:
        yield ShareReader(conn, source.database, source.schema, window_rows=window_rows)
    finally:
        conn.close()


def run_sync(
    share: Any,
    dest: Any,
    profile: str = "360learning",
    tables: Optional[Sequence[str]] = None,
    window_rows: int = 250_000,
    full_refresh: bool = False,
    expect_ok: bool = True,
    lock_timeout: float = 600.0,
    **options: Any,
) -> list[TableResult]:
    """Sync the share's tables into `dest`; `options` are more `RunContext` fields (on_window, should_stop, ...)."""
    with share_reader(share, window_rows) as reader:
        specs = plan(reader, Profile(profile), tables)
        target = resolve(dest.uri, dest.dataset)
        run = RunContext.of(target, dest.dataset, profile, lock_timeout=lock_timeout, **options)
        results = sync(reader, specs, run, full_refresh)
    if expect_ok:
        assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    return results


def run_reconcile(
    share: Any, dest: Any, profile: str = "360learning", tables: Optional[Sequence[str]] = None,
    dry_run: bool = False, reader: Optional[ShareReader] = None,
) -> dict[str, ReconcileResult]:
    """Reconcile and return the results by table; every table must succeed."""
    with share_reader(share) if reader is None else nullcontext(reader) as r:
        specs = plan(r, Profile(profile), tables)
        results = reconcile(r, specs, resolve(dest.uri, dest.dataset), dest.dataset, profile, dry_run)
    assert all(x.ok for x in results), [x.error for x in results if not x.ok]
    return {x.table: x for x in results}


def _norm(v: Any) -> Any:
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        return v
    if isinstance(v, Decimal):
        return v.normalize()
    if isinstance(v, datetime) and v.tzinfo is not None:
        raise AssertionError(f"timestamp came back with a zone: {v!r}")
    return v


JSON_TYPES = ("ARRAY", "VARIANT", "OBJECT")


def source_rows(share: Any, name: str) -> list[dict[str, Any]]:
    """The table's rows as the connector's row path hands them over (`fetchall`, not the Arrow batches learnsync
    reads): NUMBER(p,s) as Decimal, timestamps as datetimes (LTZ/TZ converted to naive UTC), VARIANT/ARRAY/OBJECT
    as Snowflake's text (read it with `sf_json`)."""
    cur = share.conn.cursor()
    try:
        cur.execute(f'SELECT * FROM "{share.database}"."{share.schema}"."{name}"')
        names = [d.name for d in cur.description]
        rows = [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        cur.close()
    for row in rows:
        for key, value in row.items():
            if isinstance(value, datetime) and value.tzinfo is not None:
                row[key] = value.astimezone(timezone.utc).replace(tzinfo=None)
    return rows


def sf_json(text: str, parse_float: Any = Decimal) -> Any:
    """Snowflake's text of a VARIANT/ARRAY/OBJECT value as that value: JSON, where SQL NULL inside an array or
    object prints `undefined` (a token outside strings, read here as null). Written independently of learnsync's
    vectorized normalization (a character scanner, not its line-anchored regexes)."""
    out, i, in_string = [], 0, False
    while i < len(text):
        ch = text[i]
        if in_string:
            out.append(ch)
            if ch == "\\":
                out.append(text[i + 1])
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
            out.append(ch)
        elif text.startswith("undefined", i):
            out.append("null")
            i += len("undefined") - 1
        else:
            out.append(ch)
        i += 1
    return json.loads("".join(out), parse_float=parse_float)


def canonical_json(value: Any) -> str:
    """A JSON value (numbers as Decimal) as comparable text: key order kept, numbers exact and normalized."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{canonical_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical_json(v) for v in value) + "]"
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return json.dumps(value)
    return str(Decimal(value).normalize())


def comparable(row: Sequence[Any], json_at: Sequence[int], from_dest: bool) -> tuple:
    """A source or destination row with its JSON values (at `json_at`) as `canonical_json` text: Snowflake's
    pretty text and the destination's compact text of one value compare equal, any other difference does not."""
    values = list(row)
    for i in json_at:
        if values[i] is not None:
            values[i] = canonical_json(json.loads(values[i], parse_float=Decimal) if from_dest else sf_json(values[i]))
    return tuple(values)


def dest_rows(dest: Any, table: str, columns: Iterable[str]) -> list[tuple]:
    cols = ", ".join(f'"{c}"' for c in columns)
    return dest.query(f'SELECT {cols} FROM "{{ds}}"."{table}"')


def _sorted(rows: Iterable[tuple]) -> list[tuple]:
    return sorted((tuple(_norm(v) for v in r) for r in rows), key=repr)


def share_columns(share: Any, name: str) -> TableDoc:
    """A table of the share as a TableDoc (its columns and Snowflake types, in order), for tables no vendor documents."""
    from learnsync.pipelines.snowflake.sql import base_type
    from learnsync.catalog.vendor_docs import ColumnDoc

    rows = share.sql(f"SELECT COLUMN_NAME, DATA_TYPE FROM \"{share.database}\".INFORMATION_SCHEMA.COLUMNS"
                     f" WHERE TABLE_SCHEMA = '{share.schema}' AND TABLE_NAME = '{name}' ORDER BY ORDINAL_POSITION")
    return TableDoc(name, "", tuple(ColumnDoc(c, base_type(t), "") for c, t in rows))


Clean = Callable[[Any, str], Any]
"""(a source value, its Snowflake type) -> the value the destination is expected to hold (JSON types: Snowflake's
text in, any JSON text out)."""


def assert_table_equal(share: Any, dest: Any, name: str, key: Optional[str] = None, clean: Optional[Clean] = None,
                       columns: Optional[dict[str, str]] = None) -> None:
    """Parent table and each child table equal the source, row for row (as multisets). A table no vendor documents
    is read from the share's INFORMATION_SCHEMA; `key` names its key column (child tables are checked by it),
    `clean` maps each source value to the value expected, `columns` maps a source column to its destination
    name where it is not its snake_case name."""
    doc = DOCS.get(name) or share_columns(share, name)
    src = source_rows(share, name)
    if clean is not None:
        types = {c.name: c.sf_type for c in doc.columns}
        src = [{k: clean(v, types[k]) for k, v in r.items()} for r in src]
    names = [c.name for c in doc.columns]
    columns = columns or {}
    json_at = [i for i, c in enumerate(doc.columns) if c.sf_type in JSON_TYPES]
    expected = _sorted(comparable([r[n] for n in names], json_at, False) for r in src)
    got = _sorted(comparable(r, json_at, True) for r in dest_rows(
        dest, snake_case(name), [columns.get(n, snake_case(n)) for n in names]))
    assert got == expected, (f"{name}: destination differs from source", set(got) ^ set(expected))
    key = key or ("DATE" if name == "DAILY_METRICS" else "ID")
    if key not in names:
        return
    for col in (c for c in doc.columns if c.sf_type in ("ARRAY", "VARIANT", "OBJECT")):
        child = f"{snake_case(name)}__{snake_case(col.name)}"
        exp_children = []
        for r in src:
            if r[col.name] is None:
                continue
            value = sf_json(r[col.name], parse_float=float)
            for pos, elem in enumerate(value if isinstance(value, list) else [value]):
                exp_children.append((r[key], pos, _render(elem)))
        # a child table absent while elements are expected fails the read
        got_children = (_child_rows(dest, child, f"parent_{snake_case(key)}")
                        if exp_children or child in dest.tables() else [])
        assert _sorted(got_children) == _sorted(exp_children), (child, set(_sorted(got_children)) ^ set(_sorted(exp_children)))


def _render(elem: Any) -> Any:
    """An element as the child row's non-NULL columns: `value` for a scalar, one column per object key."""
    items = elem.items() if isinstance(elem, dict) else [("value", elem)]
    return tuple(sorted((snake_case(k), _render_scalar(v)) for k, v in items if v is not None))


def _render_scalar(v: Any) -> Any:
    if v is None or isinstance(v, str):
        return v
    return json.dumps(v, separators=(",", ":"))


def _child_rows(dest: Any, child: str, parent_col: str) -> list[tuple]:
    cols = dest.columns(child)
    fixed = {parent_col, "position", "_dlt_load_id", "_dlt_id", "_learnsync_replaced", "_learnsync_parent_hash"}
    keys = sorted(c for c in cols if c not in fixed)
    select = ", ".join(f'"{c}"' for c in [parent_col, "position"] + keys)
    out = []
    for parent, pos, *rest in dest.query(f'SELECT {select} FROM "{{ds}}"."{child}"'):
        out.append((parent, pos, tuple(sorted((k, v) for k, v in zip(keys, rest) if v is not None))))
    return out
