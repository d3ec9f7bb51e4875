"""Reconcile: in-place updates, hard deletes and rows the cursor missed, on DuckDB and Postgres."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from learnsync.destinations import resolve
from learnsync.catalog.tables import Profile
from learnsync.pipelines.sync import make_pipeline, plan, stored_cursor
from tests.support.helpers import assert_table_equal, create, insert, run_reconcile, run_sync, share_reader
from tests.support.rows import T0, tracking



def _group(i: int, users: list[str]) -> dict:
    return {"ID": f"g{i}", "CREATED_AT": T0, "NAME": f"Group {i}", "USERS": users, "ADMINS": ["u0"]}


def _cursor(share: Any, dest: Any, table: str) -> Any:
    with share_reader(share) as reader:
        spec = plan(reader, Profile.LEARNING_360, [table])[0]
    pipeline = make_pipeline("360learning", spec, resolve(dest.uri, dest.dataset), dest.dataset, None)
    pipeline.sync_destination()
    return stored_cursor(pipeline, spec)


def test_reconcile_entity_tables(share, dest):
    create(share, "COURSES_TRACKINGS")
    create(share, "GROUPS")
    insert(share, "COURSES_TRACKINGS", [tracking(i, T0 - timedelta(minutes=i)) for i in range(40)])
    insert(share, "GROUPS", [_group(i, [f"u{j}" for j in range(i + 2)]) for i in range(6)])
    run_sync(share, dest)
    cursor = _cursor(share, dest, "COURSES_TRACKINGS")

    # changes no cursor can see: progress updated in place, an array shrunk, emptied and NULLed, rows
    # hard-deleted (one with child rows), a row inserted far behind the cursor, and a NULL-cursor row
    share.sql('UPDATE "COURSES_TRACKINGS" SET "PROGRESS" = 100, "RESULT" = \'success\' WHERE "ID" IN (\'ct00003\', \'ct00007\')')
    share.sql('UPDATE "COURSES_TRACKINGS" SET "ACCESS_DATES" = PARSE_JSON(\'["2026-01-01 00:00:00"]\') WHERE "ID" = \'ct00011\'')
    share.sql('UPDATE "GROUPS" SET "USERS" = PARSE_JSON(\'["u1"]\') WHERE "ID" = \'g4\'')
    share.sql('UPDATE "GROUPS" SET "USERS" = PARSE_JSON(\'[]\') WHERE "ID" = \'g3\'')
    share.sql('UPDATE "GROUPS" SET "ADMINS" = NULL WHERE "ID" = \'g2\'')
    share.sql('DELETE FROM "COURSES_TRACKINGS" WHERE "ID" IN (\'ct00005\', \'ct00006\')')
    share.sql('DELETE FROM "GROUPS" WHERE "ID" = \'g5\'')
    insert(share, "COURSES_TRACKINGS", [tracking(500, T0 - timedelta(days=400))])
    insert(share, "COURSES_TRACKINGS", [{"ID": "ct00501", "CREATED_AT": None, "PROGRESS": 1}])

    dry = run_reconcile(share, dest, dry_run=True)
    assert (dry["COURSES_TRACKINGS"].updated, dry["COURSES_TRACKINGS"].inserted, dry["COURSES_TRACKINGS"].deleted) == (3, 2, 2)
    assert (dry["GROUPS"].updated, dry["GROUPS"].inserted, dry["GROUPS"].deleted) == (3, 0, 1)
    assert dry["COURSES_TRACKINGS"].rows_fetched == 0 and dry["COURSES_TRACKINGS"].drift
    with pytest.raises(AssertionError):  # a dry run changes nothing
        assert_table_equal(share, dest, "COURSES_TRACKINGS")

    done = run_reconcile(share, dest)
    assert (done["COURSES_TRACKINGS"].updated, done["COURSES_TRACKINGS"].inserted, done["COURSES_TRACKINGS"].deleted) == (3, 2, 2)
    assert done["COURSES_TRACKINGS"].rows_fetched == 5 and done["GROUPS"].rows_fetched == 3
    assert done["COURSES_TRACKINGS"].rows_checked == 40
    for t in ("COURSES_TRACKINGS", "GROUPS"):
        assert_table_equal(share, dest, t)
    assert _cursor(share, dest, "COURSES_TRACKINGS") == cursor  # reconcile never moves the cursor

    again = run_reconcile(share, dest)
    for r in again.values():
        assert (r.updated, r.inserted, r.deleted, r.rows_fetched, r.drift) == (0, 0, 0, 0, False), r
    # and the next incremental sync still works on top
    insert(share, "COURSES_TRACKINGS", [tracking(600, T0 + timedelta(hours=1))])
    run_sync(share, dest)
    assert_table_equal(share, dest, "COURSES_TRACKINGS")


def test_reconcile_soft_delete(share, dest, monkeypatch):
    monkeypatch.setenv("SOURCES__LEARNSYNC__TABLES__GROUPS__SOFT_DELETE", "true")
    create(share, "GROUPS")
    insert(share, "GROUPS", [_group(i, ["u1", "u2"]) for i in range(4)])
    run_sync(share, dest)
    share.sql('DELETE FROM "GROUPS" WHERE "ID" = \'g1\'')
    assert run_reconcile(share, dest)["GROUPS"].deleted == 1
    rows = dest.query('SELECT "id", "_learnsync_deleted_at" IS NOT NULL FROM "{ds}"."groups" ORDER BY "id"')
    assert rows == [("g0", False), ("g1", True), ("g2", False), ("g3", False)]
    children = dest.query('SELECT count(*) FROM "{ds}"."groups__users" WHERE "parent_id" = \'g1\'')
    assert children == [(2,)]  # history keeps its child rows
    assert run_reconcile(share, dest)["GROUPS"].drift is False  # marked rows are not drift
    # the row comes back: it is live again
    insert(share, "GROUPS", [_group(1, ["u9"])])
    assert run_reconcile(share, dest)["GROUPS"].inserted == 1
    assert dest.query('SELECT count(*) FROM "{ds}"."groups" WHERE "_learnsync_deleted_at" IS NOT NULL') == [(0,)]
    assert_table_equal(share, dest, "GROUPS")


def _event(i: int, at: datetime, **extra: Any) -> dict:
    row = {"GROUP_ID": 1, "USER_ID": i % 17, "DATE_ID": int(at.strftime("%Y%m%d")), "CONTENT_ID": i % 5,
           "EVENT_NAME": "course_completed", "OCCURRED_AT": at, "XP_EARNED": i, "ASSESSMENT_PERCENTILE": i / 7}
    row.update(extra)
    return row


def test_reconcile_event_days(share, dest):
    create(share, "FACT_LEARN_EVENTS")
    insert(share, "FACT_LEARN_EVENTS", [_event(i, T0 - timedelta(hours=7 * i)) for i in range(40)])
    run_sync(share, dest, profile="datacamp", tables=["FACT_LEARN_EVENTS"])
    # an old event corrected in place, an old day deleted whole, and an event added to an old day
    share.sql('UPDATE "FACT_LEARN_EVENTS" SET "XP_EARNED" = 999 WHERE "XP_EARNED" = 30')
    share.sql('DELETE FROM "FACT_LEARN_EVENTS" WHERE TO_DATE("OCCURRED_AT") = %s', ((T0 - timedelta(hours=7 * 20)).date(),))
    insert(share, "FACT_LEARN_EVENTS", [_event(900, T0 - timedelta(hours=7 * 35) + timedelta(minutes=1))])
    total_days = len({(T0 - timedelta(hours=7 * i)).date() for i in range(40)})

    r = run_reconcile(share, dest, profile="datacamp", tables=["FACT_LEARN_EVENTS"])["FACT_LEARN_EVENTS"]
    assert r.method == "days" and r.buckets == total_days
    assert r.updated == 2 and r.deleted > 0  # two days replaced, one day's events deleted
    assert r.rows_fetched < 15  # only the rows of the days that differ
    assert_table_equal(share, dest, "FACT_LEARN_EVENTS")
    again = run_reconcile(share, dest, profile="datacamp", tables=["FACT_LEARN_EVENTS"])["FACT_LEARN_EVENTS"]
    assert not again.drift and again.rows_fetched == 0


def test_reconcile_moves_rows_proportional_to_the_change(share, dest, monkeypatch):
    """100,000 rows, 50 changed: rows and fingerprints read from the share stay in the low thousands."""
    share.sql(
        'CREATE TABLE "SKILLS" ("ID" VARCHAR, "CREATED_AT" TIMESTAMP_NTZ, "AUTHOR" VARCHAR, "NAME" VARCHAR,'
        ' "EXTERNAL_ID" VARCHAR)'
    )
    share.sql(
        """INSERT INTO "SKILLS" SELECT 'sk' || seq4(), '2026-01-01'::TIMESTAMP_NTZ, 'a' || (seq4() % 97),
           'Skill ' || seq4(), NULL FROM TABLE(GENERATOR(ROWCOUNT => 100000))"""
    )
    run_sync(share, dest, tables=["SKILLS"])
    where = '"ID" LIKE \'sk%77\' AND LENGTH("ID") = 6'  # sk1077, sk1177, ... sk9977
    changed = share.sql(f'SELECT COUNT(*) FROM "SKILLS" WHERE {where}')[0][0]
    share.sql(f'UPDATE "SKILLS" SET "NAME" = "NAME" || \' (renamed)\' WHERE {where}')
    share.sql('DELETE FROM "SKILLS" WHERE "ID" IN (\'sk1\', \'sk22\', \'sk333\')')
    fetched: list[int] = []
    with share_reader(share) as reader:
        original = reader.query
        monkeypatch.setattr(reader, "query", lambda *args: _count(fetched, original(*args)))
        keys = reader.read_keys
        monkeypatch.setattr(reader, "read_keys", lambda spec, k: _count_batches(fetched, keys(spec, k)))
        r = run_reconcile(share, dest, tables=["SKILLS"], reader=reader)["SKILLS"]
    assert r.updated == changed and r.deleted == 3 and r.inserted == 0
    assert r.rows_checked == 100_000 - 3
    assert sum(fetched) <= 5_000, (sum(fetched), r)
    assert_table_equal(share, dest, "SKILLS")


def _count(acc: list[int], rows: list) -> list:
    acc.append(len(rows))
    return rows


def _count_batches(acc: list[int], batches: Any) -> Any:
    for b in batches:
        acc.append(b.num_rows)
        yield b


def test_reconcile_settles_duplicate_keys_like_the_sync(share, dest):
    """The share does not enforce keys: a key twice (newest kept by the sync) is not drift, run after run."""
    create(share, "SKILLS")
    rows = [{"ID": f"s{i}", "CREATED_AT": T0, "NAME": f"n{i}"} for i in range(5)]
    rows += [{"ID": "s1", "CREATED_AT": T0 - timedelta(days=1), "NAME": "older"},
             {"ID": "s2", "CREATED_AT": T0, "NAME": "tie on the cursor"}]
    insert(share, "SKILLS", rows)
    run_sync(share, dest, tables=["SKILLS"])
    for _ in range(2):
        r = run_reconcile(share, dest, tables=["SKILLS"])["SKILLS"]
        assert (r.updated, r.inserted, r.deleted, r.drift) == (0, 0, 0, False), r
    assert dest.query('SELECT "name" FROM "{ds}"."skills" WHERE "id" = \'s1\'') == [("n1",)]


def test_reconcile_compares_hashed_personal_data(share, dest, monkeypatch):
    """Fingerprints cover the loaded (hashed) values: an email changed in place is found, and only its hash lands."""
    import hashlib

    monkeypatch.setenv("SOURCES__LEARNSYNC__TABLES__USERS__COLUMN_POLICY", '{"EMAIL": "hash", "LAST_NAME": "exclude"}')
    monkeypatch.setenv("SOURCES__LEARNSYNC__PII_SALT", "reconcile-salt")
    create(share, "USERS")
    insert(share, "USERS", [{"ID": f"u{i}", "CREATED_AT": T0, "EMAIL": f"u{i}@example.com", "LAST_NAME": "X"}
                            for i in range(4)])
    run_sync(share, dest, tables=["USERS"])
    assert not run_reconcile(share, dest, tables=["USERS"])["USERS"].drift
    share.sql('UPDATE "USERS" SET "EMAIL" = \'new@example.com\', "LAST_NAME" = \'Y\' WHERE "ID" = \'u2\'')
    share.sql('UPDATE "USERS" SET "LAST_NAME" = \'Z\' WHERE "ID" = \'u3\'')  # excluded: not drift
    r = run_reconcile(share, dest, tables=["USERS"])["USERS"]
    assert (r.updated, r.rows_fetched) == (1, 1), r
    expected = hashlib.sha256(b"reconcile-salt" + b"new@example.com").hexdigest()
    assert dest.query('SELECT "email" FROM "{ds}"."users" WHERE "id" = \'u2\'') == [(expected,)]
