"""Real values never stop a table (issue 20): NUL characters, long keys, composite keys, NULL key parts, emptied
event days, reserved names, huge rows, a load that keeps failing. Each case runs `learnsync` as typed (in process,
so the BigQuery emulator's credentials reach it), compares the destination with the share row for row, and shows
that rows inserted after the bad one arrive on the next run."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
from datetime import datetime, timedelta
from typing import Any

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed
from typer.testing import CliRunner

from learnsync.cli import app
from tests.support.helpers import assert_table_equal, canonical_json, sf_json
from tests.support.warehouses import Dest, Share

T0 = datetime(2026, 3, 2, 12, 0, 0)


def cli(share: Share, dest: Dest, *args: str, code: int = 0) -> str:
    """`learnsync ARGS` against the share and the destination (profile auto); its output (stdout then stderr),
    after checking its exit code."""
    hook = threading.excepthook  # the CLI installs its own for the connector's threads
    # the CLI (and dlt) add log handlers on this invocation's stderr, which is closed after it
    handlers = {name: list(logging.getLogger(name).handlers) for name in ("", "dlt")}
    try:
        res = CliRunner().invoke(app, [*args], env={
            "LEARNSYNC_SOURCE_URI": share.uri, "LEARNSYNC_DEST_URI": dest.uri, "LEARNSYNC_DATASET": dest.dataset,
            "LEARNSYNC_PROFILE": "auto", "LEARNSYNC_PROGRESS": "false"}, catch_exceptions=False)
    finally:
        threading.excepthook = hook
        for name, kept in handlers.items():
            logging.getLogger(name).handlers[:] = kept
    out = res.stdout + res.stderr
    assert res.exit_code == code, out
    assert "Traceback" not in out, out
    return out


def table_line(out: str, table: str) -> str:
    return next(ln for ln in out.splitlines() if ln.strip().startswith(table + " "))


def insert(share: Share, table: str, columns: str, rows: list[tuple]) -> None:
    """Rows of `columns` (comma-separated); a value that is a list or dict becomes an ARRAY/VARIANT."""
    names = [c.strip() for c in columns.split(",")]
    for row in rows:
        exprs = ["PARSE_JSON(%s)" if isinstance(v, (list, dict)) else "%s" for v in row]
        params = [json.dumps(v) if isinstance(v, (list, dict)) else v for v in row]
        share.sql(f'INSERT INTO "{table}" ({", ".join(f"{chr(34)}{n}{chr(34)}" for n in names)})'
                  f' SELECT {", ".join(exprs)}', params)


def without_nul(value: Any, sf_type: str) -> Any:
    """A share value as every destination holds it: NUL characters removed, from JSON strings too."""
    def strip(v: Any) -> Any:
        if isinstance(v, str):
            return v.replace("\x00", "")
        if isinstance(v, list):
            return [strip(x) for x in v]
        if isinstance(v, dict):
            return {strip(k): strip(x) for k, x in v.items()}
        return v

    if value is None:
        return None
    if sf_type in ("ARRAY", "VARIANT", "OBJECT"):
        return canonical_json(strip(sf_json(value)))
    return strip(value)


# -- 1. NUL characters ---------------------------------------------------------------------------------------------


def test_nul_characters_are_removed_everywhere_and_counted(share, dest):
    share.sql('CREATE TABLE "NOTES" ("ID" TEXT, "BODY" TEXT, "TAGS" ARRAY, "META" VARIANT, "UPDATED_AT" TIMESTAMP_NTZ)')
    insert(share, "NOTES", "ID, BODY, TAGS, META, UPDATED_AT", [
        ("n1", "a\x00b", ["x\x00y", {"k": "v\x00"}], {"a": "\x00\x00"}, T0),  # 5 NULs
        ("n\x002", "plain", ["ok"], None, T0 - timedelta(hours=1)),  # a NUL in the key: 1
        ("n3", None, None, None, T0 - timedelta(hours=2)),
    ])
    out = cli(share, dest, "sync")
    assert "6 NUL characters removed" in table_line(out, "NOTES"), out
    assert_table_equal(share, dest, "NOTES", clean=without_nul)

    # a row inserted after the bad ones arrives on the next run, and nothing else is reported as new
    insert(share, "NOTES", "ID, BODY, TAGS, UPDATED_AT", [("n4", "x\x00", ["\x00"], T0 + timedelta(hours=1))])
    out = cli(share, dest, "sync")
    line = table_line(out, "NOTES")
    # the new row's 2, and n1's 5 again: it is re-read as the stored cursor's tie
    assert "7 NUL characters removed" in line and "(1 new, 1 re-read)" in line, line
    assert_table_equal(share, dest, "NOTES", clean=without_nul)
    # the share's key text drops NUL as the load did: reconcile finds nothing to change
    cli(share, dest, "reconcile", "--dry-run")


# -- 4. NULL key parts ---------------------------------------------------------------------------------------------


def test_rows_with_a_null_key_part_are_skipped_and_the_table_keeps_moving(share, dest):
    share.sql('CREATE TABLE "SEATS" ("ORG_ID" TEXT, "SEAT_NO" NUMBER(10,0), "TAGS" ARRAY, "UPDATED_AT" TIMESTAMP_NTZ)')
    insert(share, "SEATS", "ORG_ID, SEAT_NO, TAGS, UPDATED_AT", [
        ("o1", 1, ["a", "b"], T0),
        (None, 2, ["c"], T0),
        ("o1", None, ["d"], T0 - timedelta(hours=1)),
        ("o2", 1, [], T0 - timedelta(hours=2)),
    ])
    config = {"SOURCES__LEARNSYNC__TABLES__SEATS__PRIMARY_KEY": '["ORG_ID", "SEAT_NO"]'}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in config.items():
            mp.setenv(k, v)
        out = cli(share, dest, "sync")
        assert "2 rows skipped for a NULL key" in table_line(out, "SEATS"), out
        _assert_keyed_rows_equal(share, dest)

        insert(share, "SEATS", "ORG_ID, SEAT_NO, TAGS, UPDATED_AT", [("o3", 7, ["e"], T0 + timedelta(hours=1))])
        out = cli(share, dest, "sync")
        line = table_line(out, "SEATS")
        # the row at the stored cursor is re-read (a tie), so its NULL key is skipped again
        assert " ok" in line and "(1 new," in line and "1 row skipped for a NULL key" in line, line
        _assert_keyed_rows_equal(share, dest)
        # the skipped rows are not in the share's side of reconcile either
        cli(share, dest, "reconcile", "--dry-run")


def _assert_keyed_rows_equal(share: Share, dest: Dest) -> None:
    """SEATS in the destination: the share's rows whose key parts are all set, and their array elements."""
    src = [r for r in share.sql('SELECT "ORG_ID", "SEAT_NO", "TAGS", "UPDATED_AT" FROM "SEATS"')
           if r[0] is not None and r[1] is not None]
    got = dest.query('SELECT org_id, seat_no, tags, updated_at FROM "{ds}"."seats"')
    assert sorted((o, int(n), json.loads(t), u) for o, n, t, u in got) == \
        sorted((o, int(n), sf_json(t), u) for o, n, t, u in src)
    elements = dest.query('SELECT parent_org_id_seat_no, position, value FROM "{ds}"."seats__tags"')
    expected = [(o, int(n), i, v) for o, n, t, _ in src for i, v in enumerate(sf_json(t))]
    assert sorted((_parts(p), int(i), v) for p, i, v in elements) == sorted(((o, n), i, v) for o, n, i, v in expected)


