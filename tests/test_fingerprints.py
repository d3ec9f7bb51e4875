"""Row fingerprints of version 2 (issue 19 item 2): every type rendered explicitly at full precision, so a change below
what the session's output formats print is seen; and the one pass that moves a warehouse an older learnsync made
(version 1) to them, without a history version or a re-read. On the strict account (conftest), through the command."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from learnsync.catalog.fingerprint import FINGERPRINT_HINT, FINGERPRINT_VERSION
from learnsync.pipelines.upgrade import UPGRADES_TABLE
from tests.support.cli import in_process
from tests.support.helpers import assert_table_equal, create, insert, run_sync
from tests.support.rows import T0, tracking

TABLE = "COURSES_TRACKINGS"
HISTORY_ENV = f"SOURCES__LEARNSYNC__TABLES__{TABLE}__HISTORY"


def _cli(share: Any, dest: Any, tmp_path: Any, *args: str) -> Any:
    env = {"LEARNSYNC_SOURCE_URI": share.uri, "LEARNSYNC_DEST_URI": dest.uri, "LEARNSYNC_DATASET": dest.dataset}
    proc = in_process(*args, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.mark.parametrize("dest", ["duckdb"], indirect=True)
def test_a_change_below_what_the_output_formats_print_is_seen(share, dest, tmp_path, monkeypatch):
    """TIMESTAMP and TIME values changed in place by less than the account's output formats print (milliseconds,
    whole seconds), behind the cursor: version 1 rendered them with those formats and never saw the change; reconcile
    finds and applies it, and the destination equals the share to the microsecond."""
    monkeypatch.setenv("SOURCES__LEARNSYNC__TABLES__SESSIONS__PRIMARY_KEY", '["ID"]')
    monkeypatch.setenv("SOURCES__LEARNSYNC__TABLES__SESSIONS__CURSOR", "UPDATED_AT")
    fq = f'"{share.database}"."CORE"."SESSIONS"'
    share.sql(f'CREATE TABLE {fq} ("ID" TEXT, "UPDATED_AT" TIMESTAMP_NTZ, "ENDED_AT" TIMESTAMP_NTZ,'
              f' "ENDED_LOCAL" TIMESTAMP_LTZ, "LENGTH" TIME, "RATIO" FLOAT)')
    share.sql(f"INSERT INTO {fq} VALUES ('a', %s, %s, %s, '01:02:03.250000', 0.1),"
              f" ('b', %s, %s, %s, '00:00:09', 2.5)",
              [T0, T0 + timedelta(minutes=5), T0 + timedelta(minutes=5),
               T0 + timedelta(hours=1), T0 + timedelta(hours=2), T0 + timedelta(hours=2)])
    _cli(share, dest, tmp_path, "sync", "--profile", "auto")
    share.sql(f"UPDATE {fq} SET \"ENDED_AT\" = %s, \"ENDED_LOCAL\" = %s, \"LENGTH\" = '01:02:03.750000'"
              f" WHERE \"ID\" = 'a'",
              [T0 + timedelta(minutes=5, microseconds=300), T0 + timedelta(minutes=5, microseconds=7)])
    share.sql(f"UPDATE {fq} SET \"ENDED_AT\" = %s WHERE \"ID\" = 'b'", [T0 + timedelta(hours=2, microseconds=999)])
    fixed, log = _reconciled(share, dest, tmp_path, "--profile", "auto")
    assert fixed["updated"] == 2, log
    expected = sorted(share.sql(f'SELECT "ID", "UPDATED_AT", "ENDED_AT", "ENDED_LOCAL", "LENGTH", "RATIO" FROM {fq}'))
    got = sorted(dest.query('SELECT "id", "updated_at", "ended_at", "ended_local", "length", "ratio"'
                            ' FROM "{ds}"."sessions"'))
    assert [(r[0], r[1], r[2], r[5]) for r in got] == [(r[0], r[1], r[2], r[5]) for r in expected]
    assert [str(r[4]) for r in got] == [str(r[4]) for r in expected]
    assert [r[3].timestamp() for r in got] == [r[3].timestamp() for r in expected]
    again, log = _reconciled(share, dest, tmp_path, "--profile", "auto", "--dry-run")
    assert not again["drift"] and again["rows_fetched"] == 0, log


def _reconciled(share: Any, dest: Any, tmp_path: Any, *args: str) -> tuple[dict[str, Any], str]:
    """`learnsync reconcile --json ARGS`: the one table's result, and what the command logged."""
    import json

    proc = _cli(share, dest, tmp_path, "reconcile", "--json", *args)
    (row,) = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return row, proc.stdout + proc.stderr


