"""Snowflake's limits and a real account's ways never change what lands (issue 19, items 6 to 9): reconcile of a
mass change, no secret in any query text, hashed key columns, and a network that trickles."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.support.cli import CANARY, in_process, learnsync
from tests.support.helpers import DOCS, JSON_TYPES, _sorted, comparable, create, dest_rows, insert, source_rows
from tests.support.rows import T0
from tests.support.warehouses import Dest

SALT = f"acct-salt-{uuid.uuid4().hex[:8]}"
"""The tests' pii_salt: unique to this run, so a query text holding it cannot come from another test file."""
POLICY = "SOURCES__LEARNSYNC__TABLES__{}__COLUMN_POLICY"


def _sha(value: Any) -> Any:
    return None if value is None else hashlib.sha256((SALT + value).encode()).hexdigest()


def _duckdb(tmp_path: Path) -> Dest:
    path = tmp_path / "warehouse.duckdb"
    return Dest("duckdb", f"duckdb:///{path}", f"t_{uuid.uuid4().hex[:10]}", path)


def _run(command: str, share: Any, dest: Dest, tmp_path: Path, *args: str, env: dict | None = None) -> str:
    """`learnsync COMMAND` on the share into `dest`; it must succeed. Its output."""
    proc = in_process(command, "--source-uri", share.uri, "--dest-uri", dest.uri, "--dataset", dest.dataset, *args,
                     cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def _assert_hashed_equal(share: Any, dest: Dest, table: str, hashed: set[str]) -> None:
    """The destination table equals the share row for row, with the `hashed` columns as SHA-256(salt || value)."""
    from learnsync.catalog.tables import snake_case

    columns = DOCS[table].columns
    names = [c.name for c in columns]
    json_at = [i for i, c in enumerate(columns) if c.sf_type in JSON_TYPES]
    expected = _sorted(comparable([_sha(r[n]) if n in hashed else r[n] for n in names], json_at, False)
                       for r in source_rows(share, table))
    got = _sorted(comparable(r, json_at, True) for r in dest_rows(dest, snake_case(table), map(snake_case, names)))
    assert got == expected, table


# -- item 8: a hashed key column ----------------------------------------------------------------------------------


def _users(share: Any, n: int) -> None:
    create(share, "USERS")
    insert(share, "USERS", [
        {"ID": f"u{i}", "CREATED_AT": T0 + timedelta(hours=i), "EMAIL": f"u{i}@example.com",
         "FIRST_NAME": f"First{i}", "MANAGERS": [f"u{j}" for j in range(i)]}
        for i in range(n)
    ])


def test_reconcile_compares_a_hashed_key_with_hashed_keys(share, tmp_path):
    """The key column under the `hash` policy: reconcile finds no drift (4 rows stay 4, none re-read), and a real
    hard delete still removes the row and its child rows."""
    _users(share, 4)
    dest = _duckdb(tmp_path)
    env = {POLICY.format("USERS"): '{"ID": "hash"}', "SOURCES__LEARNSYNC__PII_SALT": SALT}
    _run("sync", share, dest, tmp_path, "--tables", "USERS", env=env)
    _assert_hashed_equal(share, dest, "USERS", {"ID"})

    out = _run("reconcile", share, dest, tmp_path, "--tables", "USERS", "--json", env=env)
    assert '"updated": 0, "inserted": 0, "deleted": 0' in out and '"rows_fetched": 0' in out, out
    _assert_hashed_equal(share, dest, "USERS", {"ID"})

    share.sql('DELETE FROM "USERS" WHERE "ID" = \'u3\'')
    share.sql('UPDATE "USERS" SET "FIRST_NAME" = \'Renamed\' WHERE "ID" = \'u1\'')
    out = _run("reconcile", share, dest, tmp_path, "--tables", "USERS", "--json", env=env)
    assert '"updated": 1, "inserted": 0, "deleted": 1' in out, out
    _assert_hashed_equal(share, dest, "USERS", {"ID"})
    parents = {r[0] for r in dest.query('SELECT DISTINCT "parent_id" FROM "{ds}"."users__managers"')}
    assert parents == {_sha("u1"), _sha("u2")}  # u3's child rows went with it


# -- item 7: no secret in any query text -----------------------------------------------------------------------


def test_no_secret_in_any_query_text(server, share, tmp_path):
    """A sync, an incremental sync with its lookback, and a reconcile of tables that hash columns (a key among
    them): every statement the emulator received is free of the salt and of the password, and the hashes that
    landed are SHA-256(salt || value) as Python computes them."""
    _users(share, 5)
    dest = _duckdb(tmp_path)
    env = {POLICY.format("USERS"): '{"ID": "hash", "EMAIL": "hash"}', "SOURCES__LEARNSYNC__PII_SALT": SALT}
    share.server = server
    uri = share.uri.replace("fake:snow@", f"fake:{CANARY}@")
    first = len(server.wire.queries)

    def run(command: str, *args: str) -> None:
        proc = in_process(command, "--source-uri", uri, "--dest-uri", dest.uri, "--dataset", dest.dataset,
                         "--tables", "USERS", *args, cwd=tmp_path, env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    run("sync")
    insert(share, "USERS", [{"ID": "u9", "CREATED_AT": T0 + timedelta(days=1), "EMAIL": "it's@example.com"}])
    share.sql('UPDATE "USERS" SET "EMAIL" = \'changed@example.com\' WHERE "ID" = \'u0\'')
    run("sync")
    run("reconcile")
    _assert_hashed_equal(share, dest, "USERS", {"ID", "EMAIL"})

    received = server.wire.queries[first:]
    for q in received:
        assert SALT not in q.sql and CANARY not in q.sql, q.sql
    hashing = [q for q in received if q.bindings and any(b["value"] == SALT for b in q.bindings.values())]
    assert len(hashing) >= 3, "the hashed reads were not seen"  # sync, lookback, reconcile: bound, not pasted


# -- item 6: reconcile of a mass change -----------------------------------------------------------------------------


def test_reconcile_reloads_a_table_that_mostly_changed(share, tmp_path):
    """6,000 rows, every one renamed, some deleted, some inserted behind the cursor: reconcile re-reads the table
    instead of 6 key lists, prints how many queries it sent (and, with -v, each statement), and the destination
    equals the share row for row."""
    from tests.support.helpers import assert_table_equal

    create(share, "SKILLS")
    share.sql("""INSERT INTO "SKILLS" SELECT 'sk' || seq4(), '2026-01-01'::TIMESTAMP_NTZ + seq4() * INTERVAL '1 minute',
                 'a' || (seq4() % 97), 'Skill ' || seq4(), NULL FROM TABLE(GENERATOR(ROWCOUNT => 6000))""")
    dest = _duckdb(tmp_path)
    _run("sync", share, dest, tmp_path, "--tables", "SKILLS")
    share.sql('UPDATE "SKILLS" SET "NAME" = "NAME" || \' (renamed)\'')
    share.sql('DELETE FROM "SKILLS" WHERE "ID" IN (\'sk1\', \'sk22\', \'sk333\')')
    insert(share, "SKILLS", [{"ID": "late", "CREATED_AT": T0 - timedelta(days=900), "NAME": "behind the cursor"}])

    out = _run("reconcile", share, dest, tmp_path, "--tables", "SKILLS", "-v")
    line = next(x for x in out.splitlines() if x.strip().startswith("SKILLS"))
    fields = line.split()
    assert fields[1] == "reload", line
    assert fields[fields.index("updated") + 1] == "5997" and fields[fields.index("deleted") + 1] == "3", line
    queries = int(fields[fields.index("queries") + 1])
    printed = [x for x in out.splitlines() if x.strip().startswith("query: ")]
    assert len(printed) == queries, out
    # the tag, the comparison (bucket summaries, key pairs), one plan and one read per window: not one read per
    # 1,000 keys (the keys' way sends 9 here)
    assert queries <= 6, printed
    assert not any('TO_VARCHAR("ID") IN (' in x for x in printed), printed
    assert_table_equal(share, dest, "SKILLS")


# -- item 9: a slow network ---------------------------------------------------------------------------------------


def test_a_trickling_chunk_ends_the_run_and_the_next_run_resumes(server, share, tmp_path):
    """A result chunk sent one byte every two seconds (each socket read gets its byte before the connector's read
    timeout): the sync ends with one line naming the chunk timeout instead of hanging for hours, the table is free
    again, and the next run lands every row. A statement running past the pinned statement timeout ends the same
    way."""
    from tests.support.helpers import assert_table_equal

    create(share, "SKILLS")
    insert(share, "SKILLS", [{"ID": f"s{i:03d}", "CREATED_AT": T0 + timedelta(minutes=i), "NAME": f"n{i}"}
                             for i in range(300)])  # five chunks of 64 rows: four downloaded
    share.server = server
    dest = _duckdb(tmp_path)
    uri = f"{share.uri}&chunk_timeout=3&statement_timeout=900"
    first = len(server.wire.queries)

    def sync() -> Any:
        return learnsync("sync", "--source-uri", uri, "--dest-uri", dest.uri, "--dataset", dest.dataset,
                         "--tables", "SKILLS", cwd=tmp_path, timeout=300)  # a hang guard, not a measure

    server.wire.trickle_next_chunk(byte_every=2.0)
    stalled = sync()
    out = stalled.stdout + stalled.stderr
    assert stalled.returncode == 1 and "Traceback" not in out, out
    assert len([x for x in out.splitlines() if "did not arrive within 3 s (chunk_timeout" in x]) == 1, out

    # a statement running past the pinned statement timeout is canceled by Snowflake: one line too
    server.wire.slow_statement("QUALIFY ROW_NUMBER()", seconds=60)
    uri = uri.replace("statement_timeout=900", "statement_timeout=2")
    canceled = sync()
    out = canceled.stdout + canceled.stderr
    assert canceled.returncode == 1 and "Traceback" not in out, out
    assert len([x for x in out.splitlines() if "timeout of 2 second(s) and was canceled" in x]) == 1, out

    # the run that resumes is an ordinary sync: in this process (the two above end a process whose download hangs)
    resumed = in_process("sync", "--source-uri", uri, "--dest-uri", dest.uri, "--dataset", dest.dataset,
                         "--tables", "SKILLS", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert_table_equal(share, dest, "SKILLS")
    ours = [q for q in server.wire.queries[first:] if '"tool":"learnsync"' in str(q.parameters.get("QUERY_TAG"))]
    assert ours and {q.parameters.get("STATEMENT_TIMEOUT_IN_SECONDS") for q in ours} == {900, 2}


def test_a_hashed_key_keeps_its_history_exact(share, tmp_path):
    """History mode with the key hashed: a reconcile with nothing changed makes no version; a row changed in place
    gets one new version, a hard-deleted row's current version is closed, and the current versions equal the share."""
    _users(share, 4)
    dest = _duckdb(tmp_path)
    env = {POLICY.format("USERS"): '{"ID": "hash"}', "SOURCES__LEARNSYNC__PII_SALT": SALT,
           "SOURCES__LEARNSYNC__TABLES__USERS__HISTORY": "true"}
    _run("sync", share, dest, tmp_path, "--tables", "USERS", env=env)
    _run("reconcile", share, dest, tmp_path, "--tables", "USERS", env=env)
    assert dest.query('SELECT COUNT(*) FROM "{ds}"."users"') == [(4,)]

    share.sql('UPDATE "USERS" SET "FIRST_NAME" = \'Renamed\' WHERE "ID" = \'u1\'')
    share.sql('DELETE FROM "USERS" WHERE "ID" = \'u3\'')
    _run("reconcile", share, dest, tmp_path, "--tables", "USERS", env=env)
    versions = dest.query('SELECT "id", "first_name", "valid_to" IS NULL FROM "{ds}"."users"')
    assert sorted(versions) == sorted([
        (_sha("u0"), "First0", True), (_sha("u1"), "First1", False), (_sha("u1"), "Renamed", True),
        (_sha("u2"), "First2", True), (_sha("u3"), "First3", False)])