def _parts(key_text: str) -> tuple:
    """A composite key's text back as its parts, read as documented: each part's length, `:`, the part, parts
    joined with `|` (a number part comes back as int)."""
    parts, i = [], 0
    while i < len(key_text):
        colon = key_text.index(":", i)
        n = int(key_text[i:colon])
        part = key_text[colon + 1: colon + 1 + n]
        parts.append(int(part) if part.isdigit() else part)
        i = colon + 1 + n + 1  # past the `|`
    return tuple(parts)


# -- 6. Reserved names ---------------------------------------------------------------------------------------------

RESERVED_COLUMNS = {  # share column -> its documented destination name
    "ID": "id", "VALID_FROM": "valid_from_2", "VALID_TO": "valid_to_2", "_LEARNSYNC_HASH": "learnsync_hash",
    "_LEARNSYNC_DAY": "learnsync_day", "_LEARNSYNC_DELETED_AT": "learnsync_deleted_at", "_DLT_ID": "dlt_id",
    "_DLT_LOAD_ID": "dlt_load_id", "PARENT_ID": "parent_id", "POSITION": "position", "UPDATED_AT": "updated_at",
}


@pytest.mark.parametrize("history", [False, True], ids=["plain", "history"])
def test_a_vendor_column_named_like_ours_is_kept_under_a_stable_rename(share, dest, history, monkeypatch):
    share.sql('CREATE TABLE "PROFILES" ("ID" TEXT, "VALID_FROM" TIMESTAMP_NTZ, "VALID_TO" TIMESTAMP_NTZ,'
              ' "_LEARNSYNC_HASH" TEXT, "_LEARNSYNC_DAY" DATE, "_LEARNSYNC_DELETED_AT" TIMESTAMP_NTZ,'
              ' "_DLT_ID" TEXT, "_DLT_LOAD_ID" TEXT, "PARENT_ID" TEXT, "POSITION" NUMBER(5,0), "ITEMS" ARRAY,'
              ' "UPDATED_AT" TIMESTAMP_NTZ)')
    item = {"parent_id": "p", "position": 9, "value": "v", "_learnsync_parent_hash": "h", "_dlt_id": "d"}

    def row(i: int, at: datetime) -> tuple:
        return (f"p{i}", at - timedelta(days=30), None if i % 2 else at, f"h{i}", at.date(), None, f"d{i}", f"l{i}",
                f"parent{i}", i, [item], at)

    columns = ", ".join(c for c in RESERVED_COLUMNS if c != "UPDATED_AT") + ", ITEMS, UPDATED_AT"
    insert(share, "PROFILES", columns, [row(i, T0 - timedelta(hours=i)) for i in range(3)])
    monkeypatch.setenv("SOURCES__LEARNSYNC__TABLES__PROFILES__HISTORY", str(history).lower())
    cli(share, dest, "sync")
    _assert_renamed_rows_equal(share, dest, history)

    # a later run (the one that failed before), a changed row and a row inserted after the others
    share.sql('UPDATE "PROFILES" SET "VALID_TO" = %s, "UPDATED_AT" = %s WHERE "ID" = %s',
              (T0, T0 + timedelta(minutes=5), "p1"))
    insert(share, "PROFILES", columns, [row(7, T0 + timedelta(hours=1))])
    out = cli(share, dest, "sync")
    assert "(2 new," in table_line(out, "PROFILES"), out
    _assert_renamed_rows_equal(share, dest, history)
    versions = dest.query('SELECT COUNT(*) FROM "{ds}"."profiles" WHERE id = \'p1\'')[0][0]
    assert versions == (2 if history else 1)
    # the child table keeps the vendor's object keys beside its own columns
    child = set(dest.columns("profiles__items"))
    assert {"parent_id", "position", "parent_id_2", "position_2", "value", "learnsync_parent_hash",
            "dlt_id"} <= child, child