def _as_learnsync_before_version_2(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process syncs as learnsync did before fingerprint version 2: rows fingerprinted with version 1, and no
    version on the fingerprint column of dlt's schema."""
    from learnsync.pipelines import upgrade
    from learnsync.pipelines.snowflake import sql
    from learnsync.pipelines.source import resource, types

    v2, hints = sql.row_hash, types.table_hints
    monkeypatch.setattr(sql, "row_hash", lambda spec, version=1: v2(spec, 1))

    def without_version(spec: Any) -> dict[str, Any]:
        out = hints(spec)
        out["_learnsync_hash"] = {k: v for k, v in out["_learnsync_hash"].items() if k != FINGERPRINT_HINT}
        return out

    monkeypatch.setattr(types, "table_hints", without_version)
    monkeypatch.setattr(resource, "table_hints", without_version)
    monkeypatch.setattr(upgrade, "needs_upgrade", lambda *args: False)  # it had no such pass


def _versions(dest: Any) -> list[tuple]:
    return sorted(dest.query('SELECT "id", "progress", "valid_to" IS NULL, "_learnsync_hash"'
                             ' FROM "{ds}"."courses_trackings"'))


def _children(dest: Any) -> list[tuple]:
    return sorted(dest.query('SELECT "_learnsync_parent_hash", "value" FROM "{ds}"."courses_trackings__access_dates"'))


@pytest.mark.parametrize("dest", ["duckdb", "postgres"], indirect=True)
def test_an_older_warehouse_moves_to_the_new_fingerprints_in_one_pass(share, dest, tmp_path, monkeypatch):
    """A history table (with an array child table) that learnsync before version 2 synced, with two versions of one
    row, and a change it has not synced yet. The first command of the new learnsync moves every fingerprint in one
    pass: the versions and their child rows keep joining, no version is made for an unchanged row, the pending
    change becomes its one new version; the idle run after reads nothing, reconcile finds no drift, and the table
    equals the share row for row. The version then rides on dlt's schema: the record is not needed again."""
    monkeypatch.setenv(HISTORY_ENV, "true")
    create(share, TABLE)
    q = f'"{share.database}"."CORE"."{TABLE}"'
    insert(share, TABLE, [tracking(i, T0 - timedelta(hours=30 - i), ["2026-01-0%d 10:00:00" % (1 + i % 3)] * (i % 3))
                          for i in range(6)])
    with monkeypatch.context() as old:
        _as_learnsync_before_version_2(old)
        run_sync(share, dest)
        share.sql(f'UPDATE {q} SET "PROGRESS" = 77 WHERE "ID" = \'ct00001\'')  # behind the cursor: reconcile sees it
        from tests.support.helpers import run_reconcile

        assert run_reconcile(share, dest)[TABLE].updated == 1
    before = _versions(dest)
    assert len(before) == 7 and sum(1 for r in before if r[0] == "ct00001") == 2
    children_before = _children(dest)
    assert children_before
    share.sql(f'UPDATE {q} SET "PROGRESS" = 55 WHERE "ID" = \'ct00004\'')  # pending: synced by the new learnsync

    upgraded, log = _reconciled(share, dest, tmp_path)
    assert upgraded["updated"] == 1, log  # the pending change, and nothing else
    assert "moving them to version 2" in log and "fingerprints moved to version 2" in log, log
    after = _versions(dest)
    assert len(after) == 8, after  # the pending change's version only
    assert [r[:3] for r in after if r[0] != "ct00004"] == [r[:3] for r in before if r[0] != "ct00004"]
    # every current version moved to the new fingerprint; a closed one whose content the share no longer has keeps
    # its old one (nothing to compare it with), and its child rows with it
    assert {r[3] for r in after if r[2]}.isdisjoint({r[3] for r in before})
    assert [r[3] for r in after if not r[2] and r[0] != "ct00004"] == [r[3] for r in before if not r[2]]
    children = _children(dest)
    assert {c[0] for c in children} <= {r[3] for r in after}  # every child row still joins its version
    assert len(children) == len(children_before) + 1  # ct00004's new version has its one element
    (recorded,) = dest.query(f'SELECT table_name, version FROM "{{ds}}"."{UPGRADES_TABLE}"')
    assert recorded == ("courses_trackings", FINGERPRINT_VERSION)

    idle = _cli(share, dest, tmp_path, "sync")
    assert "1 of 1 table(s) unchanged" in idle.stdout, idle.stdout + idle.stderr
    dry, log = _reconciled(share, dest, tmp_path, "--dry-run")
    assert not dry["drift"] and dry["rows_fetched"] == 0, log
    from tests.test_history import Current

    assert_table_equal(share, Current(dest), TABLE)

    # the next load stores the version in dlt's schema: without the record no pass runs again
    share.sql(f'UPDATE {q} SET "PROGRESS" = 56, "CREATED_AT" = %s WHERE "ID" = \'ct00005\'', [T0 + timedelta(hours=1)])
    _cli(share, dest, tmp_path, "sync")
    dest.execute(f'DROP TABLE "{{ds}}"."{UPGRADES_TABLE}"')
    quiet = _cli(share, dest, tmp_path, "sync")
    assert "version 2" not in quiet.stdout + quiet.stderr, quiet.stdout + quiet.stderr
    assert len(_versions(dest)) == 9
    assert_table_equal(share, Current(dest), TABLE)


def test_the_pass_runs_on_every_destination(share, dest, monkeypatch):
    """The same pass in this process on DuckDB, Postgres and BigQuery (whose emulator a command in a subprocess cannot
    reach): an older learnsync's history table, one change pending; a sync moves the fingerprints and makes the
    pending change's version only; the next sync finds the table unchanged; the current view equals the share."""
    monkeypatch.setenv(HISTORY_ENV, "true")
    create(share, TABLE)
    q = f'"{share.database}"."CORE"."{TABLE}"'
    insert(share, TABLE, [tracking(i, T0 - timedelta(hours=10 - i), ["2026-01-01 10:00:00"] * (i % 2)) for i in range(4)])
    with monkeypatch.context() as old:
        _as_learnsync_before_version_2(old)
        run_sync(share, dest)
    before = _versions(dest)
    share.sql(f'UPDATE {q} SET "PROGRESS" = 99, "CREATED_AT" = %s WHERE "ID" = \'ct00002\'', [T0])
    (moved,) = run_sync(share, dest)
    assert moved.ok and not moved.unchanged, moved
    after = _versions(dest)
    assert len(after) == len(before) + 1
    assert {r[3] for r in after if r[2]}.isdisjoint({r[3] for r in before})
    assert {c[0] for c in _children(dest)} <= {r[3] for r in after}
    (recorded,) = dest.query(f'SELECT table_name, version FROM "{{ds}}"."{UPGRADES_TABLE}"')
    assert recorded == ("courses_trackings", FINGERPRINT_VERSION)
    (idle,) = run_sync(share, dest)
    assert idle.unchanged and idle.rows == 0, idle
    from tests.test_history import Current

    assert_table_equal(share, Current(dest), TABLE)
