"""Snowflake's limits and a real account's ways never change what lands (issue 19, items 6 to 9): reconcile of a
mass change, no secret in any query text, hashed key columns, and a network that trickles."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.support.cli import learnsync
from tests.support.helpers import DOCS, JSON_TYPES, _sorted, comparable, create, dest_rows, insert, source_rows
from tests.support.rows import T0
from tests.support.warehouses import Dest

SALT = "acct-salt-5d1e"
POLICY = "SOURCES__LEARNSYNC__TABLES__{}__COLUMN_POLICY"


def _sha(value: Any) -> Any:
    return None if value is None else hashlib.sha256((SALT + value).encode()).hexdigest()


def _duckdb(tmp_path: Path) -> Dest:
    path = tmp_path / "warehouse.duckdb"
    return Dest("duckdb", f"duckdb:///{path}", f"t_{uuid.uuid4().hex[:10]}", path)


def _run(command: str, share: Any, dest: Dest, tmp_path: Path, *args: str, env: dict | None = None) -> str:
    """`learnsync COMMAND` on the share into `dest`; it must succeed. Its output."""
    proc = learnsync(command, "--source-uri", share.uri, "--dest-uri", dest.uri, "--dataset", dest.dataset, *args,
                     cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def _assert_hashed_equal(share: Any, dest: Dest, table: str, hashed: set[str]) -> None:
    """The destination table equals the share row for row, with the `hashed` columns as SHA-256(salt || value)."""
    from learnsync.pipelines.catalog import snake_case

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