def _assert_renamed_rows_equal(share: Share, dest: Dest, history: bool) -> None:
    plain = [c for c in RESERVED_COLUMNS]
    src = share.sql(f'SELECT {", ".join(chr(34) + c + chr(34) for c in plain)} FROM "PROFILES"')
    current = " WHERE valid_to IS NULL" if history else ""
    got = dest.query(f'SELECT {", ".join(RESERVED_COLUMNS[c] for c in plain)} FROM "{{ds}}"."profiles"{current}')
    assert sorted(map(_plain, got), key=repr) == sorted(map(_plain, src), key=repr)


def _plain(row: tuple) -> tuple:
    return tuple(int(v) if hasattr(v, "as_integer_ratio") and not isinstance(v, float) else v for v in row)


# -- 2. Long keys --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("history", [False, True], ids=["plain", "history"])
def test_keys_of_any_length_load_and_stay_reconciled(share, dest, history, monkeypatch):
    share.sql('CREATE TABLE "DOCS" ("ID" TEXT, "TITLE" TEXT, "TAGS" ARRAY, "UPDATED_AT" TIMESTAMP_NTZ)')
    insert(share, "DOCS", "ID, TITLE, TAGS, UPDATED_AT", [(f"d{i}", f"t{i}", [i], T0 - timedelta(hours=i))
                                                         for i in range(3)])
    monkeypatch.setenv("SOURCES__LEARNSYNC__TABLES__DOCS__HISTORY", str(history).lower())
    cli(share, dest, "sync")  # the table gets its key index
    if dest.kind == "postgres" and not history:  # as an earlier learnsync made it: a btree primary key
        _pg(dest, 'DROP INDEX "{ds}".learnsync_key_%s; ALTER TABLE "{ds}".docs ADD PRIMARY KEY (id)'
            % hashlib.sha1(b"docs\0id").hexdigest()[:12])

    # a 3 kB key (random text: Postgres cannot compress it under the btree limit of about 2.7 kB), after the index
    long_key = secrets.token_urlsafe(2400)
    insert(share, "DOCS", "ID, TITLE, TAGS, UPDATED_AT", [(long_key, "long", ["x", "y"], T0 + timedelta(hours=1))])
    out = cli(share, dest, "sync")
    assert "(1 new," in table_line(out, "DOCS"), out
    _assert_current_equal(share, dest, "DOCS", history)

    # the lookback re-reads it unchanged; reconcile sees it changed in place and then deleted
    insert(share, "DOCS", "ID, TITLE, UPDATED_AT", [("d9", "after", T0 + timedelta(hours=2))])
    share.sql('UPDATE "DOCS" SET "TITLE" = %s WHERE "ID" = %s', ("changed", long_key))
    out = cli(share, dest, "sync")
    assert "(1 new," in table_line(out, "DOCS"), out
    cli(share, dest, "reconcile")
    _assert_current_equal(share, dest, "DOCS", history)
    share.sql('DELETE FROM "DOCS" WHERE "ID" = %s', (long_key,))
    cli(share, dest, "reconcile")
    _assert_current_equal(share, dest, "DOCS", history)
    if history:  # its versions stay, closed
        assert dest.query('SELECT COUNT(*) FROM "{ds}"."docs" WHERE title IN (\'long\', \'changed\')'
                          ' AND valid_to IS NOT NULL')[0][0] == 2


def _pg(dest: Dest, statements: str) -> None:
    import psycopg2

    con = psycopg2.connect(dest.uri)
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(statements.replace("{ds}", dest.dataset))
    con.close()


def _assert_current_equal(share: Share, dest: Dest, table: str, history: bool) -> None:
    """The table's current rows equal the share's, and so do the current rows' array elements."""
    src = share.sql(f'SELECT "ID", "TITLE", "TAGS", "UPDATED_AT" FROM "{table}"')
    current = " WHERE valid_to IS NULL" if history else ""
    got = dest.query(f'SELECT id, title, tags, updated_at FROM "{{ds}}"."{table.lower()}"{current}')
    assert sorted((i, t, json.loads(a) if a else None, u) for i, t, a, u in got) == \
        sorted((i, t, sf_json(a) if a else None, u) for i, t, a, u in src)
    join = (f' JOIN "{{ds}}"."{table.lower()}" p ON c._learnsync_parent_hash = p._learnsync_hash AND p.valid_to IS NULL'
            if history else "")
    elements = dest.query(f'SELECT c.parent_id, c.position, c.value FROM "{{ds}}"."{table.lower()}__tags" c{join}')
    expected = [(i, n, str(v)) for i, _, a, _ in src if a for n, v in enumerate(sf_json(a, parse_float=float))]
    assert sorted((p, int(n), v) for p, n, v in elements) == sorted(expected)


# -- 3. Composite keys ---------------------------------------------------------------------------------------------


def test_composite_keys_that_join_alike_stay_apart(share, dest, monkeypatch):
    share.sql('CREATE TABLE "PAIRS" ("A" TEXT, "B" TEXT, "TAGS" ARRAY, "UPDATED_AT" TIMESTAMP_NTZ)')
    insert(share, "PAIRS", "A, B, TAGS, UPDATED_AT", [
        ("a|b", "c", ["first", "second"], T0), ("a", "b|c", ["third"], T0 - timedelta(hours=1)),
        ("1:a", "b", ["fourth"], T0 - timedelta(hours=2)),
    ])
    monkeypatch.setenv("SOURCES__LEARNSYNC__TABLES__PAIRS__PRIMARY_KEY", '["A", "B"]')
    cli(share, dest, "sync")
    _assert_pairs_equal(share, dest)

    # a hard delete of one of the two: reconcile removes it and its elements, and only those
    share.sql('DELETE FROM "PAIRS" WHERE "A" = %s', ("a",))
    out = cli(share, dest, "reconcile")
    _assert_pairs_equal(share, dest)
    insert(share, "PAIRS", "A, B, TAGS, UPDATED_AT", [("a", "b|c", ["back"], T0 + timedelta(hours=1))])
    out = cli(share, dest, "sync")
    assert "(1 new," in table_line(out, "PAIRS"), out
    _assert_pairs_equal(share, dest)


@pytest.mark.parametrize("history", [False, True], ids=["plain", "history"])
def test_child_tables_an_older_learnsync_keyed_with_bars_are_migrated(share, dest, monkeypatch, history):
    """Child tables written before issue 20 hold a composite key's parts joined with `|`: ('a|b', 'c') and
    ('a', 'b|c') share one parent text. The next run brings them to the length-prefixed text, once: a plain table
    is loaded again; a history table keeps its versions and rewrites its child tables' parent key in place. Then
    every element joins its own parent."""
    from learnsync.pipelines.source import children

    share.sql('CREATE TABLE "PAIRS" ("A" TEXT, "B" TEXT, "TAGS" ARRAY, "UPDATED_AT" TIMESTAMP_NTZ)')
    insert(share, "PAIRS", "A, B, TAGS, UPDATED_AT", [
        ("a|b", "c", ["first", "second"], T0), ("a", "b|c", ["third"], T0 - timedelta(hours=1)),
        ("x", "y", ["fourth"], T0 - timedelta(hours=2)),
    ])
    monkeypatch.setenv("SOURCES__LEARNSYNC__TABLES__PAIRS__PRIMARY_KEY", '["A", "B"]')
    if history:
        monkeypatch.setenv("SOURCES__LEARNSYNC__TABLES__PAIRS__HISTORY", "true")
    with monkeypatch.context() as older:  # learnsync before issue 20: parts joined with '|', no key-text hint
        older.setattr(children, "composite_text", lambda parts, text: " || '|' || ".join(parts))
        older.setattr(children, "KEY_TEXT_HINT", "x-learnsync-unknown")
        cli(share, dest, "sync")
    joined = sorted(p for (p,) in dest.query('SELECT parent_a_b FROM "{ds}"."pairs__tags"'))
    assert joined == ["a|b|c", "a|b|c", "a|b|c", "x|y"], joined  # the ambiguity the migration removes
    versions = dest.query('SELECT COUNT(*) FROM "{ds}"."pairs"')

    # the table has not changed: the run-level check would skip it, but its child tables need the migration
    cli(share, dest, "sync")
    _assert_pairs_equal(share, dest)  # every parent text length-prefixed, each element with its own parent
    assert dest.query('SELECT COUNT(*) FROM "{ds}"."pairs"') == versions  # no version made, none lost
    again = cli(share, dest, "sync")
    assert "1 of 1 table(s) unchanged since their last sync" in again, again  # once
    _assert_pairs_equal(share, dest)


def _assert_pairs_equal(share: Share, dest: Dest) -> None:
    src = share.sql('SELECT "A", "B", "TAGS" FROM "PAIRS"')
    assert sorted(dest.query('SELECT a, b FROM "{ds}"."pairs"')) == sorted((a, b) for a, b, _ in src)
    elements = dest.query('SELECT parent_a_b, position, value FROM "{ds}"."pairs__tags"')
    expected = [((a, b), i, v) for a, b, t in src for i, v in enumerate(sf_json(t))]
    assert sorted((_parts(p), int(i), v) for p, i, v in elements) == sorted(expected)


# -- 5. Emptied event days -----------------------------------------------------------------------------------------


def test_an_event_day_the_share_emptied_is_removed_by_the_sync(share, dest):
    share.sql('CREATE TABLE "CLICKS" ("USER_NAME" TEXT, "PAGE" TEXT, "OCCURRED_AT" TIMESTAMP_NTZ)')
    days = [T0 - timedelta(days=d) for d in range(4)]  # today and three days back
    insert(share, "CLICKS", "USER_NAME, PAGE, OCCURRED_AT",
           [(f"u{i}", f"p{d}", at + timedelta(minutes=i)) for d, at in enumerate(days) for i in range(2)])
    cli(share, dest, "sync")
    assert_table_equal(share, dest, "CLICKS", key="-")

    # every event of the day before yesterday is gone from the share, and one event comes in today
    share.sql('DELETE FROM "CLICKS" WHERE "PAGE" = %s', ("p2",))
    insert(share, "CLICKS", "USER_NAME, PAGE, OCCURRED_AT", [("u9", "p0", T0 + timedelta(hours=1))])
    out = cli(share, dest, "sync")
    line = table_line(out, "CLICKS")
    # the rows of the days read again (yesterday and today) are re-read, not new: the day of the stored cursor
    # is read whole, so the new event counts as re-read too
    assert "1 day(s) the share no longer has removed" in line and "(0 new," in line, line
    assert_table_equal(share, dest, "CLICKS", key="-")
    out = cli(share, dest, "sync")
    assert "1 of 1 table(s) unchanged" in out, out


# -- 7. Huge rows --------------------------------------------------------------------------------------------------


def test_windows_are_bounded_by_bytes_as_well_as_rows(share, dest):
    share.sql('CREATE TABLE "BLOBS" ("ID" TEXT, "BODY" VARIANT, "UPDATED_AT" TIMESTAMP_NTZ)')
    # ~1 MB each, one row per statement: an account refuses a statement over 1 MB (the strict emulator too)
    mb = "x" * (2**20 - 4096)

    def row(i: int, at: datetime) -> tuple:
        return (f"b{i}", {"n": i, "text": mb}, at)

    for i in range(6):
        insert(share, "BLOBS", "ID, BODY, UPDATED_AT", [row(i, T0 - timedelta(minutes=i))])
    # 6 rows of 1 MB at most 2 MB a window: 3 windows or more (the row count alone would make one)
    out = cli(share, dest, "sync", "--window-mb", "2")
    windows = int(table_line(out, "BLOBS").split("windows ")[1].split()[0])
    assert windows >= 3, out
    assert_table_equal(share, dest, "BLOBS")

    insert(share, "BLOBS", "ID, BODY, UPDATED_AT", [row(99, T0 + timedelta(minutes=1))])
    out = cli(share, dest, "sync", "--window-mb", "2")
    assert "(1 new," in table_line(out, "BLOBS"), out
    assert_table_equal(share, dest, "BLOBS")


# -- 8. Never wedged -----------------------------------------------------------------------------------------------


def test_a_load_failing_the_same_way_run_after_run_is_set_aside(share, dest, tmp_path, monkeypatch):
    share.sql('CREATE TABLE "ITEMS" ("ID" TEXT, "NAME" TEXT, "TAGS" ARRAY, "UPDATED_AT" TIMESTAMP_NTZ)')
    insert(share, "ITEMS", "ID, NAME, TAGS, UPDATED_AT", [(f"i{i}", f"n{i}", [i], T0 - timedelta(hours=i))
                                                           for i in range(3)])
    cli(share, dest, "sync")

    # a run leaves a load package behind (its load stopped), and the package is broken (its child table's file):
    # every load of it fails the same way, which dlt calls transient (a job's unknown error is retried)
    insert(share, "ITEMS", "ID, NAME, UPDATED_AT", [("i7", "late", T0 + timedelta(hours=1))])
    original = dlt.Pipeline.load

    def stopped(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise PipelineStepFailed(self, "load", None, RuntimeError("the load was stopped"))

    monkeypatch.setattr(dlt.Pipeline, "load", stopped)
    cli(share, dest, "sync", code=1)
    monkeypatch.setattr(dlt.Pipeline, "load", original)
    files = [f for f in (tmp_path / "dlt").rglob("*.parquet") if "normalized" in f.parts and f.name.startswith("items__tags.")]
    assert files, "no pending package"
    for f in files:
        f.write_bytes(b"not a parquet file")

    if dest.kind == "bigquery":
        # BigQuery's load job calls the broken file invalid, which dlt takes as terminal: the package is discarded
        # on the first rerun (as before issue 20) and its rows read again, with the row inserted meanwhile
        insert(share, "ITEMS", "ID, NAME, UPDATED_AT", [("i8", "later", T0 + timedelta(hours=2))])
        out = cli(share, dest, "sync")
        assert "(2 new," in table_line(out, "ITEMS"), out
        assert_table_equal(share, dest, "ITEMS")
        return
    first = cli(share, dest, "sync", code=1)
    second = cli(share, dest, "sync", code=1)
    # the same way: the same error, but for the retry number in the job file's name
    assert "FAILED" in table_line(first, "ITEMS") and "FAILED" in table_line(second, "ITEMS")
    status = cli(share, dest, "status")
    assert table_line(status, "ITEMS").split()[1] == "failed", status

    # the third failure in a row sets the package aside: one line naming the table, the error and the rows (the
    # late row and the stored cursor's tie); the run reads them again from the share, with the row inserted meanwhile
    insert(share, "ITEMS", "ID, NAME, UPDATED_AT", [("i8", "later", T0 + timedelta(hours=2))])
    out = cli(share, dest, "sync")
    aside = [ln for ln in out.splitlines() if "set aside" in ln and "ITEMS" in ln]
    assert aside and "2 row(s)" in aside[0], out
    assert "(2 new," in table_line(out, "ITEMS"), out
    assert_table_equal(share, dest, "ITEMS")
    status = cli(share, dest, "status")
    assert "set aside" in table_line(status, "ITEMS"), status
    insert(share, "ITEMS", "ID, NAME, UPDATED_AT", [("i9", "last", T0 + timedelta(hours=3))])
    out = cli(share, dest, "sync")
    assert "(1 new," in table_line(out, "ITEMS"), out
    assert_table_equal(share, dest, "ITEMS")
